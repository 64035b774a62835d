"""phony sync against a real PostgreSQL server started by the tests (COPY, sequences, cycles)."""

from __future__ import annotations

import json
import signal
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import phony_command
from tests.sync.conftest import make_plan
from tests.sync.postgres import PostgresServer, query
from tests.sync.testdb import ROWS

pytestmark = pytest.mark.e2e


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    return {t: query(url, f'SELECT * FROM "{t}" ORDER BY id') for t in ROWS}  # noqa: S608


@pytest.fixture(scope="module")
def pg_plan(shop_postgres: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plan of the PostgreSQL shop."""
    return make_plan(shop_postgres, tmp_path_factory.mktemp("pgplan"))


def test_plan_sync_report_on_postgresql(
    postgres: PostgresServer, shop_postgres: str, pg_plan: Path, run_phony: Any
) -> None:
    before = _dump(shop_postgres)
    target = postgres.database("copy")
    run_phony("sync", "--plan", str(pg_plan), "--target", target, "--seed", "11", check=True)
    for table, rows in ROWS.items():
        assert query(target, f'SELECT count(*) FROM "{table}"')[0][0] == rows  # noqa: S608
    report = run_phony(
        "sync", "report", "--source", shop_postgres, "--target", target, "--plan", str(pg_plan),
        "--json",
    )  # fmt: skip
    assert report.returncode == 0, report.stdout + report.stderr
    data = json.loads(report.stdout)
    assert data["ok"] is True
    assert {"foreign_key", "unique", "check", "not_null", "length"} <= {
        c["kind"] for c in data["constraints"]
    }
    novelty = [c["value"] for c in data["columns"] if c["measure"] == "novelty"]
    assert novelty
    assert all(v == 1.0 for v in novelty)
    # Sequences point after the loaded keys: the application can insert at once.
    new_id = query(
        target,
        "INSERT INTO products (name, price, in_stock, unit) "
        "VALUES ('x', 1, true, 'kg') RETURNING id",
    )[0][0]
    assert new_id == ROWS["products"] + 1
    # The departments <-> employees cycle was closed in the second pass.
    assert query(target, "SELECT count(manager_id) FROM departments")[0][0] > 0
    # A native enum type is planned with its values and created in the target.
    unit = tomllib.loads(pg_plan.read_text())["tables"]["products"]["columns"]["unit"]
    assert unit["sql_type"] == "enum"
    assert unit["values"] == ["piece", "kg", "litre"]
    assert query(target, "SELECT DISTINCT unit::text FROM products ORDER BY 1") == [
        ("kg",),
        ("litre",),
        ("piece",),
    ]
    # Column defaults of the source come along (same dialect).
    default = query(
        target,
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_name = 'orders' AND column_name = 'status'",
    )[0][0]
    assert default.startswith("'new'")
    # No table of phony's was left behind.
    tables = {
        r[0] for r in query(target, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert tables == set(ROWS)
    assert _dump(shop_postgres) == before


def test_schema_files_fill_postgresql_with_the_rows_generate_writes(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    (tmp_path / "people.toml").write_text(
        '[columns.id]\ntype = "sequence"\n\n'
        '[columns.born]\ntype = "date"\nstart = "1950-01-01"\nend = "2000-12-31"\n\n'
        '[columns.score]\ntype = "number"\nmin = 0\nmax = 100\ndecimals = 2\n',
        encoding="utf-8",
    )
    url = postgres.database("schemas")
    run_phony("sync", str(tmp_path / "people.toml"), "--target", url, "--count", "200",
              "--seed", "3", check=True)  # fmt: skip
    csv = run_phony("generate", "--schema", str(tmp_path / "people.toml"), "--count", "200",
                    "--seed", "3", "--format", "csv", check=True).stdout  # fmt: skip
    expected = [line.split(",") for line in csv.strip().splitlines()[1:]]
    rows = query(url, "SELECT id::text, born::text, score::text FROM people ORDER BY people.id")
    assert [list(r) for r in rows] == expected


def test_postgresql_rows_do_not_depend_on_jobs_and_refill_needs_truncate(
    postgres: PostgresServer, pg_plan: Path, run_phony: Any
) -> None:
    one, two = postgres.database("jobs1"), postgres.database("jobs2")
    run_phony("sync", "--plan", str(pg_plan), "--target", one, "--seed", "5", check=True)
    run_phony(
        "sync", "--plan", str(pg_plan), "--target", two, "--seed", "5", "--jobs", "2", check=True
    )
    first = _dump(one)
    assert first == _dump(two)
    refused = run_phony("sync", "--plan", str(pg_plan), "--target", one, "--seed", "6")
    assert refused.returncode == 13
    assert "is not empty" in refused.stderr
    run_phony(
        "sync", "--plan", str(pg_plan), "--target", one, "--seed", "5", "--truncate", check=True
    )
    assert _dump(one) == first


def test_the_source_session_is_read_only(shop_postgres: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from phony_client.sync._db import connect

    engine = connect(shop_postgres, read_only=True)
    try:
        with engine.connect() as conn, pytest.raises(DBAPIError, match="read-only"):
            conn.execute(text("DELETE FROM order_items"))
    finally:
        engine.dispose()


def test_missing_database_is_one_line(
    postgres: PostgresServer, pg_plan: Path, run_phony: Any
) -> None:
    result = run_phony(
        "sync", "--plan", str(pg_plan), "--target", postgres.url("nowhere"), "--seed", "1"
    )
    assert result.returncode == 13
    assert result.stderr.count("\n") == 1
    assert 'database "nowhere" does not exist' in result.stderr


def test_train_from_a_postgresql_column(shop_postgres: str, tmp_path: Path, run_phony: Any) -> None:
    out = tmp_path / "cities.phony"
    run_phony(
        "train", "--db", shop_postgres, "--table", "customers", "--column", "city",
        "--order", "3", "-o", str(out), check=True,
    )  # fmt: skip
    info = json.loads(run_phony("info", str(out), "--json", check=True).stdout)
    assert info["source"] == "column city of table customers"
    generated = run_phony("generate", str(out), "--count", "300", "--seed", "1", check=True)
    real = {r[0] for r in query(shop_postgres, "SELECT city FROM customers")}
    values = generated.stdout.splitlines()
    assert len(values) == 300
    assert not set(values) & real  # the guard is on by default for a database column


@pytest.mark.slow
def test_ctrl_c_during_copy_rolls_the_table_back(postgres: PostgresServer, pg_plan: Path) -> None:
    target = postgres.database("interrupted")
    process = subprocess.Popen(
        [*phony_command(), "sync", "--plan", str(pg_plan), "--target", target, "--seed", "5",
         "--scale", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()  # the first table is committed
    assert line.strip().endswith("rows"), line
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    present = {r[0] for r in query(target, "SELECT tablename FROM pg_tables")}
    # A table the run would have created and not loaded is not there: untouched.
    counts = {
        t: query(target, f'SELECT count(*) FROM "{t}"')[0][0]  # noqa: S608
        for t in ROWS
        if t in present
    }
    expected = {t: round(r * 60) for t, r in ROWS.items()}
    assert all(n == expected[t] for t, n in counts.items()), counts
    assert counts, "no table was loaded before the interrupt"
    assert len(counts) < len(ROWS), "the load ended before the interrupt"


def test_a_foreign_key_of_two_columns_loads_into_postgresql(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    import psycopg

    source = postgres.database("shelves")
    with psycopg.connect(source) as conn:
        conn.execute(
            "CREATE TABLE shelves (warehouse varchar(8) NOT NULL, number integer NOT NULL,"
            " label text, PRIMARY KEY (warehouse, number))"
        )
        conn.execute(
            "CREATE TABLE items (id serial PRIMARY KEY, qty integer NOT NULL,"
            " warehouse varchar(8), shelf integer,"
            " FOREIGN KEY (warehouse, shelf) REFERENCES shelves (warehouse, number))"
        )
        towns = ["IST", "IZM", "ANK", "BUR", "BER", "HAM", "BRE", "ESS"]
        shelves = [(f"{t}-{w}", n) for t in towns for w in (1, 2) for n in (1, 2, 3)]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO shelves VALUES (%s, %s, %s)", [(w, n, f"{w}/{n}") for w, n in shelves]
            )
            cur.executemany(
                "INSERT INTO items (qty, warehouse, shelf) VALUES (%s, %s, %s)",
                [
                    (i % 40 + 1, *((None, None) if i % 10 == 0 else shelves[i * 7 % len(shelves)]))
                    for i in range(300)
                ],
            )
    plan = tmp_path / "plan.toml"
    run_phony("sync", "plan", "--source", source, "-o", str(plan), "--order", "3", check=True)
    columns = tomllib.loads(plan.read_text(encoding="utf-8"))["tables"]["items"]["columns"]
    assert columns["shelf"]["generate"]["via"] == "warehouse"
    target = postgres.database("shelves_copy")
    # PostgreSQL checks the key on every row: a pair no shelf has would stop the load.
    run_phony("sync", "--plan", str(plan), "--target", target, "--seed", "4", "--scale", "3",
              check=True)  # fmt: skip
    fake = set(query(target, "SELECT warehouse, number FROM shelves"))
    used = set(query(target, "SELECT warehouse, shelf FROM items WHERE warehouse IS NOT NULL"))
    assert len(fake) == 3 * len(shelves)
    assert used <= fake
    assert len(used) > len(fake) // 2
    nulls = query(target, "SELECT count(*) FROM items WHERE warehouse IS NULL")[0][0]
    assert 0 < nulls < 300  # about a tenth, as in the source
    assert query(target, "SELECT count(*) FROM items WHERE (warehouse IS NULL) <> (shelf IS NULL)")[
        0
    ] == (0,)
    report = run_phony("sync", "report", "--source", source, "--target", target, "--plan",
                       str(plan), "--json")  # fmt: skip
    assert report.returncode == 0, report.stdout + report.stderr
    checked = json.loads(report.stdout)
    assert checked["ok"] is True
    assert any(c["kind"] == "foreign_key" for c in checked["constraints"])


def test_bytea_json_and_time_are_generated_on_postgresql(
    postgres: PostgresServer, tmp_path: Path, run_phony: Any
) -> None:
    import psycopg

    source = postgres.database("blobs")
    with psycopg.connect(source) as conn:
        conn.execute(
            "CREATE TABLE things (id serial PRIMARY KEY, data bytea, doc jsonb, at time,"
            " code varchar(12) NOT NULL UNIQUE)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO things (data, doc, at, code) VALUES (%s, %s, %s, %s)",
                [
                    (
                        bytes([i % 7]) * (4 + i % 3),
                        json.dumps({"user": ["alice", "bob"][i % 2], "n": i % 5}),
                        f"{9 + i % 8:02d}:15:00",
                        f"E{i:04d}",
                    )
                    for i in range(200)
                ],
            )
    plan = make_plan(source, tmp_path)
    target = postgres.database("blobs_copy")
    run_phony("sync", "--plan", str(plan), "--target", target, "--seed", "2", check=True)
    real = query(source, "SELECT data, doc, at, code FROM things")
    fake = query(target, "SELECT data, doc, at, code FROM things")
    assert len(fake) == 200
    for i in (0, 1, 3):  # data, doc, code: no value of the source's (times may meet one)
        values = {json.dumps(r[i], sort_keys=True) if i == 1 else r[i] for r in real}
        assert not {json.dumps(r[i], sort_keys=True) if i == 1 else r[i] for r in fake} & values
    assert {len(r[0]) for r in fake} <= {4, 5, 6}
    assert {frozenset(r[1]) for r in fake} == {frozenset({"user", "n"})}
    assert not {r[1]["user"] for r in fake} & {"alice", "bob"}
    assert all("09:00:00" <= r[2].isoformat() <= "16:59:59" for r in fake)
    assert len({r[3] for r in fake}) == 200


def test_a_json_string_is_a_string_document_even_when_it_reads_as_json(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    import psycopg

    from phony_client.sync.introspect import make_plan as plan_of

    # PostgreSQL hands a document over decoded: "{\"x\": 1}" is a string, not an object.
    source = postgres.database("json_strings")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, doc json, docb jsonb)")
        conn.execute(
            "INSERT INTO t SELECT g, to_json('{\"x\": ' || g || '}'), to_jsonb('w' || g) "
            "FROM generate_series(1, 300) g"
        )
    plan = plan_of(source, tmp_path / "models", tmp_path, order=3)
    for column in ("doc", "docb"):
        assert plan.tables["t"].column(column).generate == {"type": "choice", "values": ['""']}
