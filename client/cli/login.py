"""``phony login`` and ``logout``: store a registry token (0600, never echoed) or remove it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from phony_registry.errors import UsageError

if TYPE_CHECKING:
    from phony_registry.signing import PublicKey

__all__ = ["login", "logout", "own_public_keys"]


def own_public_keys() -> list[PublicKey]:
    """The public half of this user's publisher key (created on first use, as push does)."""
    from phony_client.publish import load_or_create_publisher_key

    key, created = load_or_create_publisher_key()
    if created:
        click.echo(f"created publisher key {key.public_key.short_id}", err=True)
    return [key.public_key]


@click.command()
@click.option(
    "--registry",
    "-r",
    "url",
    help="Registry server URL (http://127.0.0.1:8000) or a name from config.toml; "
    "default: PHONY_REGISTRY, then the configured default registry.",
)
@click.option(
    "--no-register-key",
    is_flag=True,
    help="Do not register your publisher key(s) with the registry.",
)
def login(url: str | None, no_register_key: bool) -> None:
    """Store a token for a registry server; reads it from a prompt or from stdin.

    The token is checked with the registry first, then written to the config
    dir readable by you only. Your publisher keys (phony keys generate)
    are registered for the token's namespaces so your pushes verify.
    """
    from phony_client._net import printable
    from phony_client.cli._registry import require_registry
    from phony_client.credentials import check_token, normalize_url, store_token
    from phony_client.remote import RegistryClient

    # The same resolution as push and pull: a configured name, the environment, the default.
    url = normalize_url(require_registry(url, "login", server=True))
    host = (urlsplit(url).hostname or "").lower()
    if url.startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
        click.echo(
            f"warning: {url} is plain http: the token would cross the network unencrypted", err=True
        )
    if sys.stdin.isatty():
        secret = click.prompt(f"Token for {url}", hide_input=True, err=True)
    else:
        secret = sys.stdin.readline()
    secret = secret.strip()
    if not secret:
        raise UsageError("no token given (paste it at the prompt, or pipe it on stdin)")
    source = "given to phony login"
    secret = check_token(secret, source)  # before it goes anywhere
    with RegistryClient(url, token=secret) as client:
        info = client.whoami()
        path = store_token(url, secret, source)
        scope = ", ".join(printable(n) for n in info.get("namespaces") or []) or "-"
        role = " (operator)" if info.get("operator") else ""
        who = printable(info.get("id"))
        click.echo(f"logged in to {printable(url)} with token {who}: namespaces {scope}{role}")
        click.echo(f"token stored in {path}", err=True)
        if no_register_key:
            return
        for key in own_public_keys():
            answer = client.register_key(key)
            added = answer.get("added") or []
            state = f"registered for {', '.join(added)}" if added else "already registered"
            click.echo(printable(f"publisher key {answer['keyid'][:16]}: {state}"), err=True)


@click.command()
@click.option(
    "--registry",
    "-r",
    "url",
    help="Registry server URL or a name from config.toml; "
    "default: PHONY_REGISTRY, then the configured default registry.",
)
@click.option("--all", "forget_all", is_flag=True, help="Remove the tokens of every registry.")
def logout(url: str | None, forget_all: bool) -> None:
    """Remove the stored token of a registry server (the server keeps it valid: revoke it there)."""
    from phony_client.cli._registry import require_registry
    from phony_client.credentials import forget_token, normalize_url, stored_urls

    if forget_all:
        if url:
            raise UsageError("give either --registry or --all")
        urls = stored_urls()
    else:
        urls = [normalize_url(require_registry(url, "logout", server=True))]
    removed = [u for u in urls if forget_token(u)]
    for u in removed:
        click.echo(f"logged out of {u}: token removed")
    if not removed:
        where = "any registry" if forget_all else urls[0]
        click.echo(f"no token stored for {where}", err=True)
