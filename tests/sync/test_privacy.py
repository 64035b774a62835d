"""phony sync's core promise, checked on the values written: no real source value reaches
the target, whatever made the column (a model, the de-duplication of a UNIQUE column,
a frequency table, binary or JSON data)."""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _plan_and_sync(source: Path, tmp_path: Path, run_phony: Any, *extra: str) -> Path:
    """Plan ``source``, sync it into a new file with seed 1; the target's path."""
    plan = tmp_path / "plan.toml"
    run_phony("sync", "plan", "--source", f"sqlite:///{source}", "-o", str(plan), "--order", "3",
              check=True)  # fmt: skip
    target = tmp_path / "copy.db"
    run_phony("sync", "--plan", str(plan), "--target", f"sqlite:///{target}", "--seed", "1",
              *extra, check=True)  # fmt: skip
    return target


def _column(path: Path, table: str, column: str) -> list[Any]:
    with sqlite3.connect(path) as conn:
        sql = f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'  # noqa: S608
        return [r[0] for r in conn.execute(sql)]


def test_the_unique_counter_never_makes_a_source_value(tmp_path: Path, run_phony: Any) -> None:
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.executescript(
            "CREATE TABLE emp (id INTEGER PRIMARY KEY, code TEXT NOT NULL);"
            "CREATE UNIQUE INDEX emp_code ON emp (code);"
        )
        # One code longer than the others: no code pattern, a model and a counter for repeats.
        conn.executemany(
            "INSERT INTO emp (code) VALUES (?)",
            [(f"E{i:04d}",) for i in range(1, 300)] + [("E00300",)],
        )
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "2")
    real = set(_column(source, "emp", "code"))
    fake = _column(target, "emp", "code")
    assert len(fake) == len(set(fake)) == 600
    assert not set(fake) & real, sorted(set(fake) & real)[:10]
    plan = tomllib.loads((tmp_path / "plan.toml").read_text(encoding="utf-8"))
    assert plan["tables"]["emp"]["columns"]["code"]["generate"]["type"] == "ngram"


_NAMES = [
    "Ayşe", "Jörg", "Mia", "Emre", "Lena", "Deniz", "Hans", "Elif", "Can", "Ute", "Selin",
    "Klaus", "Merve", "Anja", "Burak", "Heike", "Zeynep", "Lukas", "Ebru", "Jonas", "Derya",
    "Greta", "Kerem", "Sabine", "Oğuz",
]  # fmt: skip


def test_a_frequency_table_copies_no_rare_value(tmp_path: Path, run_phony: Any) -> None:
    source = tmp_path / "source.db"
    notes = ["password is hunter2"] + ["ssn 078-05-1120"] * 3 + ["call back"] * 60 + ["ok"] * 136
    with sqlite3.connect(source) as conn:
        conn.execute(
            "CREATE TABLE secrets (id INTEGER PRIMARY KEY, note TEXT, code VARCHAR(2),"
            " status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'held')), floor INTEGER,"
            " name TEXT)"
        )
        conn.executemany(
            "INSERT INTO secrets (note, code, status, floor, name) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    note,
                    "XY" if i == 7 else "AB"[i % 2] * 2,
                    "held" if i == 3 else ("open", "closed")[i % 2],
                    1999 if i == 11 else i % 4,
                    _NAMES[i % len(_NAMES)],  # 25 names, 8 rows each: none a category
                )
                for i, note in enumerate(notes)
            ],
        )
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "5")
    plan = tomllib.loads((tmp_path / "plan.toml").read_text(encoding="utf-8"))
    with sqlite3.connect(source) as conn:
        counts = {
            column: dict(conn.execute(f'SELECT "{column}", count(*) FROM secrets GROUP BY 1'))  # noqa: S608
            for column in ("note", "code", "status", "floor", "name")
        }
    for column in ("note", "code", "name"):
        fake = set(_column(target, "secrets", column))
        rare = {v for v, n in counts[column].items() if n < 10}
        assert fake, column
        assert not fake & rare, (column, fake & rare)
    assert {"call back", "ok"} <= set(_column(target, "secrets", "note"))  # genuine categories
    assert set(_column(target, "secrets", "status")) == {"open", "closed", "held"}  # the CHECK
    columns = plan["tables"]["secrets"]["columns"]
    assert columns["name"]["generate"]["type"] == "ngram"
    assert "10 rows" in columns["note"]["why"]
    # A number held by one row (1999) makes no frequency table: a histogram, as for numbers.
    assert columns["floor"]["generate"]["type"] == "histogram"


