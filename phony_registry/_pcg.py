"""NumPy's PCG64 in Python integers: jumps and outputs for a few words at a time.

For a handful of draws, Python's integer arithmetic beats creating and
calling a NumPy bit generator (tens of microseconds each), which matters
when a server makes one record per request. The state and increment come
from NumPy itself (``PCG64(...).state``), so the words are NumPy's:
``state' = state * MULT + inc`` (128 bits), then the XSL-RR output of
``state'``. ``tests/core/test_schema_random_access.py`` compares them.
"""

from __future__ import annotations

__all__ = ["M128", "M64", "MULT", "jump", "output", "words"]  # noqa: RUF022 - plain sorted()

M64 = (1 << 64) - 1
M128 = (1 << 128) - 1
MULT = 0x2360ED051FC65DA44385DF649FCCF645


def _powers() -> list[tuple[int, int]]:
    """``(m, g)`` of a jump of 2**i steps, for i = 0..63."""
    powers, mult, plus = [], MULT, 1
    for _ in range(64):
        powers.append((mult, plus))
        plus = ((mult + 1) * plus) & M128
        mult = (mult * mult) & M128
    return powers


_POWERS = _powers()


def jump(delta: int) -> tuple[int, int]:
    """``(m, g)`` such that the state ``delta`` steps on is ``m * state + g * inc``."""
    acc_mult, acc_plus, bit = 1, 0, 0
    while delta:
        if delta & 1:
            mult, plus = _POWERS[bit]
            acc_mult = (acc_mult * mult) & M128
            acc_plus = (acc_plus * mult + plus) & M128
        delta >>= 1
        bit += 1
    return acc_mult, acc_plus


def output(state: int) -> int:
    """The 64-bit word PCG64 outputs for ``state`` (XSL-RR)."""
    x = ((state >> 64) ^ state) & M64
    rot = state >> 122
    return ((x >> rot) | (x << (64 - rot))) & M64


def words(state: int, inc: int, start: int, n: int) -> list[int]:
    """Words ``start:start+n`` of the stream whose current state is ``state``."""
    m, g = jump(start)
    s = (m * state + g * inc) & M128
    out = []
    for _ in range(n):
        s = (s * MULT + inc) & M128
        out.append(output(s))
    return out
