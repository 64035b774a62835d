"""phony sync across the schemas (namespaces) of one PostgreSQL database: tables of the
same name in two schemas, foreign keys from one schema to another, odd schema names,
``--schema`` and ``--exclude-schema``, and plans of the default schema as they were."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import PLAN_ORDER, make_plan
from tests.sync.postgres import PostgresServer, execute, query

pytestmark = pytest.mark.e2e

#: A schema whose name holds a dot, a double quote and upper case.
ODD = 'Odd.Sch"ema'
ODD_SQL = '"Odd.Sch""ema"'
ODD_TABLE = f"{ODD}.Line.Items"

SHOP = (
    'CREATE SCHEMA a; CREATE SCHEMA b; CREATE SCHEMA "Odd.Sch""ema";'
    "CREATE TYPE a.state AS ENUM ('on', 'off');"
    "CREATE TYPE b.state AS ENUM ('x', 'y', 'z');"
    "CREATE TABLE customers (id serial PRIMARY KEY, name text);"
    "CREATE TABLE a.users (id serial PRIMARY KEY, name text NOT NULL, state a.state,"
    " customer_id int REFERENCES customers(id));"
    "CREATE TABLE b.users (id serial PRIMARY KEY, name text NOT NULL, state b.state,"
    " a_user_id int NOT NULL REFERENCES a.users(id));"
    'CREATE TABLE "Odd.Sch""ema"."Line.Items" (id serial PRIMARY KEY,'
    " user_id int NOT NULL REFERENCES b.users(id), qty int NOT NULL);"
    "INSERT INTO customers (name) SELECT 'cust' || g FROM generate_series(1, 30) g;"
    "INSERT INTO a.users (name, state, customer_id) SELECT"
    " (ARRAY['ayla','berk','cem','deniz','ece','fatma','gul','hakan'])[1 + g % 8] || 'a' || g,"
    " (ARRAY['on','off'])[1 + g % 2]::a.state, 1 + g % 30 FROM generate_series(1, 80) g;"
    "INSERT INTO b.users (name, state, a_user_id) SELECT"
    " (ARRAY['ilker','jale','kaan','leyla','murat','nur','oya','pelin'])[1 + g % 8] || 'b' || g,"
    " (ARRAY['x','y','z'])[1 + g % 3]::b.state, 1 + g % 80 FROM generate_series(1, 120) g;"
    'INSERT INTO "Odd.Sch""ema"."Line.Items" (user_id, qty)'
    " SELECT 1 + g % 120, 1 + g % 7 FROM generate_series(1, 300) g;"
)
ROWS = {"customers": 30, "a.users": 80, "b.users": 120, ODD_TABLE: 300}


def _user_tables(url: str) -> list[tuple[Any, ...]]:
    """(schema, table) of every table of ``url`` outside PostgreSQL's own schemas."""
    return query(
        url,
        "SELECT schemaname, tablename FROM pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )


def _plan(run_phony: Any, source: str, folder: Path, *options: str) -> tuple[Path, Any]:
    path = folder / "phony-sync.toml"
    result = run_phony(
        "sync", "plan", "--source", source, "-o", str(path), "--order", PLAN_ORDER, *options
    )
    return path, result


def _planned(run_phony: Any, source: str, folder: Path, *options: str) -> dict[str, Any]:
    """The plan ``phony sync plan`` writes for ``source`` with ``options`` (it must succeed)."""
    path, result = _plan(run_phony, source, folder, *options)
    assert result.returncode == 0, result.stderr
    return tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shop(postgres: PostgresServer) -> str:
    """A database of four schemas: public, a, b and one with an odd name."""
    url = postgres.database("ns_src")
    execute(url, SHOP)
    return url


@pytest.fixture(scope="module")
def shop_plan(shop: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plan of every schema of the shop, with its models beside it."""
    return make_plan(shop, tmp_path_factory.mktemp("nsplan"))


def test_every_user_schema_is_planned_with_qualified_names(shop_plan: Path) -> None:
    text = shop_plan.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert list(data["tables"]) == ["customers", "a.users", "b.users", ODD_TABLE]
    assert data["format"] == 2
    assert "schema" not in data["tables"]["customers"]
    assert data["tables"]["a.users"]["schema"] == "a"
    assert data["tables"][ODD_TABLE]["schema"] == ODD
    keys = {t: [fk["table"] for fk in v.get("foreign_keys", [])] for t, v in data["tables"].items()}
    assert keys == {
        "customers": [],
        "a.users": ["customers"],
        "b.users": ["a.users"],
        ODD_TABLE: ["b.users"],
    }
    # One enum per schema, each with its own values.
    a_state = data["tables"]["a.users"]["columns"]["state"]
    b_state = data["tables"]["b.users"]["columns"]["state"]
    assert (a_state["values"], b_state["values"]) == (["on", "off"], ["x", "y", "z"])
    # Two tables called users: two models of their name column, neither overwriting the other.
    models = [
        data["tables"][t]["columns"]["name"]["generate"]["model"] for t in ("a.users", "b.users")
    ]
    assert models[0] != models[1]
    assert all((shop_plan.parent / m).is_file() for m in models)
    assert "Left out" not in text


def test_a_multi_schema_database_syncs_into_postgresql(
    postgres: PostgresServer, shop: str, shop_plan: Path, run_phony: Any
) -> None:
    target = postgres.database("ns_dst")
    args = ["sync", "--plan", str(shop_plan), "--target", target, "--seed", "3"]
    result = run_phony(*args)
    assert result.returncode == 0, result.stderr
    # The progress names each table by its schema.
    for table, rows in ROWS.items():
        assert f"  {table}: {rows:,} rows" in result.stderr
    counts = query(
        target,
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM a.users),"
        ' (SELECT count(*) FROM b.users), (SELECT count(*) FROM "Odd.Sch""ema"."Line.Items")',
    )
    assert counts == [tuple(ROWS.values())]
    # Foreign keys across schemas point at the generated parents, and hold in the target.
    orphans = query(
        target,
        "SELECT count(*) FROM b.users u WHERE NOT EXISTS"
        " (SELECT 1 FROM a.users p WHERE p.id = u.a_user_id)",
    )
    assert orphans == [(0,)]
    constraints = query(
        target,
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
        " WHERE contype = 'f' ORDER BY 1",
    )
    assert ("b.users", "a.users") in constraints
    assert (f'{ODD_SQL}."Line.Items"', "b.users") in constraints
    # Each enum in its own schema, with its own values.
    enums = query(
        target,
        "SELECT n.nspname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)"
        " FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
        " JOIN pg_namespace n ON n.oid = t.typnamespace GROUP BY 1 ORDER BY 1",
    )
    assert enums == [("a", ["on", "off"]), ("b", ["x", "y", "z"])]
    # No source name crossed over.
    source_names = {
        r[0] for r in query(shop, "SELECT name FROM a.users UNION SELECT name FROM b.users")
    }
    target_names = {
        r[0] for r in query(target, "SELECT name FROM a.users UNION SELECT name FROM b.users")
    }
    assert not source_names & target_names
    # The sequences of every schema go on after the loaded keys.
    assert query(target, "INSERT INTO b.users (name, a_user_id) VALUES ('n', 1) RETURNING id") == [
        (121,)
    ]
    execute(target, "DELETE FROM b.users WHERE id = 121")
    # A second sync into the tables now there: refused until --truncate.
    again = run_phony(*args)
    assert again.returncode != 0
    assert "is not empty" in again.stderr
    refill = run_phony(*args, "--truncate")
    assert refill.returncode == 0, refill.stderr
    assert query(target, "SELECT count(*) FROM b.users") == [(120,)]
    # The report compares each table with its namesake of the same schema.
    report = run_phony(
        "sync", "report", "--source", shop, "--target", target, "--plan", str(shop_plan), "--json"
    )
    assert report.returncode == 0, report.stdout + report.stderr
    data = json.loads(report.stdout)
    assert data["ok"] is True
    assert {t: r["target"] for t, r in data["rows"].items()} == ROWS
    assert {c["table"] for c in data["columns"]} >= {"a.users", "b.users", ODD_TABLE}


def test_schema_and_exclude_schema_choose_what_is_planned(
    shop: str, tmp_path: Path, run_phony: Any
) -> None:
    data = _planned(run_phony, shop, tmp_path, "--schema", "b", "--schema", ODD)
    assert list(data["tables"]) == ["b.users", ODD_TABLE]
    # Its parent left out, b.users' key to a.users is a plain column.
    a_user = data["tables"]["b.users"]["columns"]["a_user_id"]
    assert a_user["generate"]["type"] != "reference"
    assert "foreign_keys" not in data["tables"]["b.users"]

    data = _planned(run_phony, shop, tmp_path, "--exclude-schema", "a", "--exclude-schema", ODD)
    assert list(data["tables"]) == ["customers", "b.users"]

    path, result = _plan(run_phony, shop, tmp_path, "--schema", "public")
    assert result.returncode == 0, result.stderr
    text = path.read_text(encoding="utf-8")
    assert list(tomllib.loads(text)["tables"]) == ["customers"]
    assert "format = 1" in text
    assert "left out" not in result.stderr.lower()

    missing = run_phony("sync", "plan", "--source", shop, "--schema", "nope")
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "nope" in missing.stderr


def test_a_source_and_target_in_one_go_follow_the_schema_options(
    postgres: PostgresServer, shop: str, run_phony: Any
) -> None:
    target = postgres.database("ns_onego")
    result = run_phony(
        "sync", "--source", shop, "--target", target, "--seed", "5", "--order", PLAN_ORDER,
        "--exclude-schema", "public", "--exclude-schema", ODD,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    tables = _user_tables(target)
    assert tables == [("a", "users"), ("b", "users")]
    # a.users' key to customers, left out, is a plain column: no customers table to hold it.
    assert query(target, "SELECT count(*) FROM a.users") == [(80,)]


def test_a_multi_schema_plan_syncs_into_sqlite_as_dotted_table_names(
    shop_plan: Path, tmp_path: Path, run_phony: Any
) -> None:
    path = tmp_path / "staging.db"
    result = run_phony(
        "sync", "--plan", str(shop_plan), "--target", f"sqlite:///{path}", "--seed", "3"
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(path) as conn:
        names = sorted(
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
        assert names == sorted(ROWS)
        for name, rows in ROWS.items():
            quoted = '"' + name.replace('"', '""') + '"'
            count = f"SELECT count(*) FROM {quoted}"  # noqa: S608 - quoted identifier
            assert conn.execute(count).fetchone() == (rows,)
        orphans = conn.execute(
            'SELECT count(*) FROM "b.users" u WHERE NOT EXISTS'
            ' (SELECT 1 FROM "a.users" p WHERE p.id = u.a_user_id)'
        ).fetchone()
        assert orphans == (0,)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_plan_of_the_default_schema_reads_and_syncs_as_before(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    # A plan as phony wrote them before it planned other schemas: format 1, plain names.
    plan = tmp_path / "old.toml"
    plan.write_text(
        'format = 1\nsource = "postgresql://app@db/app"\n\n'
        '[tables.people]\nrows = 25\nprimary_key = ["id"]\nsequences = ["id"]\n\n'
        "[tables.people.columns.id]\n"
        'sql_type = "integer"\nnullable = false\ngenerate = { type = "sequence" }\n\n'
        "[tables.people.columns.nick]\n"
        'sql_type = "varchar(20)"\nnullable = true\n'
        'generate = { type = "choice", values = ["kedi", "kopek"] }\n\n'
        '[tables."pets.x"]\nrows = 40\nforeign_keys = [{ columns = ["owner"], table = "people",'
        ' references = ["id"] }]\n\n'
        '[tables."pets.x".columns.owner]\n'
        'sql_type = "integer"\nnullable = false\n'
        'generate = { type = "reference", table = "people", column = "id", rows = 25 }\n',
        encoding="utf-8",
    )
    target = postgres.database("ns_old")
    execute(target, "CREATE SCHEMA pets")
    result = run_phony("sync", "--plan", str(plan), "--target", target, "--seed", "1")
    assert result.returncode == 0, result.stderr
    # A name with a dot and no schema is one table of the default schema, as before.
    tables = _user_tables(target)
    assert tables == [("public", "people"), ("public", "pets.x")]
    assert query(target, 'SELECT count(*) FROM "pets.x"') == [(40,)]
    # The same plan, the same rows as a plan of the default schema always gave.
    second = postgres.database("ns_old_again")
    run_phony("sync", "--plan", str(plan), "--target", second, "--seed", "1", check=True)
    rows = 'SELECT p.nick, x.owner FROM "pets.x" x JOIN people p ON p.id = x.owner ORDER BY 2, 1'
    assert query(target, rows) == query(second, rows)


def test_a_plan_of_a_default_schema_only_database_keeps_format_1(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    source = postgres.database("ns_public")
    execute(
        source,
        "CREATE TABLE people (id serial PRIMARY KEY, city text);"
        "INSERT INTO people (city) SELECT 'c' || (g % 5) FROM generate_series(1, 50) g;",
    )
    path, result = _plan(run_phony, source, tmp_path)
    assert result.returncode == 0, result.stderr
    text = path.read_text(encoding="utf-8")
    assert "format = 1\n" in text
    assert "[tables.people]" in text
    assert "schema" not in text


def test_the_default_schema_is_the_first_of_the_search_path(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    source = postgres.database("ns_path")
    execute(
        source,
        "CREATE SCHEMA app; ALTER DATABASE ns_path SET search_path = app, public;"
        "CREATE TABLE app.people (id serial PRIMARY KEY, n int);"
        "CREATE TABLE public.pets (id serial PRIMARY KEY, owner int REFERENCES app.people(id));"
        "CREATE TABLE app.visits (id serial PRIMARY KEY, pet int REFERENCES public.pets(id));"
        "INSERT INTO app.people (n) SELECT g FROM generate_series(1, 20) g;"
        "INSERT INTO public.pets (owner) SELECT 1 + g % 20 FROM generate_series(1, 30) g;"
        "INSERT INTO app.visits (pet) SELECT 1 + g % 30 FROM generate_series(1, 60) g;",
    )
    path, result = _plan(run_phony, source, tmp_path)
    assert result.returncode == 0, result.stderr
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    # public is on the search_path too, but not first: its tables are named by it, once,
    # and keys to them from either schema name them so.
    assert sorted(data["tables"]) == ["people", "public.pets", "visits"]
    assert data["tables"]["public.pets"]["foreign_keys"][0]["table"] == "people"
    assert data["tables"]["visits"]["foreign_keys"][0]["table"] == "public.pets"
    target = postgres.database("ns_path_dst")
    run_phony("sync", "--plan", str(path), "--target", target, "--seed", "1", check=True)
    assert query(target, "SELECT count(*) FROM public.pets p JOIN people o ON o.id = p.owner") == [
        (30,)
    ]
    assert query(target, "SELECT count(*) FROM visits v JOIN public.pets p ON p.id = v.pet") == [
        (60,)
    ]


def test_train_reads_a_column_of_a_table_of_another_schema(
    shop: str, tmp_path: Path, run_phony: Any
) -> None:
    out = tmp_path / "names.phony"
    run_phony(
        "train", "--db", shop, "--table", "b.users", "--column", "name",
        "--order", "3", "-o", str(out), check=True,
    )  # fmt: skip
    info = json.loads(run_phony("info", str(out), "--json", check=True).stdout)
    assert info["source"] == "column name of table b.users"
    missing = run_phony("train", "--db", shop, "--table", "c.users", "--column", "name")
    assert missing.returncode != 0
    assert "no table 'c.users'" in missing.stderr


def test_a_schema_the_role_may_not_use_is_one_line_saying_how_to_leave_it_out(
    shop: str, tmp_path: Path, run_phony: Any
) -> None:
    execute(
        shop,
        "DROP ROLE IF EXISTS ns_reader; CREATE ROLE ns_reader LOGIN;"
        "GRANT USAGE ON SCHEMA a TO ns_reader;"
        "GRANT SELECT ON ALL TABLES IN SCHEMA a, public TO ns_reader;",
    )
    try:
        reader = shop.replace("postgres@", "ns_reader@")
        _, result = _plan(run_phony, reader, tmp_path)
        assert result.returncode == 13
        assert result.stderr.count("\n") == 1, result.stderr
        assert "permission denied for schema b (--exclude-schema b leaves it out)" in result.stderr
        data = _planned(
            run_phony, reader, tmp_path, "--exclude-schema", "b", "--exclude-schema", ODD
        )
        assert list(data["tables"]) == ["customers", "a.users"]
    finally:
        execute(shop, "DROP OWNED BY ns_reader; DROP ROLE ns_reader;")


def test_the_tables_of_an_extension_are_left_to_it(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    # As PostGIS's spatial_ref_sys or topology.topology: CREATE EXTENSION makes them.
    source = postgres.database("ns_ext")
    execute(
        source,
        "CREATE SCHEMA topology;"
        "CREATE TABLE topology.topology (id serial PRIMARY KEY, name text);"
        "CREATE TABLE spatial_ref_sys (srid int PRIMARY KEY);"
        "CREATE TABLE places (id serial PRIMARY KEY, srid int REFERENCES spatial_ref_sys(srid));"
        "INSERT INTO spatial_ref_sys SELECT g FROM generate_series(1, 5) g;"
        "INSERT INTO places (srid) SELECT 1 + g % 5 FROM generate_series(1, 40) g;"
        "ALTER EXTENSION plpgsql ADD TABLE topology.topology;"
        "ALTER EXTENSION plpgsql ADD TABLE spatial_ref_sys;",
    )
    try:
        data = _planned(run_phony, source, tmp_path)
        assert list(data["tables"]) == ["places"]
        # Its key to the extension's table: a plain column, the why saying so.
        assert "foreign_keys" not in data["tables"]["places"]
        assert "spatial_ref_sys" in data["tables"]["places"]["columns"]["srid"]["why"]
    finally:
        execute(
            source,
            "ALTER EXTENSION plpgsql DROP TABLE topology.topology;"
            "ALTER EXTENSION plpgsql DROP TABLE spatial_ref_sys;",
        )
