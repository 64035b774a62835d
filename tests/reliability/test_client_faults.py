"""The client's cache under faults: killed pulls, no lock, a full disk, corrupt transfers.

The promise (issue 3): a file at a final cache path always holds the bytes
its name says, whatever happens to the process writing it; locks only save
duplicate work; a failed pull leaves nothing behind but a clear error.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from phony_client.cache import Cache
from phony_client.pull import pull
from phony_registry import layout
from phony_registry.errors import CacheError, DigestMismatch
from tests.conftest import phony_command
from tests.reliability.conftest import (
    SlowHost,
    cache_blob_problems,
    digest_of,
    publish_folder,
    random_words,
    train_model,
)

NAME = "alice/words"
CRASH_ROUNDS = 50
#: A pull wrapped so that the cache's file lock does nothing (test 2).
NO_LOCK = (
    "import contextlib, sys\n"
    "from phony_client.cache import Cache\n"
    "Cache.lock = lambda self, name, timeout=600: contextlib.nullcontext()\n"
    "from phony_client.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.fixture(scope="module")
def big_model() -> bytes:
    """A model of about 100 KB (a blob download takes a while on the slow host)."""
    return train_model(random_words(4000, seed=8), order=4)


def _cache() -> Path:
    return Path(os.environ["PHONY_CACHE_DIR"])


def _pull_args(url: str, version: str = "1.0.0") -> list[str]:
    return [*phony_command(), "models", "pull", f"{NAME}@{version}", "--registry", url]


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def _forget_pulls() -> None:
    """Drop every ref and blob, so the next pull downloads again (leftovers are kept)."""
    cache = Cache()
    for ref in list(cache.iter_refs()):
        cache.remove_ref(ref)
    for digest, _path in list(cache.iter_blobs()):
        cache.discard_blob(digest)


def _refs_point_at_good_blobs() -> list[str]:
    cache = Cache()
    return [
        f"{ref.ref} -> {ref.digest}"
        for ref in cache.iter_refs()
        if not (ref.digest and cache.verify_blob(ref.digest))
    ]


@pytest.mark.slow
@pytest.mark.timeout(600)  # the loop stops itself after 300 s; the default is 300 s
def test_killed_pulls_never_leave_a_wrong_file_at_a_final_path(
    tmp_path: Path, slow_host: SlowHost, big_model: bytes
) -> None:
    """Test 1: SIGKILL ``phony models pull`` at random moments, 50 times."""
    digest = publish_folder(slow_host.root, f"{NAME}@1.0.0", big_model)
    slow_host.chunk, slow_host.delay = 4096, 0.02  # about half a second per blob download
    started = time.monotonic()
    full = _run(_pull_args(slow_host.url))
    duration = time.monotonic() - started
    assert full.returncode == 0, full.stderr
    rng = random.Random(20261125)
    leftovers_seen = killed = 0
    deadline = time.monotonic() + 300
    for round_ in range(CRASH_ROUNDS):
        assert time.monotonic() < deadline, f"only {round_} rounds in 300 s"
        _forget_pulls()
        process = subprocess.Popen(
            _pull_args(slow_host.url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.0, duration * 1.1))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(timeout=30)
        leftovers_seen += bool(list(Cache().iter_temporaries()))
        assert cache_blob_problems(_cache()) == [], f"round {round_}"
        assert _refs_point_at_good_blobs() == [], f"round {round_}"
        if round_ % 10 == 9:
            verify = _run([*phony_command(), "cache", "verify"])
            assert verify.returncode == 0, f"round {round_}: {verify.stdout}{verify.stderr}"
            again = _run(_pull_args(slow_host.url))
            assert again.returncode == 0, f"round {round_}: {again.stderr}"
            assert Cache().verify_blob(digest)
    # The kills must have landed in the download window, or this test proved nothing.
    assert killed >= CRASH_ROUNDS // 2
    assert leftovers_seen >= 5, f"only {leftovers_seen} kills interrupted a download"
    prune = _run([*phony_command(), "cache", "prune"])
    assert prune.returncode == 0, prune.stderr
    assert list(Cache().iter_temporaries()) == []
    assert _run(_pull_args(slow_host.url)).returncode == 0
    assert _run([*phony_command(), "cache", "verify"]).returncode == 0
    assert Cache().verify_blob(digest)


@pytest.mark.slow
def test_eight_pulls_without_the_lock_still_give_one_correct_blob(
    slow_host: SlowHost, big_model: bytes
) -> None:
    """Test 2: the file lock is a no-op in eight concurrent ``phony`` processes."""
    digest = publish_folder(slow_host.root, f"{NAME}@1.0.0", big_model)
    # Each blob response waits until all eight processes are downloading it: without
    # the lock nothing holds them apart, so the race happens whatever the machine's load
    # (with a working lock only one would get that far, and the gate's time-out shows it).
    slow_host.chunk, slow_host.delay, slow_host.gather = 4096, 0.01, 8
    processes = []
    for _ in range(8):
        args = [sys.executable, "-c", NO_LOCK, *_pull_args(slow_host.url)[1:]]
        processes.append(
            subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0] * 8, results
    # Without the lock the processes downloaded side by side: the race really happened.
    assert slow_host.requests.count(layout.blob_path(digest)) == 8
    assert slow_host.max_active == 8
    cache = Cache()
    assert cache.blob_path(digest).read_bytes() == big_model
    assert cache_blob_problems(cache.root) == []
    assert list(cache.iter_temporaries()) == []
    assert _run([*phony_command(), "cache", "verify"]).returncode == 0


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_pull_onto_a_full_filesystem_is_a_clean_error(
    tmp_path: Path, tiny_filesystem: Path, big_model: bytes
) -> None:
    """Test 3, real: the cache on a 64 KiB tmpfs and a 100 KB model."""
    registry = tmp_path / "registry"
    publish_folder(registry, f"{NAME}@1.0.0", big_model)
    cache_root = tiny_filesystem / "cache"
    env = {**os.environ, "PHONY_CACHE_DIR": str(cache_root)}
    result = subprocess.run(
        [*phony_command(), "models", "pull", f"{NAME}@1.0.0", "--registry", str(registry)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == CacheError.exit_code, result.stderr
    assert result.stderr.startswith("error: cannot write")
    assert "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert [f for f in _files_under(cache_root) if f.startswith(("blobs/", "refs/"))] == []
    assert os.statvfs(tiny_filesystem).f_bfree * os.statvfs(tiny_filesystem).f_frsize > 32 << 10


class _FullDisk:
    """Stands in for ``os.fdopen``: files accept ``room`` bytes in all, then ENOSPC."""

    def __init__(self, real: Any, room: int) -> None:
        self.real = real
        self.room = room

    def __call__(self, fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = self.real(fd, *args, **kwargs)
        disk = self

        class Handle:
            def __enter__(self) -> Handle:
                return self

            def __exit__(self, *exc: object) -> None:
                handle.close()

            def write(self, data: bytes) -> int:
                if len(data) > disk.room:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                disk.room -= len(data)
                return int(handle.write(data))

            def __getattr__(self, name: str) -> Any:
                return getattr(handle, name)

        return Handle()


def test_pull_when_writes_fail_with_enospc_is_a_clean_error(
    tmp_path: Path, big_model: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test 3, simulated (runs everywhere): writes fail with ENOSPC half-way through the blob."""
    registry = tmp_path / "registry"
    publish_folder(registry, f"{NAME}@1.0.0", big_model)
    # A context of its own: undoing the whole fixture would also undo this test's
    # private cache and config dir (the autouse clean_environ fixture).
    with monkeypatch.context() as patch:
        patch.setattr(os, "fdopen", _FullDisk(os.fdopen, room=len(big_model) // 2))
        with pytest.raises(CacheError, match="No space left on device"):
            pull(f"{NAME}@1.0.0", registry=str(registry))
    root = Cache().root
    assert root == _cache()
    assert [f for f in _files_under(root) if f.startswith(("blobs/", "refs/"))] == []
    assert pull(f"{NAME}@1.0.0", registry=str(registry)).ref.digest == digest_of(big_model)


# -- test 4: corrupt transfers -------------------------------------------------------------

ENDLESS_CAP = 1 << 30  # the endless body stops by itself after 1 GiB


def _flip(data: bytes) -> Iterator[bytes]:
    middle = len(data) // 2
    yield data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


def _short(data: bytes) -> Iterator[bytes]:
    yield data[: len(data) - 1000]


def _longer(data: bytes) -> Iterator[bytes]:
    yield data + b"\0" * 1000


def _endless(data: bytes) -> Iterator[bytes]:
    yield data
    block = b"\0" * 65536
    for _ in range(ENDLESS_CAP // len(block)):
        _SENT[0] += len(block)
        yield block


_SENT = [0]
CORRUPTIONS = {"flipped-byte": _flip, "short-body": _short, "longer-body": _longer}


@pytest.mark.parametrize("corrupt", [*CORRUPTIONS, "endless-body"])
def test_corrupt_transfers_are_refused_and_nothing_is_cached(
    tmp_path: Path, big_model: bytes, corrupt: str
) -> None:
    """Test 4: the registry host's blob answer is damaged on its way to the client."""
    registry = tmp_path / "registry"
    digest = publish_folder(registry, f"{NAME}@1.0.0", big_model)
    mangle = CORRUPTIONS.get(corrupt, _endless)
    _SENT[0] = 0

    def handler(request: httpx.Request) -> httpx.Response:
        relative = request.url.path.lstrip("/")
        try:
            data = layout.to_local(registry, relative).read_bytes()
        except (ValueError, OSError):
            return httpx.Response(404)
        if relative == layout.blob_path(digest):
            # Content-Length says the true size; the body does not keep that promise.
            headers = {"Content-Length": str(len(data))}
            return httpx.Response(200, content=mangle(data), headers=headers)
        return httpx.Response(200, content=data)

    url = f"http://registry-{uuid.uuid4().hex[:8]}.test"
    tracemalloc.start()
    try:
        with pytest.raises(DigestMismatch):
            pull(f"{NAME}@1.0.0", registry=url, transport=httpx.MockTransport(handler))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    root = Cache().root
    kept = [f for f in _files_under(root) if not f.startswith("locks/") and f != "CACHEDIR.TAG"]
    assert kept == []
    assert peak < 16 << 20, f"peak {peak} bytes"
    if corrupt == "endless-body":
        assert _SENT[0] <= 1 << 20, f"read {_SENT[0]} bytes past the end"


def test_a_publish_landing_between_snapshot_and_index_reads_does_not_fail_the_pull(
    tmp_path: Path, big_model: bytes
) -> None:
    """Found by the load test: the index is newer than the snapshot the client just read."""
    registry = tmp_path / "registry"
    publish_folder(registry, f"{NAME}@1.0.0", big_model)
    other = train_model(random_words(50, seed=3), order=2)
    snapshots = []

    def handler(request: httpx.Request) -> httpx.Response:
        relative = request.url.path.lstrip("/")
        try:
            data = layout.to_local(registry, relative).read_bytes()
        except (ValueError, OSError):
            return httpx.Response(404)
        if relative == layout.snapshot_path():
            snapshots.append(data)
            if len(snapshots) == 1:
                publish_folder(registry, f"{NAME}@1.1.0", other)  # lands right after this read
        return httpx.Response(200, content=data)

    url = f"http://registry-{uuid.uuid4().hex[:8]}.test"
    result = pull(f"{NAME}@^1", registry=url, transport=httpx.MockTransport(handler))
    assert result.ref.version == "1.1.0"
    assert len(snapshots) == 2


def test_prune_during_a_pull_leaves_the_download_alone(
    slow_host: SlowHost, big_model: bytes
) -> None:
    """Found next to test 1: ``phony cache prune`` removed a running pull's temporary file."""
    digest = publish_folder(slow_host.root, f"{NAME}@1.0.0", big_model)
    slow_host.chunk, slow_host.delay = 4096, 0.1  # a few seconds per download
    pulling = subprocess.Popen(
        _pull_args(slow_host.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not list(Cache().iter_temporaries()):
        assert time.monotonic() < deadline, "the pull never started its download"
        assert pulling.poll() is None, pulling.communicate()
        time.sleep(0.05)
    prune = _run([*phony_command(), "cache", "prune"])
    assert prune.returncode == 0, prune.stderr
    assert prune.stdout.startswith("removed 0 file(s)"), prune.stdout
    _out, err = pulling.communicate(timeout=60)
    assert pulling.returncode == 0, err
    assert Cache().verify_blob(digest)
