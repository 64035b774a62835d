"""``phony generate --format parquet|arrow`` as a user runs it: errors, interruptions, types.

Each test runs the real ``phony`` command in a subprocess and looks at its
exit code, its stderr, the bytes it wrote and (read back with pyarrow) the
file it left.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import phony_command

pytestmark = [pytest.mark.e2e]
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_parquet_run_is_one_line_and_keeps_the_old_file(
    tmp_path: Path, sig: str, code: int
) -> None:
    out = tmp_path / "out.parquet"
    out.write_text("keep me\n")
    process = subprocess.Popen(
        [
            *phony_command(),
            "generate",
            "--column",
            "id=sequence",
            "--column",
            "n=number:min=0:max=1000",
            "--count",
            "2000000000",
            "--seed",
            "1",
            "--option",
            "row_group_size=1000",
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A background job's SIGINT is inherited as ignored: give it its default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Wait until row groups are being written, so the Parquet writer is open.
    deadline = time.monotonic() + 60
    while not [p for p in _temporaries(tmp_path) if p.stat().st_size > 4]:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "generation never started"
        time.sleep(0.05)
    process.send_signal(getattr(signal, sig))
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Exception ignored" not in err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    if sig == "SIGINT":
        assert lines == ["error: interrupted"]
    else:  # at most the one line
        assert len(lines) <= 1
        assert all(line.startswith("error: ") for line in lines)
    assert out.read_text() == "keep me\n"
    assert not _temporaries(tmp_path)
