"""phony sync end to end on SQLite: plan -> sync -> report, through the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import phony_command
from tests.sync.testdb import ROWS

pytestmark = pytest.mark.e2e


def _plan(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            n: conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall()  # noqa: S608
            for n in sorted(names)
            if n != "sqlite_sequence"
        }


def _text_columns(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(table, column) of the written columns made by a trained model."""
    return [
        (t, c)
        for t, table in plan["tables"].items()
        for c, col in table["columns"].items()
        if "sql_type" in col and col["generate"]["type"] in ("ngram", "template")
    ]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_plan_says_what_fills_each_column_and_why(shop_plan: Path, shop_sqlite: Path) -> None:
    plan = _plan(shop_plan)
    assert set(plan["tables"]) == set(ROWS)
    with sqlite3.connect(shop_sqlite) as conn:
        for table in ROWS:
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            planned = [c for c, v in plan["tables"][table]["columns"].items() if "sql_type" in v]
            assert planned == columns
            assert plan["tables"][table]["rows"] == ROWS[table]
    for table in plan["tables"].values():
        for column in table["columns"].values():
            assert column["why"]
    customers = plan["tables"]["customers"]
    assert customers["columns"]["first_name"]["generate"]["type"] == "ngram"
    assert customers["columns"]["id"]["generate"] == {"type": "sequence"}
    assert customers["columns"]["locale"]["generate"]["type"] == "choice"
    assert customers["unique"] == [["email"]]
    assert customers["columns"]["born_on"]["generate"]["type"] == "histogram"
    assert 0.05 < customers["columns"]["phone"]["null_ratio"] < 0.5
    orders = plan["tables"]["orders"]
    assert orders["columns"]["customer_id"]["generate"]["type"] == "reference"
    fanout = orders["columns"]["customer_id"]["generate"]["fanout"]
    assert fanout[-1][0] > 100  # one customer with hundreds of orders
    assert sum(parents for _, parents in fanout) == ROWS["customers"]
    assert {"column": "status", "values": ["new", "paid", "shipped", "cancelled"]}.items() <= (
        orders["checks"][0].items()
    )
    assert "privacy guard" in shop_plan.read_text()
    # The models are ordinary .phony files, trained with the guard on.
    from phony_registry.format import load_model

    model_path = shop_plan.parent / customers["columns"]["first_name"]["generate"]["model"]
    assert load_model(model_path).exclude is not None


