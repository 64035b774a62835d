"""``phony plugins``, ``phony formats`` and ``phony generators``: what the plugins provide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from phony_client.cli._output import echo_json, echo_table
from phony_registry.plugins import Plugins

__all__ = ["formats", "generators", "plugins"]


def _loaded(ctx: click.Context) -> Plugins:
    from phony_registry.plugins import get_plugins

    loaded = get_plugins()
    # Listing the root group's commands makes plugins register theirs, so
    # that `phony plugins` can say which commands each one added.
    root = ctx.find_root()
    if isinstance(root.command, click.Group):
        root.command.list_commands(root)
    return loaded


def _provider(loaded: Plugins, kind: str, name: str) -> str:
    """The plugin that registered ``name``, or every plugin when several did (unusable)."""
    owners = loaded.conflicts.get((kind, name))
    return "CONFLICT:" + "+".join(owners) if owners else loaded.provider(kind, name)


def _plugins_document(loaded: Plugins) -> dict[str, Any]:
    return {
        "plugins": [
            {
                "name": p.name,
                "distribution": p.distribution,
                "version": p.version,
                "hooks": p.hooks,
                "registered": {kind: sorted(names) for kind, names in sorted(p.registered.items())},
            }
            for p in loaded.plugins.values()
        ],
        "failures": [
            {"name": name, "error": reason, "traceback": loaded.tracebacks.get(name)}
            for name, reason in sorted(loaded.failures.items())
        ],
        "unknown": [
            {"name": name, "closest": close} for name, close in sorted(loaded.unknown.items())
        ],
        "conflicts": [
            {"kind": kind[:-1], "name": key, "plugins": owners}
            for (kind, key), owners in sorted(loaded.conflicts.items())
        ],
    }


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List loaded plugins: distribution, version, hooks and what each registered.

    Exits 11 when a plugin failed to load (phony --traceback plugins, or
    PHONY_DEBUG=1, shows why, with the Python traceback).
    PHONY_LOAD_PLUGINS=a,b loads only the plugins named (by distribution or
    entry point name); PHONY_LOAD_PLUGINS= loads none but phony's built-ins.
    """
    if ctx.invoked_subcommand is not None:
        return
    _list(ctx, as_json)


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def list_plugins(ctx: click.Context, as_json: bool) -> None:
    """The same as phony plugins: loaded plugins, what each registered, failures."""
    _list(ctx, as_json)


def _list(ctx: click.Context, as_json: bool) -> None:
    loaded = _loaded(ctx)
    document = _plugins_document(loaded)
    if as_json:
        echo_json(document)
        _exit_on_failures(loaded)
        return
    for plugin in document["plugins"]:
        dist = plugin["distribution"]
        origin = f" (from {dist})" if dist != plugin["name"] else ""
        click.echo(f"{plugin['name']} {plugin['version']}{origin}".rstrip())
        click.echo(f"  hooks: {', '.join(plugin['hooks']) or 'none'}")
        for kind, names in plugin["registered"].items():
            click.echo(f"  {kind}: {', '.join(names)}")
    from phony_client.cli._errors import debug

    for failure in document["failures"]:
        click.echo(f"{failure['name']} FAILED: {failure['error']}")
        if debug() and failure["traceback"]:
            click.echo(failure["traceback"].rstrip("\n"), err=True)
    for conflict in document["conflicts"]:
        owners = " and ".join(conflict["plugins"])
        click.echo(f"conflict: {conflict['kind']} {conflict['name']!r} registered by {owners}")
    _exit_on_failures(loaded)


def _exit_on_failures(loaded: Plugins) -> None:
    """A plugin that failed to load makes ``phony plugins`` fail (exit 11), as a check should."""
    from phony_registry.errors import PluginError

    failed = sorted(loaded.failures)
    if failed:
        hint = "" if _debug() else "; phony --traceback plugins shows the traceback"
        raise PluginError(
            f"{len(failed)} plugin{'s' if len(failed) > 1 else ''} failed to load: "
            f"{', '.join(failed)}{hint}"
        )


