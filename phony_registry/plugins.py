"""The plugin manager: loads plugins and collects what they register.

Plugins are found through the ``phony`` entry point group (pluggy project
name ``phony``). ``PHONY_LOAD_PLUGINS`` limits loading to a comma-separated
list of distribution or entry point names (``''`` loads none but phony's
own built-ins, which always load).

A broken plugin never breaks phony: one that fails to import, implements a
hook that does not exist (a misspelling, caught by pluggy's
``check_pending``), or raises while registering (``SystemExit`` included;
only ``KeyboardInterrupt`` goes through) is left out and reported by
name in :attr:`Plugins.failures` (logged as warnings; the command line shows
them on stderr).
Two plugins registering one name is a conflict: using that name raises
:class:`~phony_registry.errors.DuplicateRegistration` naming both. One
plugin registering a name twice is a failure of that plugin. A name in
``PHONY_LOAD_PLUGINS`` that no installed plugin has is reported with the
closest one (:attr:`Plugins.unknown`); the traceback of a plugin that failed
is kept (:attr:`Plugins.tracebacks`, printed with ``PHONY_DEBUG=1``).

What a third-party plugin registers is wrapped (:mod:`phony_registry._guard`)
so that an exception escaping its code at run time (a generator's ``build``
or ``generate``, a format's writer, a command) is one
:class:`~phony_registry.errors.PluginFault` naming the plugin, its
distribution and version, and the object.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pluggy

from phony_registry import _guard, hookspecs
from phony_registry.errors import DuplicateRegistration, PluginError, UsageError
from phony_registry.generators import GeneratorFactory
from phony_registry.hookspecs import LocaleSource, SchemaSource
from phony_registry.outputs import OutputFormat

__all__ = [
    "BUILTIN",
    "EntryPoint",
    "GeneratorFactory",
    "LoadedPlugin",
    "LocaleSource",
    "Plugins",
    "SchemaSource",
    "entry_points",
    "get_plugins",
    "load_plugins",
    "report_failures",
    "using",
]

#: Warnings about plugins (one failed to load, two registered one name); the
#: command line shows them as ``warning: ...`` lines on stderr.
logger = logging.getLogger(__name__)

#: Entry point name of phony's own plugin; it is always loaded.
BUILTIN = "builtin"
#: The name phony's own plugin is listed under.
_BUILTIN_NAME = "phony"
#: Seconds a plugin's import may take before phony warns about it: plugins
#: load on every command, ``phony --help`` included.
_SLOW_IMPORT = 1.0


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
    "schemas": (
        "phony_register_schemas",
        SchemaSource,
        lambda o: f"{o.locale}/{o.name}" if o.locale else o.name,
    ),
}


@dataclass
class Plugins:
    """Everything the loaded plugins registered, by kind and name.

    ``providers`` maps ``(kind, name)`` to the plugin that registered it;
    ``conflicts`` maps a name registered more than once to every plugin that
    registered it; ``failures`` maps a plugin name to why it was left out and
    ``tracebacks`` to the Python traceback of that failure, when there was
    one; ``unknown`` maps a name of ``PHONY_LOAD_PLUGINS`` that no installed
    plugin has to the closest installed name (or ``None``). ``schemas`` is
    keyed ``NAME`` (for every locale) or ``LOCALE/NAME``.
    """

    manager: pluggy.PluginManager
    plugins: dict[str, LoadedPlugin]
    formats: dict[str, OutputFormat]
    generators: dict[str, GeneratorFactory]
    locales: dict[str, LocaleSource]
    providers: dict[tuple[str, str], str]
    failures: dict[str, str]
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    schemas: dict[str, SchemaSource] = field(default_factory=dict)
    tracebacks: dict[str, str] = field(default_factory=dict)
    unknown: dict[str, str | None] = field(default_factory=dict)
    #: Plugin name -> (distribution, version), for every plugin phony tried to load.
    origins: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Plugin name -> what it printed while loading (kept off stdout, phony's output).
    printed: dict[str, str] = field(default_factory=dict)
    #: Plugin name -> seconds its import took, for a plugin slower than :data:`_SLOW_IMPORT`.
    slow: dict[str, float] = field(default_factory=dict)

    def label(self, name: str) -> str:
        """``phony-acme 0.1.0``, or ``acme (phony-acme 0.1.0)``: a plugin as messages name it."""
        dist, version = self.origins.get(name, (name, ""))
        if _canonical(dist) == _canonical(name):
            return f"{name} {version}".strip()
        return f"{name} ({dist} {version})".replace(" )", ")")

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
            raise UsageError(f"unknown format {name!r} (available: {known}){self.failure_note()}")
        return found

    def failure_note(self) -> str:
        """``; plugin X failed to load: ...`` for each failed plugin: why a name may be missing."""
        notes = [
            f"; plugin {self.label(n)} failed to load: {r}"
            for n, r in sorted(self.failures.items())
        ]
        notes += [
            f"; PHONY_LOAD_PLUGINS names {n!r}, which is not installed"
            + (f" (did you mean {close!r}?)" if close else "")
            for n, close in sorted(self.unknown.items())
        ]
        return "".join(notes)

    def schema(self, name: str, locale: str | None = None) -> SchemaSource | None:
        """The ready schema ``name`` for ``locale``: the locale's own, else the generic one."""
        if locale:
            found: SchemaSource | None = self._lookup("schemas", f"{locale}/{name}")
            if found is not None:
                return found
        generic: SchemaSource | None = self._lookup("schemas", name)
        return generic

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

    def commands(self, reserved: Collection[str] = ()) -> dict[str, Any]:
        """The commands plugins add to the command line, by name, in the order added.

        Each plugin's ``phony_register_commands`` runs against a fresh
        :class:`~phony_registry.hookspecs.CommandTable`. A plugin whose hook
        raises, that names one of ``reserved`` (phony's own commands) or a
        command an earlier plugin added, is left out as a whole and reported
        (:attr:`failures`, and a warning logged). phony's own plugins (``mock``
        and ``registry`` from the server) go first, so their commands count as
        phony's own too. A third-party plugin's commands are guarded so that a
        fault inside one names the plugin. The command line puts the result on
        its click group.
        """
        found: dict[str, Any] = {}
        owners: dict[str, str] = {}
        impls = sorted(
            self.manager.hook.phony_register_commands.get_hookimpls(),
            key=lambda impl: not self._own(impl.plugin_name),
        )
        for impl in impls:
            name = impl.plugin_name
            table = hookspecs.CommandTable()
            try:
                with _capture_stdout(name, self.printed, log=self):
                    returned = impl.function(cli=table)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # sys.exit() too: the plugin is left out, not phony
                self._fail(name, f"phony_register_commands raised {_describe(exc)}", exc)
                continue
            if returned is not None:
                self._fail(
                    name,
                    f"phony_register_commands returned {_a(type(returned).__name__)} "
                    "instead of calling cli.add_command(...) once per command",
                )
                continue
            added = dict(table.added)
            wrong = _not_commands(added)
            if wrong:
                self._fail(name, f"phony_register_commands added {wrong}")
                continue
            clash = [c for c in added if c in reserved]
            if clash:
                self._fail(name, f"command {clash[0]!r} is one of phony's own commands")
                continue
            taken = [c for c in added if c in found]
            if taken:
                owner = owners[taken[0]]
                if self._own(owner) and not self._own(name):
                    reason = f"command {taken[0]!r} is one of phony's own commands"
                else:
                    reason = f"command {taken[0]!r} is already registered by {owner!r}"
                self._fail(name, reason)
                continue
            plugin = self.plugins.get(name)
            if plugin is not None and not self._own(name):
                for command in added.values():
                    _guard.guard_command(command, _owner(plugin))
            if plugin is not None:
                plugin.registered["commands"] = sorted(added)
            found.update(added)
            owners.update(dict.fromkeys(added, name))
        return found

    def _own(self, name: str) -> bool:
        """Whether plugin ``name`` is one of phony's own (an entry point of its distribution)."""
        return _canonical(self.origins.get(name, ("", ""))[0]) == "phony"

    def register_commands(self, cli: Any, reserved: Collection[str] = ()) -> None:
        """Add :meth:`commands` to the click group ``cli`` (``cli.add_command``)."""
        for name, command in self.commands(reserved).items():
            cli.add_command(command, name)

    def _fail(self, name: str, reason: str, error: BaseException | None = None) -> None:
        self.failures[name] = reason
        if error is not None:
            self.tracebacks[name] = _format_exception(error)
        if self._report:
            logger.warning("plugin %s failed to load: %s", self.label(name), reason)

    #: Log a command hook's failure as it happens (off while load_plugins lists commands).
    _report = True


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