def test_sync_fills_every_table_and_every_constraint_holds(
    shop_plan: Path, shop_sqlite: Path, tmp_path: Path, run_phony: Any
) -> None:
    source_digest = _sha(shop_sqlite)
    target = tmp_path / "copy.db"
    result = run_phony(
        "sync", "--plan", str(shop_plan), "--target", f"sqlite:///{target}", "--seed", "7",
        check=True,
    )  # fmt: skip
    assert "filled 7 tables" in result.stderr
    with sqlite3.connect(target) as conn:
        for table, rows in ROWS.items():
            assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == rows  # noqa: S608
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # The cycle's second pass set the departments' managers.
        managers = conn.execute("SELECT count(manager_id) FROM departments").fetchone()[0]
        assert managers > 0
    report = run_phony(
        "sync", "report", "--source", f"sqlite:///{shop_sqlite}", "--target",
        f"sqlite:///{target}", "--plan", str(shop_plan), "--json",
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["ok"] is True
    kinds = {c["kind"] for c in data["constraints"]}
    assert {"not_null", "unique", "primary_key", "foreign_key", "check", "length"} <= kinds
    novelty = {(c["table"], c["column"]): c["value"] for c in data["columns"]
               if c["measure"] == "novelty"}  # fmt: skip
    plan = _plan(shop_plan)
    assert set(novelty) == set(_text_columns(plan))
    assert all(v == 1.0 for v in novelty.values()), novelty
    for c in data["columns"]:
        if c["measure"] == "ks_distance":
            assert c["value"] < 0.25, c
    fanout = {(c["table"], c["column"]): c["value"] for c in data["columns"]
              if c["measure"] == "fanout_ks_distance"}  # fmt: skip
    assert fanout[("orders", "customer_id")] < 0.05  # a skewed fan-out, followed
    assert fanout[("order_items", "order_id")] < 0.05
    # No source value in any generated text column, checked here directly.
    with sqlite3.connect(shop_sqlite) as src, sqlite3.connect(target) as tgt:
        for table, column in _text_columns(plan):
            sql = f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'  # noqa: S608
            real = {r[0] for r in src.execute(sql)}
            fake = {r[0] for r in tgt.execute(sql)}
            assert fake, (table, column)
            assert not (fake & real), (table, column)
    assert _sha(shop_sqlite) == source_digest  # never written


def test_same_seed_same_rows_whatever_jobs(shop_plan: Path, tmp_path: Path, run_phony: Any) -> None:
    dumps = []
    for name, seed, jobs in (("a", "3", "1"), ("b", "3", "2"), ("c", "4", "1")):
        target = tmp_path / f"{name}.db"
        run_phony(
            "sync", "--plan", str(shop_plan), "--target", f"sqlite:///{target}",
            "--seed", seed, "--jobs", jobs, check=True,
        )  # fmt: skip
        dumps.append(_dump(target))
    assert dumps[0] == dumps[1]
    assert dumps[0]["customers"] != dumps[2]["customers"]


def test_non_empty_target_is_refused_then_truncated_or_appended(
    shop_plan: Path, tmp_path: Path, run_phony: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    run_phony("sync", "--plan", str(shop_plan), "--target", url, "--seed", "1", check=True)
    first = _dump(tmp_path / "copy.db")
    refused = run_phony("sync", "--plan", str(shop_plan), "--target", url, "--seed", "2")
    assert refused.returncode == 13
    assert refused.stderr.count("\n") == 1
    assert "is not empty" in refused.stderr
    assert "--truncate" in refused.stderr
    assert _dump(tmp_path / "copy.db") == first  # untouched
    run_phony(
        "sync", "--plan", str(shop_plan), "--target", url, "--seed", "1", "--truncate", check=True
    )
    assert _dump(tmp_path / "copy.db") == first  # same seed, same rows
    run_phony(
        "sync", "--plan", str(shop_plan), "--target", url, "--seed", "2", "--append", check=True
    )
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2 * ROWS["customers"]
        emails = conn.execute("SELECT count(DISTINCT email) FROM customers").fetchone()[0]
        assert emails == 2 * ROWS["customers"]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_scale_tables_and_dry_run(shop_plan: Path, tmp_path: Path, run_phony: Any) -> None:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    dry = run_phony(
        "sync", "--plan", str(shop_plan), "--target", url, "--seed", "1", "--scale", "0.5",
        "--dry-run", check=True,
    )  # fmt: skip
    assert "orders: 750 rows" in dry.stdout
    assert "second pass: manager_id" in dry.stdout
    assert not (tmp_path / "small.db").exists()
    run_phony(
        "sync", "--plan", str(shop_plan), "--target", url, "--seed", "1", "--scale", "0.5",
        "--tables", "customers,products", check=True,
    )  # fmt: skip
    with sqlite3.connect(tmp_path / "small.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"customers", "products"}
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 300
    # orders' parents other than customers are not there: one clear line
    missing = run_phony(
        "sync", "--plan", str(shop_plan), "--target", url, "--seed", "1", "--tables", "orders"
    )
    assert missing.returncode == 13
    assert "references employees" in missing.stderr
    unknown = run_phony("sync", "--plan", str(shop_plan), "--target", url, "--tables", "nope")
    assert unknown.returncode == 2
    assert "no table 'nope'" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "mysql://u@h/db"], "fills PostgreSQL and SQLite"),
        (["--target", "not a url"], "not a database URL"),
        (["--target", "postgresql://u:hunter2@127.0.0.1:1/db"], "cannot use postgresql://u:***@"),
        (["--target", "sqlite:////no/such/folder/x.db"], "does not exist"),
    ],
    ids=["unsupported", "garbage", "unreachable", "missing-folder"],
)
def test_bad_target_urls_give_one_line(
    shop_plan: Path, run_phony: Any, args: list[str], message: str
) -> None:
    result = run_phony("sync", "--plan", str(shop_plan), "--seed", "1", *args)
    assert result.returncode == 13, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert "hunter2" not in result.stderr


