"""The sql format's standard dialect in PostgreSQL: a schema's table arrives typed."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from phony_registry.schema import parse_schema, write_table
from tests.sync.postgres import PostgresServer

SCHEMA = {"columns": {
    "id": {"type": "sequence"},
    "born": {"type": "date", "start": "2000-01-01", "end": "2001-01-01"},
    "at": {"type": "date", "start": "2000-01-01T00:00:00", "end": "2001-01-01T00:00:00"},
    "seen": {"type": "date", "start": "2000-01-01T00:00+03:00", "end": "2001-01-01T00:00+03:00"},
    "price": {"type": "number", "decimals": 2, "min": -9, "max": 9},
    "n": {"type": "integer", "min": -5, "max": 9},
    "code": {"type": "sequence", "format": "INV-{:04d}"},
}}  # fmt: skip


def test_a_schemas_sql_loads_into_postgres_with_its_types(postgres: PostgresServer) -> None:
    import psycopg

    schema = parse_schema(SCHEMA)
    script, text = io.BytesIO(), io.BytesIO()
    options = {"create": "true", "table": "items", "batch": "7"}
    write_table(schema, script, count=40, seed=1, format_name="sql", options=options)
    write_table(schema, text, count=40, seed=1, format_name="csv")
    expected = list(csv.reader(io.StringIO(text.getvalue().decode("utf-8"))))[1:]
    with psycopg.connect(postgres.database("sql_output"), autocommit=True) as conn:
        conn.execute(script.getvalue().decode("utf-8"))
        types = conn.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale"
            " FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position"
        ).fetchall()
        rows = conn.execute(
            "SELECT id, born::text, at, seen, price::text, n, code FROM items ORDER BY id"
        ).fetchall()
    assert types == [
        ("id", "bigint", 64, 0),
        ("born", "date", None, None),
        ("at", "timestamp without time zone", None, None),
        ("seen", "timestamp with time zone", None, None),
        ("price", "numeric", 3, 2),
        ("n", "bigint", 64, 0),
        ("code", "text", None, None),
    ]
    assert rows == [
        (
            int(i),
            born,
            datetime.fromisoformat(at),
            datetime.fromisoformat(seen),
            price,
            int(n),
            code,
        )
        for i, born, at, seen, price, n, code in expected
    ]
