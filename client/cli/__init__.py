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

from phony_client.cli import _errors, _log
from phony_registry.errors import (
    EXIT_INTERRUPTED,
    EXIT_OUT_OF_MEMORY,
    EXIT_TERMINATED,
    PhonyError,
)
from phony_registry.plugins import get_plugins

__all__ = ["cli", "main"]

_log.show_warnings()

# command name -> "module:attribute"; modules are imported on first use.
COMMANDS: dict[str, str] = {
    "train": "phony_client.cli.modelfile:train",
    "info": "phony_client.cli.modelfile:info",
    "validate": "phony_client.cli.modelfile:validate",
    "stats": "phony_client.cli.modelfile:stats",
    "generate": "phony_client.cli.generate:generate",
    "migrate": "phony_client.cli.modelfile:migrate",
    "cat": "phony_client.cli.modelfile:cat",
    "models": "phony_client.cli.models:models",
    "keys": "phony_client.cli.keys:keys",
    "cache": "phony_client.cli.cache:cache",
    "install": "phony_client.cli.install:install",
    "locale": "phony_client.cli.locale:locale",
    "login": "phony_client.cli.login:login",
    "logout": "phony_client.cli.login:logout",
    "plugins": "phony_client.cli.plugins:plugins",
    "formats": "phony_client.cli.plugins:formats",
    "generators": "phony_client.cli.plugins:generators",
    "sync": "phony_client.cli.sync:sync",
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
            return _full_short_help(self.commands[cmd_name])
        target = self.lazy.get(cmd_name)
        if target is not None and self._importable(cmd_name):
            module_name, attr = target.split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            self.commands[cmd_name] = _full_short_help(command)
            return command
        self._load_plugin_commands()
        found = self.commands.get(cmd_name)
        return None if found is None else _full_short_help(found)

    def _importable(self, name: str) -> bool:
        module_name = self.lazy[name].split(":")[0]
        return importlib.util.find_spec(module_name) is not None

    def _load_plugin_commands(self) -> None:
        if self._plugin_commands_loaded:
            return
        self._plugin_commands_loaded = True
        # Plugins (phony's own server among them: `registry`, `mock`) add commands
        # through the phony_register_commands hook; none may take a built-in name.
        get_plugins().register_commands(self, reserved=self.lazy)


def _full_short_help(command: click.Command) -> click.Command:
    """Give ``command`` (and a group's subcommands) its whole first sentence as short help.

    click cuts a command's description to the width left in the list with
    ``...``; a first sentence written to be read whole is wrapped instead.
    """
    if command.short_help is None and command.help:
        paragraph = command.help.strip().split("\n\n")[0].replace("\b\n", "")
        text = " ".join(paragraph.split())
        end = text.find(". ")
        command.short_help = text[: end + 1] if end >= 0 else text
    if isinstance(command, click.Group) and not isinstance(command, LazyGroup):
        for sub in command.commands.values():
            _full_short_help(sub)
    return command


def _traceback_option(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    _errors.set_debug(value)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_errors.exit_code_epilog(),
)
@click.version_option(package_name="phony", prog_name="phony")
@click.option(
    "--traceback",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_traceback_option,
    help="On an error, show the Python traceback too (as PHONY_DEBUG=1 does).",
)
def cli() -> None:
    """phony: train, publish, pull and generate from .phony models.

    Run 'phony COMMAND --help' for a command's options; the CLI reference
    and the exit codes are in docs/cli.md.
    """


def _fail(message: str, code: int) -> int:
    return _errors.fail(message, code)


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
    _errors.set_debug(False)
    unwinding = _Unwinding()
    unwinding.install()
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    finally:
        unwinding.uninstall()


def _run(args: list[str]) -> int:
    """Run one command line; every error becomes one line and an exit code."""
    try:
        code = _invoke(args)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except _NO_ARGS_IS_HELP as exc:
        # A bare group (`phony`, `phony models`) shows its help, as gh and cargo do.
        click.echo(
            exc.ctx.get_help()
            if exc.ctx is not None
            else cli.get_help(cli.make_context("phony", [], resilient_parsing=True))
        )
        code = 0
    except click.ClickException as exc:
        code = _errors.report_click_error(exc)
    except PhonyError as exc:
        code = _fail(str(exc), exc.exit_code)
    except (KeyboardInterrupt, EOFError, click.Abort):
        # The blank line ends the terminal's ^C echo.
        click.echo("", err=True)
        code = _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        code = _reader_went_away()
    except MemoryError:
        code = _fail("out of memory", EXIT_OUT_OF_MEMORY)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            code = _reader_went_away()
        else:
            where = f": {exc.filename}" if exc.filename else ""
            code = _fail(f"{exc.strerror or exc}{where}", 1)
    except ModuleNotFoundError as exc:
        missing = _errors.report_missing_module(exc, _command_words(args))
        code = _errors.report_unexpected(exc) if missing is None else missing
    except Exception as exc:  # the last line of defence: no traceback for users
        code = _errors.report_unexpected(exc)
    return code


class _Unwinding:
    """SIGINT and SIGTERM unwind the command, so ``finally`` blocks remove temporary files.

    Python's default for SIGTERM ends the process on the spot, leaving the
    temporary file of an output being written (``-o FILE``) behind. And an
    exception raised by a signal handler can land where Python only prints
    "Exception ignored" and goes on (a generator or file being finalised),
    so a single Ctrl-C could be lost while ``generate`` runs for hours: until
    the command has unwound, the signal is raised again every half second,
    and after five seconds the process ends outright. A signal inherited as
    ignored (a background job's SIGINT) stays ignored.
    """

    RETRY = 0.5
    GIVE_UP = 10

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.timer: Any = None
        self.tries = 0
        self.parent = os.getpid()

    def install(self) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread (embedded use)
        for signum, default in (
            (signal.SIGINT, signal.default_int_handler),
            (signal.SIGTERM, signal.SIG_DFL),
        ):
            if signal.getsignal(signum) is default:
                self.previous[signum] = signal.signal(signum, self._handle)

    def uninstall(self) -> None:
        import signal

        if self.timer is not None:
            self.timer.cancel()
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous.clear()

    def _handle(self, signum: int, frame: object) -> None:
        import signal
        import threading

        code = EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_TERMINATED
        if os.getpid() != self.parent:
            # A forked worker (generate --jobs): die at once, as SIGTERM's default
            # does; unwinding there could leave its pool's queue locked.
            os._exit(code)
        self.tries += 1
        if self.tries > self.GIVE_UP:
            os._exit(code)
        self.timer = threading.Timer(self.RETRY, os.kill, args=(self.parent, signum))
        self.timer.daemon = True
        self.timer.start()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(code)


def _command_words(argv: list[str]) -> list[str]:
    """The subcommand words at the start of ``argv`` (``registry serve``)."""
    words: list[str] = []
    command: click.Command = cli
    ctx = click.Context(cli, info_name="phony", resilient_parsing=True)
    for arg in argv:
        if arg.startswith("-"):
            continue
        if not isinstance(command, click.Group):
            break
        try:
            found = command.get_command(ctx, arg)
        except Exception:  # only naming the command in a message
            found = None
        if found is None:
            break
        words.append(arg)
        command = found
    return words


# click >= 8.2 raises this for a bare group; 8.1 printed the help and exited 0 itself.
_NO_ARGS_IS_HELP: type[click.UsageError] = getattr(
    click.exceptions, "NoArgsIsHelpError", type("_NeverRaised", (click.UsageError,), {})
)
