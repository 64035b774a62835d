"""``phony registry import INDEX_DIR``: a static registry (the official index) into a server.

For operators: ``phony registry import registry-index/ --storage ./registry-data``
makes a registry server serve the official locale packs, so its users run
``phony install tr_TR --registry http://...`` against it. The source is
verified as a client would verify it (snapshot signed by the trusted key,
every index file against the snapshot, every manifest against its index line
and the trusted key, every blob against its digest) before anything is
written; each version is then published through the server's own publish
path (conditional create: an existing identical release is a no-op, a
different one is refused), models before the packs that list them. The
stored manifests keep the source's signatures and gain the registry's.
"""

from __future__ import annotations

# The core's reader and signing, and the server's modules, are imported inside
# the functions: this module loads whenever `phony --help` lists `registry`.
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from phony_server.cli._common import settings_from_options, storage_options

if TYPE_CHECKING:
    from phony_registry.manifest import Manifest
    from phony_registry.signing import PublicKey
    from phony_server.registry import Registry

__all__ = ["Imported", "import_index", "import_static_registry", "read_verified"]


@dataclass(frozen=True)
class Imported:
    """One version imported: its reference, whether it was new, and what it is."""

    ref: str
    created: bool
    what: str


def read_verified(source: Path, trusted: PublicKey) -> list[tuple[Manifest, bytes | None, bool]]:
    """Every (manifest, blob bytes or None for a pack, yanked) of a verified static registry.

    Read through the core's verified reader: the snapshot signed by
    ``trusted``, which vouches for the source's namespaces (the operator
    imports the whole registry); official names need the official key, as
    for any client. Raises the integrity errors of the core when anything
    fails to verify.
    """
    from phony_registry.reader import FolderSource, VerifiedReader
    from phony_registry.trust import TrustPolicy

    reader = VerifiedReader(
        FolderSource(source), policy=TrustPolicy(own_namespaces=True), key=trusted
    )
    return [(manifest, blob, entry.yanked) for entry, manifest, blob in reader.walk()]


def import_static_registry(source: Path, registry: Registry, trusted: PublicKey) -> list[Imported]:
    """Publish every version of the static registry ``source`` into a server ``registry``.

    Models go first, then packs (whose members must then be present).
    """
    from phony_registry.names import parse_name

    items = read_verified(source, trusted)
    items.sort(key=lambda item: (item[0].is_pack, item[0].name, item[0].version))
    done = []
    for manifest, blob, yanked in items:
        name = parse_name(manifest.name)
        if blob is not None:
            assert manifest.digest is not None
            registry.store_blob(manifest.digest, blob)
            registry.check_blob(manifest)
            what = f"{len(blob)} bytes"
        else:
            registry.check_members(manifest)
            what = f"pack of {len(manifest.members)}"
        created, _ = registry.publish(manifest, name)
        if yanked:
            registry.set_yanked(name, manifest.version, True)
        done.append(Imported(manifest.ref, created, what))
    return done


@click.command("import")
@click.argument(
    "source",
    metavar="INDEX_DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--trust",
    "trusted_key",
    metavar="KEY",
    help="Public key (base64 or PEM file) the source must be signed by "
    "[default: the official index key].",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PHONY_SERVER_KEY",
    help="The registry's snapshot key, as for `phony registry serve`.",
)
@storage_options
def import_index(
    source: Path, trusted_key: str | None, key_file: Path | None, **storage: object
) -> None:
    """Import a static registry folder, such as registry-index/, into this registry's storage."""
    from phony_registry.signing import PublicKey, official_key
    from phony_server.keys import open_registry_key
    from phony_server.registry import Registry

    if trusted_key is None:
        trusted = official_key()
    elif Path(trusted_key).is_file():
        trusted = PublicKey.parse(Path(trusted_key).read_text(encoding="ascii"))
    else:
        trusted = PublicKey.parse(trusted_key)
    settings = settings_from_options(key_file=key_file, **storage)
    store = settings.open_storage()
    key, new_key = open_registry_key(store, settings.key_file)
    registry = Registry(store, key)
    registry.ensure_snapshot(adopt=new_key)
    done = import_static_registry(source, registry, trusted)
    for item in done:
        state = "imported" if item.created else "already there"
        click.echo(f"{state:<14} {item.ref} ({item.what})")
    new = sum(item.created for item in done)
    click.echo(f"{new} new of {len(done)} versions in {store.public.description}", err=True)
