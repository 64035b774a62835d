"""The client's plugin: models pulled into the local cache, found by name.

Declared as an entry point of phony's own distribution (``client``), so it
always loads, like the built-ins. It is how the core finds a cached model
(``phony generate alice/names``, a schema's ``model = "first_names"``)
without importing the client: the core calls the ``phony_resolve_model``
hook and this plugin answers from the cache. It names a locale's cached
models through ``phony_list_models`` (the Python facade's fields).
"""

from __future__ import annotations

from pathlib import Path

from phony_registry.hookspecs import hookimpl

__all__ = ["phony_list_models", "phony_resolve_model"]


@hookimpl
def phony_list_models(locale: str) -> list[str]:
    """The official models of ``locale`` pulled into the cache (``phony install``, ``pull``)."""
    from phony_client.lookup import cached_model_names

    return cached_model_names(locale)


@hookimpl(trylast=True)
def phony_resolve_model(spec: str) -> Path | None:
    """A model pulled into the cache (raising NotFound, with the command to fetch it, if not).

    It runs after every other implementation, phony's locale packs included
    (registered later among the ``trylast`` ones, pluggy calls it last).
    """
    # The cache and config modules load when a name is looked up, not each
    # time the plugins load (every `phony --help`).
    from phony_client.lookup import find_cached_model

    return find_cached_model(spec)
