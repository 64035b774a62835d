"""The plugin manager: loads plugins and collects what they register.

Plugins are found through the ``phony`` entry point group (pluggy project
name ``phony``). ``PHONY_LOAD_PLUGINS`` limits loading to a comma-separated
list of distribution or entry point names (``''`` loads none but phony's
own built-ins, which always load).

A broken plugin never breaks phony: one that fails to import, implements a
hook that does not exist (a misspelling, caught by pluggy's
``check_pending``), or raises while registering is left out and reported by
name in :attr:`Plugins.failures` (the command line prints them on stderr).
Two plugins registering one name is a conflict: using that name raises
:class:`~phony_registry.errors.DuplicateRegistration` naming both.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pluggy

from phony_registry import hookspecs
from phony_registry.errors import DuplicateRegistration, PluginError, UsageError
from phony_registry.generators import GeneratorFactory
from phony_registry.outputs import OutputFormat

__all__ = [
    "BUILTIN",
    "EntryPoint",
    "GeneratorFactory",
    "LoadedPlugin",
    "LocaleSource",
    "Plugins",
    "entry_points",
    "get_plugins",
    "load_plugins",
    "report_failures",
]

#: Entry point name of phony's own plugin; it is always loaded.
BUILTIN = "builtin"
#: The name phony's own plugin is listed under.
_BUILTIN_NAME = "phony"


@dataclass(frozen=True)
class LocaleSource:
    """A locale pack shipped inside a Python distribution, as a static registry folder.

    ``path`` is the folder; ``locale`` the pack's name (``de_DE``).
    """

    locale: str
    path: Path
    description: str = ""


@dataclass
class LoadedPlugin:
    """One loaded plugin: where it came from, its hooks and what it registered."""

    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)


# kind -> (hook name, registered type, key of a registered object)
_KINDS: dict[str, tuple[str, type, Callable[[Any], str]]] = {
    "formats": ("phony_register_formats", OutputFormat, lambda o: o.name),
    "generators": ("phony_register_generators", GeneratorFactory, lambda o: o.name),
    "locales": ("phony_register_locales", LocaleSource, lambda o: o.locale),
}


@dataclass
class Plugins:
    """Everything the loaded plugins registered, by kind and name.

    ``providers`` maps ``(kind, name)`` to the plugin that registered it;
    ``conflicts`` maps a name registered more than once to every plugin that
    registered it; ``failures`` maps a plugin name to why it was left out.
    """

    manager: pluggy.PluginManager
    plugins: dict[str, LoadedPlugin]
    formats: dict[str, OutputFormat]
    generators: dict[str, GeneratorFactory]
    locales: dict[str, LocaleSource]
    providers: dict[tuple[str, str], str]
    failures: dict[str, str]
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def _lookup(self, kind: str, name: str) -> Any:
        table: dict[str, Any] = getattr(self, kind)
        owners = self.conflicts.get((kind, name))
        if owners:
            both = " and ".join(repr(o) for o in owners)
            error = DuplicateRegistration(
                f"{kind[:-1]} {name!r} is registered by both {both}; "
                "uninstall one or leave it out with PHONY_LOAD_PLUGINS"
            )
            error.plugin = owners[-1]
            raise error
        return table.get(name)

    def format(self, name: str) -> OutputFormat:
        """The output format called ``name``, or a UsageError listing the known ones."""
        found: OutputFormat | None = self._lookup("formats", name)
        if found is None:
            known = ", ".join(sorted(self.formats))
            raise UsageError(f"unknown format {name!r} (available: {known})")
        return found

    def generator(self, name: str) -> GeneratorFactory | None:
        """The generator type called ``name``, or ``None``."""
        found: GeneratorFactory | None = self._lookup("generators", name)
        return found

    def locale(self, name: str) -> LocaleSource | None:
        """The locale pack called ``name`` shipped by a plugin, or ``None``."""
        found: LocaleSource | None = self._lookup("locales", name)
        return found

    def provider(self, kind: str, name: str) -> str:
        """Which plugin registered ``name`` of ``kind`` (``formats``, ``generators``...)."""
        return self.providers.get((kind, name), "")

    def register_commands(self, cli: Any) -> None:
        """Let each plugin add subcommands to ``cli``; a failing plugin is reported, not fatal.

        A plugin cannot replace one of phony's own commands.
        """
        reserved = set(getattr(cli, "lazy", {}))
        for impl in self.manager.hook.phony_register_commands.get_hookimpls():
            name = impl.plugin_name
            before = dict(cli.commands)
            try:
                impl.function(cli=cli)
            except Exception as exc:
                cli.commands = before
                self._fail(name, f"phony_register_commands raised {type(exc).__name__}: {exc}")
                continue
            added = [c for c in cli.commands if c not in before]
            clash = [c for c in added if c in reserved]
            if clash:
                cli.commands = before
                self._fail(name, f"command {clash[0]!r} is one of phony's own commands")
                continue
            replaced = [c for c in before if cli.commands.get(c) is not before[c]]
            if replaced:
                cli.commands = before
                owner = next(
                    (p.name for p in self.plugins.values()
                     if replaced[0] in p.registered.get("commands", [])),
                    "another plugin",
                )  # fmt: skip
                self._fail(name, f"command {replaced[0]!r} is already registered by {owner!r}")
                continue
            if name in self.plugins:
                self.plugins[name].registered["commands"] = sorted(added)

    def _fail(self, name: str, reason: str) -> None:
        self.failures[name] = reason
        print(f"warning: plugin {name} failed to load: {reason}", file=sys.stderr)


@dataclass(frozen=True)
class EntryPoint:
    """One entry point of the ``phony`` group: ``name = module[:attribute]``."""

    name: str
    value: str
    distribution: str
    version: str

    def load(self) -> object:
        """Import the module (and look up the attribute) the entry point names."""
        module, _, attr = self.value.partition(":")
        obj: object = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def _read_text(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError):
        return None


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """``name = value`` lines of the ``[group]`` section of an entry_points.txt."""
    pairs, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            pairs.append((name.strip(), value.strip()))
    return pairs


def _metadata(folder: Path) -> tuple[str, str]:
    """Name and version from the header of a distribution's METADATA (or PKG-INFO)."""
    text = _read_text(folder / "METADATA") or _read_text(folder / "PKG-INFO")
    fields: dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            break  # the body starts after the first blank line
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Version"):
            fields.setdefault(key, value.strip())
    fallback = folder.name.rsplit(".", 1)[0].partition("-")[0]
    return fields.get("Name", fallback), fields.get("Version", "")


