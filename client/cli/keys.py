"""``phony keys generate|list|trust``: own signing keys and the keys this machine trusts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from phony_client.cli._output import echo_json, echo_table

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Manage publisher keys and trusted keys (Ed25519)."""


@keys.command()
@click.option(
    "--name",
    default="default",
    show_default=True,
    help="File name of the key in the config dir's keys/ folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def generate(name: str, as_json: bool) -> None:
    """Create an Ed25519 key pair; the private key is written 0600 in the config dir."""
    from phony_client.config import keys_dir
    from phony_registry.errors import UsageError
    from phony_registry.signing import PrivateKey, save_private_key

    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise UsageError(f"{name!r} is not a usable key name")
    key = PrivateKey.generate()
    path = save_private_key(keys_dir() / f"{name}.pem", key)
    result = {
        "name": name,
        "keyid": key.keyid,
        "public_key": key.public_key.to_base64(),
        "path": str(path),
    }
    if as_json:
        echo_json(result)
        return
    click.echo(f"created key {name} ({key.keyid[:16]}) in {path}")
    click.echo(f"public key: {result['public_key']}")
    click.echo("others trust it with: phony keys trust <public key> --namespace <your namespace>")


def _own_keys() -> list[dict[str, str]]:
    from phony_client.config import iter_private_key_files
    from phony_registry.errors import ConfigError
    from phony_registry.signing import load_private_key

    found = []
    for path in iter_private_key_files():
        try:
            key = load_private_key(path)
        except ConfigError as exc:
            found.append(
                {
                    "name": path.stem,
                    "keyid": "",
                    "public_key": "",
                    "path": str(path),
                    "error": str(exc),
                }
            )
            continue
        found.append(
            {
                "name": path.stem,
                "keyid": key.keyid,
                "public_key": key.public_key.to_base64(),
                "path": str(path),
            }
        )
    return found


def _pins() -> list[dict[str, object]]:
    from phony_client.config import config_dir

    pins = []
    for path in sorted((config_dir() / "registries").glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        pins.append(
            {
                "registry": data.get("registry"),
                "key": data.get("key"),
                "snapshot_version": data.get("snapshot_version", 0),
            }
        )
    return pins


@keys.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def list_(as_json: bool) -> None:
    """Show own keys, trusted keys and pinned registry keys (public halves only)."""
    from phony_client.config import load_config
    from phony_registry.signing import OFFICIAL_REGISTRY_KEY, PublicKey

    config = load_config()
    trusted = [
        {
            "key": t.key,
            "keyid": PublicKey.parse(t.key).keyid,
            "namespace": t.namespace,
            "registry": t.registry,
            "comment": t.comment,
        }
        for t in config.trusted_keys
    ]
    official = {
        "key": OFFICIAL_REGISTRY_KEY,
        "keyid": PublicKey.parse(OFFICIAL_REGISTRY_KEY).keyid,
        "scope": "official names and the bundled official index",
    }
    result: dict[str, Any] = {
        "own": _own_keys(),
        "trusted": trusted,
        "pinned": _pins(),
        "official": official,
    }
    if as_json:
        echo_json(result)
        return
    click.echo("own keys:")
    if result["own"]:
        echo_table(
            ["NAME", "KEY ID", "PUBLIC KEY", "FILE"],
            [
                [k["name"], k["keyid"][:16] or "(unreadable)", k["public_key"], k["path"]]
                for k in result["own"]
            ],
        )
    else:
        click.echo("  none (create one with `phony keys generate`)")
    click.echo("\ntrusted keys:")
    rows = [
        [
            (t["keyid"] or "")[:16],
            f"namespace {t['namespace']}" if t["namespace"] else f"registry {t['registry']}",
            t["key"],
            t["comment"],
        ]
        for t in trusted
    ]
    rows.append([official["keyid"][:16], "official", OFFICIAL_REGISTRY_KEY, "built in"])
    echo_table(["KEY ID", "FOR", "PUBLIC KEY", "COMMENT"], rows)
    click.echo("\npinned registry keys:")
    if result["pinned"]:
        echo_table(
            ["REGISTRY", "KEY", "SNAPSHOT"],
            [[p["registry"], p["key"] or "-", p["snapshot_version"]] for p in result["pinned"]],
        )
    else:
        click.echo("  none yet (a registry's key is pinned on first pull)")


@keys.command()
@click.argument("key")
@click.option("--namespace", help="Trust KEY to sign this namespace's models.")
@click.option("--registry", help="Trust KEY as this registry's key (pins it; a name or location).")
@click.option("--comment", default="", help="A note shown by `phony keys list`.")
def trust(key: str, namespace: str | None, registry: str | None, comment: str) -> None:
    """Trust KEY (base64, a PEM file, or PEM text) for a namespace or a registry."""
    from phony_client.config import RegistryState, TrustedKey, load_config, save_config
    from phony_client.pull import registry_location
    from phony_client.sources import open_source
    from phony_registry.errors import UsageError
    from phony_registry.names import is_locale, parse_name
    from phony_registry.signing import PublicKey

    if bool(namespace) == bool(registry):
        raise UsageError("give exactly one of --namespace NS or --registry NAME|PATH|URL")
    path = Path(key)
    text = _key_text(path) if len(key) < 4096 and path.is_file() else key
    public = PublicKey.parse(text)
    config = load_config()
    if namespace:
        if is_locale(namespace):
            raise UsageError(
                f"{namespace!r} is a locale: official names are signed by the official key only"
            )
        parse_name(f"{namespace}/x")
        entry = TrustedKey(public.to_base64(), namespace=namespace, comment=comment)
        where = f"namespace {namespace}"
    else:
        assert registry is not None
        entry = TrustedKey(public.to_base64(), registry=registry, comment=comment)
        state = RegistryState.load(open_source(registry_location(registry, config)).id)
        state.pin(public.to_base64())
        where = f"registry {registry} (pinned)"
    config.trusted_keys = [t for t in config.trusted_keys if t != entry] + [entry]
    save_config(config)
    click.echo(f"trusted key {public.short_id} for {where}")


def _key_text(path: Path) -> str:
    """The text of a public key file (a PEM block or base64: a few hundred bytes)."""
    from phony_registry.errors import SignatureError

    with open(path, "rb") as handle:
        data = handle.read(65537)
    if len(data) > 65536:
        raise SignatureError(f"{path} is not a public key file (over 64 KiB)")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise SignatureError(f"{path} is not a PEM or base64 public key (not ASCII text)") from None
