"""The sqlite format, tested as a plugin author would: with phony's testing kit."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import phony_format_sqlite
import pytest

from phony_registry.errors import UsageError
from phony_registry.testing import PluginTester


def _rows(data: bytes, table: str = "phony") -> list[Mapping[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.db"
        path.write_bytes(data)
        connection = sqlite3.connect(path)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(f"SELECT * FROM {table}")]  # noqa: S608 - the test's own table
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


def _page_size(data: bytes) -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.db"
        path.write_bytes(data)
        connection = sqlite3.connect(path)
        try:
            return int(connection.execute("PRAGMA page_size").fetchone()[0])
        finally:
            connection.close()


@pytest.mark.parametrize("size", [512, 1024, 8192, 65536])
def test_the_page_size_is_the_one_asked_for(size: int) -> None:
    stream = io.BytesIO()
    writer = phony_format_sqlite.SqliteWriter(stream, ["a"], {"page_size": str(size)})
    writer.write([["x", "y"]])
    writer.close()
    assert _page_size(stream.getvalue()) == size
    assert _rows(stream.getvalue(), "data") == [{"a": "x"}, {"a": "y"}]


@pytest.mark.parametrize(
    "size",
    ["3", "0", "256", "1000", "4095", "131072", "-512", "4k", "", "4_096", " 4096", "+4096",
     "\u0664\u0660\u0669\u0666", "\uff14\uff10\uff19\uff16"],
)  # fmt: skip
def test_a_page_size_sqlite_cannot_use_is_one_clear_error(size: str) -> None:
    stream = io.BytesIO()
    message = f"option page_size: expected a power of two from 512 to 65536, not {size!r}"
    with pytest.raises(UsageError) as raised:
        phony_format_sqlite.SqliteWriter(stream, ["a"], {"page_size": size})
    assert str(raised.value) == message
    assert stream.getvalue() == b""


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("page_size=3", "option page_size: expected a power of two from 512 to 65536, not '3'"),
        (
            "table=sqlite_master",
            "option table: names starting with sqlite_ are reserved by SQLite "
            "(in any case), not 'sqlite_master'",
        ),
    ],
    ids=["page_size", "table"],
)
def test_the_command_refuses_a_bad_option_before_writing(
    tmp_path: Path, option: str, message: str
) -> None:
    out = tmp_path / "x.db"
    result = subprocess.run(
        [sys.executable, "-m", "phony_client", "generate", "--column", "a=integer:min=1:max=9",
         "--count", "3", "--seed", "1", "--format", "sqlite", "--option", option,
         "-o", str(out)],
        capture_output=True,
        env={**os.environ, "PHONY_LOAD_PLUGINS": "phony-format-sqlite"},
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.decode() == f"error: {message}\n"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("table", ["sqlite_master", "sqlite_stat1", "SQLite_mine", "SQLITE_"])
def test_a_table_name_sqlite_reserves_is_one_clear_error(table: str) -> None:
    stream = io.BytesIO()
    message = (
        f"option table: names starting with sqlite_ are reserved by SQLite "
        f"(in any case), not {table!r}"
    )
    with pytest.raises(UsageError) as raised:
        phony_format_sqlite.SqliteWriter(stream, ["a"], {"table": table})
    assert str(raised.value) == message
    assert stream.getvalue() == b""


@pytest.mark.parametrize("table", ["sqlite", "sqlitex", "my_sqlite_table", "SQL\u0130TE_x"])
def test_a_table_name_merely_like_a_reserved_one_is_taken(table: str) -> None:
    stream = io.BytesIO()
    writer = phony_format_sqlite.SqliteWriter(stream, ["a"], {"table": table})
    writer.write([["x"]])
    writer.close()
    assert _rows(stream.getvalue(), '"' + table + '"') == [{"a": "x"}]


@pytest.mark.parametrize(
    ("names", "pair"),
    [(["a", "A"], "'a' and 'A'"), (["Name", "x", "NAME"], "'Name' and 'NAME'")],
)
def test_columns_sqlite_would_take_for_one_are_one_clear_error(names: list[str], pair: str) -> None:
    stream = io.BytesIO()
    with pytest.raises(UsageError) as raised:
        phony_format_sqlite.SqliteWriter(stream, names, {})
    assert str(raised.value) == (
        f"columns {pair}: SQLite does not tell column names apart by case (A-Z), "
        "so one table cannot hold both"
    )
    assert stream.getvalue() == b""


def test_columns_apart_beyond_ascii_case_are_kept() -> None:
    # SQLite folds A-Z only: \u00c9 and \u00e9 are two columns to it.
    stream = io.BytesIO()
    writer = phony_format_sqlite.SqliteWriter(stream, ["\u00c9", "\u00e9", "I", "\u0131"], {})
    writer.write([["1"], ["2"], ["3"], ["4"]])
    writer.close()
    assert _rows(stream.getvalue(), "data") == [
        {"\u00c9": "1", "\u00e9": "2", "I": "3", "\u0131": "4"}
    ]


def _typed(data: bytes) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    """The table's declared column types, and each row as (value, typeof(value)) pairs."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.db"
        path.write_bytes(data)
        connection = sqlite3.connect(path)
        try:
            declared = [(r[1], r[2]) for r in connection.execute("PRAGMA table_info(data)")]
            picks = ", ".join(f'"{name}", typeof("{name}")' for name, _ in declared)
            rows = connection.execute(f"SELECT {picks} FROM data").fetchall()  # noqa: S608 - the test's own columns
            return declared, rows
        finally:
            connection.close()


def test_a_schemas_columns_are_stored_with_their_types() -> None:
    assert phony_format_sqlite.SQLITE.open_typed is not None
    stream = io.BytesIO()
    writer = phony_format_sqlite.SQLITE.open_typed(
        stream,
        ["n", "price", "born", "at", "wide", "name"],
        ["int64", "decimal:4:2", "date", "timestamp:s:+03:00", "decimal:20:2", "string"],
        {},
    )
    writer.write([["-7", "12"], ["27.50", "3.00"], ["2000-11-29", "2001-01-01"],
                  ["2000-12-16T17:48:04+03:00", "2000-03-04T03:04:29+03:00"],
                  ["53663216480016355352.25", "1.00"], ["007", "x"]])  # fmt: skip
    writer.close()
    declared, rows = _typed(stream.getvalue())
    assert declared == [("n", "INTEGER"), ("price", "NUMERIC(4, 2)"), ("born", "DATE"),
                        ("at", "DATETIME"), ("wide", "TEXT"), ("name", "TEXT")]  # fmt: skip
    assert rows == [
        (-7, "integer", 27.5, "real", "2000-11-29", "text", "2000-12-16T17:48:04+03:00", "text",
         "53663216480016355352.25", "text", "007", "text"),
        (12, "integer", 3, "integer", "2001-01-01", "text", "2000-03-04T03:04:29+03:00", "text",
         "1.00", "text", "x", "text"),
    ]  # fmt: skip


def test_a_single_columns_values_stay_text() -> None:
    stream = io.BytesIO()
    writer = phony_format_sqlite.SqliteWriter(stream, ["value"], {})
    writer.write([["7", "2.50"]])
    writer.close()
    assert _typed(stream.getvalue()) == ([("value", "TEXT")], [("7", "text"), ("2.50", "text")])