@contextlib.contextmanager
def _capture_stdout(
    name: str, printed: dict[str, str], log: Plugins | None = None
) -> Iterator[None]:
    """Keep what plugin ``name`` prints while loading out of stdout, which is phony's output.

    The text is kept in ``printed`` and reported as one warning naming the
    plugin (:func:`report_failures`; at once through ``log`` when given).
    """
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    finally:
        text = " / ".join(line.strip() for line in buffer.getvalue().splitlines() if line.strip())
        if text:
            printed[name] = f"{printed[name]} / {text}" if name in printed else text
            if log is not None and log._report:
                logger.warning("%s", _printed_message(log.label(name), text))


def _printed_message(label: str, text: str) -> str:
    shown = text if len(text) <= 200 else text[:197] + "..."
    return (
        f"plugin {label} wrote to stdout while loading, which holds phony's output: "
        f"moved to stderr: {shown}"
    )


def _already_loaded(obj: object) -> Callable[[], object]:
    return lambda: obj


def _a(noun: str) -> str:
    """``a list``, ``an OutputFormat``."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _describe(error: BaseException) -> str:
    """``SystemExit: 3``, ``ImportError: needs libfoo``; the bare name when there is no message."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _format_exception(error: BaseException) -> str:
    import traceback  # only when a plugin failed: it costs every start-up milliseconds

    return "".join(traceback.format_exception(error))


