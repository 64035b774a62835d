"""phony plugin: the ``de_DE`` locale pack, shipped as a static registry folder.

The folder ``registry/`` beside this file holds the pack's models (blobs),
their signed manifests, index files and a signed snapshot, in the layout of
:mod:`phony_registry.layout`; ``build_pack.py`` (in the source tree) rebuilds it
from Faker's and Mimesis's German data with ``phony train``. Registering it
lets phony find ``de_DE/first_names`` and friends by name, with no download.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phony_registry.hookspecs import hookimpl
from phony_registry.plugins import LocaleSource

__all__ = ["REGISTRY", "phony_register_locales"]

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
