"""``phony generate --format parquet|arrow`` as a user runs it: errors, interruptions, types.

Each test runs the real ``phony`` command in a subprocess and looks at its
exit code, its stderr, the bytes it wrote and (read back with pyarrow) the
file it left.
"""

from __future__ import annotations

import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

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


def _csv_column(*args: str) -> list[str]:
    result = _generate(*args, "--format", "csv")
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().splitlines()[1:]


def _read(data: bytes, fmt: str) -> Any:
    if fmt == "parquet":
        return pq.read_table(pa.BufferReader(data))
    return pa.ipc.open_file(pa.BufferReader(data)).read_all()


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
@pytest.mark.parametrize(
    ("column", "arrow_type"),
    [
        ("n=number:min=0:max=1e40:decimals=5", "decimal256(76, 5)"),
        ("n=number:min=0:max=1e30:decimals=12", "decimal256(76, 12)"),
        ("n=number:min=-1e36:max=0:decimals=2", "decimal256(76, 2)"),  # 39 digits
        ("n=number:min=-1e35:max=0:decimals=2", "decimal128(38, 2)"),  # 38 digits
        ("n=number:min=0:max=1e63:decimals=12", "decimal256(76, 12)"),  # 76 digits
        ("n=number:min=0:max=1:decimals=2", "decimal128(38, 2)"),
    ],
)
def test_a_wide_number_is_a_decimal_wide_enough_and_holds_the_csv_values(
    fmt: str, column: str, arrow_type: str
) -> None:
    args = ("--column", column, "--count", "300")
    result = _generate(*args, "--format", fmt)
    assert result.returncode == 0, result.stderr
    table = _read(result.stdout, fmt)
    assert str(table.schema.field("n").type) == arrow_type
    expected = [Decimal(text) for text in _csv_column(*args)]
    assert table.column("n").to_pylist() == expected


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_the_decimal_type_follows_the_declared_range_not_the_values(
    fmt: str, tmp_path: Path
) -> None:
    # The type comes from the declared range, not from the values drawn: every
    # partition, and a run of one row, get the same, so a dataset has one schema.
    column = "n=number:min=-1e40:max=1e40:decimals=3"
    result = _generate(
        "--column",
        column,
        "--count",
        "3000",
        "--partitions",
        "3",
        "--format",
        fmt,
        "-o",
        f"{tmp_path / 'parts'}/",
    )
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "parts").iterdir())
    assert len(files) == 3
    types = {str(_read(path.read_bytes(), fmt).schema.field("n").type) for path in files}
    assert types == {"decimal256(76, 3)"}
    one = _generate("--column", column, "--count", "1", "--format", fmt)
    assert str(_read(one.stdout, fmt).schema.field("n").type) == "decimal256(76, 3)"


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_a_number_wider_than_any_decimal_is_one_line_and_no_file(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"n.{fmt}"
    result = _generate(
        "--column", "n=number:min=0:max=1e75:decimals=2", "--count", "3", "-o", str(out)
    )
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "error: column 'n': its range needs 78 digits (2 after the point), more than "
        f"the 76 a decimal holds in {fmt}: narrow min and max, use fewer decimals, "
        "or write csv\n"
    )
    assert not out.exists()
    assert not _temporaries(tmp_path)
    to_stdout = _generate(
        "--column", "n=number:min=0:max=1e75:decimals=2", "--count", "3", "--format", fmt
    )
    assert (to_stdout.returncode, to_stdout.stdout) == (2, b"")


@pytest.mark.parametrize(
    ("start", "arrow_type"),
    [("9223372036854775806", "string"), ("9223372036854775803", "int64")],
)
def test_a_sequence_past_int64_is_text_as_an_integer_column_is(start: str, arrow_type: str) -> None:
    # Five values from start: the last passes 2**63 - 1 in the first case only.
    args = ("--column", f"s=sequence:start={start}", "--count", "5")
    result = _generate(*args, "--format", "parquet")
    assert result.returncode == 0, result.stderr
    table = _read(result.stdout, "parquet")
    assert str(table.schema.field("s").type) == arrow_type
    assert [str(v) for v in table.column("s").to_pylist()] == _csv_column(*args)


def test_every_part_of_a_dataset_types_a_sequence_by_the_whole_table(tmp_path: Path) -> None:
    # Only the last part's values pass 2**63 - 1: every part is text all the same.
    column = ("--column", "s=sequence:start=9223372036854775800")
    out = tmp_path / "seq"
    result = _generate(
        *column, "--count", "9", "--partitions", "3", "-f", "parquet", "-o", f"{out}/"
    )
    assert result.returncode == 0, result.stderr
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 3
    assert {str(pq.read_schema(part).field("s").type) for part in parts} == {"string"}
    values = [v for part in parts for v in pq.read_table(part).column("s").to_pylist()]
    assert values == [str(9223372036854775800 + i) for i in range(9)]
