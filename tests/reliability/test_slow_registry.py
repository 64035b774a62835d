"""A registry that trickles: a pull has an overall deadline and a minimum rate.

A read timeout bounds each read, so a registry sending a byte every few
seconds used to keep a pull (and ``phony install`` in CI) alive for hours.
These run real HTTP servers on 127.0.0.1 that trickle a blob, a small file or
the response headers, with short limits, and check the pull stops in time
with one clear error.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phony_client._blob_transport import TransferLimits
from phony_client.sources import HttpSource
from phony_registry.errors import ConfigError, RequestTimeout
from tests.conftest import phony_command
from tests.reliability.conftest import SlowHost, publish_folder, random_words, train_model

NAME = "alice/words"


@pytest.fixture(scope="module")
def model() -> bytes:
    return train_model(random_words(400, seed=9), order=3)


def _pull(
    url: str, env: dict[str, str], timeout: float = 60
) -> tuple[float, subprocess.CompletedProcess[str]]:
    import os

    start = time.monotonic()
    result = subprocess.run(
        [*phony_command(), "models", "pull", f"{NAME}@1.0.0", "--registry", url],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **env},
    )  # fmt: skip
    return time.monotonic() - start, result


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_pull_from_a_trickling_registry_stops_at_its_deadline(
    slow_host: SlowHost, model: bytes
) -> None:
    publish_folder(slow_host.root, f"{NAME}@1.0.0", model)
    slow_host.chunk, slow_host.delay = 1, 0.2  # 5 bytes a second: hours for the blob
    elapsed, result = _pull(slow_host.url, {"PHONY_PULL_DEADLINE": "3", "PHONY_PULL_MIN_RATE": "0"})
    assert result.returncode == 8, result.stderr
    assert "the pull took longer than 3 s" in _one_error(result)
    assert elapsed < 3 + 10  # start-up, and the deadline itself


def test_a_pull_under_the_minimum_rate_stops_after_one_window(
    slow_host: SlowHost, model: bytes
) -> None:
    publish_folder(slow_host.root, f"{NAME}@1.0.0", model)
    slow_host.chunk, slow_host.delay = 16, 0.05  # 320 bytes a second
    elapsed, result = _pull(slow_host.url, {"PHONY_PULL_MIN_RATE": "10KB"})
    assert result.returncode == 8, result.stderr
    error = _one_error(result)
    assert "bytes/s over the last" in error
    assert "under the minimum of 10000" in error
    assert elapsed < 5 + 10


def test_a_pull_from_a_normal_registry_is_untouched_by_the_limits(
    slow_host: SlowHost, model: bytes
) -> None:
    publish_folder(slow_host.root, f"{NAME}@1.0.0", model)
    _elapsed, result = _pull(
        slow_host.url, {"PHONY_PULL_DEADLINE": "60", "PHONY_PULL_MIN_RATE": "1KB"}
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def trickling_headers() -> Iterator[str]:
    """A server that answers every request with headers sent a byte every 0.1 s."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(client: socket.socket) -> None:
        with client:
            client.recv(65536)
            head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000 + b"\r\n\r\n"
            for byte in head:
                if stop.is_set():
                    return
                try:
                    client.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.1)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


@pytest.mark.parametrize("read", ["fetch", "stream"])
def test_headers_sent_a_byte_at_a_time_cannot_outlast_the_deadline(
    trickling_headers: str, read: str
) -> None:
    source = HttpSource(trickling_headers, limits=TransferLimits(deadline=1.5, min_rate=0))

    def read_it() -> None:
        if read == "fetch":
            source.fetch("snapshot.json")
        else:
            b"".join(source.stream("blobs/sha256/00/00"))

    start = time.monotonic()
    try:
        with pytest.raises(RequestTimeout, match=r"took longer than 1\.5 s"):
            read_it()
    finally:
        source.close()
    assert time.monotonic() - start < 1.5 + 3


def test_limits_come_from_the_environment_over_config_toml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    config = Path(os.environ["PHONY_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text('[pull]\ndeadline = "10m"\nmin_rate = "2KiB"\n')
    assert TransferLimits.load() == TransferLimits(deadline=600, min_rate=2048)
    monkeypatch.setenv("PHONY_PULL_DEADLINE", "90s")
    monkeypatch.setenv("PHONY_PULL_MIN_RATE", "0")
    assert TransferLimits.load() == TransferLimits(deadline=90, min_rate=0)
    monkeypatch.setenv("PHONY_PULL_DEADLINE", "soon")
    with pytest.raises(ConfigError, match="PHONY_PULL_DEADLINE: 'soon' is not a duration"):
        TransferLimits.load()
