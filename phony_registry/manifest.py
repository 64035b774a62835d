"""Manifests: the signed record of one published ``name@version``.

A model manifest names one blob (digest and size) and describes it; a pack
manifest (``type: "pack"``) lists member models by name, version and blob
digest instead. The stored form of a manifest is its canonical JSON
(:func:`phony_registry.canonical.canonical_json`), signatures included; the
signatures cover the same object without ``signatures``. Fields this version
of phony does not know are kept and signed as they are, so a newer
publisher's manifest still verifies here. A manifest to be published must
also be printable text throughout (:func:`check_new_manifest`); one read from
a registry need not be. See ``docs/registry-protocol.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from phony_registry.canonical import canonical_json, loads_object
from phony_registry.digests import digest_bytes, is_digest
from phony_registry.errors import InvalidManifest, PhonyError
from phony_registry.names import parse_name
from phony_registry.signing import PrivateKey, PublicKey, add_signature, verify_signed
from phony_registry.versions import parse_version

__all__ = [
    "CONTROL_CHARACTERS",
    "MANIFEST_SCHEMA",
    "MAX_DESCRIPTION",
    "Manifest",
    "PackMember",
    "check_new_manifest",
    "check_printable",
    "control_character",
    "escape_control",
    "format_time",
    "parse_time",
]

#: The ``schema`` number of manifests this phony writes.
MANIFEST_SCHEMA = 1
#: Longest description, in characters.
MAX_DESCRIPTION = 2000

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_KNOWN = frozenset(
    {
        "schema", "type", "name", "version", "digest", "size", "format_version", "kind",
        "locale", "license", "description", "created", "members", "signatures",
    }
)  # fmt: skip


#: Characters a terminal acts on rather than shows: C0 controls (newline, CR,
#: BEL, ESC...), DEL, C1 controls (CSI, NEL...), the Unicode line and paragraph
#: separators, and the bidirectional marks, embeddings, overrides and isolates
#: that reorder what follows them ("Trojan Source", CVE-2021-42574). A new
#: manifest holds none of them (:func:`check_new_manifest`); the client shows
#: any it reads from a registry as escapes.
CONTROL_CHARACTERS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control(char: str) -> str:
    r"""One control character as the escape phony shows for it: ``\n``, ``\x1b``, ``\u202e``."""
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def control_character(text: str) -> str | None:
    """The first of :data:`CONTROL_CHARACTERS` in ``text``, as its escape; or None."""
    found = CONTROL_CHARACTERS.search(text)
    return None if found is None else escape_control(found.group())


def check_printable(field: str, text: str | None, origin: str = "") -> None:
    """Refuse (:class:`InvalidManifest` naming ``field``) text holding a control character.

    ``origin`` ends the message (where the text came from, for the person who
    can change it).
    """
    hidden = control_character(text or "")
    if hidden is not None:
        raise InvalidManifest(
            f"holds a control character ({hidden}); it must be printable text on one line{origin}",
            field=field,
        )


def _texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string of a JSON value with its field path (``members[0].name``); keys too."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = CONTROL_CHARACTERS.sub(lambda m: escape_control(m.group()), str(key))
            inner = f"{path}.{name}" if path else name
            yield inner, str(key)
            yield from _texts(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")


def check_new_manifest(manifest: Manifest) -> Manifest:
    """Return ``manifest`` if it may be published; :class:`InvalidManifest` otherwise.

    Every text of a manifest (description, licence, locale, kind, the names
    of pack members, any field a newer publisher adds) is shown on terminals
    and web pages as one line: a control character in it could forge a line
    (``signed by: ...``), move the cursor or reverse what follows. Registries
    refuse such a manifest at publication (the publisher, the server's
    publish endpoint, ``phony models push`` before anything is sent).
    :meth:`Manifest.from_dict` does not: a manifest a registry already holds
    stays readable, and the client shows its controls as escapes.
    """
    for where, text in _texts(manifest.to_dict(signatures=False), ""):
        check_printable(where, text)
    return manifest


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with second precision: ``2026-11-25T19:00:00Z``.

    The year always has four digits (``0999-...``): ``strftime("%Y")`` drops
    the leading zeros on some platforms, which :func:`parse_time` refuses.
    """
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def parse_time(text: str, field: str = "created") -> datetime:
    """Parse :func:`format_time`'s form; :class:`InvalidManifest` otherwise."""
    if not isinstance(text, str) or _TIME.fullmatch(text) is None:
        raise InvalidManifest(f"{text!r} is not a UTC time like 2026-01-31T12:00:00Z", field=field)
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidManifest(f"{text!r} is not a valid date and time", field=field) from exc


