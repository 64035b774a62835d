"""Read one column of a database table: the training input of ``phony train --db``."""

from __future__ import annotations

from typing import Any

from phony_client.sync._db import connect, first_line, redact
from phony_client.sync.introspect import sample_order
from phony_registry.errors import DatabaseError

__all__ = ["MAX_TRAINING_VALUES", "read_column"]

#: At most this many values of a column are read for training.
MAX_TRAINING_VALUES = 2_000_000


def _find(engine: Any, table: str) -> tuple[str | None, str]:
    """(schema, name) of ``table``: a table of the default schema by that name, else on
    PostgreSQL ``schema.table`` as a sync plan names it (``sales.orders``)."""
    import sqlalchemy as sa

    inspector = sa.inspect(engine)
    if engine.dialect.name != "postgresql" or inspector.has_table(table):
        return None, table
    schemas = set(inspector.get_schema_names())
    for i, char in enumerate(table):
        if char == "." and table[:i] in schemas and inspector.has_table(table[i + 1 :], table[:i]):
            return table[:i], table[i + 1 :]
    return None, table


def read_column(url: str, table: str, column: str) -> list[str]:
    """The non-NULL values of ``table.column`` as text, read through a read-only connection,
    in the order of the table's primary key (without one: of all its columns). On
    PostgreSQL, ``table`` may name a table of another schema as a plan does,
    ``sales.orders``."""
    engine = connect(url, read_only=True)
    try:
        import sqlalchemy as sa
        from sqlalchemy.exc import DBAPIError, NoSuchTableError

        schema, name = _find(engine, table)
        try:
            reflected = sa.Table(
                name, sa.MetaData(), schema=schema, autoload_with=engine, resolve_fks=False
            )
        except NoSuchTableError:
            raise DatabaseError(f"{redact(url)}: no table {table!r}") from None
        if column not in reflected.c:
            known = ", ".join(reflected.c.keys())
            raise DatabaseError(f"table {table} has no column {column!r} (columns: {known})")
        col = reflected.c[column]
        # The first rows by key, as a plan's sample: the same rows train the same model.
        key = [c.name for c in reflected.primary_key.columns]
        order = sample_order(reflected, [key], engine.dialect.name)
        query = (
            sa.select(sa.cast(col, sa.Text))
            .where(col.isnot(None))
            .order_by(*order)
            .limit(MAX_TRAINING_VALUES)
        )
        try:
            with engine.connect() as conn:
                return [value for (value,) in conn.execute(query)]
        except DBAPIError as exc:
            raise DatabaseError(f"cannot read {table}.{column}: {first_line(exc.orig)}") from exc
    finally:
        engine.dispose()
