"""``phony registry``: run a registry server and manage its tokens.

``serve`` runs the FastAPI application under uvicorn on a local folder (the
default) or an S3 bucket; ``token create|revoke|list`` work directly on the
same storage (the operator's side: they need no running server);
``migrate-storage`` and ``import`` (:mod:`phony_server.cli.registry_import`)
change a storage. The group reaches the ``phony`` command line through the
``phony_register_commands`` hook (:mod:`phony_server.cli.plugin`): the client
never imports the server. FastAPI, uvicorn and boto3, and the server modules
that load them, are imported only inside these commands.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from phony_registry.errors import ConfigError
from phony_server.cli._common import ensure_can_listen, settings_from_options, storage_options
from phony_server.cli.registry_import import import_index

if TYPE_CHECKING:
    from phony_registry.signing import PublicKey

__all__ = ["registry"]

_F = TypeVar("_F", bound=Callable[..., Any])


@click.group()
def registry() -> None:
    """Run a registry server and manage its publishing tokens."""


def _seconds_option(*names: str, **attrs: Any) -> Callable[[_F], _F]:
    """A ``serve`` timeout: a number of seconds above zero, its default shown in the help."""
    return click.option(*names, show_default=True, type=click.FloatRange(0, min_open=True), **attrs)


@registry.command()
@storage_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--public-url",
    envvar="PHONY_SERVER_PUBLIC_URL",
    help="URL clients reach this registry at, shown in its pages' pull commands "
    "[default: http://HOST:PORT].",
)
@_seconds_option(
    "--header-timeout",
    envvar="PHONY_HEADER_TIMEOUT",
    default=15.0,
    help="Seconds a client has to send a request's headers.",
)
@_seconds_option(
    "--body-timeout",
    envvar="PHONY_BODY_TIMEOUT",
    default=30.0,
    help="Seconds a request body may pause (408 past it).",
)
@_seconds_option(
    "--keep-alive",
    envvar="PHONY_KEEP_ALIVE",
    default=5.0,
    help="Seconds an idle connection stays open.",
)
@click.option(
    "--max-connections",
    envvar="PHONY_MAX_CONNECTIONS",
    default=512,
    show_default=True,
    type=click.IntRange(1),
    help="Connections at once per worker; more are answered 503.",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PHONY_SERVER_KEY",
    help="PEM file of the snapshot signing key (created if missing). "
    "Default: kept in the storage's private area.",
)
@click.option(
    "--max-upload",
    envvar="PHONY_MAX_UPLOAD",
    default="64MB",
    show_default=True,
    help="Largest accepted model.",
)
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
@click.option("--log-level", default="info", show_default=True, help="uvicorn log level.")
def serve(
    host: str,
    port: int,
    public_url: str | None,
    header_timeout: float,
    body_timeout: float,
    keep_alive: float,
    max_connections: int,
    key_file: Path | None,
    max_upload: str,
    workers: int,
    log_level: str,
    **storage: Any,
) -> None:
    """Serve a registry over HTTP (a local folder by default, or an S3 bucket).

    Put a reverse proxy in front of it on a public network (docs/deploy.md).
    """
    import uvicorn

    from phony_server.app import create_app
    from phony_server.connections import HttpProtocol
    from phony_server.settings import check_public_url, parse_size

    settings = settings_from_options(
        key_file=key_file, max_upload=parse_size(max_upload), **storage
    )
    port = ensure_can_listen(host, port)  # a port in use: one line, not uvicorn's log
    settings = dataclasses.replace(
        settings,
        # Pages name this URL in their pull commands: never the request's Host header.
        public_url=check_public_url(public_url) or settings.listen_url(host, port),
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        keep_alive=keep_alive,
        max_connections=max_connections,
    )
    limits: dict[str, Any] = {
        "http": HttpProtocol,
        "timeout_keep_alive": keep_alive,
        "limit_concurrency": max_connections,
        "h11_max_incomplete_event_size": 16 * 1024,
    }
    # Build the app once here so that a bad storage or key fails with one clear line.
    app = create_app(settings)
    where = app.state.registry.storage.description
    click.echo(f"phony registry on http://{host}:{port} ({where})", err=True)
    if not public_url and host in ("0.0.0.0", "::"):  # noqa: S104 - a comparison, no bind
        click.echo(
            f"note: its pages tell users to pull from {settings.public_url}; "
            "give the URL they reach it at with --public-url",
            err=True,
        )
    # The protocol reads the header timeout from here, in every worker.
    os.environ.update(settings.to_env())
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, **limits)
        return
    uvicorn.run(
        "phony_server.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        server_header=False,
        **limits,
    )


@registry.group()
def token() -> None:
    """Create, list and revoke publishing tokens (operator side, on the storage)."""


@token.command("create")
@storage_options
@click.option(
    "--namespace", "namespaces", multiple=True, help="Namespace the token may write (repeatable)."
)
@click.option("--operator", is_flag=True, help="May write every namespace and official names.")
@click.option("--expires", help="Lifetime such as 90d, 12h, 1y (default: no expiry).")
@click.option("--description", default="", help="A note to recognise the token by.")
@click.option(
    "--key",
    "public_key",
    help="Register this publisher public key (base64 or PEM file) for the namespaces.",
)
def token_create(
    namespaces: tuple[str, ...],
    operator: bool,
    expires: str | None,
    description: str,
    public_key: str | None,
    **storage: Any,
) -> None:
    """Create a token and print it, once: it is stored only as a hash."""
    from phony_server.tokens import TokenStore, format_expiry, parse_duration

    # Every argument is checked before the storage is opened: a refusal writes nothing.
    lifetime = parse_duration(expires, option="--expires") if expires else None
    key = _parse_key(public_key) if public_key else None
    store = settings_from_options(**storage).open_storage().private
    secret, record = TokenStore(store).create(
        list(namespaces), operator=operator, expires_in=lifetime, description=description
    )
    if key is not None:
        from phony_server.keys import PublisherKeys

        publishers = PublisherKeys(store)
        scopes: list[str | None] = [*record.namespaces, *([None] if operator else [])]
        for scope in scopes:
            publishers.register(scope, key, record.id)
    scope_text = ", ".join(record.namespaces) or "-"
    click.echo(
        f"created token {record.id} (namespaces: {scope_text}"
        f"{'; operator' if operator else ''}; expires: {format_expiry(record.expires)})",
        err=True,
    )
    if key is not None:
        click.echo(f"registered publisher key {key.short_id} for it", err=True)
    click.echo("copy it now: it is not shown again", err=True)
    click.echo(secret)


def _parse_key(text: str) -> PublicKey:
    from phony_registry.signing import PublicKey

    path = Path(text)
    if len(text) < 4096 and path.is_file():
        return PublicKey.parse(path.read_text(encoding="ascii", errors="replace"))
    return PublicKey.parse(text)


@token.command("revoke")
@storage_options
@click.argument("token_id")
def token_revoke(token_id: str, **storage: Any) -> None:
    """Revoke a token by its id; it stops working at once on every replica."""
    from phony_server.tokens import TokenStore

    record = TokenStore(settings_from_options(**storage).open_storage().private).revoke(token_id)
    click.echo(f"revoked token {record.id}")


@token.command("list")
@storage_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def token_list(as_json: bool, **storage: Any) -> None:
    """List tokens (ids, namespaces, expiry, revoked); never the tokens themselves."""
    from phony_server.tokens import TokenStore, format_expiry

    damaged: list[str] = []
    records = TokenStore(settings_from_options(**storage).open_storage().private).list(damaged)
    for token_id in damaged:
        click.echo(
            f"phony: the record of token {token_id} is damaged, so that token is valid "
            f"for nothing: remove private/tokens/{token_id}.json from the storage",
            err=True,
        )
    if as_json:
        json.dump([r.public() for r in records], sys.stdout, indent=2)
        click.echo()
        return
    if not records:
        click.echo("no tokens", err=True)
        return
    for record in records:
        state = "revoked" if record.revoked else f"expires {format_expiry(record.expires)}"
        scope = ", ".join(record.namespaces) or "-"
        role = " operator" if record.operator else ""
        click.echo(f"{record.id}  {scope}{role}  {state}  {record.description}".rstrip())


@registry.command("migrate-storage")
@storage_options
def migrate_storage(**storage: Any) -> None:
    """Move a storage of the old single-root layout into public/ and private/."""
    from phony_server.storage import migrate_legacy

    settings = settings_from_options(**storage)
    root = settings.open_root()
    try:
        settings.open_storage()
    except ConfigError:
        moved = migrate_legacy(root, settings.open_storage(legacy_ok=True))
        click.echo(f"moved {moved} files of {root.description} into public/ and private/")
        return
    click.echo(f"{root.description} is already in the public/ and private/ layout", err=True)


registry.add_command(import_index)
