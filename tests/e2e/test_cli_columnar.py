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


def _generate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*phony_command(), "generate", "--seed", "1", *args],
        capture_output=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


SMALL = ("--column", "a=integer:min=1:max=9", "--count", "3")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["compression=snappy", "compression_level=3"],
            "option compression_level: compression=snappy takes no level "
            "(zstd, gzip, brotli and lz4 do)",
        ),
        (
            ["compression=none", "compression_level=1"],
            "option compression_level: compression=none takes no level "
            "(zstd, gzip, brotli and lz4 do)",
        ),
        (
            ["compression=gzip", "compression_level=100"],
            "option compression_level: expected a whole number from 1 to 9 for gzip, not '100'",
        ),
        (
            ["compression=zstd", "compression_level=99"],
            "option compression_level: expected a whole number from 1 to 22 for zstd, not '99'",
        ),
        (
            ["compression_level=0"],
            "option compression_level: expected a whole number from 1 to 22 for zstd, not '0'",
        ),
        (
            ["compression_level=abc"],
            "option compression_level: expected a whole number from 1 to 22 for zstd, not 'abc'",
        ),
        (
            ["compression=brotli", "compression_level=12"],
            "option compression_level: expected a whole number from 0 to 11 for brotli, not '12'",
        ),
        (
            ["compression=lz4", "compression_level=13"],
            "option compression_level: expected a whole number from 1 to 12 for lz4, not '13'",
        ),
    ],
    ids=["snappy", "none", "gzip-100", "zstd-99", "zstd-0", "not-a-number", "brotli-12", "lz4-13"],
)
def test_a_bad_compression_level_is_one_line_before_any_output(
    options: list[str], message: str
) -> None:
    pairs = [arg for option in options for arg in ("--option", option)]
    result = _generate(*SMALL, "--format", "parquet", *pairs)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == f"error: {message}\n"


@pytest.mark.parametrize(
    ("codec", "level"),
    [
        ("zstd", 1),
        ("zstd", 22),
        ("gzip", 1),
        ("gzip", 9),
        ("brotli", 0),
        ("brotli", 11),
        ("lz4", 1),
        ("lz4", 12),
    ],
)
def test_every_level_in_range_is_written(codec: str, level: int) -> None:
    result = _generate(
        *SMALL,
        "--format",
        "parquet",
        "--option",
        f"compression={codec}",
        "--option",
        f"compression_level={level}",
    )
    assert result.returncode == 0, result.stderr
    data = pa.BufferReader(result.stdout)
    assert pq.ParquetFile(data).metadata.row_group(0).column(0).compression == codec.upper()
    assert pq.read_table(pa.BufferReader(result.stdout)).num_rows == 3
