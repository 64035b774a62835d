"""The in-memory model and its vectorised, deterministic generation.

A :class:`Model` is a weighted automaton over contexts: state ``s`` owns the
edges ``offsets[s]:offsets[s+1]``; edge ``e`` emits token ``tokens[e]``
(0 ends the value, ``i >= 1`` is the code point ``alphabet[i-1]``) with
weight ``weights[e]`` and moves to state ``targets[e]``. Reading and writing
files lives in :mod:`phony_registry.format`; training in
:mod:`phony_registry.ngram`.

Generation is deterministic: values come in *chunks* of exactly
:data:`CHUNK_ROWS`; value ``i`` is value ``i % CHUNK_ROWS`` of chunk
``i // CHUNK_ROWS``, a function of (model, seed, chunk) only. Chunk ``k``'s
values are the accepted rows of its main *block* of :data:`CHUNK_ROWS`
rows, drawn from ``PCG64(SeedSequence(seed, spawn_key=(k,)))`` with
``random_raw`` (whose stream NumPy keeps stable), then, while fewer than
:data:`CHUNK_ROWS`, those of its refill blocks ``e = 1, 2...``
(``spawn_key=(k, e)``), cut at :data:`CHUNK_ROWS`. Every draw uses only
integer arithmetic. At step ``t`` a block draws one 64-bit word per row of
the full block, so row ``j`` always gets the same words whatever the count:
``generate(10, seed)`` is a prefix of ``generate(1000, seed)``, batch sizes
change nothing, and value ``i`` is found by walking chunk ``i //
CHUNK_ROWS``'s blocks only (:meth:`Model.locate`).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from phony_registry import _pcg
from phony_registry._constants import (
    CHUNK_ROWS,
    FORMAT_VERSION,
    MAX_VALUE_LENGTH,
    NEWEST_FORMAT_VERSION,
)
from phony_registry.errors import GenerationError, UsageError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from phony_registry.selection import Selection

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "CHUNK_ROWS",
    "DISTINCT_VALUES_CAP",
    "Exclusion",
    "FORMAT_VERSION",
    "MAX_TEMPERATURE",
    "MAX_VALUE_LENGTH",
    "MIN_TEMPERATURE",
    "Model",
    "ModelMeta",
    "NEWEST_FORMAT_VERSION",
    "TrainingStats",
    "value_hashes",
]

#: Where :attr:`Model.distinct_values` stops counting: a model that reaches it
#: can spell more than this many values.
DISTINCT_VALUES_CAP = 2.0**62
# Values :meth:`Model.value_probabilities` walks at once.
_PROBABILITY_BLOCK = 8192

# Up to this many weight units (a table of at most 64 MiB), sampling gathers
# the edge from a direct lookup table; above, it binary-searches each state's
# edges. Both give the same edge for the same draw.
_TABLE_LIMIT = 1 << 24
# Up to this many weight units the table holds NumPy's index type (8 bytes a
# unit, no conversion when gathering with it), above that 2- or 4-byte integers.
_INTP_TABLE_LIMIT = 1 << 21
# A large table has a coarse one of at most 2**_COARSE_BITS buckets (that fits in cache).
_COARSE_BITS = 20
# The walk compacts its rows when at most this share of them is still walking.
_COMPACT = 0.6
_SHIFT = np.uint64(32)
# Temperature: accepted range, and the weight units of a state's likeliest edge.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 10.0
_TEMPERATURE_UNITS = 1 << 20
# Random access walks windows of up to this many rows in Python integers
# (_RowsWalker), for models of up to this many edges (lists cost ~40 bytes an edge).
_SMALL_WALK = 6
_SMALL_WALK_EDGES = 1 << 18
# Generation gives up when it has walked this many rows per requested value
# (plus a few chunks) without producing enough accepted values, or when a
# chunk's values need more than this many blocks (its main one and refills).
_ATTEMPTS_PER_VALUE = 32
_MAX_BLOCKS = _ATTEMPTS_PER_VALUE
# Random access keeps the layout of at most this many chunks (a few KB each).
_LAYOUTS_KEPT = 4096

#: A block of rows: (chunk, refill); refill 0 is the chunk's main block. A
#: plain int ``k`` means ``(k, 0)``.
Block = int | tuple[int, int]


def _spawn_key(block: Block) -> tuple[int, ...]:
    """The ``SeedSequence`` spawn key of a block: ``(k,)`` for a main block, else ``(k, e)``."""
    if isinstance(block, int):
        return (block,)
    chunk, refill = block
    return (chunk, refill) if refill else (chunk,)


_FNV_PRIME = np.uint64(0x100000001B3)
# The exclusion table has at most 2**_EXCLUDE_SLOT_BITS slots (9 MiB); past
# 131,072 training values it is fuller and more queries are searched.
_EXCLUDE_SLOT_BITS = 20
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class ModelMeta:
    """Descriptive metadata of a model (``meta`` in the file)."""

    name: str
    locale: str | None = None
    kind: str | None = None
    license: str | None = None
    source: str | None = None
    description: str = ""
    created: str | None = None


@dataclass(frozen=True)
class TrainingStats:
    """What the model was trained on (``training`` in the file).

    Fields a migrated version-1 file cannot know are ``None``.
    """

    values: int
    unique_values: int | None
    characters: int
    max_length: int | None
    length_histogram: tuple[int, ...] | None


@dataclass(frozen=True, eq=False)
class Exclusion:
    """Salted 64-bit hashes of the training values, sorted, for ``--exclude-originals``."""

    salt: int
    hashes: NDArray[np.uint64] = field(repr=False)

    def contains(self, hashes: NDArray[np.uint64]) -> NDArray[np.bool_]:
        """Which of ``hashes`` are hashes of training values.

        One gather in a table addressed by the top bits of the hash (at most
        1/8 full, a few hundred KB for thousands of values) answers nearly
        every query: the slot holds the one training hash with those bits, or
        a key that cannot match. Only queries falling in a slot shared by
        several training hashes are searched in the sorted list.
        """
        if self.hashes.size == 0:
            return np.zeros(hashes.shape, dtype=bool)
        shift, keys, shared = self._slots
        slot = (hashes >> shift).astype(np.intp)
        found = np.asarray(keys[slot] == hashes)
        unsure = np.flatnonzero(shared[slot] & ~found)
        if unsure.size:
            queries = hashes[unsure]
            pos = np.searchsorted(self.hashes, queries)
            pos[pos == self.hashes.size] = 0
            found[unsure] = self.hashes[pos] == queries
        return found

    @cached_property
    def _slots(self) -> tuple[np.uint64, NDArray[np.uint64], NDArray[np.bool_]]:
        """The table of :meth:`contains`: its shift, the key of each slot, and which are shared."""
        bits = min(max(int(self.hashes.size).bit_length() + 3, 8), _EXCLUDE_SLOT_BITS)
        shift = np.uint64(64 - bits)
        slots = np.arange(1 << bits, dtype=np.uint64)
        # An empty slot's key has other top bits than the slot's own: no query
        # landing there can equal it.
        keys = ((slots + np.uint64(1)) % np.uint64(1 << bits)) << shift
        taken = (self.hashes >> shift).astype(np.intp)  # sorted, as the hashes are
        keys[taken] = self.hashes
        shared = np.zeros(1 << bits, dtype=bool)
        shared[taken[1:][taken[1:] == taken[:-1]]] = True
        return shift, keys, shared


def value_hashes(codepoints: NDArray[np.uint32], salt: int) -> NDArray[np.uint64]:
    """Salted 64-bit hash of each row of a code point matrix (0 = padding).

    FNV-1a over the code points followed by the splitmix64 finaliser. Fast
    and stable, not cryptographic: it hides nothing from a dictionary attack.
    """
    return _step_hashes(codepoints.T, salt)


def _step_hashes(steps: NDArray[Any], salt: int) -> NDArray[np.uint64]:
    """:func:`value_hashes` of the values of a step-major matrix (row ``t`` holds
    every value's code point ``t``, 0 past its end), as the walk makes them.

    Once fewer than 60 % of the values still go on, the rest are hashed in a
    compacted array (as the walk compacts its rows): most names end within
    six or seven characters of a width of twelve or more.
    """
    rows = steps.shape[1]
    h = np.full(rows, np.uint64(salt), dtype=np.uint64)
    going: NDArray[np.intp] | None = None  # the rows still going, once compacted
    part = h  # their hashes (h itself until compacted)
    mixed = np.empty(rows, dtype=np.uint64)
    used = 0
    for step in steps:
        points = step if going is None else step[going]
        live = points != 0
        alive = np.count_nonzero(live)
        if not alive:
            break  # padding from here on
        used += 1
        if alive < _COMPACT * points.size:
            keep = np.flatnonzero(live)
            if going is None:
                going, part = keep, h[keep]
            else:
                h[going] = part
                going, part = going[keep], part[keep]
            points = points[keep]
        out = mixed[: part.size]
        np.bitwise_xor(part, points, out=out)
        np.multiply(out, _FNV_PRIME, out=out)
        if alive == part.size:  # every row still going (or just compacted to those)
            part[...] = out
        else:
            np.copyto(part, out, where=live)
    if going is not None:
        h[going] = part
    length = np.count_nonzero(steps[:used], axis=0).astype(np.uint64)
    h ^= length
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h


class Model:
    """A loaded ``.phony`` model. Build one with :func:`phony_registry.format.load_model`
    or :func:`phony_registry.ngram.train`; generate with :meth:`generate`.
    """

    def __init__(
        self,
        *,
        meta: ModelMeta,
        order: int,
        alphabet: str,
        start: int,
        offsets: NDArray[np.uint32],
        tokens: NDArray[np.uint32],
        weights: NDArray[np.uint32],
        targets: NDArray[np.uint32],
        training: TrainingStats,
        max_length: int,
        exclude: Exclusion | None = None,
        format_version: int | None = None,
        selection: Selection | None = None,
    ) -> None:
        self.meta = meta
        self.order = order
        self.alphabet = alphabet
        self.start = start
        self.offsets = offsets
        self.tokens = tokens
        self.weights = weights
        self.targets = targets
        self.training = training
        self.max_length = max_length
        self.exclude = exclude
        #: The format version of the file this model was read from (for a new
        #: model, the version it is written in).
        self.format_version = (
            format_version if format_version is not None else self.written_version(selection)
        )
        #: How training chose the order and smoothing (None when they were given).
        self.selection = selection

    def __repr__(self) -> str:
        return (
            f"<Model {self.meta.name!r} order={self.order} states={self.num_states} "
            f"edges={self.num_edges}>"
        )

    @staticmethod
    def written_version(selection: Selection | None) -> int:
        """The format version a model is written in: the oldest that holds it."""
        return NEWEST_FORMAT_VERSION if selection is not None else FORMAT_VERSION

    @property
    def num_states(self) -> int:
        """Number of contexts (automaton states)."""
        return int(self.offsets.size - 1)

    @property
    def num_edges(self) -> int:
        """Number of n-grams (automaton edges)."""
        return int(self.tokens.size)

    @property
    def excludes_originals(self) -> bool:
        """Whether the model never generates any of its training values.

        True for ``--exclude-originals`` (every training value is excluded);
        False when none is, or when selection excluded only a share of them
        to reach its novelty floor (:data:`phony_registry.ngram.MIN_NOVELTY`).
        """
        if self.exclude is None:
            return False
        unique = self.training.unique_values
        return unique is None or int(self.exclude.hashes.size) >= unique

    @property
    def column_name(self) -> str:
        """Name of the column this model fills: its kind, or ``value``."""
        return self.meta.kind or "value"

    @cached_property
    def distinct_values(self) -> float:
        """How many distinct values the automaton can generate within ``max_length``.

        Exact up to 2**53, then approximate (a float); counting stops at
        :data:`DISTINCT_VALUES_CAP` (the result is then "at least that
        many"); exclusions are not subtracted. Each path is a distinct string
        because a state's edges carry distinct tokens.
        """
        total = 0.0
        for ended in self._walks_ending(None):
            total += float(ended.sum())
            if total > DISTINCT_VALUES_CAP:
                break
        return min(total, DISTINCT_VALUES_CAP)

    @cached_property
    def _edge_sources(self) -> NDArray[np.intp]:
        """The state each edge leaves."""
        degree = np.diff(self.offsets.astype(np.int64)).astype(np.intp)
        return np.repeat(np.arange(self.num_states, dtype=np.intp), degree)

    def _walks_ending(self, step: NDArray[np.float64] | None) -> Iterator[NDArray[np.float64]]:
        """Step by step from the start, up to ``max_length`` characters, what reaches each
        end edge: walks weighted by the product of ``step`` along them (each edge's
        factor), or counted (``step`` None). Stops once nothing goes on."""
        sources = self._edge_sources
        ends = self.tokens == 0
        flow = np.zeros(self.num_states, dtype=np.float64)
        flow[self.start] = 1.0
        for _ in range(self.max_length + 1):
            moved = flow[sources] if step is None else flow[sources] * step
            yield moved[ends]
            flow = np.bincount(
                self.targets[~ends], weights=moved[~ends], minlength=self.num_states
            ).astype(np.float64)
            if not flow.any():
                return

    def value_probabilities(self, values: list[str]) -> NDArray[np.float64]:
        """The probability that one walk spells each of ``values`` (0 for a value it cannot).

        The product of the walk's steps, the end included; a value longer
        than ``max_length`` gets 0 (the walk would be rejected). Divided by
        :attr:`accepted_mass`, it is the share of generated values that are
        this value (before any exclusion).
        """
        result = np.zeros(len(values), dtype=np.float64)
        fits = [i for i, v in enumerate(values) if len(v) <= self.max_length]
        if not fits:
            return result
        codes = np.array([ord(ch) for ch in self.alphabet], dtype=np.int64)
        by_code = np.argsort(codes, kind="stable")
        sorted_codes = codes[by_code]
        size = len(self.alphabet) + 1
        sources = self._edge_sources.astype(np.int64)
        keys = sources * size + self.tokens.astype(np.int64)  # sorted: state, then token
        weights = self.weights.astype(np.float64)
        totals = np.add.reduceat(weights, self.offsets[:-1].astype(np.intp))
        for lo in range(0, len(fits), _PROBABILITY_BLOCK):  # bounded temporaries
            rows_of = np.array(fits[lo : lo + _PROBABILITY_BLOCK], dtype=np.intp)
            block = [values[i] for i in rows_of.tolist()]
            width = max(map(len, block)) + 1
            points = np.array(block, dtype=np.dtype(("U", width))).view(np.uint32)
            points = points.reshape(len(block), width).astype(np.int64)
            if codes.size:
                place = np.minimum(np.searchsorted(sorted_codes, points), codes.size - 1)
                known = sorted_codes[place] == points
                tokens = np.where(points == 0, 0, np.where(known, by_code[place] + 1, -1))
            else:
                tokens = np.where(points == 0, 0, -1)
            q = np.ones(len(block), dtype=np.float64)
            rows = np.arange(len(block), dtype=np.intp)  # the walks still going
            state = np.full(len(block), self.start, dtype=np.int64)
            for step in range(width):
                if not rows.size:
                    break
                token = tokens[rows, step]
                key = state * size + np.maximum(token, 0)
                edge = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
                found = (keys[edge] == key) & (token >= 0)
                q[rows] *= np.where(found, weights[edge] / totals[state], 0.0)
                going = found & (token != 0)
                rows, state = rows[going], self.targets[edge[going]].astype(np.int64)
            result[rows_of] = q
        return result

    @cached_property
    def accepted_mass(self) -> float:
        """The probability that a walk ends within ``max_length`` characters (is kept)."""
        weights = self.weights.astype(np.float64)
        totals = np.add.reduceat(weights, self.offsets[:-1].astype(np.intp))
        accepted = 0.0
        for ended in self._walks_ending(weights / totals[self._edge_sources]):
            accepted += math.fsum(ended.tolist())
        return accepted

    def with_temperature(self, temperature: float | str) -> Model:
        """This model with every state's probabilities raised to ``1/temperature``.

        Below 1 the likeliest characters gain (more typical values, fewer
        distinct ones); above 1 the rare ones do (more surprising values).
        The new weights are integers computed with :mod:`decimal` (40
        digits) from the file's integers: the scaled weight of edge ``e`` in
        state ``s`` is ``max(1, floor(2**20 * w_e**(1/T) / max_s w**(1/T)))``,
        so a temperature gives the same values on every machine. ``T`` is
        read from its decimal text (``"0.8"``), never through binary floats.
        """
        from decimal import Decimal, InvalidOperation, localcontext

        try:
            t = Decimal(str(temperature))
        except InvalidOperation as exc:
            raise UsageError(f"temperature must be a number, not {temperature!r}") from exc
        # The bounds as their decimal text: Decimal("0.1") is below float 0.1.
        low, high = Decimal(str(MIN_TEMPERATURE)), Decimal(str(MAX_TEMPERATURE))
        if not t.is_finite() or not low <= t <= high:
            raise UsageError(
                f"temperature must be from {MIN_TEMPERATURE} to {MAX_TEMPERATURE}, "
                f"not {temperature}"
            )
        if t == 1:
            return self
        with localcontext() as ctx:
            ctx.prec = 40
            inverse = 1 / t
            scaled = {
                w: int((Decimal(w) ** inverse).scaleb(64).to_integral_value())
                for w in np.unique(self.weights).tolist()
            }
        weights = self.weights.tolist()
        offsets = self.offsets.tolist()
        out = np.empty(len(weights), dtype=np.uint32)
        for s in range(self.num_states):
            lo, hi = offsets[s], offsets[s + 1]
            powered = [scaled[w] for w in weights[lo:hi]]
            top = max(powered)
            out[lo:hi] = [max(1, p * _TEMPERATURE_UNITS // top) for p in powered]
        return self._rebuilt(weights=out)

    def _rebuilt(self, *, weights: NDArray[np.uint32] | None = None) -> Model:
        """This model as a new object: nothing walked or cached yet, ``weights`` if given."""
        return Model(
            meta=self.meta,
            order=self.order,
            alphabet=self.alphabet,
            start=self.start,
            offsets=self.offsets,
            tokens=self.tokens,
            weights=self.weights if weights is None else weights,
            targets=self.targets,
            training=self.training,
            max_length=self.max_length,
            exclude=self.exclude,
            format_version=self.format_version,
            selection=self.selection,
        )

    # -- sampling tables, built on first use so loading stays cheap --------

    @cached_property
    def _tables(self) -> _Tables:
        return _Tables.build(self)

    def generate(self, count: int, seed: int, *, unique: bool = False) -> list[str]:
        """Generate ``count`` values from ``seed`` (the same on every platform).

        With ``unique`` the values are distinct; a :class:`GenerationError`
        says so when the model cannot produce that many.
        """
        values: list[str] = []
        for batch in self.iter_batches(count, seed, unique=unique):
            values.extend(batch)
        return values

    def iter_batches(
        self, count: int, seed: int, *, unique: bool = False, batch_size: int | None = None
    ) -> Iterator[list[str]]:
        """Yield the values of :meth:`generate` in lists, without holding them all.

        The concatenated output does not depend on ``batch_size`` (default:
        about :data:`CHUNK_ROWS` values per batch).
        """
        _check_count_seed(count, seed)
        if batch_size is not None and batch_size < 1:
            raise UsageError("batch size must be at least 1")
        stream = self._accepted(count, seed, unique=unique)
        if batch_size is None:
            yield from stream
            return
        buffer: list[str] = []
        for values in stream:
            buffer.extend(values)
            while len(buffer) >= batch_size:
                yield buffer[:batch_size]
                del buffer[:batch_size]
        if buffer:
            yield buffer

    def iter_from(self, seed: int, start: int, count: int) -> Iterator[list[str]]:
        """Values ``start:start+count`` of :meth:`generate` without making those before.

        Random access for a lazily served table: value ``start`` lies in
        chunk ``start // CHUNK_ROWS``, and only that chunk's blocks (and the
        following chunks', as far as ``count`` goes) are walked, never an
        earlier chunk's. The same values as slicing ``generate(start + count, seed)``.
        """
        _check_count_seed(count, seed)
        _check_count_seed(start, seed)
        return self._exact(seed, start, count)

    def _exact(self, seed: int, start: int, count: int) -> Iterator[list[str]]:
        """``count`` values from value ``start``, walking only their rows.

        Each chunk's layout (:meth:`_layout`) says exactly which rows of
        which blocks give its values, so a window of a few values walks a
        few rows (not the 64 or more :meth:`_accepted` walks when it must
        guess the rejection rate).
        """
        chunk, place = divmod(start, CHUNK_ROWS)
        while count > 0:
            for block, rejected, end in self._layout(seed, chunk):
                accepted = end - len(rejected)
                if place >= accepted:
                    place -= accepted
                    continue
                take = min(count, accepted - place)
                lo = _row_of(rejected, place)
                hi = _row_of(rejected, place + take - 1) + 1
                if hi - lo <= _SMALL_WALK and self._rows_walker is not None:
                    skip = set(rejected[bisect_left(rejected, lo) : bisect_left(rejected, hi)])
                    rows = [row for row in range(lo, hi) if row not in skip]
                    values = self._rows_walker.walk(seed, block, rows)
                else:
                    values = self._walk(seed, block, lo, hi)
                count -= len(values)
                place = 0
                yield values
                if count <= 0:
                    return
            chunk, place = chunk + 1, 0

    def locate(self, seed: int, index: int) -> tuple[tuple[int, int], int]:
        """``((chunk, refill), row)``: the block and row of the walk that give value ``index``.

        Value *i* is value ``i % CHUNK_ROWS`` of chunk ``i // CHUNK_ROWS``,
        whose values are the accepted rows of its main block (refill 0)
        then of its refill blocks, cut at :data:`CHUNK_ROWS`. A few rows of
        each block are rejected (too long, or a training value under
        ``--exclude-originals``), so the value sits at its place in the
        block plus the rejected rows before it. The chunk's blocks are
        walked once per seed to list their rejected rows (tens of
        milliseconds; a few KB kept per chunk, nothing per value), whatever
        the chunk: locating value 10**9 costs what locating value 0 does.
        """
        _check_count_seed(index, seed)
        chunk, place = divmod(index, CHUNK_ROWS)
        for block, rejected, end in self._layout(seed, chunk):
            accepted = end - len(rejected)
            if place < accepted:
                return block, _row_of(rejected, place)
            place -= accepted
        raise AssertionError("a chunk's layout holds CHUNK_ROWS values")  # pragma: no cover

    @cached_property
    def _rows_walker(self) -> _RowsWalker | None:
        if self.num_edges > _SMALL_WALK_EDGES:
            return None
        return _RowsWalker(self)

    @cached_property
    def _rejections(self) -> dict[tuple[int, int], array[int]]:
        return {}

    @cached_property
    def _layouts(self) -> dict[tuple[int, int], list[tuple[tuple[int, int], array[int], int]]]:
        return {}

    def _rejected_rows(self, seed: int, block: Block) -> array[int]:
        """Sorted rows of main block ``block`` that :meth:`_walk` rejects, computed once per seed.

        An ``array('H')``: two bytes a row, and ``bisect`` reads it as fast as a list.
        """
        key = (seed, block) if isinstance(block, int) else (seed, block[0])
        assert isinstance(block, int) or not block[1], "refill blocks are walked by _layout"
        found = self._rejections.get(key)
        if found is None:
            _, ok = self._walk_kept(seed, block, 0, CHUNK_ROWS)
            found = array("H", np.flatnonzero(~ok).astype(np.uint16).tobytes())
            if len(self._rejections) >= _LAYOUTS_KEPT:
                self._rejections.clear()
            self._rejections[key] = found
        return found

    def _walk_kept(
        self, seed: int, block: Block, lo: int, hi: int
    ) -> tuple[NDArray[Any], NDArray[np.bool_]]:
        """:meth:`_walk_symbols` with the exclusion applied: the step-major symbols of
        rows ``lo:hi`` and which of them every walk keeps (ended in time, not a
        training value under ``--exclude-originals``)."""
        symbols, ok = self._walk_symbols(seed, block, lo, hi)
        if self.exclude is not None:
            ok &= ~self.exclude.contains(_step_hashes(symbols, self.exclude.salt))
        return symbols, ok

    def _layout(self, seed: int, chunk: int) -> list[tuple[tuple[int, int], array[int], int]]:
        """Chunk ``chunk``'s blocks: ``(block, rejected rows, end)`` for each block that
        gives values, its rows ``0:end`` holding them (``end - len(rejected)`` values).

        The main block gives all its accepted rows; each refill block is
        walked only as far as the chunk's last value (a few thousand rows,
        about as many as the main block rejected). Computed once per seed
        and chunk; raises :class:`GenerationError` when the chunk needs more
        than :data:`_MAX_BLOCKS` blocks.
        """
        found = self._layouts.get((seed, chunk))
        if found is not None:
            return found
        rejected = self._rejected_rows(seed, chunk)
        found = [((chunk, 0), rejected, CHUNK_ROWS)]
        room = len(rejected)
        rate = max(CHUNK_ROWS - room, 1) / CHUNK_ROWS
        refill = 1
        while room:
            if refill >= _MAX_BLOCKS:
                raise self._too_few(CHUNK_ROWS - room, CHUNK_ROWS, refill * CHUNK_ROWS)
            block = (chunk, refill)
            misses: list[NDArray[np.intp]] = []
            lo = end = 0
            while lo < CHUNK_ROWS:
                hi = min(CHUNK_ROWS, lo + int(room / max(rate, 0.01) * 1.03) + 64)
                _, ok = self._walk_kept(seed, block, lo, hi)
                kept = lo + np.flatnonzero(ok)
                if kept.size >= room:
                    end = int(kept[room - 1]) + 1
                    misses.append(lo + np.flatnonzero(~ok[: end - lo]))
                    room = 0
                    break
                misses.append(lo + np.flatnonzero(~ok))
                room -= kept.size
                rate = max(kept.size, 1) / (hi - lo)
                lo = end = hi
            rows = np.concatenate(misses).astype(np.uint16)
            found.append((block, array("H", rows.tobytes()), end))
            refill += 1
        if len(self._layouts) >= _LAYOUTS_KEPT:
            self._layouts.clear()
        self._layouts[(seed, chunk)] = found
        return found

    def _too_few(
        self, produced: int, count: int, attempted: int, *, unique: bool = False
    ) -> GenerationError:
        what = "distinct values" if unique else "values"
        return GenerationError(
            f"model {self.meta.name!r} produced only {produced} {what} of the "
            f"{count} requested after {attempted} attempts"
            + ("; ask for fewer with --unique" if unique else "")
        )

    def iter_text(self, count: int, seed: int) -> Iterator[bytes]:
        """The values of :meth:`generate` as UTF-8 text, each followed by a newline.

        The same values, built as bytes straight from the walk's symbols
        (no Python string per value): what ``phony generate`` writes to a
        text file. Only for a model whose values cannot hold a line break
        (:attr:`writes_text`); raises :class:`UsageError` otherwise.
        """
        for lines in self._iter_lines(count, seed):
            yield lines.data

    def _iter_lines(self, count: int, seed: int) -> Iterator[_Lines]:
        """:meth:`iter_text` with each piece's number of values."""
        _check_count_seed(count, seed)
        if not self.writes_text:
            raise UsageError(f"model {self.meta.name!r} has values that may hold a line break")
        yield from self._accepted(count, seed, unique=False, walk=self._walk_text)

    @property
    def writes_text(self) -> bool:
        """Whether :meth:`iter_text` can give this model's values: none holds a line break."""
        return self._tables.text is not None

    def _accepted(
        self,
        count: int,
        seed: int,
        *,
        unique: bool,
        walk: Callable[[int, Block, int, int], Any] | None = None,
    ) -> Iterator[Any]:
        """The values of chunks 0, 1... (each its blocks' accepted rows, cut at
        :data:`CHUNK_ROWS`) cut at ``count``, as lists of strings (``walk``
        :meth:`_walk`), :class:`_Lines` (:meth:`_walk_text`) or matrices."""
        walk = walk or self._walk
        if count and unique and count > self.distinct_values:
            raise GenerationError(
                f"model {self.meta.name!r} can produce at most {int(self.distinct_values)} "
                f"distinct values, fewer than the {count} requested; ask for fewer with --unique"
            )
        produced = 0
        attempted = 0
        budget = _ATTEMPTS_PER_VALUE * count + 4 * CHUNK_ROWS
        seen: set[str] = set()
        rate = 1.0
        chunk = 0
        held: Any = None
        while produced < count:
            have = 0  # values of this chunk so far
            refill = 0
            while have < CHUNK_ROWS and produced < count:
                if refill >= _MAX_BLOCKS:
                    raise self._too_few(produced, count, attempted, unique=unique)
                block = (chunk, refill)
                lo = 0
                while lo < CHUNK_ROWS and have < CHUNK_ROWS and produced < count:
                    if attempted >= budget:
                        raise self._too_few(produced, count, attempted, unique=unique)
                    need = min(count - produced, CHUNK_ROWS - have)
                    rows = min(CHUNK_ROWS - lo, int(need / max(rate, 0.01) * 1.03) + 64)
                    values = walk(seed, block, lo, lo + rows)
                    if not refill:
                        # Held until the next main block is walked: freeing a main
                        # block's output before walking the small refill lets glibc
                        # return the heap's top to the system and fault every page
                        # back in for the next block (ten times the page faults).
                        held = values  # noqa: F841
                    if not len(values) and not produced:
                        self._check_can_produce()
                    attempted += rows
                    lo += rows
                    if len(values) > CHUNK_ROWS - have:
                        values = values[: CHUNK_ROWS - have]
                    have += len(values)
                    if unique:
                        fresh = []
                        for value in values:
                            if value not in seen:
                                seen.add(value)
                                fresh.append(value)
                        values = fresh
                    rate = max(len(values), 1) / rows
                    if len(values) > count - produced:
                        values = values[: count - produced]
                    produced += len(values)
                    if len(values):
                        yield values
                refill += 1
            chunk += 1

    def _check_can_produce(self) -> None:
        """Raise the error saying so when this model has no value within its length cap.

        Called only when a walk comes back empty: counting the distinct values
        walks the whole automaton, which costs more than generating a few
        values (``phony generate --count 10``).
        """
        if self.distinct_values == 0:
            raise GenerationError(
                f"model {self.meta.name!r} cannot produce any value of at most "
                f"{self.max_length} characters"
            )

    def _chunk_values(
        self, seed: int, chunk: int, count: int, walk: Callable[[int, Block, int, int], Any]
    ) -> list[Any]:
        """The first ``count`` (at most :data:`CHUNK_ROWS`) values of chunk ``chunk``, in
        pieces as ``walk`` gives them: what a ``--jobs`` worker makes of its chunk.

        Raises :class:`GenerationError` when the chunk needs more than
        :data:`_MAX_BLOCKS` blocks or walks more than ``_ATTEMPTS_PER_VALUE *
        count + 4 * CHUNK_ROWS`` rows.
        """
        pieces: list[Any] = []
        have = attempted = 0
        budget = _ATTEMPTS_PER_VALUE * count + 4 * CHUNK_ROWS
        rate = 1.0
        refill = 0
        while have < count:
            if refill >= _MAX_BLOCKS:
                raise self._too_few(have, count, attempted)
            lo = 0
            while lo < CHUNK_ROWS and have < count:
                if attempted >= budget:
                    raise self._too_few(have, count, attempted)
                rows = min(CHUNK_ROWS - lo, int((count - have) / max(rate, 0.01) * 1.03) + 64)
                values = walk(seed, (chunk, refill), lo, lo + rows)
                if not len(values) and not have:
                    self._check_can_produce()
                attempted += rows
                lo += rows
                rate = max(len(values), 1) / rows
                if len(values) > count - have:
                    values = values[: count - have]
                have += len(values)
                if len(values):
                    pieces.append(values)
            refill += 1
        return pieces

    def _walk(self, seed: int, chunk: Block, lo: int, hi: int) -> list[str]:
        """Rows ``lo:hi`` of block ``chunk`` (a :data:`Block`): the accepted values, in order."""
        symbols, ok = self._walk_kept(seed, chunk, lo, hi)
        rows = symbols.T
        if not ok.all():
            rows = rows[ok]  # in the walk's narrow type: a quarter of the copying
        codepoints = np.ascontiguousarray(rows, dtype=np.uint32)
        strings = codepoints.view(np.dtype(("U", self.max_length))).reshape(-1)
        values: list[str] = strings.tolist()  # type: ignore[assignment]
        return values

    def walk_codepoints(
        self, seed: int, chunk: Block, lo: int, hi: int
    ) -> tuple[NDArray[np.uint32], NDArray[np.bool_]]:
        """Walk rows ``lo:hi`` of block ``chunk`` without any filtering.

        ``chunk`` is a :data:`Block`: an int ``k`` (chunk ``k``'s main block) or
        ``(k, e)`` (its refill block ``e``).

        Returns a ``[rows, max_length]`` code point matrix (0 after the end)
        and whether each row ended within ``max_length`` (rows that did not
        are rejected, never truncated).
        """
        symbols, ok = self._walk_symbols(seed, chunk, lo, hi)
        return self._tables.codepoints_of(symbols), ok

    def _walk_symbols(
        self, seed: int, chunk: Block, lo: int, hi: int
    ) -> tuple[NDArray[Any], NDArray[np.bool_]]:
        """The walk of :meth:`walk_codepoints` as a step-major ``[max_length, rows]`` matrix
        of symbols (see :class:`_Tables`), and which rows ended in time.

        One step is a handful of NumPy passes over the rows still walking:
        the row's 32-bit draw times its walk state's total weight, shifted and
        added to the state's base, picks a weight unit; one gather maps the
        unit to the next walk state (0 once the value has ended, which maps
        to itself forever), and one more to the symbol written. Rows that
        ended stay in the arrays, walking in place at state 0, until they
        are a good share of them: then the live ones are compacted.
        """
        t = self._tables
        n = hi - lo
        width = self.max_length
        out = np.zeros((width, n), dtype=t.symbols.dtype)
        ok = np.ones(n, dtype=bool)
        bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=_spawn_key(chunk)))
        state: NDArray[Any] = np.full(n, t.start_walk, dtype=np.intp)
        rows: NDArray[np.intp] | None = None  # None: every row, in order
        step_next, symbols = t.step_next, t.symbols
        base, total = t.step_base, t.step_total
        # Buffers reused by every step; mode="clip" lets take() write into
        # them unbuffered (every index is in range, so it clips nothing).
        words = np.empty(n, dtype=np.uint64)
        draw = words.view(base.dtype)  # the high 32 bits: the same value in either type
        pos_buffer = np.empty(n, dtype=base.dtype)
        add_buffer = np.empty(n, dtype=base.dtype)
        written = np.empty(n, dtype=symbols.dtype)
        for step in range(width + 1):
            raw = _step_words(bits, lo, hi)
            m = state.size
            high = words[:m]
            if rows is None:
                np.right_shift(raw, _SHIFT, out=high)
            else:
                np.take(raw, rows, out=high, mode="clip")
                high >>= _SHIFT
            pos, addend = pos_buffer[:m], add_buffer[:m]
            np.take(total, state, out=pos, mode="clip")
            pos *= draw[:m]
            pos >>= 32
            np.take(base, state, out=addend, mode="clip")
            pos += addend
            if step_next is None:
                state = t.search(pos, state)
            elif step_next.dtype == state.dtype:
                np.take(step_next, pos, out=state, mode="clip")
            elif t.coarse is None:
                state = step_next[pos].astype(np.intp)
            else:
                # A large table: most draws fall in a bucket of units of one
                # edge, answered by the small coarse table; the others look
                # up the full one.
                np.right_shift(pos, t.coarse_shift, out=addend)
                picked = np.take(t.coarse, addend, mode="clip")
                mixed = np.flatnonzero(picked == t.coarse_mixed)
                if mixed.size:
                    picked[mixed] = step_next[pos[mixed]]
                state = picked.astype(np.intp)
            if step == width:
                walking = state != 0
                ok[walking if rows is None else rows[walking]] = False  # too long: rejected
                break
            if rows is None:
                np.take(symbols, state, out=out[step], mode="clip")
            else:
                np.take(symbols, state, out=written[:m], mode="clip")
                out[step, rows] = written[:m]
            alive = int(np.count_nonzero(state))
            if alive == 0:
                break
            if alive <= m * _COMPACT:
                keep = np.flatnonzero(state)
                state = state[keep]
                rows = keep if rows is None else rows[keep]
        return out, ok

    def _walk_rows(self, seed: int, chunk: Block, lo: int, hi: int) -> NDArray[Any]:
        """The accepted values of rows ``lo:hi``, as :meth:`_walk`, as a ``[values,
        max_length]`` matrix of code points in the walk's narrow type (0 after the end)."""
        symbols, ok = self._walk_kept(seed, chunk, lo, hi)
        return np.ascontiguousarray(symbols.T[ok] if not ok.all() else symbols.T)

    def _iter_rows(self, count: int, seed: int) -> Iterator[NDArray[Any]]:
        """The values of :meth:`generate` as :meth:`_walk_rows` matrices, in order."""
        _check_count_seed(count, seed)
        yield from self._accepted(count, seed, unique=False, walk=self._walk_rows)

    def _walk_text(self, seed: int, chunk: Block, lo: int, hi: int) -> _Lines:
        """The accepted values of rows ``lo:hi``, as :meth:`_walk`, in UTF-8, each
        followed by a newline; only for a model that :attr:`writes_text`."""
        t = self._tables
        text = t.text
        assert text is not None, "the model's values may hold a line break"
        symbols, ok = self._walk_kept(seed, chunk, lo, hi)
        width = self.max_length
        matrix = np.empty((hi - lo, width + 1), dtype=symbols.dtype)
        matrix[:, :width] = symbols.T
        # A newline in the last column: the padding between it and the
        # value's last code point goes with the other zeros, and so does
        # all of a rejected row.
        matrix[:, width] = 10
        count = hi - lo
        if not ok.all():
            rejected = np.flatnonzero(~ok)
            matrix[rejected] = 0
            count -= rejected.size
        return _Lines(text.encode(_nonzero(matrix)), count)


