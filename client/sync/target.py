"""The target database: its schema from a plan, and fast loads into it.

PostgreSQL is loaded through COPY (psycopg 3, text format), SQLite through
batched ``executemany`` inserts; both inside transactions the caller opens
per unit of tables, so an interrupted load leaves each unit loaded or
untouched. Nothing of phony's is left in the target: the second pass of a
foreign-key cycle goes through a temporary table dropped at commit.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from phony_client.sync._db import first_line, redact
from phony_client.sync.plan import Plan, TablePlan, table_key
from phony_registry.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Engine

__all__ = ["Target", "build_metadata", "copy_text", "driver_errors", "sa_type", "where"]


def driver_errors(dialect: str) -> tuple[type[Exception], ...]:
    """The exceptions the driver of ``dialect`` raises for a refused statement."""
    if dialect == "sqlite":
        import sqlite3

        return (sqlite3.Error,)
    import psycopg

    return (psycopg.Error,)


def sa_type(
    sql_type: str,
    column_name: str,
    values: list[str] | None,
    enum_name: str | None,
    schema: str | None = None,
) -> Any:
    """The SQLAlchemy type for a plan's ``sql_type``; an enum type goes in ``schema``."""
    import sqlalchemy as sa

    simple = {
        "integer": sa.Integer(),
        "bigint": sa.BigInteger(),
        "smallint": sa.SmallInteger(),
        "real": sa.REAL(),
        "double": sa.Double(),
        "boolean": sa.Boolean(create_constraint=False),
        "date": sa.Date(),
        "time": sa.Time(),
        "timestamp": sa.DateTime(),
        "timestamptz": sa.DateTime(timezone=True),
        "text": sa.Text(),
        # SQLite keeps the text as written, with its dashes: 36 characters, not CHAR(32).
        "uuid": sa.Uuid(as_uuid=False).with_variant(sa.String(36), "sqlite"),
        "json": sa.JSON(),
        "bytes": sa.LargeBinary(),
        "numeric": sa.Numeric(),
    }
    if sql_type in simple:
        return simple[sql_type]
    if sql_type == "jsonb":  # PostgreSQL's binary JSON; SQLite's JSON elsewhere
        from sqlalchemy.dialects import postgresql

        return postgresql.JSONB().with_variant(sa.JSON(), "sqlite")
    if sql_type in ("inet", "cidr"):  # PostgreSQL's; SQLite keeps the text
        from sqlalchemy.dialects import postgresql

        net = postgresql.INET() if sql_type == "inet" else postgresql.CIDR()
        return net.with_variant(sa.Text(), "sqlite")
    if sql_type.endswith("[]"):  # a PostgreSQL array; SQLite keeps its text ('{}')
        from sqlalchemy.dialects import postgresql

        item = sa_type(sql_type[:-2], column_name, values, enum_name)
        return postgresql.ARRAY(item).with_variant(sa.Text(), "sqlite")
    if sql_type == "enum":
        return sa.Enum(*(values or []), name=enum_name or f"{column_name}_enum", schema=schema)
    match = re.fullmatch(r"numeric\((\d+),(\d+)\)", sql_type)
    if match:
        return sa.Numeric(int(match.group(1)), int(match.group(2)))
    match = re.fullmatch(r"(var)?char\((\d+)\)", sql_type)
    if match:
        return sa.String(int(match.group(2))) if match.group(1) else sa.CHAR(int(match.group(2)))
    raise DatabaseError(f"unknown sql_type {sql_type!r}")


def where(table: TablePlan, dialect: str) -> tuple[str | None, str]:
    """(schema, name) of a plan's table in a target of ``dialect``.

    PostgreSQL keeps ``sales.orders`` in schema ``sales``; SQLite has no
    schemas, and names the table ``sales.orders``, its key in the plan.
    """
    if dialect == "sqlite" or table.schema is None:
        return None, table.name
    return table.schema, table.table_name


