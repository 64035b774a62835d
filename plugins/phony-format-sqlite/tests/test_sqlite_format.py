"""The sqlite format, tested as a plugin author would: with phony's testing kit."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Mapping
from pathlib import Path

import phony_format_sqlite

from phony_registry.testing import PluginTester


def _rows(data: bytes) -> list[Mapping[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.db"
        path.write_bytes(data)
        connection = sqlite3.connect(path)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute("SELECT * FROM phony")]
        finally:
            connection.close()


def test_registers_through_the_public_hook() -> None:
    assert PluginTester(phony_format_sqlite).registered == {"formats": ["sqlite"]}


def test_awkward_values_come_back_from_the_database() -> None:
    PluginTester(phony_format_sqlite).check_format(
        "sqlite", _rows, options={"table": "phony"}, same_bytes=False
    )


def test_a_nul_byte_survives() -> None:
    table = {"name": ["Ayşe", "O'Brien", "Can"], "note": ["a\0b", "x", ""]}
    PluginTester(phony_format_sqlite).check_format(
        "sqlite", _rows, table=table, options={"table": "phony"}, same_bytes=False
    )
