"""The verified reader: snapshot -> index -> manifest -> blob, for every kind of registry.

One audited read path. A pull (``phony_client.pull``), ``phony registry
import``, the official index check (``phony_index._build``) and locale packs
shipped by plugins (:mod:`phony_registry.builtins`) all read a registry
through :class:`VerifiedReader`:

1. the snapshot is verified: signed by the registry's expected key (pinned,
   configured, built in, or, on first use, the key the registry serves:
   :class:`KeyChangedError` when it now serves another), not older than the
   highest version already seen (:class:`RollbackError`), not the same
   version with other content, not expired (:class:`ExpiredError`);
2. an index file must have the digest the snapshot lists (mix-and-match:
   :class:`DigestMismatch`; read once more with a fresh snapshot, for a
   publish that landed in between) and list only its own model;
3. a manifest must have the digest its index line names, agree with the
   line, be well formed (a pack carries no blob) and be signed by a key
   that may speak for its name (:class:`~phony_registry.trust.TrustPolicy`:
   :class:`SignatureError`, :class:`SourceConflict`);
4. a pack's members resolve in the same registry to the digests the pack
   names, and each member's manifest passes step 3: a pack never vouches for
   a name its source may not speak for;
5. a blob is checked against the manifest's digest and size (streamed by the
   caller into its store, or read here with :meth:`VerifiedReader.blob_bytes`).

The core does no network I/O: the caller passes a :class:`RegistrySource`
(a folder here, an HTTP client in ``phony_client.sources``). What verified is
kept in :attr:`VerifiedReader.verified` (path -> bytes and ETag) and the
namespaces first read from this registry in :attr:`VerifiedReader.claims`,
for the caller to record once everything it needed has verified.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from phony_registry import layout
from phony_registry.digests import check_bytes, digest_bytes
from phony_registry.errors import (
    DigestMismatch,
    IntegrityError,
    KeyChangedError,
    NotFound,
    RegistryUnavailable,
    RollbackError,
    SignatureError,
)
from phony_registry.index import IndexEntry, Snapshot, parse_index, resolve
from phony_registry.manifest import Manifest
from phony_registry.names import ModelName, canonical_key, parse_name
from phony_registry.signing import PublicKey
from phony_registry.trust import Owner, TrustPolicy, registry_id
from phony_registry.versions import parse_spec

__all__ = [
    "Fetched",
    "FolderSource",
    "MappingSource",
    "MetaStore",
    "RegistrySource",
    "VerifiedReader",
]

#: Largest index file, manifest or snapshot read (a blob is streamed instead).
MAX_METADATA = 16 << 20
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Fetched:
    """A fetched file: its bytes and ETag, or ``not_modified`` after a 304."""

    data: bytes
    etag: str | None = None
    not_modified: bool = False


class RegistrySource(Protocol):
    """Read access to one registry's static layout (a folder, an HTTP server...)."""

    #: Identity of the registry (:func:`phony_registry.trust.registry_id`).
    id: str
    #: How to show it to a user.
    label: str
    #: True if reading needs the network.
    remote: bool

    def fetch(self, path: str, *, etag: str | None = None, limit: int = MAX_METADATA) -> Fetched:
        """A small file (index, manifest, snapshot, key); NotFound if absent."""
        ...

    def stream(self, path: str) -> Iterator[bytes]:
        """The chunks of a blob; NotFound if absent."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class FolderSource:
    """A registry that is a folder on this machine (or a mounted share)."""

    remote = False

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.id = registry_id(str(self.root))
        self.label = str(self.root)

    def _path(self, path: str) -> Path:
        try:
            return layout.to_local(self.root, path)
        except ValueError as exc:
            raise NotFound(f"{path!r} is not a registry path") from exc

    def _open(self, path: str) -> BinaryIO:
        """The file at layout ``path``, open for reading: a regular file, or NotFound.

        Opened without blocking and checked before a byte is read: a FIFO
        planted in a shared registry folder would otherwise hold a pull (which
        has no deadline for a folder) forever, and a device could be read
        without end.
        """
        target = self._path(path)
        try:
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(f"{path} not found in registry {self.label}") from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotFound(f"{path} in registry {self.label} is not a regular file")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def fetch(self, path: str, *, etag: str | None = None, limit: int = MAX_METADATA) -> Fetched:
        """Read ``path``; ``etag`` is ignored (a local read is as cheap as a check)."""
        with self._open(path) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise RegistryUnavailable(f"{path} in {self.label} is larger than {limit} bytes")
        return Fetched(data)

    def stream(self, path: str) -> Iterator[bytes]:
        """Read ``path`` in chunks."""
        handle = self._open(path)

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(_CHUNK):
                    yield chunk

        return chunks()

    def close(self) -> None:
        """Nothing to release."""


class MappingSource:
    """A registry held in memory as ``{layout path: bytes}`` (a build being checked)."""

    remote = False

    def __init__(self, files: Mapping[str, bytes], label: str = "in-memory registry") -> None:
        self.files = files
        self.id = f"memory:{label}"
        self.label = label

    def fetch(self, path: str, *, etag: str | None = None, limit: int = MAX_METADATA) -> Fetched:
        """The bytes of ``path``."""
        try:
            data = self.files[path]
        except KeyError as exc:
            raise NotFound(f"{path} not found in {self.label}") from exc
        if len(data) > limit:
            raise RegistryUnavailable(f"{path} in {self.label} is larger than {limit} bytes")
        return Fetched(data)

    def stream(self, path: str) -> Iterator[bytes]:
        """The bytes of ``path`` as one chunk."""
        return iter([self.fetch(path, limit=1 << 62).data])

    def close(self) -> None:
        """Nothing to release."""


class MetaStore(Protocol):
    """Files of this registry verified earlier (a client's cache): reused when still valid."""

    def read_meta(self, path: str) -> bytes | None:
        """The bytes kept for ``path``, or None."""
        ...

    def read_etag(self, path: str) -> str | None:
        """The ETag kept with ``path``, or None."""
        ...


class VerifiedReader:
    """One registry, verified (see the module docstring).

    ``key`` is the key the snapshot must be signed by (None: trust the key
    the registry serves, on first use); ``seen_version`` the highest
    snapshot version already seen; ``meta`` earlier verified files to reuse.
    """

    def __init__(
        self,
        source: RegistrySource,
        *,
        policy: TrustPolicy,
        key: PublicKey | None = None,
        seen_version: int = 0,
        meta: MetaStore | None = None,
        now: datetime | None = None,
        pin_hint: str = "",
    ) -> None:
        self.source = source
        self.policy = policy
        self.expected_key = key
        self.seen_version = seen_version
        self.meta = meta
        self.now = now
        self.pin_hint = pin_hint or source.label
        #: Layout path -> (bytes, ETag) of every file verified in this session.
        self.verified: dict[str, tuple[bytes, str | None]] = {}
        #: Namespaces this registry became the source of in this session.
        self.claims: dict[str, Owner] = {}
        #: Key ids that signed each verified manifest, by ``name@version``.
        self.signers: dict[str, list[str]] = {}
        self._snapshot: Snapshot | None = None
        self._key: PublicKey | None = None

    def close(self) -> None:
        """Release the source's connections."""
        self.source.close()

    @property
    def key(self) -> PublicKey | None:
        """The key the verified snapshot is signed by (None before :meth:`snapshot`)."""
        return self._key

    def _meta(self, path: str) -> tuple[bytes | None, str | None]:
        if self.meta is None:
            return None, None
        data = self.meta.read_meta(path)
        return data, (self.meta.read_etag(path) if data is not None else None)

    # -- the snapshot -------------------------------------------------------------------------

    def served_key(self) -> PublicKey:
        """The key the registry publishes (``keys/registry.pub.pem``)."""
        path = layout.registry_key_path()
        try:
            data = self.source.fetch(path, limit=64 << 10).data
        except NotFound as exc:
            raise SignatureError(
                f"registry {self.source.label} publishes no key ({path}); "
                f"pin its key with `phony keys trust KEY --registry {self.pin_hint}`"
            ) from exc
        try:
            return PublicKey.from_pem(data)
        except SignatureError as exc:
            raise SignatureError(f"registry {self.source.label}: bad registry key: {exc}") from exc

    def snapshot(self) -> Snapshot:
        """The registry's verified snapshot (fetched once per session)."""
        if self._snapshot is not None:
            return self._snapshot
        path = layout.snapshot_path()
        cached, etag = self._meta(path)
        fetched = self.source.fetch(path, etag=etag)
        data = cached if fetched.not_modified and cached is not None else fetched.data
        snapshot = Snapshot.from_bytes(data)
        key = self.expected_key or self.served_key()
        try:
            snapshot.verify(key)
        except SignatureError as exc:
            if self.expected_key is None:
                raise
            try:
                served = self.served_key()
            except SignatureError:
                raise exc from None
            if served != key:
                raise KeyChangedError(
                    f"registry {self.source.label} now signs with key {served.short_id}, "
                    f"but key {key.short_id} is pinned for it. If its maintainers really "
                    "rotated the key, check the new one with them and run "
                    f"`phony keys trust {served.to_base64()} --registry {self.pin_hint}`"
                ) from exc
            raise
        if snapshot.version < self.seen_version:
            raise RollbackError(
                f"registry {self.source.label} served snapshot version {snapshot.version}, "
                f"older than version {self.seen_version} already seen: "
                "refusing a rolled-back index"
            )
        if (
            cached is not None
            and not fetched.not_modified
            and snapshot.version == self.seen_version
            and Snapshot.from_bytes(cached).version == snapshot.version
            and cached != data
        ):
            raise RollbackError(
                f"registry {self.source.label} served snapshot version {snapshot.version} "
                "with content different from the one already seen"
            )
        snapshot.check_expiry(self.now)
        self._snapshot, self._key = snapshot, key
        self.verified[path] = (data, fetched.etag or etag)
        return snapshot

    # -- index files ------------------------------------------------------------------------------

    def index(self, name: ModelName) -> list[IndexEntry]:
        """The verified index lines of ``name``; :class:`NotFound` if the registry has none."""
        path = layout.index_path(name)
        data = b""
        for attempt in range(2):
            snapshot = self.snapshot()
            info = snapshot.files.get(path)
            if info is None:
                raise NotFound(f"{name} is not in registry {self.source.label}")
            cached, etag = self._meta(path)
            if cached is not None and digest_bytes(cached) == info.digest:
                return self._own_entries(name, parse_index(cached))
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
        self.verified[path] = (data, fetched.etag)
        return entries

    def _own_entries(self, name: ModelName, entries: list[IndexEntry]) -> list[IndexEntry]:
        """Refuse an index file that lists versions of another model."""
        for entry in entries:
            if canonical_key(entry.name) != name.key:
                raise DigestMismatch(
                    f"the index file of {name} in {self.source.label} lists {entry.ref}"
                )
        return entries

    # -- manifests -------------------------------------------------------------------------------

    def manifest(self, entry: IndexEntry) -> Manifest:
        """The manifest an index line names, checked against the line and the trust rules."""
        path = layout.manifest_path(entry.name, entry.version)
        data, _ = self._meta(path)
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
        signers, claim = self.policy.verify(
            manifest, self.source.id, self.source.label, self.snapshot_key()
        )
        if claim is not None:
            self.claims.setdefault(claim.namespace, claim)
            self.policy = self.policy.with_owners([claim])
        self.signers[manifest.ref] = signers
        self.verified[path] = (data, None)
        return manifest

    def snapshot_key(self) -> PublicKey:
        """The registry's verified key (reading the snapshot first if needed)."""
        self.snapshot()
        assert self._key is not None
        return self._key

    def members(self, pack: Manifest) -> list[tuple[IndexEntry, Manifest]]:
        """Every member of ``pack``, resolved here and verified like any manifest.

        A member this registry may not speak for refuses the whole pack, with
        the pack named in the error.
        """
        found = []
        for member in pack.members:
            try:
                entry = resolve(
                    self.index(parse_name(member.name)), parse_spec(member.version), member.name
                )
                if entry.digest != member.digest:
                    raise DigestMismatch(
                        f"member {member.name}@{member.version} has blob {entry.digest} in "
                        f"the index, the pack says {member.digest}"
                    )
                found.append((entry, self.manifest(entry)))
            except IntegrityError as exc:
                raise type(exc)(f"pack {pack.ref} refused: {exc}") from exc
        return found

    # -- blobs ----------------------------------------------------------------------------------

    def blob_chunks(self, digest: str) -> Iterator[bytes]:
        """The blob's bytes as the registry streams them (the caller checks digest and size)."""
        return self.source.stream(layout.blob_path(digest))

    def blob_bytes(self, manifest: Manifest) -> bytes:
        """The verified bytes of a model manifest's blob (read whole: for small registries)."""
        assert manifest.digest is not None
        assert manifest.size is not None
        body = bytearray()
        for chunk in self.blob_chunks(manifest.digest):
            body += chunk
            if len(body) > manifest.size:
                break
        check_bytes(bytes(body), manifest.digest, manifest.size, what=f"blob of {manifest.ref}")
        return bytes(body)

    # -- a whole registry --------------------------------------------------------------------------

    def walk(
        self, on_error: Callable[[str, IntegrityError | NotFound], None] | None = None
    ) -> Iterator[tuple[IndexEntry, Manifest, bytes | None]]:
        """Every version: index line, verified manifest, verified blob (None for a pack).

        With ``on_error``, a problem with one index file is reported there
        (with its path) and the walk goes on; without it, it is raised.
        """
        for path in sorted(self.snapshot().files):
            if not layout.is_index_path(path):
                continue
            try:
                name = parse_name(layout.name_of_index_path(path))
                found = []
                for entry in self.index(name):
                    manifest = self.manifest(entry)
                    if manifest.is_pack:
                        self.members(manifest)
                    blob = None if manifest.is_pack else self.blob_bytes(manifest)
                    found.append((entry, manifest, blob))
            except (IntegrityError, NotFound) as exc:
                if on_error is None:
                    raise
                on_error(path, exc)
                continue
            yield from found