def build_metadata(plan: Plan, names: Sequence[str], dialect: str, cyclic: set[str]) -> MetaData:
    """Tables of ``names`` as the plan describes them, constraints included.

    Foreign keys inside a cycle (``cyclic`` tables) are added with ALTER on
    PostgreSQL; SQLite declares them inline, which it allows in any order.
    Column defaults (SQL of the source's dialect) apply when the target
    speaks the same dialect. The MetaData keys each table as the plan does
    (``sales.orders``), and a foreign key names its parent's Column, not a
    dotted string, so dots in names stay names.
    """
    import sqlalchemy as sa

    source = plan.source or ""
    source_dialect = "postgresql" if source.startswith("postgres") else source.partition(":")[0]
    same_dialect = source_dialect == dialect
    metadata = sa.MetaData()
    for name in names:
        table = plan.tables[name]
        schema, table_name = where(table, dialect)
        columns = [
            sa.Column(
                c.name,
                sa_type(c.sql_type or "text", c.name, c.values, c.enum_name, schema),
                nullable=c.nullable,
                primary_key=c.name in table.primary_key,
                autoincrement=c.name in table.sequences and table.primary_key == [c.name],
                server_default=sa.text(c.default) if c.default and same_dialect else None,
            )
            for c in table.written
        ]
        constraints: list[Any] = [sa.UniqueConstraint(*u) for u in table.unique]
        for check in table.checks:
            if check.column and check.values:
                quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in check.values)
                constraints.append(sa.CheckConstraint(f'"{check.column}" IN ({quoted})'))
            elif check.sql and check.dialect == dialect:
                constraints.append(sa.CheckConstraint(check.sql))
        sa.Table(table_name, metadata, *columns, *constraints, schema=schema)
    for name in names:  # parents outside the selection: enough of them to name their keys
        for fk in plan.tables[name].foreign_keys:
            if fk.table not in metadata.tables:
                parent = plan.tables[fk.table]
                schema, table_name = where(parent, dialect)
                sa.Table(
                    table_name,
                    metadata,
                    *(
                        sa.Column(c, sa_type(parent.column(c).sql_type or "text", c, None, None))
                        for c in fk.references
                    ),
                    schema=schema,
                )
    for name in names:
        for fk in plan.tables[name].foreign_keys:
            parent_table = metadata.tables[fk.table]
            metadata.tables[name].append_constraint(
                sa.ForeignKeyConstraint(
                    fk.columns,
                    [parent_table.c[r] for r in fk.references],
                    use_alter=dialect != "sqlite" and name in cyclic and fk.table in cyclic,
                )
            )
    return metadata


