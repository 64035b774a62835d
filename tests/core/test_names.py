"""Model names: rules, normal forms, collisions, references."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phony_registry.errors import InvalidName
from phony_registry.names import (
    MAX_SEGMENT,
    RESERVED_NAMESPACES,
    canonical_key,
    is_locale,
    normalize_locale,
    parse_name,
    split_reference,
)


@pytest.mark.parametrize(
    ("text", "expected", "official", "namespace"),
    [
        ("tr_TR", "tr_TR", True, None),
        ("tr-tr", "tr_TR", True, None),
        ("TR_tr", "tr_TR", True, None),
        ("en_US/first_names", "en_US/first_names", True, None),
        ("fil_PH/streets", "fil_PH/streets", True, None),
        ("alice/istanbul-streets", "alice/istanbul-streets", False, "alice"),
        ("team-7/names_2", "team-7/names_2", False, "team-7"),
    ],
    ids=lambda v: str(v),
)
def test_valid_names(text: str, expected: str, official: bool, namespace: str | None) -> None:
    name = parse_name(text)
    assert str(name) == expected
    assert name.official is official
    assert name.namespace == namespace


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("names", "namespace"),
        ("alice/../bob", "at most two"),
        ("alice/..", "lowercase letters"),
        ("alice/.hidden", "lowercase letters"),
        ("Alice/names", "lowercase"),
        ("alice/names-", "starts and ends"),
        ("alice/-names", "starts and ends"),
        ("alice/na me", "lowercase letters"),
        ("alice/名前", "lowercase letters"),
        ("alice/", "empty"),
        ("/names", "empty"),
        ("alice/names/extra", "at most two"),
        ("official/names", "reserved"),
        ("alice/con", "reserved"),
        ("alice/" + "a" * (MAX_SEGMENT + 1), "longer"),
        ("alice/names@1.0.0", "'@'"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_invalid_names_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=reason):
        parse_name(text)


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("Alice/Names", "alice/names"),
        ("tr_TR/First_Names", "tr_TR/first_names"),
        ("TR_tr/First_Names", "tr_TR/first_names"),
    ],
)
def test_a_name_in_capitals_suggests_its_normal_form(text: str, suggested: str) -> None:
    with pytest.raises(InvalidName) as caught:
        parse_name(text)
    assert str(caught.value) == f"{text!r}: names are lowercase (try {suggested!r})"
    assert str(parse_name(suggested)) == suggested


def test_locale_namespace_is_official_never_a_publisher() -> None:
    name = parse_name("de-de/streets")
    assert name.official
    assert name.namespace is None
    assert name.locale == "de_DE"
    assert str(name) == "de_DE/streets"


def test_colliding_names_share_a_key() -> None:
    assert canonical_key("alice/istanbul-streets") == canonical_key("alice/istanbul_streets")
    assert parse_name("tr-tr").key == parse_name("tr_TR").key == "tr_tr"
    assert canonical_key("alice/a") != canonical_key("alice/b")


def test_split_reference() -> None:
    name, spec = split_reference("alice/names@^1.2")
    assert (str(name), spec) == ("alice/names", "^1.2")
    assert split_reference("tr_TR")[1] is None
    with pytest.raises(InvalidName, match="nothing after"):
        split_reference("alice/names@")


def test_normalize_locale_rejects_non_locales() -> None:
    assert normalize_locale("pt-br") == "pt_BR"
    assert not is_locale("alice")
    with pytest.raises(InvalidName):
        normalize_locale("english")


_segment_chars = string.ascii_lowercase + string.digits + "-_"
segments = st.text(_segment_chars, min_size=1, max_size=MAX_SEGMENT).filter(
    lambda s: s[0].isalnum() and s[-1].isalnum()
)


@given(st.text(max_size=140))
def test_any_text_either_parses_to_a_safe_name_or_raises_invalid_name(text: str) -> None:
    try:
        name = parse_name(text)
    except InvalidName:
        return
    rendered = str(name)
    assert ".." not in rendered
    assert not rendered.startswith((".", "/"))
    assert all(c in _segment_chars + "ABCDEFGHIJKLMNOPQRSTUVWXYZ/" for c in rendered)
    assert parse_name(rendered) == name  # the normal form is a fixed point


@given(segments, segments)
def test_community_names_round_trip_and_key_folds_dash_and_underscore(ns: str, model: str) -> None:
    text = f"{ns}/{model}"
    try:
        name = parse_name(text)
    except InvalidName:
        # Only reserved namespaces and device names may be refused.
        devices = {"con", "prn", "aux", "nul"}
        assert (
            canonical_key(ns) in RESERVED_NAMESPACES
            or {ns, model} & devices
            or {ns[:3], model[:3]} & {"com", "lpt"}
        )
        return
    if is_locale(ns):
        assert name.official
        return
    assert str(name) == text
    assert name.key == text.replace("-", "_")
    assert canonical_key(text.replace("_", "-")) == name.key
