"""Column generators: what a schema column's ``type`` names.

A generator type is a :class:`GeneratorFactory` registered through the
``phony_register_generators`` hook. Its ``build(args, context)`` checks the
column's arguments (raising :class:`~phony_registry.errors.ValidationError`
with the field path) and returns a :class:`ColumnGenerator`, whose
``generate(n, stream, inputs)`` makes the next ``n`` values of the column.

Determinism: every column draws from its own :class:`ColumnStream`, a PCG64
bit generator seeded from ``sha256(seed, column name)``, so adding a column
never changes the others. Generators use the stream's raw 64-bit output with
integer arithmetic (not ``numpy.random.Generator`` methods, whose algorithms
may change between numpy versions) and draw a fixed number of raw values per
row, so a table does not depend on its batch size either.

This module is the API a generator plugin builds on; phony's own column
types (sequence, integer, number, choice, date, template, email, ngram) live
in :mod:`phony_registry.columns`. numpy is imported inside the functions that
need it: this module is imported whenever plugins load, including for
``phony --help``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from phony_registry.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# numpy, hashlib and unicodedata are imported where used: this module loads
# with every plugin set, so on each `phony --help`, where imports add up.

__all__ = [
    "BuildContext",
    "ColumnGenerator",
    "ColumnStream",
    "GeneratorFactory",
    "SeekableGenerator",
    "argument",
    "ascii_fold",
    "column_reference",
    "column_seed",
    "iso_moment",
]


@dataclass(frozen=True)
class BuildContext:
    """What a generator's ``build`` knows about the column it builds."""

    column: str
    columns: tuple[str, ...]
    base_dir: Path | None = None
    locale: str | None = None

    def field(self, argument: str | None = None) -> str:
        """The dotted path of the column (or one of its arguments) for error messages."""
        path = f"columns.{self.column}"
        return f"{path}.{argument}" if argument else path


class ColumnGenerator(Protocol):
    """Makes the values of one column, batch after batch."""

    #: Names of the other columns this one reads (templates, emails); their
    #: values of the same rows arrive in ``inputs``.
    requires: Sequence[str]

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        """Return the next ``n`` values, drawing randomness only from ``stream``."""


class SeekableGenerator(ColumnGenerator, Protocol):
    """A generator that can start at any row without making the rows before it.

    ``seek(stream, row)`` positions a fresh ``stream`` so that the next
    ``generate`` call starts at ``row``, and returns True; it returns False
    when the column's values depend on every earlier row (``unique = true``).
    The schema engine uses it for random access (row *i* of a table without
    rows 0..i-1) and otherwise generates from the first row and skips.
    """

    def seek(self, stream: ColumnStream, row: int) -> bool:
        """Position ``stream`` at ``row``; False if this column cannot start mid-table."""


@dataclass(frozen=True)
class GeneratorFactory:
    """A generator type: ``name`` is what a schema column's ``type`` says.

    ``arguments`` maps each argument a column may give to a one-line
    description; any other argument is a validation error.
    """

    name: str
    description: str
    build: Callable[[Mapping[str, Any], BuildContext], ColumnGenerator] = field(repr=False)
    arguments: Mapping[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=4096)  # a served table asks for the same few on every request
