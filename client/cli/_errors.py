"""How the command line reports a failure: one ``error:`` line on stderr and an exit code.

Every failure ends the same way, whoever raised it: phony's own errors
(:class:`~phony_registry.errors.PhonyError`), click's usage errors (an
unknown option or command, a bad value), a missing optional dependency, an
operating-system error, or a bug. The exit codes come from
:func:`phony_registry.errors.exit_codes`, the one published table.

``PHONY_DEBUG=1`` or ``phony --traceback ...`` adds the Python traceback, on
purpose; without them a traceback shown to a user is a bug.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from phony_registry.errors import exit_codes

__all__ = [
    "debug",
    "exit_code_epilog",
    "fail",
    "report_click_error",
    "report_missing_module",
    "report_unexpected",
    "set_debug",
    "suggest",
]

_state = {"debug": False}


def set_debug(enabled: bool) -> None:
    """Show tracebacks for this run (``phony --traceback``)."""
    _state["debug"] = enabled


def debug() -> bool:
    """True when tracebacks were asked for (``--traceback`` or ``PHONY_DEBUG``)."""
    value = os.environ.get("PHONY_DEBUG", "").strip().lower()
    return _state["debug"] or value not in ("", "0", "false", "no")


def fail(message: str, code: int) -> int:
    """Print ``error: message`` (one line, with the traceback in debug mode) and return ``code``."""
    if debug() and sys.exc_info()[1] is not None:
        traceback.print_exc()
    click.echo(f"error: {_one_line(message)}", err=True)
    return code


def suggest(word: str, choices: list[str]) -> str | None:
    """The choice closest to a mistyped ``word``, if one is close enough."""
    import difflib

    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def report_click_error(exc: click.ClickException) -> int:
    """A click error as phony's one line: the problem, then a suggestion."""
    if not isinstance(exc, click.UsageError):
        return fail(exc.format_message(), exc.exit_code)
    ctx = exc.ctx
    where = ctx.command_path if ctx is not None else "phony"
    hint = f"see '{where} --help'"
    message = exc.format_message()
    if isinstance(exc, click.NoSuchOption):
        message = f"no such option: {exc.option_name}"
        if exc.possibilities:
            # click found them with difflib, closest first.
            hint = f"did you mean {' or '.join(list(exc.possibilities)[:2])}?"
    elif (
        ctx is not None
        and isinstance(ctx.command, click.Group)
        and message.startswith("No such command")
    ):
        word = message.split("'")[1] if message.count("'") >= 2 else ""
        message = f"no such command: {where} {word}".rstrip()
        close = suggest(word, ctx.command.list_commands(ctx))
        if close:
            hint = f"did you mean '{where} {close}'?"
    return fail(f"{_lower_first(message.rstrip('.'))} ({hint})", 2)


def report_missing_module(exc: ModuleNotFoundError, words: list[str]) -> int | None:
    """A missing optional dependency as one line naming the extra to install.

    Returns None when the missing module is phony's own (a broken install,
    reported as an unexpected error instead).
    """
    module = (exc.name or "").split(".")[0]
    if not module or module.startswith("phony"):
        return None
    extra = _extra_providing(module)
    needs = f"phony {' '.join(words)}" if words else "this command"
    install = f"pip install 'phony[{extra}]'" if extra else f"pip install {module}"
    return fail(f"{needs} needs {module}, which is not installed: {install}", 1)


def report_unexpected(exc: BaseException) -> int:
    """An exception nobody meant to raise: one line, and how to see the traceback."""
    if debug():
        return fail(f"{type(exc).__name__}: {exc}", 1)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return fail(
        f"internal error ({detail}); this is a bug in phony: run again with "
        "PHONY_DEBUG=1 for the traceback and report it",
        1,
    )


def exit_code_epilog() -> str:
    """The exit-code table for the end of ``phony --help``."""
    rows = [f"  {code:>3}  {meaning}" for code, meaning in exit_codes()]
    # \b keeps click from re-flowing the table into one paragraph.
    return "\b\nExit codes (stable; see docs/cli.md):\n" + "\n".join(rows)


def _extra_providing(module: str) -> str | None:
    """The extra of the phony distribution that installs ``module``, if one does."""
    from importlib import metadata

    try:
        requirements = metadata.requires("phony") or []
    except metadata.PackageNotFoundError:
        return None
    from packaging.requirements import InvalidRequirement, Requirement

    wanted = _normalize(module)
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = str(requirement.marker or "")
        if "extra ==" not in marker or _normalize(requirement.name) != wanted:
            continue
        extra = marker.split("extra ==", 1)[1].strip().strip("'\"")
        if extra != "dev":
            return extra
    return None


def _normalize(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in message.splitlines() if part.strip())
