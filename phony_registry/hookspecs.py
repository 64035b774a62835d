"""Hook specifications of the ``phony`` pluggy project.

A plugin is a module (or any object) with functions marked ``@hookimpl``,
published through the ``phony`` entry point group::

    [project.entry-points.phony]
    my-plugin = "my_plugin"

The ``phony_register_*`` hooks receive a ``register`` callback and call it once
per thing they provide (as llm does), rather than returning values, so one
plugin can register many things and phony can say which plugin registered
what. Hooks that need a single answer are ``firstresult``: the first plugin
that returns something other than ``None`` wins.

phony's own generators and formats are registered through these same hooks
by :mod:`phony_registry.builtins`. The guide for plugin authors is
``docs/plugins.md``; the argument names below are part of the compatibility
promise made there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from phony_registry.generators import GeneratorFactory
    from phony_registry.outputs import OutputFormat

__all__ = [
    "CommandTable",
    "LocaleSource",
    "SchemaSource",
    "hookimpl",
    "hookspec",
    "phony_list_models",
    "phony_register_commands",
    "phony_register_formats",
    "phony_register_generators",
    "phony_register_locales",
    "phony_register_schemas",
    "phony_resolve_model",
]


@dataclass(frozen=True)
class LocaleSource:
    """A locale pack shipped inside a Python distribution, as a static registry folder.

    ``path`` is the folder; ``locale`` the pack's name (``de_DE``).
    """

    locale: str
    path: Path
    description: str = ""


@dataclass(frozen=True)
class SchemaSource:
    """A ready schema: ``phony generate --schema NAME`` (``person``, ``address``...).

    ``path`` is its TOML file (the format of :mod:`phony_registry.schema`);
    ``locale`` is ``None`` for a schema for every locale, or the one locale
    it is written for (``de_DE``), where it takes the place of the generic
    schema of the same name.
    """

    name: str
    path: Path
    locale: str | None = None
    description: str = ""


class CommandTable:
    """Where ``phony_register_commands`` adds commands: ``cli.add_command(command)``.

    It stands for the root ``phony`` group with the one method a plugin
    needs, as a click group spells it. phony checks what was added (no
    plugin takes one of phony's own names or another plugin's) and puts the
    commands on the command line itself: plugins and the core never edit
    click's command table.
    """

    def __init__(self) -> None:
        #: ``(name, command)`` pairs in the order they were added.
        self.added: list[tuple[str, Any]] = []

    def add_command(self, cmd: Any, name: str | None = None) -> None:
        """Add a click command or group, under ``name`` or its own name."""
        self.added.append((name or cmd.name, cmd))


#: Marks the hook specifications below (project name ``phony``).
hookspec = pluggy.HookspecMarker("phony")
#: Marks a plugin's hook implementations: ``@hookimpl def phony_register_formats(register): ...``
hookimpl = pluggy.HookimplMarker("phony")


@hookspec
def phony_register_generators(register: Callable[[GeneratorFactory], None]) -> None:
    """Register value generators usable as schema column types.

    Call ``register(GeneratorFactory(name=..., description=..., build=...))``
    once per generator. ``name`` is the column ``type`` a schema names
    (``ngram``, ``template``, ``tr_id``...); ``build(args, context)`` checks
    the column's arguments and returns a
    :class:`~phony_registry.generators.ColumnGenerator`. See
    :mod:`phony_registry.generators`.
    """


@hookspec
def phony_register_formats(register: Callable[[OutputFormat], None]) -> None:
    """Register output formats for ``phony generate --format NAME``.

    Call ``register(OutputFormat(name=..., extension=..., description=..., open=...))``
    once per format. ``open(stream, column_names, options)`` returns a
    streaming :class:`~phony_registry.outputs.RowWriter` that receives
    column-major batches; see :mod:`phony_registry.outputs`.
    """


@hookspec
def phony_register_locales(register: Callable[[LocaleSource], None]) -> None:
    """Register locale packs shipped inside a Python distribution.

    Call ``register(LocaleSource(locale=..., path=..., description=...))``
    where ``path`` is a folder inside the distribution laid out as a static
    registry holding the pack and its models. phony then finds those models
    by name (``de_DE/first_names``) like models of any other registry source.
    """


@hookspec
def phony_register_schemas(register: Callable[[SchemaSource], None]) -> None:
    """Register ready schemas for ``phony generate --schema NAME``.

    Call ``register(SchemaSource(name=..., path=..., locale=..., description=...))``
    where ``path`` is a TOML schema file. A schema with ``locale=None`` serves
    every locale (phony's own ``person``, ``address``, ``company``); one with
    a ``locale`` (``de_DE``) takes the place of the generic schema of the same
    name for that locale. Its bare model names (``model = "first_names"``)
    are the locale's models.
    """


@hookspec
def phony_register_commands(cli: CommandTable) -> None:
    """Add subcommands to the ``phony`` command line.

    Call ``cli.add_command(command)`` with a click command or group
    (:class:`CommandTable`). Import click and anything heavy inside the hook
    or the command, never at module import time, so ``phony --help`` stays
    fast. phony's own server adds ``phony registry`` and ``phony mock`` so.
    """


@hookspec
def phony_list_models(locale: str) -> Iterable[str] | None:
    """Return the names of ``locale``'s models this plugin finds by name (``tr_TR/cities``...).

    The names :func:`phony_resolve_model` of the same plugin answers for
    without the network, ``locale`` (canonical: ``tr_TR``) and a model name,
    no version. Called by the Python facade, whose fields are the models of
    the locale (``Phony("tr_TR").city()``); every plugin's names count.
    phony's client names the official models of ``locale`` pulled into the
    local cache (``phony install``, ``phony models pull``); locale packs
    registered with :func:`phony_register_locales` need not be listed again.
    """


@hookspec(firstresult=True)
def phony_resolve_model(spec: str) -> Path | None:
    """Return the path of the ``.phony`` file a model name stands for, or ``None``.

    Called by ``phony generate NAME`` and by the ``ngram`` generator for a
    ``model`` that is not an existing file; ``spec`` is ``locale/name``,
    possibly with ``@version``. The first plugin returning a path wins;
    phony's own implementations run last: the built-in plugin looks in
    registered locale packs, then the client's plugin (``phony_client.plugin``)
    in the local cache (raising NotFound when neither has it).
    """
