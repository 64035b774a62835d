"""Server settings: one dataclass, built from command-line options or the environment.

Every setting has an environment variable so that ``uvicorn --factory
phony_server.app:create_app_from_env`` (several workers, containers) and
``phony registry serve`` configure the same server:

=========================  ===============================================
``PHONY_SERVER_STORAGE``   folder of the local storage (default ``./registry-data``):
                           the public tree in ``public/``, the private area in ``private/``
``PHONY_S3_BUCKET``        use this S3 bucket instead of a folder
``PHONY_S3_PREFIX``        key prefix inside the bucket (public tree under ``<prefix>/public/``)
``PHONY_S3_PRIVATE_BUCKET`` bucket of the private area (default: the same bucket)
``PHONY_S3_PRIVATE_PREFIX`` its prefix (default ``<prefix>/private``)
``PHONY_S3_ENDPOINT``      endpoint URL (MinIO, R2, Ceph, a local test server)
``PHONY_S3_REGION``        region name
``PHONY_SERVER_KEY``       PEM file of the registry's snapshot signing key
``PHONY_MAX_UPLOAD``       largest accepted blob, e.g. ``64MB``
``PHONY_MAX_INFLATED``     decompression cap of an uploaded model, e.g. ``64MiB``
``PHONY_SNAPSHOT_TTL``     how long a signed snapshot stays valid, e.g. ``7d``
``PHONY_SERVER_PUBLIC_URL`` the URL clients reach this registry at (pages' pull commands)
``PHONY_HEADER_TIMEOUT``   seconds a client has to send a request's headers
``PHONY_BODY_TIMEOUT``     seconds a request body may pause between two pieces
``PHONY_KEEP_ALIVE``       seconds an idle keep-alive connection stays open
``PHONY_MAX_CONNECTIONS``  connections and requests at once per worker (503 past it)
=========================  ===============================================

S3 credentials are never settings: boto3 finds them the standard AWS way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from phony_registry.errors import ConfigError, UsageError
from phony_server.storage import (
    PRIVATE_DIR,
    PUBLIC_DIR,
    LocalStorage,
    RegistryStorage,
    Storage,
    check_not_legacy,
    open_folder,
)
from phony_server.tokens import parse_duration

if TYPE_CHECKING:
    from phony_server.s3 import S3Storage

__all__ = ["DEFAULT_MAX_UPLOAD", "Settings", "check_public_url", "parse_size"]

#: Largest blob accepted by default (a big N-gram model is a few MB).
DEFAULT_MAX_UPLOAD = 64 * 1024 * 1024
_SIZE = re.compile(r"(\d+)\s*(?:([kmg])(i)?b?|b)?")


def parse_size(text: str) -> int:
    """Bytes in ``500000``, ``512KB``, ``64MB``, ``64MiB``, ``1G`` ...; UsageError otherwise."""
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None:
        raise UsageError(f"{text!r} is not a size (use forms like 64MB or 1048576)")
    size = int(match.group(1))
    if match.group(2):
        size *= (1024 if match.group(3) else 1000) ** ("kmg".index(match.group(2)) + 1)
    return size


@dataclass(frozen=True)
class Settings:
    """Everything a server instance needs; it keeps no other state."""

    storage_dir: Path = Path("registry-data")
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint: str | None = None
    s3_region: str | None = None
    #: Bucket of the private area (token hashes, publisher records, the key); None: s3_bucket.
    s3_private_bucket: str | None = None
    #: Prefix of the private area; None: ``<s3_prefix>/private``.
    s3_private_prefix: str | None = None
    #: PEM file of the snapshot signing key; None keeps it in the storage's
    #: private area, created once by whichever replica starts first.
    key_file: Path | None = None
    max_upload: int = DEFAULT_MAX_UPLOAD
    max_manifest: int = 256 * 1024
    #: Largest inflated size of an uploaded model (the decompression cap).
    max_inflated: int = 64 << 20
    #: Seconds a snapshot stays valid; the server re-signs it when half is used up.
    snapshot_ttl: int = 7 * 86400
    #: Seconds between two checks of the snapshot's expiry by a running server.
    refresh_interval: int = 3600
    #: The URL clients reach this registry at (its web pages' pull commands);
    #: None: ``http://HOST:PORT`` of the address it listens on.
    public_url: str | None = None
    #: Seconds from a connection's opening (or its previous response) to a
    #: complete set of request headers; a slower client is disconnected.
    header_timeout: float = 15.0
    #: Seconds a request body may pause between two pieces (408 past it).
    body_timeout: float = 30.0
    #: Seconds an idle keep-alive connection is kept open.
    keep_alive: float = 5.0
    #: Connections and requests at once per worker; more are answered 503.
    max_connections: int = 512
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def uses_s3(self) -> bool:
        """True when the storage is an S3 bucket."""
        return self.s3_bucket is not None

    def open_storage(self, *, legacy_ok: bool = False) -> RegistryStorage:
        """The configured public tree and private area (boto3 is imported only for S3).

        Refuses (ConfigError) a storage still in the old single-root layout,
        unless ``legacy_ok`` (the migration itself).
        """
        if not self.s3_bucket:
            return open_folder(self.storage_dir, check=not legacy_ok)
        from phony_server.s3 import S3Storage  # boto3: only for a bucket

        def bucket(name: str, prefix: str) -> S3Storage:
            return S3Storage(
                name, prefix=prefix, endpoint_url=self.s3_endpoint, region=self.s3_region
            )

        base = self.s3_prefix.strip("/")
        root = f"{base}/" if base else ""
        if not legacy_ok:
            check_not_legacy(bucket(self.s3_bucket, base), self.storage_options())
        public_prefix = f"{root}{PUBLIC_DIR}"
        private_prefix = (
            f"{root}{PRIVATE_DIR}" if self.s3_private_prefix is None else self.s3_private_prefix
        ).strip("/")
        private_bucket = self.s3_private_bucket or self.s3_bucket
        if private_bucket == self.s3_bucket and (
            private_prefix == public_prefix or private_prefix.startswith(f"{public_prefix}/")
        ):
            # The registry key and token records would sit where docs/deploy.md's
            # bucket policy lets anyone read.
            raise ConfigError(
                f"--s3-private-prefix {private_prefix or '(none)'} is inside the public "
                f"prefix {public_prefix}/ of bucket {self.s3_bucket}, which anyone may read: "
                "keep the private area beside it (the default is PREFIX/private) or in "
                "--s3-private-bucket"
            )
        return RegistryStorage(
            bucket(self.s3_bucket, public_prefix),
            bucket(private_bucket, private_prefix),
        )

    def open_root(self) -> Storage:
        """The storage root itself, where the old single-root layout kept everything."""
        if not self.s3_bucket:
            return LocalStorage(self.storage_dir)
        from phony_server.s3 import S3Storage

        return S3Storage(
            self.s3_bucket,
            prefix=self.s3_prefix,
            endpoint_url=self.s3_endpoint,
            region=self.s3_region,
        )

    def storage_options(self) -> str:
        """The command-line options that name this storage (for messages)."""
        if not self.s3_bucket:
            return f"--storage {Path(self.storage_dir)}"
        options = [f"--s3-bucket {self.s3_bucket}"]
        for flag, value in (
            ("--s3-prefix", self.s3_prefix),
            ("--s3-endpoint", self.s3_endpoint),
            ("--s3-private-bucket", self.s3_private_bucket),
            ("--s3-private-prefix", self.s3_private_prefix),
        ):
            if value:
                options.append(f"{flag} {value}")
        return " ".join(options)

    def to_env(self) -> dict[str, str]:
        """The environment that makes :meth:`from_env` rebuild these settings."""
        env = {
            "PHONY_SERVER_STORAGE": str(Path(self.storage_dir).resolve()),
            "PHONY_MAX_UPLOAD": str(self.max_upload),
            "PHONY_MAX_INFLATED": str(self.max_inflated),
            "PHONY_SNAPSHOT_TTL": str(self.snapshot_ttl),
            "PHONY_HEADER_TIMEOUT": str(self.header_timeout),
            "PHONY_BODY_TIMEOUT": str(self.body_timeout),
            "PHONY_KEEP_ALIVE": str(self.keep_alive),
            "PHONY_MAX_CONNECTIONS": str(self.max_connections),
        }
        optional = {
            "PHONY_S3_BUCKET": self.s3_bucket,
            "PHONY_S3_PREFIX": self.s3_prefix or None,
            "PHONY_S3_ENDPOINT": self.s3_endpoint,
            "PHONY_S3_REGION": self.s3_region,
            "PHONY_S3_PRIVATE_BUCKET": self.s3_private_bucket,
            "PHONY_S3_PRIVATE_PREFIX": self.s3_private_prefix,
            "PHONY_SERVER_KEY": str(Path(self.key_file).resolve()) if self.key_file else None,
            "PHONY_SERVER_PUBLIC_URL": self.public_url,
        }
        env.update({k: v for k, v in optional.items() if v})
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``PHONY_SERVER_*`` / ``PHONY_S3_*`` variables (see the module doc)."""

        env = os.environ if environ is None else environ
        ttl = env.get("PHONY_SNAPSHOT_TTL")
        return cls(
            storage_dir=Path(env.get("PHONY_SERVER_STORAGE") or "registry-data"),
            s3_bucket=env.get("PHONY_S3_BUCKET") or None,
            s3_prefix=env.get("PHONY_S3_PREFIX", ""),
            s3_endpoint=env.get("PHONY_S3_ENDPOINT") or None,
            s3_region=env.get("PHONY_S3_REGION") or None,
            s3_private_bucket=env.get("PHONY_S3_PRIVATE_BUCKET") or None,
            s3_private_prefix=env.get("PHONY_S3_PRIVATE_PREFIX"),
            key_file=Path(env["PHONY_SERVER_KEY"]) if env.get("PHONY_SERVER_KEY") else None,
            max_upload=parse_size(env.get("PHONY_MAX_UPLOAD") or str(DEFAULT_MAX_UPLOAD)),
            max_inflated=parse_size(env.get("PHONY_MAX_INFLATED") or str(64 << 20)),
            snapshot_ttl=(
                (int(ttl) if ttl.isdigit() else parse_duration(ttl, option="PHONY_SNAPSHOT_TTL"))
                if ttl
                else 7 * 86400
            ),
            public_url=check_public_url(env.get("PHONY_SERVER_PUBLIC_URL") or None),
            header_timeout=_seconds(env, "PHONY_HEADER_TIMEOUT", 15.0),
            body_timeout=_seconds(env, "PHONY_BODY_TIMEOUT", 30.0),
            keep_alive=_seconds(env, "PHONY_KEEP_ALIVE", 5.0),
            max_connections=int(_seconds(env, "PHONY_MAX_CONNECTIONS", 512)),
        )

    def listen_url(self, host: str, port: int) -> str:
        """The public URL, or the one of the address the server listens on."""
        if self.public_url:
            return self.public_url
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"


def check_public_url(url: str | None) -> str | None:
    """``url`` without its trailing slash if it is an http(s) URL with a host, else UsageError."""
    if url is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or any(c.isspace() or not c.isprintable() for c in url.strip())
    ):
        raise UsageError(f"{url[:200]!r} is not a public URL (like https://models.example.com)")
    return url.strip().rstrip("/")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds from ``env[name]``; UsageError if it is not one."""
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        raise UsageError(f"{name}={text[:40]!r} is not a positive number of seconds")
    return value
