"""Where a registry keeps its files: one small interface, and the folder backend.

A storage holds objects under relative keys (``snapshot.json``,
``index/alice/names.jsonl``, ``blobs/sha256/ab/<hex>`` ...). The public tree
of a registry is a storage holding exactly the static layout of
:mod:`phony_registry.layout`, so it can be served by any static host, bucket
or CDN; a registry server keeps its private records (token hashes, publisher
records, its signing key) in a *second* storage under another root, never
inside the public one.

Two kinds of writes keep concurrent writers (server replicas, folder pushes)
honest without any state of their own:

- :meth:`Storage.create` is an immutable create. It stores the whole object or
  nothing, and never replaces an existing one (an exclusive hard link of a
  complete temporary file on a folder; ``PutObject`` with ``If-None-Match: *``
  on S3).
- :meth:`Storage.write` is a compare-and-swap: it replaces an object only if it
  still has the version tag (``etag``) the caller read, or creates it only if
  it is still absent; otherwise it raises :class:`WriteConflict` and the
  caller re-reads and retries (a lock file per key on a folder; ``If-Match`` /
  ``If-None-Match`` on S3).

Every other failure of the backend surfaces as
:class:`~phony_registry.errors.RegistryUnavailable` (HTTP 503): retrying is safe.
:class:`LocalStorage` lives here; the S3 backend lives in the server
(``phony_server.s3``), which is the only place boto3 is imported.
"""

from __future__ import annotations

import errno
import os
import stat as stat_module
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from filelock import FileLock, Timeout

from phony_registry._fs import create_exclusive, write_atomic
from phony_registry.errors import NotFound, RegistryUnavailable

__all__ = [
    "CHUNK_SIZE",
    "LOCKS_DIR",
    "LocalStorage",
    "ObjectInfo",
    "Storage",
    "WriteConflict",
    "check_key",
]

#: Folder (inside a :class:`LocalStorage`) of the empty lock files of its compare-and-swap.
LOCKS_DIR = ".locks"
#: Size of the pieces a stored object is streamed in.
CHUNK_SIZE = 256 * 1024


class WriteConflict(Exception):
    """A compare-and-swap lost: the object changed (or appeared) since it was read."""


@dataclass(frozen=True)
class ObjectInfo:
    """What a storage knows about one object without reading it."""

    key: str
    size: int
    #: Opaque version tag; changes whenever the object is replaced.
    etag: str


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key, else raise NotFound.

    A key is ``/``-separated, relative, without empty, ``.`` or ``..`` segments,
    backslashes or NUL: nothing a request path can use to leave the storage;
    and short enough for every file system and object store.
    """
    if (
        not key
        or len(key) > 1024
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(part in ("", ".", "..") or len(part) > 200 for part in key.split("/"))
    ):
        raise NotFound(f"no such object: {key[:200]!r}")
    return key


class Storage(ABC):
    """The interface every storage backend implements."""

    #: Human-readable location for logs and ``/v1/health`` (no credentials).
    description: str = ""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """Size and version tag of ``key``, or None if it does not exist."""

    @abstractmethod
    def read(self, key: str) -> tuple[bytes, str]:
        """The whole object and its version tag; raises NotFound."""

    @abstractmethod
    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start`` to ``end`` (inclusive; None for the end); raises NotFound."""

    @abstractmethod
    def create(self, key: str, source: bytes | Path) -> bool:
        """Store ``source`` at ``key`` only if ``key`` does not exist.

        Returns True if this call created it, False if it already existed (the
        existing object is left alone). Readers never see a partial object.
        """

    @abstractmethod
    def write(self, key: str, data: bytes, if_match: str | None) -> str:
        """Compare-and-swap ``key``: replace it if its tag is still ``if_match``.

        With ``if_match=None`` the object must not exist yet. Returns the new
        version tag; raises :class:`WriteConflict` when the condition fails.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key`` if it exists (used for the server's private records only)."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """Every key that starts with ``prefix``, in no particular order."""

    def read_bytes(self, key: str) -> bytes:
        """The whole object without its tag; raises NotFound."""
        return self.read(key)[0]

    def scan(self, prefix: str) -> dict[str, ObjectInfo]:
        """Size and version tag of every key under ``prefix`` (a listing, not one stat each)."""
        found = {}
        for key in self.list(prefix):
            info = self.stat(key)
            if info is not None:
                found[key] = info
        return found

    def local_path(self, key: str) -> Path | None:
        """A file holding ``key`` that can be sent directly, if the backend has one.

        Only a name for the caller's own checks: open it with
        :meth:`LocalStorage.open`, which follows no symbolic link.
        """
        return None

    def check(self) -> None:
        """Raise RegistryUnavailable if the storage cannot be reached."""
        self.stat("snapshot.json")


#: Flags of every open of a stored file: never through a symbolic link, never
#: blocking on a FIFO planted where a file should be.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_BENEATH = os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW")


def _open_beneath(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of the regular file ``root/parts...``, reached without symbolic links.

    Each folder below ``root`` is opened relative to the one above it with
    ``O_NOFOLLOW``, and so is the file: a link planted anywhere in the tree
    (``blobs/sha256/ab/<hex> -> ../../../../private/registry-key.pem``, or a
    folder pointing elsewhere) is refused, never read. So is anything that is
    not a regular file (a FIFO is opened without blocking, then refused).
    Both raise ``FileNotFoundError``, which callers turn into NotFound: to a
    reader the object is not there.
    """
    shown = str(root.joinpath(*parts))
    try:
        if not _BENEATH:  # no openat() here: the last component is still checked
            fd = os.open(shown, _READ_FLAGS)
        else:
            folder = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                for part in parts[:-1]:
                    inner = os.open(part, _DIR_FLAGS, dir_fd=folder)
                    os.close(folder)
                    folder = inner
                fd = os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
            finally:
                os.close(folder)
    except OSError as exc:
        # ELOOP: a link at the last component; ENOTDIR: a link (or file) where a
        # folder should be; EMLINK: BSD's ELOOP for O_NOFOLLOW.
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise FileNotFoundError(errno.ENOENT, "not a stored file", shown) from None
        raise
    if not stat_module.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FileNotFoundError(errno.ENOENT, "not a regular file", shown)
    if hasattr(os, "O_NONBLOCK"):  # opened without blocking (a FIFO): reads block again
        os.set_blocking(fd, True)
    return fd


