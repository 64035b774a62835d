"""``phony models yank`` and ``phony models search``.

``client/cli/models.py`` looks these subcommands up here lazily. The registry
is ``--registry`` (a URL, a folder or the name of a configured registry), else
``PHONY_REGISTRY``, else the configured default registry. Search needs a
registry server; yank works on a server (with a token) or on a folder
registry (with its snapshot key).
"""

from __future__ import annotations

import json
import sys

import click

from phony_client._net import is_http_url, printable
from phony_client.cli._registry import require_registry
from phony_client.credentials import token_for
from phony_client.publish import yank_in_folder
from phony_client.remote import RegistryClient
from phony_registry.errors import UsageError
from phony_registry.names import split_reference
from phony_registry.versions import parse_version

__all__ = ["search", "server_url", "yank"]


def server_url(registry: str | None) -> str:
    """The http(s) URL of the registry server to talk to (as push and pull choose it)."""

    return require_registry(registry, "search", server=True)


def _split(ref: str) -> tuple[str, str]:

    name, spec = split_reference(ref)
    if spec is None:
        raise UsageError(f"{ref!r}: name the exact version to yank, e.g. {name}@1.0.0")
    return str(name), str(parse_version(spec))


@click.command()
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--undo", is_flag=True, help="Unyank: make the version resolvable by ranges again.")
@click.option("--registry", "-r", help="Registry server URL, folder, or configured name.")
@click.option(
    "--signing-key",
    type=click.Path(dir_okay=False),
    help="A folder registry's snapshot key (default: found in your config dir).",
)
def yank(ref: str, undo: bool, registry: str | None, signing_key: str | None) -> None:
    """Yank a published version: ranges skip it, exact pins still get it."""

    name, version = _split(ref)
    # Never the bundled index: it lives inside the installed package.
    location = require_registry(registry, "yank")
    state = "unyanked" if undo else "yanked"
    if not is_http_url(location):
        snapshot = yank_in_folder(f"{name}@{version}", location, undo=undo, signing_key=signing_key)
        click.echo(f"{state} {name}@{version} (snapshot version {snapshot.version})")
        return

    with RegistryClient(location, token=token_for(location)) as client:
        entry = client.yank(name, version, undo=undo)
    shown = f"{entry.get('name', name)}@{entry.get('version', version)}"
    click.echo(f"{state} {printable(shown)}")


@click.command()
@click.argument("query", required=False, default="")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 500),
    help="Show at most this many models (1 to 500).",
)
@click.option("--registry", "-r", help="Registry server URL or configured name.")
def search(query: str, as_json: bool, limit: int, registry: str | None) -> None:
    """Search a registry's models by name, description, locale or kind."""

    with RegistryClient(server_url(registry)) as client:
        models = client.search(query, limit=limit)
    if as_json:
        json.dump(models, sys.stdout, indent=2, ensure_ascii=False)
        click.echo()
        return
    if not models:
        click.echo(f"no models match {query!r}" if query else "no models yet", err=True)
        return
    # Every field is what a publisher (or the registry) wrote: shown through printable().
    names = [printable(m.get("name")) for m in models]
    width = max(len(n) for n in names)
    for name, model in zip(names, models, strict=True):
        yanked = " (yanked)" if model.get("yanked") else ""
        latest = printable(model.get("latest"))
        description = printable(model.get("description") or "")
        click.echo(f"{name:<{width}}  {latest}{yanked}  {description}".rstrip())
