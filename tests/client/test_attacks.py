"""Attacks on a registry, python-tuf repository-simulator style.

Each test builds a registry, tampers with it the way a compromised mirror or
a man in the middle could, and checks that the pull fails with the right
error and that the cache holds nothing new.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from registry_sim import RegistrySim, cache_files, train_bytes

from phony_client.config import NamespaceSources, TrustedKey, load_config, save_config
from phony_client.lookup import find_cached_model
from phony_client.pull import pull
from phony_registry import layout
from phony_registry.digests import digest_bytes
from phony_registry.errors import (
    DigestMismatch,
    ExpiredError,
    KeyChangedError,
    PhonyError,
    RollbackError,
    SignatureError,
    SourceConflict,
)
from phony_registry.manifest import Manifest, PackMember
from phony_registry.signing import PrivateKey


def assert_refused(
    sim: RegistrySim, reference: str, error: type[PhonyError], match: str | None = None
) -> None:
    before = cache_files()
    with pytest.raises(error, match=match):
        pull(reference, registry=sim.location)
    assert cache_files() == before, "a refused pull left something in the cache"


def test_flipped_byte_in_blob(sim: RegistrySim, model_v2: bytes) -> None:
    manifest = sim.publish("alice/names", "1.0.0", model_v2)
    path = sim.path(layout.blob_path(manifest.digest or ""))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert_refused(sim, "alice/names@1.0.0", DigestMismatch, "blob sha256:")


def test_truncated_and_padded_blob(sim: RegistrySim, model_v2: bytes) -> None:
    manifest = sim.publish("alice/names", "1.0.0", model_v2)
    path = sim.path(layout.blob_path(manifest.digest or ""))
    path.write_bytes(model_v2[:-10])
    assert_refused(sim, "alice/names@1.0.0", DigestMismatch, "expected")
    path.write_bytes(model_v2 + b"\0" * 1000)
    assert_refused(sim, "alice/names@1.0.0", DigestMismatch, "more than")


def test_edited_manifest_field(sim: RegistrySim, model_v2: bytes) -> None:
    manifest = sim.publish("alice/names", "1.0.0", model_v2)
    path = sim.path(layout.manifest_path("alice/names", "1.0.0"))
    data = json.loads(path.read_bytes())
    data["license"] = "proprietary"
    path.write_bytes(Manifest.from_dict(data).to_bytes())
    assert manifest.license != "proprietary"
    assert_refused(sim, "alice/names@1.0.0", DigestMismatch, "does not match the registry's index")


def test_edited_manifest_that_the_index_agrees_with(sim: RegistrySim, model_v2: bytes) -> None:
    # A registry that re-indexes an edited manifest still cannot forge its signature.
    manifest = sim.publish("alice/names", "1.0.0", model_v2, snapshot=False)
    data = manifest.to_dict()
    data["description"] = "edited after signing"
    shutil.rmtree(sim.path("index"))
    sim.add_manifest(Manifest.from_dict(data), model_v2, signers=[])
    assert_refused(sim, "alice/names@1.0.0", SignatureError, "does not match its content")


def test_swapped_signature(sim: RegistrySim, model_v2: bytes) -> None:
    other = sim.publish("alice/other", "1.0.0", train_bytes(["x", "y", "z"]))
    manifest = Manifest.model(
        "alice/names", "1.0.0", digest=other.digest or "", size=other.size or 0, format_version=2
    )
    stolen = Manifest.from_dict({**manifest.to_dict(), "signatures": list(other.signatures)})
    sim.add_manifest(stolen, train_bytes(["x", "y", "z"]), signers=[])
    assert_refused(sim, "alice/names@1.0.0", SignatureError)


def test_manifest_signed_by_an_untrusted_key(sim: RegistrySim, model_v2: bytes) -> None:
    stranger = PrivateKey.generate()
    sim.publish("alice/names", "1.0.0", model_v2, signers=[stranger])
    assert_refused(sim, "alice/names@1.0.0", SignatureError, stranger.keyid[:16])


def test_unsigned_manifest(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/names", "1.0.0", model_v2, signers=[])
    assert_refused(sim, "alice/names@1.0.0", SignatureError, "no valid signature")


def test_namespace_key_trusted_by_the_user_is_accepted(
    sim: RegistrySim, model_v2: bytes, run_cli: object
) -> None:
    alice = PrivateKey.generate()
    sim.publish("alice/names", "1.0.0", model_v2, signers=[alice])
    sim.publish("bob/names", "1.0.0", model_v2, signers=[alice])
    run_cli("keys", "trust", alice.public_key.to_base64(), "--namespace", "alice")  # type: ignore[operator]
    assert pull("alice/names@1.0.0", registry=sim.location).ref.digest
    # Alice's key is trusted for alice/, not for bob/.
    assert_refused(sim, "bob/names@1.0.0", SignatureError)


def test_older_snapshot_is_a_rollback(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/names", "1.0.0", model_v2)
    old_snapshot = sim.read(layout.snapshot_path())
    old_index = sim.read(layout.index_path("alice/names"))
    sim.publish("alice/names", "1.1.0", train_bytes(["a1", "b2"]))
    pull("alice/names@1.1.0", registry=sim.location)
    sim.write(layout.snapshot_path(), old_snapshot)
    sim.write(layout.index_path("alice/names"), old_index)
    assert_refused(sim, "alice/names@^1", RollbackError, "older than version 2")


def test_same_snapshot_version_with_other_content(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/names", "1.0.0", model_v2)
    pull("alice/names@^1", registry=sim.location)
    sim.publish("alice/names", "1.1.0", train_bytes(["a1", "b2"]), snapshot=False)
    sim.snapshot(version=sim.version)  # re-signed without a new version number
    assert_refused(sim, "alice/names@^1", RollbackError, "different")


def test_expired_snapshot_is_a_freeze(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/names", "1.0.0", model_v2, snapshot=False)
    sim.snapshot(now=datetime.now(UTC) - timedelta(days=10), expires_in=timedelta(days=1))
    assert_refused(sim, "alice/names@1.0.0", ExpiredError, "expired")


def test_index_file_from_another_snapshot_is_mix_and_match(
    sim: RegistrySim, model_v2: bytes
) -> None:
    sim.publish("alice/names", "1.0.0", model_v2)
    first_index = sim.read(layout.index_path("alice/names"))
    sim.publish("alice/names", "1.1.0", train_bytes(["a1", "b2"]))
    sim.write(layout.index_path("alice/names"), first_index)
    assert_refused(sim, "alice/names@^1", DigestMismatch, "does not match snapshot version 2")


def test_snapshot_edited_without_its_key(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/names", "1.0.0", model_v2)
    data = json.loads(sim.read(layout.snapshot_path()))
    data["expires"] = "2099-01-01T00:00:00Z"
    sim.write(layout.snapshot_path(), json.dumps(data).encode())
    assert_refused(sim, "alice/names@1.0.0", SignatureError, "does not match its content")


def test_registry_key_changed_after_first_use(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/names", "1.0.0", model_v2)
    pull("alice/names@1.0.0", registry=sim.location)
    intruder = PrivateKey.generate()
    sim.key = intruder
    sim.write(layout.registry_key_path(), intruder.public_key.to_pem())
    sim.publish("alice/names", "1.1.0", train_bytes(["a1", "b2"]))
    assert_refused(sim, "alice/names@1.1.0", KeyChangedError, "pinned")


def test_snapshot_signed_by_another_key_than_the_served_one(
    sim: RegistrySim, model_v2: bytes
) -> None:
    sim.publish("alice/names", "1.0.0", model_v2, snapshot=False)
    sim.snapshot(key=PrivateKey.generate())
    assert_refused(sim, "alice/names@1.0.0", SignatureError)


def test_official_names_need_the_official_key(sim: RegistrySim, model_v2: bytes) -> None:
    # Whoever serves an official name, only the official key vouches for it: neither
    # the registry's own key nor a third key.
    sim.publish("tr_TR/first_names", "1.0.0", model_v2)
    assert_refused(sim, "tr_TR/first_names", SignatureError, "not signed by the official key")
    sim.publish("tr_TR/first_names", "1.1.0", model_v2, signers=[PrivateKey.generate()])
    assert_refused(sim, "tr_TR/first_names@1.1.0", SignatureError, "official key")


def test_a_pack_cannot_carry_names_of_another_registry(
    sim: RegistrySim, model_v2: bytes, tmp_path: Path
) -> None:
    team = RegistrySim(tmp_path / "team")
    team.publish("alice/names", "1.0.0", model_v2)
    pull("alice/names@1.0.0", registry=team.location)
    evil = train_bytes(["MALLORYA", "MALLORYB", "MALLORYC"])
    member = sim.publish("alice/names", "1.0.0", evil, snapshot=False)
    sim.publish("mallory/own", "1.0.0", evil, snapshot=False)
    sim.publish_pack(
        "mallory/fun",
        "1.0.0",
        [
            PackMember("mallory/own", "1.0.0", member.digest or ""),
            PackMember("alice/names", "1.0.0", member.digest or ""),
        ],
    )
    assert_refused(sim, "mallory/fun", SourceConflict, "claimed by two registries")
    with pytest.raises(SourceConflict, match=str(team.root)):
        pull("alice/names@1.0.0", registry=sim.location, refresh=True)
    assert find_cached_model("alice/names").read_bytes() == model_v2
    # mallory/ was never recorded: the refused pull claimed nothing.
    assert "mallory" not in NamespaceSources.load()


def test_a_namespace_with_a_trusted_key_requires_it(sim: RegistrySim, model_v2: bytes) -> None:
    alice = PrivateKey.generate()
    sim.publish("alice/names", "1.0.0", model_v2)  # the registry's key only
    config = load_config()
    config.trusted_keys.append(TrustedKey(alice.public_key.to_base64(), namespace="alice"))
    save_config(config)
    assert_refused(sim, "alice/names@1.0.0", SignatureError, "trusted for namespace alice")
    sim.publish("alice/names", "1.1.0", model_v2, signers=[alice])
    assert pull("alice/names@1.1.0", registry=sim.location).ref.version == "1.1.0"


def test_a_mapped_namespace_is_pulled_from_its_registry(
    sim: RegistrySim, model_v2: bytes, tmp_path: Path
) -> None:
    sim.publish("alice/names", "1.0.0", model_v2)
    other = RegistrySim(tmp_path / "other")
    other.publish("alice/names", "1.0.0", train_bytes(["x1", "y2", "z3"]))
    config = load_config()
    config.namespaces["alice"] = sim.location
    save_config(config)
    # No --registry: the namespace's registry, not the default (the official index).
    assert pull("alice/names@1.0.0").ref.location == sim.location
    assert_refused(other, "alice/names@1.0.0", SourceConflict, "configured in")


def test_refs_of_one_namespace_from_two_registries_are_an_error_in_lookup(
    sim: RegistrySim, model_v2: bytes, tmp_path: Path
) -> None:
    # Refs written by an older phony, which recorded no source for the namespace.
    other = RegistrySim(tmp_path / "other")
    sim.publish("alice/names", "1.0.0", model_v2)
    other.publish("alice/names", "1.0.0", train_bytes(["x1", "y2", "z3"]))
    pull("alice/names@1.0.0", registry=sim.location)
    NamespaceSources.path().unlink()
    pull("alice/names@1.0.0", registry=other.location)
    NamespaceSources.path().unlink()
    with pytest.raises(SourceConflict, match=f"{sim.root} and {other.root}|{other.root} and"):
        find_cached_model("alice/names@1.0.0")


def test_registry_without_a_key_is_refused_on_first_use(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/names", "1.0.0", model_v2)
    sim.path(layout.registry_key_path()).unlink()
    assert_refused(sim, "alice/names@1.0.0", SignatureError, "publishes no key")


def test_index_file_listing_another_model(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("bob/names", "1.0.0", model_v2, snapshot=False)
    sim.write(layout.index_path("alice/names"), sim.read(layout.index_path("bob/names")))
    sim.snapshot()
    assert_refused(sim, "alice/names", DigestMismatch, "lists bob/names@1.0.0")


def test_model_in_a_newer_format_is_refused_and_not_kept(sim: RegistrySim) -> None:
    import gzip

    from phony_registry.errors import UnsupportedFormatVersion

    future = gzip.compress(b'{"format_version": 99}', mtime=0)
    manifest = Manifest.model(
        "alice/future", "1.0.0", digest=digest_bytes(future), size=len(future), format_version=99
    )
    sim.add_manifest(manifest, future)
    assert_refused(sim, "alice/future", UnsupportedFormatVersion, "upgrade phony")


def test_every_namespace_can_be_mapped_to_one_registry(
    sim: RegistrySim, model_v2: bytes, tmp_path: Path
) -> None:
    # "*" in [namespaces] (cargo's source replacement): every namespace not listed by
    # name belongs to that registry, even one first pulled from elsewhere.
    other = RegistrySim(tmp_path / "other")
    other.publish("alice/names", "1.0.0", train_bytes(["x1", "y2", "z3"]))
    pull("alice/names@1.0.0", registry=other.location)
    sim.publish("alice/names", "1.0.0", model_v2)
    sim.publish("bob/names", "1.0.0", model_v2)
    config = load_config()
    config.namespaces["*"] = sim.location
    save_config(config)
    assert pull("bob/names@1.0.0").ref.location == sim.location
    assert pull("alice/names@1.0.0").ref.location == sim.location
    assert find_cached_model("alice/names").read_bytes() == model_v2
    assert_refused(other, "alice/names@1.0.0", SourceConflict, "configured in")
