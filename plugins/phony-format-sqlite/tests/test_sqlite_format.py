"""The sqlite format, tested as a plugin author would: through phony's plugin loader."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import phony_format_sqlite

from phony_registry.plugins import load_plugins


def test_registers_through_the_public_hook() -> None:
    loaded = load_plugins({"phony-format-sqlite": phony_format_sqlite})
    assert loaded.failures == {}
    assert loaded.format("sqlite").extension == "db"


def test_writes_a_database_with_every_row(tmp_path: Path) -> None:
    stream = io.BytesIO()
    writer = phony_format_sqlite.SQLITE.open(stream, ["name", "note"], {"table": "people"})
    writer.write([["Ayşe", "O'Brien"], ["a\0b", "x"]])
    writer.write([["Can"], [""]])
    writer.close()
    path = tmp_path / "out.db"
    path.write_bytes(stream.getvalue())
    rows = sqlite3.connect(path).execute("SELECT name, note FROM people").fetchall()
    assert rows == [("Ayşe", "a\0b"), ("O'Brien", "x"), ("Can", "")]
