"""Reading and sampling a small model without NumPy, for ``phony generate NAME --count 10``.

Why it exists: importing NumPy is about 45 % of a short ``phony generate``
(some 67 ms of CPU against 150, benchmarks/startup.py), while reading a
small model and walking a few hundred rows takes pure Python a millisecond
or two. This module gives *the same values* as :class:`phony_registry.model.Model`
for the same file, seed and count, by the same definition (docs/format.md,
"Generation"): PCG64 seeded by ``SeedSequence(seed, spawn_key=(chunk,))``
re-implemented with Python integers, one 64-bit word per row of the whole
chunk at every step, the same integer scaling and the same edge search.
Tests compare both implementations over many models, seeds and counts.

It only ever says yes or "not me": :func:`load_small` returns ``None`` for
anything unusual (a large file, an older format version, an exclusion
list, or any defect at all), and :meth:`SmallModel.generate` returns
``None`` when values are slow to come; the caller then uses the NumPy path,
which gives the same values or the proper error message.
"""

from __future__ import annotations

import binascii
import json
import re
import sys
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from phony_registry._constants import CHUNK_ROWS as _CHUNK_ROWS
from phony_registry._constants import FORMAT_VERSION as _FORMAT_VERSION
from phony_registry._constants import MAX_VALUE_LENGTH as _MAX_VALUE_LENGTH
from phony_registry._constants import NEWEST_FORMAT_VERSION as _NEWEST_FORMAT_VERSION
from phony_registry._constants import ORDER_MAX as _ORDER_MAX
from phony_registry.selection import selection_from_json

__all__ = ["MAX_COUNT", "MAX_FILE_SIZE", "SmallModel", "load_small", "pcg64_words"]

#: Largest count worth sampling in pure Python (beyond, NumPy's import pays off).
MAX_COUNT = 1000
# ... and largest number of characters (count times the mean training length):
# about 4 us each here, so some 30 ms, half of what importing NumPy costs.
_MAX_CHARACTERS = 8000
#: Largest file (bytes) this module reads.
MAX_FILE_SIZE = 256 << 10
# Largest inflated document (bytes) and model (edges) this module reads.
_MAX_INFLATED = 4 << 20
_MAX_EDGES = 50_000

_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_SURROGATE = re.compile("[\ud800-\udfff]")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


# -- NumPy's SeedSequence and PCG64, in Python integers ------------------------


def _uint32_words(n: int) -> list[int]:
    """An integer as little-endian 32-bit words, as NumPy's SeedSequence takes it."""
    words = [n & _M32]
    n >>= 32
    while n:
        words.append(n & _M32)
        n >>= 32
    return words


def _seed_state(seed: int, chunk: int) -> list[int]:
    """``SeedSequence(seed, spawn_key=(chunk,)).generate_state(4, uint64)``."""
    entropy = _uint32_words(seed)
    entropy += [0] * (4 - len(entropy))  # padded to the pool size when spawned
    entropy += _uint32_words(chunk)
    hash_const = 0x43B0D7E5

    def hashmix(value: int) -> int:
        nonlocal hash_const
        value ^= hash_const
        hash_const = (hash_const * 0x931E8875) & _M32
        value = (value * hash_const) & _M32
        return value ^ (value >> 16)

    def mix(x: int, y: int) -> int:
        result = (0xCA01F9DD * x - 0x4973F715 * y) & _M32
        return result ^ (result >> 16)

    pool = [hashmix(entropy[i] if i < len(entropy) else 0) for i in range(4)]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for extra in entropy[4:]:
        for dst in range(4):
            pool[dst] = mix(pool[dst], hashmix(extra))
    out_const = 0x8B51F9DD
    words = []
    for i in range(8):
        value = pool[i % 4] ^ out_const
        out_const = (out_const * 0x58F38DED) & _M32
        value = (value * out_const) & _M32
        words.append(value ^ (value >> 16))
    return [words[i] | words[i + 1] << 32 for i in range(0, 8, 2)]


class _PCG64:
    """NumPy's PCG64 (128-bit LCG, XSL-RR output): ``random_raw`` and ``advance``."""

    def __init__(self, seed: int, chunk: int) -> None:
        s = _seed_state(seed, chunk)
        self.inc = ((s[2] << 64 | s[3]) << 1 | 1) & _M128
        self.state = (self.inc + (s[0] << 64 | s[1])) & _M128
        self.state = (self.state * _PCG_MULT + self.inc) & _M128

    def words(self, n: int) -> list[int]:
        """The next ``n`` 64-bit outputs."""
        state, inc, out = self.state, self.inc, []
        for _ in range(n):
            state = (state * _PCG_MULT + inc) & _M128
            x = ((state >> 64) ^ state) & _M64
            rot = state >> 122
            out.append(((x >> rot) | (x << (64 - rot))) & _M64)
        self.state = state
        return out

    def advance(self, delta: int) -> None:
        """Jump ``delta`` outputs ahead in O(log delta) (the LCG's jump-ahead)."""
        mult, plus, acc_mult, acc_plus = _PCG_MULT, self.inc, 1, 0
        while delta:
            if delta & 1:
                acc_mult = (acc_mult * mult) & _M128
                acc_plus = (acc_plus * mult + plus) & _M128
            plus = ((mult + 1) * plus) & _M128
            mult = (mult * mult) & _M128
            delta >>= 1
        self.state = (acc_mult * self.state + acc_plus) & _M128