def test_bytes_json_and_times_are_generated_not_copied(tmp_path: Path, run_phony: Any) -> None:
    import json
    import random

    rng = random.Random(4)
    source = tmp_path / "source.db"
    rows = [
        (
            rng.randbytes(rng.choice([4, 16, 16, 32])),
            json.dumps(
                {"user": rng.choice(["alice", "bob"]), "n": i % 3, "ok": i % 4 == 0, "tags": []}
            ),
            f"{rng.randint(8, 17):02d}:{rng.choice([0, 30]):02d}:00",
        )
        for i in range(300)
    ]
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, data BLOB, doc JSON, at TIME)")
        conn.executemany("INSERT INTO things (data, doc, at) VALUES (?, ?, ?)", rows)
    target = _plan_and_sync(source, tmp_path, run_phony)
    data = _column(target, "things", "data")
    docs = [json.loads(d) for d in _column(target, "things", "doc")]
    times = _column(target, "things", "at")
    assert len(data) == len(docs) == len(times) == 300
    # Bytes: random, with the source's lengths, none a source value.
    assert all(isinstance(d, bytes) for d in data)
    assert {len(d) for d in data} <= {4, 16, 32}
    assert len(set(data)) > 250
    assert not set(data) & {r[0] for r in rows}
    # JSON: the source's keys, no leaf value of the source.
    real_leaves = {"alice", "bob"}
    assert all(set(d) == {"user", "n", "ok", "tags"} for d in docs)
    assert not {d["user"] for d in docs} & real_leaves
    assert {type(d["n"]) for d in docs} == {int}
    assert {d["ok"] for d in docs} == {True, False}
    # TIME: times of day within the source's hours, many of them new.
    assert all("08:00:00" <= t <= "17:59:59" for t in times)
    assert len(set(times) - {r[2] for r in rows}) > 200
    # Deterministic from the seed, whatever --jobs says.
    again = tmp_path / "again.db"
    run_phony("sync", "--plan", str(tmp_path / "plan.toml"), "--target", f"sqlite:///{again}",
              "--seed", "1", "--jobs", "2", check=True)  # fmt: skip
    assert _column(again, "things", "data") == data
    assert [json.loads(d) for d in _column(again, "things", "doc")] == docs
    assert _column(again, "things", "at") == times


def _rare(path: Path, table: str, column: str) -> set[Any]:
    """The values of ``column`` fewer than 10 rows of the source hold."""
    with sqlite3.connect(path) as conn:
        sql = f'SELECT "{column}" FROM "{table}" GROUP BY 1 HAVING count(*) < 10'  # noqa: S608
        return {r[0] for r in conn.execute(sql)}


def test_histograms_write_no_rare_number_or_date(tmp_path: Path, run_phony: Any) -> None:
    # 190 rows share two amounts and two days; ten rows each hold their own.
    source = tmp_path / "source.db"
    rows = [((5, 7)[i % 2], ("2020-01-01", "2021-06-15")[i % 2]) for i in range(190)]
    rows += [(123647 + i, f"1987-06-{i + 1:02d}") for i in range(10)]
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, amount INTEGER, day DATE)")
        conn.executemany("INSERT INTO t (amount, day) VALUES (?, ?)", rows)
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "5")
    plan = tomllib.loads((tmp_path / "plan.toml").read_text(encoding="utf-8"))
    columns = plan["tables"]["t"]["columns"]
    for column in ("amount", "day"):
        rare = _rare(source, "t", column)
        fake = _column(target, "t", column)
        assert len(fake) == 1000, column
        assert not set(fake) & rare, (column, sorted(set(fake) & rare))
        assert not set(columns[column]["generate"]["quantiles"]) & rare, column
    # The common values still come out, and the rare tail still has its share.
    amounts = _column(target, "t", "amount")
    assert {5, 7} <= set(amounts)
    assert 10 <= sum(a > 1000 for a in amounts) <= 150


