"""Fixtures of the sync tests: the shop database, its plan, and a PostgreSQL server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import phony_command
from tests.sync.postgres import PostgresServer, find_bindir
from tests.sync.testdb import build_source

#: The models of the test plans: a fixed order keeps planning fast (no cross-validation).
PLAN_ORDER = "4"


def make_plan(source_url: str, folder: Path) -> Path:
    """Run ``phony sync plan`` into ``folder``; return the plan's path."""
    path = folder / "phony-sync.toml"
    subprocess.run(
        [*phony_command(), "sync", "plan", "--source", source_url, "-o", str(path),
         "--order", PLAN_ORDER],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def shop_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop as a SQLite file (built once per session; tests only read it)."""
    import sqlalchemy as sa

    path = tmp_path_factory.mktemp("shop") / "shop.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    build_source(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def shop_plan(shop_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plan of the SQLite shop, with its trained models beside it."""
    return make_plan(f"sqlite:///{shop_sqlite}", tmp_path_factory.mktemp("plan"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session (scripts/test installs it)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (scripts/test installs Debian's postgresql)")
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shop_postgres(postgres: PostgresServer) -> str:
    """The shop in its own PostgreSQL database; returns the URL."""
    import sqlalchemy as sa

    url = postgres.database("shop")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    build_source(engine)
    engine.dispose()
    return url
