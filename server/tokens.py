"""Publishing tokens: random, shown once, stored only as hashes, scoped to namespaces.

A token reads ``phony_<id>_<secret>``: the id is public (it names the token in
``phony registry token revoke``), the secret is 32 random bytes. The storage
keeps, in its private area under ``tokens/<id>.json``, the SHA-256 of the whole token
(a 256-bit random secret needs no slow hash), its namespaces, whether it is an
operator token, its expiry and whether it was revoked. Checking a token reads
that one record, so every replica sees a revocation at once.

An operator token may write every namespace and the official (namespace-less)
names; any other token writes only its own namespaces.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from hashlib import sha256

from phony_registry.errors import (
    Forbidden,
    InvalidName,
    NotFound,
    Unauthorized,
    UsageError,
)
from phony_registry.names import RESERVED_NAMESPACES, canonical_key, is_locale
from phony_server.storage import Storage, WriteConflict

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "DamagedToken",
    "MAX_DURATION_DAYS",
    "TOKEN_PREFIX",
    "TokenRecord",
    "TokenStore",
    "check_namespace",
    "format_expiry",
    "parse_duration",
]

TOKEN_PREFIX = "phony_"  # noqa: S105  (a public prefix, not a secret)
_TOKEN = re.compile(r"phony_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_NAMESPACE = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")
_DURATION = re.compile(r"([0-9]+)\s*([smhdwy])", re.ASCII)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
#: The longest duration :func:`parse_duration` accepts, in days (100 years): a
#: token's or snapshot's expiry stays a date every tool can print and compare.
MAX_DURATION_DAYS = 36500


def parse_duration(text: str, *, option: str = "--expires") -> int:
    """Seconds in ``90d``, ``12h``, ``2w``, ``1y`` ..., at most :data:`MAX_DURATION_DAYS`.

    Raises UsageError, naming ``option`` (the option or variable the text came
    from), for anything else.
    """
    match = _DURATION.fullmatch(text.strip().lower())
    shown = text.strip()[:40]
    if match is None or not match.group(1).strip("0"):
        raise UsageError(f"{option} {shown}: not a duration (use forms like 30m, 12h, 90d, 1y)")
    digits = match.group(1).lstrip("0")
    # More digits than any allowed duration has: refused before int() is asked
    # to read thousands of them.
    seconds = int(digits) * _UNITS[match.group(2)] if len(digits) <= 12 else None
    if seconds is None or seconds > MAX_DURATION_DAYS * 86400:
        raise UsageError(f"{option} {shown}: at most {MAX_DURATION_DAYS} days (100 years)")
    return seconds


def format_expiry(stamp: int | None) -> str:
    """``2027-03-01 12:00 UTC``, ``never``, or the raw timestamp when no date can hold it.

    A record written by hand or by an older phony may carry an expiry past
    the year 9999: it is shown as a number (``86401796074650 (far future)``),
    never an error that hides the other tokens.
    """
    if stamp is None:
        return "never"
    try:
        return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (ValueError, OverflowError, OSError, TypeError):
        if isinstance(stamp, int) and not isinstance(stamp, bool):
            return f"{stamp} ({'far future' if stamp > 0 else 'far past'})"
        return repr(stamp)


def check_namespace(namespace: str) -> str:
    """Validate a publisher namespace for a token; returns it unchanged."""
    if is_locale(namespace) or canonical_key(namespace) in RESERVED_NAMESPACES:
        raise InvalidName(
            f"{namespace!r} is reserved (official names are written with --operator)",
            field="namespace",
        )
    if _NAMESPACE.fullmatch(namespace) is None:
        raise InvalidName(
            f"{namespace!r}: a namespace uses lowercase letters, digits, '-' and '_', "
            "starts and ends with a letter or digit, and is at most 64 characters",
            field="namespace",
        )
    return namespace


class DamagedToken(NotFound):
    """A token record that is not a record: no token is valid by it."""


@dataclass
class TokenRecord:
    """What the registry stores about one token: never the token itself."""

    id: str
    hash: str
    namespaces: list[str] = field(default_factory=list)
    operator: bool = False
    created: int = 0
    expires: int | None = None
    revoked: bool = False
    description: str = ""

    def allows(self, namespace: str | None) -> bool:
        """True if this token may write ``namespace`` (None: the official names)."""
        if self.operator:
            return True
        if namespace is None:
            return False
        key = canonical_key(namespace)
        return any(canonical_key(ns) == key for ns in self.namespaces)

    def public(self) -> dict[str, object]:
        """The record without its hash, for ``token list`` and ``/v1/whoami``."""
        data = asdict(self)
        del data["hash"]
        return data


def _hash(token: str) -> str:
    return sha256(token.encode()).hexdigest()


class TokenStore:
    """Create, check and revoke tokens in a registry's private area.

    ``storage`` is that private storage (:attr:`RegistryStorage.private
    <phony_server.storage.RegistryStorage.private>`), never the public tree.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @staticmethod
    def _key(token_id: str) -> str:
        return f"tokens/{token_id}.json"

    def create(
        self,
        namespaces: list[str],
        *,
        operator: bool = False,
        expires_in: int | None = None,
        description: str = "",
        now: float | None = None,
    ) -> tuple[str, TokenRecord]:
        """Make a new token; returns ``(token, record)``. The token is not kept anywhere."""
        if not namespaces and not operator:
            raise UsageError("a token needs at least one --namespace, or --operator")
        for namespace in namespaces:
            check_namespace(namespace)
        if expires_in is not None and not 0 <= expires_in <= MAX_DURATION_DAYS * 86400:
            raise UsageError(f"a token expires within {MAX_DURATION_DAYS} days (100 years)")
        created = int(time.time() if now is None else now)
        while True:
            token_id = secrets.token_hex(8)
            token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            record = TokenRecord(
                id=token_id,
                hash=_hash(token),
                namespaces=sorted(set(namespaces)),
                operator=operator,
                created=created,
                expires=created + expires_in if expires_in else None,
                description=description,
            )
            body = json.dumps(asdict(record), sort_keys=True).encode()
            if self.storage.create(self._key(token_id), body):
                return token, record

    def get(self, token_id: str) -> TokenRecord:
        """The record of ``token_id``; raises NotFound."""
        if not re.fullmatch(r"[0-9a-f]{16}", token_id):
            raise NotFound(f"no token with id {token_id[:40]!r}")
        try:
            data = json.loads(self.storage.read_bytes(self._key(token_id)))
            return TokenRecord(**data)
        except NotFound:
            raise NotFound(f"no token with id {token_id}") from None
        except (ValueError, TypeError):  # not JSON, or not a token record's fields
            # A damaged record vouches for nothing: as unknown as a missing one.
            raise DamagedToken(
                f"the record of token {token_id} is damaged (not a token record)"
            ) from None

    def list(self, damaged: list[str] | None = None) -> list[TokenRecord]:
        """Every token record, oldest first; the ids of damaged ones go to ``damaged``."""
        records = []
        for key in self.storage.list("tokens/"):
            token_id = key.rsplit("/", 1)[-1].removesuffix(".json")
            try:
                records.append(self.get(token_id))
            except DamagedToken:
                if damaged is not None:
                    damaged.append(token_id)
            except NotFound:
                continue
        return sorted(records, key=lambda r: (r.created, r.id))

    def revoke(self, token_id: str) -> TokenRecord:
        """Revoke a token for good; raises NotFound for an unknown id."""
        if token_id.startswith(TOKEN_PREFIX):
            # Accept the token itself too, without ever echoing it.
            match = _TOKEN.fullmatch(token_id)
            if match is None:
                raise NotFound("no such token")
            token_id = match.group(1)
        while True:
            record = self.get(token_id)
            info = self.storage.stat(self._key(token_id))
            if info is None:
                raise NotFound(f"no token with id {token_id}")
            record.revoked = True
            body = json.dumps(asdict(record), sort_keys=True).encode()
            try:
                self.storage.write(self._key(token_id), body, if_match=info.etag)
            except WriteConflict:
                continue
            return record

    def authenticate(self, token: str | None, now: float | None = None) -> TokenRecord:
        """The record of a valid token; raises Unauthorized (never quoting the token)."""
        if not token:
            raise Unauthorized("this needs a token: run `phony login` or set PHONY_TOKEN")
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise Unauthorized("malformed token")
        try:
            record = self.get(match.group(1))
        except NotFound:
            raise Unauthorized("unknown token") from None
        if not hmac.compare_digest(record.hash, _hash(token)):
            raise Unauthorized("unknown token")
        if record.revoked:
            raise Unauthorized(f"token {record.id} was revoked")
        if record.expires is not None and (time.time() if now is None else now) >= record.expires:
            raise Unauthorized(f"token {record.id} has expired")
        return record

    @staticmethod
    def authorize(record: TokenRecord, namespace: str | None, what: str) -> None:
        """Raise Forbidden unless ``record`` may write ``namespace``."""
        if record.allows(namespace):
            return
        if namespace is None:
            raise Forbidden(f"{what}: official names need an operator token")
        scope = ", ".join(record.namespaces) or "no namespace"
        raise Forbidden(f"{what}: token {record.id} may write {scope}, not {namespace}")
