"""The ``phony`` command line.

Subcommands live in one module per command group and are imported only when
run (or when ``--help`` lists them), so ``phony --help`` stays fast. Every
:class:`~phony_registry.errors.PhonyError` becomes one line on stderr and the
error's exit code; a traceback shown to a user is a bug.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from phony_registry.errors import PhonyError

__all__ = ["cli", "main"]

# command name -> "module:attribute"; modules are imported on first use.
COMMANDS: dict[str, str] = {
    "train": "phony_client.cli.modelfile:train",
    "info": "phony_client.cli.modelfile:info",
    "validate": "phony_client.cli.modelfile:validate",
    "stats": "phony_client.cli.modelfile:stats",
    "generate": "phony_client.cli.generate:generate",
    "migrate": "phony_client.cli.modelfile:migrate",
    "models": "phony_client.cli.models:models",
    "keys": "phony_client.cli.keys:keys",
    "cache": "phony_client.cli.cache:cache",
    "install": "phony_client.cli.install:install",
    "login": "phony_client.cli.login:login",
    "registry": "phony_client.cli.registry:registry",
    "plugins": "phony_client.cli.plugins:plugins",
    "formats": "phony_client.cli.plugins:formats",
    "generators": "phony_client.cli.plugins:generators",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on demand."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy
        self._plugin_commands_loaded = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = [name for name in self.lazy if self._importable(name)]
        self._load_plugin_commands()
        return sorted(set(available) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = self.lazy.get(cmd_name)
        if target is not None and self._importable(cmd_name):
            module_name, attr = target.split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            self.commands[cmd_name] = command
            return command
        self._load_plugin_commands()
        return self.commands.get(cmd_name)

    def _importable(self, name: str) -> bool:
        module_name = self.lazy[name].split(":")[0]
        return importlib.util.find_spec(module_name) is not None

    def _load_plugin_commands(self) -> None:
        if self._plugin_commands_loaded:
            return
        self._plugin_commands_loaded = True
        from phony_registry.plugins import get_plugins

        get_plugins().register_commands(self)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="phony", prog_name="phony")
def cli() -> None:
    """phony: train, publish, pull and generate from .phony models."""


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def _reader_went_away() -> int:
    """The reader of stdout closed it (`phony generate ... | head`): not an error.

    Point stdout at /dev/null so the interpreter's final flush stays quiet.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (embedded use, tests)
        pass
    return 0


def _invoke(argv: list[str]) -> int:
    # Rather than cli.main(): click's main answers a broken stdout pipe with
    # exit status 1 before phony can see it, and hides ctx.exit codes.
    with cli.make_context("phony", argv) as ctx:
        result = cli.invoke(ctx)
    return result if isinstance(result, int) else 0


def _single_threaded_blas() -> None:
    """Keep NumPy's OpenBLAS from starting a thread per core when NumPy is imported.

    phony never multiplies matrices, yet OpenBLAS spawns and spins up its
    thread pool at import: about 30 ms of CPU on every command that loads a
    model (``python -X importtime``, benchmarks/startup.py). A user's own
    setting wins.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (the console script exits with it)."""
    _single_threaded_blas()
    try:
        code = _invoke(list(sys.argv[1:] if argv is None else argv))
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except PhonyError as exc:
        code = _fail(str(exc), exc.exit_code)
    except (KeyboardInterrupt, EOFError, click.Abort):
        # The blank line ends the terminal's ^C echo.
        click.echo("", err=True)
        code = _fail("interrupted", 130)
    except BrokenPipeError:
        code = _reader_went_away()
    except MemoryError:
        code = _fail("out of memory", 12)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            code = _reader_went_away()
        else:
            where = f": {exc.filename}" if exc.filename else ""
            code = _fail(f"{exc.strerror or exc}{where}", 1)
    return code
