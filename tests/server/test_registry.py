"""The registry core on a storage: storage faults, replicas, reconcile, snapshot refresh."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from phony_registry.errors import RegistryUnavailable
from phony_registry.index import Snapshot, parse_index
from phony_registry.names import parse_name
from phony_registry.signing import PrivateKey
from phony_server.app import create_app
from phony_server.keys import load_registry_key
from phony_server.registry import Registry
from phony_server.settings import Settings
from phony_server.storage import LocalStorage, ObjectInfo, RegistryStorage, open_folder
from tests.server.conftest import Publisher, digest_of, make_blob


class FlakyStorage(LocalStorage):
    """A folder whose writes to chosen keys fail like a storage outage."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.failing: set[str] = set()

    def write(self, key: str, data: bytes, if_match: str | None) -> str:
        if key in self.failing:
            raise RegistryUnavailable(f"storage: cannot write {key}")
        return super().write(key, data, if_match)

    def create(self, key: str, source: bytes | Path) -> bool:
        if key in self.failing or any(key.startswith(p) for p in self.failing if p.endswith("/")):
            raise RegistryUnavailable(f"storage: cannot write {key}")
        return super().create(key, source)

    def stat(self, key: str) -> ObjectInfo | None:
        if "*" in self.failing:
            raise RegistryUnavailable("storage: unreachable")
        return super().stat(key)

    def read(self, key: str) -> tuple[bytes, str]:
        if "*" in self.failing:
            raise RegistryUnavailable("storage: unreachable")
        return super().read(key)


def _pair(public: LocalStorage) -> RegistryStorage:
    """``public`` and the private area beside it."""
    return RegistryStorage(public, LocalStorage(public.root.parent / "private", private=True))


def _registry(storage: LocalStorage) -> Registry:
    return Registry(_pair(storage), load_registry_key(_pair(storage), None))


def _consistent(storage: LocalStorage, name: str = "alice/names") -> list[str]:
    """Versions the signed snapshot makes visible (raises if index and snapshot disagree)."""
    key = load_registry_key(_pair(storage), None).public_key
    snapshot = Snapshot.from_bytes(storage.read_bytes("snapshot.json"))
    snapshot.verify(key)
    path = f"index/{name}.jsonl"
    data = storage.read_bytes(path)
    snapshot.check_file(path, data)
    return [e.version for e in parse_index(data)]


@pytest.fixture
def publisher() -> Publisher:
    return Publisher("unused", "t", PrivateKey.generate())


def _publish(registry: Registry, who: Publisher, version: str, blob: bytes) -> tuple[bool, object]:
    from phony_registry.names import parse_name

    manifest = who.manifest("alice/names", version, blob)
    registry.store_blob(digest_of(blob), blob)
    registry.check_blob(manifest)
    return registry.publish(manifest, parse_name("alice/names"))


def test_snapshot_failure_leaves_no_visible_version_and_a_retry_finishes(
    tmp_path: Path, publisher: Publisher, blob: bytes
) -> None:
    storage = FlakyStorage(tmp_path / "store" / "public")
    registry = _registry(storage)
    registry.ensure_snapshot()
    storage.failing.add("snapshot.json")
    with pytest.raises(RegistryUnavailable):
        _publish(registry, publisher, "1.0.0", blob)
    snapshot = Snapshot.from_bytes(storage.read_bytes("snapshot.json"))
    assert "index/alice/names.jsonl" not in snapshot.files  # nothing visible to pulls
    storage.failing.clear()
    created, _entry = _publish(registry, publisher, "1.0.0", blob)
    assert created is False  # the retry finished the first attempt's work
    assert _consistent(storage) == ["1.0.0"]


def test_reconcile_finishes_an_abandoned_publish(
    tmp_path: Path, publisher: Publisher, blob: bytes
) -> None:
    storage = FlakyStorage(tmp_path / "store" / "public")
    registry = _registry(storage)
    registry.ensure_snapshot()
    storage.failing.add("snapshot.json")
    with pytest.raises(RegistryUnavailable):
        _publish(registry, publisher, "1.0.0", blob)
    storage.failing.clear()
    assert list(storage.list(".journal/"))
    assert registry.reconcile(older_than=3600) == 0  # too recent: its publish may be running
    assert registry.reconcile(older_than=0) == 1
    assert _consistent(storage) == ["1.0.0"]
    assert list(storage.list(".journal/")) == []  # listed by the snapshot: done


def test_manifest_failure_writes_no_index(
    tmp_path: Path, publisher: Publisher, blob: bytes
) -> None:
    storage = FlakyStorage(tmp_path / "store" / "public")
    registry = _registry(storage)
    storage.failing.add("manifests/")
    with pytest.raises(RegistryUnavailable):
        _publish(registry, publisher, "1.0.0", blob)
    assert storage.stat("index/alice/names.jsonl") is None


