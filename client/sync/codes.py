"""Text with a shape to keep: fixed-length codes (``07``, ``E0042``) and ISO dates.

A model of characters learns neither: it wrote two-digit codes as one digit
and dates as fragments (``20-01-1``). A code column keeps its length and the
character class of each position; a column of ISO dates is fitted as dates
(:func:`phony_client.sync.fitting.histogram`) and written as ISO text. Codes
fewer than :data:`~phony_client.sync.fitting.CATEGORY_MIN_ROWS` rows hold are
kept out by :mod:`.guard`, as a histogram's rare values are.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from phony_client.sync.fitting import CATEGORY_MIN_ROWS
from phony_client.sync.guard import avoid_spec
from phony_client.sync.plan import ColumnPlan

__all__ = ["CODE_MAX_LENGTH", "code_pattern", "is_iso_dates"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_iso_dates(present: list[Any]) -> bool:
    """Whether every value is an ISO date (``2024-03-01``): text held as a date."""
    if not present:
        return False
    for value in present:
        text = str(value)
        if not _ISO_DATE.fullmatch(text):
            return False
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            return False
    return True


#: Characters of a code pattern's positions, by class.
_CLASSES = ("0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: Longest code a pattern fits.
CODE_MAX_LENGTH = 32


def code_pattern(
    column: str,
    values: list[str],
    *,
    unique_rows: int | None = None,
    rare_codes: Callable[[], Iterable[str]] | None = None,
) -> tuple[list[ColumnPlan], dict[str, Any], str] | None:
    """Fixed-length codes (``07``, ``E0042``): the same length and character classes.

    Every value has the same length and holds a digit; each position holds
    the same character in every row (kept) or characters of one class
    (digits, capitals, small letters): drawn uniformly between the smallest
    and the largest seen there. Codes fewer than CATEGORY_MIN_ROWS rows hold
    go into ``avoid`` (:mod:`.guard`). None when the values make no such
    pattern, or when it would leave no code free of them.

    ``unique_rows`` is the row count of a UNIQUE column, whose every code is
    one row's: a varying position then draws from its whole class (``E0001``
    to ``E0300``: ``E0000`` to ``E0999``), and the codes left free must be at
    least as many as the rows (None otherwise). The sync makes repeats
    unique with the next free code (:mod:`.engine`).

    ``values`` are a sample; ``rare_codes``, when the table has rows past it,
    gives the values fewer than CATEGORY_MIN_ROWS rows of the whole column
    hold: those the pattern can draw are kept out, whether the sample saw
    them or not.
    """
    lengths = {len(v) for v in values}
    if len(lengths) != 1 or not 0 < next(iter(lengths)) <= CODE_MAX_LENGTH:
        return None
    if not all(any(c.isdigit() for c in v) for v in values) or len(set(values)) < 2:
        return None
    counts = Counter(values)
    alphabets: list[str] = []
    for seen in map(set, zip(*counts, strict=True)):
        if len(seen) == 1:
            (char,) = seen
            if char in "{}":
                return None
            alphabets.append(char)
            continue
        kind = next((k for k in _CLASSES if seen <= set(k)), None)
        if kind is None:
            return None
        if unique_rows is not None:
            alphabets.append(kind)
        else:
            alphabets.append(kind[kind.index(min(seen)) : kind.index(max(seen)) + 1])
    rare = [v for v, n in counts.items() if n < CATEGORY_MIN_ROWS]
    if rare_codes is not None:
        rare = [
            code
            for code in rare_codes()
            if len(code) == len(alphabets)
            and all(c in alphabet for c, alphabet in zip(code, alphabets, strict=True))
        ]
    space = 1
    for alphabet in alphabets:
        space *= len(alphabet)
    if space - len(rare) < max(unique_rows or 1, 1):
        return None
    helpers: list[ColumnPlan] = []
    parts: list[str] = []
    for i, alphabet in enumerate(alphabets):
        if len(alphabet) == 1:
            parts.append(alphabet)
            continue
        helper = f"{column}__{i + 1}"
        spec = {"type": "choice", "values": list(alphabet), "hidden": True}
        helpers.append(ColumnPlan(helper, spec, why=f"character {i + 1} of the codes"))
        parts.append(f"{{{helper}}}")
    generate: dict[str, Any] = {
        "type": "template",
        "template": "".join(parts),
        "characters": alphabets,
    }
    avoid = avoid_spec(rare)
    if avoid:
        generate["avoid"] = avoid
    why = (
        f"codes of {len(alphabets)} characters: the same length and character classes, "
        f"codes fewer than {CATEGORY_MIN_ROWS} rows hold never written "
        "(a draw on one moves to the next code)"
    )
    if unique_rows is not None:
        why += f"; unique: {space - len(rare)} codes free of the source's, a repeat takes the next"
    return helpers, generate, why