def _row_of(rejected: array[int], place: int) -> int:
    """The row of a block that gives its value number ``place``, given its sorted rejected rows.

    The row r such that r minus the rejected rows up to r is ``place``: a
    fixed point, reached in a step or two.
    """
    row = place
    while True:
        moved = place + bisect_right(rejected, row)
        if moved == row:
            return row
        row = moved


def _nonzero(matrix: NDArray[Any]) -> NDArray[Any]:
    """The non-zero elements of ``matrix`` in row-major order, flat.

    ``np.compress`` on the flat array: about twice as fast as boolean indexing.
    """
    flat = matrix.reshape(-1)
    return np.compress(flat != 0, flat)


class _Lines:
    """Values as UTF-8 text, one per line: what :meth:`Model._walk_text` gives."""

    __slots__ = ("count", "data")

    def __init__(self, data: bytes, count: int) -> None:
        self.data = data
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, cut: slice) -> _Lines:
        """The first ``cut.stop`` lines (the only slice :meth:`Model._accepted` takes)."""
        keep = cut.stop
        if keep is None or keep >= self.count:
            return self
        if keep <= 0:
            return _Lines(b"", 0)
        ends = np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == 10)
        return _Lines(self.data[: int(ends[keep - 1]) + 1], keep)


class _RowsWalker:
    """The walk of :meth:`Model.walk_codepoints` for a few chosen rows, in Python integers.

    For a handful of rows the per-step NumPy calls cost more than walking each
    row with Python's integers: PCG64 (the same 128-bit LCG and XSL-RR output
    as NumPy's, started from NumPy's own state for the chunk) jumps to word
    ``step * CHUNK_ROWS + row`` and the edge comes from the same cumulative
    weights. Rows are ones known to be accepted (see :meth:`Model.locate`).
    """

    def __init__(self, model: Model) -> None:
        t = model._tables
        self.start = model.start
        self.max_length = model.max_length
        self.base: list[int] = t.base.tolist()
        self.total: list[int] = t.total.tolist()
        self.cumulative: list[int] = t.cumulative.tolist()
        self.first: list[int] = t.first.tolist()
        self.end: list[int] = (t.last + 1).tolist()
        self.targets: list[int] = t.targets.tolist()
        self.chars = [chr(c) if c else "" for c in t.codepoints.tolist()]
        self.step_jump = _pcg.jump(CHUNK_ROWS)
        self._chunks: dict[tuple[int, tuple[int, ...]], tuple[int, int]] = {}

    def _chunk_state(self, seed: int, block: Block) -> tuple[int, int]:
        key = (seed, _spawn_key(block))
        found = self._chunks.get(key)
        if found is None:
            bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key[1]))
            state = bits.state["state"]
            found = (int(state["state"]), int(state["inc"]))
            if len(self._chunks) > 4096:
                self._chunks.clear()
            self._chunks[key] = found
        return found

    def walk(self, seed: int, block: Block, rows: list[int]) -> list[str]:
        """The values of ``rows`` (accepted rows) of ``block``."""
        s0, inc = self._chunk_state(seed, block)
        step_m, step_g = self.step_jump
        m64, m128 = _pcg.M64, _pcg.M128
        step_plus = (step_g * inc) & m128
        base, total, cumulative = self.base, self.total, self.cumulative
        first, end, targets, chars = self.first, self.end, self.targets, self.chars
        values = []
        for row in rows:
            m, g = _pcg.jump(row + 1)
            s = (m * s0 + g * inc) & m128
            state, text = self.start, []
            for _ in range(self.max_length + 1):
                # _pcg.output(s), inlined: this loop runs once per character
                x = ((s >> 64) ^ s) & m64
                rot = s >> 122
                r = (((x >> rot) | (x << (64 - rot))) & m64) >> 32
                pos = base[state] + ((r * total[state]) >> 32)
                edge = bisect_right(cumulative, pos, first[state], end[state])
                char = chars[edge]
                if not char:
                    break
                text.append(char)
                state = targets[edge]
                s = (step_m * s + step_plus) & m128
            values.append("".join(text))
        return values