def _owner(plugin: LoadedPlugin) -> _guard.Owner:
    return _guard.Owner(plugin.name, plugin.distribution, plugin.version)


def _unknown_names(allow: set[str] | None, found: list[EntryPoint]) -> dict[str, str | None]:
    """Names of ``PHONY_LOAD_PLUGINS`` that match no installed plugin, with the closest one."""
    if not allow:
        return {}
    import difflib

    others = [ep for ep in found if _canonical(ep.distribution) != "phony"]
    installed = sorted(
        {_canonical(ep.name) for ep in others} | {_canonical(ep.distribution) for ep in others}
    )
    # phony's own plugins always load, so naming them changes nothing, but
    # it is no mistake either: `phony plugins` lists them under these names.
    own = {_canonical(ep.name) for ep in found if _canonical(ep.distribution) == "phony"}
    unknown: dict[str, str | None] = {}
    for name in sorted(allow - set(installed) - own - {_BUILTIN_NAME}):
        close = difflib.get_close_matches(name, installed, n=1, cutoff=0.6)
        unknown[name] = close[0] if close else None
    return unknown


def load_plugins(extra: Mapping[str, object] | None = None, *, commands: bool = True) -> Plugins:
    """Load the plugins allowed by ``PHONY_LOAD_PLUGINS`` and collect their registrations.

    ``extra`` maps names to already-imported plugin objects, loaded whatever
    ``PHONY_LOAD_PLUGINS`` says (tests use it). With ``commands`` (the
    default), each plugin's ``phony_register_commands`` is also run against
    a scratch click group, so :attr:`LoadedPlugin.registered` lists its
    commands; the command line passes False and registers them for real
    only when it needs them (``phony --help`` stays fast).
    """
    pm = pluggy.PluginManager("phony")
    pm.add_hookspecs(hookspecs)
    allow = _allow_list()
    plugins: dict[str, LoadedPlugin] = {}
    failures: dict[str, str] = {}
    tracebacks: dict[str, str] = {}
    printed: dict[str, str] = {}
    slow: dict[str, float] = {}

    found_points = entry_points("phony")
    candidates: list[tuple[str, str, str, Callable[[], object]]] = []
    own_count = 0
    for ep in found_points:
        dist, version = ep.distribution, ep.version
        if ep.name == BUILTIN and _canonical(dist) == "phony":
            candidates.insert(0, (_BUILTIN_NAME, dist, version, ep.load))
            own_count += 1
        elif _canonical(dist) == "phony":  # phony's own plugins (mock) load like the built-ins
            # ahead of any other: a plugin never takes the name of one of phony's own
            candidates.insert(own_count, (ep.name, dist, version, ep.load))
            own_count += 1
        elif allow is None or _canonical(ep.name) in allow or _canonical(dist) in allow:
            candidates.append((ep.name, dist, version, ep.load))
    for name, obj in (extra or {}).items():
        candidates.append((name, name, "", _already_loaded(obj)))

    origins: dict[str, tuple[str, str]] = {}
    for name, dist, version, load in candidates:
        if name in origins:  # a second entry point of that name: rename it, says the failure
            first = origins[name][0]
            owner = (
                f"phony's own plugin {name!r}"
                if _canonical(first) == "phony"
                else f"plugin {name!r} of {first}"
            )
            key = dist if dist not in origins else f"{dist}:{name}"
            origins[key] = (dist, version)
            failures[key] = f"entry point {name!r} has the name of {owner}: rename it"
            continue
        origins[name] = (dist, version)
        try:
            started = time.perf_counter()
            with _capture_stdout(name, printed):
                module = load()
            took = time.perf_counter() - started
            if took > _SLOW_IMPORT and _canonical(dist) != "phony":
                slow[name] = took
            unmarked = _unmarked_hooks(module, pm)
            if unmarked:
                raise PluginError(f"{', '.join(unmarked)} not marked with @hookimpl")
            pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            failures[name] = str(exc)
            continue
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit() at import too: the plugin is left out, not phony
            failures[name] = str(exc) if isinstance(exc, PluginError) else _describe(exc)
            if not isinstance(exc, PluginError):
                tracebacks[name] = _format_exception(exc)
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

    result = Plugins(pm, plugins, {}, {}, {}, {}, failures, tracebacks=tracebacks)
    result.unknown = _unknown_names(allow, found_points)
    result.origins = origins
    result.printed = printed
    result.slow = slow
    _collect(result)
    if commands and any(
        impl.plugin_name in result.plugins
        for impl in pm.hook.phony_register_commands.get_hookimpls()
    ):
        result._report = False
        try:
            result.commands()
        finally:
            result._report = True
    return result