class Target:
    """A connection to the target database for one sync."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = redact(url)
        self.dialect = engine.dialect.name
        self._conn: Any = None
        #: (schema, name) in the target of each table of the plan, by its key.
        self._where: dict[str, tuple[str | None, str]] = {}

    def use_plan(self, plan: Plan) -> None:
        """Name the plan's tables as the target keeps them (see :func:`where`)."""
        self._where = {key: where(table, self.dialect) for key, table in plan.tables.items()}

    # -- structure ---------------------------------------------------------

    def existing_tables(self) -> set[str]:
        """Tables already in the target, by their key in the plan: those of the default
        schema, and of the plan's schemas that the target has."""
        import sqlalchemy as sa

        inspector = sa.inspect(self.engine)
        found = set(inspector.get_table_names())
        schemas = {schema for schema, _ in self._where.values() if schema is not None}
        for schema in sorted(schemas & set(inspector.get_schema_names())):
            found.update(table_key(schema, name) for name in inspector.get_table_names(schema))
        return found

    def create_schemas(self, names: Iterable[str]) -> None:
        """Create the schemas the tables of ``names`` go in (PostgreSQL), if absent.

        Only absent ones: CREATE SCHEMA IF NOT EXISTS needs the right to create
        one even when it exists, which an application's role may not have.
        """
        import sqlalchemy as sa
        from sqlalchemy.exc import DBAPIError

        wanted = {self._where[n][0] for n in names if n in self._where} - {None}
        if not wanted or self.dialect != "postgresql":
            return
        missing = sorted(str(s) for s in wanted - set(sa.inspect(self.engine).get_schema_names()))
        try:
            with self.engine.begin() as conn:
                for schema in missing:
                    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {self.q(schema)}")
        except DBAPIError as exc:
            raise DatabaseError(
                f"{self.url}: cannot create schema {missing[0]}: {first_line(exc.orig)}"
            ) from exc

    def create_types(self, metadata: MetaData, names: Iterable[str]) -> None:
        """Create the enum types the tables of ``names`` use (PostgreSQL), if absent."""
        import sqlalchemy as sa
        from sqlalchemy.exc import DBAPIError

        enums = [
            c.type
            for n in names
            for c in metadata.tables[n].columns
            if isinstance(c.type, sa.Enum) and self.dialect == "postgresql"
        ]
        if not enums:
            return
        try:
            with self.engine.begin() as conn:
                for enum in enums:
                    enum.create(conn, checkfirst=True)
        except DBAPIError as exc:
            raise DatabaseError(f"{self.url}: cannot create types: {first_line(exc.orig)}") from exc

    def table_ddl(self, metadata: MetaData, name: str) -> tuple[str, list[str]]:
        """CREATE TABLE for ``name``, and the statements adding its foreign keys after a load.

        PostgreSQL checks a foreign key added to a filled table in one join,
        far faster than row by row during COPY; SQLite declares them inline.
        """
        from sqlalchemy.schema import AddConstraint, CreateTable

        table = metadata.tables[name]
        dialect = self.engine.dialect
        if self.dialect == "sqlite":
            return str(CreateTable(table).compile(dialect=dialect)), []
        create = CreateTable(table, include_foreign_key_constraints=[])
        later = [
            str(AddConstraint(fk).compile(dialect=dialect))
            for fk in sorted(table.foreign_key_constraints, key=lambda fk: list(fk.column_keys))
        ]
        return str(create.compile(dialect=dialect)), later

    def execute(self, sql: str) -> None:
        """Run one statement on the load connection."""
        self.conn.execute(sql)

    # -- raw connection ------------------------------------------------------

    @property
    def conn(self) -> Any:
        """The driver's own connection (psycopg or sqlite3), opened on first use."""
        if self._conn is None:
            if self.dialect == "sqlite":
                import sqlite3

                self._conn = sqlite3.connect(
                    self.engine.url.database or "", isolation_level=None, check_same_thread=False
                )
                self._conn.execute("PRAGMA foreign_keys = ON")
            else:
                import psycopg

                url = self.engine.url.set(drivername="postgresql")
                self._conn = psycopg.connect(
                    url.render_as_string(hide_password=False), autocommit=True
                )
        return self._conn

    def close(self) -> None:
        """Close the connection and the engine."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()

    def q(self, name: str) -> str:
        """``name`` quoted as an identifier."""
        return '"' + name.replace('"', '""') + '"'

    def qt(self, table: str) -> str:
        """The plan's table ``table`` as the target names it, quoted (``"sales"."orders"``)."""
        schema, name = self._where.get(table, (None, table))
        return self.q(name) if schema is None else f"{self.q(schema)}.{self.q(name)}"

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first value of the first row of ``sql``."""
        if self.dialect == "sqlite":
            sql = sql.replace("%s", "?")
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def count(self, table: str) -> int:
        """Rows of ``table``."""
        return int(self.scalar(f"SELECT count(*) FROM {self.qt(table)}"))  # noqa: S608

    def has_rows(self, table: str) -> bool:
        """Whether ``table`` holds at least one row."""
        sql = f"SELECT 1 FROM {self.qt(table)} LIMIT 1"  # noqa: S608 - quoted identifier
        return self.scalar(sql) is not None

    def max_value(self, table: str, column: str) -> Any:
        """The largest value of ``column`` (NULL when empty)."""
        return self.scalar(f"SELECT max({self.q(column)}) FROM {self.qt(table)}")  # noqa: S608

    def min_value(self, table: str, column: str) -> Any:
        """The smallest value of ``column`` (NULL when empty)."""
        return self.scalar(f"SELECT min({self.q(column)}) FROM {self.qt(table)}")  # noqa: S608

    def values(self, table: str, columns: Sequence[str]) -> set[tuple[Any, ...]]:
        """Every row of ``columns`` as text tuples (for --append's UNIQUE checks)."""
        cols = ", ".join(f"CAST({self.q(c)} AS TEXT)" for c in columns)
        rows = self.conn.execute(f"SELECT {cols} FROM {self.qt(table)}").fetchall()  # noqa: S608
        return {tuple(r) for r in rows}

    # -- transactions --------------------------------------------------------

    def begin(self) -> None:
        """Start a transaction."""
        if self.dialect == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self.conn.execute("BEGIN")

    def commit(self) -> None:
        """Commit the transaction."""
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        """Roll the transaction back; a broken connection rolls back on the server's side."""
        try:
            if self.dialect == "sqlite":
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            else:
                self.conn.rollback()
        except Exception:  # noqa: S110 - closing is what matters: the server rolls back
            pass

    def empty(self, names: Sequence[str]) -> None:
        """Remove every row of ``names`` (children first), restarting their sequences."""
        if self.dialect == "sqlite":
            # Foreign keys are checked at commit: tables of a cycle empty in any order.
            self.conn.execute("PRAGMA defer_foreign_keys = ON")
            for name in reversed(names):
                self.conn.execute(f"DELETE FROM {self.qt(name)}")  # noqa: S608 - quoted identifier
        else:
            listed = ", ".join(self.qt(n) for n in names)
            self.conn.execute(f"TRUNCATE {listed} RESTART IDENTITY")

    # -- loading -------------------------------------------------------------

    def loader(self, table: TablePlan) -> _Loader:
        """A writer of column-major batches into ``table``'s written columns."""
        columns = [c.name for c in table.written]
        if self.dialect == "sqlite":
            booleans = [i for i, c in enumerate(table.written) if c.sql_type == "boolean"]
            blobs = [i for i, c in enumerate(table.written) if c.sql_type == "bytes"]
            return _SqliteLoader(self, table.name, columns, booleans, blobs)
        return _CopyLoader(self, table.name, columns)

    def update(self, table: TablePlan, key: str, column: str, pairs: list[tuple[Any, Any]]) -> None:
        """Second pass: ``SET column = value WHERE key = k`` for each (k, value)."""
        if not pairs:
            return
        t, k, c = self.qt(table.name), self.q(key), self.q(column)
        if self.dialect == "sqlite":
            sql = f"UPDATE {t} SET {c} = ? WHERE {k} = ?"  # noqa: S608 - quoted identifiers
            self.conn.executemany(sql, [(v, p) for p, v in pairs])
            return
        self.conn.execute(
            f"CREATE TEMP TABLE phony_second_pass ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {k} AS k, {c} AS v FROM {t} WITH NO DATA"
        )
        with self.conn.cursor().copy("COPY phony_second_pass (k, v) FROM STDIN") as copy:
            keys: list[str | None] = [str(p) for p, _ in pairs]
            vals: list[str | None] = [v for _, v in pairs]
            copy.write(copy_text([keys, vals]))
        self.conn.execute(
            f"UPDATE {t} SET {c} = f.v FROM phony_second_pass f WHERE {t}.{k} = f.k"  # noqa: S608
        )
        self.conn.execute("DROP TABLE phony_second_pass")

    def reset_sequences(self, table: TablePlan) -> None:
        """Point the sequences or identities of ``table`` after its largest key."""
        t = self.qt(table.name)
        for column in table.sequences:
            c = self.q(column)
            if self.dialect == "sqlite":
                has = self.scalar("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
                if has:
                    self.conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table.name,))
                    self.conn.execute(
                        f"INSERT INTO sqlite_sequence (name, seq) SELECT ?, max({c}) FROM {t}",  # noqa: S608
                        (table.name,),
                    )
                continue
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608
                f"COALESCE((SELECT max({c}) FROM {t}), 0) + 1, false)",
                (t, column),
            )