def _step_words(bits: np.random.PCG64, lo: int, hi: int) -> NDArray[np.uint64]:
    """Words ``lo:hi`` of the next :data:`CHUNK_ROWS` words of ``bits``, leaving it after them.

    Each step of a chunk consumes one word per row of the whole chunk, so
    row j's draws never depend on how many rows were asked for. Only the
    rows walked are drawn; ``advance`` jumps over the others in O(log n)
    (the same stream as drawing them all), which makes a small count cheap:
    ``generate(10, seed)`` no longer draws 65,536 words per character.
    """
    if lo:
        bits.advance(lo)
    raw: NDArray[np.uint64] = bits.random_raw(hi - lo)
    if hi < CHUNK_ROWS:
        bits.advance(CHUNK_ROWS - hi)
    return raw


class _Text:
    """How a model's code points become UTF-8 text (see :meth:`Model._walk_text`)."""

    @staticmethod
    def encode(flat: NDArray[Any]) -> bytes:
        """UTF-8 of a run of code points (no padding left in it): as they are for
        ASCII, else through Python's codecs from UTF-16 (below U+10000) or UTF-32."""
        if flat.dtype == np.uint8:
            return flat.tobytes()
        codec = "utf-16-le" if flat.dtype == np.uint16 else "utf-32-le"
        return flat.tobytes().decode(codec).encode("utf-8")