@dataclass(frozen=True)
class PackMember:
    """One model of a pack: name, exact version and blob digest."""

    name: str
    version: str
    digest: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form."""
        return {"digest": self.digest, "name": self.name, "version": self.version}


def _get(
    data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *, required: bool = True
) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidManifest("is required", field=key)
        return None
    if isinstance(value, bool) and kind is int:
        raise InvalidManifest("must be an integer", field=key)
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InvalidManifest(f"must be {names}", field=key)
    return value


def _normal(value: str, field: str, parse: Callable[[str], object], wording: str) -> str:
    """``value`` if ``parse`` accepts it and it is already written as ``parse`` writes it."""
    try:
        normal = str(parse(value))
    except PhonyError as exc:
        raise InvalidManifest(str(exc), field=field) from exc
    if normal != value:
        raise InvalidManifest(f"must be written {wording}{normal!r}", field=field)
    return normal


def _check_name(value: str, field: str) -> str:
    return _normal(value, field, parse_name, "in its normal form ")


def _check_version(value: str, field: str) -> str:
    return _normal(value, field, parse_version, "")


@dataclass(frozen=True)
class Manifest:
    """A model or pack manifest; build it with :meth:`model`, :meth:`pack` or :meth:`from_dict`."""

    name: str
    version: str
    type: str = "model"
    digest: str | None = None
    size: int | None = None
    format_version: int | None = None
    kind: str = "model"
    locale: str | None = None
    license: str | None = None
    description: str = ""
    created: str = ""
    members: tuple[PackMember, ...] = ()
    signatures: tuple[dict[str, str], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    schema: int = MANIFEST_SCHEMA
    #: The object as parsed (minus signatures): what signatures cover, byte for byte.
    source: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def model(
        cls,
        name: str,
        version: str,
        *,
        digest: str,
        size: int,
        format_version: int,
        kind: str = "model",
        locale: str | None = None,
        license: str | None = None,
        description: str = "",
        created: datetime | None = None,
    ) -> Manifest:
        """A new, unsigned model manifest (validated)."""
        data = {
            "name": name, "version": version, "type": "model", "digest": digest, "size": size,
            "format_version": format_version, "kind": kind, "locale": locale,
            "license": license, "description": description,
            "created": format_time(created or datetime.now(UTC)), "schema": MANIFEST_SCHEMA,
        }  # fmt: skip
        return cls.from_dict({k: v for k, v in data.items() if v is not None})

    @classmethod
    def pack(
        cls,
        name: str,
        version: str,
        members: Iterable[PackMember],
        *,
        locale: str | None = None,
        license: str | None = None,
        description: str = "",
        created: datetime | None = None,
    ) -> Manifest:
        """A new, unsigned pack manifest (validated)."""
        data = {
            "name": name, "version": version, "type": "pack", "kind": "pack",
            "members": [m.to_dict() for m in members], "locale": locale, "license": license,
            "description": description, "created": format_time(created or datetime.now(UTC)),
            "schema": MANIFEST_SCHEMA,
        }  # fmt: skip
        return cls.from_dict({k: v for k, v in data.items() if v is not None})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Validate a manifest object; :class:`InvalidManifest` names the bad field."""
        schema = _get(data, "schema", int)
        if schema < 1:
            raise InvalidManifest("must be 1 or more", field="schema")
        kind_of = _get(data, "type", str)
        if kind_of not in ("model", "pack"):
            raise InvalidManifest("must be 'model' or 'pack'", field="type")
        name = _check_name(_get(data, "name", str), "name")
        version = _check_version(_get(data, "version", str), "version")
        is_pack = kind_of == "pack"
        for blob_field in ("digest", "size"):
            if is_pack and data.get(blob_field) is not None:
                # A pack's bytes are its members'; a blob named here would never be
                # checked by a pull, yet `cache verify` and offline pulls would look for it.
                raise InvalidManifest(
                    "a pack names no blob of its own (its members name theirs)", field=blob_field
                )
        digest = _get(data, "digest", str, required=not is_pack)
        if digest is not None and not is_digest(digest):
            raise InvalidManifest("must be sha256:<64 lowercase hex>", field="digest")
        size = _get(data, "size", int, required=not is_pack)
        if size is not None and size < 0:
            raise InvalidManifest("must not be negative", field="size")
        format_version = _get(data, "format_version", int, required=not is_pack)
        if format_version is not None and format_version < 1:
            raise InvalidManifest("must be 1 or more", field="format_version")
        members: list[PackMember] = []
        raw_members = _get(data, "members", list, required=is_pack)
        for index, entry in enumerate(raw_members or []):
            where = f"members[{index}]"
            if not isinstance(entry, dict):
                raise InvalidManifest("must be an object", field=where)
            member_digest = _get(entry, "digest", str)
            if not is_digest(member_digest):
                raise InvalidManifest("must be sha256:<64 lowercase hex>", field=f"{where}.digest")
            members.append(
                PackMember(
                    _check_name(_get(entry, "name", str), f"{where}.name"),
                    _check_version(_get(entry, "version", str), f"{where}.version"),
                    member_digest,
                )
            )
        if is_pack and not members:
            raise InvalidManifest("a pack needs at least one member", field="members")
        description = _get(data, "description", str, required=False) or ""
        if len(description) > MAX_DESCRIPTION:
            raise InvalidManifest(f"longer than {MAX_DESCRIPTION} characters", field="description")
        created = _get(data, "created", str)
        parse_time(created)
        signatures = data.get("signatures", [])
        if not isinstance(signatures, list):
            raise InvalidManifest("must be a list", field="signatures")
        return cls(
            name=name,
            version=version,
            type=kind_of,
            digest=digest,
            size=size,
            format_version=format_version,
            kind=_get(data, "kind", str, required=False) or ("pack" if is_pack else "model"),
            locale=_get(data, "locale", str, required=False),
            license=_get(data, "license", str, required=False),
            description=description,
            created=created,
            members=tuple(members),
            signatures=tuple(s for s in signatures if isinstance(s, dict)),
            extra={k: v for k, v in data.items() if k not in _KNOWN},
            schema=schema,
            source=json.loads(canonical_json({k: v for k, v in data.items() if k != "signatures"})),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse a stored manifest."""
        try:
            return cls.from_dict(loads_object(data, "manifest"))
        except InvalidManifest:
            raise
        except PhonyError as exc:
            raise InvalidManifest(str(exc)) from exc

    @property
    def is_pack(self) -> bool:
        """True for a pack manifest."""
        return self.type == "pack"

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def to_dict(self, *, signatures: bool = True) -> dict[str, Any]:
        """The JSON object exactly as parsed, with the current signatures."""
        data: dict[str, Any] = json.loads(canonical_json(self.source))
        if signatures:
            data["signatures"] = [dict(s) for s in self.signatures]
        return data

    def to_bytes(self) -> bytes:
        """The stored form: canonical JSON, signatures included."""
        return canonical_json(self.to_dict())

    @property
    def manifest_digest(self) -> str:
        """Digest of :meth:`to_bytes` (what index lines record)."""
        return digest_bytes(self.to_bytes())

    def signed(self, key: PrivateKey) -> Manifest:
        """A copy with ``key``'s signature added."""
        signed = add_signature(self.to_dict(), key)
        return replace(self, signatures=tuple(signed["signatures"]))

    def verify(self, trusted: Iterable[PublicKey]) -> list[str]:
        """Key ids of the trusted keys that signed it; SignatureError if none did."""
        return verify_signed(self.to_dict(), trusted, what=f"manifest of {self.ref}")
