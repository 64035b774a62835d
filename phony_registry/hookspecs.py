"""Hook specifications of the ``phony`` pluggy project.

Every hook receives a ``register`` callback and calls it once per thing it
provides (as llm does), rather than returning values, so one plugin can
register many things and phony can say which plugin registered what.
Built-in generators and formats are registered through these same hooks by
:mod:`phony_registry.builtins`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from phony_registry.outputs import OutputFormat
    from phony_registry.plugins import GeneratorFactory, LocaleSource

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("phony")
hookimpl = pluggy.HookimplMarker("phony")


@hookspec
def phony_register_generators(register: Callable[[GeneratorFactory], None]) -> None:
    """Register value generators usable as schema column types.

    Call ``register(factory)`` once per generator. ``factory.name`` is the
    column type a schema names (``ngram``, ``template``, ``phone``...), and
    ``factory.build(args, context)`` returns a column generator.
    """


@hookspec
def phony_register_formats(register: Callable[[OutputFormat], None]) -> None:
    """Register output formats for ``phony generate --format NAME``.

    Call ``register(OutputFormat(...))`` once per format; see
    :class:`phony_registry.outputs.OutputFormat` for the streaming writer
    contract.
    """


@hookspec
def phony_register_locales(register: Callable[[LocaleSource], None]) -> None:
    """Register locale packs shipped inside a Python distribution.

    Call ``register(LocaleSource(locale=..., path=...))`` where ``path`` is a
    folder laid out as a static registry holding the pack and its models.
    """


@hookspec
def phony_register_commands(cli: Any) -> None:
    """Add subcommands to the ``phony`` command line.

    ``cli`` is the root click group; call ``cli.add_command(command)``.
    Import click inside the hook, not at module import time.
    """
