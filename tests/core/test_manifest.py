"""Model and pack manifests: validation, stored form, signatures."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phony_registry.digests import digest_bytes
from phony_registry.errors import InvalidManifest, SignatureError, ValidationError
from phony_registry.manifest import Manifest, PackMember
from phony_registry.signing import PrivateKey

DIGEST = digest_bytes(b"model bytes")


def make(**overrides: object) -> Manifest:
    fields: dict[str, object] = {
        "digest": DIGEST,
        "size": 11,
        "format_version": 2,
        "kind": "first_names",
        "locale": "tr_TR",
        "license": "CC0-1.0",
        "description": "Names",
    }
    fields.update(overrides)
    return Manifest.model("alice/names", "1.2.0", **fields)  # type: ignore[arg-type]


def test_stored_form_round_trips_and_signature_verifies() -> None:
    key = PrivateKey.generate()
    manifest = make().signed(key)
    again = Manifest.from_bytes(manifest.to_bytes())
    assert again == manifest
    assert again.to_bytes() == manifest.to_bytes()
    assert again.verify([key.public_key]) == [key.keyid]
    assert again.ref == "alice/names@1.2.0"
    assert manifest.manifest_digest == digest_bytes(manifest.to_bytes())


def test_unknown_fields_are_kept_and_signed() -> None:
    key = PrivateKey.generate()
    data = make().to_dict()
    data["homepage"] = "https://example.org"
    manifest = Manifest.from_dict(data).signed(key)
    parsed = Manifest.from_bytes(manifest.to_bytes())
    assert parsed.extra == {"homepage": "https://example.org"}
    parsed.verify([key.public_key])
    edited = json.loads(manifest.to_bytes())
    edited["homepage"] = "https://evil.example"
    with pytest.raises(SignatureError):
        Manifest.from_dict(edited).verify([key.public_key])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("digest", "md5:abc", "digest"),
        ("size", -1, "size"),
        ("size", "12", "size"),
        ("format_version", 0, "format_version"),
        ("name", "Alice/Names", "name"),
        ("name", "tr-tr", "normal form"),
        ("version", "1.2", "version"),
        ("type", "bundle", "type"),
        ("created", "yesterday", "created"),
        ("description", "x" * 5000, "description"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_bad_fields_are_named(field: str, value: object, message: str) -> None:
    data = make().to_dict()
    data[field] = value
    with pytest.raises(InvalidManifest, match=message) as info:
        Manifest.from_dict(data)
    assert info.value.field is None or info.value.field.startswith(field)


def test_missing_digest_is_refused_for_models() -> None:
    data = make().to_dict()
    del data["digest"]
    with pytest.raises(InvalidManifest, match="digest: is required"):
        Manifest.from_dict(data)


def test_pack_lists_members() -> None:
    members = [
        PackMember("tr_TR/first_names", "1.0.0", DIGEST),
        PackMember("tr_TR/cities", "1.0.0", DIGEST),
    ]
    pack = Manifest.pack("tr_TR", "1.0.0", members, locale="tr_TR", license="MIT")
    assert pack.is_pack
    assert pack.digest is None
    parsed = Manifest.from_bytes(pack.to_bytes())
    assert parsed.members == tuple(members)
    with pytest.raises(InvalidManifest, match="at least one member"):
        Manifest.pack("tr_TR", "1.0.0", [])


def test_not_json_is_an_invalid_manifest() -> None:
    with pytest.raises(InvalidManifest, match="JSON"):
        Manifest.from_bytes(b"\x00garbage")


@given(st.binary(max_size=400))
def test_garbage_manifests_are_invalid_manifests(data: bytes) -> None:
    with contextlib.suppress(ValidationError):
        Manifest.from_bytes(data)


@pytest.mark.parametrize("field", ["digest", "size"])
def test_a_pack_names_no_blob_of_its_own(field: str) -> None:
    member = PackMember("tr_TR/first_names", "1.0.0", digest_bytes(b"x"))
    data = Manifest.pack("tr_TR", "1.0.0", [member]).to_dict()
    data[field] = digest_bytes(b"x") if field == "digest" else 1
    with pytest.raises(InvalidManifest, match="a pack names no blob") as exc:
        Manifest.from_dict(data)
    assert exc.value.field == field
