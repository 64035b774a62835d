"""phony's own plugin: built-in formats and generators, registered through the public hooks.

It is listed as the plugin ``phony`` and always loads, whatever
``PHONY_LOAD_PLUGINS`` says. Like any plugin, it imports nothing heavy:
numpy is imported by the generators when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phony_registry import generators, outputs
from phony_registry.hookspecs import hookimpl

__all__ = [
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
    """Register ngram, template, email, sequence, integer, number, choice and date."""
    for factory in generators.BUILTIN_GENERATORS:
        register(factory)


def _in_locale_pack(spec: str) -> Path | None:
    """A model of a pack that a plugin ships: ``LOCALE/NAME`` in a registered folder."""
    from phony_registry.plugins import get_plugins

    locale, _, model = spec.partition("/")
    source = get_plugins().locale(locale) if model else None
    if source is None:
        return None
    name = model.partition("@")[0]
    for candidate in (
        source.path / "models" / f"{name}.phony",
        source.path / f"{name}.phony",
    ):
        if candidate.is_file():
            return candidate
    return None


@hookimpl(trylast=True)
def phony_resolve_model(spec: str) -> Path | None:
    """Find a model by name: in locale packs shipped by plugins, then in the local cache."""
    found = _in_locale_pack(spec)
    if found is not None:
        return found
    try:
        from phony_client.lookup import find_cached_model
    except ImportError:  # the core used without the client
        return None
    return find_cached_model(spec)
