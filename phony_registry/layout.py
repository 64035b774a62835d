"""The static registry layout: where each object lives, relative to the registry root.

The same paths are used by a folder registry on disk, by the HTTP server
(as URL paths under its base URL) and by the official index in
``registry-index/``, so any static host, bucket or CDN can serve a registry::

    snapshot.json                                   signed list of index files
    keys/registry.pub.pem                           the registry's public key
    index/<key>.jsonl                               one JSON line per version
    manifests/<key>/<version>.json                  one signed manifest per version
    blobs/sha256/<hex[:2]>/<hex>                    model files, by content digest

``<key>`` is :func:`phony_registry.names.canonical_key` of the name
(``alice/istanbul_streets``, ``tr_tr``, ``en_us/first_names``), so colliding
names share one path and an exclusive create refuses the second. Paths use
``/`` on every platform; join them to a folder with
``Path(root, *path.split("/"))`` (:func:`to_local`).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from phony_registry.digests import digest_hex
from phony_registry.names import ModelName, parse_name
from phony_registry.versions import parse_version

__all__ = [
    "BLOBS_DIR",
    "INDEX_DIR",
    "MANIFESTS_DIR",
    "REGISTRY_KEY",
    "SNAPSHOT",
    "blob_path",
    "index_path",
    "is_index_path",
    "manifest_path",
    "name_of_index_path",
    "registry_key_path",
    "snapshot_path",
    "to_local",
]

SNAPSHOT = "snapshot.json"
REGISTRY_KEY = "keys/registry.pub.pem"
INDEX_DIR = "index"
MANIFESTS_DIR = "manifests"
BLOBS_DIR = "blobs"
_INDEX_SUFFIX = ".jsonl"


def _name(name: str | ModelName) -> ModelName:
    return name if isinstance(name, ModelName) else parse_name(name)


def snapshot_path() -> str:
    """``snapshot.json``."""
    return SNAPSHOT


def registry_key_path() -> str:
    """``keys/registry.pub.pem``: the registry's public snapshot key (PEM)."""
    return REGISTRY_KEY


def index_path(name: str | ModelName) -> str:
    """``index/<key>.jsonl`` for a model name."""
    return f"{INDEX_DIR}/{_name(name).key}{_INDEX_SUFFIX}"


def is_index_path(path: str) -> bool:
    """True for a path :func:`index_path` can return."""
    return path.startswith(f"{INDEX_DIR}/") and path.endswith(_INDEX_SUFFIX)


def name_of_index_path(path: str) -> str:
    """The canonical key of an index path: ``index/alice/names.jsonl`` -> ``alice/names``."""
    if not is_index_path(path):
        raise ValueError(f"{path!r} is not an index path")
    return path[len(INDEX_DIR) + 1 : -len(_INDEX_SUFFIX)]


def manifest_path(name: str | ModelName, version: str) -> str:
    """``manifests/<key>/<version>.json``."""
    return f"{MANIFESTS_DIR}/{_name(name).key}/{parse_version(version)}.json"


def blob_path(digest: str) -> str:
    """``blobs/sha256/<hex[:2]>/<hex>`` (the digest is validated first)."""
    hex_digest = digest_hex(digest)
    return f"{BLOBS_DIR}/sha256/{hex_digest[:2]}/{hex_digest}"


def to_local(root: str | Path, path: str) -> Path:
    """Join a layout path to a folder, refusing anything that would leave it."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise ValueError(f"{path!r} is not a relative registry path")
    return Path(root, *pure.parts)
