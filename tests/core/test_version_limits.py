"""The limits of a version, in one place (phony_registry.versions), each refused
with one line naming it."""

from __future__ import annotations

import re

import pytest

from phony_registry.errors import InvalidVersion
from phony_registry.versions import (
    MAX_IDENTIFIER_LENGTH,
    MAX_NUMBER_DIGITS,
    MAX_VERSION_LENGTH,
    VERSION_PATTERN,
    parse_spec,
    parse_version,
)

LONGEST_IDENTIFIER = "a" * MAX_IDENTIFIER_LENGTH
LARGEST_NUMBER = "9" * MAX_NUMBER_DIGITS


@pytest.mark.parametrize(
    "text",
    [
        f"1.0.0-{'a' * 40}",  # a git commit id
        f"1.0.0-{LONGEST_IDENTIFIER}",
        f"{LARGEST_NUMBER}.{LARGEST_NUMBER}.{LARGEST_NUMBER}",
        "1.0.0-" + ".".join(["a"] * 61),  # 128 characters
        "1.0.0-rc.1",
        "1.0.0-0a.x-y",
    ],
    ids=["sha1", "longest-identifier", "largest-numbers", "longest", "rc", "mixed"],
)
def test_versions_within_the_limits(text: str) -> None:
    assert str(parse_version(text)) == text
    assert re.fullmatch(VERSION_PATTERN, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"1.0.0-{'a' * (MAX_IDENTIFIER_LENGTH + 1)}",
            f"a pre-release identifier is at most {MAX_IDENTIFIER_LENGTH} characters",
        ),
        (
            f"1.0.0-rc.{'1' * (MAX_IDENTIFIER_LENGTH + 1)}",
            f"a pre-release identifier is at most {MAX_IDENTIFIER_LENGTH} characters",
        ),
        ("1" * (MAX_NUMBER_DIGITS + 1) + ".0.0", f"a number is at most {MAX_NUMBER_DIGITS} digits"),
        ("1.0." + "1" * (MAX_NUMBER_DIGITS + 1), f"a number is at most {MAX_NUMBER_DIGITS} digits"),
        (
            "1.0.0-" + ".".join(["a"] * 62),
            f"a version is at most {MAX_VERSION_LENGTH} characters",
        ),
        ("01.0.0", "a number has no leading zero"),
        ("1.0.0-01", "a numeric pre-release identifier has no leading zero"),
        ("1.0.0-a..b", "a pre-release identifier is never empty"),
        ("1.0.0-", "a pre-release identifier is never empty"),
        ("1.0.0-a_b", "a pre-release identifier uses only ASCII letters, digits and '-'"),
        ("\u0661.0.0", "not a semantic version (expected MAJOR.MINOR.PATCH)"),
        ("1.0", "not a semantic version (expected MAJOR.MINOR.PATCH)"),
    ],
    ids=[
        "identifier", "numeric-identifier", "major", "patch", "total", "leading-zero",
        "pre-leading-zero", "empty-identifier", "trailing-dash", "underscore", "arabic-digit",
        "partial",
    ],
)  # fmt: skip
def test_each_limit_is_one_line_naming_it(text: str, message: str) -> None:
    with pytest.raises(InvalidVersion) as caught:
        parse_version(text)
    shown = str(caught.value)
    assert "\n" not in shown
    assert shown.endswith(f": {message}"), shown
    assert re.fullmatch(VERSION_PATTERN, text) is None


def test_a_spec_follows_the_same_limits() -> None:
    with pytest.raises(InvalidVersion, match=f"at most {MAX_IDENTIFIER_LENGTH} characters"):
        parse_spec(f"=1.0.0-{'a' * (MAX_IDENTIFIER_LENGTH + 1)}")
    with pytest.raises(InvalidVersion, match=f"at most {MAX_NUMBER_DIGITS} digits"):
        parse_spec("^" + "1" * (MAX_NUMBER_DIGITS + 1))
    assert str(parse_spec(f"1.0.0-{LONGEST_IDENTIFIER}")) == f"1.0.0-{LONGEST_IDENTIFIER}"
