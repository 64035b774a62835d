"""``phony install LOCALE...``: official locale packs into the local cache, verified.

With no configuration the packs come from the official index bundled with
phony (no network, no server); see :mod:`phony_client.install` for the order
in which configured registries are tried.
"""

from __future__ import annotations

from pathlib import Path

import click

from phony_client.cli._export import FORMAT_VERSION_OPTION, echo_exported, export_refs
from phony_client.cli._output import echo_json, human_size, short_digest
from phony_registry.errors import UsageError

__all__ = ["install"]


@click.command()
@click.argument("locales", nargs=-1, metavar="LOCALE[@VERSION]...")
@click.option(
    "--registry",
    "-r",
    metavar="NAME|URL|PATH",
    help="Install from this registry only (a name from config.toml, a URL or a folder). "
    "Default: PHONY_REGISTRY, the configured registries, then the bundled official index.",
)
@click.option(
    "--list", "list_packs", is_flag=True, help="List the packs available without a network."
)
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also write each installed model to DIR/LOCALE/NAME.phony (for readers in other "
    "languages; with --format-version 1 in the original layout).",
)
@FORMAT_VERSION_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print what was installed as JSON.")
def install(
    locales: tuple[str, ...],
    registry: str | None,
    list_packs: bool,
    as_json: bool,
    export_dir: Path | None = None,
    format_version: int | None = None,
) -> None:
    """Install official locale packs (tr_TR, en-US, ...) or official models (tr_TR/cities).

    Every byte is verified: the snapshot and manifests against the registry's
    key (the official key for the bundled index), each model against its digest.
    --export DIR then writes copies, converted with --format-version N: each
    copy's own digest is printed (the manifests' signed digests stay the originals').
    """
    from phony_client.install import available_packs, describe
    from phony_client.install import install as do_install

    if format_version is not None and export_dir is None:
        raise UsageError(
            "--format-version N writes copies: give --export DIR (the cache keeps the originals)"
        )

    if list_packs or not locales:
        packs = available_packs()
        if not list_packs:
            names = ", ".join(p.name for p in packs)
            raise UsageError(f"name a locale to install, e.g. phony install tr_TR (here: {names})")
        if as_json:
            echo_json([{**vars(p), "models": list(p.models)} for p in packs])
            return
        for pack in packs:
            click.echo(f"{pack.name}@{pack.version}  {describe(pack.location)}")
            click.echo(f"  {', '.join(pack.models)}")
        return
    done = [do_install(locale, registry=registry) for locale in locales]
    exported = (
        export_refs([r for item in done for r in item.refs], export_dir, format_version)
        if export_dir is not None
        else []
    )
    if as_json:
        echo_json(
            [
                {
                    "installed": item.target,
                    "registry": item.location,
                    "skipped": [{"registry": a.location, "reason": a.reason} for a in item.skipped],
                    "refs": [
                        {
                            "name": ref.name,
                            "version": ref.version,
                            "type": ref.type,
                            "digest": ref.digest,
                            "size": ref.size,
                        }
                        for ref in item.refs
                    ],
                    "exported": [
                        e for e in exported if any(e["name"] == r.name for r in item.refs)
                    ],
                }
                for item in done
            ]
        )
        return
    for item in done:
        for attempt in item.skipped:
            click.echo(f"phony: skipped {describe(attempt.location)}: {attempt.reason}", err=True)
        head, *members = item.refs
        cached = " (already in the cache)" if item.result.from_cache else ""
        what = f"{len(members)} models" if head.type == "pack" else short_digest(head.digest)
        click.echo(f"installed {head.ref} from {describe(item.location)}: {what}{cached}")
        for ref in members:
            click.echo(f"  {ref.ref:<34} {short_digest(ref.digest)}  {human_size(ref.size)}")
    echo_exported(exported)
    models = [r.name for item in done for r in item.refs if r.type != "pack"]
    example = next((m for m in models if m.endswith("/first_names")), models[0] if models else None)
    if example:
        click.echo(f"try: phony generate {example} --count 5")
