"""The registry's rules over a storage: publish, yank, resolve, search, sign.

Nothing here knows HTTP. Every write goes through the storage's immutable
create or compare-and-swap, so any number of replicas may run this code on
one storage at once. A publish, in order:

1. the blob is stored under its digest (an immutable create; already validated);
2. the manifest, countersigned by the registry, is created at
   ``manifests/<key>/<version>.json`` with an exclusive create: of two racing
   publishes of one version exactly one wins; the same release again is an
   idempotent success, other content a 409;
3. a journal entry ``_server/pending/...`` notes that the index may be ahead
   of the snapshot;
4. the index line is appended (compare-and-swap on the index file);
5. the snapshot is re-signed listing the index file's new digest
   (compare-and-swap on ``snapshot.json``, retried), and the journal entry removed.

A version is visible to pulls only once step 5 has listed it; a failure
before leaves it invisible, and a retry (or :meth:`Registry.reconcile`)
finishes the job.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from phony_registry.canonical import loads_object
from phony_registry.digests import digest_bytes
from phony_registry.errors import (
    AlreadyExists,
    DigestMismatch,
    InvalidManifest,
    NotFound,
    PhonyError,
    RegistryUnavailable,
    SignatureError,
)
from phony_registry.index import (
    FileInfo,
    IndexEntry,
    Snapshot,
    add_entry,
    parse_index,
    resolve,
    set_yanked,
)
from phony_registry.layout import (
    blob_path,
    index_path,
    is_index_path,
    manifest_path,
    snapshot_path,
)
from phony_registry.manifest import Manifest
from phony_registry.names import ModelName, parse_name
from phony_registry.signing import PrivateKey
from phony_server.keys import PublisherKeys
from phony_server.storage import PRIVATE_PREFIX, Storage, WriteConflict

__all__ = ["Registry", "parse_manifest_body"]

_CAS_ATTEMPTS = 64
_PENDING = f"{PRIVATE_PREFIX}pending/"
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
    """One registry: a storage, the registry key, and the publishers' keys."""

    def __init__(
        self,
        storage: Storage,
        key: PrivateKey,
        *,
        snapshot_ttl: int = 90 * 86400,
        max_inflated: int | None = None,
    ) -> None:
        self.storage = storage
        self.key = key
        self.snapshot_ttl = snapshot_ttl
        self.max_inflated = max_inflated
        self.publishers = PublisherKeys(storage)
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
        return self.storage.create(blob_path(digest), source)

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
        """The manifest carries a signature by a key registered for its namespace."""
        keys = self.publishers.list(name.namespace)
        if not keys:
            scope = f"namespace {name.namespace}" if name.namespace else "official names"
            raise SignatureError(
                f"no publisher key is registered for {scope}; "
                "`phony login` or `phony models push` registers yours"
            )
        manifest.verify(keys)

    def publish(self, manifest: Manifest, name: ModelName) -> tuple[bool, IndexEntry]:
        """Publish a validated, signature-checked manifest; ``(created, entry)``.

        ``created`` is False for an idempotent repeat of a published release.
        Raises AlreadyExists (409) for another release of the same version, or
        for a name colliding with a different spelling already published.
        """
        existing_entries: list[IndexEntry] = []
        with contextlib.suppress(NotFound):
            existing_entries = self.entries(name)
        if existing_entries and existing_entries[0].name != manifest.name:
            raise AlreadyExists(
                f"{manifest.name} collides with the published name {existing_entries[0].name} "
                "(names differing only by case, '-' or '_' are the same name)"
            )
        stored = manifest.signed(self.key)
        path = manifest_path(name, manifest.version)
        created = self.storage.create(path, stored.to_bytes())
        if not created:
            stored = Manifest.from_bytes(self.storage.read_bytes(path))
            if not _same_release(stored, manifest):
                raise AlreadyExists(
                    f"{stored.ref} is already published with other content "
                    f"({stored.digest or 'another pack'}); publish a new version"
                )
        entry = IndexEntry.for_manifest(stored)
        added = self._add_to_index(name, entry)
        return created or added, entry

    def _add_to_index(self, name: ModelName, entry: IndexEntry) -> bool:
        path = index_path(name)
        marker = f"{_PENDING}{digest_bytes(path.encode())[7:31]}-{int(time.time())}"
        self.storage.create(marker, path.encode())
        added = self._cas(path, lambda data: add_entry(data, entry))
        self.update_snapshot([path])
        # Removed only once the snapshot lists the index: after a crash, reconcile finds it.
        self.storage.delete(marker)
        return added

    def set_yanked(self, name: ModelName, version: str, yanked: bool) -> IndexEntry:
        """Yank or unyank ``name@version``; returns the updated entry."""
        path = index_path(name)
        self.entries(name)  # NotFound for an unknown model
        self._cas(path, lambda data: (set_yanked(data, version, yanked), True))
        self.update_snapshot([path])
        return self.resolve(name, version)

    def _cas(self, path: str, change: Any) -> bool:
        """Apply ``change(old bytes) -> (new bytes, changed)`` with compare-and-swap, retried."""
        for attempt in range(_CAS_ATTEMPTS):
            try:
                data, tag = self.storage.read(path)
            except NotFound:
                data, tag = b"", None
            new, changed = change(data)
            if not changed or new == data:
                return bool(changed)
            try:
                self.storage.write(path, new, if_match=tag)
            except WriteConflict:
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311  (jitter)
                continue
            return True
        raise RegistryUnavailable(f"storage: {path} is too busy; try again")

    # -- the snapshot ----------------------------------------------------------------------

    def update_snapshot(
        self,
        paths: list[str],
        *,
        force: bool | Callable[[Snapshot], bool] = False,
        now: datetime | None = None,
    ) -> Snapshot:
        """Re-sign the snapshot listing the current content of ``paths`` (CAS, retried).

        The index files are read after the snapshot, so whichever writer
        commits last lists the newest content. Nothing is written when the
        snapshot already lists that content, unless ``force`` says so (a
        refresh; a callable is asked about the snapshot as read on each try,
        so replicas refreshing at once re-sign it once).
        """
        for attempt in range(_CAS_ATTEMPTS):
            try:
                data, tag = self.storage.read(snapshot_path())
                current: Snapshot | None = Snapshot.from_bytes(data)
            except NotFound:
                current, tag = None, None
            files = dict(current.files) if current else {}
            changed = current is None or (force(current) if callable(force) else force)
            for path in paths:
                try:
                    info = FileInfo.of(self.storage.read_bytes(path))
                except NotFound:
                    changed = changed or files.pop(path, None) is not None
                    continue
                if files.get(path) != info:
                    files[path] = info
                    changed = True
            if not changed:
                assert current is not None
                return current
            new = Snapshot.new(
                files,
                version=(current.version + 1) if current else 1,
                now=now,
                expires_in=timedelta(seconds=self.snapshot_ttl),
            ).signed(self.key)
            try:
                self.storage.write(snapshot_path(), new.to_bytes(), if_match=tag)
            except WriteConflict:
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311  (jitter)
                continue
            return new
        raise RegistryUnavailable("storage: the snapshot is too busy; try again")

    def ensure_snapshot(self) -> Snapshot:
        """The snapshot: created empty if there is none, re-signed if another key signed it."""
        current = self.snapshot()
        signed_here = current is not None and any(
            s.get("keyid") == self.key.keyid for s in current.signatures
        )
        return self.update_snapshot([], force=current is not None and not signed_here)

    def refresh_if_due(self, now: datetime | None = None) -> bool:
        """Re-sign the snapshot when less than half its lifetime is left; True if it did."""
        moment = now or datetime.now(UTC)

        def due(snapshot: Snapshot) -> bool:
            return (snapshot.expires_at - moment).total_seconds() <= self.snapshot_ttl / 2

        before = self.snapshot()
        after = self.update_snapshot([], force=due, now=moment)
        return before is None or after.version != before.version

    def reconcile(self, older_than: float = 60.0, forget_after: float = 600.0) -> int:
        """Finish publishes that stopped between the index and the snapshot; returns a count.

        A journal entry older than ``older_than`` seconds has its index file
        listed in the snapshot again (harmless if its publish is still running:
        the snapshot update is a compare-and-swap that writes only a change).
        The entry itself is removed only after ``forget_after`` seconds, so a
        publish slower than ``older_than`` that dies after its index write is
        still finished by a later pass.
        """
        done = 0
        now = time.time()
        for marker in list(self.storage.list(_PENDING)):
            try:
                started = int(marker.rsplit("-", 1)[-1])
            except ValueError:
                started = 0
            if now - started < older_than:
                continue
            try:
                path = self.storage.read_bytes(marker).decode()
            except NotFound:
                continue
            if is_index_path(path):
                self.update_snapshot([path])
            if now - started >= forget_after or not is_index_path(path):
                self.storage.delete(marker)
            done += 1
        return done


def _same_release(stored: Manifest, incoming: Manifest) -> bool:
    """True if ``incoming`` republishes what ``stored`` holds (same bytes, same members)."""
    return (
        stored.name == incoming.name
        and stored.digest == incoming.digest
        and stored.size == incoming.size
        and stored.members == incoming.members
    )
