"""Copies of pulled models in a chosen format version, for readers in other languages.

``phony models pull NAME -o DIR [--format-version N]`` and ``phony install
LOCALE --export DIR [--format-version N]``: each model the pull verified
(snapshot, manifest signature, blob digest) is re-read from the cache,
checked against its digest once more, and written to ``DIR/<name>.phony``,
converted with :func:`phony_registry.convert.derive` when a version is asked
for. The manifest's signed digest stays the original blob's; the derived
file has its own digest, printed here, which anyone can reproduce from the
original because the conversion is deterministic (docs/format.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from phony_registry.errors import DigestMismatch, UsageError

__all__ = ["FORMAT_VERSION_OPTION", "echo_exported", "echo_losses", "export_refs"]

#: ``--format-version N`` of pull and install (checked when converting).
FORMAT_VERSION_OPTION = click.option(
    "--format-version",
    "format_version",
    type=int,
    metavar="N",
    help="Write the exported files in format version N (1: the original layout that "
    "PHP and JavaScript readers load; see docs/format.md) [default: as published].",
)
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def echo_losses(version: int, lost: list[str]) -> None:
    """Say on stderr what format ``version`` does not keep of a model."""
    for item in lost:
        click.echo(f"phony: format version {version} does not keep {item}", err=True)


def _target(folder: Path, name: str) -> Path:
    parts = name.split("/")
    # Names are checked when the manifest is read; a path is built only from safe parts.
    if not all(_PART.fullmatch(part) and part not in (".", "..") for part in parts):
        raise UsageError(f"{name!r} cannot name a file to export")
    return folder.joinpath(*parts[:-1], parts[-1] + ".phony")


def export_refs(refs: Iterable[Any], folder: Path, version: int | None) -> list[dict[str, Any]]:
    """Write every model of ``refs`` (packs skipped) into ``folder``; one record per file."""
    from phony_client.cache import Cache
    from phony_registry._fs import write_output
    from phony_registry.convert import derive
    from phony_registry.digests import digest_bytes

    cache = Cache()
    done = []
    for ref in refs:
        if ref.type == "pack" or not ref.digest:
            continue
        data = cache.blob_path(ref.digest).read_bytes()
        if digest_bytes(data) != ref.digest:
            raise DigestMismatch(
                f"{ref.name}@{ref.version}: the cached blob no longer has digest {ref.digest} "
                "(phony cache verify)"
            )
        if version is None:
            out, lost = data, list[str]()
        else:
            out, lost = derive(data, version)
        target = _target(folder, ref.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_output(target, out)
        record = {
            "name": ref.name,
            "version": ref.version,
            "path": str(target),
            "digest": digest_bytes(out),
            "original_digest": ref.digest,
            "format_version": version,
            "lost": lost,
        }
        done.append(record)
    return done


def echo_exported(records: list[dict[str, Any]]) -> None:
    """One line per exported file on stdout (its digest); what it lost on stderr."""
    for record in records:
        version = record["format_version"]
        how = f"format version {version}, " if version is not None else ""
        derived = (
            f" (derived from the verified {record['original_digest']})"
            if record["digest"] != record["original_digest"]
            else ""
        )
        click.echo(
            f"exported {record['name']}@{record['version']} to {record['path']}: "
            f"{how}{record['digest']}{derived}"
        )
    # The same loss for every model of a pack is said once.
    lost = dict.fromkeys(item for record in records for item in record["lost"])
    if records and records[0]["format_version"] is not None:
        echo_losses(records[0]["format_version"], list(lost))