def entry_points(group: str = "phony") -> list[EntryPoint]:
    """Entry points of ``group`` in every distribution installed on ``sys.path``.

    The same answer as ``importlib.metadata.entry_points(group=...)`` (a test
    checks it), read directly from each ``*.dist-info``/``*.egg-info`` folder:
    importlib.metadata parses every distribution's METADATA with the email
    package, which alone costs ``phony --help`` about 15 ms.
    """
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for entry in sys.path:
        try:
            listing = os.scandir(entry or ".")
        except OSError:
            continue
        with listing:
            folders = sorted(
                Path(d.path) for d in listing if d.name.endswith((".dist-info", ".egg-info"))
            )
        for folder in folders:
            text = _read_text(folder / "entry_points.txt")
            if text is None or f"[{group}]" not in text:
                continue
            name, version = _metadata(folder)
            if _canonical(name) in seen:
                continue  # an earlier sys.path entry shadows this copy
            seen.add(_canonical(name))
            found.extend(EntryPoint(n, v, name, version) for n, v in _section(text, group))
    return found


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _allow_list() -> set[str] | None:
    raw = os.environ.get("PHONY_LOAD_PLUGINS")
    if raw is None:
        return None
    return {_canonical(part) for part in raw.split(",") if part.strip()}


def _unmarked_hooks(plugin: object, pm: pluggy.PluginManager) -> list[str]:
    """``phony_*`` functions a plugin forgot to mark with ``@hookimpl``."""
    names = []
    for attr in dir(plugin):
        if (
            attr.startswith("phony_")
            and callable(getattr(plugin, attr, None))
            and pm.parse_hookimpl_opts(plugin, attr) is None
        ):
            names.append(attr)
    return names


def _unknown_hooks_message(plugin: object, pm: pluggy.PluginManager) -> str:
    import difflib

    known = [
        name
        for name in dir(pm.hook)
        if name.startswith("phony_") and getattr(pm.hook, name).has_spec()
    ]
    unknown = []
    for caller in pm.get_hookcallers(plugin) or []:
        if not caller.has_spec():
            hint = difflib.get_close_matches(caller.name, known, n=1)
            unknown.append(caller.name + (f" (did you mean {hint[0]}?)" if hint else ""))
    return "unknown hook " + ", ".join(unknown)


def _already_loaded(obj: object) -> Callable[[], object]:
    return lambda: obj


