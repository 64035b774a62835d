"""Strict JSON reading shared by every reader of untrusted documents."""

from __future__ import annotations

import re

import pytest

from phony_registry.canonical import canonical_json, loads_object
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
