"""The local model cache: content-addressed blobs, registry metadata and refs.

Root: ``PHONY_CACHE_DIR``, else ``platformdirs.user_cache_dir("phony")``::

    CACHEDIR.TAG                                 backup tools skip the cache
    blobs/sha256/<hex[:2]>/<hex>                 model files, by digest (originals and migrated)
    registries/<rid>/snapshot.json               last verified snapshot of a registry
    registries/<rid>/index/<key>.jsonl           cached index files (+ .etag)
    registries/<rid>/manifests/<key>/<v>.json    verified manifests
    refs/<rid>/<key>/<version>.json              what was pulled: name@version -> blob(s)
    locks/                                       lock files (duplicate-work avoidance only)

A blob is written to a unique temporary file next to its final place while
the stream is hashed, checked against the expected digest and size, then
``os.replace``d into place, so a reader never sees a partial blob and two
writers of one digest both end with the same correct file. Locks only keep
two processes from downloading the same blob at once; correctness never
depends on them. Everything is safe to delete: ``phony cache rm`` and
``prune`` do it piecemeal.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from phony_client.config import registry_slug
from phony_registry._fs import atomic_writer, write_atomic
from phony_registry.digests import ALGORITHM, Hasher, digest_bytes, digest_hex, is_digest
from phony_registry.errors import CacheError, DigestMismatch

__all__ = [
    "CACHEDIR_TAG",
    "Cache",
    "Ref",
    "cache_dir",
]

CACHEDIR_TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by phony.\n"
    b"# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_CHUNK = 1 << 20
#: Bytes written between two requests to start writing the blob out to disk.
_WRITEBACK_EVERY = 8 << 20


class _HashingThread:
    """A :class:`Hasher` fed on a second thread, so hashing overlaps receiving and writing.

    Why it is fast: hashlib releases the GIL while it hashes a buffer of more
    than 2 KiB, so sha256 (about as costly as receiving the bytes) runs on
    another core instead of between reads. At most ``depth`` chunks wait,
    which bounds the memory held.
    """

    def __init__(self, depth: int = 4) -> None:
        self._hasher = Hasher()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = threading.Thread(
            target=self._run, name="phony-sha256", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._hasher.update(chunk)
                except BaseException as exc:  # handed to the caller by finish()
                    self._error = exc  # keep draining, so that update() never blocks

    def update(self, chunk: bytes) -> None:
        """Queue the next chunk (waits while ``depth`` chunks are waiting)."""
        self._queue.put(chunk)

    def finish(self) -> Hasher:
        """Wait until every queued chunk is hashed; the hasher."""
        self.stop()
        if self._error is not None:
            raise self._error
        return self._hasher

    def stop(self) -> None:
        """End the thread once the queued chunks are done (idempotent)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a byte range of ``fd`` to disk, without waiting.

    Why: written pages otherwise stay dirty until the closing ``fsync``,
    which then waits for the whole file (60 ms per 128 MB on the benchmark
    machine); started during the download, the writes overlap receiving.
    Linux's ``sync_file_range(SYNC_FILE_RANGE_WRITE)``; elsewhere nothing.
    """
    call = _sync_file_range()
    if call is not None:
        call(fd, offset, length, 2)  # SYNC_FILE_RANGE_WRITE; a failure only costs speed


@functools.cache
def _sync_file_range() -> Any:
    """libc's ``sync_file_range``, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


@contextlib.contextmanager
def _writing(path: Path, verb: str = "write") -> Iterator[None]:
    """Map an OSError of a write to the cache into :class:`CacheError` (exit 9).

    Every write the cache makes (blobs, registry files, refs, locks, removals)
    goes through here, so a cache that cannot be written (read-only, full,
    not a folder) gives one line of one form whatever the command:
    ``cannot write PATH: Read-only file system``.
    """
    from filelock import Timeout

    try:
        yield
    except Timeout:
        raise  # another process holds the lock: not a failure to write
    except OSError as exc:
        raise CacheError(f"cannot {verb} {path}: {exc.strerror or exc}") from exc


