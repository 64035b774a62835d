"""phony generate --schema / --column: options that apply to a MODEL only, and failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from phony_client.cli import main

USAGE = 2


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_jobs_with_a_schema_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A schema's table is written by one process: --jobs was silently ignored.
    out = tmp_path / "t.csv"
    code, _, err = _run(
        capsys, "generate", "--column", "a=sequence", "--jobs", "2", "-n", "3", "-o", str(out)
    )
    assert code == USAGE
    assert err.strip().splitlines() == [
        "error: --jobs applies to a MODEL; a schema's partitions spread over processes"
        " with --engine dask"
    ]
    assert not out.exists()


def test_a_schema_saved_with_a_byte_order_mark_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Windows editors write UTF-8 with a BOM; tomllib refused it at line 1, column 1.
    schema = tmp_path / "ids.toml"
    schema.write_bytes(b'\xef\xbb\xbf[columns.id]\ntype = "sequence"\n')
    code, out, _ = _run(capsys, "generate", "--schema", str(schema), "-n", "3", "--seed", "1")
    assert code == 0
    assert out.split() == ["1", "2", "3"]


def test_a_folder_given_as_the_schema_is_named_as_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, "generate", "--schema", str(tmp_path), "-n", "3")
    assert code == USAGE
    assert err.strip().splitlines()[-1] == f"error: {tmp_path}: is a folder, not a schema file"
    missing = tmp_path / "missing.toml"
    code, _, err = _run(capsys, "generate", "--schema", str(missing), "-n", "3")
    assert err.strip().splitlines()[-1] == f"error: {missing}: no such schema file"
