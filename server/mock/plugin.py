"""The plugin that adds ``phony mock`` to the command line, from the server package.

Declared as an entry point of phony's own distribution, so it always loads
(like the built-ins); the client never imports the server to offer it.
Registering imports only click and the command module; uvicorn is imported
when a mock starts, and its absence (no ``[server]`` extra) is one line.
"""

from __future__ import annotations

from typing import Any

from phony_registry.hookspecs import hookimpl

__all__ = ["phony_register_commands", "phony_register_generators"]


@hookimpl
def phony_register_commands(cli: Any) -> None:
    """Add the ``mock`` command group (start, export, deploy)."""
    from phony_server.mock.cli import mock

    cli.add_command(mock)


@hookimpl
def phony_register_generators(register: Any) -> None:
    """Add the ``pattern`` column type (strings matching a regex), which ``--openapi`` uses."""
    from phony_server.mock.pattern import PATTERN_GENERATOR

    register(PATTERN_GENERATOR)
