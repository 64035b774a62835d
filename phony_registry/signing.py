"""Ed25519 keys and signatures over canonical JSON.

A key id is the sha256 hex digest of the raw 32-byte public key. A signed
object carries ``"signatures": [{"keyid": ..., "sig": <base64>}]``; each
signature covers :func:`phony_registry.canonical.signing_bytes` of the
object. Private keys are PKCS#8 PEM files, written 0600 with an exclusive
create; public keys are SubjectPublicKeyInfo PEM or raw base64.

``cryptography`` is imported inside the functions that need it so that
importing this module stays cheap for the command line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_registry.canonical import signing_bytes
from phony_registry.errors import ConfigError, SignatureError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "OFFICIAL_REGISTRY_KEY",
    "PrivateKey",
    "PublicKey",
    "Signature",
    "add_signature",
    "load_private_key",
    "official_key",
    "save_private_key",
    "signatures_of",
    "verify_signed",
]

#: Raw base64 of the official registry's Ed25519 public key: the trust root
#: of the official index (``registry-index/``), pinned in every client.
OFFICIAL_REGISTRY_KEY = "heb0OdX+Nd7qbqmqJO6NNJ9w/ptqAOzwdWNp/XO0UqY="


def _keyid(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


# Curve25519 in Edwards form (RFC 8032, section 5.1): -x^2 + y^2 = 1 + d x^2 y^2 mod p.
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _point_problem(raw: bytes) -> str | None:
    """Why the 32 bytes ``raw`` are no usable Ed25519 public key, or None if they are one.

    RFC 8032 verification (OpenSSL's, hence cryptography's) accepts a key of
    small order: for the identity point, ``01 00...00``, the signature
    ``01 00...00 00...00`` (R = identity, S = 0) verifies for every message,
    and the other seven points of order 1, 2, 4 or 8 allow as much. So, as
    libsodium's ``crypto_sign_verify_detached`` does, such a key is refused
    wherever a key is read: a point P with 8·P = identity, in any encoding.
    Non-canonical encodings (y ≥ p, or x = 0 with the sign bit set) are
    refused too, so that one point has one key id; and bytes that are no
    point of the curve could never verify anything.
    """
    number = int.from_bytes(raw, "little")
    sign = number >> 255
    y = number & ((1 << 255) - 1)
    if y >= _P:
        return "it is not a canonical encoding of a curve point (y is not below 2^255 - 19)"
    # Decoding, RFC 8032 section 5.1.3: x^2 = (y^2 - 1) / (d y^2 + 1).
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if (v * x * x - u) % _P != 0:
        if (v * x * x + u) % _P != 0:
            return "it is not a point of the Ed25519 curve"
        x = x * _SQRT_M1 % _P
    if x == 0 and sign:
        return "it is not a canonical encoding of a curve point (x is 0 with its sign bit set)"
    if x & 1 != sign:
        x = _P - x
    point = (x, y)
    for _ in range(3):  # 8·P by three doublings
        point = _add(point, point)
    if point == (0, 1):
        return (
            "it is a point of small order, for which a forged signature verifies for any document"
        )
    return None


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """The sum of two points in affine coordinates (complete for Ed25519: d is no square)."""
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x = (x1 * y2 + y1 * x2) * pow(1 + t, _P - 2, _P) % _P
    y = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P
    return x, y


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise SignatureError(f"an Ed25519 public key is 32 bytes, not {len(self.raw)}")
        problem = _point_problem(self.raw)
        if problem is not None:
            shown = base64.b64encode(self.raw).decode("ascii")
            raise SignatureError(f"public key {shown} is refused: {problem}")

    @property
    def keyid(self) -> str:
        """sha256 hex of the raw key."""
        return _keyid(self.raw)

    @property
    def short_id(self) -> str:
        """The first 16 hex digits of the key id, for display."""
        return self.keyid[:16]

    def to_base64(self) -> str:
        """Raw key as standard base64 (the form ``phony keys trust`` accepts)."""
        return base64.b64encode(self.raw).decode("ascii")

    @classmethod
    def from_base64(cls, text: str) -> PublicKey:
        """Parse a raw base64 key; raise :class:`SignatureError` if it is not one."""
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError(f"{text!r} is not a base64 Ed25519 public key") from exc
        return cls(raw)

    def to_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM."""
        from cryptography.hazmat.primitives import serialization

        return self._key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        """Parse a PEM public key; raise :class:`SignatureError` if it is not Ed25519."""
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            key = serialization.load_pem_public_key(data)
        except UnsupportedAlgorithm as exc:
            # A well-formed key of an algorithm this build cannot load (DSA, GOST...).
            raise SignatureError("the public key is not an Ed25519 key") from exc
        except ValueError as exc:
            raise SignatureError(f"not a PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise SignatureError("the public key is not an Ed25519 key")
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """Accept either a PEM block or raw base64."""
        if "-----BEGIN" in text:
            if not text.isascii():
                raise SignatureError("not a PEM public key: it holds non-ASCII characters")
            return cls.from_pem(text.encode("ascii"))
        return cls.from_base64(text)

    def _key(self) -> Ed25519PublicKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        return Ed25519PublicKey.from_public_bytes(self.raw)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True if ``signature`` is this key's signature of ``data``."""
        from cryptography.exceptions import InvalidSignature

        try:
            self._key().verify(signature, data)
        except InvalidSignature:
            return False
        return True


class PrivateKey:
    """An Ed25519 private key. Its repr never shows the secret."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        from cryptography.hazmat.primitives import serialization

        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = PublicKey(raw)

    def __repr__(self) -> str:
        return f"PrivateKey(keyid={self.keyid[:16]}...)"

    @property
    def keyid(self) -> str:
        """Key id of the public half."""
        return self.public_key.keyid

    @classmethod
    def generate(cls) -> PrivateKey:
        """A fresh random key."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(
        cls, data: bytes, password: bytes | None = None, *, source: str | None = None
    ) -> PrivateKey:
        """Parse a PKCS#8 PEM private key; raise :class:`ConfigError` if it is not Ed25519.

        ``source`` names where ``data`` came from (a file) in the error.
        """
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        where = f"cannot use private key {source}" if source else "cannot use the private key"
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except UnsupportedAlgorithm as exc:
            raise ConfigError(f"{where}: it is not an Ed25519 key") from exc
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: {_pem_problem(exc, data)}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{where}: it is not an Ed25519 key")
        return cls(key)

    def to_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM (the file holding it must be 0600)."""
        from cryptography.hazmat.primitives import serialization

        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte signature of ``data``."""
        return self._key.sign(data)


