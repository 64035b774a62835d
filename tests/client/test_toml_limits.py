"""TOML files phony reads are refused with one line when nested too deeply or too large.

A lockfile or a schema comes with a repository someone else wrote; tomllib
parses nested arrays by recursion, so ``x = [[[...]]]`` a few thousand deep
raised RecursionError, which the CLI reported as a bug in phony. Each file is
given to the ``phony`` command as a subprocess: one ``error:`` line naming the
file, no internal error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from phony_registry._fs import read_toml
from phony_registry.errors import ValidationError

Run = Callable[..., CompletedProcess[str]]

DEEP = "x = " + "[" * 5000 + "1" + "]" * 5000 + "\n"


def _one_error(result: CompletedProcess[str], path: Path) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    assert "internal error" not in lines[0]
    assert str(path) in lines[0]
    return lines[0]


def test_a_deep_lockfile_is_one_error(tmp_path: Path, run_phony: Run) -> None:
    lock = tmp_path / "phony.lock"
    lock.write_text(DEEP)
    result = run_phony("models", "pull", "--locked", "--lock", str(lock), cwd=tmp_path)
    assert "nested too deeply" in _one_error(result, lock)


def test_a_deep_config_is_one_error(tmp_path: Path, run_phony: Run) -> None:
    config = Path(os.environ["PHONY_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(DEEP)
    result = run_phony("models", "pull", "tr_TR", cwd=tmp_path)
    assert "nested too deeply" in _one_error(result, config)


def test_a_deep_credentials_file_is_one_error(tmp_path: Path, run_phony: Run) -> None:
    credentials = Path(os.environ["PHONY_CONFIG_DIR"]) / "credentials.toml"
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.write_text(DEEP)
    result = run_phony("logout", "--registry", "http://127.0.0.1:9", cwd=tmp_path)
    _one_error(result, credentials)


def test_a_deep_schema_is_one_error(tmp_path: Path, run_phony: Run) -> None:
    schema = tmp_path / "schema.toml"
    schema.write_text(DEEP)
    result = run_phony("generate", "--schema", str(schema), "-n", "1", cwd=tmp_path)
    assert "nested too deeply" in _one_error(result, schema)


@pytest.mark.parametrize(
    ("text", "reason"),
    [(DEEP, "nested too deeply"), ("# " + "x" * (16 << 20) + "\n", "larger than")],
    ids=["deep", "large"],
)
def test_the_one_toml_reader_refuses(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "pack.toml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=reason):
        read_toml(path, "pack")
