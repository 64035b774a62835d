"""Schemas given on the command line: ``--schema -`` (TOML on stdin) and ``--column``.

``--column NAME=TYPE[:KEY=VALUE...]`` adds one column to the schema (or makes
a schema of its own), the way a ``[columns.NAME]`` table would::

    phony generate --column iban=acme_iban:bank_code=37040044 --count 3
    phony generate --column age=integer:min=18:max=99 --column name=ngram:model=tr_TR/first_names

A VALUE is read as a TOML value when it is one (``18``, ``true``,
``["a", "b"]``, ``"037"`` quoted to stay text), and as text otherwise.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Sequence
from typing import Any

from phony_registry._fs import loads_toml, toml_text
from phony_registry.errors import UsageError, ValidationError

__all__ = ["parse_column", "read_stdin_schema", "with_columns"]

#: ``:`` starts a new argument only before ``KEY=``: a value may hold colons (times, URLs).
_ARGUMENT = re.compile(r":(?=[A-Za-z_][A-Za-z0-9_]*=)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: A ``:KEY`` after the type with no ``=``: an argument whose value was left out.
_STRAY = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)(?=:|\Z)")


def _value(text: str) -> Any:
    try:
        return loads_toml(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_column(option: str) -> tuple[str, dict[str, Any]]:
    """``iban=acme_iban:bank_code=37040044`` -> ``("iban", {"type": "acme_iban", ...})``."""
    name, sep, rest = option.partition("=")
    if not sep or not _NAME.match(name.strip()):
        raise UsageError(
            f"--column {option!r}: expected NAME=TYPE[:KEY=VALUE...], "
            "e.g. age=integer:min=18:max=99"
        )
    kind, *arguments = _ARGUMENT.split(rest)
    if not kind.strip():
        raise UsageError(
            f"--column {option!r}: the column needs a TYPE (phony generators lists them)"
        )
    # ``integer:min`` is the type and an argument missing its ``=VALUE``, not a type
    # named "integer:min": say which argument it is.
    stray = _STRAY.search(kind)
    if stray:
        raise UsageError(
            f"--column {option!r}: {stray.group(1)} has no value: write {stray.group(1)}=VALUE"
        )
    table: dict[str, Any] = {"type": kind.strip()}
    for argument in arguments:
        key, _, value = argument.partition("=")
        if key in table:
            raise UsageError(f"--column {option!r}: {key} is given twice")
        table[key] = _value(value)
    return name.strip(), table


def read_stdin_schema() -> dict[str, Any]:
    """The TOML schema on standard input (``--schema -``)."""
    data = sys.stdin.buffer.read(16 << 20)
    try:
        return loads_toml(toml_text(data))
    except UnicodeDecodeError:
        raise ValidationError("<stdin>: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"<stdin>: not valid TOML: {exc}") from None


def with_columns(data: dict[str, Any], options: Sequence[str]) -> dict[str, Any]:
    """``data`` (a schema document) with the ``--column`` options added (or replacing)."""
    if not options:
        return data
    columns = dict(data.get("columns") or {})
    given: set[str] = set()
    for option in options:
        name, table = parse_column(option)
        if name in given:  # one of the two would be dropped without a word
            raise UsageError(f"--column {name} is given twice")
        given.add(name)
        columns[name] = table
    return {**data, "columns": columns}