def _collect(result: Plugins) -> None:
    """Call every registration hook, then apply what the healthy plugins registered.

    A plugin failing in any hook is left out as a whole: nothing it
    registered is kept and pluggy no longer calls it.
    """
    staged: dict[str, list[tuple[str, Any]]] = {}
    for kind, (hook_name, expected, key_of) in _KINDS.items():
        for impl in getattr(result.manager.hook, hook_name).get_hookimpls():
            plugin_name = impl.plugin_name
            if plugin_name in result.failures:
                continue
            if impl.hookwrapper or getattr(impl, "wrapper", False):
                result.failures[plugin_name] = (
                    f"{hook_name} is a hook wrapper (wrapper=True), which phony never calls: "
                    "make it a plain @hookimpl that calls register(...)"
                )
                continue
            registered: list[Any] = []
            try:
                with _capture_stdout(plugin_name, result.printed):
                    returned = impl.function(register=registered.append)
                for obj in registered:
                    if not isinstance(obj, expected):
                        raise TypeError(f"register() got {obj!r}, expected {expected.__name__}")
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # sys.exit() too: reported by name, phony goes on
                result.failures[plugin_name] = f"{hook_name} raised {_describe(exc)}"
                result.tracebacks[plugin_name] = _format_exception(exc)
                continue
            if returned is not None:  # pytest-style hooks return; phony's take a callback
                result.failures[plugin_name] = (
                    f"{hook_name} returned {_a(type(returned).__name__)} instead of calling "
                    f"register(...) once per {kind[:-1]}"
                )
                continue
            # One plugin registering a name twice is its own bug (which one did
            # it mean?), not a conflict between two plugins: it is left out.
            counts = Counter(key_of(obj) for obj in registered)
            twice = sorted(key for key, count in counts.items() if count > 1)
            if twice:
                names = ", ".join(repr(key) for key in twice)
                result.failures[plugin_name] = f"{hook_name} registered {kind[:-1]} {names} twice"
                continue
            unusable = _unusable(kind, registered)
            if unusable:
                result.failures[plugin_name] = f"{hook_name} registered {unusable}"
                continue
            staged.setdefault(plugin_name, []).extend((kind, obj) for obj in registered)
    for plugin_name in list(result.plugins):
        if plugin_name in result.failures:
            del result.plugins[plugin_name]
            plugin = result.manager.get_plugin(plugin_name)
            if plugin is not None:
                result.manager.unregister(plugin)
    answers = {"phony_resolve_model": _guard.model_file, "phony_list_models": _guard.model_names}
    for hook_name, answer in answers.items():
        for impl in getattr(result.manager.hook, hook_name).get_hookimpls():
            loaded_plugin = result.plugins.get(impl.plugin_name)
            if loaded_plugin is None or _canonical(loaded_plugin.distribution) == "phony":
                continue
            # pluggy calls impl.function: a fault finding a model names the plugin too.
            # A wrapper's generator is pluggy's to drive: only a plain answer is checked.
            wraps = impl.hookwrapper or getattr(impl, "wrapper", False)
            check = None if wraps else answer
            guarded = _guard.guard_hook(impl.function, _owner(loaded_plugin), hook_name, check)
            setattr(impl, "function", guarded)  # noqa: B010 - pluggy types it Final
    for plugin_name, loaded in result.plugins.items():
        third_party = _canonical(loaded.distribution) != "phony"
        for kind, obj in staged.get(plugin_name, []):
            if third_party:
                obj = _guard.guard(obj, _owner(loaded))
            key = _KINDS[kind][2](obj)
            previous = result.providers.get((kind, key))
            if previous is not None and previous != plugin_name:
                result.conflicts.setdefault((kind, key), [previous]).append(plugin_name)
                continue
            getattr(result, kind)[key] = obj
            result.providers[(kind, key)] = plugin_name
            loaded.registered.setdefault(kind, []).append(key)


