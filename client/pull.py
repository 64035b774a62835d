"""Pulling models: resolve, verify, download, migrate, record.

The flow for ``pull("alice/names@^1.2", registry=...)``:

1. an exact version or digest already pulled from that registry is answered
   from the cache with no registry access at all (``name@version`` is
   immutable), if that registry is still where the name belongs; with
   ``PHONY_OFFLINE`` set, everything is answered from the cache or refused
   with :class:`OfflineError`;
2. the core's verified reader (:class:`phony_registry.reader.VerifiedReader`)
   checks the snapshot (signed by the registry's pinned key, else
   :class:`KeyChangedError`; not older than the highest version seen,
   :class:`RollbackError`; not expired, :class:`ExpiredError`), the model's
   index file against it (:class:`DigestMismatch`: mix-and-match), and the
   manifest the spec picks: its digest, and a signature by a key that may
   speak for the name under this user's :class:`~phony_registry.trust.TrustPolicy`
   (official names: the official key only; a namespace: the registry it
   belongs to, :class:`SourceConflict` otherwise, or the publisher keys
   trusted for it). A pack's members all pass the same checks before any
   blob is fetched: one member its source may not speak for refuses the pack;
3. the blob is streamed into the cache, hashed on the way, and kept only if
   digest and size match; a blob in an older format is migrated into a new
   derived blob, the original kept byte for byte;
4. only then are the snapshot, index, manifest, refs (with the key ids that
   verified them), the namespaces first pulled from this registry and its
   high-water mark recorded. A failed pull leaves no new ref, manifest or blob.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_client._progress import Progress, notice
from phony_client.cache import Cache, Ref
from phony_client.config import (
    Config,
    NamespaceSources,
    RegistryState,
    is_offline,
    load_config,
    registry_id,
    trust_policy,
)
from phony_client.refs import accepts_ref, official_location
from phony_client.sources import Source, open_source
from phony_registry import layout
from phony_registry.digests import digest_hex
from phony_registry.errors import DigestMismatch, ModelFormatError, OfflineError
from phony_registry.index import IndexEntry, resolve
from phony_registry.manifest import Manifest, format_time
from phony_registry.names import ModelName, split_reference
from phony_registry.reader import VerifiedReader
from phony_registry.signing import PublicKey, official_key
from phony_registry.trust import TrustPolicy
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


def registry_location(
    option: str | None = None, config: Config | None = None, name: ModelName | None = None
) -> str:
    """Where to pull from: ``--registry`` (a name from config.toml or a location), else,
    for a namespaced ``name``, the registry its namespace belongs to (``[namespaces]``,
    else the one it was first pulled from), else ``PHONY_REGISTRY``, else the
    configured default, else the bundled official index.
    """
    config = config if config is not None else load_config()
    if not option and name is not None and name.namespace:
        owner = trust_policy(config).owner(name.namespace)
        if owner is not None:
            return config.location_of(owner.label)
    chosen = option or os.environ.get("PHONY_REGISTRY") or config.default_registry
    if not chosen:
        return official_location()
    return config.location_of(chosen)


@dataclass
class PullResult:
    """What a pull produced: the refs (a pack first, then its members)."""

    refs: list[Ref] = field(default_factory=list)
    from_cache: bool = False

    @property
    def ref(self) -> Ref:
        """The ref asked for."""
        return self.refs[0]


class _CacheMeta:
    """The cache's copy of one registry's verified files, as the reader's :class:`MetaStore`."""

    def __init__(self, cache: Cache, registry: str) -> None:
        self.cache, self.registry = cache, registry

    def read_meta(self, path: str) -> bytes | None:
        return self.cache.read_meta(self.registry, path)

    def read_etag(self, path: str) -> str | None:
        return self.cache.read_etag(self.registry, path)


