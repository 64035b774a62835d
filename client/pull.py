"""Pulling models: resolve, verify, download, migrate, record.

The flow for ``pull("alice/names@^1.2", registry=...)``:

1. an exact version or digest already pulled from that registry is answered
   from the cache with no registry access at all (``name@version`` is
   immutable); with ``PHONY_OFFLINE`` set, everything is answered from the
   cache or refused with :class:`OfflineError`;
2. the snapshot is fetched and verified: signed by the registry's pinned key
   (:class:`KeyChangedError` if the registry now serves another key), not
   older than the highest version seen (:class:`RollbackError`), not expired
   (:class:`ExpiredError`);
3. the model's index file is taken from the cache if its digest is the one
   the snapshot lists, else fetched (``If-None-Match``) and checked against
   the snapshot (:class:`DigestMismatch`: mix-and-match);
4. the spec picks an index line; its manifest must have the digest the line
   names and a signature by a key trusted for the namespace or the registry
   (:class:`SignatureError`);
5. the blob is streamed into the cache, hashed on the way, and kept only if
   digest and size match; a blob in an older format is migrated into a new
   derived blob, the original kept byte for byte;
6. only then are the snapshot, index, manifest, ref and the registry's
   high-water mark recorded. A failed pull leaves no new ref, manifest or blob.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_client.cache import Cache, Ref
from phony_client.config import Config, RegistryState, is_offline, load_config, registry_id
from phony_client.sources import Source, open_source
from phony_registry import layout
from phony_registry.digests import digest_bytes
from phony_registry.errors import (
    DigestMismatch,
    KeyChangedError,
    ModelFormatError,
    NotFound,
    OfflineError,
    RollbackError,
    SignatureError,
)
from phony_registry.index import IndexEntry, Snapshot, parse_index, resolve
from phony_registry.manifest import Manifest, format_time
from phony_registry.names import ModelName, canonical_key, split_reference
from phony_registry.signing import PublicKey, official_key
from phony_registry.versions import DigestSpec, ExactSpec, Spec, parse_spec, select

if TYPE_CHECKING:
    import httpx

__all__ = [
    "PullResult",
    "RegistrySession",
    "official_location",
    "pull",
    "registry_location",
    "resolve_cached",
]


def official_location() -> str:
    """The folder of the official index bundled with phony (``phony_index``)."""
    import phony_index

    return str(phony_index.ROOT)


def registry_location(option: str | None = None, config: Config | None = None) -> str:
    """Where to pull from: ``--registry`` (a name from config.toml or a location),
    else ``PHONY_REGISTRY``, else the configured default, else the bundled official index.
    """
    config = config if config is not None else load_config()
    chosen = option or os.environ.get("PHONY_REGISTRY") or config.default_registry
    if not chosen:
        return official_location()
    entry = config.registries.get(chosen)
    return entry.url if entry else chosen


@dataclass
class PullResult:
    """What a pull produced: the refs (a pack first, then its members)."""

    refs: list[Ref] = field(default_factory=list)
    from_cache: bool = False

    @property
    def ref(self) -> Ref:
        """The ref asked for."""
        return self.refs[0]


class RegistrySession:
    """One registry, verified: its snapshot, index files and manifests.

    Nothing is written to the cache until :meth:`commit`, so a session that
    fails half-way leaves the cache as it was.
    """

    def __init__(
        self,
        location: str,
        *,
        cache: Cache | None = None,
        config: Config | None = None,
        transport: httpx.BaseTransport | None = None,
        now: datetime | None = None,
    ) -> None:
        self.cache = cache or Cache()
        self.config = config if config is not None else load_config()
        self.source: Source = open_source(location, transport=transport)
        # An absolute path or a URL: what refs and lockfiles record.
        self.location = self.source.label
        self.id = self.source.id
        self.now = now
        self.state = RegistryState.load(self.id)
        self._snapshot: Snapshot | None = None
        self._snapshot_bytes = b""
        self._snapshot_etag: str | None = None
        self._key: PublicKey | None = None
        self._pending: dict[str, tuple[bytes, str | None]] = {}

    def close(self) -> None:
        """Release network connections."""
        self.source.close()

    @property
    def is_official(self) -> bool:
        """True for the bundled official index."""
        return self.id == registry_id(official_location())

    # -- the snapshot -----------------------------------------------------------

    def _expected_key(self) -> PublicKey | None:
        entry = self.config.registry(self.location)
        if entry is not None and entry.key:
            return PublicKey.parse(entry.key)
        if self.is_official:
            return official_key()
        return PublicKey.from_base64(self.state.key) if self.state.key else None

    def _served_key(self) -> PublicKey:
        try:
            data = self.source.fetch(layout.registry_key_path(), limit=64 << 10).data
        except NotFound:
            raise SignatureError(
                f"registry {self.source.label} publishes no key ({layout.registry_key_path()}); "
                f"pin its key with `phony keys trust KEY --registry {self.location}`"
            ) from None
        try:
            return PublicKey.from_pem(data)
        except SignatureError as exc:
            raise SignatureError(f"registry {self.source.label}: bad registry key: {exc}") from None

    def snapshot(self) -> Snapshot:
        """The registry's verified snapshot (fetched once per session)."""
        if self._snapshot is not None:
            return self._snapshot
        path = layout.snapshot_path()
        cached = self.cache.read_meta(self.id, path)
        etag = self.cache.read_etag(self.id, path) if cached is not None else None
        fetched = self.source.fetch(path, etag=etag)
        data = cached if fetched.not_modified and cached is not None else fetched.data
        snapshot = Snapshot.from_bytes(data)
        key = self._expected_key()
        if key is None:
            key = self._served_key()  # trust on first use; pinned at commit
        try:
            snapshot.verify(key)
        except SignatureError as exc:
            try:
                served = self._served_key()
            except SignatureError:
                raise exc from None
            if served != key:
                raise KeyChangedError(
                    f"registry {self.source.label} now signs with key {served.short_id}, "
                    f"but key {key.short_id} is pinned for it. If its maintainers really "
                    "rotated the key, check the new one with them and run "
                    f"`phony keys trust {served.to_base64()} --registry {self.location}`"
                ) from None
            raise
        if snapshot.version < self.state.snapshot_version:
            raise RollbackError(
                f"registry {self.source.label} served snapshot version {snapshot.version}, "
                f"older than version {self.state.snapshot_version} already seen: "
                "refusing a rolled-back index"
            )
        if (
            cached is not None
            and not fetched.not_modified
            and snapshot.version == self.state.snapshot_version
            and Snapshot.from_bytes(cached).version == snapshot.version
            and cached != data
        ):
            raise RollbackError(
                f"registry {self.source.label} served snapshot version {snapshot.version} "
                "with content different from the one already seen"
            )
        snapshot.check_expiry(self.now)
        self._snapshot, self._snapshot_bytes, self._key = snapshot, data, key
        self._snapshot_etag = fetched.etag or etag
        return snapshot

    # -- index and manifests ------------------------------------------------------

    def index(self, name: ModelName) -> list[IndexEntry]:
        """The verified index lines of ``name``; :class:`NotFound` if the registry has none."""
        path = layout.index_path(name)
        for attempt in range(2):
            snapshot = self.snapshot()
            info = snapshot.files.get(path)
            if info is None:
                raise NotFound(f"{name} is not in registry {self.source.label}")
            cached = self.cache.read_meta(self.id, path)
            if cached is not None and digest_bytes(cached) == info.digest:
                return self._own_entries(name, parse_index(cached))
            etag = self.cache.read_etag(self.id, path) if cached is not None else None
            fetched = self.source.fetch(path, etag=etag)
            data = cached if fetched.not_modified and cached is not None else fetched.data
            try:
                snapshot.check_file(path, data)
                break
            except DigestMismatch:
                # A publish may have landed between our snapshot and index reads: the
                # index is newer than the snapshot we hold. Read the snapshot again,
                # once; a registry still serving a mismatched pair is refused.
                if attempt:
                    raise
                self._snapshot = None
        entries = self._own_entries(name, parse_index(data))
        self._pending[path] = (data, fetched.etag)
        return entries

    def _own_entries(self, name: ModelName, entries: list[IndexEntry]) -> list[IndexEntry]:
        """Refuse an index file that lists versions of another model."""
        for entry in entries:
            if canonical_key(entry.name) != name.key:
                raise DigestMismatch(
                    f"the index file of {name} in {self.source.label} lists {entry.ref}"
                )
        return entries

    def manifest(self, entry: IndexEntry) -> Manifest:
        """The manifest an index line names, checked against the line and its signatures."""
        path = layout.manifest_path(entry.name, entry.version)
        data = self.cache.read_meta(self.id, path)
        if data is None or digest_bytes(data) != entry.manifest:
            data = self.source.fetch(path).data
        if digest_bytes(data) != entry.manifest:
            raise DigestMismatch(
                f"manifest of {entry.ref} does not match the registry's index "
                f"(expected {entry.manifest}, got {digest_bytes(data)})"
            )
        manifest = Manifest.from_bytes(data)
        if (manifest.name, manifest.version, manifest.digest, manifest.size) != (
            entry.name,
            entry.version,
            entry.digest,
            entry.size,
        ):
            raise DigestMismatch(f"manifest of {entry.ref} disagrees with its index line")
        manifest.verify(self.trusted_keys(ModelName(tuple(entry.name.split("/")))))
        self._pending[path] = (data, None)
        return manifest

    def trusted_keys(self, name: ModelName) -> list[PublicKey]:
        """Keys whose signature makes a manifest of ``name`` acceptable here."""
        keys = []
        if self._key is not None:
            keys.append(self._key)
        for text in self.config.trusted_for(name.namespace, self.id):
            keys.append(PublicKey.parse(text))
        if name.official:
            keys.append(official_key())
        return keys

    # -- blobs ------------------------------------------------------------------

    def blob(self, digest: str, size: int | None) -> Path:
        """The verified blob in the cache, downloaded if missing or corrupted."""
        cache = self.cache
        if cache.has_blob(digest, size) and cache.verify_blob(digest):
            return cache.blob_path(digest)
        with cache.lock(digest.split(":")[1]):
            if cache.has_blob(digest, size) and cache.verify_blob(digest):
                return cache.blob_path(digest)  # another process fetched it meanwhile
            cache.discard_blob(digest)
            chunks = self.source.stream(layout.blob_path(digest))
            if self.source.remote and size and size >= _PROGRESS_MIN and sys.stderr.isatty():
                chunks = _progress(chunks, size, digest)
            return cache.store_blob(chunks, digest, size)

    # -- commit -----------------------------------------------------------------

    def commit(self) -> None:
        """Record the verified snapshot, index files, manifests and the high-water mark."""
        if self._snapshot is None:
            return
        self.cache.ensure()
        self.cache.write_meta(
            self.id, layout.snapshot_path(), self._snapshot_bytes, self._snapshot_etag
        )
        for path, (data, etag) in self._pending.items():
            self.cache.write_meta(self.id, path, data, etag)
        self._pending.clear()
        self.state.snapshot_version = max(self.state.snapshot_version, self._snapshot.version)
        if not self.is_official and self._key is not None and self.state.key is None:
            self.state.key = self._key.to_base64()
        self.state.save()


