"""Output formats: what a user reads back from each built-in format."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phony_registry.errors import GenerationError, UsageError
from phony_registry.outputs import (
    CSV,
    JSON,
    JSONL,
    SQL,
    TXT,
    ColumnType,
    OutputFormat,
    int_option,
    parse_column_type,
    parse_options,
    sql_literal,
)

NAMES = ["first_name", "note"]


def render(
    fmt: OutputFormat,
    batches: Sequence[Sequence[Sequence[str]]],
    names: Sequence[str] = NAMES,
    options: Mapping[str, str] | None = None,
    types: Sequence[str] | None = None,
) -> str:
    """What ``fmt`` writes; opened with ``types`` (a schema's table) when they are given."""
    stream = io.BytesIO()
    if types is None:
        writer = fmt.open(stream, names, options or {})
    else:
        assert fmt.open_typed is not None
        writer = fmt.open_typed(stream, names, types, options or {})
    for batch in batches:
        writer.write(batch)
    writer.close()
    return stream.getvalue().decode("utf-8")


TRICKY = ["Ayşe", 'say "hi"', "a,b", "line\nbreak", "", " spaced ", "tab\tx", "O'Brien", "cr\rx"]
text_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


def test_txt_one_value_per_line() -> None:
    assert render(TXT, [[["Ayşe", "Mehmet"]]], ["name"]) == "Ayşe\nMehmet\n"
    assert render(TXT, [[["a", "b"], ["1", "2"]]]) == "a\t1\nb\t2\n"
    assert render(TXT, [[["a"], ["1"]]], options={"separator": ";"}) == "a;1\n"


@pytest.mark.parametrize(
    ("separator", "message"),
    [
        pytest.param("", "option separator: must not be empty", id="empty"),
        pytest.param("\n", "option separator: must not hold a line break", id="newline"),
        pytest.param(";\r", "option separator: must not hold a line break", id="carriage-return"),
    ],
)
def test_txt_refuses_a_separator_that_cannot_divide_columns(separator: str, message: str) -> None:
    # "" runs the columns together and a line break splits one row in two lines.
    with pytest.raises(UsageError, match=f"^{message}"):
        render(TXT, [[["a"], ["1"]]], options={"separator": separator})


@pytest.mark.parametrize("separator", ["ab", "\u2502", "::"])
def test_txt_refuses_a_value_holding_a_longer_separator(separator: str) -> None:
    # Only a one-character ASCII separator was counted: "xaby" + "ab" + "1" came out as
    # "xabyab1", which no reader splits back into the two values.
    with pytest.raises(GenerationError, match="holds the column separator"):
        render(TXT, [[["z", f"x{separator}y"], ["1", "2"]]], options={"separator": separator})
    assert render(TXT, [[["a"], ["1"]]], options={"separator": separator}) == f"a{separator}1\n"


def test_csv_header_and_rows() -> None:
    out = render(CSV, [[["Ayşe", "Can"], ["x", "y"]], [["Deniz"], ["z"]]])
    assert out == "first_name,note\nAyşe,x\nCan,y\nDeniz,z\n"


def test_csv_without_header_and_empty_output() -> None:
    assert render(CSV, [[["a"], ["b"]]], options={"header": "false"}) == "a,b\n"
    assert render(CSV, []) == "first_name,note\n"


def test_csv_quotes_what_needs_quoting() -> None:
    out = render(CSV, [[TRICKY, TRICKY]])
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == NAMES
    assert rows[1:] == [[v, v] for v in TRICKY]


@settings(max_examples=200)
@given(st.lists(text_values, min_size=1, max_size=20), st.integers(1, 3))
def test_csv_round_trips_any_text(values: list[str], width: int) -> None:
    names = [f"c{i}" for i in range(width)]
    out = render(CSV, [[values] * width], names)
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows == [names, *[[v] * width for v in values]]


def test_jsonl_one_object_per_line() -> None:
    out = render(JSONL, [[TRICKY, TRICKY[::-1]]])
    objects = [json.loads(line) for line in out.splitlines()]
    assert objects == [
        {"first_name": a, "note": b} for a, b in zip(TRICKY, TRICKY[::-1], strict=True)
    ]
    assert "Ayşe" in out  # UTF-8, not \u escapes


@pytest.mark.parametrize("batches", [[], [[[], []]], [[["a"], ["b"]]], [[["a"], ["b"]]] * 3])
def test_json_is_one_valid_array_for_any_count(batches: list[list[list[str]]]) -> None:
    out = render(JSON, batches)
    rows = json.loads(out)
    assert rows == [{"first_name": "a", "note": "b"}] * sum(len(b[0]) for b in batches)


def test_json_keys_with_braces_and_quotes() -> None:
    out = render(JSON, [[["v"]]], ['we{ird}"key'])
    assert json.loads(out) == [{'we{ird}"key': "v"}]


def _sqlite_rows(script: str) -> list[tuple[str, ...]]:
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE "people" ("first_name" TEXT, "note" TEXT)')
    db.executescript(script)
    return db.execute("SELECT * FROM people").fetchall()


def test_sql_inserts_in_batches() -> None:
    out = render(
        SQL, [[["a", "b", "c"], ["1", "2", "3"]]], options={"table": "people", "batch": "2"}
    )
    assert out == (
        'INSERT INTO "people" ("first_name", "note") VALUES\n'
        "('a', '1'),\n('b', '2');\n"
        'INSERT INTO "people" ("first_name", "note") VALUES\n'
        "('c', '3');\n"
    )


@pytest.mark.parametrize("dialect", ["standard", "sqlite"])
def test_sql_quotes_every_value(dialect: str) -> None:
    values = [*TRICKY, "x'); DROP TABLE people; --", "bell\x07", "nul\x00byte", "\\back"]
    out = render(SQL, [[values, values]], options={"table": "people", "dialect": dialect})
    rows = _sqlite_rows(out)
    expected = values if dialect == "sqlite" else [v.replace("\0", "") for v in values]
    assert rows == [(v, v) for v in expected]


@settings(max_examples=200)
@given(st.lists(text_values, min_size=1, max_size=10))
def test_sql_sqlite_dialect_round_trips_any_text(values: list[str]) -> None:
    out = render(SQL, [[values, values]], options={"table": "people", "dialect": "sqlite"})
    assert _sqlite_rows(out) == [(v, v) for v in values]


def test_sql_create_table_and_odd_identifiers() -> None:
    out = render(SQL, [[["v"]]], ['we"ird'], options={"table": "my table", "create": "true"})
    db = sqlite3.connect(":memory:")
    db.executescript(out)
    assert db.execute('SELECT "we""ird" FROM "my table"').fetchall() == [("v",)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("O'Brien", "'O''Brien'"),
        ("a\\b", "'a\\\\b'"),
        ("nul\0", "'nul\\0'"),
        ("line\nbreak", "'line\\nbreak'"),
    ],
)
def test_sql_literal_mysql(value: str, expected: str) -> None:
    assert sql_literal(value, "mysql") == expected