def test_bad_sources_give_one_line(tmp_path: Path, run_phony: Any) -> None:
    missing = run_phony("sync", "plan", "--source", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.returncode == 13
    assert (
        missing.stderr == f"error: sqlite:///{tmp_path / 'none.db'}: no such SQLite database file\n"
    )
    assert not (tmp_path / "none.db").exists()


def test_the_source_is_refused_as_a_target(
    shop_plan: Path, shop_sqlite: Path, run_phony: Any
) -> None:
    result = run_phony(
        "sync", "--plan", str(shop_plan), "--target", f"sqlite:///{shop_sqlite}", "--truncate"
    )
    assert result.returncode == 2
    assert "never writes to its source" in result.stderr


def test_schema_files_give_the_rows_phony_generate_writes(tmp_path: Path, run_phony: Any) -> None:
    (tmp_path / "authors.toml").write_text(
        '[columns.id]\ntype = "sequence"\n\n'
        '[columns.name]\ntype = "choice"\nvalues = ["Ayşe", "Jörg", "Mia"]\n\n'
        '[columns.born]\ntype = "date"\nstart = "1950-01-01"\nend = "2000-12-31"\n',
        encoding="utf-8",
    )
    (tmp_path / "books.toml").write_text(
        '[columns.id]\ntype = "sequence"\n\n'
        '[columns.author_id]\ntype = "reference"\ntable = "authors"\nrows = 40\n\n'
        '[columns.pages]\ntype = "integer"\nmin = 40\nmax = 900\n',
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'books.db'}"
    run_phony(
        "sync", str(tmp_path / "authors.toml"), str(tmp_path / "books.toml"), "--target", url,
        "--count", "40", "--seed", "9", check=True,
    )  # fmt: skip
    for name in ("authors", "books"):
        csv = run_phony(
            "generate", "--schema", str(tmp_path / f"{name}.toml"), "--count", "40",
            "--seed", "9", "--format", "csv", check=True,
        ).stdout  # fmt: skip
        expected = [line.split(",") for line in csv.strip().splitlines()[1:]]
        with sqlite3.connect(tmp_path / "books.db") as conn:
            rows = conn.execute(f'SELECT * FROM "{name}" ORDER BY id').fetchall()  # noqa: S608
        assert [[str(v) for v in row] for row in rows] == expected
    with sqlite3.connect(tmp_path / "books.db") as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _interrupt_after_first_table(args: list[str], env: dict[str, str] | None = None) -> str:
    """Run ``phony sync ARGS``, SIGINT it once a table is committed; its stderr."""
    process = subprocess.Popen(
        [*phony_command(), "sync", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})),
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.strip().endswith("rows"), line
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    return err


@pytest.mark.slow
def test_ctrl_c_while_appending_leaves_existing_rows_alone(
    shop_plan: Path, tmp_path: Path, run_phony: Any
) -> None:
    target = tmp_path / "big.db"
    url = f"sqlite:///{target}"
    run_phony("sync", "--plan", str(shop_plan), "--target", url, "--seed", "1", check=True)
    _interrupt_after_first_table(
        ["--plan", str(shop_plan), "--target", url, "--seed", "5", "--scale", "60", "--append"]
    )
    with sqlite3.connect(target, timeout=30) as conn:
        counts = {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
            for t in ROWS
        }
    loaded = {t for t in ROWS if counts[t] == ROWS[t] + round(ROWS[t] * 60)}
    untouched = {t for t in ROWS if counts[t] == ROWS[t]}
    assert loaded | untouched == set(ROWS), counts
    assert loaded, "no table was loaded before the interrupt"
    assert untouched, "the load ended before the interrupt"


