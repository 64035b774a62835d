"""Content digests: ``"sha256:" + hexdigest`` of a blob's bytes.

Every blob, manifest and index file is named or checked by such a digest.
:class:`Hasher` hashes a stream as it is written, so a download is checked
without reading it twice.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from phony_registry.errors import DigestMismatch, ValidationError

__all__ = [
    "ALGORITHM",
    "Hasher",
    "check_bytes",
    "digest_bytes",
    "digest_file",
    "digest_hex",
    "is_digest",
]

#: The only digest algorithm phony uses.
ALGORITHM = "sha256"

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 20


def is_digest(text: object) -> bool:
    """True for a well-formed ``sha256:<64 lowercase hex>`` string."""
    return isinstance(text, str) and _DIGEST.fullmatch(text) is not None


def digest_hex(digest: str) -> str:
    """The hex part of a digest, after checking its form.

    Raises :class:`ValidationError` (field ``digest``) if it is malformed, so
    that a digest can safely become part of a path.
    """
    if not is_digest(digest):
        raise ValidationError(f"{digest!r} is not sha256:<64 lowercase hex>", field="digest")
    return digest[len(ALGORITHM) + 1 :]


def digest_bytes(data: bytes) -> str:
    """The digest of ``data``."""
    return f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def digest_file(path: str | Path) -> tuple[str, int]:
    """The digest and size of a file, read in chunks."""
    hasher = Hasher()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.digest, hasher.size


def check_bytes(data: bytes, digest: str, size: int | None = None, *, what: str = "blob") -> None:
    """Raise :class:`DigestMismatch` unless ``data`` has this digest (and size)."""
    if size is not None and len(data) != size:
        raise DigestMismatch(f"{what}: expected {size} bytes, got {len(data)}")
    actual = digest_bytes(data)
    if actual != digest:
        raise DigestMismatch(f"{what}: expected {digest}, got {actual}")


class Hasher:
    """Incremental sha256 with a byte count."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        """Feed the next chunk."""
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def digest(self) -> str:
        """The digest of everything fed so far."""
        return f"{ALGORITHM}:{self._hash.hexdigest()}"

    def check(self, digest: str, size: int | None = None, *, what: str = "blob") -> None:
        """Raise :class:`DigestMismatch` unless what was fed matches ``digest`` and ``size``."""
        if size is not None and self.size != size:
            raise DigestMismatch(f"{what}: expected {size} bytes, got {self.size}")
        if self.digest != digest:
            raise DigestMismatch(f"{what}: expected {digest}, got {self.digest}")