def test_sql_literal_standard_keeps_newlines_and_drops_nul() -> None:
    assert sql_literal("a\nb\0", "standard") == "'a\nb'"


@pytest.mark.parametrize(
    ("fmt", "options", "message"),
    [
        (CSV, {"tabel": "x"}, "format csv has no option 'tabel' (options: header)"),
        (SQL, {"batch": "0"}, "option batch: expected a positive integer, not '0'"),
        (SQL, {"dialect": "oracle"}, "option dialect: expected one of standard, sqlite, mysql"),
        (CSV, {"header": "maybe"}, "option header: expected true or false"),
        (JSON, {"indent": "2"}, "format json has no option 'indent' (options: none)"),
    ],
)
def test_bad_options_are_usage_errors(
    fmt: OutputFormat, options: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fmt.open(io.BytesIO(), NAMES, options)


# Spellings Python's int() takes that are not an option's integer: other
# scripts' digits, underscores, spaces, a sign where no negative is meant.
NOT_ASCII_INTEGERS = ["\u0663", "1_000", " 3", "3 ", "+3", "3.0", "1e3", "0x10", "", "-", "\uff13"]


@pytest.mark.parametrize("text", [*NOT_ASCII_INTEGERS, "0", "-2"])
def test_sql_batch_is_ascii_digits(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        SQL.open(io.BytesIO(), NAMES, {"batch": text})
    assert str(raised.value) == f"option batch: expected a positive integer, not {text!r}"


def test_sql_batch_of_ascii_digits_is_taken() -> None:
    out = render(SQL, [[["a", "b", "c"], ["1", "2", "3"]]], options={"batch": "002"})
    assert out.count("INSERT INTO") == 2


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [
        ("7", 1, None, 7),
        ("0", 0, 11, 0),
        ("11", 0, 11, 11),
        ("-5", -7, 22, -5),
        ("-0", -7, 22, 0),
        (None, 1, None, 42),
    ],
)
def test_int_option_takes_ascii_digits_within_range(
    text: str | None, low: int, high: int | None, expected: int
) -> None:
    options = {} if text is None else {"n": text}
    assert int_option(options, "n", 42, low=low, high=high) == expected


@pytest.mark.parametrize(
    ("text", "low", "high", "message"),
    [
        ("0", 1, None, "option n: expected a positive integer, not '0'"),
        ("12", 0, 11, "option n: expected a whole number from 0 to 11, not '12'"),
        ("-1", 0, None, "option n: expected a whole number from 0 up, not '-1'"),
        ("-8", -7, 22, "option n: expected a whole number from -7 to 22, not '-8'"),
        ("+5", -7, 22, "option n: expected a whole number from -7 to 22, not '+5'"),
        ("-\u0665", -7, 22, "option n: expected a whole number from -7 to 22, not '-\u0665'"),
        ("9" * 5000, 1, None, "option n: expected a positive integer, not '" + "9" * 5000 + "'"),
    ],
)
def test_int_option_refuses_in_one_form(
    text: str, low: int, high: int | None, message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        int_option({"n": text}, "n", 1, low=low, high=high)
    assert str(raised.value) == message


def test_int_option_words_the_rule_and_checks_more_as_asked() -> None:
    with pytest.raises(UsageError) as raised:
        int_option(
            {"n": "1000"}, "n", 4096, low=512, high=65536,
            expected="a power of two from 512 to 65536", accept=lambda n: not n & (n - 1),
        )  # fmt: skip
    assert str(raised.value) == "option n: expected a power of two from 512 to 65536, not '1000'"


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=6), signed=st.booleans())
def test_int_option_takes_exactly_an_optional_minus_and_ascii_digits(
    text: str, signed: bool
) -> None:
    low = -1000 if signed else 0
    body = text[1:] if signed and text.startswith("-") else text
    plain = body != "" and all("0" <= c <= "9" for c in body)
    try:
        value = int_option({"n": text}, "n", 1, low=low)
    except UsageError:
        assert not plain or int(text) < low
    else:
        assert plain
        assert value == int(text)