def load_plugins(extra: Mapping[str, object] | None = None) -> Plugins:
    """Load the plugins allowed by ``PHONY_LOAD_PLUGINS`` and collect their registrations.

    ``extra`` maps names to already-imported plugin objects, loaded whatever
    ``PHONY_LOAD_PLUGINS`` says (tests use it).
    """
    pm = pluggy.PluginManager("phony")
    pm.add_hookspecs(hookspecs)
    allow = _allow_list()
    plugins: dict[str, LoadedPlugin] = {}
    failures: dict[str, str] = {}

    candidates: list[tuple[str, str, str, Callable[[], object]]] = []
    for ep in entry_points("phony"):
        dist, version = ep.distribution, ep.version
        if ep.name == BUILTIN and _canonical(dist) == "phony":
            candidates.insert(0, (_BUILTIN_NAME, dist, version, ep.load))
        elif _canonical(dist) == "phony":  # phony's own plugins (mock) load like the built-ins
            candidates.append((ep.name, dist, version, ep.load))
        elif allow is None or _canonical(ep.name) in allow or _canonical(dist) in allow:
            candidates.append((ep.name, dist, version, ep.load))
    for name, obj in (extra or {}).items():
        candidates.append((name, name, "", _already_loaded(obj)))

    for name, dist, version, load in candidates:
        if name in plugins or name in failures:
            continue
        try:
            module = load()
            unmarked = _unmarked_hooks(module, pm)
            if unmarked:
                raise PluginError(f"{', '.join(unmarked)} not marked with @hookimpl")
            pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            failures[name] = str(exc)
            continue
        except Exception as exc:
            failures[name] = (
                str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            )
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(module) or [])
        if not hooks:
            pm.unregister(module)
            failures[name] = (
                "implements no phony hook (does the entry point name the right module?)"
            )
            continue
        plugins[name] = LoadedPlugin(name, dist, version, hooks)

    # check_pending names the first plugin implementing an unknown hook
    # (usually a misspelling): leave that plugin out and look again.
    while True:
        try:
            pm.check_pending()
            break
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or repr(exc.plugin)
            failures[name] = _unknown_hooks_message(exc.plugin, pm)
            pm.unregister(exc.plugin)
            plugins.pop(name, None)

    result = Plugins(pm, plugins, {}, {}, {}, {}, failures)
    _collect(result)
    return result


def _collect(result: Plugins) -> None:
    """Call every registration hook, then apply what the healthy plugins registered.

    A plugin failing in any hook is left out as a whole: nothing it
    registered is kept and pluggy no longer calls it.
    """
    staged: dict[str, list[tuple[str, Any]]] = {}
    for kind, (hook_name, expected, _) in _KINDS.items():
        for impl in getattr(result.manager.hook, hook_name).get_hookimpls():
            plugin_name = impl.plugin_name
            if plugin_name in result.failures:
                continue
            registered: list[Any] = []
            try:
                impl.function(register=registered.append)
                for obj in registered:
                    if not isinstance(obj, expected):
                        raise TypeError(f"register() got {obj!r}, expected {expected.__name__}")
            except Exception as exc:  # reported by name, phony goes on
                result.failures[plugin_name] = f"{hook_name} raised {type(exc).__name__}: {exc}"
                continue
            staged.setdefault(plugin_name, []).extend((kind, obj) for obj in registered)
    for plugin_name in list(result.plugins):
        if plugin_name in result.failures:
            del result.plugins[plugin_name]
            plugin = result.manager.get_plugin(plugin_name)
            if plugin is not None:
                result.manager.unregister(plugin)
    for plugin_name, loaded in result.plugins.items():
        for kind, obj in staged.get(plugin_name, []):
            key = _KINDS[kind][2](obj)
            previous = result.providers.get((kind, key))
            if previous is not None and previous != plugin_name:
                result.conflicts.setdefault((kind, key), [previous]).append(plugin_name)
                continue
            getattr(result, kind)[key] = obj
            result.providers[(kind, key)] = plugin_name
            loaded.registered.setdefault(kind, []).append(key)


@cache
def get_plugins() -> Plugins:
    """The process-wide plugin set, loaded on first use; failures are reported on stderr."""
    plugins = load_plugins()
    report_failures(plugins)
    return plugins


def report_failures(plugins: Plugins) -> None:
    """Print one line per plugin that failed to load, and per conflicting name, on stderr."""
    for name, reason in sorted(plugins.failures.items()):
        print(f"warning: plugin {name} failed to load: {reason}", file=sys.stderr)
    for (kind, key), owners in sorted(plugins.conflicts.items()):
        both = " and ".join(repr(o) for o in owners)
        print(f"warning: {kind[:-1]} {key!r} is registered by both {both}", file=sys.stderr)
