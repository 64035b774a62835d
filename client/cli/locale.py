"""``phony locale build``: build the locale pack a plugin ships, from its ``pack.toml``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from phony_client.cli._output import echo_json, human_size, short_digest
from phony_registry.errors import UsageError

__all__ = ["locale"]


@click.group()
def locale() -> None:
    """Build locale packs for plugins (phony locale build)."""


def _signing_key(spec: str | None) -> object:
    from phony_client.config import keys_dir
    from phony_registry.signing import load_private_key

    if not spec:
        raise UsageError(
            "give the plugin's signing key: --key NAME|FILE or PHONY_SIGNING_KEY "
            "(create one with `phony keys generate --name NAME`; keep it out of the repository)"
        )
    path = Path(spec).expanduser()
    if not path.is_file():
        named = keys_dir() / f"{spec}.pem"
        if "/" in spec or not named.is_file():
            raise UsageError(f"no key file {spec} (nor a key {spec!r} in {keys_dir()})")
        path = named
    return load_private_key(path)


@locale.command()
@click.argument(
    "pack_file",
    metavar="PACK.toml",
    default="pack.toml",
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "-o",
    "--output",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The pack's folder, inside the plugin's package [default: registry/ beside PACK.toml].",
)
@click.option(
    "--key",
    "key_spec",
    metavar="NAME|FILE",
    default=lambda: os.environ.get("PHONY_SIGNING_KEY"),
    help="The plugin's Ed25519 private key: a PEM file, or a key name from "
    "`phony keys generate --name NAME` [default: PHONY_SIGNING_KEY].",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was built as JSON.")
def build(pack_file: Path, output: Path | None, key_spec: str | None, as_json: bool) -> None:
    """Build the locale pack PACK.toml describes into DIR, signed with the plugin's key.

    Each model is trained from its file of values; the pack manifest, the
    index and a snapshot are written through phony's publisher and signed;
    the key's public half goes in DIR, the private half never does. The
    plugin registers DIR with phony_register_locales (and DIR/schemas/*.toml
    with phony_register_schemas); see docs/plugins.md. DIR is replaced only
    once the new pack is complete.
    """
    from phony_registry.localepack import build_pack, read_pack_spec

    spec = read_pack_spec(pack_file)
    key = _signing_key(key_spec)
    target = output or pack_file.parent / "registry"
    built = build_pack(spec, target, key)
    if as_json:
        echo_json(
            {
                "locale": built.locale,
                "version": built.version,
                "folder": str(built.folder),
                "key": built.keyid,
                "models": {
                    name: {"digest": digest, "size": size, "values": count}
                    for name, (digest, size, count) in built.models.items()
                },
                "schemas": list(built.schemas),
            }
        )
        return
    click.echo(f"built {built.locale}@{built.version} in {built.folder} (key {built.keyid[:16]})")
    for name, (digest, size, count) in built.models.items():
        ref = f"{built.locale}/{name}"
        click.echo(f"  {ref:<34} {short_digest(digest)}  {human_size(size)}  {count:,} values")
    for name in built.schemas:
        click.echo(f"  schema {name}")