@pytest.mark.slow
def test_ctrl_c_leaves_every_table_loaded_or_untouched(shop_plan: Path, tmp_path: Path) -> None:
    target = tmp_path / "big.db"
    err = _interrupt_after_first_table(
        [
            "--plan",
            str(shop_plan),
            "--target",
            f"sqlite:///{target}",
            "--seed",
            "5",
            "--scale",
            "60",
        ]
    )
    assert "interrupted" in err
    expected = {t: round(r * 60) for t, r in ROWS.items()}
    with sqlite3.connect(target, timeout=30) as conn:
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        # A table the run would have created and not loaded is not there: untouched.
        counts = {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
            for t in ROWS
            if t in present
        }
    assert all(n == expected[t] for t, n in counts.items()), counts
    assert counts, "no table was loaded before the interrupt"
    assert len(counts) < len(ROWS), "the load ended before the interrupt"


def test_consistent_keeps_a_natural_key_the_same_across_tables(
    shop_sqlite: Path, tmp_path: Path, run_phony: Any
) -> None:
    plan = tmp_path / "plan.toml"
    run_phony(
        "sync", "plan", "--source", f"sqlite:///{shop_sqlite}", "-o", str(plan), "--order", "4",
        "--consistent", check=True,
    )  # fmt: skip
    contact = _plan(plan)["tables"]["orders"]["columns"]["contact_email"]
    assert contact["generate"]["type"] == "reference"
    assert contact["generate"]["via"] == "customer_id"
    target = tmp_path / "copy.db"
    run_phony("sync", "--plan", str(plan), "--target", f"sqlite:///{target}", "--seed", "2",
              check=True)  # fmt: skip
    with sqlite3.connect(target) as conn:
        rows = conn.execute(
            "SELECT o.contact_email, c.email FROM orders o JOIN customers c ON c.id = o.customer_id"
        ).fetchall()
        emails = {r[0] for r in conn.execute("SELECT email FROM customers")}
    copied = [(a, b) for a, b in rows if a is not None]
    assert len(copied) > 0.8 * len(rows)
    assert all(a == b for a, b in copied)  # the order's contact is its customer's fake email
    assert len(emails) == ROWS["customers"]  # no two customers share one
    with sqlite3.connect(shop_sqlite) as conn:
        real = {r[0] for r in conn.execute("SELECT email FROM customers")}
    assert not emails & real


def test_report_finds_broken_constraints(
    shop_plan: Path, shop_sqlite: Path, tmp_path: Path, run_phony: Any
) -> None:
    target = tmp_path / "copy.db"
    url = f"sqlite:///{target}"
    run_phony("sync", "--plan", str(shop_plan), "--target", url, "--seed", "1", check=True)
    with sqlite3.connect(target) as conn:  # foreign keys are not enforced on this connection
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute("UPDATE employees SET manager_id = 99999 WHERE id = 3")
        conn.execute("UPDATE orders SET customer_id = 99999 WHERE id = 5")
        conn.execute("UPDATE orders SET status = 'lost' WHERE id = 6")
    report = run_phony("sync", "report", "--source", f"sqlite:///{shop_sqlite}", "--target", url)
    assert report.returncode == 1
    assert "3 broken" in report.stdout
    assert "employees foreign_key (manager_id) -> employees: 1 rows" in report.stdout
    assert "orders foreign_key (customer_id) -> customers: 1 rows" in report.stdout
    assert "orders check (status) values listed: 1 rows" in report.stdout


def test_source_to_target_in_one_go(shop_sqlite: Path, tmp_path: Path, run_phony: Any) -> None:
    target = tmp_path / "copy.db"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_phony(
        "sync", "--source", f"sqlite:///{shop_sqlite}", "--target", f"sqlite:///{target}",
        "--seed", "4", "--order", "4", "--scale", "0.2", env={"TMPDIR": str(scratch)}, check=True,
    )  # fmt: skip
    assert "filled 7 tables" in result.stderr
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 300
    assert list(scratch.iterdir()) == []  # the plan and its models are removed afterwards


