"""The registry's rules over a storage: resolve, search, check uploads, publish, yank.

Nothing here knows HTTP. Every write goes through the core's one publisher
(:class:`phony_registry.publisher.Publisher`: immutable creates, a signed
journal, compare-and-swap of index files and snapshot, and a check of every
index file it did not change against the last signed snapshot), the same
code ``phony models push`` runs on a folder, so any number of replicas and
folder pushes may work on one storage at once. What the server adds: the
publisher keys registered per namespace (in the private area), the checks of
an uploaded blob and pack, and caches for reads.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from phony_registry.canonical import loads_object
from phony_registry.digests import digest_bytes
from phony_registry.errors import (
    DigestMismatch,
    InvalidManifest,
    NotFound,
    PhonyError,
    RegistryUnavailable,
    SignatureError,
)
from phony_registry.index import IndexEntry, Snapshot, parse_index, resolve
from phony_registry.layout import blob_path, index_path, is_index_path, manifest_path, snapshot_path
from phony_registry.manifest import Manifest
from phony_registry.names import ModelName, parse_name
from phony_registry.publisher import Publisher
from phony_registry.signing import PrivateKey
from phony_registry.trust import TrustPolicy
from phony_server.keys import PublisherKeys
from phony_server.storage import RegistryStorage

__all__ = ["Registry", "parse_manifest_body"]

log = logging.getLogger("phony_server")
_MAX_DEPTH = 32


def _depth(data: bytes) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > _MAX_DEPTH:
                return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def parse_manifest_body(body: bytes) -> Manifest:
    """Parse an uploaded manifest strictly: UTF-8, no duplicate keys, shallow nesting."""
    if _depth(body) > _MAX_DEPTH:
        raise InvalidManifest(f"JSON nested deeper than {_MAX_DEPTH} levels")
    return Manifest.from_dict(loads_object(body, "manifest", error=InvalidManifest))


class Registry:
    """One registry: its public tree and private area, the registry key, the publishers' keys."""

    def __init__(
        self,
        storage: RegistryStorage,
        key: PrivateKey,
        *,
        snapshot_ttl: int = 90 * 86400,
        max_inflated: int | None = None,
    ) -> None:
        #: The public tree (what pulls read); the private area is :attr:`private`.
        self.storage = storage.public
        self.private = storage.private
        self.key = key
        self.snapshot_ttl = snapshot_ttl
        self.max_inflated = max_inflated
        self.publisher = Publisher(storage.public, key, expires_in=timedelta(seconds=snapshot_ttl))
        self.publishers = PublisherKeys(storage.private)
        # Caches keyed by content digests: never stale, bounded in size.
        self._index_cache: OrderedDict[str, list[IndexEntry]] = OrderedDict()
        self._manifest_cache: OrderedDict[str, Manifest] = OrderedDict()
        self._raw_cache: OrderedDict[str, bytes] = OrderedDict()
        # A folder's parsed index files by path, with the version tag they were read at.
        self._index_by_tag: OrderedDict[str, tuple[str, list[IndexEntry]]] = OrderedDict()

    # -- reading ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot | None:
        """The current snapshot, or None before the first one."""
        try:
            return Snapshot.from_bytes(self.storage.read_bytes(snapshot_path()))
        except NotFound:
            return None

    def entries(self, name: ModelName) -> list[IndexEntry]:
        """The index lines of ``name``; NotFound if nothing was ever published under it.

        On a folder, the lines parsed from an index file are reused while a
        ``stat`` of it gives the same version tag (:meth:`_local_entries`).
        Elsewhere the file is read on every call (on S3 a ``HEAD`` would cost
        the round trip the ``GET`` does) and only its parsing is reused.
        """
        path = index_path(name)
        try:
            if self.storage.local_path(path) is not None:
                return self._local_entries(path)
            return self._parse_index_cached(self.storage.read_bytes(path))
        except NotFound:
            raise NotFound(f"no model named {name}") from None

    def _local_entries(self, path: str) -> list[IndexEntry]:
        """The lines of a folder's index file, re-read only when its version tag changed.

        Why it is fast: a ``stat`` replaces an open, a read and a sha256 on
        every request. It stays exact: the tag (inode, mtime, size) is the one
        the storage's compare-and-swap relies on, and every write renames a
        new file into place, so a replica sharing the folder never serves
        versions or yanked flags older than the file.
        """
        info = self.storage.stat(path)
        cached = self._index_by_tag.get(path)
        if info is not None and cached is not None and cached[0] == info.etag:
            return cached[1]
        data, tag = self.storage.read(path)
        entries = self._parse_index_cached(data)
        self._index_by_tag[path] = (tag, entries)
        if len(self._index_by_tag) > 4096:
            self._index_by_tag.popitem(last=False)
        return entries

    def _parse_index_cached(self, data: bytes) -> list[IndexEntry]:
        digest = digest_bytes(data)
        cached = self._index_cache.get(digest)
        if cached is None:
            cached = parse_index(data)
            self._index_cache[digest] = cached
            if len(self._index_cache) > 4096:
                self._index_cache.popitem(last=False)
        return cached

    def resolve(self, name: ModelName, ref: str | None) -> IndexEntry:
        """The entry a version, range, tag or digest selects (yanked skipped by ranges)."""
        return resolve(self.entries(name), ref, name=str(name))

    def manifest_bytes(self, entry: IndexEntry) -> bytes:
        """The stored manifest of an index entry, byte for byte (cached by its digest)."""
        cached = self._raw_cache.get(entry.manifest)
        if cached is not None:
            return cached
        data = self.storage.read_bytes(manifest_path(entry.name, entry.version))
        if digest_bytes(data) != entry.manifest:
            raise RegistryUnavailable(
                f"storage: the manifest of {entry.ref} does not match its index line"
            )
        self._raw_cache[entry.manifest] = data
        if len(self._raw_cache) > 4096:
            self._raw_cache.popitem(last=False)
        return data

    def manifest(self, entry: IndexEntry) -> Manifest:
        """The stored manifest of an index entry, parsed."""
        cached = self._manifest_cache.get(entry.manifest)
        if cached is not None:
            return cached
        manifest = Manifest.from_bytes(self.manifest_bytes(entry))
        self._manifest_cache[entry.manifest] = manifest
        if len(self._manifest_cache) > 4096:
            self._manifest_cache.popitem(last=False)
        return manifest

    def search(self, query: str = "", limit: int = 50) -> list[dict[str, Any]]:
        """Models matching every word of ``query`` in name, description, locale or kind."""
        snapshot = self.snapshot()
        if snapshot is None:
            return []
        words = query.lower().split()
        results = []
        for path, info in sorted(snapshot.files.items()):
            if not is_index_path(path):
                continue
            # The snapshot names each index file's digest: a warm search reads nothing else.
            entries = self._index_cache.get(info.digest)
            if entries is None:
                try:
                    entries = self._parse_index_cached(self.storage.read_bytes(path))
                except PhonyError:
                    continue
            summary = self._summary(entries)
            if summary is None:
                continue
            text = " ".join(
                str(summary.get(k) or "") for k in ("name", "description", "locale", "kind")
            ).lower()
            if all(word in text for word in words):
                results.append(summary)
            if len(results) >= limit:
                break
        return results

    def _summary(self, entries: list[IndexEntry]) -> dict[str, Any] | None:
        if not entries:
            return None
        live = [e for e in entries if not e.yanked]
        latest = (live or entries)[-1]
        try:
            manifest = self.manifest(latest)
        except PhonyError:
            return None
        return {
            "name": latest.name,
            "latest": latest.version,
            "versions": len(entries),
            "yanked": latest.yanked,
            "kind": manifest.kind,
            "locale": manifest.locale,
            "license": manifest.license,
            "description": manifest.description,
            "digest": latest.digest,
            "size": latest.size,
        }

    # -- publishing ------------------------------------------------------------------------

    def store_blob(self, digest: str, source: Any) -> bool:
        """Store a validated blob file under its digest; True if it was new."""
        return self.publisher.store_blob(digest, source)

    def check_blob(self, manifest: Manifest) -> None:
        """The manifest's blob is stored, with its size and a readable model of its format."""
        from phony_registry.format import DEFAULT_MAX_INFLATED, load_model

        assert manifest.digest is not None
        try:
            data = self.storage.read_bytes(blob_path(manifest.digest))
        except NotFound:
            raise NotFound(
                f"blob {manifest.digest} is not on this registry; upload it first "
                f"(PUT /v1/blobs/{manifest.digest})"
            ) from None
        if digest_bytes(data) != manifest.digest:
            raise RegistryUnavailable(f"storage: blob {manifest.digest} is corrupt")
        if manifest.size != len(data):
            raise DigestMismatch(
                f"manifest says {manifest.size} bytes but blob {manifest.digest} has {len(data)}"
            )
        model = load_model(data, max_inflated=self.max_inflated or DEFAULT_MAX_INFLATED)
        if model.format_version != manifest.format_version:
            raise InvalidManifest(
                f"is {manifest.format_version} but the blob is format version "
                f"{model.format_version}",
                field="format_version",
            )

    def check_members(self, manifest: Manifest) -> None:
        """Every member of a pack is published here with the digest the pack names."""
        for member in manifest.members:
            entry = self.resolve(parse_name(member.name), member.version)
            if entry.digest != member.digest:
                raise DigestMismatch(
                    f"pack member {member.name}@{member.version} is {entry.digest} here, "
                    f"not {member.digest}"
                )

    def verify_publisher(self, manifest: Manifest, name: ModelName) -> None:
        """The manifest carries a signature by a key registered for its namespace.

        An official name (no namespace) must also carry the official key's
        signature: every client accepts official names only under that key
        (:class:`~phony_registry.trust.TrustPolicy`), so a release signed by
        the operator alone would be published only for every pull to refuse it.
        """
        keys = self.publishers.list(name.namespace)
        if not keys:
            scope = f"namespace {name.namespace}" if name.namespace else "official names"
            raise SignatureError(
                f"no publisher key is registered for {scope}; "
                "`phony login` or `phony models push` registers yours"
            )
        manifest.verify(keys)
        if name.official:
            TrustPolicy().verify(manifest, "", "this registry", registry_key=None)

    def publish(self, manifest: Manifest, name: ModelName) -> tuple[bool, IndexEntry]:
        """Publish a validated, signature-checked manifest; ``(created, entry)``.

        ``created`` is False for an idempotent repeat of a published release.
        Raises AlreadyExists (409) for another release of the same version, or
        for a name colliding with a different spelling already published.
        """
        done = self._writing(lambda: self.publisher.publish(manifest))
        return done.created, done.entry

    def set_yanked(self, name: ModelName, version: str, yanked: bool) -> IndexEntry:
        """Yank or unyank ``name@version``; returns the updated entry."""
        self.entries(name)  # NotFound for an unknown model
        entry: IndexEntry = self._writing(lambda: self.publisher.set_yanked(name, version, yanked))
        return entry

    @staticmethod
    def _writing(write: Callable[[], Any]) -> Any:
        """Run a write; a public tree changed without the key is the storage's fault (503)."""
        try:
            return write()
        except (DigestMismatch, SignatureError) as exc:
            # The publisher raises these only for the stored tree (an index file or
            # snapshot changed without the key), never for what a client sent.
            log.error("refusing to sign: %s", exc)
            raise RegistryUnavailable(f"storage: {exc}") from exc

    # -- the snapshot ----------------------------------------------------------------------

    def update_snapshot(
        self,
        paths: list[str],
        *,
        force: bool | Callable[[Snapshot], bool] = False,
        now: datetime | None = None,
    ) -> Snapshot:
        """Re-sign the snapshot listing the current content of ``paths`` (see the publisher)."""
        result: Snapshot = self._writing(
            lambda: self.publisher.sign_snapshot(paths, force=force, now=now)
        )
        return result

    def ensure_snapshot(self, *, adopt: bool = False) -> Snapshot:
        """The snapshot: created empty if there is none.

        One signed by another key is re-signed only with ``adopt`` (the
        server made a new registry key at this start: a deliberate rotation).
        """
        return self.publisher.ensure_snapshot(adopt=adopt)

    def refresh_if_due(self, now: datetime | None = None) -> bool:
        """Re-sign the snapshot when less than half its lifetime is left; True if it did."""
        result: bool = self._writing(
            lambda: self.publisher.refresh_if_due(self.snapshot_ttl, now=now)
        )
        return result

    def reconcile(self, older_than: float = 60.0) -> int:
        """Finish publishes that stopped between the index and the snapshot; returns a count."""
        result: int = self._writing(lambda: self.publisher.reconcile(older_than))
        return result
