"""Parameters several commands share: the seed, and the output format with its inference.

The ``--format`` help lists every registered format, plugins' included; it
is filled in when the help is shown, so importing a command module (which
``phony --help`` does) never loads the plugins.
"""

from __future__ import annotations

import sys
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import click

from phony_registry.errors import UsageError

__all__ = ["FormatOption", "ParamBase", "SEED", "SEED_MAX", "choose_format"]  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks

if TYPE_CHECKING:
    ParamBase = click.ParamType[Any]  # generic in click >= 8.2
else:
    ParamBase = click.ParamType

#: Seeds are 128-bit: the largest one.
SEED_MAX = 2**128 - 1


class _Seed(ParamBase):
    """An integer seed from 0 to 2**128 - 1 (its range said in words, so help stays narrow)."""

    name = "seed"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "SEED"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip().replace("_", ""), 10)
            except ValueError:
                self.fail(f"{value!r} is not a whole number", param, ctx)
        if not 0 <= number <= SEED_MAX:
            self.fail(f"{value} is not from 0 to 2**128-1", param, ctx)
        return number


SEED = _Seed()


class FormatOption(click.Option):
    """``--format``, whose help names every registered format when it is shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        try:
            from phony_registry.plugins import get_plugins

            names = ", ".join(sorted(get_plugins().formats))
        except Exception:  # a broken plugin must not break --help; phony plugins reports it
            return record
        return record[0], record[1].replace("{formats}", names)


def choose_format(format_name: str | None, output: str | None) -> str:
    """The format to write: ``--format``, else the one whose extension ``output`` has, else txt.

    Refuses a binary format (sqlite) bound for a terminal.
    """
    from phony_registry.plugins import get_plugins

    plugins = get_plugins()
    if format_name is None:
        format_name = "txt"
        suffix = PurePath(output).suffix.lower().lstrip(".") if output and output != "-" else ""
        if suffix:
            for name, fmt in sorted(plugins.formats.items()):
                if fmt.extension.lower().lstrip(".") == suffix:
                    format_name = name
                    break
    fmt = plugins.format(format_name)  # an unknown format fails before any output
    to_stdout = output is None or output == "-"
    if fmt.binary and to_stdout and sys.stdout.isatty():
        raise UsageError(
            f"{fmt.name} output is binary and stdout is a terminal: "
            f"write it to a file with -o FILE.{fmt.extension}, or redirect stdout"
        )
    return format_name