#: A registered format, generator or schema name: usable in ``--format NAME``,
#: ``--column x=NAME:KEY=VALUE`` and ``--schema NAME``.
_USABLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def _not_commands(added: Mapping[Any, Any]) -> str | None:
    """``'weird', which is a function, not a click command``: what click could not run."""
    import click  # only when commands are wanted: the command line has it loaded already

    for name, command in added.items():
        if not isinstance(command, click.Command):
            what = "a function" if callable(command) else _a(type(command).__name__)
            return f"{name!r}, which is {what}, not a click command"
        if not isinstance(name, str) or not _USABLE_NAME.match(name):
            return f"a command named {name!r}, which is not a name"
    return None


def _official(locale: str) -> bool:
    """Whether the official index bundled with phony has a pack for ``locale``.

    Every name of an official locale belongs to the official key: a plugin's
    pack for one would be a second source for the same names (the plugin's
    models used to win over the official ones, silently).
    """
    import phony_index
    from phony_registry import layout
    from phony_registry.names import normalize_locale

    return layout.to_local(phony_index.ROOT, layout.index_path(normalize_locale(locale))).is_file()


def _wrong_field(obj: Any) -> str | None:
    """``arguments is ['a'], not a mapping of str to str``: a field phony would trip over later."""
    if not isinstance(obj.description, str):
        return f"description is {obj.description!r}, not a str"
    for attr in ("build", "open"):
        if hasattr(obj, attr) and not callable(getattr(obj, attr)):
            return f"{attr} is {getattr(obj, attr)!r}, not a function"
    for attr in ("arguments", "options"):
        value = getattr(obj, attr, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return f"{attr} is {value!r}, not a mapping of str to str"
    return None


def _unusable(kind: str, registered: list[Any]) -> str | None:
    """Why something registered could never be used, or ``None``.

    A name no option can spell (``''``, ``iban:de``), a locale that is no
    locale, a schema or pack left out of the wheel (``schema 'x' from PATH,
    which is not a file``). Checked at load (a stat each) so that the plugin
    is named, rather than failing when the name is used, or never.
    """
    from phony_registry.names import is_locale

    for obj in registered:
        if isinstance(obj, LocaleSource):
            if not isinstance(obj.locale, str) or not is_locale(obj.locale):
                return f"locale {obj.locale!r}, which is not a locale such as de_DE"
            if _official(obj.locale):
                return (
                    f"locale {obj.locale!r}, which is an official locale (phony's bundled "
                    "index has it): its names are signed by phony's official key only, so "
                    "a plugin cannot ship them"
                )
        elif not isinstance(obj.name, str) or not _USABLE_NAME.match(obj.name):
            return f"{kind[:-1]} {obj.name!r}, which is not a name (letters, digits, '_', '-', '.')"
        wrong = _wrong_field(obj)
        if wrong:
            return f"{kind[:-1]} {_KINDS[kind][2](obj)!r} whose {wrong}"
        if isinstance(obj, OutputFormat) and not (
            isinstance(obj.extension, str) and _USABLE_NAME.match(obj.extension)
        ):
            # phony adds the dot: part-00000..tsv otherwise
            bare = str(obj.extension).lstrip(".") or "txt"
            return (
                f"format {obj.name!r} with the extension {obj.extension!r}, "
                f"which is not an extension without its dot ({bare})"
            )
        if isinstance(obj, SchemaSource) and not Path(obj.path).is_file():
            what, name, want = "schema", obj.name, "file"
        elif isinstance(obj, LocaleSource) and not Path(obj.path).is_dir():
            what, name, want = "locale", obj.locale, "folder"
        else:
            continue
        return (
            f"{what} {name!r} from {obj.path}, which is not a {want} "
            "(is it in the distribution's package data?)"
        )
    return None


@cache
def _process_plugins() -> Plugins:
    plugins = load_plugins(commands=False)
    report_failures(plugins)
    return plugins


#: Plugin sets put in place by :func:`using` (innermost last).
_using: list[Plugins] = []


def get_plugins() -> Plugins:
    """The process-wide plugin set, loaded on first use; failures are logged as warnings.

    Inside :func:`using`, the plugin set given there. ``get_plugins.cache_clear()``
    forgets the loaded set (tests that change ``PHONY_LOAD_PLUGINS``).
    """
    return _using[-1] if _using else _process_plugins()


get_plugins.cache_clear = _process_plugins.cache_clear  # type: ignore[attr-defined]


@contextlib.contextmanager
def using(plugins: Plugins) -> Iterator[Plugins]:
    """Make ``plugins`` the process-wide set inside the block (the testing kit uses it)."""
    _using.append(plugins)
    try:
        yield plugins
    finally:
        _using.remove(plugins)


def report_failures(plugins: Plugins) -> None:
    """Log a warning per plugin that failed to load, and per conflicting name.

    With ``PHONY_DEBUG=1`` each failure's traceback follows its line. A name of
    ``PHONY_LOAD_PLUGINS`` that no installed plugin has is a warning too. The
    warnings go to :data:`logger`; the command line shows them on stderr.
    """
    debug = os.environ.get("PHONY_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
    for name, close in sorted(plugins.unknown.items()):  # a typo in PHONY_LOAD_PLUGINS
        hint = f" (did you mean {close!r}?)" if close else ""
        logger.warning(
            "PHONY_LOAD_PLUGINS names %r, which is not an installed plugin%s", name, hint
        )
    for name, reason in sorted(plugins.failures.items()):
        trace = plugins.tracebacks.get(name, "") if debug else ""
        message = f"plugin {plugins.label(name)} failed to load: {reason}"
        logger.warning("%s", f"{message}\n{trace.rstrip()}" if trace else message)
    for name, took in sorted(plugins.slow.items()):
        logger.warning(
            "plugin %s took %.1f s to import, on every phony command: "
            "import heavy modules inside the functions that use them",
            plugins.label(name),
            took,
        )
    for name, text in sorted(plugins.printed.items()):
        logger.warning("%s", _printed_message(plugins.label(name), text))
    for (kind, key), owners in sorted(plugins.conflicts.items()):
        both = " and ".join(repr(o) for o in owners)
        logger.warning("%s %r is registered by both %s", kind[:-1], key, both)
