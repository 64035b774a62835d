"""phony plugin: the ``sqlite`` output format.

``phony generate ... --format sqlite -o people.db`` writes a SQLite database
with one table (``--option table=people``, default ``data``) whose columns are
the generated columns. A schema's columns are declared with the types
``--format sql --option dialect=sqlite`` gives them
(:func:`phony_registry.outputs.sql_type`): integers INTEGER, decimals
NUMERIC(P, D) (up to 15 digits; wider ones TEXT), dates DATE, date-times
DATETIME, the rest TEXT. The values are bound as the text every format
writes and SQLite's column affinity stores them: an integer as an INTEGER, a
decimal as a REAL (an INTEGER when whole), everything else as TEXT. A single
model's column is TEXT. Uses only the standard library; ``sqlite3`` is
imported when the format is used, not when phony loads the plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO

from phony_registry.hookspecs import hookimpl
from phony_registry.outputs import (
    OutputFormat,
    check_options,
    int_option,
    sql_type,
    typed_opener,
)

if TYPE_CHECKING:
    import sqlite3

__all__ = ["SQLITE", "SqliteWriter", "phony_register_formats"]

OPTIONS = {
    "table": "table to create and fill (default data; not starting with sqlite_)",
    "page_size": "SQLite page size in bytes, a power of two from 512 to 65536 (default 4096)",
}


class SqliteWriter:
    """Builds the database in a temporary file, then copies it to the output stream.

    SQLite needs a seekable file of its own; going through a temporary file
    lets the format write to stdout or to phony's atomic output file alike.
    """

    def __init__(
        self,
        stream: BinaryIO,
        names: Sequence[str],
        options: Mapping[str, str],
        types: Sequence[str] | None = None,
    ) -> None:
        import sqlite3
        import tempfile

        from phony_registry.errors import UsageError

        check_options("sqlite", options, OPTIONS)
        table = options.get("table", "data")
        if not table or "\0" in table:
            raise UsageError("option table: expected a table name")
        # SQLite keeps these for its own tables and refuses to create one; the
        # test folds ASCII letters only, as SQLite's does (bytes.lower).
        if table.encode("utf-8", "surrogatepass")[:7].lower() == b"sqlite_":
            raise UsageError(
                "option table: names starting with sqlite_ are reserved by SQLite "
                f"(in any case), not {table!r}"
            )
        # SQLite compares names folding A-Z only, so bytes.lower is its test.
        folded: dict[bytes, str] = {}
        for name in names:
            key = name.encode("utf-8", "surrogatepass").lower()
            if key in folded:
                raise UsageError(
                    f"columns {folded[key]!r} and {name!r}: SQLite does not tell column names "
                    "apart by case (A-Z), so one table cannot hold both"
                )
            folded[key] = name
        # SQLite ignores any other size without a word, keeping its default.
        size = int_option(
            options,
            "page_size",
            4096,
            low=512,
            high=65536,
            expected="a power of two from 512 to 65536",
            accept=lambda n: not n & (n - 1),
        )
        self._stream = stream
        self._tmp = tempfile.NamedTemporaryFile(suffix=".db")  # noqa: SIM115 - closed in close()
        self._db: sqlite3.Connection = sqlite3.connect(self._tmp.name)
        try:
            self._db.execute(f"PRAGMA page_size = {size}")
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
            declared = [sql_type(t, "sqlite") for t in types or ["string"] * len(names)]
            quoted = ", ".join(f"{_ident(n)} {t}" for n, t in zip(names, declared, strict=True))
            self._db.execute(f"CREATE TABLE {_ident(table)} ({quoted})")
        except BaseException:
            # No close() follows a failed open: the database and its file go now.
            self._db.close()
            self._tmp.close()
            raise
        marks = ", ".join("?" for _ in names)
        self._insert = f"INSERT INTO {_ident(table)} VALUES ({marks})"  # noqa: S608 - identifiers quoted by _ident, values bound

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        """Insert one column-major batch in one transaction."""
        if columns and columns[0]:
            with self._db:
                self._db.executemany(self._insert, zip(*columns, strict=True))

    def close(self) -> None:
        """Finish the database and copy its bytes to the output stream."""
        import shutil

        self._db.close()
        with open(self._tmp.name, "rb") as source:
            shutil.copyfileobj(source, self._stream, 1 << 20)
        self._tmp.close()


def _ident(name: str) -> str:
    """A double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


SQLITE = OutputFormat(
    name="sqlite",
    extension="db",
    description="a SQLite database file with one table (stdlib sqlite3)",
    open=SqliteWriter,
    options=OPTIONS,
    binary=True,
    open_typed=typed_opener(SqliteWriter),
)


@hookimpl
def phony_register_formats(register: Callable[[OutputFormat], None]) -> None:
    """Register the ``sqlite`` format."""
    register(SQLITE)
