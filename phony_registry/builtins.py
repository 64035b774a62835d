"""phony's own plugin: built-in formats and generators, registered through the public hooks.

It is listed as the plugin ``phony`` and always loads, whatever
``PHONY_LOAD_PLUGINS`` says. Like any plugin, it imports nothing heavy:
numpy is imported by the generators when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phony_registry import columns, fitted, generators, outputs
from phony_registry.errors import IntegrityError, ValidationError
from phony_registry.hookspecs import hookimpl
from phony_registry.plugins import SchemaSource

__all__ = [
    "model_in_folder",
    "phony_register_formats",
    "phony_register_generators",
    "phony_register_schemas",
    "phony_resolve_model",
]


@hookimpl
def phony_register_formats(register: Callable[[outputs.OutputFormat], None]) -> None:
    """Register txt, csv, jsonl, json, sql, and parquet and arrow (pyarrow, when used)."""
    from phony_registry import formats_arrow

    for fmt in (outputs.TXT, outputs.CSV, outputs.JSONL, outputs.JSON, outputs.SQL):
        register(fmt)
    register(formats_arrow.PARQUET)
    register(formats_arrow.ARROW)


@hookimpl
def phony_register_generators(register: Callable[[generators.GeneratorFactory], None]) -> None:
    """Register ngram, template, email, sequence, integer, number, choice and date.

    Then histogram, reference and uuid, the types ``phony sync plan`` fits to a database.
    """
    for factory in (*columns.BUILTIN_GENERATORS, *fitted.FITTED_GENERATORS):
        register(factory)


@hookimpl
def phony_register_schemas(register: Callable[[SchemaSource], None]) -> None:
    """Register the generic ready schemas (person, address, company), for every locale.

    They are the TOML files of the bundled official index (``phony_index``);
    a plugin's schema of the same name for one locale takes their place there.
    """
    from phony_index import ROOT

    for path in sorted((ROOT / "schemas").glob("*.toml")):
        register(SchemaSource(name=path.stem, path=path, description=_first_comment(path)))


def _first_comment(path: Path) -> str:
    """The first ``# comment`` line of a schema file, as its description."""
    with open(path, encoding="utf-8") as file:
        for line in file:
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return ""


def _in_locale_pack(spec: str) -> Path | None:
    """A model of a pack a plugin ships: ``LOCALE/NAME[@VERSION]`` in its static registry folder.

    The folder is laid out as any static registry (:mod:`phony_registry.layout`)
    and read by :func:`model_in_folder`.
    """
    from phony_registry.plugins import get_plugins

    locale, _, model = spec.partition("@")[0].partition("/")
    plugins = get_plugins()
    source = plugins.locale(locale) if model else None
    if source is None:
        return None
    try:
        return model_in_folder(source.path, spec)
    except (IntegrityError, ValidationError) as exc:  # say whose pack failed its checks
        owner = plugins.label(plugins.provider("locales", source.locale))
        error = type(exc)(f"the {source.locale} pack of plugin {owner}: {exc}")
        raise error from exc


def model_in_folder(root: Path, spec: str) -> Path | None:
    """``NAME[@VERSION]`` in a static registry folder installed with a Python distribution.

    Such a folder (a plugin's locale pack, the official index bundled as
    ``phony_index``) came with the installed code, so the key it holds speaks
    for the locale of ``NAME`` (and only that locale; the official key speaks
    for every official name). It is read through the verified reader
    (:class:`~phony_registry.reader.VerifiedReader`) like any registry: the
    snapshot signed by that key, the index file against the snapshot, the
    manifest against the index line and the trust rules, and the blob's
    bytes against the manifest. ``None`` when the folder does not have the name.
    """
    name, _, version = spec.partition("@")
    # Imported only for a folder lookup: index, manifest and signature checks cost
    # `phony generate NAME` tens of milliseconds, not worth paying for a cached model.
    from phony_registry.digests import check_bytes
    from phony_registry.errors import NotFound, SignatureError
    from phony_registry.index import resolve
    from phony_registry.layout import SNAPSHOT, blob_path, to_local
    from phony_registry.names import parse_name
    from phony_registry.reader import FolderSource, VerifiedReader
    from phony_registry.trust import TrustPolicy

    parsed = parse_name(name)
    folder = FolderSource(root)
    locales = {parsed.locale: folder.id} if parsed.locale else {}
    reader = VerifiedReader(folder, policy=TrustPolicy(locale_sources=locales))
    try:
        reader.snapshot()
    except NotFound as exc:  # a pack without its snapshot is damaged, not a pack without the model
        raise SignatureError(
            f"the locale pack in {root} has no signed snapshot ({SNAPSHOT}): "
            "reinstall the plugin that ships it"
        ) from exc
    try:
        entries = reader.index(parsed)
    except NotFound:
        return None
    manifest = reader.manifest(resolve(entries, version or None, name))
    if manifest.digest is None:
        return None
    blob = to_local(root, blob_path(manifest.digest))
    check_bytes(blob.read_bytes(), manifest.digest, manifest.size, what=f"{blob} ({manifest.ref})")
    return blob


@hookimpl(trylast=True)
def phony_resolve_model(spec: str) -> Path | None:
    """Find a model by name in the locale packs plugins ship.

    The local cache is the client's (its plugin ``phony_client.plugin``
    answers after this one); the core never imports the client.
    """
    return _in_locale_pack(spec)
