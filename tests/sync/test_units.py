"""The pieces of phony sync without a database: COPY text, fitted columns, order, uniqueness."""

from __future__ import annotations

from pathlib import Path

import pytest

from phony_client.sync import engine as gen
from phony_client.sync.plan import ColumnPlan, ForeignKey, Plan, TablePlan, dump_plan, parse_plan
from phony_client.sync.target import copy_text
from phony_registry.errors import ValidationError
from phony_registry.schema import generate_table, parse_schema


def test_copy_text_escapes_what_postgresql_would_misread() -> None:
    data = copy_text([["a", None, "b\\c", "t\tx", "\\N", "l\nm"], ["1", "2", None, "4", "5", "6"]])
    assert data.decode().split("\n") == [
        "a\t1", "\\N\t2", "b\\\\c\t\\N", "t\\tx\t4", "\\\\N\t5", "l\\nm\t6", "",
    ]  # fmt: skip
    assert copy_text([["x", None]]) == b"x\n\\N\n"


def _rows(columns: dict[str, dict[str, object]], count: int, seed: int = 1) -> list[list[str]]:
    schema = parse_schema({"columns": columns})
    out: list[list[str]] = []
    for batch in generate_table(schema, count, seed, batch_size=7):
        out.extend(map(list, zip(*batch, strict=True)))
    return out


def test_histogram_stays_within_the_quantiles_whatever_the_batch_size() -> None:
    columns: dict[str, dict[str, object]] = {
        "price": {"type": "histogram", "quantiles": [-5.5, 0, 10.25, 99.99], "decimals": 2},
        "day": {"type": "histogram", "quantiles": ["2001-01-01", "2001-03-01"]},
    }
    rows = _rows(columns, 500)
    prices = [float(r[0]) for r in rows]
    assert min(prices) >= -5.5
    assert max(prices) <= 99.99
    assert any(p < 0 for p in prices)
    assert all("2001-01-01" <= r[1] <= "2001-03-01" for r in rows)
    whole = list(map(list, zip(*next(generate_table(parse_schema({"columns": columns}), 500, 1)),
                               strict=True)))  # fmt: skip
    assert whole == rows


