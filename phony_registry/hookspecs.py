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

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from phony_registry.generators import GeneratorFactory
    from phony_registry.outputs import OutputFormat
    from phony_registry.plugins import LocaleSource, SchemaSource

__all__ = [
    "hookimpl",
    "hookspec",
    "phony_register_commands",
    "phony_register_formats",
    "phony_register_generators",
    "phony_register_locales",
    "phony_register_schemas",
    "phony_resolve_model",
]

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
def phony_register_commands(cli: Any) -> None:
    """Add subcommands to the ``phony`` command line.

    ``cli`` is the root click group: call ``cli.add_command(command)``. Import
    click and anything heavy inside the hook or the command, never at module
    import time, so ``phony --help`` stays fast.
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