def test_histograms_avoid_every_value_of_a_column_of_unique_values(
    tmp_path: Path, run_phony: Any
) -> None:
    import datetime as dt
    import random

    rng = random.Random(7)
    salaries = rng.sample(range(30_000, 40_001), 300)
    born = rng.sample(range(730), 300)
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE staff (id INTEGER PRIMARY KEY, salary INTEGER, born DATE)")
        conn.executemany(
            "INSERT INTO staff (salary, born) VALUES (?, ?)",
            [
                (s, (dt.date(1980, 1, 1) + dt.timedelta(days=d)).isoformat())
                for s, d in zip(salaries, born, strict=True)
            ],
        )
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "5")
    for column in ("salary", "born"):
        real = set(_column(source, "staff", column))
        fake = _column(target, "staff", column)
        assert len(fake) == 1500
        assert not set(fake) & real, (column, sorted(set(fake) & real)[:5])
    fake_salaries = _column(target, "staff", "salary")
    assert min(fake_salaries) >= 29_000
    assert max(fake_salaries) <= 41_000


def test_codes_and_iso_dates_in_text_keep_their_shape(tmp_path: Path, run_phony: Any) -> None:
    import datetime as dt
    import re

    source = tmp_path / "source.db"
    rows = [
        (f"{i % 99 + 1:02d}", f"E{i * 7 % 1000:03d}", f"2019-{i % 12 + 1:02d}-{i % 28 + 1:02d}")
        for i in range(250)
    ]
    with sqlite3.connect(source) as conn:
        conn.execute(
            "CREATE TABLE codes (id INTEGER PRIMARY KEY, code CHAR(2), ref TEXT, day TEXT)"
        )
        conn.executemany("INSERT INTO codes (code, ref, day) VALUES (?, ?, ?)", rows)
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "2")
    plan = tomllib.loads((tmp_path / "plan.toml").read_text(encoding="utf-8"))
    columns = plan["tables"]["codes"]["columns"]
    for column, shape in (("code", r"\d\d"), ("ref", r"E\d\d\d"), ("day", r"\d{4}-\d\d-\d\d")):
        fake = _column(target, "codes", column)
        assert len(fake) == 500, column
        assert all(re.fullmatch(shape, v) for v in fake), (column, fake[:10])
        assert not set(fake) & _rare(source, "codes", column), column
    # Only 00 of the two-digit codes is no source value; the three-digit refs have room.
    assert set(_column(target, "codes", "code")) == {"00"}
    assert len(set(_column(target, "codes", "ref"))) > 300
    days = [dt.date.fromisoformat(v) for v in _column(target, "codes", "day")]
    assert min(days) >= dt.date(2018, 12, 1)
    assert max(days) <= dt.date(2020, 1, 1)
    assert len(set(days)) > 100
    assert columns["day"]["generate"]["type"] == "histogram"
    assert columns["ref"]["generate"]["type"] == "template"


def test_unique_integers_count_from_above_the_source(tmp_path: Path, run_phony: Any) -> None:
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE staff (id INTEGER PRIMARY KEY, badge INTEGER UNIQUE)")
        conn.executemany("INSERT INTO staff (badge) VALUES (?)", [(1000 + i,) for i in range(300)])
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "2")
    fake = _column(target, "staff", "badge")
    assert len(fake) == len(set(fake)) == 600
    assert not set(fake) & set(_column(source, "staff", "badge"))
    assert min(fake) == 1300


def test_json_numbers_write_no_rare_value(tmp_path: Path, run_phony: Any) -> None:
    import json
    import random

    rng = random.Random(5)
    amounts = rng.sample(range(1000, 3000), 300)  # each one document's
    prices = [round(rng.uniform(1, 50), 2) for _ in amounts]
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, doc JSON)")
        conn.executemany(
            "INSERT INTO orders (doc) VALUES (?)",
            [
                (json.dumps({"amount": a, "price": p, "qty": i % 3}),)
                for i, (a, p) in enumerate(zip(amounts, prices, strict=True))
            ],
        )
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "5")
    docs = [json.loads(d) for d in _column(target, "orders", "doc")]
    assert len(docs) == 1500
    fake_amounts = [d["amount"] for d in docs]
    fake_prices = [d["price"] for d in docs]
    assert not set(fake_amounts) & set(amounts), sorted(set(fake_amounts) & set(amounts))[:5]
    assert not set(fake_prices) & set(prices), sorted(set(fake_prices) & set(prices))[:5]
    # The shape holds: amounts stay near the source's, and the common quantities come out.
    assert min(fake_amounts) >= 900
    assert max(fake_amounts) <= 3100
    assert len(set(fake_amounts)) > 500
    assert {d["qty"] for d in docs} == {0, 1, 2}