def _tag(st: os.stat_result) -> str:
    # Every write renames a new file into place, so inode, mtime and size
    # together change on every replacement.
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


class LocalStorage(Storage):
    """A folder on disk: a static registry as it stands, or a server's private area.

    ``private=True`` makes the folder 0700 and every file in it 0600 (token
    hashes, publisher records, the registry key); a public folder's files are
    world-readable, as a static host needs them. The compare-and-swap takes a
    lock file per key under :data:`LOCKS_DIR` inside the folder itself, so
    every writer of one folder (server replicas, ``phony models push``) sees
    the same locks; the lock files are empty.
    """

    def __init__(self, root: str | os.PathLike[str], *, private: bool = False) -> None:
        self.root = Path(root).resolve()
        self.private = private
        #: Mode of every file: world-readable for a static host, the owner's only in private.
        self._mode = 0o600 if private else 0o644
        self.description = f"folder {self.root}"
        try:
            self.root.mkdir(mode=0o700 if private else 0o777, parents=True, exist_ok=True)
            if private and os.name == "posix" and self.root.stat().st_mode & 0o077:
                self.root.chmod(0o700)
        except OSError as exc:
            raise RegistryUnavailable(f"cannot create storage folder {self.root}: {exc}") from exc

    def path(self, key: str) -> Path:
        """The file that holds ``key`` (it may not exist)."""
        return self.root.joinpath(*PurePosixPath(check_key(key)).parts)

    def open(self, key: str) -> BinaryIO:
        """The stored file ``key``, open for reading; raises NotFound.

        A symbolic link anywhere below the root, or anything but a regular
        file, is not a stored object: someone with write access to a shared
        registry folder must not get the server to read (and serve) a file
        it points to, such as the private area's registry key.
        """
        try:
            fd = _open_beneath(self.root, PurePosixPath(check_key(key)).parts)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(f"no such object: {key}") from exc
        except OSError as exc:
            raise RegistryUnavailable(f"storage: {exc.strerror or exc}") from exc
        return os.fdopen(fd, "rb")

    def local_path(self, key: str) -> Path | None:
        """See :meth:`Storage.local_path`."""
        return self.path(key)

    def stat(self, key: str) -> ObjectInfo | None:
        """See :meth:`Storage.stat` (a symbolic link or a folder is no object: None)."""
        try:
            with self.open(key) as handle:
                st = os.fstat(handle.fileno())
        except NotFound:
            return None
        return ObjectInfo(key, st.st_size, _tag(st))

    def read(self, key: str) -> tuple[bytes, str]:
        """See :meth:`Storage.read` (never through a symbolic link: :meth:`open`)."""
        with self.open(key) as handle:
            try:
                tag = _tag(os.fstat(handle.fileno()))
                return handle.read(), tag
            except OSError as exc:
                raise RegistryUnavailable(f"storage: {exc.strerror or exc}") from exc

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """See :meth:`Storage.iter_range` (never through a symbolic link: :meth:`open`)."""
        return self._chunks(self.open(key), start, end)

    @staticmethod
    def _chunks(handle: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
        with handle:
            handle.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = handle.read(size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def _folder_for(self, path: Path) -> None:
        """Create the folders of ``path``, refusing to write through a symbolic link.

        A link planted for a folder (``manifests/alice -> /elsewhere``) would
        have every write for that name land outside the storage: each folder
        that exists below the root must be a real one. Raises OSError (a 503).
        """
        folder = self.root
        for part in path.relative_to(self.root).parts[:-1]:
            folder = folder / part
            try:
                st = os.lstat(folder)
            except FileNotFoundError:
                break  # created below as a real folder
            if not stat_module.S_ISDIR(st.st_mode):
                raise OSError(
                    errno.ENOTDIR,
                    f"{folder.relative_to(self.root).as_posix()} is not a folder of this "
                    "storage (a symbolic link?); refusing to write through it",
                )
        path.parent.mkdir(mode=0o700 if self.private else 0o777, parents=True, exist_ok=True)

    def create(self, key: str, source: bytes | Path) -> bool:
        """See :meth:`Storage.create`: a complete temporary file, hard-linked exclusively."""
        path = self.path(key)
        try:
            self._folder_for(path)
            return create_exclusive(path, source, mode=self._mode)
        except OSError as exc:
            raise RegistryUnavailable(f"storage: {exc.strerror or exc}") from exc

    def _lock(self, key: str) -> FileLock:
        name = sha256(key.encode()).hexdigest()[:32]
        lock_dir = self.root / LOCKS_DIR
        lock_dir.mkdir(mode=0o700 if self.private else 0o777, exist_ok=True)
        return FileLock(str(lock_dir / f"{name}.lock"), timeout=30)

    def write(self, key: str, data: bytes, if_match: str | None) -> str:
        """See :meth:`Storage.write`: checked and replaced under a per-key lock file."""
        path = self.path(key)
        lock = self._lock(key)
        try:
            with lock:
                current = self.stat(key)
                if (current.etag if current else None) != if_match:
                    raise WriteConflict(key)
                self._folder_for(path)
                write_atomic(path, data, mode=self._mode)
                return _tag(path.stat())
        except Timeout as exc:
            raise RegistryUnavailable(f"storage: {key} is locked by another writer") from exc
        except OSError as exc:
            raise RegistryUnavailable(f"storage: {exc.strerror or exc}") from exc

    def delete(self, key: str) -> None:
        """See :meth:`Storage.delete`."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise RegistryUnavailable(f"storage: {exc.strerror or exc}") from exc

    def list(self, prefix: str) -> Iterator[str]:
        """See :meth:`Storage.list` (temporary and lock files are never listed)."""
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base if base else self.root
        if not start.is_dir():
            return
        for dirpath, dirs, files in os.walk(start):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            if rel_dir == ".":
                dirs[:] = [d for d in dirs if d != LOCKS_DIR]
            for name in files:
                if name.startswith(".") and name.endswith(".tmp"):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix):
                    yield key

    def scan(self, prefix: str) -> dict[str, ObjectInfo]:
        """See :meth:`Storage.scan`: one walk of the folder, a ``stat`` per file."""
        found = {}
        for key in self.list(prefix):
            try:
                # A plain string join: Path objects cost more than the stat itself here.
                st = os.lstat(f"{self.root}{os.sep}{key}")
            except OSError:
                continue  # replaced or removed meanwhile: the caller reads it again
            if not stat_module.S_ISREG(st.st_mode):
                continue  # a symbolic link is no stored object (see open)
            found[key] = ObjectInfo(key, st.st_size, _tag(st))
        return found

    def check(self) -> None:
        """See :meth:`Storage.check`."""
        if not os.access(self.root, os.W_OK):
            raise RegistryUnavailable(f"storage folder {self.root} is not writable")
