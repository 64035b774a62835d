"""The one progress display: on a terminal only, cleared when done; and what waiting says."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from phony_client import _net, _progress
from phony_client._progress import Progress, activity
from phony_registry.errors import RegistryUnavailable
from tests.conftest import phony_command


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_progress, "_FIRST_DRAW", 0.0)
    monkeypatch.setattr(_progress, "_REDRAW", 0.0)


def test_bytes_with_a_total(fast: None, capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("uploading m.phony", 4 << 20, enabled=True) as bar:
        for chunk in bar.wrap([b"x" * (1 << 20)] * 4):
            assert chunk
    err = capsys.readouterr().err
    assert "\ruploading m.phony  1.0 MiB / 4.0 MiB   25%" in err
    assert "\ruploading m.phony  4.0 MiB / 4.0 MiB  100%" in err
    assert "iB/s  0 s" in err
    assert err.endswith("\r\033[K")


def test_a_count_and_a_reset(fast: None, capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("reading", 1000, unit="values", enabled=True) as bar:
        bar.update(250)
        bar.reset()
        bar.advance(1000)
    err = capsys.readouterr().err
    assert "reading  250 / 1,000 values   25%" in err
    assert "reading  1,000 / 1,000 values  100%" in err


def test_nothing_when_disabled_or_quick(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("off", 10, enabled=False) as bar:
        bar.advance(10)
    with Progress("quick", 10, enabled=True) as bar:  # under half a second: no line
        bar.advance(10)
    assert capsys.readouterr().err == ""


def test_only_a_terminal_and_not_a_dumb_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert not _progress.enabled()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("TERM", "xterm")
    assert _progress.enabled()
    monkeypatch.setenv("TERM", "dumb")
    assert not _progress.enabled()


def test_activity_ticks_while_the_caller_works(
    fast: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with activity("training on 3 values", enabled=True):
        time.sleep(0.5)
    err = capsys.readouterr().err
    assert "\rtraining on 3 values  0 s" in err
    assert err.endswith("\r\033[K")
    assert threading.active_count() == 1 or all(
        t.name != "phony-progress" for t in threading.enumerate()
    )


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_train_on_a_terminal_shows_progress_and_clears_it(tmp_path: Path) -> None:
    source = tmp_path / "names.txt"
    source.write_text("\n".join(f"name{i}" for i in range(3000)) + "\n")
    # A pipe gets no progress at all.
    piped = subprocess.run(
        [*phony_command(), "train", str(source), "--order", "3", "-o", str(tmp_path / "a.phony")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "\r" not in piped.stderr
    assert piped.stderr.startswith("wrote ")
    # On a terminal (script gives one), with the first draw made immediate.
    code = (
        "import sys; from phony_client import _progress; _progress._FIRST_DRAW = 0.0; "
        "from phony_client.cli import main; "
        f"sys.exit(main(['train', {str(source)!r}, '--order', '3', '-o', "
        f"{str(tmp_path / 'b.phony')!r}]))"
    )
    command = f'{sys.executable} -c "{code}"'
    tty = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        capture_output=True,
        check=False,
        env={**os.environ, "TERM": "xterm"},
        timeout=120,
    )
    screen = tty.stdout.decode()  # bytes: text mode would turn each \r into \n
    assert tty.returncode == 0, screen
    assert "\rtraining on 3,000 values  0 s" in screen
    assert "\r\x1b[Kwrote " in screen


def _silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_a_registry_that_does_not_answer_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from phony_client.sources import HttpSource

    for port in _silent_server():
        source = HttpSource(f"http://127.0.0.1:{port}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable) as caught:
            source.fetch("snapshot.json")
        elapsed = time.monotonic() - started
        source.close()
    assert elapsed < 3  # one read timeout, not four
    assert "the server stopped answering" in str(caught.value)
    assert "Timeout" not in str(caught.value)


def test_a_refused_connection_is_retried_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from phony_client.remote import RegistryClient

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    waits: list[float] = []
    retry = _net.RetryPolicy(retries=2, sleep=waits.append)
    client = RegistryClient(f"http://127.0.0.1:{port}", retry=retry)
    with pytest.raises(RegistryUnavailable) as caught:
        client.health()
    client.close()
    message = str(caught.value)
    assert message == (
        f"cannot reach registry http://127.0.0.1:{port}: connection refused "
        "(is the server running?)"
    )
    err = capsys.readouterr().err
    assert err.count("retrying") == 2
    assert f"phony: http://127.0.0.1:{port}: connection refused" in err
    assert waits == [0.25, 0.5]


def test_errors_are_described_in_words() -> None:
    request = httpx.Request("GET", "http://x")
    assert "no connection within 5 s" in _net.describe(httpx.ConnectTimeout("", request=request))
    assert _net.describe(httpx.ConnectError("[Errno -2] Name or service not known")) == (
        "unknown host name"
    )
    assert not _net.retryable(httpx.ReadTimeout("timed out"))
    assert _net.retryable(httpx.ConnectError("refused"))