@pytest.mark.parametrize("pair", ["table=t\udcff", "separator=\udcff", "k\udce9y=1"])
def test_an_option_of_bytes_no_utf8_decodes_is_refused_as_it_is_read(pair: str) -> None:
    # A command-line argument of bytes the locale cannot decode arrives with
    # lone surrogates (surrogateescape), which no output can encode.
    with pytest.raises(UsageError) as raised:
        parse_options([pair])
    assert str(raised.value) == (
        f"--option {pair!r}: not UTF-8 text (a byte the command line could not decode)"
    )


@pytest.mark.parametrize("fmt", [JSONL, JSON])
def test_json_writes_a_schemas_integer_and_decimal_columns_as_numbers(fmt: OutputFormat) -> None:
    assert fmt.open_typed is not None
    stream = io.BytesIO()
    writer = fmt.open_typed(stream, ["n", "price", "code", "odd"], [
        "int64", "decimal:5:2", "string", "int64"], {})  # fmt: skip
    writer.write([["-7", "0"], ["27.50", "3.00"], ["007", "12"], ["1e5", "NaN"]])
    writer.close()
    text = stream.getvalue().decode("utf-8")
    rows = json.loads(text) if fmt is JSON else [json.loads(line) for line in text.splitlines()]
    assert rows == [
        {"n": -7, "price": 27.5, "code": "007", "odd": "1e5"},
        {"n": 0, "price": 3.0, "code": "12", "odd": "NaN"},
    ]
    assert '"price": 27.50' in text  # the column's text, as it is


