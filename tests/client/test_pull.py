"""Pulling from a folder registry: resolution, caching, migration, packs, lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_sim import RegistrySim, cache_files, train_bytes

from phony_client.cache import Cache
from phony_client.lookup import find_cached_model
from phony_client.pull import pull
from phony_client.sources import FolderSource
from phony_registry.digests import digest_bytes, digest_file
from phony_registry.errors import DigestMismatch, NotFound, OfflineError, UsageError
from phony_registry.manifest import PackMember


@pytest.fixture
def published(sim: RegistrySim, model_v2: bytes) -> RegistrySim:
    sim.publish("alice/names", "1.0.0", model_v2)
    sim.publish("alice/names", "1.2.0", train_bytes(["ali", "veli", "can"]))
    sim.publish("alice/names", "1.3.0", train_bytes(["deniz", "umut", "ece"]))
    sim.publish("alice/names", "2.0.0", train_bytes(["kerem", "arda", "efe"]))
    sim.yank("alice/names", "1.3.0")
    return sim


@pytest.mark.parametrize(
    ("spec", "version"),
    [
        ("^1.2", "1.2.0"),
        ("~1.0", "1.0.0"),
        ("1.3.0", "1.3.0"),
        ("latest", "2.0.0"),
        (None, "2.0.0"),
        (">=1,<2", "1.2.0"),
    ],
    ids=str,
)
def test_pull_resolves_specs_and_skips_yanked_for_ranges(
    published: RegistrySim, spec: str | None, version: str
) -> None:
    reference = "alice/names" + (f"@{spec}" if spec else "")
    result = pull(reference, registry=published.location)
    assert result.ref.version == version
    assert result.ref.yanked is (version == "1.3.0")
    path = Cache().blob_path(result.ref.digest or "")
    assert digest_file(path)[0] == result.ref.digest


def test_pull_by_digest(published: RegistrySim) -> None:
    digest = digest_bytes(train_bytes(["ali", "veli", "can"]))
    assert pull(f"alice/names@{digest}", registry=published.location).ref.version == "1.2.0"


def test_unknown_model_and_version_are_clear(published: RegistrySim) -> None:
    with pytest.raises(NotFound, match="bob/names is not in registry"):
        pull("bob/names", registry=published.location)
    with pytest.raises(NotFound, match=r"no version of alice/names matches \^3"):
        pull("alice/names@^3", registry=published.location)
    assert cache_files() == set()


def test_cached_pin_needs_no_registry_access(
    published: RegistrySim, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pull("alice/names@1.0.0", registry=published.location)
    assert not first.from_cache

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the registry was consulted for a cached pin")

    monkeypatch.setattr(FolderSource, "fetch", refuse)
    monkeypatch.setattr(FolderSource, "stream", refuse)
    again = pull("alice/names@1.0.0", registry=published.location)
    assert again.from_cache
    assert again.ref.digest == first.ref.digest


def test_lookup_finds_pulled_models_by_name_and_spec(published: RegistrySim) -> None:
    pull("alice/names@1.0.0", registry=published.location)
    pull("alice/names@^1.2", registry=published.location)
    assert find_cached_model("alice/names").read_bytes() == train_bytes(["ali", "veli", "can"])
    assert find_cached_model("alice/names@1.0").read_bytes() == train_bytes()
    with pytest.raises(NotFound, match="phony models pull bob/x"):
        find_cached_model("bob/x")


def test_lookup_offline_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHONY_OFFLINE", "1")
    with pytest.raises(OfflineError, match="PHONY_OFFLINE"):
        find_cached_model("alice/names@^1")


def test_corrupted_blob_is_discarded_and_fetched_again_on_use(published: RegistrySim) -> None:
    ref = pull("alice/names@1.0.0", registry=published.location).ref
    blob = Cache().blob_path(ref.digest or "")
    blob.write_bytes(b"garbage")
    path = find_cached_model("alice/names@1.0.0")
    assert digest_file(path)[0] == ref.digest


def test_older_format_is_migrated_and_the_original_kept(sim: RegistrySim, model_v1: bytes) -> None:
    from phony_registry.format import load_model
    from phony_registry.model import FORMAT_VERSION

    sim.publish("alice/old", "1.0.0", model_v1)
    ref = pull("alice/old", registry=sim.location).ref
    assert ref.format_version == 1
    assert ref.derived is not None
    assert ref.derived_format_version == FORMAT_VERSION
    cache = Cache()
    assert cache.blob_path(ref.digest or "").read_bytes() == model_v1  # byte for byte
    path = find_cached_model("alice/old")
    assert path == cache.blob_path(ref.derived)
    migrated = load_model(path)
    assert migrated.format_version == FORMAT_VERSION
    assert migrated.generate(5, 1) == load_model(model_v1).generate(5, 1)


def test_pack_pulls_its_members(sim: RegistrySim, model_v2: bytes) -> None:
    first = sim.publish("alice/first_names", "1.0.0", model_v2, snapshot=False)
    last = sim.publish("alice/last_names", "1.0.0", train_bytes(["yilmaz", "kaya"]))
    members = [PackMember(m.name, m.version, m.digest or "") for m in (first, last)]
    sim.publish_pack("alice/people", "1.0.0", members)
    result = pull("alice/people", registry=sim.location)
    assert [r.ref for r in result.refs] == [
        "alice/people@1.0.0",
        "alice/first_names@1.0.0",
        "alice/last_names@1.0.0",
    ]
    assert find_cached_model("alice/last_names").read_bytes() == train_bytes(["yilmaz", "kaya"])
    with pytest.raises(UsageError, match="is a pack"):
        find_cached_model("alice/people")


def test_pack_member_with_another_digest_is_refused(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/first_names", "1.0.0", model_v2)
    sim.publish_pack(
        "alice/people",
        "1.0.0",
        [PackMember("alice/first_names", "1.0.0", digest_bytes(b"other"))],
    )
    with pytest.raises(DigestMismatch, match=r"pack alice/people@1\.0\.0"):
        pull("alice/people", registry=sim.location)
    assert cache_files() == set()


def test_refs_and_manifests_are_recorded(published: RegistrySim) -> None:
    ref = pull("alice/names@1.0.0", registry=published.location).ref
    assert ref.location == str(published.root)
    stored = [p for p in cache_files() if p.startswith("refs/")]
    assert len(stored) == 1
    data = json.loads((Cache().root / stored[0]).read_text())
    assert data["digest"] == ref.digest
    assert Path(data["location"]) == published.root


def test_official_bundled_index_pulls_with_the_built_in_key() -> None:
    import phony_index

    # The bundled index is committed: a checkout without its snapshot is broken, not skipped.
    assert (Path(phony_index.ROOT) / "snapshot.json").is_file(), "registry-index/snapshot.json"
    result = pull("tr_TR/first_names")
    assert result.ref.name == "tr_TR/first_names"
    assert find_cached_model("tr_TR/first_names").exists()
