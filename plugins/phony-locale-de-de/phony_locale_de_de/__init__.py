"""phony plugin: the ``de_DE`` locale pack, shipped as a static registry folder.

The folder ``registry/`` beside this file holds the pack's models (blobs),
their signed manifests, index files and a signed snapshot, in the layout of
:mod:`phony_registry.layout`, and its ``person`` schema; ``phony locale build
pack/pack.toml`` (in the source tree) rebuilds it from the German values in
``pack/``. Registering it lets phony find ``de_DE/first_names`` and friends by
name, with no download, and ``--locale de_DE --schema person`` use the
German ``person`` schema.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phony_registry.hookspecs import hookimpl
from phony_registry.plugins import LocaleSource, SchemaSource

__all__ = ["REGISTRY", "phony_register_locales", "phony_register_schemas"]

#: The static registry folder holding the pack.
REGISTRY = Path(__file__).resolve().parent / "registry"


@hookimpl
def phony_register_locales(register: Callable[[LocaleSource], None]) -> None:
    """Register the de_DE pack: first_names, last_names, cities, streets."""
    register(
        LocaleSource(
            locale="de_DE",
            path=REGISTRY,
            description="German first names, surnames, cities and streets (Faker and Mimesis data)",
        )
    )


@hookimpl
def phony_register_schemas(register: Callable[[SchemaSource], None]) -> None:
    """Register de_DE's own ready schemas (person: German e-mail domains)."""
    for path in sorted((REGISTRY / "schemas").glob("*.toml")):
        register(SchemaSource(name=path.stem, path=path, locale="de_DE"))