def test_reference_fanout_follows_the_measured_counts() -> None:
    fanout = [[0, 50], [1, 30], [5, 16], [40, 4]]  # 100 parents, 270 children
    rows = _rows({"p": {"type": "reference", "table": "t", "rows": 100, "fanout": fanout}}, 270)
    counts: dict[str, int] = {}
    for (parent,) in rows:
        counts[parent] = counts.get(parent, 0) + 1
    assert all(1 <= int(p) <= 100 for p in counts)
    table: dict[int, int] = {}
    for n in counts.values():
        table[n] = table.get(n, 0) + 1
    assert table == {1: 30, 5: 16, 40: 4}  # exactly as measured, at the measured size
    assert [r[0] for r in rows[:40]].count(rows[0][0]) < 40  # children are shuffled
    unique = _rows({"p": {"type": "reference", "table": "t", "rows": 50, "unique": True}}, 50)
    assert sorted(int(r[0]) for r in unique) == list(range(1, 51))


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"quantiles": [3, 1]}, "columns.x.quantiles"),
        ({"quantiles": [1, "2001-01-01"]}, "columns.x.quantiles"),
        ({"quantiles": []}, "columns.x.quantiles"),
    ],
    ids=["decreasing", "mixed", "empty"],
)
def test_bad_histograms_name_the_field(args: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_schema({"columns": {"x": {"type": "histogram", **args}}})
    assert info.value.field == field


def _table(name: str, fks: list[tuple[str, str, bool]]) -> TablePlan:
    columns = [ColumnPlan("id", {"type": "sequence"}, "integer", nullable=False)]
    for column, parent, nullable in fks:
        columns.append(
            ColumnPlan(column, {"type": "reference", "table": parent}, "integer", nullable=nullable)
        )
    return TablePlan(
        name,
        10,
        columns,
        primary_key=["id"],
        foreign_keys=[ForeignKey([c], p, ["id"]) for c, p, _ in fks],
    )


def test_load_order_puts_parents_first_and_defers_nullable_cycle_keys() -> None:
    plan = Plan(
        {
            "items": _table("items", [("order_id", "orders", False)]),
            "orders": _table("orders", [("staff_id", "staff", True)]),
            "staff": _table("staff", [("team_id", "teams", False), ("boss_id", "staff", True)]),
            "teams": _table("teams", [("lead_id", "staff", True)]),
        }
    )
    units, deferred = gen.load_order(plan, list(plan.tables))
    flat = [n for unit in units for n in unit]
    assert flat.index("orders") < flat.index("items")
    assert ["staff", "teams"] in [sorted(u) for u in units]
    assert deferred == {("teams", "lead_id"), ("staff", "boss_id")}
    plan.tables["teams"].columns[1].nullable = False
    with pytest.raises(ValidationError, match="NOT NULL foreign keys only"):
        gen.load_order(plan, list(plan.tables))


def test_unique_redraw_uses_a_counter_and_respects_the_length() -> None:
    column = ColumnPlan("email", {"type": "template"}, "varchar(12)")
    table = TablePlan("t", 4, [column], unique=[["email"]])
    run = gen.TableRun(table, 4, parse_schema({"columns": {"x": {"type": "sequence"}}}))
    out: gen.Batch = [["ali@x.org", "ali@x.org", "ali@x.org", "ali2@x.org"]]
    unique = gen._Unique((0,), set())
    gen._make_unique(out, unique, [column], run)
    # The fourth value's own counter starts from it: ali2 is taken, so ali22.
    assert out[0] == ["ali@x.org", "ali2@x.org", "ali3@x.org", "ali22@x.org"]
    long = [["abcdefgh@x.org"[:12]] * 3]
    gen._make_unique(long, gen._Unique((0,), set()), [column], run)
    assert len(set(long[0])) == 3
    assert all(len(v or "") <= 12 for v in long[0])


def test_plan_round_trips_through_toml() -> None:
    import tomllib

    plan = Plan({"t": _table("t", [("p", "t", True)])}, source="sqlite:///x.db")
    plan.tables["t"].columns[1].null_ratio = 0.25
    again = parse_plan(tomllib.loads(dump_plan(plan)))
    assert dump_plan(again) == dump_plan(plan)
    data = tomllib.loads(dump_plan(plan))
    data["tables"]["t"]["columns"]["p"]["null_ratio"] = 2
    with pytest.raises(ValidationError, match=r"tables\.t\.columns\.p\.null_ratio"):
        parse_plan(data)


def test_without_the_sync_extra_one_line_names_it() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "from phony_client.cli import main\n"
        "sys.exit(main(['sync', 'plan', '--source', 'sqlite:///x.db']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr == (
        "error: phony sync needs SQLAlchemy and psycopg: pip install 'phony[sync]'\n"
    )


