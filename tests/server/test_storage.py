"""The local folder storage: immutable creates, compare-and-swap, ranges, safe keys.

The S3 backend runs the same checks against a real S3 endpoint in tests/e2e/test_s3.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from phony_registry.errors import NotFound
from phony_server.storage import LocalStorage, WriteConflict, open_folder


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store")


def test_create_never_replaces(storage: LocalStorage) -> None:
    assert storage.create("blobs/a", b"first") is True
    assert storage.create("blobs/a", b"second") is False
    assert storage.read_bytes("blobs/a") == b"first"


def test_create_from_a_file_leaves_no_temporary_files(
    storage: LocalStorage, tmp_path: Path
) -> None:
    source = tmp_path / "upload"
    source.write_bytes(b"x" * 300_000)
    assert storage.create("blobs/sha256/ab/abc", source)
    assert storage.read_bytes("blobs/sha256/ab/abc") == source.read_bytes()
    assert [p.name for p in (storage.root / "blobs/sha256/ab").iterdir()] == ["abc"]


def test_racing_creates_have_one_winner(storage: LocalStorage) -> None:
    results: list[bool] = []

    def create(i: int) -> None:
        results.append(storage.create("manifests/x/1.0.0.json", bytes([65 + i]) * 1000))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]
    content = storage.read_bytes("manifests/x/1.0.0.json")
    assert len(set(content)) == 1  # one writer's bytes, whole
    assert len(content) == 1000


def test_write_is_a_compare_and_swap(storage: LocalStorage) -> None:
    tag = storage.write("snapshot.json", b"v1", if_match=None)
    with pytest.raises(WriteConflict):
        storage.write("snapshot.json", b"v1 again", if_match=None)  # must not exist yet
    new_tag = storage.write("snapshot.json", b"v2", if_match=tag)
    with pytest.raises(WriteConflict):
        storage.write("snapshot.json", b"stale", if_match=tag)
    assert storage.read("snapshot.json") == (b"v2", new_tag)


def test_concurrent_cas_increments_lose_nothing(storage: LocalStorage) -> None:
    storage.write("counter", b"0", if_match=None)

    def bump() -> None:
        for _ in range(20):
            while True:
                data, tag = storage.read("counter")
                try:
                    storage.write("counter", str(int(data) + 1).encode(), if_match=tag)
                    break
                except WriteConflict:
                    continue

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storage.read_bytes("counter") == b"80"


def test_ranges_stat_list_delete(storage: LocalStorage) -> None:
    storage.create("blobs/b", bytes(range(256)) * 4000)
    assert b"".join(storage.iter_range("blobs/b", 10, 19)) == bytes(range(10, 20))
    assert len(b"".join(storage.iter_range("blobs/b"))) == 1_024_000
    info = storage.stat("blobs/b")
    assert info is not None
    assert info.size == 1_024_000
    assert storage.stat("blobs/none") is None
    storage.create("tokens/t.json", b"{}")
    storage.write("tokens/u.json", b"{}", if_match=None)  # takes a lock file: never listed
    assert sorted(storage.list("tokens/")) == ["tokens/t.json", "tokens/u.json"]
    assert ".locks" not in {key.split("/")[0] for key in storage.list("")}
    storage.delete("tokens/t.json")
    assert list(storage.list("tokens/")) == ["tokens/u.json"]


@pytest.mark.parametrize(
    "key", ["../escape", "/etc/passwd", "a/../../b", "a//b", "a\\b", "", "a/./b"]
)
def test_unsafe_keys_are_refused(storage: LocalStorage, key: str) -> None:
    with pytest.raises(NotFound):
        storage.read(key)
    with pytest.raises(NotFound):
        storage.create(key, b"x")
    assert not (storage.root.parent / "escape").exists()


def test_private_area_is_owner_only(tmp_path: Path) -> None:
    both = open_folder(tmp_path / "data")
    both.private.write("tokens/x.json", b"{}", if_match=None)
    both.private.create("registry-key.pem", b"secret")
    both.public.create("snapshot.json", b"{}")
    private = tmp_path / "data" / "private"
    assert (private / "registry-key.pem").stat().st_mode & 0o777 == 0o600
    assert (private / "tokens" / "x.json").stat().st_mode & 0o777 == 0o600
    assert private.stat().st_mode & 0o777 == 0o700
    assert (private / "tokens").stat().st_mode & 0o777 == 0o700
    public = tmp_path / "data" / "public"
    assert (public / "snapshot.json").stat().st_mode & 0o044 == 0o044  # world-readable
    assert not (public / "registry-key.pem").exists()
