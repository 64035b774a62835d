"""--column NAME=TYPE:KEY=VALUE: one schema column from the command line."""

from __future__ import annotations

import pytest

from phony_client.inline_schema import parse_column, read_stdin_schema, with_columns
from phony_registry.errors import UsageError, ValidationError


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("age=integer:min=18:max=99", ("age", {"type": "integer", "min": 18, "max": 99})),
        (
            "iban=acme_iban:bank_code=37040044",
            ("iban", {"type": "acme_iban", "bank_code": 37040044}),
        ),
        ('code=x:prefix="007"', ("code", {"type": "x", "prefix": "007"})),
        ('c=choice:values=["a", "b"]', ("c", {"type": "choice", "values": ["a", "b"]})),
        (
            "at=date:start=2024-01-01T10:00:00:end=2024-02-01",
            (
                "at",
                {
                    "type": "date",
                    "start": __import__("datetime").datetime(2024, 1, 1, 10),
                    "end": __import__("datetime").date(2024, 2, 1),
                },
            ),
        ),
        (
            "url=template:template=http://x/{a}",
            ("url", {"type": "template", "template": "http://x/{a}"}),
        ),
        ("flag=choice:unique=true", ("flag", {"type": "choice", "unique": True})),
    ],
    ids=[
        "numbers",
        "digits-are-a-number",
        "quoted-text",
        "list",
        "colons-in-values",
        "text",
        "bool",
    ],
)
def test_a_column_option_is_a_table(option: str, expected: tuple[str, dict[str, object]]) -> None:
    assert parse_column(option) == expected


@pytest.mark.parametrize("option", ["noequals", "1x=integer", "a=", "a=integer:min=1:min=2"])
def test_a_bad_column_option_is_a_usage_error(option: str) -> None:
    with pytest.raises(UsageError, match="--column"):
        parse_column(option)


def test_columns_are_added_to_a_schema_or_replace_one() -> None:
    data = {"locale": "tr_TR", "columns": {"a": {"type": "sequence"}}}
    merged = with_columns(data, ["b=integer:max=3", "a=uuid"])
    assert merged == {
        "locale": "tr_TR",
        "columns": {"a": {"type": "uuid"}, "b": {"type": "integer", "max": 3}},
    }
    assert data["columns"] == {"a": {"type": "sequence"}}


def test_a_column_given_twice_is_a_usage_error() -> None:
    # Replacing a schema's column is the point of --column; two options for
    # one name would drop one of them without a word.
    options = ["a=integer:max=3", "a=sequence"]
    with pytest.raises(UsageError, match=r"^--column a is given twice$"):
        with_columns({"columns": {"a": {"type": "sequence"}}}, options)
    replaced = with_columns({"columns": {"a": {"type": "sequence"}}}, options[:1])
    assert replaced["columns"]["a"]["type"] == "integer"


@pytest.mark.parametrize(
    ("option", "missing"),
    [("a=integer:min", "min"), ("a=integer:min:max=9", "min"), ("id=sequence:format", "format")],
    ids=["last", "before-another", "one-word"],
)
def test_an_argument_without_a_value_is_named(option: str, missing: str) -> None:
    # Not "unknown generator 'integer:min'": the type is right, the argument lacks "=VALUE".
    with pytest.raises(UsageError) as raised:
        parse_column(option)
    assert str(raised.value) == (
        f"--column {option!r}: {missing} has no value: write {missing}=VALUE"
    )


def test_a_deeply_nested_column_value_is_text_not_a_crash() -> None:
    deep = "[" * 5000 + "1" + "]" * 5000
    assert parse_column(f"a=integer:min={deep}") == ("a", {"type": "integer", "min": deep})


def test_a_deeply_nested_schema_on_stdin_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    deep = b"x = " + b"[" * 5000 + b"1" + b"]" * 5000 + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(deep)))
    with pytest.raises(ValidationError, match=r"<stdin>: not valid TOML: .*nested too deeply"):
        read_stdin_schema()
