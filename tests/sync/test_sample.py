"""The sample a plan fits each table to: its first rows by key, whatever order the
database keeps them in, so the same rows always give the same plan."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

#: Rows of each table; the plans below sample the first third.
_ROWS = 300
_SAMPLE = 100


def _build(url: str, order: list[int]) -> None:
    """Four tables of the same rows, inserted in ``order``: one keyed by an integer, one
    by text, one by a UNIQUE NOT NULL column only, and one without a key (with a JSON
    column, which PostgreSQL cannot sort)."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    tables = [
        sa.Table(
            "keyed", metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("n", sa.Integer),
        ),
        sa.Table(
            "named", metadata,
            sa.Column("name", sa.String(10), primary_key=True),
            sa.Column("n", sa.Integer),
        ),
        sa.Table(
            "coded", metadata,
            sa.Column("code", sa.String(10), nullable=False, unique=True),
            sa.Column("n", sa.Integer),
        ),
        sa.Table(
            "keyless", metadata,
            sa.Column("n", sa.Integer),
            sa.Column("word", sa.String(10)),
            sa.Column("doc", sa.JSON),
        ),
    ]  # fmt: skip
    rows = [
        {
            "id": i + 1,
            "name": f"n{i:04d}",
            "code": f"c{i:04d}",
            "n": i // 10 + 1,  # ten rows each
            "word": "abc"[i % 3],
            "doc": {"tag": f"t-{i % 3}", "v": i + 1},
        }
        for i in order
    ]
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            for table in tables:
                conn.execute(table.insert(), [{c.name: r[c.name] for c in table.c} for r in rows])
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_sample_is_the_first_rows_by_key_whatever_the_physical_order(
    dialect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from phony_client.sync import introspect

    monkeypatch.setattr(introspect, "SAMPLE_ROWS", _SAMPLE)
    shuffled = list(range(_ROWS))
    random.Random(7).shuffle(shuffled)
    plans: list[Any] = []
    for name, order in (("ordered", list(range(_ROWS))), ("shuffled", shuffled)):
        if dialect == "sqlite":
            url = f"sqlite:///{tmp_path / name}.db"
        else:
            url = request.getfixturevalue("postgres").database(f"sample_{name}")
        _build(url, order)
        plans.append(introspect.make_plan(url, tmp_path / "models", tmp_path, order=3))
    ordered, again = plans
    for table in ("keyed", "named", "coded", "keyless"):
        # The first 100 rows by key (a table without one: by its columns, n first).
        values = ordered.tables[table].column("n").generate.get("values", [])
        assert sorted(map(int, values)) == list(range(1, _SAMPLE // 10 + 1)), (table, values)
        assert ordered.tables[table] == again.tables[table], table
