"""Which registry a command talks to, and a clear error when none is configured.

Without ``--registry``, ``PHONY_REGISTRY`` or ``default_registry`` in
config.toml, phony reads official models from the index bundled with it. That
index is read-only and holds no namespaces, so a command that needs a real
registry says so instead of failing against it.
"""

from __future__ import annotations

from phony_client._net import is_http_url
from phony_client.pull import official_location, registry_location
from phony_registry.errors import UsageError
from phony_registry.names import split_reference

__all__ = ["HOW_TO_CONFIGURE", "require_registry", "require_source_for"]

HOW_TO_CONFIGURE = (
    "pass --registry URL|PATH (-r), set PHONY_REGISTRY, or set default_registry in config.toml"
)


def _is_bundled(location: str) -> bool:
    from pathlib import Path

    return Path(location).resolve() == Path(official_location()).resolve()


def require_registry(option: str | None, command: str, *, server: bool = False) -> str:
    """The registry ``command`` should use; a UsageError when only the bundled index is left.

    ``server`` asks for an http(s) registry server (login, search).
    """

    location = registry_location(option)
    if not option and _is_bundled(location):
        kind = "a registry server" if server else "a registry"
        raise UsageError(
            f"{command} needs {kind}, and none is configured (the bundled official index "
            f"is read-only): {HOW_TO_CONFIGURE}"
        )
    if server and not is_http_url(location):
        raise UsageError(
            f"{command} needs a registry server (http:// or https://); {location} is not "
            "a registry server URL: pass --registry URL (-r), set PHONY_REGISTRY, or set "
            "default_registry in config.toml"
        )
    return location


def require_source_for(reference: str, option: str | None) -> None:
    """Refuse to look a namespaced name up in the bundled index, which has no namespaces."""

    try:
        name, _ = split_reference(reference)
    except Exception:  # the pull itself reports a bad name, with its own message
        return
    if option or not name.namespace:
        return
    if _is_bundled(registry_location(None, name=name)):
        raise UsageError(
            f"{reference}: no registry is configured for the namespace {name.namespace!r} "
            f"(the bundled index holds official models only): {HOW_TO_CONFIGURE}"
        )
