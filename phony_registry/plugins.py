"""The plugin manager: loads plugins and collects what they register.

Plugins are found through the ``phony`` entry point group (pluggy project
name ``phony``). ``PHONY_LOAD_PLUGINS`` limits loading to a comma-separated
list of distribution or entry point names (``''`` loads none but phony's
own built-ins). A plugin that fails to import or raises while registering is
reported by name (see :attr:`Plugins.failures`) and the rest keep working.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Protocol

import pluggy

from phony_registry import hookspecs
from phony_registry.errors import DuplicateRegistration
from phony_registry.outputs import OutputFormat

__all__ = [
    "BUILTIN",
    "GeneratorFactory",
    "LoadedPlugin",
    "LocaleSource",
    "Plugins",
    "get_plugins",
    "load_plugins",
    "report_failures",
]

#: Entry point name of phony's own plugin; it is always loaded.
BUILTIN = "builtin"


class GeneratorFactory(Protocol):
    """A generator type a schema column can name."""

    name: str
    description: str

    def build(self, args: Mapping[str, Any], context: Any) -> Any:
        """Return a column generator for the column's arguments."""


@dataclass(frozen=True)
class LocaleSource:
    """A locale pack shipped inside a Python distribution, as a static registry folder."""

    locale: str
    path: Path
    description: str = ""


@dataclass
class LoadedPlugin:
    """One loaded plugin: where it came from and what it registered."""

    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Plugins:
    """Everything the loaded plugins registered, by kind and name."""

    manager: pluggy.PluginManager
    plugins: dict[str, LoadedPlugin]
    formats: dict[str, OutputFormat]
    generators: dict[str, GeneratorFactory]
    locales: dict[str, LocaleSource]
    providers: dict[tuple[str, str], str]
    failures: dict[str, str]

    def format(self, name: str) -> OutputFormat:
        """The output format called ``name``, or a UsageError listing the known ones."""
        from phony_registry.errors import UsageError

        try:
            return self.formats[name]
        except KeyError:
            known = ", ".join(sorted(self.formats))
            raise UsageError(f"unknown format {name!r} (available: {known})") from None


def _selected(ep: EntryPoint, allow: set[str] | None) -> bool:
    if ep.name == BUILTIN and ep.value.startswith("phony_registry."):
        return True
    if allow is None:
        return True
    dist = ep.dist.name if ep.dist is not None else ""
    return ep.name in allow or dist in allow


def _allow_list() -> set[str] | None:
    raw = os.environ.get("PHONY_LOAD_PLUGINS")
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def load_plugins(extra: Mapping[str, object] | None = None) -> Plugins:
    """Load the plugins allowed by ``PHONY_LOAD_PLUGINS`` and collect their registrations.

    ``extra`` maps names to already-imported plugin objects (tests use it).
    """
    pm = pluggy.PluginManager("phony")
    pm.add_hookspecs(hookspecs)
    allow = _allow_list()
    plugins: dict[str, LoadedPlugin] = {}
    failures: dict[str, str] = {}

    candidates: list[tuple[str, str, str, Callable[[], object]]] = []
    for ep in entry_points(group="phony"):
        if not _selected(ep, allow):
            continue
        dist = ep.dist.name if ep.dist is not None else ep.name
        version = ep.dist.version if ep.dist is not None else ""
        name = "phony" if ep.name == BUILTIN and dist == "phony" else ep.name
        candidates.append((name, dist, version, ep.load))
    for name, obj in (extra or {}).items():
        candidates.append((name, name, "", lambda obj=obj: obj))

    for name, dist, version, load in candidates:
        if name in plugins or pm.has_plugin(name):
            continue
        try:
            module = load()
            pm.register(module, name=name)
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(module) or [])
        plugins[name] = LoadedPlugin(name, dist, version, hooks)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        bad = exc.plugin_name if hasattr(exc, "plugin_name") else str(exc.plugin)
        failures[str(bad)] = str(exc)

    result = Plugins(pm, plugins, {}, {}, {}, {}, failures)
    _collect(result)
    return result


def _collect(result: Plugins) -> None:
    pm = result.manager
    kinds: list[tuple[str, str, dict[str, Any], Callable[[Any], str]]] = [
        ("formats", "phony_register_formats", result.formats, lambda o: o.name),
        ("generators", "phony_register_generators", result.generators, lambda o: o.name),
        ("locales", "phony_register_locales", result.locales, lambda o: o.locale),
    ]
    for kind, hook_name, target, key_of in kinds:
        caller = getattr(pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            plugin_name = impl.plugin_name
            if plugin_name in result.failures:
                continue
            staged: list[tuple[str, Any]] = []

            def register(obj: Any, _staged: list[tuple[str, Any]] = staged) -> None:
                _staged.append((key_of(obj), obj))

            try:
                impl.function(register=register)
            except Exception as exc:
                result.failures[plugin_name] = f"{hook_name} raised {type(exc).__name__}: {exc}"
                continue
            for key, obj in staged:
                previous = result.providers.get((kind, key))
                if previous is not None and previous != plugin_name:
                    raise DuplicateRegistration(
                        f"{kind[:-1]} {key!r} is registered by both {previous!r} and {plugin_name!r}",
                        plugin=plugin_name,
                    )
                target[key] = obj
                result.providers[(kind, key)] = plugin_name
                loaded = result.plugins.get(plugin_name)
                if loaded is not None:
                    loaded.registered.setdefault(kind, []).append(key)


@cache
def get_plugins() -> Plugins:
    """The process-wide plugin set, loaded on first use."""
    return load_plugins()


def report_failures(plugins: Plugins) -> None:
    """Print one line per plugin that failed to load, on stderr."""
    for name, reason in sorted(plugins.failures.items()):
        print(f"warning: plugin {name} failed to load: {reason}", file=sys.stderr)
