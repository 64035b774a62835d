"""Read one column of a database table: the training input of ``phony train --db``."""

from __future__ import annotations

from phony_client.sync._db import connect, first_line, redact
from phony_client.sync.introspect import sample_order
from phony_registry.errors import DatabaseError

__all__ = ["MAX_TRAINING_VALUES", "read_column"]

#: At most this many values of a column are read for training.
MAX_TRAINING_VALUES = 2_000_000


def read_column(url: str, table: str, column: str) -> list[str]:
    """The non-NULL values of ``table.column`` as text, read through a read-only connection,
    in the order of the table's primary key (without one: of all its columns)."""
    engine = connect(url, read_only=True)
    try:
        import sqlalchemy as sa
        from sqlalchemy.exc import DBAPIError, NoSuchTableError

        try:
            reflected = sa.Table(table, sa.MetaData(), autoload_with=engine, resolve_fks=False)
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
