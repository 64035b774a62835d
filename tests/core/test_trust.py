"""Who may speak for a name (phony_registry.trust), and the verified reader over files in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from phony_registry import layout
from phony_registry.digests import digest_bytes
from phony_registry.errors import DigestMismatch, KeyChangedError, SignatureError, SourceConflict
from phony_registry.index import FileInfo, IndexEntry, Snapshot, add_entry
from phony_registry.manifest import Manifest, PackMember
from phony_registry.names import parse_name
from phony_registry.reader import MappingSource, VerifiedReader
from phony_registry.signing import PrivateKey
from phony_registry.trust import CONFIGURED, Owner, TrustPolicy

BLOB = b"not really a model, but the reader only hashes it"


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {name: PrivateKey.generate() for name in ("official", "team", "mallory", "alice")}


def model(name: str, *signers: PrivateKey, version: str = "1.0.0") -> Manifest:
    manifest = Manifest.model(
        name, version, digest=digest_bytes(BLOB), size=len(BLOB), format_version=2
    )
    for signer in signers:
        manifest = manifest.signed(signer)
    return manifest


def policy(keys: dict[str, PrivateKey], **fields: object) -> TrustPolicy:
    return TrustPolicy(official_override=keys["official"].public_key, **fields)  # type: ignore[arg-type]


def test_official_names_need_the_official_key_whoever_serves_them(
    keys: dict[str, PrivateKey],
) -> None:
    rules = policy(keys)
    team = keys["team"].public_key
    signed, claim = rules.verify(model("tr_TR/first_names", keys["official"]), "t", "team", team)
    assert signed == [keys["official"].keyid]
    assert claim is None  # official names belong to no registry
    with pytest.raises(SignatureError, match="not signed by the official key"):
        rules.verify(model("tr_TR/first_names", keys["team"]), "t", "team", team)


def test_a_plugin_pack_speaks_for_its_own_locale_only(keys: dict[str, PrivateKey]) -> None:
    rules = policy(keys, locale_sources={"de_DE": "file:/plugin"})
    plugin = keys["team"].public_key
    rules.verify(model("de_DE/first_names", keys["team"]), "file:/plugin", "plugin", plugin)
    with pytest.raises(SignatureError):
        rules.verify(model("tr_TR/first_names", keys["team"]), "file:/plugin", "plugin", plugin)
    with pytest.raises(SignatureError):
        rules.verify(model("de_DE/first_names", keys["team"]), "file:/other", "other", plugin)


def test_a_namespace_belongs_to_one_registry(keys: dict[str, PrivateKey]) -> None:
    rules = policy(keys)
    alice = model("alice/names", keys["team"])
    _, claim = rules.verify(alice, "file:/team", "/team", keys["team"].public_key)
    assert claim == Owner("alice", "file:/team", "/team")
    owned = rules.with_owners([claim])
    owned.verify(alice, "file:/team", "/team", keys["team"].public_key)
    stolen = model("alice/names", keys["mallory"])
    with pytest.raises(
        SourceConflict, match=r"belongs to /team \(first pulled from there\)"
    ) as exc:
        owned.verify(stolen, "m", "/mallory", keys["mallory"].public_key)
    assert "/mallory" in str(exc.value)
    assert '[namespaces] alice = "/mallory"' in str(exc.value)


def test_configured_owners_win_over_recorded_ones(keys: dict[str, PrivateKey]) -> None:
    configured = Owner("alice", "file:/mirror", "mirror", CONFIGURED)
    rules = policy(keys, owners={"alice": configured}).with_owners(
        [Owner("alice", "file:/team", "/team")]
    )
    assert rules.owner("alice") == configured
    with pytest.raises(SourceConflict, match=r"configured in \[namespaces\]"):
        rules.check_source(parse_name("alice/names"), "file:/team", "/team")


def test_a_trusted_namespace_key_is_required(keys: dict[str, PrivateKey]) -> None:
    rules = policy(keys, namespace_keys={"alice": (keys["alice"].public_key,)})
    team = keys["team"].public_key
    rules.verify(model("alice/names", keys["alice"]), "t", "team", team)
    with pytest.raises(SignatureError, match="trusted for namespace alice"):
        rules.verify(model("alice/names", keys["team"]), "t", "team", team)
    # Other namespaces are still vouched for by their registry's key.
    rules.verify(model("bob/names", keys["team"]), "t", "team", team)


def test_recorded_refs_are_judged_without_signatures(keys: dict[str, PrivateKey]) -> None:
    official = keys["official"].keyid
    rules = policy(keys).with_owners([Owner("alice", "file:/team", "/team")])
    tr = parse_name("tr_TR/first_names")
    assert rules.accepts_recorded(tr, "m", [official], official_index="file:/index")
    assert not rules.accepts_recorded(tr, "m", [keys["mallory"].keyid], official_index="x")
    assert rules.accepts_recorded(tr, "file:/index", None, official_index="file:/index")
    assert not rules.accepts_recorded(tr, "m", None, official_index="file:/index")
    alice = parse_name("alice/names")
    assert rules.accepts_recorded(alice, "file:/team", [], official_index="x")
    assert not rules.accepts_recorded(alice, "m", [], official_index="x")


def _registry(key: PrivateKey, manifests: list[tuple[Manifest, bytes | None]]) -> dict[str, bytes]:
    files = {layout.registry_key_path(): key.public_key.to_pem()}
    for manifest, blob in manifests:
        if blob is not None:
            files[layout.blob_path(manifest.digest or "")] = blob
        files[layout.manifest_path(manifest.name, manifest.version)] = manifest.to_bytes()
        path = layout.index_path(manifest.name)
        files[path] = add_entry(files.get(path, b""), IndexEntry.for_manifest(manifest))[0]
    listed = {p: FileInfo.of(d) for p, d in files.items() if layout.is_index_path(p)}
    snapshot = Snapshot.new(listed, version=1, now=datetime.now(UTC)).signed(key)
    files[layout.snapshot_path()] = snapshot.to_bytes()
    return files


def test_the_reader_refuses_a_pack_with_a_member_its_source_may_not_speak_for(
    keys: dict[str, PrivateKey],
) -> None:
    mallory = keys["mallory"]
    own, official = model("mallory/own", mallory), model("tr_TR/first_names", mallory)
    members = [PackMember(m.name, m.version, m.digest or "") for m in (own, official)]
    pack = Manifest.pack("mallory/fun", "1.0.0", members).signed(mallory)
    files = _registry(mallory, [(own, BLOB), (official, BLOB), (pack, None)])
    reader = VerifiedReader(MappingSource(files), policy=policy(keys))
    problems: list[str] = []
    found = list(reader.walk(on_error=lambda path, exc: problems.append(f"{path}: {exc}")))
    assert [m.ref for _, m, _ in found] == ["mallory/own@1.0.0"]
    assert len(problems) == 2
    assert problems[0].startswith("index/mallory/fun.jsonl: pack mallory/fun@1.0.0 refused:")
    assert (
        "tr_TR/first_names@1.0.0 from in-memory registry is not signed by the official"
        in problems[0]
    )
    assert problems[1].startswith("index/tr_tr/first_names.jsonl: manifest of tr_TR/first_names")
    assert set(reader.claims) == {"mallory"}


def test_the_reader_checks_blobs_and_the_snapshot_key(keys: dict[str, PrivateKey]) -> None:
    team = keys["team"]
    files = _registry(team, [(model("alice/names", team), BLOB)])
    files[layout.blob_path(digest_bytes(BLOB))] = BLOB[:-1] + b"?"
    reader = VerifiedReader(MappingSource(files), policy=policy(keys))
    with pytest.raises(DigestMismatch, match=r"blob of alice/names@1\.0\.0"):
        list(reader.walk())
    pinned = VerifiedReader(MappingSource(files), policy=policy(keys), key=keys["alice"].public_key)
    with pytest.raises(KeyChangedError, match="pinned"):
        pinned.snapshot()
