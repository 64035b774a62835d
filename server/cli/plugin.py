"""The plugin that adds ``phony registry`` to the command line, from the server package.

Declared as an entry point of phony's own distribution (``registry``), so it
always loads, like the built-ins. Registering imports click and the command
module only; FastAPI, uvicorn and boto3 are imported when a command runs,
and their absence (no ``[server]`` extra) is one line naming the extra.
"""

from __future__ import annotations

from phony_registry.hookspecs import CommandTable, hookimpl

__all__ = ["phony_register_commands"]


@hookimpl
def phony_register_commands(cli: CommandTable) -> None:
    """Add the ``registry`` command group (serve, token, migrate-storage, import)."""
    from phony_server.cli.registry import registry  # click: not on every start-up

    cli.add_command(registry)
