"""The privacy guard of fitted numbers, dates and codes: no value that fewer than
:data:`~phony_client.sync.fitting.CATEGORY_MIN_ROWS` source rows hold is written.

A histogram draws uniformly between its edges and a code pattern draws each
character of its class: either may hit a rare source value exactly (one
person's birth date, one salary). The plan keeps, in the column's
``generate.avoid``, salted 64-bit hashes of those values as the column
writes them (``123653``, ``1987-06-06``, ``42``), in the form of a text
model's ``exclude`` block (``salt``: 16 hex digits, ``hashes``: base64 of
sorted little-endian u64). A drawn value whose hash is listed *moves* to the
next value up that is not listed: the next unit at the column's decimals, the
next day, the next second, the next code of the same pattern (wrapping). As
with the text models, the hashes keep the values out of plain sight but do
not resist a guess: a plan must be kept as the source's models are.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from phony_registry.errors import GenerationError, ValidationError

__all__ = ["Guard", "avoid_spec", "code_after", "histogram_text"]

#: Most steps a listed value moves (as many as values are listed, plus one).
_MAX_STEPS = 10_000_000


def avoid_spec(values: Iterable[str]) -> dict[str, str] | None:
    """``{"salt", "hashes"}`` of ``values`` (texts as the column writes them); None if none."""
    import numpy as np

    from phony_registry.model import value_hashes
    from phony_registry.ngram import codepoint_matrix

    distinct = sorted(set(values))
    if not distinct:
        return None
    digest = hashlib.sha256("\x00".join(["phony sync avoid", *distinct]).encode()).digest()
    salt = int.from_bytes(digest[:8], "little")
    width = max(map(len, distinct))
    hashes = np.unique(value_hashes(codepoint_matrix(distinct, width), salt))
    return {
        "salt": f"{salt:016x}",
        "hashes": base64.b64encode(hashes.astype("<u8").tobytes()).decode("ascii"),
    }


def histogram_text(value: Any, decimals: int, type_name: str) -> str | None:
    """A source number or date as a ``histogram`` column writes it; None when it cannot
    write it at all (more decimals than the column's, a fraction of a second)."""
    from decimal import Decimal

    if type_name == "date":
        return (
            value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        ).isoformat()
    if type_name in ("timestamp", "timestamptz"):
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        if moment.microsecond:
            return None
        return moment.replace(tzinfo=None).isoformat(sep=" ")
    number = Decimal(str(value))
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        return None
    return _number_text(int(scaled), decimals)


def _number_text(scaled: int, decimals: int) -> str:
    if not decimals:
        return str(scaled)
    whole, frac = divmod(abs(scaled), 10**decimals)
    return f"{'-' if scaled < 0 else ''}{whole}.{frac:0{decimals}d}"


class Guard:
    """The ``avoid`` of one column: which drawn values are listed, and where they move."""

    def __init__(self, spec: Any, generate: Mapping[str, Any], where: str) -> None:
        import numpy as np

        from phony_registry.model import Exclusion

        if not isinstance(spec, Mapping) or set(spec) != {"salt", "hashes"}:
            raise ValidationError("expected { salt = ..., hashes = ... }", field=where)
        try:
            salt = int(str(spec["salt"]), 16)
            raw = base64.b64decode(str(spec["hashes"]), validate=True)
            hashes = np.sort(np.frombuffer(raw, dtype="<u8").astype(np.uint64))
        except ValueError as exc:
            raise ValidationError("expected 16 hex digits and base64 hashes", field=where) from exc
        self.exclusion = Exclusion(salt=salt, hashes=hashes)
        self._next = _stepper(generate, where)
        # Past this many steps every value has been tried (a code) or none will do.
        self._steps = min(int(hashes.size) + 1, _MAX_STEPS)

    def listed(self, value: str) -> bool:
        """Whether ``value`` is one the guard keeps out of the column."""
        return bool(self.contains([value])[0])

    def contains(self, values: list[str]) -> Any:
        """For each of ``values``, whether it is listed (a numpy array of booleans)."""
        from phony_registry.model import value_hashes
        from phony_registry.ngram import codepoint_matrix

        width = max(map(len, values), default=1) or 1
        return self.exclusion.contains(
            value_hashes(codepoint_matrix(values, width), self.exclusion.salt)
        )

    def apply(self, values: list[str] | list[str | None]) -> None:
        """Move each listed value of ``values`` (in place) to the next value not listed."""
        import numpy as np

        texts = [v or "" for v in values]
        pending = [i for i in np.flatnonzero(self.contains(texts)).tolist() if values[i]]
        steps = 0
        # All the listed values step together: one hash lookup per step, not per value.
        while pending:
            if steps == self._steps:
                raise GenerationError(
                    f"{values[pending[0]]!r}: no value after it is free of source values"
                )
            steps += 1
            moved = [self._next(str(values[i])) for i in pending]
            for i, value in zip(pending, moved, strict=True):
                values[i] = value
            still = self.contains(moved)
            pending = [i for i, listed in zip(pending, still.tolist(), strict=True) if listed]


def code_after(value: str, alphabets: Sequence[str], steps: int = 1) -> str:
    """The code ``steps`` after ``value``: an odometer over the characters each position
    of a code pattern allows (``alphabets``), wrapping after the last code."""
    chars = list(value)
    carry = steps
    for i in range(len(chars) - 1, -1, -1):
        if not carry:
            break
        alphabet = alphabets[i] if i < len(alphabets) else chars[i]
        carry, at = divmod(alphabet.find(chars[i]) + carry, len(alphabet))
        chars[i] = alphabet[at]
    return "".join(chars)


def _stepper(generate: Mapping[str, Any], where: str) -> Callable[[str], str]:
    """The next value after a drawn one, as the column writes it."""
    kind = generate.get("type")
    if kind == "histogram":
        decimals = int(generate.get("decimals", 0))

        def step(value: str) -> str:
            if len(value) == 10 and value[4:5] == "-":
                return (dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat()
            if len(value) > 10 and value[4:5] == "-":
                moment = dt.datetime.fromisoformat(value) + dt.timedelta(seconds=1)
                return moment.isoformat(sep=" ")
            if not decimals:
                return str(int(value) + 1)
            from decimal import Decimal

            return _number_text(int(Decimal(value).scaleb(decimals)) + 1, decimals)

        return step
    classes = generate.get("characters")
    if kind == "template" and isinstance(classes, list):
        alphabets = [str(c) for c in classes]

        return lambda value: code_after(value, alphabets)
    raise ValidationError("avoid works on a histogram or a code pattern", field=where)
