"""``phony models push|pull|list|info`` (and, when installed, ``yank`` and ``search``).

``yank`` and ``search`` need a registry server; they live in
``phony_client.cli.models_remote`` and are looked up lazily, so they appear
only when that module exists.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import click

from phony_client._net import printable
from phony_client.cli._export import FORMAT_VERSION_OPTION, echo_exported, export_refs
from phony_client.cli._output import echo_json, echo_table, human_size, short_digest

__all__ = ["models"]

_REMOTE_MODULE = "phony_client.cli.models_remote"
_REMOTE_COMMANDS = ("search", "yank")


class ModelsGroup(click.Group):
    """The ``models`` group: local subcommands plus lazily found remote ones."""

    def _remote(self, name: str) -> click.Command | None:
        if name not in _REMOTE_COMMANDS or importlib.util.find_spec(_REMOTE_MODULE) is None:
            return None
        command = getattr(importlib.import_module(_REMOTE_MODULE), name, None)
        return command if isinstance(command, click.Command) else None

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Local commands, and remote ones whose module is installed."""
        remote = [n for n in _REMOTE_COMMANDS if self._remote(n) is not None]
        return sorted(set(super().list_commands(ctx)) | set(remote))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Find a local command, else import the remote one on first use."""
        return super().get_command(ctx, cmd_name) or self._remote(cmd_name)


@click.group(cls=ModelsGroup)
def models() -> None:
    """Publish, pull and inspect models in registries and the local cache."""


def _ref_row(ref: Any) -> dict[str, Any]:
    return {
        "name": ref.name,
        "version": ref.version,
        "type": ref.type,
        "kind": ref.kind,
        "digest": ref.digest if ref.type != "pack" else ref.manifest,
        "size": ref.size,
        "format_version": ref.format_version,
        "migrated_digest": ref.derived,
        "yanked": ref.yanked,
        "registry": ref.location,
        "members": ref.members,
    }


def _echo_refs(refs: list[Any], as_json: bool) -> None:
    rows = [_ref_row(r) for r in refs]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no models in the cache (pull one with `phony models pull NAME`)")
        return
    echo_table(
        ["NAME", "VERSION", "DIGEST", "SIZE", "FORMAT", "REGISTRY"],
        [
            [
                printable(r["name"]),
                printable(r["version"]) + (" (yanked)" if r["yanked"] else ""),
                printable(short_digest(r["digest"])),
                human_size(r["size"]) if r["type"] != "pack" else f"pack of {len(r['members'])}",
                (f"v{r['format_version']}" + (" (migrated)" if r["migrated_digest"] else ""))
                if r["format_version"]
                else "-",
                printable(r["registry"]),
            ]
            for r in rows
        ],
    )


@models.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("reference")
@click.option("--registry", "-r", help="Folder, file:// or http(s):// URL, or a configured name.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False), help="Publisher key (PEM).")
@click.option(
    "--signing-key",
    type=click.Path(dir_okay=False),
    help="The folder registry's snapshot key (default: found in your config dir).",
)
@click.option("--description", help="Description (default: the model's own).")
@click.option("--license", "license_", help="Licence (default: the model's own).")
@click.option(
    "--expires-days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    help="How long the new snapshot of a folder registry stays valid.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def push(
    model: Path,
    reference: str,
    registry: str | None,
    key_path: str | None,
    signing_key: str | None,
    description: str | None,
    license_: str | None,
    expires_days: int,
    as_json: bool,
) -> None:
    """Publish MODEL as REFERENCE (namespace/name@version) into a registry."""
    from datetime import timedelta

    from phony_client._net import is_http_url
    from phony_client.publish import build_manifest, load_or_create_publisher_key, push_to_folder
    from phony_client.pull import official_location, registry_location
    from phony_registry.errors import UsageError
    from phony_registry.names import split_reference

    # The model read and its manifest checked (printable text in every field, the
    # model's own metadata included) before anything is created or sent.
    manifest, _data = build_manifest(model, reference, description=description, license=license_)
    # The namespace's registry, as a pull of the name resolves it ([namespaces]).
    location = registry_location(registry, name=split_reference(reference)[0])
    if Path(location).resolve() == Path(official_location()).resolve() and not registry:
        raise UsageError(
            "push needs a registry: --registry PATH|URL, PHONY_REGISTRY or default_registry "
            "in config.toml"
        )
    if is_http_url(location):
        from phony_client.remote import require_token

        # Before creating a key: a push that cannot be authorised changes nothing.
        require_token(location)
    else:
        from phony_client.publish import writable_folder

        writable_folder(location)  # never the bundled index inside the package
    key, created = load_or_create_publisher_key(key_path)
    if created:
        from phony_client.publish import default_key_path

        click.echo(
            f"created publisher key {key.public_key.short_id} in {default_key_path()}", err=True
        )
    if is_http_url(location):
        from phony_client.remote import push as remote_push

        answer = remote_push(location, model, manifest.signed(key), public_keys=[key.public_key])
        result = {**answer.to_dict(), "registry": location}
    else:
        done = push_to_folder(
            model,
            reference,
            location,
            publisher_key=key,
            signing_key=signing_key,
            description=description,
            license=license_,
            expires_in=timedelta(days=expires_days),
        )
        if done.new_registry_key is not None:
            click.echo(
                f"created a new registry in {location}; its signing key is "
                f"{done.new_registry_key}: whoever pushes here needs it (keep it secret)",
                err=True,
            )
        result = {**done.to_dict(), "registry": location}
    if as_json:
        echo_json(result)
        return
    verb = "published" if result["created"] else "already published (same content)"
    click.echo(f"{verb} {result['name']}@{result['version']} {result['digest']} to {location}")


@models.command()
@click.argument("references", nargs=-1)
@click.option("--registry", "-r", help="Folder, file:// or http(s):// URL, or a configured name.")
@click.option(
    "--lock",
    "lock",
    type=click.Path(dir_okay=False),
    help="Record what was pulled in this lockfile (TOML).",
)
@click.option(
    "--locked",
    is_flag=True,
    help="Pull exactly what the lockfile (--lock, default phony.lock) records.",
)
@click.option("--refresh", is_flag=True, help="Consult the registry even for cached pins.")
@click.option(
    "-o",
    "--output",
    "export_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also write each pulled model to DIR/NAME.phony (the cache keeps the original).",
)
@FORMAT_VERSION_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def pull(
    references: tuple[str, ...],
    registry: str | None,
    lock: str | None,
    locked: bool,
    refresh: bool,
    as_json: bool,
    export_dir: Path | None = None,
    format_version: int | None = None,
) -> None:
    """Pull models (NAME[@VERSION|RANGE|latest|sha256:DIGEST]) into the local cache.

    With -o DIR, each model is also written to DIR, in format version N with
    --format-version N (the derived file's own digest is printed; the manifest's
    signed digest stays the original's).
    """
    from phony_client import lockfile
    from phony_client.pull import pull as do_pull
    from phony_registry.errors import UsageError

    if format_version is not None and export_dir is None:
        raise UsageError(
            "--format-version N writes copies: give -o DIR (the cache keeps the originals)"
        )
    if locked:
        if references:
            raise UsageError("--locked pulls what the lockfile says; give no model names")
        refs = lockfile.install_locked(lock or "phony.lock")
    else:
        if not references:
            raise UsageError("name at least one model to pull (or use --locked)")
        from phony_client.cli._registry import require_source_for

        for reference in references:
            require_source_for(reference, registry)
        refs = []
        entries = []
        for reference in references:
            result = do_pull(reference, registry=registry, refresh=refresh)
            refs.extend(result.refs)
            entries.append(lockfile.entry_for(result.ref))
        if lock:
            lockfile.write_lock(lock, entries)
    exported = export_refs(refs, export_dir, format_version) if export_dir is not None else []
    if as_json:
        rows = [_ref_row(r) for r in refs]
        echo_json({"pulled": rows, "exported": exported} if export_dir is not None else rows)
        return
    for ref in refs:
        what = f"pack of {len(ref.members)}" if ref.type == "pack" else short_digest(ref.digest)
        migrated = f", migrated from format v{ref.format_version}" if ref.derived else ""
        yanked = " (yanked)" if ref.yanked else ""
        click.echo(printable(f"pulled {ref.name}@{ref.version}{yanked} {what}{migrated}"))
    echo_exported(exported)


@models.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_(as_json: bool) -> None:
    """List the models in the local cache."""
    from phony_client.cache import Cache

    _echo_refs(list(Cache().iter_refs()), as_json)


@models.command()
@click.argument("reference")
@click.option(
    "--registry", "-r", help="Ask this registry (default: the cache, then the default registry)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the information as JSON.")
def info(reference: str, registry: str | None, as_json: bool) -> None:
    """Show a model's manifest and versions: NAME[@SPEC]."""
    from phony_registry.errors import NotFound, OfflineError

    data: dict[str, Any] | None = None
    if registry is None:
        try:
            data = _cached_info(reference)
        except (NotFound, OfflineError):
            data = None
    if data is None:
        data = _registry_info(reference, registry)
    if as_json:
        echo_json(data)
        return
    manifest = data["manifest"]
    for key in (
        "name",
        "version",
        "type",
        "kind",
        "locale",
        "license",
        "description",
        "digest",
        "size",
        "format_version",
        "created",
    ):
        if manifest.get(key) not in (None, ""):
            value = human_size(manifest[key]) if key == "size" else manifest[key]
            click.echo(f"{key + ':':16}{printable(value)}")
    for member in manifest.get("members", []):
        click.echo(f"{'member:':16}{printable(member['name'])}@{printable(member['version'])}")
    signers = ", ".join(printable(s["keyid"][:16]) for s in manifest.get("signatures", []))
    click.echo(f"{'signed by:':16}{signers or '-'}")
    click.echo(f"{'source:':16}{printable(data['source'])}")
    if data.get("versions"):
        listing = ", ".join(
            printable(v["version"]) + (" (yanked)" if v["yanked"] else "") for v in data["versions"]
        )
        click.echo(f"{'versions:':16}{listing}")


def _cached_info(reference: str) -> dict[str, Any]:
    from phony_client.cache import Cache
    from phony_client.lookup import find_cached_ref
    from phony_registry.canonical import loads_object
    from phony_registry.layout import manifest_path
    from phony_registry.names import canonical_key

    cache = Cache()
    ref = find_cached_ref(reference, cache)
    raw = cache.read_meta(ref.registry, manifest_path(ref.name, ref.version))
    manifest = loads_object(raw, "manifest") if raw else {"name": ref.name, "version": ref.version}
    versions = [
        {"version": r.version, "yanked": r.yanked}
        for r in cache.iter_refs(canonical_key(ref.name))
        if r.registry == ref.registry
    ]
    return {
        "manifest": manifest,
        "source": f"cache (from {ref.location})",
        "versions": versions,
        "ref": _ref_row(ref),
    }


def _registry_info(reference: str, registry: str | None) -> dict[str, Any]:
    from phony_client.pull import RegistrySession, registry_location
    from phony_registry.index import resolve
    from phony_registry.names import split_reference

    name, spec = split_reference(reference)
    session = RegistrySession(registry_location(registry))
    try:
        entries = session.index(name)
        entry = resolve(entries, spec, str(name))
        manifest = session.manifest(entry)
    finally:
        session.close()
    return {
        "manifest": manifest.to_dict(),
        "source": session.location,
        "versions": [{"version": e.version, "yanked": e.yanked} for e in entries],
    }