def _sync_with_one_and_two_jobs(
    plan: Path, tmp_path: Path, run_phony: Any, *, seed: int, scale: int
) -> Path:
    """Sync ``plan`` into two SQLite files, with ``--jobs`` 1 and 2: the same rows, every
    foreign key holding. Returns the second file."""
    dumps = []
    for jobs in ("1", "2"):
        target = tmp_path / f"copy{jobs}.db"
        run_phony("sync", "--plan", str(plan), "--target", f"sqlite:///{target}",
                  "--seed", str(seed), "--scale", str(scale), "--jobs", jobs,
                  check=True)  # fmt: skip
        dumps.append(_dump(target))
        with sqlite3.connect(target) as conn:
            conn.execute("PRAGMA foreign_keys = ON")
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert dumps[0] == dumps[1]
    return target


def test_foreign_keys_to_text_keys_take_the_generated_keys(tmp_path: Path, run_phony: Any) -> None:
    import random

    source = tmp_path / "stock.db"
    rng = random.Random(1)
    with sqlite3.connect(source) as conn:
        conn.executescript(
            "CREATE TABLE warehouses (code VARCHAR(8) PRIMARY KEY, city TEXT NOT NULL);"
            "CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL,"
            " warehouse VARCHAR(8) NOT NULL REFERENCES warehouses(code));"
        )
        cities = [
            "Istanbul",
            "Izmir",
            "Ankara",
            "Bursa",
            "Berlin",
            "Hamburg",
            "München",
            "Köln",
            "Bremen",
            "Dresden",
        ]
        cities += ["Leipzig", "Essen", "Antalya", "Konya", "Adana", "Mersin"]
        codes = [f"{c[:3].upper()}-{rng.randint(10, 99)}" for c in cities]
        conn.executemany("INSERT INTO warehouses VALUES (?, ?)", zip(codes, cities, strict=True))
        conn.executemany(
            "INSERT INTO stock (qty, warehouse) VALUES (?, ?)",
            [(rng.randint(1, 500), rng.choice(codes)) for _ in range(500)],
        )
    plan = tmp_path / "plan.toml"
    run_phony("sync", "plan", "--source", f"sqlite:///{source}", "-o", str(plan), "--order", "3",
              check=True)  # fmt: skip
    target = _sync_with_one_and_two_jobs(plan, tmp_path, run_phony, seed=1, scale=3)
    with sqlite3.connect(target) as conn:
        fake = {r[0] for r in conn.execute("SELECT code FROM warehouses")}
        used = {r[0] for r in conn.execute("SELECT DISTINCT warehouse FROM stock")}
    assert len(fake) == 48
    assert used <= fake
    assert len(used) > 24
    assert not fake & set(codes)


@pytest.mark.slow
def test_ctrl_c_with_jobs_stops_the_workers_and_removes_their_spool(
    shop_plan: Path, tmp_path: Path
) -> None:
    target = tmp_path / "big.db"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    args = ["--plan", str(shop_plan), "--target", f"sqlite:///{target}", "--seed", "5"]
    err = _interrupt_after_first_table(
        [*args, "--scale", "60", "--jobs", "2"], env={"TMPDIR": str(scratch)}
    )
    assert "interrupted" in err
    assert list(scratch.iterdir()) == []
    with sqlite3.connect(target) as conn:
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in present:
            count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            assert count == round(ROWS[table] * 60), table
    assert len(present) < len(ROWS)


