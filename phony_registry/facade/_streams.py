"""Values one at a time from generators that make them in batches, from any number of threads.

A model's :meth:`~phony_registry.model.Model.generate` and a schema's
:func:`~phony_registry.schema.generate_table` are *prefix-stable*: the first
``n`` values of a run of ``count >= n`` do not depend on ``count``.
:func:`prefix_batches` serves such a producer batch by batch: it asks for
``first`` values, then ``first * 8``, ``first * 64``... and hands out only the
values past the previous run. What it serves is therefore the same whatever
``first`` is (the n-th value is value n of any run), a short test pays for a
short run, and a long stream re-makes about one value in seven.

A :class:`Stream` hands those values out one at a time. Taking a value is a
``next()`` on the list iterator of the current batch, one step of C code that
the interpreter lock gives to one caller at a time; only the refill, when a
batch runs out, takes a lock of its own. Threads sharing a stream therefore get each of its values
exactly once, in some interleaving, and a single thread pays no lock per value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from operator import length_hint
from typing import Generic, TypeVar

from phony_registry.errors import GenerationError, UsageError

__all__ = ["GROWTH", "Stream", "next_value", "prefix_batches"]

T = TypeVar("T")

#: Each run is this many times longer than the one before.
GROWTH = 8


def prefix_batches(
    produce: Callable[[int], Iterator[list[T]]], first: int = 256
) -> Iterator[list[T]]:
    """The values of ``produce(count)`` for ever growing ``count``, each once, in order, in lists.

    ``produce(count)`` yields lists whose concatenation is the first ``count``
    values and must be prefix-stable (see the module docstring). The iterator
    ends only if a run comes back shorter than asked.
    """
    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        raise UsageError(f"buffer size must be a positive integer, not {first!r}")
    return _runs(produce, first)


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


class Stream(Generic[T]):
    """The values of ``make()`` (an iterator of lists), one at a time, to any number of threads.

    ``make`` is called on the first draw, and again after :meth:`reset`; if
    it fails (a model gone from the cache), the next draw tries again. The
    first ``skip`` values are passed over (where a pickled stream was). When
    the batches run out, every draw is a :class:`GenerationError` saying
    ``dry``. Draw with :func:`next_value` or :meth:`take`.
    """

    __slots__ = ("_batch", "_batches", "_dry", "_lock", "_make", "_skip", "_start", "values")

    def __init__(self, make: Callable[[], Iterable[list[T]]], dry: str, skip: int = 0) -> None:
        self._make = make
        self._dry = dry
        self._lock = threading.Lock()
        self._batches: Iterator[list[T]] | None = None
        #: The current batch, what came before it and what is left of it.
        self._batch: list[T] = []
        self._start = 0
        self.values: Iterator[T] = iter(self._batch)
        self._skip = skip

    def refill(self, spent: Iterator[T]) -> T:
        """The next value, once the caller found the batch iterator ``spent`` empty."""
        while True:
            with self._lock:
                # Another thread may have refilled since: only an empty batch is replaced.
                if self.values is spent:
                    self._advance()
                values = self.values
            for value in values:
                return value
            spent = values

    def take(self, count: int) -> list[T]:
        """The next ``count`` values at once, as ``count`` draws."""
        out: list[T] = []
        while len(out) < count:
            values = self.values
            out.extend(islice(values, count - len(out)))
            if len(out) < count:
                with self._lock:
                    if self.values is values:
                        self._advance()
        return out

    def _advance(self) -> None:
        """Move to the next non-empty batch (under the lock)."""
        if self._batches is None:
            self._batches = iter(self._make())
        start, skip = self._start + len(self._batch), self._skip
        for batch in self._batches:
            if len(batch) <= skip:
                start, skip = start + len(batch), skip - len(batch)
                continue
            values = iter(batch)
            if skip:
                next(islice(values, skip, skip), None)
            self._start, self._skip, self._batch, self.values = start, 0, batch, values
            return
        self._start, self._skip, self._batch = start, skip, []
        self.values = iter(self._batch)
        raise GenerationError(self._dry)

    def position(self) -> int:
        """How many values this stream gave (or passed over) since it started."""
        with self._lock:
            return self._start + self._skip + len(self._batch) - length_hint(self.values)

    def reset(self) -> None:
        """Start again: the next draw calls ``make()`` anew, and passes nothing over."""
        with self._lock:
            self._batches, self._batch, self._start, self._skip = None, [], 0, 0
            self.values = iter(self._batch)


def next_value(stream: Stream[T]) -> T:
    """The next value of ``stream``: a ``next()`` on its current batch, a refill when empty."""
    values = stream.values
    try:
        return next(values)
    except StopIteration:
        return stream.refill(values)