def _escape(values: list[str | None]) -> list[str]:
    nulls = values.count(None)
    text: list[str] = ["\\N" if v is None else v for v in values] if nulls else values  # type: ignore[assignment] # no None without nulls
    joined = "".join(text)
    # Each NULL's \N holds one backslash; any other needs escaping.
    if joined.count("\\") > nulls or "\t" in joined or "\n" in joined or "\r" in joined:
        text = [
            "\\N"
            if v is None
            else v.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            for v in values
        ]
    return text


def copy_text(columns: list[list[str | None]]) -> bytes:
    """Column-major values as PostgreSQL COPY text: tabs, newlines, ``\\N`` for NULL."""
    if not columns or not columns[0]:
        return b""
    escaped = [_escape(c) for c in columns]
    if len(escaped) == 1:
        return ("\n".join(escaped[0]) + "\n").encode()
    return ("\n".join(map("\t".join, zip(*escaped, strict=True))) + "\n").encode()


class _Loader:
    def write(self, batch: list[list[str | None]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the load (the transaction stays open)."""

    def abort(self, exc: BaseException) -> None:
        """End an unfinished load after ``exc``: the transaction is then rolled back."""


class _CopyLoader(_Loader):
    def __init__(self, target: Target, table: str, columns: list[str]) -> None:
        cols = ", ".join(target.q(c) for c in columns)
        self._cm = target.conn.cursor().copy(f"COPY {target.qt(table)} ({cols}) FROM STDIN")
        self._copy = self._cm.__enter__()

    def write(self, batch: list[list[str | None]]) -> None:
        self._copy.write(copy_text(batch))

    def close(self) -> None:
        self._cm.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        # An open COPY holds the connection: until the server is told it failed, a
        # rollback waits for it forever.
        with contextlib.suppress(Exception):  # the rollback that follows is what matters
            self._cm.__exit__(type(exc), exc, exc.__traceback__)


class _SqliteLoader(_Loader):
    def __init__(
        self, target: Target, table: str, columns: list[str], booleans: list[int], blobs: list[int]
    ) -> None:
        cols = ", ".join(target.q(c) for c in columns)
        marks = ", ".join("?" * len(columns))
        self._sql = f"INSERT INTO {target.qt(table)} ({cols}) VALUES ({marks})"  # noqa: S608
        self._conn = target.conn
        self._booleans = booleans
        self._blobs = blobs

    def write(self, batch: list[list[str | None]]) -> None:
        columns: list[list[Any]] = list(batch)
        for i in self._booleans:
            columns[i] = [None if v is None else int(v in ("true", "1", "t")) for v in batch[i]]
        for i in self._blobs:  # "\x00ff", PostgreSQL's hex form, as bytes
            columns[i] = [
                None if v is None else bytes.fromhex(v[2:] if v.startswith("\\x") else v)
                for v in batch[i]
            ]
        self._conn.executemany(self._sql, zip(*columns, strict=True))