class RegistrySession(VerifiedReader):
    """One registry, verified by the core's reader, with this user's pins, trust and cache.

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
        source: Source = open_source(location, transport=transport)
        # An absolute path or a URL: what refs and lockfiles record (the URL as
        # given: the label messages show leaves out a password it may carry).
        self.location = getattr(source, "base", source.label)
        self.id = source.id
        self.state = RegistryState.load(self.id)
        super().__init__(
            source,
            policy=trust_policy(self.config),
            key=self._expected_key(),
            seen_version=self.state.snapshot_version,
            meta=_CacheMeta(self.cache, self.id),
            now=now,
            pin_hint=self.location,
        )

    @property
    def is_official(self) -> bool:
        """True for the bundled official index."""
        return self.id == registry_id(official_location())

    def _expected_key(self) -> PublicKey | None:
        entry = self.config.registry(self.location)
        if entry is not None and entry.key:
            return PublicKey.parse(entry.key)
        if self.is_official:
            return official_key()
        return PublicKey.from_base64(self.state.key) if self.state.key else None

    # -- blobs ------------------------------------------------------------------

    def blob(self, digest: str, size: int | None) -> Path:
        """The verified blob in the cache, downloaded if missing or corrupted."""
        cache = self.cache
        if cache.has_blob(digest, size) and cache.verify_blob(digest):
            return cache.blob_path(digest)
        with cache.lock(digest_hex(digest)):
            if cache.has_blob(digest, size) and cache.verify_blob(digest):
                return cache.blob_path(digest)  # another process fetched it meanwhile
            if cache.blob_path(digest).exists():
                notice(f"the cached copy of {digest[:19]} is damaged; downloading it again")
            cache.discard_blob(digest)
            chunks = self.source.stream(layout.blob_path(digest))
            if self.source.remote and size and size >= _PROGRESS_MIN:
                with Progress(f"downloading {digest[:19]}", size) as bar:
                    return cache.store_blob(bar.wrap(chunks), digest, size)
            return cache.store_blob(chunks, digest, size)

    # -- commit -----------------------------------------------------------------

    def commit(self) -> None:
        """Record the verified files, the namespaces first pulled from here, the high-water mark."""
        if self._snapshot is None:
            return
        self.cache.ensure()
        for path, (data, etag) in self.verified.items():
            self.cache.write_meta(self.id, path, data, etag)
        self.verified.clear()
        NamespaceSources.record(list(self.claims.values()))
        self.claims.clear()
        self.state.snapshot_version = max(self.state.snapshot_version, self._snapshot.version)
        if not self.is_official and self._key is not None and self.state.key is None:
            self.state.key = self._key.to_base64()
        self.state.save()


#: Downloads at least this big show progress on a terminal.
_PROGRESS_MIN = 1 << 20


def _migrate(cache: Cache, path: Path) -> tuple[int, str | None, int | None]:
    """Format version of a blob, and the derived blob if it had to be migrated."""
    # The format modules import numpy: loaded when a blob is read, not with the
    # commands that only name pull (`phony models --help`).
    from phony_registry.format import dump_model, load_model
    from phony_registry.model import FORMAT_VERSION

    model = load_model(path)
    if model.format_version >= FORMAT_VERSION:
        return model.format_version, None, None
    derived, _ = cache.store_bytes(dump_model(model))
    return model.format_version, derived, FORMAT_VERSION


def resolve_cached(
    name: ModelName,
    spec: Spec,
    registry: str | None = None,
    *,
    cache: Cache | None = None,
    policy: TrustPolicy | None = None,
) -> Ref | None:
    """The best ref in the cache for ``name`` and ``spec`` (from one registry, if given).

    With ``policy``, only refs from where the name belongs count.
    """
    refs = [
        r
        for r in (cache or Cache()).iter_refs(name.key)
        if (registry is None or r.registry == registry)
        and (policy is None or accepts_ref(policy, name, r))
    ]
    return select(spec, refs, digest_fields=("digest", "manifest", "derived"))


def _record(session: RegistrySession, entry: IndexEntry, manifest: Manifest, **extra: Any) -> Ref:
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
        signers=session.signers.get(manifest.ref, []),
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


def _pull_entry(
    session: RegistrySession, name: ModelName, spec: Spec, expect: str | None = None
) -> list[Ref]:
    entry = resolve(session.index(name), spec, str(name))
    manifest = session.manifest(entry)
    if expect is not None:
        # Checked like a signature, before any blob is fetched or anything recorded.
        got = manifest.digest if not manifest.is_pack and manifest.digest else entry.manifest
        if got != expect:
            raise DigestMismatch(
                f"{manifest.ref} from {session.source.label} is {got}, not {expect} as "
                "expected: refusing"
            )
    if not manifest.is_pack:
        return [_pull_model(session, entry, manifest)]
    # Every member verifies (digest, signature, source) before any blob is fetched.
    verified = session.members(manifest)
    members = [_pull_model(session, e, m) for e, m in verified]
    pack = _record(session, entry, manifest, members=[m.ref for m in members])
    return [pack, *members]


def _cached_answer(
    cache: Cache, name: ModelName, spec: Spec, registry: str, policy: TrustPolicy
) -> PullResult | None:
    ref = resolve_cached(name, spec, registry, cache=cache, policy=policy)
    if ref is None:
        return None
    refs = [ref]
    if ref.type == "pack":
        for member in ref.members:
            member_name, member_version = member.rsplit("@", 1)
            member_ref = ModelName(tuple(member_name.split("/")))
            found = resolve_cached(
                member_ref, parse_spec(member_version), registry, cache=cache, policy=policy
            )
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
    expect: str | None = None,
) -> PullResult:
    """Pull ``name[@spec]`` into the cache and return what was recorded.

    ``registry`` is a location or a registry name from config.toml (see
    :func:`registry_location`). ``expect`` is the digest the release must
    have (its blob, or a pack's manifest: what a lockfile records); another
    one is a :class:`DigestMismatch` before anything is downloaded or
    recorded. Raises :class:`NotFound`, :class:`OfflineError` and the
    integrity errors described above.
    """
    config = config if config is not None else load_config()
    name, raw_spec = split_reference(reference)
    location = registry_location(registry, config, name)
    spec = parse_spec(raw_spec)
    cache = cache or Cache()
    rid = open_source(location).id
    policy = trust_policy(config)
    if not refresh and isinstance(spec, (ExactSpec, DigestSpec)):
        answer = _cached_answer(cache, name, spec, rid, policy)
        if answer is not None:
            return answer
    session = RegistrySession(location, cache=cache, config=config, transport=transport, now=now)
    if is_offline() and session.source.remote:
        answer = _cached_answer(cache, name, spec, rid, policy)
        if answer is not None:
            return answer
        raise OfflineError(
            f"PHONY_OFFLINE is set and {name}@{spec} from {session.source.label} is not in "
            "the cache"
        )
    try:
        refs = _pull_entry(session, name, spec, expect)
        session.commit()
        for ref in refs:
            session.cache.write_ref(ref)
    finally:
        session.close()
    return PullResult(refs)
