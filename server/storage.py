"""The server's storage: a public tree and a private area, under separate roots.

A registry server keeps two storages (:class:`RegistryStorage`):

- **public**: the static registry (``snapshot.json``, ``keys/``, ``index/``,
  ``manifests/``, ``blobs/``), what any static host, public bucket or CDN may
  serve;
- **private**: token hashes (``tokens/``), publisher records
  (``publishers/``) and, unless ``--key-file`` keeps it elsewhere, the
  registry's signing key (``registry-key.pem``). Never served.

On a folder (``--storage DIR``) they are ``DIR/public`` and ``DIR/private``
(0700, files 0600). On S3 (``--s3-prefix P``) they are ``P/public/`` and
``P/private/`` of the bucket, or another bucket and prefix for the private
area (``--s3-private-bucket``, ``--s3-private-prefix``).

Earlier versions kept both in one root (the public tree with a ``_server/``
folder inside it). :func:`check_not_legacy` refuses such a storage with the
command that moves it (:func:`migrate_legacy`, ``phony registry
migrate-storage``), rather than keep secrets where the public tree is served.

The interface and the folder backend themselves live in the core
(:mod:`phony_registry.storage`), re-exported here.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from phony_registry.errors import ConfigError, NotFound
from phony_registry.storage import (
    CHUNK_SIZE,
    LOCKS_DIR,
    LocalStorage,
    ObjectInfo,
    Storage,
    WriteConflict,
    check_key,
)

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "CHUNK_SIZE",
    "LEGACY_PRIVATE_PREFIX",
    "LocalStorage",
    "ObjectInfo",
    "PRIVATE_DIR",
    "PUBLIC_DIR",
    "RegistryStorage",
    "Storage",
    "WriteConflict",
    "check_key",
    "check_not_legacy",
    "migrate_legacy",
    "open_folder",
]

#: Folder (or S3 sub-prefix) of the public tree under the storage root.
PUBLIC_DIR = "public"
#: Folder (or S3 sub-prefix) of the private area under the storage root.
PRIVATE_DIR = "private"
#: Where the single-root layout of earlier versions kept the private records.
LEGACY_PRIVATE_PREFIX = "_server/"


@dataclass(frozen=True)
class RegistryStorage:
    """The two storages of one registry server."""

    #: The static registry: servable by anyone.
    public: Storage
    #: Token hashes, publisher records, the registry key: never served.
    private: Storage

    @property
    def description(self) -> str:
        """Where both live (no credentials)."""
        return f"{self.public.description} (private area: {self.private.description})"


def open_folder(root: str | Path, *, check: bool = True) -> RegistryStorage:
    """``root/public`` and ``root/private`` (created); refuses an old single-root layout."""
    base = Path(root).expanduser().resolve()
    if check and base.is_dir():
        check_not_legacy(LocalStorage(base), f"--storage {base}")
    return RegistryStorage(
        LocalStorage(base / PUBLIC_DIR), LocalStorage(base / PRIVATE_DIR, private=True)
    )


def _is_legacy(root: Storage) -> bool:
    """True if ``root`` holds the single-root layout and not yet the split one."""
    if root.stat(f"{PUBLIC_DIR}/snapshot.json") is not None:
        return False
    if root.stat("snapshot.json") is not None:
        return True
    return next(iter(root.list(LEGACY_PRIVATE_PREFIX)), None) is not None


def check_not_legacy(root: Storage, options: str) -> None:
    """Raise ConfigError if ``root`` is a storage in the old single-root layout."""
    if _is_legacy(root):
        raise ConfigError(
            f"{root.description} holds a registry in the old layout (the public files and "
            f"{LEGACY_PRIVATE_PREFIX} side by side, so serving it would publish the secrets): "
            f"move it into {PUBLIC_DIR}/ and {PRIVATE_DIR}/ with "
            f"`phony registry migrate-storage {options}`"
        )


def migrate_legacy(root: Storage, target: RegistryStorage) -> int:
    """Move a single-root registry in ``root`` into ``target``; returns the files moved.

    Public files keep their keys in ``target.public``; ``_server/tokens``,
    ``_server/publishers`` and ``_server/registry-key.pem`` go to
    ``target.private``. Lock files and the old publish journal are dropped.
    Each file is copied (an immutable create: an existing identical target is
    fine, a different one stops the migration) before any original is
    removed, so an interrupted migration can simply be run again.
    """
    if not _is_legacy(root):
        raise ConfigError(f"{root.description} holds no registry in the old layout")
    moves: list[tuple[str, Storage, str]] = []
    for key in sorted(root.list("")):
        top = key.split("/", 1)[0]
        if top in (PUBLIC_DIR, PRIVATE_DIR, LOCKS_DIR) or top.startswith("."):
            continue
        if key.startswith(LEGACY_PRIVATE_PREFIX):
            rest = key[len(LEGACY_PRIVATE_PREFIX) :]
            if rest.startswith(("locks/", "pending/")):
                moves.append((key, root, ""))
                continue
            moves.append((key, target.private, rest))
        else:
            moves.append((key, target.public, key))
    # The snapshot last: a reader of the new public tree never sees one listing
    # files that are not there yet.
    moves.sort(key=lambda move: move[2] == "snapshot.json")
    for key, destination, new_key in moves:
        if not new_key:
            continue
        data = root.read_bytes(key)
        if not destination.create(new_key, data) and destination.read_bytes(new_key) != data:
            raise ConfigError(
                f"cannot migrate {key}: {destination.description} already holds "
                f"{new_key} with other content"
            )
    for key, _destination, _new_key in moves:
        with contextlib.suppress(NotFound):
            root.delete(key)
    if isinstance(root, LocalStorage):
        shutil.rmtree(root.root / LOCKS_DIR, ignore_errors=True)  # empty lock files
        _remove_empty_dirs(root.root)
    return sum(1 for move in moves if move[2])


def _remove_empty_dirs(base: Path) -> None:
    keep = {base / PUBLIC_DIR, base / PRIVATE_DIR}
    for path in sorted(base.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path == k or k in path.parents for k in keep):
            with contextlib.suppress(OSError):
                path.rmdir()