@dataclass(frozen=True, eq=False)
class _Tables:
    """Flat arrays the sampler gathers from.

    The walk runs over *walk states*: a (model state, symbol just written)
    pair for each distinct target and token of the model's edges, 0 for
    "the value has ended" and one more for the start. A walk state's base
    and total are its model state's, and one gather maps a weight unit (or,
    past the table's limit, the edge a binary search finds) straight to the
    next walk state, whose code point is what the step writes: the same
    edge for the same draw as walking edges, with fewer passes. The walk
    writes code points ("symbols") in the narrowest type that holds the
    alphabet: one byte for ASCII, two below U+10000, else four.
    """

    base: NDArray[np.uint64]  # per state: cumulative weight before its first edge
    total: NDArray[np.uint64]  # per state: sum of its weights (< 2**32)
    cumulative: NDArray[np.uint64]  # per edge: inclusive global cumulative weight
    codepoints: NDArray[np.uint32]  # per edge: code point emitted, 0 = end
    targets: NDArray[np.intp]
    first: NDArray[np.intp]  # per state: its first edge
    last: NDArray[np.intp]  # per state: its last edge
    search_steps: int  # binary search steps that cover the widest state
    # -- the walk over walk states
    table: NDArray[Any] | None  # weight unit -> next walk state, when small enough
    # For a large table: unit >> coarse_shift -> next walk state, or coarse_mixed
    # where the bucket holds units of more than one edge (then the table says).
    coarse: NDArray[Any] | None
    coarse_shift: int
    coarse_mixed: int
    step_base: NDArray[Any]  # per walk state: its state's base (int64; uint64 without table)
    step_total: NDArray[Any]  # per walk state: its state's total
    step_first: NDArray[np.intp]  # per walk state: its state's first and last edges
    step_last: NDArray[np.intp]
    edge_step: NDArray[np.intp]  # per edge: the walk state it leads to (0: the end)
    symbols: NDArray[Any]  # per walk state: the code point written on entering it
    start_walk: int
    text: _Text | None  # None when a value may hold a line break (or is not valid UTF-8)

    @property
    def step_next(self) -> NDArray[Any] | None:
        """Weight unit -> next walk state (the unit past the end keeps state 0 at 0)."""
        return self.table

    @classmethod
    def build(cls, model: Model) -> _Tables:
        weights = model.weights.astype(np.uint64)
        cumulative = np.cumsum(weights, dtype=np.uint64)
        exclusive = cumulative - weights
        offsets = model.offsets.astype(np.intp)
        base = exclusive[offsets[:-1]]
        total = cumulative[offsets[1:] - 1] - base
        grand = int(cumulative[-1]) if cumulative.size else 0
        alphabet = np.frombuffer(model.alphabet.encode("utf-32-le"), dtype="<u4")
        lut = np.concatenate([np.zeros(1, dtype=np.uint32), alphabet.astype(np.uint32)])
        codepoints = lut[model.tokens]
        targets = model.targets.astype(np.intp)
        first, last = offsets[:-1], offsets[1:] - 1

        # Walk states: 0 (ended), one per distinct (target, token) of the edges
        # that write a code point, then the start.
        size = len(model.alphabet) + 1
        moving = codepoints != 0
        keys = targets[moving] * size + model.tokens[moving].astype(np.intp)
        pairs, inverse = np.unique(keys, return_inverse=True)
        start_walk = pairs.size + 1
        state_of = np.concatenate([[0], pairs // size, [model.start]]).astype(np.intp)
        token_of = np.concatenate([[0], pairs % size, [0]]).astype(np.intp)
        edges = codepoints.size
        edge_step = np.zeros(edges + 1, dtype=np.intp)  # one more: the end's own edge
        edge_step[:edges][moving] = inverse.reshape(-1) + 1

        table = coarse = None
        coarse_shift = mixed_mark = 0
        step_base: NDArray[Any]
        step_total: NDArray[Any]
        if grand <= _TABLE_LIMIT:
            step_base = base.astype(np.int64)[state_of]
            step_total = total.astype(np.int64)[state_of]
            # One allocation: a large table is tens of MB. The last unit (an
            # edge of weight 1 past the others) is state 0's, leading to 0.
            # NumPy's index type for a small table (no conversion when gathering
            # with it); a large one is mostly cache misses: as narrow as it can be.
            kind: type[np.integer[Any]] = np.intp
            if grand > _INTP_TABLE_LIMIT:
                kind = np.uint16 if start_walk < 1 << 16 else np.int32
            repeats = np.append(model.weights, np.uint32(1))
            table = np.repeat(edge_step.astype(kind), repeats)
            mixed_mark = int(np.iinfo(kind).max)
            if grand > _INTP_TABLE_LIMIT and start_walk < mixed_mark:
                coarse_shift = max(0, (grand >> _COARSE_BITS).bit_length())
                coarse = table[:: 1 << coarse_shift].copy()
                # A bucket holds one edge's units unless an edge starts inside it.
                starts = np.append(exclusive, np.uint64(grand)).astype(np.int64)
                inside = starts[(starts & ((1 << coarse_shift) - 1)) != 0] >> coarse_shift
                coarse[inside] = mixed_mark
        else:
            step_base, step_total = base[state_of], total[state_of]
        # State 0 walks in place: its one unit (past the grand total, or
        # its own edge past the last) leads back to 0.
        step_base[0], step_total[0] = grand, 1
        step_first = first[state_of] if first.size else np.zeros(state_of.size, dtype=np.intp)
        step_last = last[state_of] if last.size else np.zeros(state_of.size, dtype=np.intp)
        step_first[0] = step_last[0] = edges
        # Symbols are the code points, in the narrowest type that holds them.
        widest = max(map(ord, model.alphabet), default=0)
        narrow = np.uint8 if widest < 0x80 else np.uint16 if widest < 0x10000 else np.uint32
        symbols = lut[token_of].astype(narrow)
        text = None
        if not any(c in model.alphabet for c in "\n\r") and not any(
            0xD800 <= ord(c) < 0xE000 for c in model.alphabet
        ):
            text = _Text()
        return cls(
            base=base,
            total=total,
            cumulative=np.concatenate([cumulative, [np.uint64(2**64 - 1)]]).astype(np.uint64),
            codepoints=codepoints,
            targets=targets,
            first=first,
            last=last,
            search_steps=int(np.diff(offsets).max()).bit_length() if offsets.size > 1 else 0,
            table=table,
            coarse=coarse,
            coarse_shift=coarse_shift,
            coarse_mixed=mixed_mark,
            step_base=step_base,
            step_total=step_total,
            step_first=step_first,
            step_last=step_last,
            edge_step=edge_step,
            symbols=symbols,
            start_walk=start_walk,
            text=text,
        )

    def search(self, pos: NDArray[np.uint64], state: NDArray[np.intp]) -> NDArray[np.intp]:
        """The next walk state: the edge of ``state``'s model state whose cumulative
        weight interval holds ``pos`` (the first whose inclusive cumulative weight
        exceeds it), found by a binary search confined to that state's edges (a
        handful of vectorised steps, much faster than ``searchsorted`` over every edge).
        """
        lo = self.step_first[state]
        hi = self.step_last[state]
        for _ in range(self.search_steps):
            mid = (lo + hi) >> 1
            right = self.cumulative[mid] <= pos
            lo = np.where(right, mid + 1, lo)
            hi = np.where(right, hi, mid)
        return self.edge_step[lo]

    def codepoints_of(self, symbols: NDArray[Any]) -> NDArray[np.uint32]:
        """The ``[rows, steps]`` code point matrix of a step-major symbol matrix."""
        return np.ascontiguousarray(symbols.T, dtype=np.uint32)


def _check_count_seed(count: int, seed: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise UsageError(f"count must be a non-negative integer, not {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**128:
        raise UsageError(f"seed must be an integer from 0 to 2**128-1, not {seed!r}")