def test_two_replicas_publishing_versions_concurrently_stay_consistent(
    tmp_path: Path, publisher: Publisher
) -> None:
    storage = LocalStorage(tmp_path / "store" / "public")
    replicas = [_registry(LocalStorage(storage.root)) for _ in range(2)]
    blobs = [make_blob(["ayse", "fatma", f"name{i}"], name=f"m{i}") for i in range(12)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            _publish(replicas[index % 2], publisher, f"1.{index}.0", blobs[index])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(_consistent(storage), key=lambda v: int(v.split(".")[1])) == [
        f"1.{i}.0" for i in range(12)
    ]


def test_snapshot_is_re_signed_when_half_its_life_is_gone(tmp_path: Path) -> None:
    storage = open_folder(tmp_path / "store")
    registry = Registry(storage, load_registry_key(storage, None), snapshot_ttl=86400)
    first = registry.ensure_snapshot()
    assert registry.refresh_if_due() is False
    later = datetime.now(UTC) + timedelta(hours=13)
    assert registry.refresh_if_due(now=later) is True
    refreshed = registry.snapshot()
    assert refreshed is not None
    assert refreshed.version == first.version + 1
    assert refreshed.expires_at > first.expires_at


@pytest.fixture
def flaky_app(tmp_path: Path) -> tuple[object, FlakyStorage]:
    storage = FlakyStorage(tmp_path / "store" / "public")
    return create_app(Settings(storage_dir=storage.root), storage=_pair(storage)), storage


@pytest.mark.anyio
async def test_storage_outage_is_503_with_a_json_body(
    flaky_app: tuple[object, FlakyStorage], blob: bytes
) -> None:
    app, storage = flaky_app
    storage.failing.add("*")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        health = await client.get("/v1/health")
        blob_head = await client.head(f"/v1/blobs/{digest_of(blob)}")
    assert health.status_code == 503
    assert health.json()["error"] == "unavailable"
    assert blob_head.status_code in (404, 503)


def test_replicas_refreshing_at_once_re_sign_once(tmp_path: Path) -> None:
    storage = open_folder(tmp_path / "store")
    key = load_registry_key(storage, None)
    root = tmp_path / "store"
    replicas = [Registry(open_folder(root), key, snapshot_ttl=86400) for _ in range(4)]
    first = replicas[0].ensure_snapshot()
    later = datetime.now(UTC) + timedelta(hours=13)
    threads = [threading.Thread(target=r.refresh_if_due, kwargs={"now": later}) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refreshed = replicas[0].snapshot()
    assert refreshed is not None
    assert refreshed.version == first.version + 1


def test_an_index_file_edited_in_the_storage_is_never_signed(
    tmp_path: Path, publisher: Publisher, blob: bytes, other_blob: bytes
) -> None:
    """Write access to the public tree without the key: the next publish is refused (503)."""
    storage = LocalStorage(tmp_path / "store" / "public")
    registry = _registry(storage)
    _publish(registry, publisher, "1.0.0", blob)
    _publish(registry, publisher, "1.1.0", other_blob)
    registry.set_yanked(parse_name("alice/names"), "1.1.0", True)
    signed = storage.read_bytes("snapshot.json")
    index = storage.root / "index" / "alice" / "names.jsonl"
    lines = index.read_bytes().splitlines(keepends=True)
    index.write_bytes(lines[1].replace(b'"yanked":true', b'"yanked":false'))
    third = make_blob(["kerem", "selin", "arda"], name="third")
    with pytest.raises(RegistryUnavailable, match=r"index/alice/names\.jsonl was changed"):
        _publish(registry, publisher, "1.2.0", third)
    with pytest.raises(RegistryUnavailable, match=r"index/alice/names\.jsonl"):
        registry.refresh_if_due(now=datetime.now(UTC) + timedelta(days=365))
    assert storage.read_bytes("snapshot.json") == signed


def test_an_interrupted_write_is_finished_by_the_next_one(
    tmp_path: Path, publisher: Publisher, blob: bytes, other_blob: bytes
) -> None:
    """A change journalled and written but never signed is the key holder's: it is listed."""
    storage = FlakyStorage(tmp_path / "store" / "public")
    registry = _registry(storage)
    _publish(registry, publisher, "1.0.0", blob)
    storage.failing.add("snapshot.json")
    with pytest.raises(RegistryUnavailable):
        registry.set_yanked(parse_name("alice/names"), "1.0.0", True)
    storage.failing.clear()
    # Another replica publishes something else: it lists the journalled yank too.
    other = _registry(LocalStorage(storage.root))
    _publish(other, publisher, "2.0.0", other_blob)
    assert _consistent(storage) == ["1.0.0", "2.0.0"]
    index = parse_index(storage.read_bytes("index/alice/names.jsonl"))
    assert [e.yanked for e in index] == [True, False]
    assert list(storage.list(".journal/")) == []