def test_a_foreign_key_of_two_columns_points_at_real_parent_rows(
    tmp_path: Path, run_phony: Any
) -> None:
    import random

    source = tmp_path / "shelves.db"
    rng = random.Random(2)
    with sqlite3.connect(source) as conn:
        conn.executescript(
            "CREATE TABLE shelves (warehouse VARCHAR(8) NOT NULL, number INTEGER NOT NULL,"
            " label TEXT, PRIMARY KEY (warehouse, number));"
            "CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL,"
            " warehouse VARCHAR(8) NOT NULL, shelf INTEGER NOT NULL,"
            " FOREIGN KEY (warehouse, shelf) REFERENCES shelves (warehouse, number));"
        )
        towns = ["Istanbul", "Izmir", "Ankara", "Bursa", "Berlin", "Hamburg", "Bremen", "Essen"]
        shelves = [(f"{t[:3].upper()}-{w}", n) for t in towns for w in (1, 2) for n in (1, 2, 3)]
        conn.executemany(
            "INSERT INTO shelves VALUES (?, ?, ?)",
            [(w, n, f"{w}/{n}") for w, n in shelves],
        )
        conn.executemany(
            "INSERT INTO items (qty, warehouse, shelf) VALUES (?, ?, ?)",
            [(rng.randint(1, 50), *rng.choice(shelves)) for _ in range(400)],
        )
    plan = tmp_path / "plan.toml"
    run_phony("sync", "plan", "--source", f"sqlite:///{source}", "-o", str(plan), "--order", "3",
              check=True)  # fmt: skip
    planned = _plan(plan)["tables"]["items"]["columns"]
    assert planned["warehouse"]["generate"]["type"] == "reference"
    assert planned["shelf"]["generate"]["via"] == "warehouse"
    target = _sync_with_one_and_two_jobs(plan, tmp_path, run_phony, seed=3, scale=2)
    with sqlite3.connect(target) as conn:
        fake = set(conn.execute("SELECT warehouse, number FROM shelves").fetchall())
        used = set(conn.execute("SELECT DISTINCT warehouse, shelf FROM items").fetchall())
    assert len(fake) == 2 * len(shelves)
    assert used <= fake
    assert len(used) > len(fake) // 2


def _small_source(path: Path, ddl: str = "") -> Path:
    """A SQLite file with one small table of names (and ``ddl`` run after it)."""
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER);" + ddl
        )
        names = ["Ayşe", "Jörg", "Mia", "Emre", "Lena", "Deniz", "Hans", "Elif", "Can", "Ute"]
        conn.executemany(
            "INSERT INTO people (name, age) VALUES (?, ?)",
            [
                (f"{names[i % 10]}{'ae'[i % 2]}{names[i * 7 % 10][:2]}", 20 + i % 50)
                for i in range(60)
            ],
        )
    return path


