"""Schema files: parsing, clear validation errors with the field path, table generation."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phony_registry.errors import GenerationError, NotFound, ValidationError
from phony_registry.schema import (
    generate_table,
    load_schema,
    parse_schema,
    read_schema_columns,
    write_table,
)

PEOPLE = """
locale = "tr_TR"

[columns.id]
type = "sequence"
hidden = true

[columns.first_name]
type = "ngram"
model = "first_names.phony"

[columns.last_name]
type = "ngram"
model = "last_names.phony"

[columns.email]
type = "email"
from = ["first_name", "last_name"]
domains = ["example.com.tr"]

[columns.customer]
type = "template"
template = "C-{id}"
"""


def test_load_schema_file_with_models_beside_it(model_dir: Path) -> None:
    path = model_dir / "people.toml"
    path.write_text(PEOPLE, encoding="utf-8")
    schema = load_schema(path)
    assert schema.names == ["first_name", "last_name", "email", "customer"]
    assert schema.locale == "tr_TR"
    stream = io.BytesIO()
    write_table(schema, stream, count=5, seed=1, format_name="csv")
    lines = stream.getvalue().decode().splitlines()
    assert lines[0] == "first_name,last_name,email,customer"
    assert [line.split(",")[-1] for line in lines[1:]] == ["C-1", "C-2", "C-3", "C-4", "C-5"]
    assert all(line.split(",")[2].endswith("@example.com.tr") for line in lines[1:])


def test_generate_table_batches_and_zero_rows() -> None:
    schema = parse_schema({"columns": {"id": {"type": "sequence"}}})
    assert list(generate_table(schema, 0, 1)) == []
    batches = list(generate_table(schema, 5, 1, batch_size=2))
    assert batches == [[["1", "2"]], [["3", "4"]], [["5"]]]


def _col(**kwargs: Any) -> dict[str, Any]:
    return kwargs


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("no-columns", {}, "columns", "at least one"),
    ("unknown-top-level", {"colums": {}}, "colums", "unknown key"),
    ("column-not-table", {"columns": {"a": 3}}, "columns.a", "expected a table"),
    ("missing-type", {"columns": {"a": {}}}, "columns.a.type", "is required"),
    ("unknown-type", {"columns": {"a": _col(type="ngarm")}}, "columns.a.type",
     "unknown generator 'ngarm' (available: choice, date, email"),
    ("unknown-argument", {"columns": {"a": _col(type="sequence", stop=3)}}, "columns.a.stop",
     "unknown argument for sequence (arguments: format, start, step)"),
    ("wrong-type", {"columns": {"a": _col(type="integer", max="9")}}, "columns.a.max",
     "expected an integer, got str"),
    ("bool-is-not-int", {"columns": {"a": _col(type="integer", max=True)}}, "columns.a.max",
     "expected an integer, got a boolean"),
    ("max-below-min", {"columns": {"a": _col(type="integer", min=5, max=1)}}, "columns.a.max",
     "must be >= min"),
    ("template-unknown-column",
     {"columns": {"a": _col(type="template", template="{first_name} {lats}"),
                  "first_name": _col(type="sequence")}},
     "columns.a.template", "unknown column 'lats' (columns: a, first_name)"),
    ("template-self", {"columns": {"a": _col(type="template", template="{a}")}},
     "columns.a.template", "cannot refer to itself"),
    ("template-attribute",
     {"columns": {"a": _col(type="template", template="{b.x}"), "b": _col(type="sequence")}},
     "columns.a.template", "must name a column"),
    ("template-unbalanced", {"columns": {"a": _col(type="template", template="{oops")}},
     "columns.a.template", "bad template"),
    ("email-unknown-column", {"columns": {"e": _col(type="email", **{"from": ["x"]})}},
     "columns.e.from[0]", "unknown column 'x'"),
    ("email-bad-domain",
     {"columns": {"a": _col(type="sequence"),
                  "e": _col(type="email", domains=["@x.com"], **{"from": ["a"]})}},
     "columns.e.domains[0]", "expected a domain"),
    ("weights-mismatch",
     {"columns": {"c": _col(type="choice", values=["a", "b"], weights=[1])}},
     "columns.c.weights", "has 1 weights for 2 values"),
    ("negative-weight",
     {"columns": {"c": _col(type="choice", values=["a", "b"], weights=[1, -1])}},
     "columns.c.weights[1]", "expected a number >= 0"),
    ("empty-choice", {"columns": {"c": _col(type="choice", values=[])}}, "columns.c.values",
     "must not be empty"),
    ("date-order",
     {"columns": {"d": _col(type="date", start="2020-01-02", end="2020-01-01")}},
     "columns.d.end", "must not be before start"),
    ("date-garbage", {"columns": {"d": _col(type="date", start="yesterday", end="2020-01-01")}},
     "columns.d.start", "not an ISO date"),
    ("missing-model-file", {"columns": {"n": _col(type="ngram", model="nope.phony")}},
     "columns.n.model", "no such file"),
    ("cycle",
     {"columns": {"a": _col(type="template", template="{b}"),
                  "b": _col(type="template", template="{c}"),
                  "c": _col(type="template", template="{a}")}},
     "columns.a", "cycle a -> b -> c -> a"),
    ("all-hidden", {"columns": {"a": _col(type="sequence", hidden=True)}}, "columns",
     "every column is hidden"),
    ("hidden-not-bool", {"columns": {"a": _col(type="sequence", hidden="yes")}},
     "columns.a.hidden", "expected true or false"),
    # --column refuses "=integer"; a file's [columns.""] wrote a header no SQL database takes.
    ("empty-column-name", {"columns": {"": _col(type="sequence")}}, 'columns.""',
     "a column needs a name"),
    # A reference's keys are 64-bit integers: numpy raised OverflowError past them.
    ("reference-start-past-int64",
     {"columns": {"a": _col(type="reference", table="t", rows=3, start=2**70)}},
     "columns.a.start", "must be a 64-bit integer"),
    ("reference-step-past-int64",
     {"columns": {"a": _col(type="reference", table="t", rows=3, step=-(2**70))}},
     "columns.a.step", "must be a 64-bit integer"),
    ("reference-keys-past-int64",
     {"columns": {"a": _col(type="reference", table="t", rows=2**40, start=2**62, step=2**23)}},
     "columns.a.rows", "the last key, start + (rows - 1) * step"),
    ("reference-rows-past-int64",
     {"columns": {"a": _col(type="reference", table="t", rows=2**70)}},
     "columns.a.rows", "the last key, start + (rows - 1) * step"),
    # TOML has nan and inf: no number column nor histogram can draw between them.
    ("number-max-nan", {"columns": {"a": _col(type="number", max=float("nan"))}},
     "columns.a.max", "not a finite number"),
    ("number-min-inf", {"columns": {"a": _col(type="number", min=float("-inf"), max=1)}},
     "columns.a.min", "not a finite number"),
    ("histogram-nan", {"columns": {"a": _col(type="histogram", quantiles=[0, float("nan"), 3])}},
     "columns.a.quantiles[1]", "not a finite number"),
    ("histogram-inf", {"columns": {"a": _col(type="histogram", quantiles=[0, float("inf")])}},
     "columns.a.quantiles[1]", "not a finite number"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "field", "message"), [pytest.param(*case[1:], id=case[0]) for case in BAD]
)
def test_bad_schema_is_a_validation_error_naming_the_field(
    data: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_schema(data)
    assert info.value.field == field
    assert message in str(info.value)
    assert str(info.value).startswith(f"{field}: ")


def test_bad_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[columns.a]\ntype = \n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"bad.toml: not valid TOML: .*line 2"):
        load_schema(path)


def test_a_schema_file_without_columns_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text('description = "no columns"\n[columns]\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"empty.toml: a schema needs at least one \[columns"):
        read_schema_columns(path)
    path.write_text('[columns.a]\ntype = "sequence"\n', encoding="utf-8")
    assert read_schema_columns(path) == {"a": {"type": "sequence"}}


def test_a_model_name_not_installed_names_the_column() -> None:
    data = {"locale": "tr_TR", "columns": {"n": {"type": "ngram", "model": "first_names@1.0.0"}}}
    with pytest.raises(NotFound, match=r"^columns\.n\.model: tr_TR/first_names@1\.0\.0 "):
        parse_schema(data)


def test_unique_column_that_runs_dry_is_a_generation_error(model_dir: Path) -> None:
    schema = parse_schema(
        {"columns": {"n": {"type": "ngram", "model": "first_names.phony", "unique": True}}},
        base_dir=model_dir,
    )
    with pytest.raises(GenerationError):
        list(generate_table(schema, 100_000, 1))


ALL_TYPES: dict[str, Any] = {
    "id": {"type": "sequence", "start": 5, "step": 3},
    "first": {"type": "ngram", "model": "first_names.phony"},
    "last": {"type": "ngram", "model": "last_names.phony"},
    "full": {"type": "template", "template": "{first} {last}"},
    "email": {"type": "email", "from": ["first", "last"], "unique": True},
    "age": {"type": "integer", "min": 18, "max": 99},
    "score": {"type": "number", "min": -1, "max": 1, "decimals": 3},
    "tier": {"type": "choice", "values": ["a", "b", "c"], "weights": [5, 2, 1]},
    "born": {"type": "date", "start": "1950-01-01", "end": "2005-12-31"},
}


def _flatten(schema: Any, count: int, seed: int, batch_size: int) -> list[list[str]]:
    columns: list[list[str]] = [[] for _ in schema.names]
    for batch in generate_table(schema, count, seed, batch_size=batch_size):
        for column, values in zip(columns, batch, strict=True):
            column.extend(values)
    return columns


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 300), st.integers(1, 64), st.integers(0, 2**64))
def test_a_table_does_not_depend_on_the_batch_size(
    model_dir: Path, count: int, batch_size: int, seed: int
) -> None:
    schema = parse_schema({"columns": ALL_TYPES}, base_dir=model_dir)
    whole = _flatten(schema, count, seed, 100_000)
    assert _flatten(schema, count, seed, batch_size) == whole
    assert all(len(column) == count for column in whole)


def test_a_unique_reference_to_fewer_parents_than_rows_names_the_column() -> None:
    # Each parent at most once cannot fill more rows than the parent table has: the
    # error said only "column o (reference) gave 2 of 3 values".
    schema = parse_schema(
        {"columns": {"o": {"type": "reference", "table": "users", "rows": 2, "unique": True}}}
    )
    with pytest.raises(GenerationError) as info:
        list(generate_table(schema, 3, 1))
    assert str(info.value) == (
        "columns.o: unique = true gives each of the 2 rows of users at most once, "
        "fewer than the 3 rows asked for: ask for at most 2, or raise rows"
    )
    assert [v for batch in generate_table(schema, 2, 1) for v in batch[0]] in (
        ["1", "2"],
        ["2", "1"],
    )