def test_a_schema_file_without_columns_is_refused_naming_the_file(
    tmp_path: Path,
) -> None:
    from phony_client.sync.schemas import plan_from_schemas

    path = tmp_path / "users.toml"
    path.write_text("[columns]\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"users.toml: a schema needs at least one \[columns"):
        plan_from_schemas([path], 10)


@pytest.mark.parametrize(
    ("decimals", "listed", "drawn", "written"),
    [
        (2, ["-0.01", "0.00"], "-0.01", "0.01"),
        (0, ["41", "42"], "41", "43"),
        (0, ["1987-06-30", "1987-07-01"], "1987-06-30", "1987-07-02"),
        (0, ["2020-01-01 23:59:59"], "2020-01-01 23:59:59", "2020-01-02 00:00:00"),
    ],
    ids=["decimals", "integers", "dates", "timestamps"],
)
def test_a_drawn_rare_value_moves_to_the_next_value_up(
    decimals: int, listed: list[str], drawn: str, written: str
) -> None:
    from phony_client.sync.guard import Guard, avoid_spec

    spec = avoid_spec(listed)
    generate = {"type": "histogram", "quantiles": [0, 1], "decimals": decimals}
    guard = Guard(spec, generate, "avoid")
    values: list[str | None] = [drawn, None, written]
    guard.apply(values)
    assert values == [written, None, written]


def test_the_guard_lists_source_values_as_the_histogram_writes_them() -> None:
    import datetime as dt
    from decimal import Decimal

    from phony_client.sync.guard import histogram_text

    assert histogram_text(Decimal("-0.01"), 2, "numeric(8,2)") == "-0.01"
    assert histogram_text(7.5, 2, "double") == "7.50"
    assert histogram_text(41, 0, "integer") == "41"
    assert histogram_text(dt.date(1987, 6, 30), 0, "date") == "1987-06-30"
    assert histogram_text("1987-06-30", 0, "date") == "1987-06-30"
    moment = dt.datetime(2020, 1, 1, 23, 59, 59, tzinfo=dt.UTC)
    assert histogram_text(moment, 0, "timestamptz") == "2020-01-01 23:59:59"
    # Values the column cannot write exactly need no listing.
    assert histogram_text(0.125, 2, "double") is None
    assert histogram_text(dt.datetime(2020, 1, 1, 0, 0, 0, 5), 0, "timestamp") is None


def test_a_drawn_rare_code_moves_to_the_next_free_code_and_fails_when_none_is() -> None:
    from phony_client.sync.guard import Guard, avoid_spec
    from phony_registry.errors import GenerationError

    codes = {"type": "template", "template": "", "characters": ["E", "012", "09"]}
    guard = Guard(avoid_spec(["E29", "E00"]), codes, "avoid")
    values: list[str | None] = ["E29", "E00", "E10"]
    guard.apply(values)
    assert values == ["E09", "E09", "E10"]  # E29 wraps round to E00, listed too
    full = Guard(avoid_spec(["E00", "E09", "E10", "E19", "E20", "E29"]), codes, "avoid")
    with pytest.raises(GenerationError):
        full.apply(["E00"])


def test_json_numbers_have_no_rare_value_for_an_edge() -> None:
    from phony_client.sync.fitting import fit_json
    from phony_client.sync.guard import Guard

    docs = [{"n": i % 3} for i in range(200)] + [{"n": 987_654}, {"n": -4_321}]
    helpers, _, _ = fit_json("doc", docs)
    (numbers,) = helpers
    edges = numbers.generate["quantiles"]
    assert not {987_654, -4_321} & set(edges)
    assert {0, 1, 2} <= set(edges)
    # A draw on one of them moves off it: the key's avoid lists them, and only them.
    guard = Guard(numbers.generate["avoid"], numbers.generate, "doc__n")
    assert guard.listed("987654")
    assert guard.listed("-4321")
    assert not guard.listed("1")


def test_numbered_placeholders_are_no_value_the_column_holds() -> None:
    from phony_client.sync.fitting import numbered_placeholders

    held = {"note-": set(range(1, 41)), "": {1, 2, 3, 5}}
    generate, _ = numbered_placeholders("note", 30, None, held.__getitem__)
    assert generate == {"type": "sequence", "format": "note-{}", "start": 41}
    short, _ = numbered_placeholders("note", 30, 1, held.__getitem__)
    assert short["values"] == ["4", "6", "7", "8", "9"]
    assert numbered_placeholders("note", 30, 1, lambda _: set(range(10))) is None


def test_the_next_code_counts_over_each_position_s_characters() -> None:
    from phony_client.sync.guard import code_after

    alphabets = ["E", "0123456789", "ABC"]
    assert code_after("E0A", alphabets) == "E0B"
    assert code_after("E0C", alphabets) == "E1A"
    assert code_after("E0A", alphabets, 7) == "E2B"
    assert code_after("E9C", alphabets) == "E0A"  # past the last code: the first


@pytest.mark.parametrize(
    ("stored", "documents", "not_json"),
    [
        (
            ['{"a": 1}', " [1, 2] ", "5", 5, 2.5, '"word"', "null"],
            [{"a": 1}, [1, 2], 5, 5, 2.5, "word", None],
            0,
        ),
        (["", "  ", "{not json", "[1, 2", "word"], [], 5),
        (["NaN", '{"a": Infinity}', float("nan"), "-Infinity"], [], 4),
        ([b'{"a": 1}', "[" * 100_000], [], 2),
    ],
    ids=["documents-and-scalars", "empty-and-broken-text", "nan-and-infinity", "bytes-too-deep"],
)
def test_json_documents_are_the_values_that_parse_as_json(
    stored: list[object], documents: list[object], not_json: int
) -> None:
    from phony_client.sync.fitting import json_documents

    assert json_documents(stored) == (documents, not_json)


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        (["[1, 2]"] * 20 + ['{"a": 1}'] * 5 + ["{bad"] * 3, "[]"),
        (["7"] * 20 + ["[1]"] * 5 + [""] * 3, "0"),
        (['"word"'] * 20 + ["{bad"] * 3, '""'),
    ],
    ids=["arrays", "numbers", "strings"],
)
def test_a_json_column_of_other_documents_gets_their_empty_value(
    stored: list[str], written: str
) -> None:
    from phony_client.sync.fitting import fit_json, json_documents

    documents, not_json = json_documents(stored)
    helpers, spec, why = fit_json("doc", documents, not_json=not_json)
    assert helpers == []
    assert spec == {"type": "choice", "values": [written]}
    assert f"values of the sample that are not JSON (3 of {len(stored)})" in why


