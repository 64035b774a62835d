"""``phony cache ls|verify|prune|rm``: look after the local model cache."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phony_client.cli._output import echo_json, echo_table, human_size, short_digest

if TYPE_CHECKING:
    from phony_client.cache import Cache

__all__ = ["cache"]


@click.group()
def cache() -> None:
    """Inspect, verify and clean the local model cache."""


@cache.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def ls(as_json: bool) -> None:
    """List cached models and blobs, with the cache's location and size."""
    from phony_client.cache import Cache

    store = Cache()
    refs = list(store.iter_refs())
    blobs = [(d, p.stat().st_size) for d, p in store.iter_blobs()]
    referenced = store.referenced_digests()
    result: dict[str, Any] = {
        "path": str(store.root),
        "models": [
            {
                "name": r.name,
                "version": r.version,
                "digest": r.digest,
                "migrated_digest": r.derived,
                "size": r.size,
                "registry": r.location,
                "type": r.type,
            }
            for r in refs
        ],
        "blobs": [{"digest": d, "size": s, "referenced": d in referenced} for d, s in blobs],
        "total_size": sum(s for _, s in blobs),
    }
    if as_json:
        echo_json(result)
        return
    click.echo(f"cache: {store.root} ({human_size(result['total_size'])} in {len(blobs)} blobs)")
    if refs:
        echo_table(
            ["NAME", "VERSION", "DIGEST", "SIZE", "REGISTRY"],
            [
                [
                    r.name,
                    r.version,
                    short_digest(r.digest or r.manifest),
                    human_size(r.size),
                    r.location,
                ]
                for r in refs
            ],
        )
    orphans = sum(1 for b in result["blobs"] if not b["referenced"])
    if orphans:
        click.echo(f"{orphans} blob(s) no model refers to; `phony cache prune` removes them")


@cache.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(as_json: bool) -> None:
    """Rehash every blob and check every model's blobs are present; exit 7 on damage."""
    from phony_client.cache import Cache

    store = Cache()
    report: list[dict[str, Any]] = []
    for digest, _path in store.iter_blobs():
        report.append({"digest": digest, "ok": store.verify_blob(digest)})
    present = {r["digest"] for r in report}
    # One entry per missing blob, naming every cached model that needs it:
    # seven versions sharing one lost blob are one missing blob, not seven.
    needed_by: dict[str, list[str]] = {}
    for ref in store.iter_refs():
        for wanted in (ref.digest, ref.derived):
            if wanted and wanted not in present:
                models = needed_by.setdefault(wanted, [])
                if ref.ref not in models:
                    models.append(ref.ref)
    missing = [{"digest": d, "models": sorted(m)} for d, m in sorted(needed_by.items())]
    corrupt = [r["digest"] for r in report if not r["ok"]]
    if as_json:
        echo_json(
            {
                "blobs": report,
                "corrupt": corrupt,
                "missing": missing,
                "ok": not corrupt and not missing,
            }
        )
    else:
        checked = len(report) + len(missing)
        line = (
            f"checked {checked} blob{'' if checked == 1 else 's'}: "
            f"{len(report) - len(corrupt)} ok, {len(corrupt)} corrupt, {len(missing)} missing"
        )
        if missing:
            needy = sum(len(item["models"]) for item in missing)
            line += f" (needed by {needy} model{'' if needy == 1 else 's'})"
        click.echo(line)
        for digest in corrupt:
            click.echo(f"corrupt: {digest} (discarded and fetched again on next use)")
        for item in missing:
            click.echo(f"missing: {item['digest']} of {', '.join(item['models'])}")
    if corrupt or missing:
        from phony_registry.errors import DigestMismatch

        raise DigestMismatch(
            f"the cache has {len(corrupt)} corrupt and {len(missing)} missing blob(s); "
            "they are fetched again on next use (or `phony cache rm NAME` them)"
        )


def _unreferenced_and_junk(store: Cache) -> list[tuple[str, Path, int]]:
    referenced = store.referenced_digests()
    found: list[tuple[str, Path, int]] = []
    # A concurrent pull may rename or remove a file between listing and stat.
    for digest, path in store.iter_blobs():
        if digest not in referenced:
            with contextlib.suppress(FileNotFoundError):
                found.append((digest, path, path.stat().st_size))
    for path in store.iter_temporaries():
        if store.in_use(path):
            continue  # a pull is downloading into it right now
        with contextlib.suppress(FileNotFoundError):
            found.append(("temporary", path, path.stat().st_size))
    return found


@cache.command()
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def prune(dry_run: bool, as_json: bool) -> None:
    """Remove blobs no cached model refers to, and leftover temporary files."""
    from pathlib import Path

    from phony_client.cache import Cache

    store = Cache()
    removed = _unreferenced_and_junk(store)
    if not dry_run:
        for _what, path, _size in removed:
            store.remove_file(Path(str(path)))
    freed = sum(size for _, _, size in removed)
    if as_json:
        echo_json(
            {
                "removed": [{"what": w, "path": str(p), "size": s} for w, p, s in removed],
                "freed": freed,
                "dry_run": dry_run,
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(removed)} file(s), {human_size(freed)}")


@cache.command()
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def rm(reference: str, as_json: bool) -> None:
    """Remove NAME (every version) or NAME@SPEC from the cache, and blobs left unused."""
    from phony_client.cache import Cache
    from phony_registry.errors import NotFound
    from phony_registry.names import split_reference
    from phony_registry.versions import parse_spec

    # A name is read as pull and generate read it (lowercase; a locale in any
    # case), so a spelling they refuse is refused here with the same line.
    name, raw = split_reference(reference)
    store = Cache()
    refs = list(store.iter_refs(name.key))
    if raw is not None:
        spec = parse_spec(raw)
        from phony_registry.versions import DigestSpec, TagSpec, parse_version, select

        if isinstance(spec, DigestSpec):
            refs = [r for r in refs if spec.digest in (r.digest, r.manifest, r.derived)]
        elif isinstance(spec, TagSpec):
            chosen = select(spec, refs)
            refs = [chosen] if chosen else []
        else:
            refs = [r for r in refs if spec.matches(parse_version(r.version))]
    if not refs:
        raise NotFound(f"{reference} is not in the cache")
    for ref in refs:
        store.remove_ref(ref)
    removed = [(d, p, s) for d, p, s in _unreferenced_and_junk(store) if d != "temporary"]
    for _digest, path, _size in removed:
        store.remove_file(path)
    if as_json:
        echo_json(
            {
                "removed": [f"{r.name}@{r.version}" for r in refs],
                "blobs": [d for d, _, _ in removed],
            }
        )
        return
    for ref in refs:
        click.echo(f"removed {ref.name}@{ref.version}")
    click.echo(f"freed {human_size(sum(s for _, _, s in removed))}")