def column_seed(seed: int, column: str) -> int:
    """The 64-bit seed of one column's stream: derived from the table seed and the column name."""
    import hashlib

    digest = hashlib.sha256(f"phony-column\0{seed}\0{column}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class ColumnStream:
    """One column's random stream and its position in the table.

    ``offset`` is the number of rows generated before the current batch,
    ``count`` the number of rows the whole table will have, and ``state`` a
    dict where a generator may keep what it needs between batches.
    """

    def __init__(self, seed: int, count: int) -> None:
        self.seed = seed
        self.count = count
        self.offset = 0
        self.state: dict[str, Any] = {}
        # The NumPy bit generator is made on first use, at ``_position``:
        # ngram columns draw from their model's own streams, and a served
        # record (a few draws) is cheaper in Python integers (``_pcg``).
        self._generator: np.random.PCG64 | None = None
        self._position = 0
        #: Raw values drawn or skipped so far: the index of the next one.
        self._index = 0

    @property
    def _bits(self) -> np.random.PCG64:
        if self._generator is None:
            import numpy as np

            self._generator = np.random.PCG64(self.seed)
            if self._position:
                self._generator.advance(self._position)
        return self._generator

    def raw(self, n: int) -> npt.NDArray[np.uint64]:
        """``n`` raw 64-bit values, stable across numpy versions."""
        import numpy as np

        self._index += n
        if self._generator is None and n <= _PYTHON_DRAWS:
            from phony_registry import _pcg

            state, inc = _initial_state(self.seed)
            drawn = _pcg.words(state, inc, self._position, n)
            self._position += n
            return np.array(drawn, dtype=np.uint64)
        return np.asarray(self._bits.random_raw(n), dtype=np.uint64)

    def advance(self, n: int) -> None:
        """Skip ``n`` raw values in O(log n): what :meth:`raw` would have drawn."""
        self._index += n
        if self._generator is None:
            self._position += n
        else:
            self._generator.advance(n)

    def below(self, n: int, bound: int) -> npt.NDArray[Any]:
        """``n`` integers drawn uniformly from ``[0, bound)``, exactly, for any ``bound >= 1``.

        Returns a NumPy array of ``numpy.uint64`` for ``bound <= 2**64``, and
        of Python ``int`` (``dtype=object``) above. Each value takes one raw
        value of the stream (``ceil(log2(bound) / 64)`` above ``2**64``), so a
        generator keeps a fixed number of draws per row and can :meth:`advance`.

        Lemire's multiply-and-shift with rejection: up to ``2**32`` the top 32
        bits of a raw value times ``bound``, shifted down (the method phony
        has always used, so accepted values are unchanged); above, the full
        64 bits (or several words) times ``bound``. The rare raw value that
        would make the result biased (probability below ``bound / 2**32``,
        resp. ``bound / 2**64``) is replaced by candidates derived from the
        column seed and that raw value's position in the stream, so the
        result stays a function of (seed, position) and the draw count fixed.
        A ``bound`` below 1 (an empty range) or a negative ``n`` raises
        :class:`~phony_registry.errors.GenerationError`.
        """
        import numpy as np

        from phony_registry.errors import GenerationError

        if not isinstance(bound, int | np.integer) or isinstance(bound, bool):
            raise GenerationError(f"ColumnStream.below: bound must be an integer, got {bound!r}")
        bound = int(bound)
        if bound < 1:
            raise GenerationError(
                f"ColumnStream.below: the range [0, {bound}) is empty (bound must be >= 1)"
            )
        if n < 0:
            raise GenerationError(f"ColumnStream.below: n must be >= 0, got {n}")
        first = self._index
        if bound > 1 << 64:
            return self._below_wide(n, bound, first)
        raw = self.raw(n)
        if bound == 1 << 64:
            return raw
        result, accepted = _lemire(raw, bound)
        rejected = np.flatnonzero(~accepted)
        attempt = 0
        while rejected.size:  # rare: replacements from (seed, position, attempt), vectorised
            positions = rejected.astype(np.uint64) + np.full(rejected.size, first, np.uint64)
            words = _candidates(self.seed, positions, attempt)
            values, ok = _lemire(words, bound)
            result[rejected[ok]] = values[ok]
            rejected = rejected[~ok]
            attempt += 1
        return result

    def _below_wide(self, n: int, bound: int, first: int) -> npt.NDArray[Any]:
        """:meth:`below` for bounds past ``2**64``: several raw words per value."""
        import numpy as np

        words = -(-(bound - 1).bit_length() // 64)
        bits = 64 * words
        raw = self.raw(n * words).tolist()
        threshold = ((1 << bits) - bound) % bound
        out = np.empty(n, dtype=object)
        for i in range(n):
            value = 0
            for word in raw[i * words : (i + 1) * words]:
                value = (value << 64) | int(word)
            product = value * bound
            if (product & ((1 << bits) - 1)) < threshold:
                out[i] = _replacement(self.seed, first + i * words, bound)
            else:
                out[i] = product >> bits
        return out


#: Up to this many draws at once come from Python integers, not a NumPy generator.
_PYTHON_DRAWS = 16


def _lemire(
    words: npt.NDArray[np.uint64], bound: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    """Lemire's multiply-and-shift of ``words`` into ``[0, bound)``, and which are unbiased.

    Up to ``2**32`` from the top 32 bits of each word (phony's method since its
    first release, so an accepted value is the value it always gave), above
    from all 64 bits.
    """
    import numpy as np

    if bound <= 1 << 32:
        product = (words >> np.uint64(32)) * np.uint64(bound)  # < 2**64: exact in uint64
        low = product & np.uint64(0xFFFFFFFF)
        result = product >> np.uint64(32)
        threshold = ((1 << 32) - bound) % bound
    else:
        result, low = _mul_high_low(words, bound)
        threshold = ((1 << 64) - bound) % bound
    return result, low >= np.uint64(threshold)


def _mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's output function (a bijection with full avalanche), on arrays."""
    import numpy as np

    z = x + np.uint64(0x9E3779B97F4A7C15)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _candidates(
    seed: int, positions: npt.NDArray[np.uint64], attempt: int
) -> npt.NDArray[np.uint64]:
    """Replacement words for rejected draws: SplitMix64 of (column seed, position, attempt)."""
    import numpy as np

    keyed = _mix64(positions) ^ np.full_like(positions, seed & (2**64 - 1))
    return _mix64(keyed + np.full_like(positions, (attempt + 1) * 0x5851F42D4C957F2D % 2**64))


def _mul_high_low(
    raw: npt.NDArray[np.uint64], bound: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """High and low 64 bits of ``raw * bound`` (``bound < 2**64``), in uint64 halves.

    In place where it can: each temporary of a million-row batch is 8 MB.
    """
    import numpy as np

    mask, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    b_hi, b_lo = np.uint64(bound >> 32), np.uint64(bound & 0xFFFFFFFF)
    r_lo = raw & mask
    r_hi = raw >> shift
    low = r_lo * b_lo  # ll
    r_lo *= b_hi  # lh
    high = r_hi * b_hi  # hh
    r_hi *= b_lo  # hl
    middle = low >> shift
    middle += r_lo & mask
    middle += r_hi & mask
    r_lo >>= shift
    r_hi >>= shift
    high += r_lo
    high += r_hi
    high += middle >> shift
    low &= mask
    middle <<= shift
    low |= middle
    return high, low


def _replacement(seed: int, position: int, bound: int) -> int:
    """An exact draw from ``[0, bound)`` for the raw value at ``position`` that was rejected.

    Candidates are SHA-256 of (column seed, position, attempt), independent
    of the stream, tried until one is accepted by the same rejection rule.
    """
    import hashlib

    bits = 64 * -(-(bound - 1).bit_length() // 64) if bound > 1 << 64 else 64
    threshold = ((1 << bits) - bound) % bound
    attempt = 0
    while True:
        text = f"phony-below\0{seed}\0{position}\0{attempt}".encode()
        value = int.from_bytes(hashlib.shake_256(text).digest(bits // 8), "big")
        product = value * bound
        if product & ((1 << bits) - 1) >= threshold:
            return product >> bits
        attempt += 1


@functools.lru_cache(maxsize=4096)
def _initial_state(seed: int) -> tuple[int, int]:
    """``PCG64(seed)``'s state and increment, from NumPy (its seeding is SeedSequence's)."""
    import numpy as np

    state = np.random.PCG64(seed).state["state"]
    return int(state["state"]), int(state["inc"])


# --- argument checking ------------------------------------------------------


def iso_moment(value: str, ctx: BuildContext, key: str, expected: str) -> Any:
    """A column argument written as an ISO date (``1990-01-31``) or datetime.

    Returns a ``datetime.date`` or ``datetime.datetime``; anything else raises
    :class:`ValidationError` naming the field: ``not {expected}: '...'``.
    """
    import datetime as dt

    parse = dt.date.fromisoformat if len(value) == 10 else dt.datetime.fromisoformat
    try:
        return parse(value)
    except ValueError as exc:
        raise ValidationError(f"not {expected}: {value!r}", field=ctx.field(key)) from exc


def argument(
    args: Mapping[str, Any],
    ctx: BuildContext,
    key: str,
    kinds: type | tuple[type, ...],
    default: Any = ...,
) -> Any:
    """The column argument ``key``, checked to be of ``kinds``; ``default`` when absent.

    Without a default the argument is required. A wrong type (``true`` where
    an integer is expected counts as wrong) raises :class:`ValidationError`
    naming the field: ``columns.age.max: expected an integer, got str``.
    """
    if key not in args:
        if default is ...:
            raise ValidationError("is required", field=ctx.field(key))
        return default
    value = args[key]
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ValidationError(f"expected {_kind_name(kinds)}, got a boolean", field=ctx.field(key))
    if not isinstance(value, kinds):
        got = type(value).__name__
        raise ValidationError(f"expected {_kind_name(kinds)}, got {got}", field=ctx.field(key))
    return value


def _kind_name(kinds: type | tuple[type, ...]) -> str:
    import datetime as dt

    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dt.date: "a date",
    }
    seq = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(names.get(k, k.__name__) for k in seq)


def column_reference(ctx: BuildContext, name: str, argument: str) -> str:
    """``name`` if it is another column of the schema; a ValidationError on ``argument`` if not."""
    if name not in ctx.columns:
        known = ", ".join(ctx.columns)
        raise ValidationError(
            f"unknown column {name!r} (columns: {known})", field=ctx.field(argument)
        )
    if name == ctx.column:
        raise ValidationError("a column cannot refer to itself", field=ctx.field(argument))
    return name


# Letters that Unicode does not decompose into an ASCII base letter (the
# Turkish dotless i among them, on purpose: hence the RUF001 exemption).
_FOLD_EXTRA = str.maketrans(
    {
        "ı": "i", "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe",  # noqa: RUF001
        "Œ": "oe", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d",
        "þ": "th", "Þ": "th", "ħ": "h", "Ħ": "h",
    }
)  # fmt: skip


def ascii_fold(text: str) -> str:
    """Lowercase ASCII letters and digits of ``text``: ``Şükrü Işık`` -> ``sukruisik``."""  # noqa: RUF002
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return "".join(ch for ch in ascii_only if ch.isalnum())