class _Lock:
    """A cache lock whose failure to be taken (not its waiting) is a CacheError."""

    def __init__(self, lock: Any, path: Path) -> None:
        self._lock = lock
        self._path = path

    def __enter__(self) -> _Lock:
        with _writing(self._path):
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def cache_dir() -> Path:
    """``PHONY_CACHE_DIR`` or the platform's user cache dir for phony."""
    override = os.environ.get("PHONY_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("phony"))


@dataclass
class Ref:
    """One pulled ``name@version``: which blob it is and where it came from."""

    name: str
    version: str
    registry: str
    location: str
    manifest: str
    digest: str | None = None
    size: int | None = None
    format_version: int | None = None
    derived: str | None = None
    derived_format_version: int | None = None
    kind: str = "model"
    type: str = "model"
    yanked: bool = False
    members: list[str] = field(default_factory=list)
    pulled: str = ""
    #: Key ids that verified its manifest when it was pulled (None: pulled by an older phony).
    signers: list[str] | None = None

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    @property
    def usable_digest(self) -> str | None:
        """The blob to generate from: the migrated one if any, else the original."""
        return self.derived or self.digest

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ref:
        """Parse a ref file's JSON (unknown keys ignored)."""
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class Cache:
    """The cache rooted at ``root`` (default :func:`cache_dir`)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir()

    # -- set-up ---------------------------------------------------------------

    def ensure(self) -> None:
        """Create the root and its ``CACHEDIR.TAG``; :class:`CacheError` if impossible."""
        tag = self.root / "CACHEDIR.TAG"
        with _writing(tag):
            self.root.mkdir(parents=True, exist_ok=True)
            if not tag.exists():
                write_atomic(tag, CACHEDIR_TAG, mode=0o644, durable=False)

    def lock(self, name: str, timeout: float = 600) -> Any:
        """A file lock named ``name`` (used only to avoid duplicate work), for ``with``.

        Taking it raises :class:`CacheError` if the lock file cannot be made,
        ``filelock.Timeout`` if another process holds it past ``timeout``.
        """
        from filelock import FileLock

        path = self.root / "locks" / f"{name}.lock"
        return _Lock(FileLock(str(path), timeout=timeout), path)

    def remove_file(self, path: Path) -> None:
        """Delete a file of the cache (gone already is fine); CacheError if it cannot be."""
        with _writing(path, "remove"), contextlib.suppress(FileNotFoundError):
            path.unlink()

    # -- blobs ----------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        """Where the blob with ``digest`` lives (whether or not it is there)."""
        hex_digest = digest_hex(digest)
        return self.root / "blobs" / "sha256" / hex_digest[:2] / hex_digest

    def has_blob(self, digest: str, size: int | None = None) -> bool:
        """True if the blob is present (and of ``size`` bytes, when given)."""
        try:
            actual = self.blob_path(digest).stat().st_size
        except FileNotFoundError:
            return False
        return size is None or actual == size

    def verify_blob(self, digest: str) -> bool:
        """Rehash a present blob; False if it is missing or its bytes changed."""
        hasher = Hasher()
        try:
            with open(self.blob_path(digest), "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    hasher.update(chunk)
        except FileNotFoundError:
            return False
        return hasher.digest == digest

    def discard_blob(self, digest: str) -> None:
        """Remove a blob (a corrupted one, or one nothing refers to)."""
        self.remove_file(self.blob_path(digest))

    def store_blob(self, chunks: Iterable[bytes], digest: str, size: int | None) -> Path:
        """Stream ``chunks`` into the blob ``digest``, checking digest and size.

        Raises :class:`DigestMismatch` (and keeps nothing) if the bytes are
        not the promised ones; a stream longer than ``size`` is cut off at
        the first extra byte.

        Why it is fast: each chunk is hashed on a second thread
        (:class:`_HashingThread`) while this one receives and writes the
        next, and the kernel is told to start writing the file out every few
        megabytes (:func:`_start_writeback`), so the closing ``fsync`` waits
        for the last few only.
        """
        target = self.blob_path(digest)
        self.ensure()
        hashing = _HashingThread()
        try:
            # Named after the digest, so that prune can tell a running download by its lock.
            with (
                _writing(target),
                atomic_writer(target, mode=0o644, temp_prefix=f".tmp-{target.name}-") as handle,
            ):
                received = flushed = 0
                for chunk in chunks:
                    received += len(chunk)
                    if size is not None and received > size:
                        raise DigestMismatch(
                            f"blob {digest}: more than the {size} bytes the manifest promises"
                        )
                    handle.write(chunk)
                    hashing.update(chunk)
                    if received - flushed >= _WRITEBACK_EVERY:
                        handle.flush()
                        _start_writeback(handle.fileno(), flushed, received - flushed)
                        flushed = received
                hashing.finish().check(digest, size, what=f"blob {digest}")
        finally:
            hashing.stop()
        return target

    def store_bytes(self, data: bytes) -> tuple[str, Path]:
        """Store ``data`` as a blob (e.g. a migrated model); returns its digest and path."""
        digest = digest_bytes(data)
        if not self.has_blob(digest, len(data)):
            self.store_blob([data], digest, len(data))
        return digest, self.blob_path(digest)

    def iter_blobs(self) -> Iterator[tuple[str, Path]]:
        """Every blob file present, with its digest (temporary files skipped)."""
        base = self.root / "blobs" / "sha256"
        if not base.is_dir():
            return
        for folder in sorted(base.iterdir()):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                digest = f"{ALGORITHM}:{path.name}"
                if is_digest(digest):
                    yield digest, path

    def iter_temporaries(self) -> Iterator[Path]:
        """Leftover temporary files (from an interrupted download)."""
        base = self.root / "blobs"
        if base.is_dir():
            yield from base.glob("sha256/*/.tmp-*")

    def in_use(self, temporary: Path) -> bool:
        """True if a running download is writing ``temporary`` (it holds the blob's lock)."""
        from filelock import Timeout

        match = re.fullmatch(r"\.tmp-([0-9a-f]{64})-.*", temporary.name)
        if match is None:
            return False
        try:
            with self.lock(match.group(1), timeout=0):
                return False
        except Timeout:
            return True
        except CacheError:
            return False  # no lock can be made here, so no download holds one

    # -- registry metadata ------------------------------------------------------

    def registry_dir(self, registry: str) -> Path:
        """The folder holding what the cache knows about one registry."""
        return self.root / "registries" / registry_slug(registry, tail=32)

    def _meta_path(self, registry: str, path: str) -> Path:
        from phony_registry.layout import to_local

        return to_local(self.registry_dir(registry), path)

    def read_meta(self, registry: str, path: str) -> bytes | None:
        """A cached registry file (``snapshot.json``, ``index/...``, ``manifests/...``)."""
        try:
            return self._meta_path(registry, path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write_meta(self, registry: str, path: str, data: bytes, etag: str | None = None) -> None:
        """Cache a registry file (with its ETag, for revalidation).

        Not flushed to disk (``durable=False``): the registry holds the original,
        and a pull writes several of these (each flush costs milliseconds).
        """
        target = self._meta_path(registry, path)
        etag_file = target.with_name(target.name + ".etag")
        with _writing(target):
            write_atomic(target, data, mode=0o644, durable=False)
        if etag:
            with _writing(etag_file):
                write_atomic(etag_file, etag.encode("utf-8"), mode=0o644, durable=False)
        else:
            self.remove_file(etag_file)

    def read_etag(self, registry: str, path: str) -> str | None:
        """The ETag saved with a cached registry file."""
        target = self._meta_path(registry, path)
        try:
            return target.with_name(target.name + ".etag").read_text("utf-8").strip() or None
        except FileNotFoundError:
            return None

    # -- refs -----------------------------------------------------------------

    def _ref_path(self, registry: str, name: str, version: str) -> Path:
        from phony_registry.names import canonical_key

        folder = self.root / "refs" / registry_slug(registry, tail=32) / canonical_key(name)
        return folder / f"{version}.json"

    def write_ref(self, ref: Ref) -> None:
        """Record (or update) a pulled ``name@version``."""
        path = self._ref_path(ref.registry, ref.name, ref.version)
        data = json.dumps(ref.to_dict(), indent=2, sort_keys=True).encode() + b"\n"
        with _writing(path):
            # Not flushed (durable=False): a damaged ref is as good as absent; a pull rewrites it.
            write_atomic(path, data, mode=0o644, durable=False)

    def remove_ref(self, ref: Ref) -> None:
        """Forget a pulled ``name@version`` (its blobs stay until ``prune``)."""
        path = self._ref_path(ref.registry, ref.name, ref.version)
        self.remove_file(path)
        for folder in (path.parent, path.parent.parent):
            with contextlib.suppress(OSError):
                folder.rmdir()

    def iter_refs(self, key: str | None = None) -> Iterator[Ref]:
        """Every ref (only those of the canonical name ``key``, when given)."""
        base = self.root / "refs"
        if not base.is_dir():
            return
        pattern = f"*/{key}/*.json" if key else "**/*.json"
        for path in sorted(base.glob(pattern)):
            try:
                yield Ref.from_dict(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError, TypeError):
                continue  # a damaged ref is as good as absent; pull writes it again

    def referenced_digests(self) -> set[str]:
        """Blob digests some ref needs (originals and migrated copies)."""
        found: set[str] = set()
        for ref in self.iter_refs():
            found.update(d for d in (ref.digest, ref.derived) if d)
        return found