def _pem_problem(exc: ValueError | TypeError, data: bytes) -> str:
    """What is wrong with a private key file, in phony's words.

    cryptography's own messages point to its FAQ ("Unable to load PEM file.
    See https://cryptography.io/..."), which tells a phony user nothing.
    """
    text = str(exc)
    if b"-----BEGIN" in data and b"PRIVATE KEY-----" not in data:
        return "it holds no private key (a public key?)"
    if "encrypted" in text.lower() or "password" in text.lower():
        return "it is encrypted; phony reads unencrypted PKCS#8 keys"
    return "it is not PEM text, or it is damaged or truncated"


def load_private_key(path: str | os.PathLike[str]) -> PrivateKey:
    """Read a private key file; :class:`ConfigError`, naming it, if it is missing or unusable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read private key {path}: {exc.strerror or exc}") from exc
    return PrivateKey.from_pem(data, source=os.fspath(path))


def save_private_key(path: str | os.PathLike[str], key: PrivateKey) -> Path:
    """Write ``key`` to a new file readable by its owner only (0600, exclusive create).

    Raises :class:`ConfigError` if the file already exists.
    """
    from phony_registry._fs import create_exclusive

    target = Path(path)
    if not create_exclusive(target, key.to_pem(), mode=0o600):
        raise ConfigError(f"{target} already exists; not overwriting a key")
    return target


def official_key() -> PublicKey:
    """The official registry's public key (:data:`OFFICIAL_REGISTRY_KEY`)."""
    return PublicKey.from_base64(OFFICIAL_REGISTRY_KEY)


@dataclass(frozen=True)
class Signature:
    """One entry of a ``signatures`` list."""

    keyid: str
    sig: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form."""
        return {"keyid": self.keyid, "sig": self.sig}


def signatures_of(obj: Mapping[str, Any]) -> list[Signature]:
    """The well-formed signature entries of a signed object (malformed ones are skipped)."""
    found = obj.get("signatures", [])
    if not isinstance(found, list):
        return []
    result = []
    for entry in found:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("keyid"), str)
            and isinstance(entry.get("sig"), str)
        ):
            result.append(Signature(entry["keyid"], entry["sig"]))
    return result


def add_signature(obj: dict[str, Any], key: PrivateKey) -> dict[str, Any]:
    """Return a copy of ``obj`` with ``key``'s signature added (replacing an older one by it)."""
    signature = base64.b64encode(key.sign(signing_bytes(obj))).decode("ascii")
    others = [s.to_dict() for s in signatures_of(obj) if s.keyid != key.keyid]
    entries = sorted([*others, {"keyid": key.keyid, "sig": signature}], key=lambda s: s["keyid"])
    return {**obj, "signatures": entries}


def verify_signed(
    obj: Mapping[str, Any], trusted: Iterable[PublicKey], *, what: str = "document"
) -> list[str]:
    """Key ids of the trusted keys that validly signed ``obj``.

    Raises :class:`SignatureError` if no trusted key signed it, naming the
    key ids that did sign so that a user can decide whom to trust.
    """
    keys = {key.keyid: key for key in trusted}
    payload = signing_bytes(obj)
    valid = []
    untrusted = []
    invalid = []
    for signature in signatures_of(obj):
        key = keys.get(signature.keyid)
        if key is None:
            untrusted.append(signature.keyid[:16])
            continue
        try:
            raw = base64.b64decode(signature.sig, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if key.verify(raw, payload):
            valid.append(signature.keyid)
        else:
            invalid.append(signature.keyid[:16])
    if not valid:
        if invalid:
            raise SignatureError(
                f"{what}: the signature by key {', '.join(invalid)} does not match its "
                "content (tampered with?)"
            )
        if untrusted:
            raise SignatureError(
                f"{what} is not signed by a trusted key (signed by untrusted key "
                f"{', '.join(untrusted)}; see `phony keys trust`)"
            )
        raise SignatureError(f"{what} has no valid signature from a trusted key")
    return valid
