"""Strict JSON reading shared by every reader of untrusted documents."""

from __future__ import annotations

import re

import pytest

from phony_registry.canonical import JsonLimits, canonical_json, check_structure, loads_object
from phony_registry.errors import InvalidManifest, ModelFormatError, ValidationError
from phony_registry.index import parse_index

HOSTILE = [
    pytest.param(b'{"a": 1, "a": 2}', "duplicate key 'a'", id="duplicate-key"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested too deeply", id="deep-nesting"),
    pytest.param(b'{"a": "\xff"}', "not UTF-8 JSON (bad byte at offset 7)", id="not-utf8"),
    pytest.param(b'{"a": ', "invalid JSON", id="truncated"),
    pytest.param(b"[1, 2]", "is an array, not an object", id="array"),
]


@pytest.mark.parametrize(("data", "message"), HOSTILE)
@pytest.mark.parametrize("error", [ValidationError, InvalidManifest, ModelFormatError])
def test_hostile_json_is_one_of_our_errors(
    data: bytes, message: str, error: type[ValidationError]
) -> None:
    with pytest.raises(error, match=re.escape(message)) as caught:
        loads_object(data, "manifest", error=error)
    assert str(caught.value).startswith("manifest: ")


def test_without_a_name_the_message_has_no_prefix() -> None:
    with pytest.raises(ValidationError) as caught:
        loads_object(b"{", "")
    assert str(caught.value).startswith("invalid JSON")


@pytest.mark.parametrize(
    ("line", "message"),
    [p.values for p in HOSTILE if p.id != "not-utf8"]
    + [(b'{"a": "\xff"}', "index file is not UTF-8")],
)
def test_an_index_line_is_read_as_strictly(line: bytes, message: str) -> None:
    entry = {
        "name": "alice/x",
        "version": "1.0.0",
        "digest": "sha256:" + "0" * 64,
        "size": 1,
        "manifest": "sha256:" + "1" * 64,
    }
    good = canonical_json(entry) + b"\n"
    assert parse_index(good)[0].version == "1.0.0"
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        parse_index(good + line + b"\n")
    assert "index" in str(caught.value)


def test_a_valid_object_round_trips() -> None:
    value = {"b": [1, {"c": None}], "a": "İı"}
    assert loads_object(canonical_json(value)) == value


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b'{"a": "\\ud800"}', "a: must be Unicode text", id="value"),
        pytest.param(b'{"\\udc00": 1}', "\\udc00: must be Unicode text", id="key"),
        pytest.param(b'{"a": [1, {"b": "x\\udbff"}]}', "a[1].b: must be Unicode", id="deep"),
    ],
)
def test_a_lone_surrogate_is_refused_with_its_field(data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        loads_object(data, "snapshot")
    assert str(caught.value).startswith("snapshot: ")
    assert caught.value.field is not None
    str(caught.value).encode("utf-8")  # printable: the surrogate itself is not in it


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"a": "\\ud83d\\ude00"}', id="a-surrogate-pair"),
        pytest.param(b'{"a": "\\\\ud800"}', id="an-escaped-backslash"),
    ],
)
def test_text_that_only_looks_like_a_surrogate_is_kept(data: bytes) -> None:
    assert loads_object(data)["a"] in ("\U0001f600", "\\ud800")


def test_nan_is_not_json() -> None:
    with pytest.raises(ValidationError, match="NaN is not a JSON number"):
        loads_object(b'{"a": NaN}')


LIMITS = JsonLimits(max_values=10, max_depth=3, max_string=8)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b'{"a": [' + b"[]," * 20 + b"[]]}", "more than 10 values", id="values"),
        pytest.param(b'{"a": [' + b"1," * 20 + b"1]}", "more than 10 values", id="scalars"),
        pytest.param(b'{"a": [[[[]]]]}', "nested too deeply (over 3 levels)", id="depth"),
        pytest.param(b'{"a": "123456789"}', "a string of 9 bytes", id="string"),
    ],
)
def test_documents_over_the_limits_are_refused_before_parsing(data: bytes, message: str) -> None:
    assert check_structure(data, LIMITS) is not None
    with pytest.raises(ValidationError, match=re.escape(message)):
        loads_object(data, "manifest", limits=LIMITS)


def test_brackets_and_commas_inside_strings_do_not_count() -> None:
    data = b'{"a": "[[[[,,,,::::]]]]", "b": "\\"[[[[,,,,"}'
    assert check_structure(data, JsonLimits(max_values=5, max_depth=1, max_string=None)) is None
    assert (
        loads_object(data, limits=JsonLimits(max_values=5, max_depth=1))["a"] == "[[[[,,,,::::]]]]"
    )


def test_a_document_at_the_limits_is_read() -> None:
    data = b'{"a": [1, 2, 3], "b": {"c": "12345678"}}'
    assert check_structure(data, JsonLimits(max_values=10, max_depth=2, max_string=8)) is None
    assert check_structure(data, JsonLimits(max_values=9, max_depth=2, max_string=8)) is not None
    assert check_structure(data, JsonLimits(max_values=10, max_depth=1, max_string=8)) is not None
    assert check_structure(data, JsonLimits(max_values=10, max_depth=2, max_string=7)) is not None