def _debug() -> bool:
    from phony_client.cli._errors import debug

    return debug()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def formats(ctx: click.Context, as_json: bool) -> None:
    """List output formats for `phony generate --format`, with their --option keys."""
    loaded = _loaded(ctx)
    items: list[dict[str, Any]] = [
        {
            "name": fmt.name,
            "extension": fmt.extension,
            "description": fmt.description,
            "plugin": _provider(loaded, "formats", fmt.name),
            "options": dict(fmt.options),
        }
        for fmt in sorted(loaded.formats.values(), key=lambda f: f.name)
    ]
    if as_json:
        echo_json(items)
        return
    rows = [["NAME", "EXT", "PLUGIN", "DESCRIPTION"]]
    for item in items:
        rows.append([item["name"], f".{item['extension']}", item["plugin"], item["description"]])
    echo_table(rows[0], rows[1:])
    with_options = [item for item in items if item["options"]]
    if with_options:
        click.echo("\noptions (--option KEY=VALUE):")
        for item in with_options:
            for key, text in item["options"].items():
                click.echo(f"  {item['name']}: {key} - {text}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def generators(ctx: click.Context, as_json: bool) -> None:
    """List the column types a schema (`phony generate --schema`) can use."""
    loaded = _loaded(ctx)
    items: list[dict[str, Any]] = [
        {
            "name": factory.name,
            "description": factory.description,
            "plugin": _provider(loaded, "generators", factory.name),
            "arguments": dict(factory.arguments),
        }
        for factory in sorted(loaded.generators.values(), key=lambda g: g.name)
    ]
    if as_json:
        echo_json(items)
        return
    rows = [["TYPE", "PLUGIN", "DESCRIPTION"]]
    rows += [[item["name"], item["plugin"], item["description"]] for item in items]
    echo_table(rows[0], rows[1:])
    click.echo("\narguments (in a schema's [columns.NAME] table, beside type):")
    for item in items:
        if not item["arguments"]:
            click.echo(f"  {item['name']}: none")
        for key, text in item["arguments"].items():
            click.echo(f"  {item['name']}: {key} - {text}")


@plugins.command("new")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["generator", "format", "locale", "schema", "command"]),
    required=True,
    help="What the plugin adds: a column type, an output format, a locale pack, a ready "
    "schema, a command.",
)
@click.option(
    "--locale",
    "locale_name",
    default="xx_XX",
    show_default=True,
    help="With --kind locale: the locale of the pack.",
)
@click.option(
    "--key",
    "key_spec",
    metavar="NAME|FILE",
    help="With --kind locale: the key that signs the pack [default: a new key NAME in "
    "phony's config dir, outside the plugin's folder].",
)
@click.option(
    "-C",
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    help="Create the plugin's folder here [default: the current folder].",
)
def new(name: str, kind: str, locale_name: str, key_spec: str | None, directory: Path) -> None:
    """Create the plugin distribution NAME: pyproject, entry point, hook, a test and a README.

    It installs (pip install -e NAME) and passes its own tests (python -m
    pytest) as it is; a locale plugin's pack is built and signed at once.
    """
    from phony_client.plugin_scaffold import scaffold

    made = scaffold(name, kind, directory, locale=locale_name)
    click.echo(f"created {made.folder}/: {made.registers}")
    for relative in made.files:
        click.echo(f"  {relative}")
    if kind == "locale":
        from phony_client.cli.locale import _signing_key
        from phony_client.config import keys_dir
        from phony_registry.localepack import build_pack, read_pack_spec
        from phony_registry.signing import PrivateKey, save_private_key

        if key_spec is None:
            key_spec = made.distribution
            path = keys_dir() / f"{key_spec}.pem"
            if not path.exists():
                save_private_key(path, PrivateKey.generate())
                click.echo(
                    f"created the plugin's signing key {path} (keep it out of the repository)"
                )
        pack = made.folder / "pack" / "pack.toml"
        built = build_pack(read_pack_spec(pack), made.folder / made.module / "registry",
                           _signing_key(key_spec))  # fmt: skip
        click.echo(f"built {built.locale}@{built.version} in {built.folder}")
    click.echo(f"next: cd {made.folder} && pip install -e . && python -m pytest")
