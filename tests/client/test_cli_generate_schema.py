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
