"""phony's own plugin: built-in formats and generators, registered through the public hooks.

It is listed as the plugin ``phony`` and always loads, whatever
``PHONY_LOAD_PLUGINS`` says. Like any plugin, it imports nothing heavy:
numpy is imported by the generators when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phony_registry import columns, fitted, generators, outputs
from phony_registry.hookspecs import hookimpl

__all__ = [
    "model_in_folder",
    "phony_register_formats",
    "phony_register_generators",
    "phony_resolve_model",
]


@hookimpl
def phony_register_formats(register: Callable[[outputs.OutputFormat], None]) -> None:
    """Register txt, csv, jsonl, json and sql."""
    for fmt in (outputs.TXT, outputs.CSV, outputs.JSONL, outputs.JSON, outputs.SQL):
        register(fmt)


@hookimpl
def phony_register_generators(register: Callable[[generators.GeneratorFactory], None]) -> None:
    """Register ngram, template, email, sequence, integer, number, choice and date.

    Then histogram, reference and uuid, the types ``phony sync plan`` fits to a database.
    """
    for factory in (*columns.BUILTIN_GENERATORS, *fitted.FITTED_GENERATORS):
        register(factory)


def _in_locale_pack(spec: str) -> Path | None:
    """A model of a pack a plugin ships: ``LOCALE/NAME[@VERSION]`` in its static registry folder.

    The folder is laid out as any static registry (:mod:`phony_registry.layout`):
    the index file of the name gives the version's blob digest, and the blob's
    bytes are checked against that digest before the path is returned.
    """
    from phony_registry.plugins import get_plugins

    locale, _, model = spec.partition("@")[0].partition("/")
    source = get_plugins().locale(locale) if model else None
    if source is None:
        return None
    return model_in_folder(source.path, spec)


def model_in_folder(root: Path, spec: str) -> Path | None:
    """``NAME[@VERSION]`` in a static registry folder installed with a Python distribution.

    Such a folder (a plugin's locale pack, the official index bundled as
    ``phony_index``) came with the installed code: the index file of the name
    gives the version's blob digest, and the blob's bytes are checked against
    it. ``None`` when the folder does not have the name.
    """
    name, _, version = spec.partition("@")
    # Imported only for a folder lookup: index and manifest parsing cost
    # `phony generate NAME` about 15 ms for a model found in the cache.
    from phony_registry.digests import digest_bytes
    from phony_registry.errors import DigestMismatch
    from phony_registry.index import parse_index, resolve
    from phony_registry.layout import blob_path, index_path, to_local

    index_file = to_local(root, index_path(name))
    if not index_file.is_file():
        return None
    entry = resolve(parse_index(index_file.read_bytes()), version or None, name)
    if entry.digest is None:
        return None
    blob = to_local(root, blob_path(entry.digest))
    if digest_bytes(blob.read_bytes()) != entry.digest:
        raise DigestMismatch(f"{blob}: content does not match {entry.digest} ({entry.ref})")
    return blob


@hookimpl(trylast=True)
def phony_resolve_model(spec: str) -> Path | None:
    """Find a model by name: in locale packs shipped by plugins, then in the local cache."""
    found = _in_locale_pack(spec)
    if found is not None:
        return found
    try:
        from phony_client.lookup import (  # type: ignore[import-not-found,unused-ignore]
            find_cached_model,
        )
    except ImportError:  # the core used without the client
        return None
    return Path(find_cached_model(spec))
