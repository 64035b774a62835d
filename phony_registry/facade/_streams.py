"""Values one at a time from generators that make them in batches, without changing them.

A model's :meth:`~phony_registry.model.Model.generate` and a schema's
:func:`~phony_registry.schema.generate_table` are *prefix-stable*: the first
``n`` values of a run of ``count >= n`` do not depend on ``count``.
:func:`prefix_values` serves such a producer value by value: it asks for
``first`` values, then ``first * 8``, ``first * 64``... and hands out only the
values past the previous run. What it serves is therefore the same whatever
``first`` is (the n-th value is value n of any run), a short test pays for a
short run, and a long stream re-makes about one value in seven.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from typing import TypeVar

from phony_registry.errors import UsageError

__all__ = ["GROWTH", "prefix_values"]

T = TypeVar("T")

#: Each run is this many times longer than the one before.
GROWTH = 8


def prefix_values(produce: Callable[[int], Iterator[list[T]]], first: int = 256) -> Iterator[T]:
    """The values of ``produce(count)`` for ever growing ``count``, each once, in order.

    ``produce(count)`` yields lists whose concatenation is the first ``count``
    values and must be prefix-stable (see the module docstring). The iterator
    ends only if a run comes back shorter than asked.
    """
    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        raise UsageError(f"buffer size must be a positive integer, not {first!r}")
    return chain.from_iterable(_runs(produce, first))


def _runs(produce: Callable[[int], Iterator[list[T]]], first: int) -> Iterator[list[T]]:
    done, count = 0, first
    while True:
        seen = 0
        for batch in produce(count):
            end = seen + len(batch)
            if end > done:
                yield batch[done - seen :] if seen < done else batch
            seen = end
        if seen < count:  # the producer ran dry: nothing more will come
            return
        done, count = count, count * GROWTH
