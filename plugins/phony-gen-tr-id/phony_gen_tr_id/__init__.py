"""phony plugin: the ``tr_id`` generator, Turkish national id numbers (TC Kimlik No).

A TC Kimlik No has 11 digits: nine digits, the first not zero, then two check
digits::

    d10 = ((d1 + d3 + d5 + d7 + d9) * 7 - (d2 + d4 + d6 + d8)) mod 10
    d11 = (d1 + d2 + ... + d10) mod 10

Generated numbers pass every validator that checks these rules, which is what
test data needs; they are random, so a real person's number appears only by
chance. Vectorised with numpy (imported when a column is generated).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from phony_registry.generators import BuildContext, ColumnGenerator, ColumnStream, GeneratorFactory
from phony_registry.hookspecs import hookimpl

__all__ = ["TR_ID", "TrIdGenerator", "is_valid_tr_id", "phony_register_generators"]


def is_valid_tr_id(text: str) -> bool:
    """True when ``text`` is 11 digits, the first not 0, with both check digits right."""
    if len(text) != 11 or not text.isascii() or not text.isdigit() or text[0] == "0":
        return False
    d = [int(c) for c in text]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return d[9] == tenth and d[10] == sum(d[:10]) % 10


class TrIdGenerator:
    """Makes valid TC Kimlik numbers from the column's random stream (one draw per row)."""

    requires: Sequence[str] = ()

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        """Return ``n`` numbers as 11-digit strings."""
        import numpy as np

        base = stream.below(n, 900_000_000).astype(np.int64) + 100_000_000  # 9 digits, d1 != 0
        digits = [(base // 10 ** (8 - i)) % 10 for i in range(9)]  # d1..d9
        odd = digits[0] + digits[2] + digits[4] + digits[6] + digits[8]
        even = digits[1] + digits[3] + digits[5] + digits[7]
        tenth = (odd * 7 - even) % 10  # numpy's % is non-negative for a positive modulus
        eleventh = (odd + even + tenth) % 10
        numbers = base * 100 + tenth * 10 + eleventh
        return list(map(str, numbers.tolist()))


def _build(args: Mapping[str, Any], context: BuildContext) -> ColumnGenerator:
    return TrIdGenerator()


TR_ID = GeneratorFactory(
    name="tr_id",
    description="Turkish national id numbers (TC Kimlik No) with valid check digits",
    build=_build,
    arguments={},
)


@hookimpl
def phony_register_generators(register: Callable[[GeneratorFactory], None]) -> None:
    """Register the ``tr_id`` generator."""
    register(TR_ID)
