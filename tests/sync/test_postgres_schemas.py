"""phony sync on PostgreSQL schemas as application teams write them: partial and
expression indexes, domains, arrays, generated columns, errors in the middle of a COPY."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import make_plan
from tests.sync.postgres import PostgresServer, execute, query

pytestmark = pytest.mark.e2e


def _source(postgres: PostgresServer, name: str, sql: str) -> str:
    url = postgres.database(name)
    execute(url, sql)
    return url


def _synced(run_phony: Any, source: str, target: str, folder: Path) -> Path:
    """Plan ``source`` into ``folder`` and sync ``target`` from it (seed 1); the plan's path."""
    plan = make_plan(source, folder)
    run_phony("sync", "--plan", str(plan), "--target", target, "--seed", "1", check=True)
    return plan


def test_an_error_in_the_middle_of_a_copy_is_one_line_and_the_table_stays_empty(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    source = _source(
        postgres,
        "copyfail_src",
        "CREATE TABLE people (id serial PRIMARY KEY, name text);"
        "CREATE TABLE badges (id serial PRIMARY KEY,"
        " person_id int UNIQUE NOT NULL REFERENCES people(id));"
        "INSERT INTO people (name) SELECT 'p' || g FROM generate_series(1, 20) g;"
        "INSERT INTO badges (person_id) SELECT g FROM generate_series(1, 10) g;",
    )
    plan = make_plan(source, tmp_path)
    # More badges than people: the one-to-one key runs out of parents while COPY is open.
    text = plan.read_text(encoding="utf-8")
    plan.write_text(
        re.sub(r"(\[tables\.badges\]\nrows = )10", r"\g<1>2000", text), encoding="utf-8"
    )
    target = postgres.database("copyfail_dst")
    result = run_phony("sync", "--plan", str(plan), "--target", target, "--seed", "1", timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith("  ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: "), result.stderr
    assert "person_id" in errors[0], result.stderr
    assert query(target, "SELECT count(*) FROM people") == [(20,)]
    tables = query(target, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == [("people",)]


def test_a_partial_unique_index_does_not_make_its_column_unique(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    # One default address per customer, any number of others: the index holds
    # only where is_default is true.
    source = _source(
        postgres,
        "partial_src",
        "CREATE TABLE customers (id serial PRIMARY KEY, name text);"
        "CREATE TABLE addresses (id serial PRIMARY KEY,"
        " customer_id int NOT NULL REFERENCES customers(id),"
        " is_default boolean NOT NULL DEFAULT false);"
        "CREATE UNIQUE INDEX one_default ON addresses (customer_id) WHERE is_default;"
        "INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 50) g;"
        "INSERT INTO addresses (customer_id, is_default)"
        " SELECT 1 + g % 50, g <= 50 FROM generate_series(1, 120) g;",
    )
    plan = make_plan(source, tmp_path)
    target = postgres.database("partial_dst")
    result = run_phony("sync", "--plan", str(plan), "--target", target, "--seed", "1", timeout=60)
    assert result.returncode == 0, result.stderr
    assert query(target, "SELECT count(*) FROM addresses") == [(120,)]
    assert query(target, "SELECT count(DISTINCT customer_id) < 120 FROM addresses") == [(True,)]


def test_report_measures_jsonb_and_array_columns(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    import json

    source = _source(
        postgres,
        "report_src",
        "CREATE TABLE events (id serial PRIMARY KEY, payload jsonb, tags text[]);"
        "INSERT INTO events (payload, tags) SELECT jsonb_build_object('n', g % 20),"
        " ARRAY['a', 'b'] FROM generate_series(1, 200) g;",
    )
    target = postgres.database("report_dst")
    plan = _synced(run_phony, source, target, tmp_path)
    report = run_phony(
        "sync", "report", "--source", source, "--target", target, "--plan", str(plan), "--json"
    )
    assert report.returncode == 0, report.stderr
    columns = {c["column"]: c for c in json.loads(report.stdout)["columns"]}
    assert columns["payload"]["null_target"] == 0.0
    assert columns["tags"]["null_target"] == 0.0


def test_array_columns_are_planned_as_arrays_and_load_into_an_existing_table(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    schema = "CREATE TABLE posts (id serial PRIMARY KEY, tags text[], scores int[] NOT NULL);"
    source = _source(
        postgres,
        "array_src",
        schema  # noqa: S608 - fixed test data
        + "INSERT INTO posts (tags, scores) SELECT ARRAY['secret-' || g, 'x'],"
        " ARRAY[g, g * 7] FROM generate_series(1, 100) g;",
    )
    plan = make_plan(source, tmp_path)
    planned = plan.read_text(encoding="utf-8")
    assert 'sql_type = "text[]"' in planned
    assert "secret-" not in planned
    # Into the application's own table, typed as in the source.
    existing = _source(postgres, "array_dst", schema)
    run_phony("sync", "--plan", str(plan), "--target", existing, "--seed", "1", check=True)
    assert query(existing, "SELECT count(*) FROM posts WHERE scores IS NOT NULL") == [(100,)]
    # Into an empty database: phony creates the array columns.
    created = postgres.database("array_new")
    run_phony("sync", "--plan", str(plan), "--target", created, "--seed", "1", check=True)
    types = query(
        created,
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'posts'"
        " AND column_name IN ('tags', 'scores')",
    )
    assert types == [("ARRAY",), ("ARRAY",)]
    leaked = query(
        created, "SELECT count(*) FROM posts WHERE array_to_string(tags, ',') LIKE '%secret-%'"
    )
    assert leaked == [(0,)]


def test_types_phony_does_not_model_load_into_the_applications_own_table(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    schema = (
        "CREATE DOMAIN positive_price AS numeric(12,2) CHECK (VALUE > 0);"
        "CREATE TABLE visits (id serial PRIMARY KEY, ip inet NOT NULL, net cidr,"
        " paid money, took interval, price positive_price NOT NULL);"
    )
    source = _source(
        postgres,
        "types_src",
        schema + "INSERT INTO visits (ip, net, paid, took, price)"  # noqa: S608 - test data
        " SELECT ('10.1.' || (g % 250) || '.' || (g % 199))::inet, '10.9.0.0/16',"
        " (g % 97)::numeric::money, (g || ' minutes')::interval, 1 + g % 300"
        " FROM generate_series(1, 300) g;",
    )
    plan = make_plan(source, tmp_path)
    existing = _source(postgres, "types_dst", schema)
    run_phony("sync", "--plan", str(plan), "--target", existing, "--seed", "1", check=True)
    assert query(existing, "SELECT count(*) FROM visits") == [(300,)]
    # Addresses of the documentation networks (RFC 5737): none of the source's.
    outside = query(
        existing,
        "SELECT count(*) FROM visits WHERE NOT (ip << '192.0.2.0/24'"
        " OR ip << '198.51.100.0/24' OR ip << '203.0.113.0/24')",
    )
    assert outside == [(0,)]
    # A domain is its base type: numbers, not text.
    assert query(existing, "SELECT count(*) FROM visits WHERE price > 0") == [(300,)]
    # Money and intervals are not modelled: NULL, as the plan says.
    assert query(existing, "SELECT count(paid), count(took) FROM visits") == [(0, 0)]
    assert "not modelled" in plan.read_text(encoding="utf-8")


def test_a_unique_index_on_lower_email_keeps_the_emails_unique(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    schema = (
        "CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);"
        "CREATE UNIQUE INDEX customers_email_lower ON customers (lower(email));"
    )
    source = _source(
        postgres,
        "lower_src",
        schema + "INSERT INTO customers (email) SELECT 'person' || g || '.'"  # noqa: S608
        " || (ARRAY['kaya', 'mueller', 'smith'])[1 + g % 3] || '@gmail.com'"
        " FROM generate_series(1, 600) g;",
    )
    plan = make_plan(source, tmp_path)
    existing = _source(postgres, "lower_dst", schema)
    result = run_phony("sync", "--plan", str(plan), "--target", existing, "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert query(existing, "SELECT count(DISTINCT lower(email)) FROM customers") == [(600,)]


def test_a_generated_column_is_left_to_the_database(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    schema = (
        "CREATE TABLE lines (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " qty int NOT NULL, price numeric(12,2) NOT NULL,"
        " total numeric(12,2) GENERATED ALWAYS AS (qty * price) STORED);"
    )
    source = _source(
        postgres,
        "generated_src",
        schema + "INSERT INTO lines (qty, price)"  # noqa: S608 - fixed test data
        " SELECT 1 + g % 5, 1 + g % 50 FROM generate_series(1, 300) g;",
    )
    plan = make_plan(source, tmp_path)
    existing = _source(postgres, "generated_dst", schema)
    run_phony("sync", "--plan", str(plan), "--target", existing, "--seed", "1", check=True)
    assert query(existing, "SELECT count(*) FROM lines WHERE total = qty * price") == [(300,)]
    # The identity column goes on after the loaded keys.
    assert query(existing, "INSERT INTO lines (qty, price) VALUES (1, 1) RETURNING id") == [(301,)]


def test_a_table_of_another_schema_is_planned_with_its_key_to_the_default_schema(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    source = _source(
        postgres,
        "schemas_src",
        "CREATE SCHEMA sales;"
        "CREATE TABLE customers (id serial PRIMARY KEY, name text);"
        "CREATE TABLE sales.orders (id serial PRIMARY KEY,"
        " customer_id int REFERENCES customers(id));"
        "INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 30) g;"
        "INSERT INTO sales.orders (customer_id) SELECT 1 + g % 30 FROM generate_series(1, 90) g;",
    )
    path = tmp_path / "plan.toml"
    result = run_phony("sync", "plan", "--source", source, "-o", str(path), "--order", "4")
    assert result.returncode == 0, result.stderr
    text = path.read_text(encoding="utf-8")
    assert '[tables."sales.orders"]\nschema = "sales"\nrows = 90\n' in text
    assert 'table = "customers"' in text


def test_append_with_the_same_seed_gives_new_uuids_to_a_unique_uuid_column(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    source = _source(
        postgres,
        "uuid_src",
        "CREATE TABLE customers (id bigserial PRIMARY KEY,"
        " public_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(), name text);"
        "INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 100) g;",
    )
    plan = make_plan(source, tmp_path)
    target = postgres.database("uuid_dst")
    args = ["sync", "--plan", str(plan), "--target", target, "--seed", "1"]
    run_phony(*args, check=True)
    result = run_phony(*args, "--append")
    assert result.returncode == 0, result.stderr
    assert query(target, "SELECT count(DISTINCT public_id), max(id) FROM customers") == [(200, 200)]


def test_uuids_synced_into_sqlite_fit_the_column_phony_creates(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    source = _source(
        postgres,
        "uuid_sqlite_src",
        "CREATE TABLE customers (id serial PRIMARY KEY,"
        " public_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid());"
        "INSERT INTO customers SELECT FROM generate_series(1, 50);",
    )
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    plan = _synced(run_phony, source, target, tmp_path)
    report = run_phony(
        "sync", "report", "--source", source, "--target", target, "--plan", str(plan)
    )
    assert report.returncode == 0, report.stdout + report.stderr
    assert "all hold" in report.stdout


def test_jsonb_stays_jsonb_in_a_table_phony_creates(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    source = _source(
        postgres,
        "jsonb_src",
        "CREATE TABLE events (id serial PRIMARY KEY, payload jsonb, raw json);"
        "INSERT INTO events (payload, raw) SELECT jsonb_build_object('n', g % 20),"
        " json_build_object('n', g % 20) FROM generate_series(1, 100) g;",
    )
    target = postgres.database("jsonb_dst")
    _synced(run_phony, source, target, tmp_path)
    types = query(
        target,
        "SELECT column_name, udt_name FROM information_schema.columns"
        " WHERE table_name = 'events' AND column_name IN ('payload', 'raw') ORDER BY 1",
    )
    assert types == [("payload", "jsonb"), ("raw", "json")]
    # jsonb's operators work on the fake documents as on the real ones.
    assert query(target, "SELECT count(*) FROM events WHERE payload ? 'n'") == [(100,)]


def test_json_values_past_the_sample_are_kept_out_on_postgresql(
    postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phony_client.sync import introspect
    from phony_client.sync.run import SyncOptions, sync

    monkeypatch.setattr(introspect, "SAMPLE_ROWS", 1000)
    # In the sample: "n" holds 0 to 49 but 33, each in about twenty documents, and "ref"
    # is one document's "ref-1" to "ref-1000". Past it, one document holds "n": 33, and
    # each of the next 200 its own "ref-1001" to "ref-1200"; in jsonb and in json.
    source = _source(
        postgres,
        "jsonpast_src",
        "CREATE TABLE t (id serial PRIMARY KEY, doc jsonb, raw json);"
        "INSERT INTO t (doc, raw) SELECT d, d::json FROM (SELECT jsonb_build_object("
        " 'n', CASE WHEN g = 1001 THEN 33 ELSE (g - 1) % 49 + ((g - 1) % 49 >= 33)::int END,"
        " 'ref', 'ref-' || g) AS d FROM generate_series(1, 1200) g) docs;",
    )
    plan = introspect.make_plan(source, tmp_path / "models", tmp_path, order=3)
    target = postgres.database("jsonpast_dst")
    sync(plan, target, SyncOptions(seed=1, scale=2))
    numbers = set(range(50)) - {33}
    for column in ("doc", "raw"):
        fake = [d for (d,) in query(target, f"SELECT {column} FROM t")]  # noqa: S608
        assert len(fake) == 2400, column
        assert {d["n"] for d in fake} <= numbers, column
        refs = {d["ref"] for d in fake}
        leaked = refs & {f"ref-{g}" for g in range(1, 1201)}
        assert not leaked, (column, sorted(leaked)[:5])
        assert all(r.startswith("ref-") for r in refs), column


def test_real_and_numeric_domains_keep_their_types_in_a_table_phony_creates(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    source = _source(
        postgres,
        "real_src",
        "CREATE DOMAIN price AS numeric(12,2) CHECK (VALUE > 0);"
        "CREATE TABLE parcels (id serial PRIMARY KEY, weight real, cost price);"
        "INSERT INTO parcels (weight, cost) SELECT g / 3.0, 1 + g % 90"
        " FROM generate_series(1, 200) g;",
    )
    target = postgres.database("real_dst")
    _synced(run_phony, source, target, tmp_path)
    types = query(
        target,
        "SELECT column_name, udt_name, numeric_precision, numeric_scale"
        " FROM information_schema.columns WHERE table_name = 'parcels'"
        " AND column_name IN ('weight', 'cost') ORDER BY 1",
    )
    assert types == [("cost", "numeric", 12, 2), ("weight", "float4", 24, None)]


def test_a_histogram_keeps_within_a_check_bound(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    # Every quantity held by one row: the histogram's lowest edge, coarsened and
    # stepped down off the rare 1, fell to 0, which CHECK (qty > 0) refuses.
    source = _source(
        postgres,
        "bound_src",
        "CREATE TABLE items (id serial PRIMARY KEY, qty int NOT NULL CHECK (qty > 0),"
        " price numeric(10,2) CHECK (price >= 0.5),"
        " stock int CHECK (stock IS NULL OR stock <= 500));"
        "INSERT INTO items (qty, price, stock)"
        " SELECT g, 0.5 + g, g FROM generate_series(1, 500) g;",
    )
    plan = make_plan(source, tmp_path)
    target = postgres.database("bound_dst")
    result = run_phony("sync", "--plan", str(plan), "--target", target, "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert query(
        target, "SELECT min(qty) > 0, min(price) >= 0.5, max(stock) <= 500 FROM items"
    ) == [(True, True, True)]