TYPED_NAMES = ["n", "price", "born", "at", "seen", "ms", "name"]
TYPED_TYPES = ["int64", "decimal:4:2", "date", "timestamp:s", "timestamp:s:+03:00",
               "timestamp:ms", "string"]  # fmt: skip
TYPED_BATCH = [
    ["-7", "12"],
    ["27.50", "3.00"],
    ["2000-11-29", "2001-01-01"],
    ["2000-12-16T17:48:04", "2000-03-04T03:04:29"],
    ["2000-12-16T17:48:04+03:00", "2000-03-04T03:04:29+03:00"],
    ["2000-12-16T17:48:04.125", "2000-03-04T03:04:29.000"],
    ["O'Brien", "7"],
]


@pytest.mark.parametrize(
    ("dialect", "columns"),
    [
        pytest.param(
            "standard",
            '"n" BIGINT, "price" NUMERIC(4, 2), "born" DATE, "at" TIMESTAMP, '
            '"seen" TIMESTAMP WITH TIME ZONE, "ms" TIMESTAMP, "name" TEXT',
            id="standard",
        ),
        pytest.param(
            "sqlite",
            '"n" INTEGER, "price" NUMERIC(4, 2), "born" DATE, "at" DATETIME, '
            '"seen" DATETIME, "ms" DATETIME, "name" TEXT',
            id="sqlite",
        ),
        pytest.param(
            "mysql",
            "`n` BIGINT, `price` DECIMAL(4, 2), `born` DATE, `at` DATETIME, "
            "`seen` TEXT, `ms` DATETIME(3), `name` TEXT",
            id="mysql",
        ),
    ],
)
def test_sql_creates_a_schemas_columns_with_their_types(dialect: str, columns: str) -> None:
    options = {"create": "true", "dialect": dialect, "table": "t"}
    out = render(SQL, [TYPED_BATCH], TYPED_NAMES, options, TYPED_TYPES)
    q = "`" if dialect == "mysql" else '"'
    create, insert, *rows = out.splitlines()
    assert create == f"CREATE TABLE {q}t{q} ({columns});"
    assert insert.startswith(f"INSERT INTO {q}t{q} ")
    assert rows == [
        "(-7, 27.50, '2000-11-29', '2000-12-16T17:48:04', '2000-12-16T17:48:04+03:00', "
        "'2000-12-16T17:48:04.125', 'O''Brien'),",
        "(12, 3.00, '2001-01-01', '2000-03-04T03:04:29', '2000-03-04T03:04:29+03:00', "
        "'2000-03-04T03:04:29.000', '7');",
    ]


@pytest.mark.parametrize("dialect", ["standard", "sqlite", "mysql"])
def test_sql_of_a_schema_runs_in_sqlite_with_typed_values(dialect: str) -> None:
    options = {"create": "true", "dialect": dialect, "batch": "1"}
    out = render(SQL, [TYPED_BATCH], TYPED_NAMES, options, TYPED_TYPES)
    db = sqlite3.connect(":memory:")
    db.executescript(out)
    kinds = db.execute(
        "SELECT typeof(n), typeof(price), typeof(born), typeof(at), typeof(name) FROM data"
    ).fetchall()
    assert kinds == [("integer", "real", "text", "text", "text"),
                     ("integer", "integer", "text", "text", "text")]  # fmt: skip
    rows = db.execute("SELECT n, price, born, name FROM data").fetchall()
    assert rows == [(-7, 27.5, "2000-11-29", "O'Brien"), (12, 3, "2001-01-01", "7")]


@pytest.mark.parametrize(
    ("dialect", "kind", "declared"),
    [
        pytest.param("standard", "decimal:1:2", "NUMERIC(2, 2)", id="scale-past-digits"),
        pytest.param("standard", "decimal:40:2", "NUMERIC(40, 2)", id="standard-wide"),
        pytest.param("sqlite", "decimal:15:3", "NUMERIC(15, 3)", id="sqlite-15-digits"),
        pytest.param("mysql", "decimal:65:12", "DECIMAL(65, 12)", id="mysql-65-digits"),
    ],
)
def test_sql_decimal_columns_hold_their_declared_range(
    dialect: str, kind: str, declared: str
) -> None:
    options = {"create": "true", "dialect": dialect}
    out = render(SQL, [[["0.05"]]], ["x"], options, [kind])
    q = "`" if dialect == "mysql" else '"'
    assert out.splitlines()[0] == f"CREATE TABLE {q}data{q} ({q}x{q} {declared});"
    assert out.splitlines()[-1] == "(0.05);"


