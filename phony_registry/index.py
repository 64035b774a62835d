"""The index (one file per model, one JSON line per version) and the signed snapshot.

An index file is UTF-8, one canonical-JSON object per line, sorted by
version, each ending in ``\\n`` (as cargo's sparse index). A line is written
once when its version is published; ``yanked`` is the only field that ever
changes. A line binds the version to its blob (``digest``, ``size``) and to
its manifest (``manifest``, the digest of the stored manifest bytes).

The snapshot (``snapshot.json``) lists the digest and size of every index
file, with a version number that grows by one on every change and an expiry.
The registry signs it; a client checks the signature against the registry's
pinned key, refuses a version lower than one it has seen (rollback), a
snapshot past its expiry (freeze), and an index file whose digest is not the
one the snapshot lists (mix-and-match). See ``docs/registry-protocol.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from phony_registry.canonical import canonical_json, loads_object
from phony_registry.digests import check_bytes, digest_bytes, is_digest
from phony_registry.errors import (
    AlreadyExists,
    DigestMismatch,
    ExpiredError,
    NotFound,
    ValidationError,
)
from phony_registry.manifest import Manifest, format_time, parse_time
from phony_registry.names import canonical_key, parse_name
from phony_registry.signing import PrivateKey, PublicKey, add_signature, verify_signed
from phony_registry.versions import Spec, parse_spec, parse_version, select

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "DEFAULT_EXPIRY",
    "FileInfo",
    "IndexEntry",
    "SNAPSHOT_SCHEMA",
    "Snapshot",
    "add_entry",
    "parse_index",
    "render_index",
    "resolve",
    "set_yanked",
]

#: How long a new snapshot stays valid unless the signer says otherwise.
DEFAULT_EXPIRY = timedelta(days=90)
#: The ``schema`` number of snapshots this phony writes.
SNAPSHOT_SCHEMA = 1


@dataclass(frozen=True)
class IndexEntry:
    """One line of an index file: one published version."""

    name: str
    version: str
    digest: str | None
    size: int | None
    manifest: str
    format_version: int | None = None
    kind: str = "model"
    yanked: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexEntry:
        """Validate one parsed line; :class:`ValidationError` names the bad field."""

        def need(key: str, kind: type, required: bool = True) -> Any:
            value = data.get(key)
            if value is None and not required:
                return None
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValidationError(f"must be {kind.__name__}", field=f"index.{key}")
            return value

        name = need("name", str)
        str(parse_name(name))
        version = need("version", str)
        parse_version(version)
        digest = need("digest", str, required=False)
        manifest = need("manifest", str)
        for key, value in (("digest", digest), ("manifest", manifest)):
            if value is not None and not is_digest(value):
                raise ValidationError("must be sha256:<hex>", field=f"index.{key}")
        known = {
            "name",
            "version",
            "digest",
            "size",
            "manifest",
            "format_version",
            "kind",
            "yanked",
        }
        return cls(
            name=name,
            version=version,
            digest=digest,
            size=need("size", int, required=False),
            manifest=manifest,
            format_version=need("format_version", int, required=False),
            kind=need("kind", str, required=False) or "model",
            yanked=bool(need("yanked", bool, required=False)),
            extra={k: v for k, v in data.items() if k not in known},
        )

    @classmethod
    def for_manifest(cls, manifest: Manifest) -> IndexEntry:
        """The line that publishes ``manifest`` (as stored, signatures included)."""
        return cls(
            name=manifest.name,
            version=manifest.version,
            digest=manifest.digest,
            size=manifest.size,
            manifest=manifest.manifest_digest,
            format_version=manifest.format_version,
            kind=manifest.kind,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the line."""
        data: dict[str, Any] = dict(self.extra)
        data.update(name=self.name, version=self.version, manifest=self.manifest,
                    kind=self.kind, yanked=self.yanked)  # fmt: skip
        for key in ("digest", "size", "format_version"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    def to_line(self) -> bytes:
        """Canonical JSON plus ``\\n``."""
        return canonical_json(self.to_dict()) + b"\n"

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def same_release(self, other: IndexEntry) -> bool:
        """True if both lines describe the same publication (ignoring ``yanked``)."""
        return replace(self, yanked=False).to_dict() == replace(other, yanked=False).to_dict()


def parse_index(data: bytes) -> list[IndexEntry]:
    """Parse an index file; :class:`ValidationError` for a malformed line."""
    entries = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("index file is not UTF-8") from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        value = loads_object(line.encode("utf-8"), f"index line {number}")
        entries.append(IndexEntry.from_dict(value))
    return entries


def render_index(entries: Iterable[IndexEntry]) -> bytes:
    """The file for ``entries``, sorted by version precedence."""
    ordered = sorted(entries, key=lambda e: parse_version(e.version).sort_key())
    return b"".join(entry.to_line() for entry in ordered)


def add_entry(data: bytes, entry: IndexEntry) -> tuple[bytes, bool]:
    """Add ``entry`` to an index file's bytes; returns ``(new bytes, added)``.

    The same publication already there is an idempotent no-op (``added`` is
    False); another publication of the same version raises :class:`AlreadyExists`.
    """
    entries = parse_index(data)
    wanted = parse_version(entry.version)
    for existing in entries:
        if parse_version(existing.version) == wanted:
            if existing.same_release(entry):
                return data, False
            raise AlreadyExists(
                f"{existing.ref} is already published with other content "
                f"({existing.digest or existing.manifest}); publish a new version"
            )
        if canonical_key(existing.name) != canonical_key(entry.name):
            raise ValidationError(
                f"{entry.name!r} does not belong in the index file of {existing.name!r}"
            )
    return render_index([*entries, entry]), True


def set_yanked(data: bytes, version: str, yanked: bool) -> bytes:
    """Flip the ``yanked`` flag of one version; :class:`NotFound` if absent."""
    entries = parse_index(data)
    wanted = parse_version(version)
    for index, entry in enumerate(entries):
        if parse_version(entry.version) == wanted:
            entries[index] = replace(entry, yanked=yanked)
            return render_index(entries)
    raise NotFound(f"version {version} is not in this index")


def resolve(
    entries: Iterable[IndexEntry], spec: Spec | str | None, name: str = "model"
) -> IndexEntry:
    """The index entry ``spec`` selects; :class:`NotFound` with what exists otherwise.

    A digest spec matches either the blob digest or the manifest digest.
    """
    items = list(entries)
    parsed = spec if isinstance(spec, Spec) else parse_spec(spec)
    found = select(parsed, items, digest_fields=("digest", "manifest"))
    if found is not None:
        return found
    available = [e.version + (" (yanked)" if e.yanked else "") for e in items]
    listing = ", ".join(available[-8:]) if available else "none"
    raise NotFound(f"no version of {name} matches {parsed} (available: {listing})")


@dataclass(frozen=True)
class FileInfo:
    """Digest and size of one file listed by the snapshot."""

    digest: str
    size: int

    @classmethod
    def of(cls, data: bytes) -> FileInfo:
        """Describe ``data``."""
        return cls(digest_bytes(data), len(data))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Snapshot:
    """The signed list of every index file of a registry."""

    version: int
    created: str
    expires: str
    files: Mapping[str, FileInfo]
    signatures: tuple[dict[str, str], ...] = ()
    schema: int = SNAPSHOT_SCHEMA
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def new(
        cls,
        files: Mapping[str, FileInfo],
        *,
        version: int,
        now: datetime | None = None,
        expires_in: timedelta = DEFAULT_EXPIRY,
    ) -> Snapshot:
        """An unsigned snapshot listing ``files`` (paths relative to the registry root)."""
        moment = now or datetime.now(UTC)
        return cls(
            version=version,
            created=format_time(moment),
            expires=format_time(moment + expires_in),
            files=dict(sorted(files.items())),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Validate a parsed snapshot; :class:`ValidationError` names the bad field."""
        if data.get("type", "snapshot") != "snapshot":
            raise ValidationError("must be 'snapshot'", field="snapshot.type")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValidationError("must be a positive integer", field="snapshot.version")
        schema = data.get("schema")
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise ValidationError("must be an integer", field="snapshot.schema")
        for key in ("created", "expires"):
            parse_time(data.get(key, ""), field=f"snapshot.{key}")
        raw_files = data.get("files")
        if not isinstance(raw_files, dict):
            raise ValidationError("must be an object", field="snapshot.files")
        files = {}
        for path, info in raw_files.items():
            if (
                not isinstance(info, dict)
                or not is_digest(info.get("digest"))
                or not isinstance(info.get("size"), int)
            ):
                raise ValidationError("needs digest and size", field=f"snapshot.files.{path}")
            files[path] = FileInfo(info["digest"], info["size"])
        signatures = data.get("signatures", [])
        known = {"type", "schema", "version", "created", "expires", "files", "signatures"}
        return cls(
            version=version,
            created=data["created"],
            expires=data["expires"],
            files=files,
            signatures=tuple(s for s in signatures if isinstance(s, dict))
            if isinstance(signatures, list)
            else (),
            schema=schema,
            extra={k: v for k, v in data.items() if k not in known},
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Snapshot:
        """Parse a stored snapshot."""
        return cls.from_dict(loads_object(data, "snapshot"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, signatures included."""
        data: dict[str, Any] = dict(self.extra)
        data.update(
            type="snapshot", schema=self.schema, version=self.version, created=self.created,
            expires=self.expires, files={p: i.to_dict() for p, i in sorted(self.files.items())},
            signatures=[dict(s) for s in self.signatures],
        )  # fmt: skip
        return data

    def to_bytes(self) -> bytes:
        """The stored form: canonical JSON."""
        return canonical_json(self.to_dict())

    def signed(self, key: PrivateKey) -> Snapshot:
        """A copy with ``key``'s signature added."""
        return replace(self, signatures=tuple(add_signature(self.to_dict(), key)["signatures"]))

    def verify(self, key: PublicKey | Iterable[PublicKey]) -> list[str]:
        """Check the signature; :class:`~phony_registry.errors.SignatureError` if it fails."""
        keys = [key] if isinstance(key, PublicKey) else list(key)
        return verify_signed(self.to_dict(), keys, what=f"snapshot version {self.version}")

    @property
    def expires_at(self) -> datetime:
        """The expiry as an aware datetime."""
        return parse_time(self.expires, field="snapshot.expires")

    def check_expiry(self, now: datetime | None = None) -> None:
        """Raise :class:`ExpiredError` if the snapshot is past its expiry."""
        moment = now or datetime.now(UTC)
        if moment >= self.expires_at:
            raise ExpiredError(
                f"the registry's snapshot (version {self.version}) expired at {self.expires}; "
                "the registry may be frozen or stale (its maintainer must re-sign it)"
            )

    def check_file(self, path: str, data: bytes) -> None:
        """Raise unless ``data`` is the content the snapshot lists for ``path``.

        :class:`NotFound` if the snapshot does not list ``path``;
        :class:`DigestMismatch` if the bytes differ (a mixed-and-matched index).
        """
        info = self.files.get(path)
        if info is None:
            raise NotFound(f"{path} is not in the registry's snapshot")
        try:
            check_bytes(data, info.digest, info.size, what=path)
        except DigestMismatch as exc:
            raise DigestMismatch(
                f"{exc} (the index file does not match snapshot version {self.version})"
            ) from exc

    def with_file(self, path: str, data: bytes) -> Snapshot:
        """An unsigned copy listing ``path`` with ``data``'s digest (version unchanged)."""
        files = dict(self.files)
        files[path] = FileInfo.of(data)
        return replace(self, files=dict(sorted(files.items())), signatures=())