def pcg64_words(seed: int, chunk: int, start: int, count: int) -> list[int]:
    """Words ``start:start+count`` of chunk ``chunk``'s PCG64 stream (for tests)."""
    bits = _PCG64(seed, chunk)
    bits.advance(start)
    return bits.words(count)


# -- reading: every check of phony_registry.format, or "not me" ----------------


class _NotMine(Exception):
    """Anything this module does not read; the NumPy path takes over."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise _NotMine  # a repeated key
    return doc


def _int(value: object, lo: int, hi: int, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise _NotMine
    return value


def _text(value: object, *, nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or _SURROGATE.search(value):
        raise _NotMine
    return value


def _object(value: object, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise _NotMine  # missing or unknown fields
    return value


def _u32s(text: object) -> list[int]:
    if not isinstance(text, str):
        raise _NotMine
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise _NotMine from exc
    if len(raw) % 4:
        raise _NotMine
    return memoryview(raw).cast("I").tolist() if raw else []


@dataclass(frozen=True)
class SmallModel:
    """A small, valid, current-version model, as plain lists."""

    column_name: str
    mean_length: float  # of the training values
    alphabet: str
    start: int
    max_length: int
    base: list[int]  # per state: global cumulative weight before its first edge
    total: list[int]  # per state: sum of its weights
    first: list[int]  # per state: its first edge
    end: list[int]  # per state: one past its last edge
    cumulative: list[int]  # per edge: inclusive global cumulative weight
    tokens: list[int]
    targets: list[int]

    def worth_it(self, count: int) -> bool:
        """Whether ``count`` values come faster from here than by importing NumPy."""
        return count <= MAX_COUNT and count * self.mean_length <= _MAX_CHARACTERS

    def generate(self, count: int, seed: int) -> list[str] | None:
        """The values :meth:`Model.generate` gives, or None if they are slow to come."""
        values: list[str] = []
        chunk, lo, attempted = 0, 0, 0
        while len(values) < count:
            if attempted > 8 * count + 4096:
                return None  # many rejected rows: leave it to the vectorised path
            hi = min(_CHUNK_ROWS, lo + 2 * (count - len(values)) + 64)
            if hi == _CHUNK_ROWS:
                # Past the main block, chunk 0's values come from refill
                # blocks: left to the vectorised path (never reached within
                # MAX_COUNT values and the attempts above).
                return None
            values += self._walk(seed, chunk, lo, hi)
            attempted += hi - lo
            lo = hi
        return values[:count]

    def _walk(self, seed: int, chunk: int, lo: int, hi: int) -> list[str]:
        """The accepted values of rows ``lo:hi`` of a chunk, in row order.

        As in :meth:`Model.walk_codepoints`: step ``t`` reads word
        ``t * CHUNK_ROWS + row`` of the chunk's stream; a row ends when it
        draws token 0 and is rejected if it has not ended after
        ``max_length`` characters.
        """
        bits = _PCG64(seed, chunk)
        state = dict.fromkeys(range(lo, hi), self.start)  # live rows, in order
        text: dict[int, list[str]] = {row: [] for row in state}
        done: dict[int, str] = {}
        position = 0  # words of the chunk's stream consumed so far
        for step in range(self.max_length + 1):
            if not state:
                break
            # Only the words from the first to the last live row are drawn;
            # the stream jumps over the others.
            first, last = next(iter(state)), next(reversed(state))
            bits.advance(step * _CHUNK_ROWS + first - position)
            words = bits.words(last - first + 1)
            position = step * _CHUNK_ROWS + last + 1
            for row, s in list(state.items()):
                r = words[row - first] >> 32
                pos = self.base[s] + ((r * self.total[s]) >> 32)
                edge = bisect_right(self.cumulative, pos, self.first[s], self.end[s])
                token = self.tokens[edge]
                if token == 0:
                    del state[row]
                    done[row] = "".join(text.pop(row))
                elif step == self.max_length:
                    del state[row]  # too long: rejected, never truncated
                else:
                    text[row].append(self.alphabet[token - 1])
                    state[row] = self.targets[edge]
        return [done[row] for row in sorted(done)]


def load_small(data: bytes) -> SmallModel | None:
    """The model in ``data`` (a ``.phony`` file's bytes) if small, current and valid, else None.

    Every check :func:`phony_registry.format.load_model` makes is made here
    too (a test feeds both the same broken files): a file this function
    accepts is one the full reader accepts.
    """
    if len(data) > MAX_FILE_SIZE or data[:2] != b"\x1f\x8b" or sys.byteorder != "little":
        return None  # (arrays are read with the machine's byte order)
    try:
        inflater = zlib.decompressobj(wbits=31)
        raw = inflater.decompress(data, _MAX_INFLATED)
        if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
            return None
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs)
        return _model(doc)
    except (_NotMine, zlib.error, UnicodeDecodeError, ValueError, RecursionError):
        return None


def _model(doc: object) -> SmallModel:
    if not isinstance(doc, dict):
        raise _NotMine
    keys = {"format_version", "meta", "model", "training", "generation", "exclude"}
    version = _int(doc.get("format_version"), _FORMAT_VERSION, _NEWEST_FORMAT_VERSION)
    if version == _NEWEST_FORMAT_VERSION:
        keys.add("selection")  # version 3: how training chose the order
    top = _object(doc, keys)
    if version == _NEWEST_FORMAT_VERSION and top["selection"] is not None:
        selection_from_json(top["selection"])  # ValueError: not mine
    if top["exclude"] is not None:
        raise _NotMine  # exclusion hashes: the NumPy path checks them
    meta = _object(
        top["meta"], {"name", "description", "locale", "kind", "license", "source", "created"}
    )
    name = _text(meta["name"], nullable=False)
    _text(meta["description"], nullable=False)
    kind = _text(meta["kind"], nullable=True)
    for key in ("locale", "license", "source"):
        _text(meta[key], nullable=True)
    created = _text(meta["created"], nullable=True)
    if not name or not name.strip():
        raise _NotMine
    if created is not None:
        if not _TIMESTAMP.fullmatch(created):
            raise _NotMine
        datetime.fromisoformat(created.replace("Z", "+00:00"))  # ValueError: not mine
    training = _object(
        top["training"],
        {"values", "unique_values", "characters", "max_length", "length_histogram"},
    )
    big = 2**63 - 1
    values = _int(training["values"], 0, big) or 0
    _int(training["unique_values"], 0, big, nullable=True)
    characters = _int(training["characters"], 0, big) or 0
    longest = _int(training["max_length"], 0, _MAX_VALUE_LENGTH, nullable=True)
    histogram = training["length_histogram"]
    if histogram is not None:
        if not isinstance(histogram, list) or len(histogram) > _MAX_VALUE_LENGTH + 1:
            raise _NotMine
        if longest is not None and len(histogram) != longest + 1:
            raise _NotMine
        for count in histogram:
            _int(count, 0, big)
    generation = _object(top["generation"], {"max_length"})
    max_length = _int(generation["max_length"], 1, _MAX_VALUE_LENGTH)
    return _automaton(
        top["model"],
        column=kind or "value",
        mean_length=characters / values if values else float(max_length or 1),
        max_length=max_length or 1,
    )


def _automaton(value: object, *, column: str, mean_length: float, max_length: int) -> SmallModel:
    m = _object(value, {"order", "alphabet", "start", "offsets", "tokens", "weights", "targets"})
    _int(m["order"], 1, _ORDER_MAX)
    alphabet = _text(m["alphabet"], nullable=False) or ""
    if "\x00" in alphabet or any(b <= a for a, b in pairwise(map(ord, alphabet))):
        raise _NotMine
    start = _int(m["start"], 0, 2**32 - 1) or 0
    offsets, tokens = _u32s(m["offsets"]), _u32s(m["tokens"])
    weights, targets = _u32s(m["weights"]), _u32s(m["targets"])
    edges, states = len(tokens), len(offsets) - 1
    if (
        edges > _MAX_EDGES
        or states < 1
        or offsets[0] != 0
        or offsets[-1] != edges
        or len(weights) != edges
        or len(targets) != edges
        or start >= states
        or any(b <= a for a, b in pairwise(offsets))
        or any(t > len(alphabet) for t in tokens)
        or any(w == 0 for w in weights)
        or any(t >= states for t in targets)
    ):
        raise _NotMine
    cumulative, running = [], 0
    base, total = [], []
    for s in range(states):
        lo, hi = offsets[s], offsets[s + 1]
        if any(b <= a for a, b in pairwise(tokens[lo:hi])):
            raise _NotMine  # tokens must increase within a state
        base.append(running)
        for w in weights[lo:hi]:
            running += w
            cumulative.append(running)
        total.append(running - base[-1])
        if total[-1] > 2**32 - 1:
            raise _NotMine
    return SmallModel(
        column_name=column,
        mean_length=mean_length,
        alphabet=alphabet,
        start=start,
        max_length=max_length,
        base=base,
        total=total,
        first=offsets[:-1],
        end=offsets[1:],
        cumulative=cumulative,
        tokens=tokens,
        targets=targets,
    )