#: Downloads at least this big show progress on a terminal.
_PROGRESS_MIN = 1 << 20


def _progress(chunks: Iterator[bytes], size: int, digest: str) -> Iterator[bytes]:
    """Pass ``chunks`` through, drawing a one-line progress counter on stderr."""
    done = 0
    label = digest[:19]
    try:
        for chunk in chunks:
            done += len(chunk)
            percent = min(100, done * 100 // size)
            sys.stderr.write(
                f"\r{label}  {done / 2**20:6.1f} / {size / 2**20:.1f} MiB  {percent:3d}%"
            )
            sys.stderr.flush()
            yield chunk
    finally:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _migrate(cache: Cache, path: Path) -> tuple[int, str | None, int | None]:
    """Format version of a blob, and the derived blob if it had to be migrated."""
    from phony_registry.format import dump_model, load_model
    from phony_registry.model import FORMAT_VERSION

    model = load_model(path)
    if model.format_version >= FORMAT_VERSION:
        return model.format_version, None, None
    derived, _ = cache.store_bytes(dump_model(model))
    return model.format_version, derived, FORMAT_VERSION


def resolve_cached(
    name: ModelName, spec: Spec, registry: str | None = None, *, cache: Cache | None = None
) -> Ref | None:
    """The best ref in the cache for ``name`` and ``spec`` (from one registry, if given)."""
    refs = [
        r
        for r in (cache or Cache()).iter_refs(name.key)
        if registry is None or r.registry == registry
    ]
    return select(spec, refs, digest_fields=("digest", "manifest", "derived"))


def _record(
    session: RegistrySession, entry: IndexEntry, manifest: Manifest, **extra: Any
) -> Ref:
    return Ref(
        name=manifest.name,
        version=manifest.version,
        registry=session.id,
        location=session.location,
        manifest=entry.manifest,
        digest=manifest.digest,
        size=manifest.size,
        kind=manifest.kind,
        type=manifest.type,
        yanked=entry.yanked,
        pulled=format_time(datetime.now(UTC)),
        **extra,
    )


def _pull_model(session: RegistrySession, entry: IndexEntry, manifest: Manifest) -> Ref:
    assert manifest.digest is not None
    cache = session.cache
    existed = cache.has_blob(manifest.digest)
    path = session.blob(manifest.digest, manifest.size)
    try:
        version, derived, derived_version = _migrate(cache, path)
    except ModelFormatError as exc:
        if not existed and manifest.digest not in cache.referenced_digests():
            cache.discard_blob(manifest.digest)
        raise type(exc)(f"{manifest.ref}: {exc}") from None
    return _record(
        session,
        entry,
        manifest,
        format_version=version,
        derived=derived,
        derived_format_version=derived_version,
    )


def _pull_entry(session: RegistrySession, name: ModelName, spec: Spec) -> list[Ref]:
    entry = resolve(session.index(name), spec, str(name))
    manifest = session.manifest(entry)
    if not manifest.is_pack:
        return [_pull_model(session, entry, manifest)]
    members = []
    for member in manifest.members:
        member_name = ModelName(tuple(member.name.split("/")))
        member_entry = resolve(session.index(member_name), parse_spec(member.version), member.name)
        if member_entry.digest != member.digest:
            raise DigestMismatch(
                f"pack {manifest.ref}: member {member.name}@{member.version} has blob "
                f"{member_entry.digest} in the index, the pack says {member.digest}"
            )
        members.append(_pull_model(session, member_entry, session.manifest(member_entry)))
    pack = _record(session, entry, manifest, members=[m.ref for m in members])
    return [pack, *members]


def _cached_answer(cache: Cache, name: ModelName, spec: Spec, registry: str) -> PullResult | None:
    ref = resolve_cached(name, spec, registry, cache=cache)
    if ref is None:
        return None
    refs = [ref]
    if ref.type == "pack":
        for member in ref.members:
            member_name, member_version = member.rsplit("@", 1)
            member_ref = ModelName(tuple(member_name.split("/")))
            found = resolve_cached(member_ref, parse_spec(member_version), registry, cache=cache)
            if found is None:
                return None
            refs.append(found)
    for item in refs:
        digest = item.usable_digest
        if digest and not cache.has_blob(digest, None if item.derived else item.size):
            return None
    return PullResult(refs, from_cache=True)


def pull(
    reference: str,
    *,
    registry: str | None = None,
    cache: Cache | None = None,
    config: Config | None = None,
    transport: httpx.BaseTransport | None = None,
    now: datetime | None = None,
    refresh: bool = False,
) -> PullResult:
    """Pull ``name[@spec]`` into the cache and return what was recorded.

    ``registry`` is a location or a registry name from config.toml (see
    :func:`registry_location`). Raises :class:`NotFound`,
    :class:`OfflineError` and the integrity errors described above.
    """
    config = config if config is not None else load_config()
    location = registry_location(registry, config)
    name, raw_spec = split_reference(reference)
    spec = parse_spec(raw_spec)
    cache = cache or Cache()
    rid = open_source(location).id
    if not refresh and isinstance(spec, (ExactSpec, DigestSpec)):
        answer = _cached_answer(cache, name, spec, rid)
        if answer is not None:
            return answer
    session = RegistrySession(location, cache=cache, config=config, transport=transport, now=now)
    if is_offline() and session.source.remote:
        answer = _cached_answer(cache, name, spec, rid)
        if answer is not None:
            return answer
        raise OfflineError(
            f"PHONY_OFFLINE is set and {name}@{spec} from {session.source.label} is not in "
            "the cache"
        )
    try:
        refs = _pull_entry(session, name, spec)
        session.commit()
        for ref in refs:
            session.cache.write_ref(ref)
    finally:
        session.close()
    return PullResult(refs)
