"""The ``pattern`` column type: strings matching a regular expression.

``type = "pattern"`` with ``regex = "[A-Z]{2}-[0-9]{4}"`` gives values such
as ``QX-0412``. Row *i*'s value comes from (seed, column, *i*) alone, so the
column seeks (a served page makes only its own rows). The supported subset
is what OpenAPI ``pattern`` keywords use: literals, ``.``, classes
(``[a-z0-9_]``, ``[^...]``, ``\\d``, ``\\w``, ``\\s``), groups, ``|``,
repeats (``?``, ``*``, ``+``, ``{m,n}``; an open end is capped at
``m + 8``) and the anchors ``^`` and ``$``. Back-references, lookarounds and
conditionals are refused with a ValidationError naming the column.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from phony_registry.errors import ValidationError
from phony_registry.generators import (
    BuildContext,
    ColumnGenerator,
    ColumnStream,
    GeneratorFactory,
    argument,
)

__all__ = ["PATTERN_GENERATOR", "compile_pattern"]

#: Most repeats an open-ended ``*``, ``+`` or ``{m,}`` adds past its minimum.
OPEN_REPEAT = 8
#: Longest regular expression accepted.
MAX_REGEX = 1_000
_PRINTABLE = [chr(c) for c in range(0x20, 0x7F)]
_CATEGORIES = {
    "CATEGORY_DIGIT": [chr(c) for c in range(0x30, 0x3A)],
    "CATEGORY_WORD": [c for c in _PRINTABLE if c.isalnum() or c == "_"],
    "CATEGORY_SPACE": [" ", "\t", "\n"],
    "CATEGORY_NOT_DIGIT": [c for c in _PRINTABLE if not c.isdigit()],
    "CATEGORY_NOT_WORD": [c for c in _PRINTABLE if not (c.isalnum() or c == "_")],
    "CATEGORY_NOT_SPACE": [c for c in _PRINTABLE if c != " "],
}

#: A compiled pattern: appends one value's pieces to a list, drawing from a Random.
Emit = Callable[[random.Random, list[str]], None]


class _Unsupported(Exception):
    pass


def _parser() -> Any:
    """The stdlib's own regex parser (``re._parser``; typeshed does not describe it)."""
    import importlib

    return importlib.import_module("re._parser")


def compile_pattern(regex: str) -> Emit:
    """Compile ``regex`` into a generator of matching strings; ValueError if unsupported."""
    if len(regex) > MAX_REGEX:
        raise ValueError(f"longer than {MAX_REGEX} characters")
    try:
        parsed = _parser().parse(regex)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    try:
        return _sequence(list(parsed))
    except _Unsupported as exc:
        raise ValueError(str(exc)) from None


def _sequence(items: list[tuple[Any, Any]]) -> Emit:
    parts = [_node(op, arg) for op, arg in items]

    def emit(rnd: random.Random, out: list[str]) -> None:
        for part in parts:
            part(rnd, out)

    return emit


def _choices(chars: Sequence[str]) -> Emit:
    pool = list(dict.fromkeys(chars))
    if not pool:
        raise _Unsupported("a character class that matches nothing printable")

    def emit(rnd: random.Random, out: list[str]) -> None:
        out.append(pool[rnd.randrange(len(pool))])

    return emit


def _class(items: list[tuple[Any, Any]]) -> Emit:
    negate = False
    chars: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            chars.append(chr(arg))
        elif name == "RANGE":
            low, high = arg
            if high - low > 0x3000:
                raise _Unsupported("a character range wider than 12,288 characters")
            chars.extend(chr(c) for c in range(low, high + 1))
        elif name == "CATEGORY":
            chars.extend(_category(arg))
        else:
            raise _Unsupported(f"{name.lower()} inside [...]")
    if negate:
        excluded = set(chars)
        chars = [c for c in _PRINTABLE if c not in excluded]
    return _choices(chars)


def _category(arg: Any) -> list[str]:
    found = _CATEGORIES.get(str(arg))
    if found is None:
        raise _Unsupported(f"the class {str(arg).lower()}")
    return found


def _node(op: Any, arg: Any) -> Emit:
    name = str(op)
    if name == "LITERAL":
        char = chr(arg)
        return lambda rnd, out: out.append(char)
    if name == "NOT_LITERAL":
        return _choices([c for c in _PRINTABLE if c != chr(arg)])
    if name == "ANY":
        return _choices(_PRINTABLE)
    if name == "IN":
        return _class(list(arg))
    if name == "CATEGORY":
        return _choices(_category(arg))
    if name == "AT":
        return lambda rnd, out: None  # ^, $, \b: the value is the whole match anyway
    if name == "SUBPATTERN":
        return _sequence(list(arg[-1]))
    if name == "BRANCH":
        branches = [_sequence(list(b)) for b in arg[1]]
        return lambda rnd, out: branches[rnd.randrange(len(branches))](rnd, out)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, inner = arg
        if high == _parser().MAXREPEAT:
            high = low + OPEN_REPEAT
        body = _sequence(list(inner))

        def repeat(rnd: random.Random, out: list[str]) -> None:
            for _ in range(rnd.randint(low, high)):
                body(rnd, out)

        return repeat
    words = {
        "GROUPREF": "a back-reference",
        "GROUPREF_EXISTS": "a conditional group",
        "ASSERT": "a lookahead or lookbehind",
        "ASSERT_NOT": "a negative lookahead or lookbehind",
        "ATOMIC_GROUP": "an atomic group",
    }
    raise _Unsupported(f"{words.get(name, name.lower())} is not supported")


class _Pattern:
    """Row *i*: the regex walked with a Random seeded by (column seed, *i*)."""

    requires: Sequence[str] = ()

    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def seek(self, stream: ColumnStream, row: int) -> bool:
        return True  # a row depends on nothing before it (stream.offset says where)

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        out = []
        base = stream.seed << 64
        for row in range(stream.offset, stream.offset + n):
            pieces: list[str] = []
            self.emit(random.Random(base | row), pieces)  # noqa: S311 - fake data, not secrets
            out.append("".join(pieces))
        return out


def _build_pattern(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    regex = argument(args, ctx, "regex", str)
    try:
        return _Pattern(compile_pattern(regex))
    except ValueError as exc:
        raise ValidationError(f"pattern {regex[:80]!r}: {exc}", field=ctx.field("regex")) from None


PATTERN_GENERATOR = GeneratorFactory(
    "pattern",
    "strings matching a regular expression (literals, classes, groups, |, repeats)",
    _build_pattern,
    {"regex": "the regular expression, e.g. [A-Z]{2}-[0-9]{4}"},
)
