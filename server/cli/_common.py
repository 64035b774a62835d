"""What the operator commands share: the storage options, the settings they make, the port check.

Server modules (settings, storage backends) and ``socket`` are imported
inside the functions: this module loads whenever ``phony --help`` lists the
``registry`` group, and they would add some fifty modules to it.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phony_registry.errors import PhonyError, UsageError

if TYPE_CHECKING:
    from phony_server.settings import Settings

__all__ = ["ensure_can_listen", "settings_from_options", "storage_options"]


def storage_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The storage options of ``serve``, the token commands and ``import``."""
    options = [
        click.option(
            "--storage",
            "storage_dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="PHONY_SERVER_STORAGE",
            default="registry-data",
            show_default=True,
            help="Folder holding the registry (the default backend).",
        ),
        click.option("--s3-bucket", envvar="PHONY_S3_BUCKET", help="Use this S3 bucket instead."),
        click.option(
            "--s3-prefix",
            envvar="PHONY_S3_PREFIX",
            default="",
            help="Key prefix (the public tree is under PREFIX/public/).",
        ),
        click.option(
            "--s3-private-bucket",
            envvar="PHONY_S3_PRIVATE_BUCKET",
            help="Bucket of the private area (tokens, key) [default: the same bucket].",
        ),
        click.option(
            "--s3-private-prefix",
            envvar="PHONY_S3_PRIVATE_PREFIX",
            help="Prefix of the private area [default: PREFIX/private].",
        ),
        click.option(
            "--s3-endpoint", envvar="PHONY_S3_ENDPOINT", help="S3 endpoint URL (MinIO, R2...)."
        ),
        click.option("--s3-region", envvar="PHONY_S3_REGION", help="S3 region name."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def settings_from_options(**values: Any) -> Settings:
    """The server :class:`~phony_server.settings.Settings` the storage options describe."""
    from phony_server.settings import Settings

    known = {k: v for k, v in values.items() if v not in (None, "") or k == "s3_prefix"}
    s3_only = ("s3_prefix", "s3_endpoint", "s3_region", "s3_private_bucket", "s3_private_prefix")
    if known.get("s3_bucket") is None and any(values.get(k) for k in s3_only):
        raise UsageError("the --s3-* options need --s3-bucket")
    return Settings(**known)


def ensure_can_listen(host: str, port: int) -> int:
    """Fail with one line, before a server starts, when ``host:port`` cannot be bound.

    uvicorn would log the failure and exit with its own status 3, which
    phony uses for something else. Returns the port to serve on: ``port``,
    or for ``0`` a free one the system picks, so that the URL printed is
    the one that answers.
    """
    import socket  # only serve needs it; the help of `phony registry` does not

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PhonyError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PhonyError(
                    f"cannot listen on {host}:{port}: the port is in use (by another "
                    "server?); choose another with --port"
                ) from None
            reason = (exc.strerror or str(exc)).lower()
            raise PhonyError(f"cannot listen on {host}:{port}: {reason}") from None
        return int(probe.getsockname()[1])