def test_a_hard_link_to_the_source_is_refused_as_a_target(tmp_path: Path, run_phony: Any) -> None:
    source = _small_source(tmp_path / "source.db")
    os.link(source, tmp_path / "hard.db")
    digest = _sha(source)
    result = run_phony(
        "sync", "--source", f"sqlite:///{source}", "--target", f"sqlite:///{tmp_path / 'hard.db'}",
        "--seed", "1", "--truncate", "--order", "3",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "never writes to its source" in result.stderr
    assert _sha(source) == digest


def test_a_target_file_that_is_not_a_database_gives_one_line(
    shop_plan: Path, tmp_path: Path, run_phony: Any
) -> None:
    target = tmp_path / "notdb.db"
    target.write_text("hello\n")
    for args in (
        ["sync", "--plan", str(shop_plan), "--target", f"sqlite:///{target}", "--seed", "1"],
        ["sync", "report", "--source", f"sqlite:///{target}", "--target", f"sqlite:///{target}"],
    ):
        result = run_phony(*args)
        assert result.returncode == 13, result.stderr
        assert result.stderr == f"error: cannot use sqlite:///{target}: file is not a database\n"
    assert target.read_text() == "hello\n"


def test_a_foreign_key_to_a_missing_table_is_planned_as_a_plain_column(
    tmp_path: Path, run_phony: Any
) -> None:
    source = _small_source(
        tmp_path / "source.db",
        "CREATE TABLE visits (id INTEGER PRIMARY KEY,"
        " ghost INTEGER REFERENCES missing_table(id), person INTEGER REFERENCES people(id));"
        "INSERT INTO visits (ghost, person) VALUES (1, 1), (2, 2), (3, 2), (NULL, 3);",
    )
    plan = tmp_path / "plan.toml"
    result = run_phony(
        "sync", "plan", "--source", f"sqlite:///{source}", "-o", str(plan), "--order", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    visits = _plan(plan)["tables"]["visits"]
    assert visits["foreign_keys"] == [
        {"columns": ["person"], "table": "people", "references": ["id"]}
    ]
    assert visits["columns"]["ghost"]["generate"]["type"] != "reference"
    assert "missing_table" in visits["columns"]["ghost"]["why"]
    target = tmp_path / "copy.db"
    run_phony("sync", "--plan", str(plan), "--target", f"sqlite:///{target}", "--seed", "1",
              check=True)  # fmt: skip
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM visits").fetchone()[0] == 4
        conn.execute("PRAGMA foreign_keys = ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    report = run_phony(
        "sync", "report", "--source", f"sqlite:///{source}", "--target", f"sqlite:///{target}"
    )
    assert report.returncode == 0, report.stderr


_SIZED_UNIQUE = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(80) UNIQUE, nick TEXT);"
    "CREATE TABLE books (id INTEGER PRIMARY KEY, isbn CHAR(13) UNIQUE NOT NULL, title TEXT);"
    "CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(20) NOT NULL);"
    "CREATE UNIQUE INDEX tags_label ON tags (label);"
)


def test_unique_on_a_sized_column_is_found_kept_and_held(tmp_path: Path, run_phony: Any) -> None:
    import random

    rng = random.Random(5)
    source = tmp_path / "source.db"
    names = ["ali", "veli", "ayse", "fatma", "hans", "jorg", "mia", "lena", "can", "deniz"]
    with sqlite3.connect(source) as conn:
        conn.executescript(_SIZED_UNIQUE)
        for i in range(400):
            conn.execute(
                "INSERT INTO users (email, nick) VALUES (?, ?)",
                (f"{rng.choice(names)}{i}@mail.com", rng.choice(names)),
            )
            conn.execute(
                "INSERT INTO books (isbn, title) VALUES (?, ?)",
                (f"97860{rng.randint(10**7, 10**8 - 1)}", f"{rng.choice(names)} {i}"),
            )
            conn.execute("INSERT INTO tags (label) VALUES (?)", (f"{rng.choice(names)}-{i}",))
    plan = tmp_path / "plan.toml"
    run_phony("sync", "plan", "--source", f"sqlite:///{source}", "-o", str(plan), "--order", "2",
              check=True)  # fmt: skip
    tables = _plan(plan)["tables"]
    assert tables["users"]["unique"] == [["email"]]
    assert tables["books"]["unique"] == [["isbn"]]
    assert tables["tags"]["unique"] == [["label"]]
    # A target created by phony, and one created from the source's own DDL.
    ddl_target = tmp_path / "ddl.db"
    with sqlite3.connect(ddl_target) as conn:
        conn.executescript(_SIZED_UNIQUE)
    for target in (tmp_path / "copy.db", ddl_target):
        url = f"sqlite:///{target}"
        run_phony("sync", "--plan", str(plan), "--target", url, "--seed", "3", "--scale", "2",
                  check=True)  # fmt: skip
        with sqlite3.connect(target) as conn:
            for table, column in (("users", "email"), ("books", "isbn"), ("tags", "label")):
                count, distinct = conn.execute(
                    f'SELECT count("{column}"), count(DISTINCT "{column}") FROM "{table}"'  # noqa: S608
                ).fetchone()
                assert count == distinct > 700, (table, column)
                unique = [r for r in conn.execute(f'PRAGMA index_list("{table}")') if r[2]]
                assert unique, table  # the target keeps the UNIQUE
        report = run_phony(
            "sync", "report", "--source", f"sqlite:///{source}", "--target", url, "--json"
        )
        assert report.returncode == 0, report.stdout
        checked = {
            (c["table"], tuple(c["columns"]))
            for c in json.loads(report.stdout)["constraints"]
            if c["kind"] == "unique"
        }
        assert {("users", ("email",)), ("books", ("isbn",)), ("tags", ("label",))} <= checked


