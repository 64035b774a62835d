"""phony sync's core promise, checked on the values written: no real source value reaches
the target, whatever made the column (a model, the de-duplication of a UNIQUE column,
a frequency table, binary or JSON data)."""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _plan_and_sync(source: Path, tmp_path: Path, run_phony: Any, *extra: str) -> Path:
    """Plan ``source``, sync it into a new file with seed 1; the target's path."""
    plan = tmp_path / "plan.toml"
    run_phony("sync", "plan", "--source", f"sqlite:///{source}", "-o", str(plan), "--order", "3",
              check=True)  # fmt: skip
    target = tmp_path / "copy.db"
    run_phony("sync", "--plan", str(plan), "--target", f"sqlite:///{target}", "--seed", "1",
              *extra, check=True)  # fmt: skip
    return target


def _column(path: Path, table: str, column: str) -> list[Any]:
    with sqlite3.connect(path) as conn:
        sql = f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'  # noqa: S608
        return [r[0] for r in conn.execute(sql)]


def test_the_unique_counter_never_makes_a_source_value(tmp_path: Path, run_phony: Any) -> None:
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.executescript(
            "CREATE TABLE emp (id INTEGER PRIMARY KEY, code TEXT NOT NULL);"
            "CREATE UNIQUE INDEX emp_code ON emp (code);"
        )
        conn.executemany(
            "INSERT INTO emp (code) VALUES (?)", [(f"E{i:04d}",) for i in range(1, 301)]
        )
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "2")
    real = set(_column(source, "emp", "code"))
    fake = _column(target, "emp", "code")
    assert len(fake) == len(set(fake)) == 600
    assert not set(fake) & real, sorted(set(fake) & real)[:10]
