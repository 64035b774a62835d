"""The one publisher of every registry: publish, yank and re-sign over a storage.

The registry server, ``phony models push``/``yank`` into a folder and
``phony registry import`` all write through :class:`Publisher`, so they give
the same guarantees on a folder or a bucket, and any number of them may work
on one storage at once (server replicas, CI jobs pushing into a shared
folder). A publish, in order:

1. the blob is stored under its digest (an immutable create of a complete
   temporary file);
2. the manifest, countersigned by the registry key, is created at
   ``manifests/<key>/<version>.json`` with an exclusive create of a complete
   file: of two racing publishes of one version exactly one wins, the same
   release again is an idempotent success, other content :class:`AlreadyExists`;
   a crash leaves either no manifest or a whole one, never a truncated file
   that would block the version;
3. a journal entry signed by the registry key (``.journal/...``) says which
   change of the index file is about to happen (its digest before and after);
4. the index line is added with a compare-and-swap on the index file;
5. the snapshot is re-signed, with a compare-and-swap, listing the index
   file's new digest; then the journal entry is removed.

A version is visible to pulls only once step 5 has listed it. A failure
before leaves it invisible; a retry, the next write of anyone holding the key,
or :meth:`Publisher.reconcile` finishes the job.

**Files it did not change.** Before signing a new snapshot, the publisher
checks the previous snapshot's signature with the registry key and compares
every index file the previous snapshot lists with the digest listed there. A
file that differs is accepted only if signed journal entries lead from the
listed digest to the file's current digest (a change by a key holder still
in flight or interrupted); anything else is a change made without the key,
and the publisher refuses (:class:`DigestMismatch` naming the file) rather
than sign it. So write access to a registry's files without its key can stop
publishing (as deleting the files would) but never make a key holder's next
push sign an edit.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from phony_registry.canonical import canonical_json, loads_object
from phony_registry.digests import digest_bytes
from phony_registry.errors import (
    AlreadyExists,
    DigestMismatch,
    NotFound,
    PhonyError,
    RegistryUnavailable,
    SignatureError,
)
from phony_registry.index import (
    DEFAULT_EXPIRY,
    FileInfo,
    IndexEntry,
    Snapshot,
    add_entry,
    parse_index,
    set_yanked,
)
from phony_registry.layout import (
    INDEX_DIR,
    blob_path,
    index_path,
    is_index_path,
    manifest_path,
    snapshot_path,
)
from phony_registry.manifest import Manifest, check_new_manifest, format_time, parse_time
from phony_registry.names import ModelName, parse_name
from phony_registry.signing import PrivateKey, add_signature, verify_signed
from phony_registry.storage import ObjectInfo, Storage, WriteConflict
from phony_registry.versions import parse_version

__all__ = [
    "JOURNAL_DIR",
    "JOURNAL_TTL",
    "Published",
    "Publisher",
    "same_release",
]

#: Folder of the publisher's journal inside the storage (signed entries, nothing secret).
JOURNAL_DIR = ".journal"
#: Seconds a journal entry vouches for its change (the time to finish an interrupted write).
JOURNAL_TTL = 24 * 3600
_CAS_ATTEMPTS = 64


@dataclass(frozen=True)
class Published:
    """What :meth:`Publisher.publish` did."""

    #: False for an idempotent repeat of a release already published.
    created: bool
    entry: IndexEntry
    #: The manifest as stored (countersigned by the registry key).
    manifest: Manifest
    snapshot: Snapshot


@dataclass(frozen=True)
class _Step:
    """One signed journal entry: ``path`` goes from digest ``before`` to ``after``."""

    key: str
    path: str
    before: str | None
    after: str | None


def same_release(stored: Manifest, incoming: Manifest) -> bool:
    """True if ``incoming`` republishes what ``stored`` holds; False for other bytes or members.

    A version is immutable, its metadata included: ``incoming`` may differ from
    ``stored`` only in its signatures and its ``created`` time (each push signs
    anew, at its own time). The same bytes with another description, licence,
    kind or any other field raise :class:`AlreadyExists` naming the fields,
    where an idempotent success would leave the stored manifest unchanged and
    the publisher believing it had changed.
    """
    if not (
        stored.name == incoming.name
        and stored.digest == incoming.digest
        and stored.size == incoming.size
        and stored.members == incoming.members
    ):
        return False
    old = stored.to_dict(signatures=False)
    new = incoming.to_dict(signatures=False)
    changed = sorted(
        key for key in set(old) | set(new) if key != "created" and old.get(key) != new.get(key)
    )
    if changed:
        raise AlreadyExists(
            f"{stored.ref} is already published with the same content but other metadata "
            f"({', '.join(changed)} {'differs' if len(changed) == 1 else 'differ'}); a "
            "published version never changes: publish a new version"
        )
    return True


def _sleep(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311  (jitter, not crypto)


class Publisher:
    """Publish, yank and re-sign in one registry's public tree, signing with its key."""

    def __init__(
        self,
        storage: Storage,
        key: PrivateKey,
        *,
        expires_in: timedelta = DEFAULT_EXPIRY,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.storage = storage
        self.key = key
        self.expires_in = expires_in
        #: The time each new snapshot is signed at (its ``created``; ``expires`` is
        #: ``expires_in`` later): now, unless a reproducible build fixes it.
        self.clock = clock or (lambda: datetime.now(UTC))
        # Digest of each index file by the version tag it was read at: a check of
        # every listed file costs a stat per file, not a read and a hash.
        self._infos: dict[str, tuple[str, FileInfo]] = {}
        self._verified: str | None = None

    # -- publishing ------------------------------------------------------------------------

    def store_blob(self, digest: str, source: bytes | Path) -> bool:
        """Store a validated blob under its digest; True if it was new.

        A blob already stored with other bytes (damaged on disk) is replaced.
        """
        path = blob_path(digest)
        if self.storage.create(path, source):
            return True
        if digest_bytes(self.storage.read_bytes(path)) == digest:
            return False
        self.storage.delete(path)
        return self.storage.create(path, source)

    def publish(self, manifest: Manifest) -> Published:
        """Publish a validated, publisher-signed manifest (its blob or members already stored).

        The registry key countersigns it. Raises :class:`InvalidManifest` for
        text holding a control character (:func:`check_new_manifest`), before
        anything is written; :class:`AlreadyExists` for another release of the
        same version, or for a name colliding with a different spelling
        already published.
        """
        check_new_manifest(manifest)
        name = parse_name(manifest.name)
        try:
            existing = parse_index(self.storage.read_bytes(index_path(name)))
        except NotFound:
            existing = []
        if existing and existing[0].name != manifest.name:
            raise AlreadyExists(
                f"{manifest.name} collides with the published name {existing[0].name} "
                "(names differing only by case, '-' or '_' are the same name)"
            )
        stored = manifest.signed(self.key)
        path = manifest_path(name, manifest.version)
        created = self.storage.create(path, stored.to_bytes())
        if not created:
            stored = Manifest.from_bytes(self.storage.read_bytes(path))
            try:
                stored.verify([self.key.public_key])
            except SignatureError as exc:
                # Not written by a holder of the key: never index it.
                raise SignatureError(
                    f"{path} exists but is not signed by this registry's key "
                    f"{self.key.public_key.short_id}: it was written without the key. "
                    "Remove it and publish again"
                ) from exc
            if not same_release(stored, manifest):
                raise AlreadyExists(
                    f"{stored.ref} is already published with other content "
                    f"({stored.digest or 'another pack'}); publish a new version"
                )
        entry = IndexEntry.for_manifest(stored)
        added = self._change(index_path(name), lambda data: add_entry(data, entry))
        snapshot = self.sign_snapshot([index_path(name)])
        return Published(created or added, entry, stored, snapshot)

    def set_yanked(self, name: ModelName | str, version: str, yanked: bool) -> IndexEntry:
        """Yank or unyank ``name@version``; NotFound if it is not published here."""
        parsed = name if isinstance(name, ModelName) else parse_name(name)
        path = index_path(parsed)
        if self.storage.stat(path) is None:
            raise NotFound(f"no model named {parsed}")
        self._change(path, lambda data: (set_yanked(data, version, yanked), True))
        self.sign_snapshot([path])
        wanted = parse_version(version)
        for entry in parse_index(self.storage.read_bytes(path)):
            if parse_version(entry.version) == wanted:
                return entry
        raise NotFound(f"version {version} of {parsed} is not published here")

    def _change(self, path: str, change: Callable[[bytes], tuple[bytes, bool]]) -> bool:
        """Apply ``change(old) -> (new, changed)`` to ``path``: journal, then compare-and-swap."""
        for attempt in range(_CAS_ATTEMPTS):
            try:
                data, tag = self.storage.read(path)
                before: str | None = digest_bytes(data)
            except NotFound:
                data, tag, before = b"", None, None
            new, changed = change(data)
            if not changed or new == data:
                return bool(changed)
            step = self._journal(path, before, digest_bytes(new))
            try:
                self.storage.write(path, new, if_match=tag)
            except WriteConflict:
                self.storage.delete(step)
                _sleep(attempt)
                continue
            return True
        raise RegistryUnavailable(f"storage: {path} is too busy; try again")

    # -- the journal -----------------------------------------------------------------------

    def _journal(self, path: str, before: str | None, after: str | None) -> str:
        created = time.time()
        record = {
            "type": "pending",
            "path": path,
            "before": before,
            "after": after,
            "created": format_time(datetime.fromtimestamp(created, UTC)),
        }
        body = canonical_json(add_signature(record, self.key))
        key = f"{JOURNAL_DIR}/{int(created)}-{secrets.token_hex(8)}.json"
        self.storage.create(key, body)
        return key

    def _steps(self, now: float) -> list[_Step]:
        """The journal entries signed by this registry's key and not expired."""
        steps = []
        for key in self.storage.list(f"{JOURNAL_DIR}/"):
            try:
                record = loads_object(self.storage.read_bytes(key), key)
                verify_signed(record, [self.key.public_key], what=key)
                created = parse_time(record.get("created", ""), field="created").timestamp()
                path = record["path"]
                if not isinstance(path, str) or not is_index_path(path):
                    continue
            except (PhonyError, KeyError):
                continue  # not ours, or damaged: vouches for nothing
            if not -300 <= now - created <= JOURNAL_TTL:
                continue
            steps.append(_Step(key, path, record.get("before"), record.get("after")))
        return steps

    @staticmethod
    def _vouched(steps: Iterable[_Step], path: str, start: str | None, end: str | None) -> bool:
        """True if journal steps of ``path`` lead from digest ``start`` to ``end``."""
        edges: dict[str | None, set[str | None]] = {}
        for step in steps:
            if step.path == path:
                edges.setdefault(step.before, set()).add(step.after)
        seen = {start}
        frontier = [start]
        while frontier:
            node = frontier.pop()
            if node == end:
                return True
            for nxt in edges.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        return False

    # -- the snapshot ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot | None:
        """The current snapshot, or None before the first one."""
        try:
            return Snapshot.from_bytes(self.storage.read_bytes(snapshot_path()))
        except NotFound:
            return None

    def _info(self, path: str, stat: ObjectInfo | None) -> FileInfo | None:
        """Digest and size of ``path`` as stored now (None if absent), given its ``stat``."""
        if stat is None:
            self._infos.pop(path, None)
            return None
        cached = self._infos.get(path)
        if cached is not None and cached[0] == stat.etag:
            return cached[1]
        try:
            data, tag = self.storage.read(path)
        except NotFound:
            return None
        info = FileInfo.of(data)
        self._infos[path] = (tag, info)
        if len(self._infos) > 65536:
            self._infos.clear()
        return info

    def _infos_of(self, paths: list[str]) -> dict[str, FileInfo | None]:
        """Digest and size of each of ``paths``: one listing of the index, reads of changes only."""
        if not paths:
            return {}
        if len(paths) < 4:
            return {path: self._info(path, self.storage.stat(path)) for path in paths}
        # One listing (on S3, a request per thousand files) gives every version tag.
        listed = self.storage.scan(f"{INDEX_DIR}/")
        return {path: self._info(path, listed.get(path)) for path in paths}

    def sign_snapshot(
        self,
        paths: Iterable[str] = (),
        *,
        force: bool | Callable[[Snapshot], bool] = False,
        now: datetime | None = None,
        adopt: bool = False,
    ) -> Snapshot:
        """Re-sign the snapshot listing the current content of ``paths`` (CAS, retried).

        Every other index file the previous snapshot lists must still hold
        the listed content, or a change the journal vouches for; otherwise
        :class:`DigestMismatch` names the file and nothing is signed. The
        previous snapshot must be signed by this key (:class:`SignatureError`
        otherwise) unless ``adopt`` (a deliberate key rotation). Nothing is
        written when the snapshot already lists that content, unless
        ``force`` says so (a refresh; a callable is asked about the snapshot
        as read on each try, so replicas refreshing at once re-sign it once).
        """
        wanted = [p for p in paths if is_index_path(p)]
        for attempt in range(_CAS_ATTEMPTS):
            current, tag = self._read_snapshot(adopt=adopt)
            steps: list[_Step] = []
            try:
                files, listed_changes = self._plan(current, wanted, steps)
            except DigestMismatch:
                if self._moved(tag):
                    continue  # another writer signed meanwhile: look again
                raise
            changed = listed_changes or current is None
            if current is not None and (force(current) if callable(force) else force):
                changed = True
            if not changed:
                assert current is not None
                self._forget(steps, files)
                return current
            new = Snapshot.new(
                files,
                version=(current.version + 1) if current else 1,
                now=now or self.clock(),
                expires_in=self.expires_in,
            ).signed(self.key)
            try:
                self.storage.write(snapshot_path(), new.to_bytes(), if_match=tag)
            except WriteConflict:
                _sleep(attempt)
                continue
            self._forget(steps, files)
            return new
        raise RegistryUnavailable("storage: the snapshot is too busy; try again")

    def _plan(
        self, current: Snapshot | None, wanted: Iterable[str], steps: list[_Step]
    ) -> tuple[dict[str, FileInfo], bool]:
        """The files a new snapshot lists, and whether they differ from ``current``'s.

        Raises DigestMismatch for a listed file changed without the key.
        ``steps`` receives the journal entries read.
        """
        files = dict(current.files) if current else {}
        changed = False
        # The files first, then the journal: a writer journals before it writes, so
        # every change read here is either signed already or in the journal listed next.
        check = sorted(set(files) | set(wanted))
        infos = self._infos_of(check)
        steps.extend(self._steps(time.time()))
        pending = sorted({s.path for s in steps} - set(check))
        infos.update(self._infos_of(pending))
        for path in check + pending:
            listed, info = files.get(path), infos[path]
            if info == listed:
                continue
            start = listed.digest if listed else None
            end = info.digest if info else None
            if self._vouched(steps, path, start, end):
                if info is None:
                    files.pop(path, None)
                else:
                    files[path] = info
                changed = True
            elif listed is not None:
                assert current is not None
                state = "is missing" if info is None else f"holds {end}"
                raise DigestMismatch(
                    f"{path} was changed without the registry key: it {state}, but "
                    f"snapshot version {current.version} lists {start}. Refusing to sign "
                    "it; restore the signed content (from a backup or another copy of "
                    "the registry) and try again"
                )
            # An unlisted file that nobody holding the key wrote is simply not published.
        return files, changed

    def check(self) -> Snapshot | None:
        """Raise unless the stored tree is what the last snapshot signed (plus journalled changes).

        ``phony models push`` and ``yank`` into a folder run it before writing
        anything, so that a push into a tampered registry changes nothing (the
        snapshot is never signed over a tampered file either way).
        """
        for _ in range(_CAS_ATTEMPTS):
            current, tag = self._read_snapshot()
            try:
                self._plan(current, (), [])
            except DigestMismatch:
                if self._moved(tag):
                    continue
                raise
            return current
        raise RegistryUnavailable("storage: the snapshot is too busy; try again")

    def _read_snapshot(self, *, adopt: bool = False) -> tuple[Snapshot | None, str | None]:
        """The stored snapshot (None before the first) and its version tag, for a CAS write.

        Raises SignatureError unless this key signed it, or ``adopt`` (a key rotation).
        """
        try:
            data, tag = self.storage.read(snapshot_path())
        except NotFound:
            return None, None
        current = Snapshot.from_bytes(data)
        if not adopt:
            self._check_signed(current, data)
        return current, tag

    def _moved(self, tag: str | None) -> bool:
        """True if the snapshot is no longer the one read with version tag ``tag``."""
        info = self.storage.stat(snapshot_path())
        return (info.etag if info else None) != tag

    def _check_signed(self, snapshot: Snapshot, data: bytes) -> None:
        """Raise SignatureError unless this key signed ``snapshot`` (stored as ``data``)."""
        stored = digest_bytes(data)
        if stored == self._verified:
            return  # the very bytes verified last time
        try:
            snapshot.verify(self.key.public_key)
            self._verified = stored
        except SignatureError as exc:
            signers = ", ".join(s.get("keyid", "?")[:16] for s in snapshot.signatures) or "nobody"
            raise SignatureError(
                f"{snapshot_path()} (version {snapshot.version}) is not signed by this "
                f"registry's key {self.key.public_key.short_id} (signed by {signers}); "
                "refusing to sign over it"
            ) from exc

    def _forget(self, steps: list[_Step], files: Mapping[str, FileInfo]) -> None:
        """Remove journal entries whose change the snapshot now lists (or has gone past)."""
        for step in steps:
            listed = files.get(step.path)
            if self._vouched(steps, step.path, step.after, listed.digest if listed else None):
                self.storage.delete(step.key)

    def ensure_snapshot(self, *, adopt: bool = False) -> Snapshot:
        """The snapshot: created empty if there is none.

        One signed by another key is re-signed only with ``adopt`` (a
        deliberate rotation of the registry key); otherwise SignatureError.
        """
        current = self.snapshot()
        foreign = current is not None and not any(
            s.get("keyid") == self.key.keyid for s in current.signatures
        )
        return self.sign_snapshot([], force=foreign, adopt=adopt and foreign)

    def refresh_if_due(self, lifetime: float, now: datetime | None = None) -> bool:
        """Re-sign when less than half of ``lifetime`` seconds is left; True if it did."""
        moment = now or datetime.now(UTC)

        def due(snapshot: Snapshot) -> bool:
            return (snapshot.expires_at - moment).total_seconds() <= lifetime / 2

        before = self.snapshot()
        after = self.sign_snapshot([], force=due, now=moment)
        return before is None or after.version != before.version

    def reconcile(self, older_than: float = 60.0) -> int:
        """Finish writes that stopped between the index and the snapshot; returns a count.

        Journal entries older than ``older_than`` seconds have their change
        listed in a new snapshot (harmless if the write is still running: the
        snapshot update writes only a change); entries that are expired, or
        not signed by this key, are removed.
        """
        now = time.time()
        old = []
        valid = {step.key for step in self._steps(now)}
        for key in list(self.storage.list(f"{JOURNAL_DIR}/")):
            try:
                started = int(key.rsplit("/", 1)[-1].split("-", 1)[0])
            except ValueError:
                started = 0
            if key not in valid and now - started > 300:
                self.storage.delete(key)
            elif key in valid and now - started >= older_than:
                old.append(key)
        if old:
            self.sign_snapshot([])
        return len(old)
