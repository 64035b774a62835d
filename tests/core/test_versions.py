"""Semantic versions, specs and selection (yanked versions, pre-releases, digests)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phony_registry.errors import InvalidVersion
from phony_registry.versions import (
    DigestSpec,
    ExactSpec,
    RangeSpec,
    TagSpec,
    Version,
    parse_spec,
    parse_version,
    select,
)


@dataclass(frozen=True)
class Entry:
    version: str
    yanked: bool = False
    digest: str = "sha256:" + "0" * 64


def pick(spec: str, *entries: Entry) -> str | None:
    found = select(parse_spec(spec), entries)
    return found.version if found else None


def test_precedence_follows_semver() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
    ]
    parsed = [parse_version(v) for v in ordered]
    assert sorted(parsed) == parsed


@pytest.mark.parametrize(
    "text",
    ["1.0", "01.0.0", "1.0.0-01", "v1.0.0", "1.0.0+build.1", "1.0.0.0", "", "1.0.0-"],
)
def test_bad_versions_are_refused(text: str) -> None:
    with pytest.raises(InvalidVersion):
        parse_version(text)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("1.2.3", ExactSpec),
        ("=1.2.3", ExactSpec),
        ("^1.2", RangeSpec),
        ("~1.2.3", RangeSpec),
        (">=1,<2", RangeSpec),
        (">=1 <2", RangeSpec),
        ("1.2", RangeSpec),
        ("*", RangeSpec),
        ("latest", TagSpec),
        (None, TagSpec),
        ("sha256:" + "ab" * 32, DigestSpec),
    ],
    ids=str,
)
def test_spec_kinds(spec: str | None, kind: type) -> None:
    assert isinstance(parse_spec(spec), kind)


@pytest.mark.parametrize("spec", ["newest", "sha256:xyz", "^x", ">=1,<", "1.0.0+b", "~~1"], ids=str)
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(InvalidVersion):
        parse_spec(spec)


VERSIONS = [
    Entry(v)
    for v in [
        "0.1.0",
        "0.1.5",
        "0.2.0",
        "1.0.0",
        "1.2.0",
        "1.2.7",
        "1.3.0",
        "1.9.9",
        "2.0.0-rc.1",
        "2.0.0",
        "2.1.0-beta",
    ]
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("^1.2", "1.9.9"),
        ("^1.2.7", "1.9.9"),
        ("~1.2", "1.2.7"),
        ("~1.2.3", "1.2.7"),
        ("^0.1", "0.1.5"),
        ("^0.1.0", "0.1.5"),
        (">=1,<2", "1.9.9"),
        (">=1, <1.3", "1.2.7"),
        ("1.2", "1.2.7"),
        ("1", "1.9.9"),
        ("*", "2.0.0"),
        ("latest", "2.0.0"),
        ("1.2.0", "1.2.0"),
        ("2.0.0-rc.1", "2.0.0-rc.1"),
        ("^2.1.0-beta", "2.1.0-beta"),
        (">2", None),
        ("^3", None),
    ],
    ids=str,
)
def test_selection(spec: str, expected: str | None) -> None:
    assert pick(spec, *VERSIONS) == expected


def test_yanked_versions_skipped_by_ranges_and_tags_but_served_to_pins() -> None:
    entries = [Entry("1.0.0"), Entry("1.1.0", yanked=True)]
    assert pick("^1", *entries) == "1.0.0"
    assert pick("latest", *entries) == "1.0.0"
    assert pick("1.1.0", *entries) == "1.1.0"
    assert pick("^1.1", *entries) is None


def test_latest_falls_back_to_prereleases_when_nothing_else() -> None:
    assert pick("latest", Entry("1.0.0-rc.1"), Entry("1.0.0-rc.2")) == "1.0.0-rc.2"


def test_digest_spec_matches_by_digest_even_when_yanked() -> None:
    digest = "sha256:" + "cd" * 32
    entries = [Entry("1.0.0"), Entry("1.1.0", yanked=True, digest=digest)]
    assert pick(digest, *entries) == "1.1.0"
    assert pick("sha256:" + "ef" * 32, *entries) is None


versions = st.builds(
    Version,
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.one_of(
        st.just(()),
        st.lists(
            st.one_of(
                st.from_regex(r"[a-z][a-z0-9-]{0,5}", fullmatch=True), st.integers(0, 99).map(str)
            ),
            min_size=1,
            max_size=3,
        ).map(tuple),
    ),
)


@given(versions)
def test_version_text_round_trips(version: Version) -> None:
    assert parse_version(str(version)) == version
    assert isinstance(parse_spec(str(version)), ExactSpec)


@given(versions, versions)
def test_order_is_total_and_consistent(a: Version, b: Version) -> None:
    assert (a < b) + (b < a) + (a == b) == 1
    assert (a <= b) == (not b < a)


@given(versions)
def test_caret_and_tilde_contain_their_base_release(version: Version) -> None:
    if version.is_prerelease:
        return
    for op in ("^", "~", ">=", "<=", "="):
        assert parse_spec(f"{op}{version}").matches(version), op
    assert not parse_spec(f">{version}").matches(version)
    assert not parse_spec(f"<{version}").matches(version)


@given(versions, versions)
def test_caret_never_crosses_the_first_nonzero_part(base: Version, other: Version) -> None:
    if base.is_prerelease or other.is_prerelease:
        return
    spec = parse_spec(f"^{base}")
    if spec.matches(other):
        assert other >= base
        if base.major:
            assert other.major == base.major
        elif base.minor:
            assert (other.major, other.minor) == (0, base.minor)
        else:
            assert other.release == base.release


@given(st.lists(versions, min_size=1, max_size=12), st.sets(st.integers(0, 11)))
def test_select_returns_highest_unyanked_match(vs: list[Version], yanked: set[int]) -> None:
    entries = [Entry(str(v), yanked=i in yanked) for i, v in enumerate(vs)]
    found = select(parse_spec("*"), entries)
    eligible = [
        parse_version(e.version)
        for e in entries
        if not e.yanked and not parse_version(e.version).is_prerelease
    ]
    if not eligible:
        assert found is None
    else:
        assert found is not None
        assert parse_version(found.version) == max(eligible)
        assert not found.yanked


@given(st.text(max_size=60))
def test_any_text_is_a_spec_or_invalid_version(text: str) -> None:
    try:
        spec = parse_spec(text)
    except InvalidVersion:
        return
    # A parsed spec prints in a form that parses to the same spec.
    assert str(parse_spec(str(spec))) == str(spec)