def test_text_that_is_not_json_in_a_json_column_is_left_out(tmp_path: Path, run_phony: Any) -> None:
    # SQLite's JSON is only a name: the column keeps any text. Most of ``doc`` is JSON
    # objects, with a few texts that are not JSON (NaN is not JSON either), other JSON
    # documents and NULLs; most of ``note`` is not JSON at all.
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    bad = ["{not json", "", '{"n": NaN}', "[1, 2"]
    others = ["[1, 2]", "5", '"word"', "null", None]
    docs: list[str | None] = [json.dumps({"n": i % 7, "kind": f"k-{i % 5}"}) for i in range(300)]
    docs[10:10] = bad
    docs[100:100] = others
    notes = [f"{words[i % 8]} {words[i // 8 % 8]}" for i in range(len(docs))]
    notes[::20] = [json.dumps({"n": i}) for i in range(len(notes[::20]))]
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, doc JSON, note JSON)")
        conn.executemany(
            "INSERT INTO events (doc, note) VALUES (?, ?)", zip(docs, notes, strict=True)
        )
    plan = tmp_path / "plan.toml"
    result = run_phony("sync", "plan", "--source", f"sqlite:///{source}", "-o", str(plan),
                       "--order", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    columns = _plan(plan)["tables"]["events"]["columns"]
    doc = columns["doc"]
    assert doc["sql_type"] == "json"
    assert doc["generate"]["type"] == "template"
    assert {"doc__n", "doc__kind"} <= set(columns)
    assert "values of the sample that are not JSON (4 of 308) are left out" in doc["why"]
    note = columns["note"]
    assert note["sql_type"] == "text"
    assert note["generate"]["type"] == "ngram"
    assert "most values of the sample are not JSON (293 of 309): planned as text" in note["why"]
    target = tmp_path / "copy.db"
    run_phony("sync", "--plan", str(plan), "--target", f"sqlite:///{target}", "--seed", "1",
              check=True)  # fmt: skip
    with sqlite3.connect(target) as conn:
        rows = conn.execute("SELECT doc, note FROM events").fetchall()
    assert len(rows) == len(docs)
    written = [json.loads(d) for d, _ in rows if d is not None]  # every document is JSON
    assert all(set(d) == {"n", "kind"} for d in written)
    assert all(isinstance(n, str) for _, n in rows if n is not None)
    report = run_phony("sync", "report", "--source", f"sqlite:///{source}", "--target",
                       f"sqlite:///{target}", "--plan", str(plan), "--json")  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert {c["column"] for c in json.loads(report.stdout)["columns"]} >= {"doc", "note"}
    # In one go too.
    again = tmp_path / "again.db"
    result = run_phony("sync", "--source", f"sqlite:///{source}", "--target",
                       f"sqlite:///{again}", "--seed", "1", "--order", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_one_table_is_counted_in_the_singular(tmp_path: Path, run_phony: Any) -> None:
    import sqlite3

    source = tmp_path / "one.db"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO people (name) VALUES ('Ada')")
    plan = tmp_path / "p.toml"
    made = run_phony("sync", "plan", "--source", f"sqlite:///{source}", "-o", str(plan))
    assert made.returncode == 0, made.stderr
    assert f"wrote {plan}: 1 table, models in" in made.stderr
    target = f"sqlite:///{tmp_path / 'dst.db'}"
    filled = run_phony("sync", "--plan", str(plan), "--target", target, "--seed", "1")
    assert filled.returncode == 0, filled.stderr
    assert "  people: 1 row\n" in filled.stderr
    assert "filled 1 table: 1 row in " in filled.stderr