def test_placeholders_of_short_columns_are_no_source_value(tmp_path: Path, run_phony: Any) -> None:
    # Too short for "column-" placeholders: bare numbers, which the source holds too,
    # some of them only past the rows a plan samples.
    from phony_client.sync.introspect import SAMPLE_ROWS

    source = tmp_path / "source.db"
    rows = [
        (
            str(i % 60 + 1),  # "1" ... "60", five rows each: too little variety for a model
            "ok" if i % 3 else str(i // 3 % 20 + 1),  # a category, with rare "1" ... "20"
            str(i % 99 + 1),  # every number that fits
            str(i % 99 + 1),  # the same, and "ab" in most rows
        )
        for i in range(300)
    ]
    rows += [("ab", "ok", None, "ab")] * (SAMPLE_ROWS - len(rows))
    rows += [(str(n), str(n), None, "ab") for n in range(8, 81)]  # seen by no sample
    with sqlite3.connect(source) as conn:
        conn.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, short VARCHAR(2), flag VARCHAR(2),"
            " full VARCHAR(2), mixed VARCHAR(2))"
        )
        conn.executemany("INSERT INTO t (short, flag, full, mixed) VALUES (?, ?, ?, ?)", rows)
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "0.01")
    for column in ("short", "flag"):
        real = set(_column(source, "t", column)) - {"ab", "ok"}
        fake = _column(target, "t", column)
        assert len(fake) == 1001, column
        assert not set(fake) & real, (column, sorted(set(fake) & real)[:10])
        assert all(len(v) <= 2 for v in fake), column
    assert "ok" in _column(target, "t", "flag")
    assert set(_column(target, "t", "short")) <= {str(n) for n in range(81, 100)}
    # No number that fits is free: the common values, or NULL, rather than a real value.
    assert _column(target, "t", "full") == []
    assert set(_column(target, "t", "mixed")) == {"ab"}
    plan = tomllib.loads((tmp_path / "plan.toml").read_text(encoding="utf-8"))
    assert "NULL" in plan["tables"]["t"]["columns"]["full"]["why"]


def test_unique_codes_keep_their_shape(tmp_path: Path, run_phony: Any) -> None:
    import re

    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute(
            "CREATE TABLE emp (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE,"
            " badge CHAR(6) UNIQUE)"
        )
        conn.executemany(
            "INSERT INTO emp (code, badge) VALUES (?, ?)",
            [(f"E{i:04d}", f"AB{i * 13 % 10000:04d}") for i in range(1, 301)],
        )
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "2")
    plan = tomllib.loads((tmp_path / "plan.toml").read_text(encoding="utf-8"))
    for column, shape in (("code", r"E0\d{3}"), ("badge", r"AB\d{4}")):
        real = set(_column(source, "emp", column))
        fake = _column(target, "emp", column)
        assert len(fake) == len(set(fake)) == 600, column
        assert not set(fake) & real, (column, sorted(set(fake) & real)[:10])
        assert [v for v in fake if not re.fullmatch(shape, v)] == [], column
        assert plan["tables"]["emp"]["columns"][column]["generate"]["type"] == "template"
    # More rows than free codes: one line saying so, no table half-filled.
    crowded = tmp_path / "crowded.db"
    result = run_phony("sync", "--plan", str(tmp_path / "plan.toml"), "--target",
                       f"sqlite:///{crowded}", "--seed", "1", "--scale", "5")  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "more rows than the codes of code (1000, less the source's) allow" in result.stderr


@pytest.mark.parametrize(
    ("sql_type", "spell", "planned"),
    [("VARCHAR(2)", "{:02d}", "template"), ("INTEGER", "{}", "histogram")],
    ids=["code", "number"],
)
def test_rare_values_past_the_sample_are_kept_out_too(
    tmp_path: Path, run_phony: Any, sql_type: str, spell: str, planned: str
) -> None:
    from phony_client.sync.introspect import SAMPLE_ROWS

    # The sample holds 0 to 49 but 33, each in thousands of rows; past it, one row
    # holds 33: a rare value drawn once in fifty.
    values = [spell.format(i) for i in range(50) if i != 33]
    rows = [(values[i % len(values)],) for i in range(SAMPLE_ROWS)] + [(spell.format(33),)]
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {sql_type})")
        conn.executemany("INSERT INTO t (v) VALUES (?)", rows)
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "0.02")
    plan = tomllib.loads((tmp_path / "plan.toml").read_text(encoding="utf-8"))
    assert plan["tables"]["t"]["columns"]["v"]["generate"]["type"] == planned
    fake = [str(v) for v in _column(target, "t", "v")]
    assert len(fake) == 2000
    assert spell.format(33) not in fake
    assert set(fake) <= {spell.format(i) for i in range(50)}