@pytest.mark.parametrize("order", [["staff", "teams"], ["teams", "staff"]], ids=["staff", "teams"])
def test_a_cycle_loads_the_table_whose_key_is_checked_at_once_last(order: list[str]) -> None:
    # staff.team_id is NOT NULL: teams must be written first, whichever the plan lists first.
    tables = {
        "staff": _table("staff", [("team_id", "teams", False)]),
        "teams": _table("teams", [("lead_id", "staff", True)]),
    }
    plan = Plan({name: tables[name] for name in order})
    units, deferred = gen.load_order(plan, order)
    assert units == [["teams", "staff"]]
    assert deferred == {("teams", "lead_id")}


def test_a_table_of_a_schema_round_trips_and_old_plans_read_as_before() -> None:
    import tomllib

    orders = _table("sales.orders", [("customer_id", "customers", False)])
    orders.schema = "sales"
    plan = Plan({"customers": _table("customers", []), "sales.orders": orders})
    text = dump_plan(plan)
    assert "format = 2\n" in text
    assert '[tables."sales.orders"]\nschema = "sales"\nrows = 10\n' in text
    again = parse_plan(tomllib.loads(text))
    assert (again.tables["sales.orders"].schema, again.tables["sales.orders"].table_name) == (
        "sales",
        "orders",
    )
    assert dump_plan(again) == text
    # The default schema alone: format 1, as phony always wrote it, and a dotted key
    # without a schema is one table of the default schema.
    old = Plan({"pets.x": _table("pets.x", [])})
    assert "format = 1\n" in dump_plan(old)
    read = parse_plan(tomllib.loads(dump_plan(old))).tables["pets.x"]
    assert (read.schema, read.table_name) == (None, "pets.x")


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"format": 3}, "format"),
        ({"format": 1, "schema": "sales"}, "tables.sales.orders.schema"),
        ({"schema": "north"}, "tables.sales.orders.schema"),
        ({"schema": 7}, "tables.sales.orders.schema"),
    ],
    ids=["newer-format", "schema-in-format-1", "key-of-another-schema", "not-a-name"],
)
def test_a_bad_schema_or_format_names_the_field(edit: dict[str, object], field: str) -> None:
    import tomllib

    table = _table("sales.orders", [])
    table.schema = "sales"
    data = tomllib.loads(dump_plan(Plan({"sales.orders": table})))
    if "format" in edit:
        data["format"] = edit["format"]
    if "schema" in edit:
        data["tables"]["sales.orders"]["schema"] = edit["schema"]
    with pytest.raises(ValidationError) as info:
        parse_plan(data)
    assert info.value.field == field
