"""Index lines, resolution, the signed snapshot and the static layout."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phony_registry import layout
from phony_registry.digests import digest_bytes
from phony_registry.errors import (
    AlreadyExists,
    DigestMismatch,
    ExpiredError,
    NotFound,
    SignatureError,
    ValidationError,
)
from phony_registry.index import (
    FileInfo,
    IndexEntry,
    Snapshot,
    add_entry,
    parse_index,
    render_index,
    resolve,
    set_yanked,
)
from phony_registry.signing import PrivateKey


def entry(version: str, content: bytes = b"x", **kw: object) -> IndexEntry:
    return IndexEntry(
        name="alice/names",
        version=version,
        digest=digest_bytes(content),
        size=len(content),
        manifest=digest_bytes(version.encode()),
        format_version=2,
        **kw,
    )  # type: ignore[arg-type]


def test_index_file_is_sorted_lines_and_round_trips() -> None:
    data = b""
    for version in ("1.10.0", "1.2.0", "1.2.0-rc.1"):
        data, added = add_entry(data, entry(version, version.encode()))
        assert added
    assert [e.version for e in parse_index(data)] == ["1.2.0-rc.1", "1.2.0", "1.10.0"]
    assert render_index(parse_index(data)) == data
    assert data.count(b"\n") == 3


def test_republishing_is_idempotent_but_other_bytes_conflict() -> None:
    data, _ = add_entry(b"", entry("1.0.0"))
    same, added = add_entry(data, entry("1.0.0"))
    assert (same, added) == (data, False)
    with pytest.raises(AlreadyExists, match=r"alice/names@1\.0\.0"):
        add_entry(data, entry("1.0.0", b"other"))


def test_yank_changes_only_the_flag_and_ranges_skip_it() -> None:
    data, _ = add_entry(b"", entry("1.0.0"))
    data, _ = add_entry(data, entry("1.1.0", b"y"))
    yanked = set_yanked(data, "1.1.0", True)
    before, after = parse_index(data)[1], parse_index(yanked)[1]
    assert after.yanked
    assert replace(after, yanked=False) == before
    assert resolve(parse_index(yanked), "^1").version == "1.0.0"
    assert resolve(parse_index(yanked), "1.1.0").version == "1.1.0"
    with pytest.raises(NotFound, match=r"1\.1\.0 \(yanked\)"):
        resolve(parse_index(yanked), "^1.1", "alice/names")
    with pytest.raises(NotFound):
        set_yanked(data, "9.9.9", True)


def test_resolve_by_blob_or_manifest_digest() -> None:
    entries = [entry("1.0.0", b"a"), entry("1.1.0", b"b")]
    assert resolve(entries, digest_bytes(b"a")).version == "1.0.0"
    assert resolve(entries, entries[1].manifest).version == "1.1.0"


def test_malformed_lines_are_refused() -> None:
    with pytest.raises(ValidationError, match="line 1"):
        parse_index(b"not json\n")
    with pytest.raises(ValidationError, match=r"index\.manifest"):
        parse_index(b'{"name":"alice/names","version":"1.0.0"}\n')


def test_snapshot_sign_verify_expiry_and_file_check() -> None:
    key = PrivateKey.generate()
    index = render_index([entry("1.0.0")])
    path = layout.index_path("alice/names")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    snap = Snapshot.new(
        {path: FileInfo.of(index)}, version=3, now=now, expires_in=timedelta(days=1)
    ).signed(key)
    parsed = Snapshot.from_bytes(snap.to_bytes())
    assert parsed.verify(key.public_key) == [key.keyid]
    parsed.check_file(path, index)
    parsed.check_expiry(now + timedelta(hours=23))
    with pytest.raises(ExpiredError, match="expired"):
        parsed.check_expiry(now + timedelta(days=1))
    with pytest.raises(DigestMismatch, match="snapshot version 3"):
        parsed.check_file(path, index + b"\n")
    with pytest.raises(NotFound):
        parsed.check_file("index/bob/x.jsonl", index)
    with pytest.raises(SignatureError):
        parsed.verify(PrivateKey.generate().public_key)
    bumped = replace(parsed, version=4)
    with pytest.raises(SignatureError):
        bumped.verify(key.public_key)


def test_layout_paths() -> None:
    digest = digest_bytes(b"x")
    hexd = digest.split(":")[1]
    assert layout.snapshot_path() == "snapshot.json"
    assert (
        layout.index_path("alice/Istanbul-Streets".lower()) == "index/alice/istanbul_streets.jsonl"
    )
    assert layout.index_path("tr-TR") == "index/tr_tr.jsonl"
    assert (
        layout.manifest_path("en_US/first_names", "1.0.0")
        == "manifests/en_us/first_names/1.0.0.json"
    )
    assert layout.blob_path(digest) == f"blobs/sha256/{hexd[:2]}/{hexd}"
    assert layout.name_of_index_path("index/alice/names.jsonl") == "alice/names"
    with pytest.raises(ValidationError):
        layout.blob_path("sha256:../../etc/passwd")
    with pytest.raises(ValueError, match="relative"):
        layout.to_local("/tmp", "../x")


@given(st.binary(max_size=300))
def test_garbage_snapshots_and_index_files_are_validation_errors(data: bytes) -> None:
    with contextlib.suppress(ValidationError):
        Snapshot.from_bytes(data)
    with contextlib.suppress(ValidationError):
        parse_index(data)


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=5,
    )
)
def test_canonical_json_is_a_fixed_point(value: dict[str, object]) -> None:
    import json

    from phony_registry.canonical import canonical_json

    data = canonical_json(value)
    assert json.loads(data) == value
    assert canonical_json(json.loads(data)) == data