def test_json_string_placeholders_are_no_source_value(tmp_path: Path, run_phony: Any) -> None:
    import json

    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, doc JSON)")
        conn.executemany(
            "INSERT INTO u (doc) VALUES (?)",
            [(json.dumps({"tag": f"tag-{i % 40 + 1}"}),) for i in range(300)],
        )
    target = _plan_and_sync(source, tmp_path, run_phony)
    tags = [json.loads(d)["tag"] for d in _column(target, "u", "doc")]
    assert len(tags) == 300
    assert not set(tags) & {f"tag-{n}" for n in range(1, 41)}
    assert all(t.startswith("tag-") for t in tags)


def test_json_values_past_the_sample_are_kept_out_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from phony_client.sync import introspect
    from phony_client.sync.run import SyncOptions, sync

    monkeypatch.setattr(introspect, "SAMPLE_ROWS", 1000)
    # In the sample: "n" holds 0 to 49 but 33, each in twenty documents, and "ref" is
    # one document's "ref-1" to "ref-1000". Past it, one document holds "n": 33, and
    # each of the next 200 its own "ref-1001" to "ref-1200".
    numbers = [i for i in range(50) if i != 33]
    docs = [{"n": numbers[i % len(numbers)], "ref": f"ref-{i + 1}"} for i in range(1000)]
    docs += [{"n": 33 if i == 0 else numbers[i % len(numbers)], "ref": f"ref-{1001 + i}"}
             for i in range(200)]  # fmt: skip
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON)")
        conn.executemany("INSERT INTO t (doc) VALUES (?)", [(json.dumps(d),) for d in docs])
    plan = introspect.make_plan(f"sqlite:///{source}", tmp_path / "models", tmp_path, order=3)
    target = tmp_path / "copy.db"
    sync(plan, f"sqlite:///{target}", SyncOptions(seed=1, scale=2))
    fake = [json.loads(d) for d in _column(target, "t", "doc")]
    assert len(fake) == 2400
    fake_numbers = [d["n"] for d in fake]
    fake_refs = {d["ref"] for d in fake}
    assert 33 not in fake_numbers
    assert set(fake_numbers) <= set(numbers)
    leaked = fake_refs & {d["ref"] for d in docs}
    assert not leaked, sorted(leaked)[:5]
    assert all(r.startswith("ref-") for r in fake_refs)


def test_numbered_addresses_are_no_source_address(tmp_path: Path, run_phony: Any) -> None:
    # Local parts too few to learn from: numbered example.com addresses, as the source's.
    source = tmp_path / "source.db"
    real = [f"user{i % 60 + 1}@example.com" for i in range(300)]
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT)")
        conn.executemany("INSERT INTO u (email) VALUES (?)", [(e,) for e in real])
    target = _plan_and_sync(source, tmp_path, run_phony)
    fake = _column(target, "u", "email")
    assert len(fake) == 300
    assert not set(fake) & set(real), sorted(set(fake) & set(real))[:5]
    assert all(e.endswith("@example.com") for e in fake)


def test_text_cut_to_its_column_is_no_source_value(tmp_path: Path, run_phony: Any) -> None:
    import random

    # SQLite keeps text longer than its column says; the sync cuts what it writes to the
    # column's length, and a generated "annacarl" cut to 5 is the source's "annac".
    rng = random.Random(1)
    names = ["anna", "bert", "carl", "dora", "emil", "fritz", "gina", "hans", "ida", "jan"]
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, w VARCHAR(5))")
        conn.executemany(
            "INSERT INTO t (w) VALUES (?)",
            [(rng.choice(names) + rng.choice(names)[: rng.randint(0, 3)],) for _ in range(600)],
        )
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "5")
    fake = _column(target, "t", "w")
    assert len(fake) == 3000
    assert all(len(v) <= 5 for v in fake)
    assert not set(fake) & _rare(source, "t", "w"), sorted(set(fake) & _rare(source, "t", "w"))


def test_unique_short_text_takes_each_free_placeholder_once(tmp_path: Path, run_phony: Any) -> None:
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR(3) UNIQUE)")
        conn.executemany("INSERT INTO t (s) VALUES (?)", [(str(i),) for i in range(1, 301)])
    target = _plan_and_sync(source, tmp_path, run_phony, "--scale", "2")
    fake = _column(target, "t", "s")
    assert len(fake) == len(set(fake)) == 600
    assert set(fake) <= {str(n) for n in range(301, 1000)}