@pytest.mark.parametrize(
    ("dialect", "kind"),
    [
        pytest.param("sqlite", "decimal:16:2", id="sqlite-past-15-digits"),
        pytest.param("mysql", "decimal:66:2", id="mysql-past-65-digits"),
        pytest.param("standard", "decimal:1001:2", id="standard-past-1000-digits"),
    ],
)
def test_sql_decimal_wider_than_the_dialect_holds_is_exact_text(dialect: str, kind: str) -> None:
    # A REAL (SQLite) or a wider literal (MySQL reads one as a double) would
    # round the value: as text it keeps every digit.
    value = "53663216480016355352.25"
    out = render(SQL, [[[value]]], ["x"], {"create": "true", "dialect": dialect}, [kind])
    q = "`" if dialect == "mysql" else '"'
    assert out.splitlines()[0] == f"CREATE TABLE {q}data{q} ({q}x{q} TEXT);"
    assert out.splitlines()[-1] == f"('{value}');"
    if dialect == "sqlite":
        db = sqlite3.connect(":memory:")
        db.executescript(out)
        assert db.execute("SELECT x, typeof(x) FROM data").fetchall() == [(value, "text")]


def test_sql_quotes_a_value_of_a_number_column_that_is_not_a_plain_number() -> None:
    out = render(SQL, [[["1e5", "NaN", "007", "-0.5", "x'y"]]], ["n"], types=["int64"])
    assert out.splitlines()[1:] == ["('1e5'),", "('NaN'),", "('007'),", "(-0.5),", "('x''y');"]


def test_sql_of_a_models_single_column_stays_text() -> None:
    out = render(SQL, [[["7"]]], ["value"], options={"create": "true"})
    assert (
        out
        == 'CREATE TABLE "data" ("value" TEXT);\nINSERT INTO "data" ("value") VALUES\n(\'7\');\n'
    )


def test_a_schemas_table_as_sql_loads_into_sqlite_as_the_csv_holds_it() -> None:
    from phony_registry.schema import parse_schema, write_table

    schema = parse_schema({"columns": {
        "id": {"type": "sequence"},
        "born": {"type": "date", "start": "2000-01-01", "end": "2001-01-01"},
        "price": {"type": "number", "decimals": 2, "min": 1, "max": 9},
        "n": {"type": "integer", "min": -5, "max": 9},
        "code": {"type": "sequence", "format": "INV-{:04d}"},
    }})  # fmt: skip
    sql, text = io.BytesIO(), io.BytesIO()
    write_table(schema, sql, count=50, seed=1, format_name="sql", options={"create": "true"})
    write_table(schema, text, count=50, seed=1, format_name="csv")
    script = sql.getvalue().decode("utf-8")
    assert script.startswith(
        'CREATE TABLE "data" ("id" BIGINT, "born" DATE, "price" NUMERIC(3, 2), '
        '"n" BIGINT, "code" TEXT);\n'
    )
    db = sqlite3.connect(":memory:")
    db.executescript(script)
    rows = db.execute("SELECT id, born, price, n, code FROM data").fetchall()
    expected = list(csv.reader(io.StringIO(text.getvalue().decode("utf-8"))))[1:]
    assert [[str(v) for v in row] for row in rows] == [
        [i, born, str(float(price)).removesuffix(".0"), n, code]
        for i, born, price, n, code in expected
    ]
    assert {kind for (kind,) in db.execute("SELECT DISTINCT typeof(n) FROM data")} == {"integer"}


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("int64", ColumnType("int64")),
        ("decimal:7:2", ColumnType("decimal", digits=7, decimals=2)),
        ("date", ColumnType("date")),
        ("timestamp:ms", ColumnType("timestamp", unit="ms")),
        ("timestamp:s:-03:30", ColumnType("timestamp", unit="s", zone="-03:30")),
        ("string", ColumnType("string")),
    ],
)
def test_a_column_type_reads_into_its_parts(text: str, parts: ColumnType) -> None:
    assert parse_column_type(text) == parts
