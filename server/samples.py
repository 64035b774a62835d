"""Live samples: a few values the server generates from a published model.

A model page shows what a model produces before anyone downloads it. Each
request is capped: at most :data:`MAX_SAMPLES` values, a time budget checked
between generated batches (what was produced by then is shown, marked
incomplete), and at most :data:`MAX_CONCURRENT` generations at a time per
process, so a page cannot be turned into a way to burn the server's CPU.

Results are cached per (blob digest, seed, count) in a bounded LRU, and
loaded models per digest in a smaller one: a digest names immutable bytes,
so nothing here is ever stale and replicas need not share anything.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phony_registry.errors import PhonyError, RegistryUnavailable, UsageError

if TYPE_CHECKING:
    from phony_registry.model import Model

__all__ = [
    "DEFAULT_SAMPLES",
    "MAX_CONCURRENT",
    "MAX_SAMPLES",
    "MAX_SEED",
    "SampleCache",
    "Samples",
    "parse_seed",
]

#: Values shown on a model page.
DEFAULT_SAMPLES = 8
#: Most values one request may ask for.
MAX_SAMPLES = 20
#: Largest seed a page accepts (the model's generator takes any 128-bit seed).
MAX_SEED = 2**63 - 1
#: Generations running at once in one server process.
MAX_CONCURRENT = 2


def parse_seed(text: str | None, default: int = 1) -> int:
    """A seed from a query parameter; UsageError unless a whole number 0..MAX_SEED."""
    if text is None or text.strip() == "":
        return default
    text = text.strip()
    if not text.isdigit() or len(text) > 19 or int(text) > MAX_SEED:
        raise UsageError(f"the seed must be a whole number from 0 to {MAX_SEED}")
    return int(text)


@dataclass(frozen=True)
class Samples:
    """The values generated for one (model, seed) and whether the budget cut them short."""

    digest: str
    seed: int
    values: tuple[str, ...]
    complete: bool = True
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON form served to the page's script."""
        return {
            "complete": self.complete,
            "digest": self.digest,
            "error": self.error,
            "seed": self.seed,
            "values": list(self.values),
        }


class SampleCache:
    """Generates capped samples and remembers them per (digest, seed, count)."""

    def __init__(
        self,
        *,
        max_entries: int = 1024,
        max_models: int = 4,
        time_budget: float = 2.0,
        max_samples: int = MAX_SAMPLES,
    ) -> None:
        self.max_entries = max_entries
        self.max_models = max_models
        self.time_budget = time_budget
        self.max_samples = max_samples
        self._results: OrderedDict[tuple[str, int, int], Samples] = OrderedDict()
        self._models: OrderedDict[str, Model] = OrderedDict()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        #: Generations actually run (cache misses), for the curious and the tests.
        self.generated = 0

    def __len__(self) -> int:
        return len(self._results)

    def get(
        self,
        digest: str,
        seed: int,
        load: Callable[[], Model],
        count: int = DEFAULT_SAMPLES,
    ) -> Samples:
        """Samples of the model stored as ``digest`` (``load`` reads it on a miss).

        ``count`` is clamped to ``1..max_samples``. A model that fails to
        load or generate gives an empty result carrying the error message; a
        storage that fails to give the model (``RegistryUnavailable``) is raised.
        """
        count = max(1, min(count, self.max_samples))
        key = (digest, seed, count)
        with self._lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
                return cached
        if not self._slots.acquire(timeout=self.time_budget):
            return Samples(digest, seed, (), complete=False, error="the server is busy; retry")
        try:
            result = self._generate(digest, seed, count, load)
        finally:
            self._slots.release()
        if result.complete:
            with self._lock:
                self._results[key] = result
                self._results.move_to_end(key)
                while len(self._results) > self.max_entries:
                    self._results.popitem(last=False)
        return result

    def _model(self, digest: str, load: Callable[[], Model]) -> Model:
        with self._lock:
            model = self._models.get(digest)
            if model is not None:
                self._models.move_to_end(digest)
                return model
        model = load()
        with self._lock:
            self._models[digest] = model
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
        return model

    def _generate(self, digest: str, seed: int, count: int, load: Callable[[], Model]) -> Samples:
        deadline = time.monotonic() + self.time_budget
        values: list[str] = []
        try:
            model = self._model(digest, load)
            self.generated += 1
            for batch in model.iter_batches(count, seed, unique=True, batch_size=1):
                values.extend(batch)
                if len(values) < count and time.monotonic() > deadline:
                    return Samples(digest, seed, tuple(values), complete=False)
        except RegistryUnavailable:
            # The storage failed, not the model: the caller answers 503, and nothing is cached.
            raise
        except PhonyError as exc:
            if not isinstance(exc, UsageError) and values:
                # Fewer distinct values than asked: what we have is the whole answer.
                return Samples(digest, seed, tuple(values))
            return Samples(digest, seed, tuple(values), complete=bool(values), error=str(exc))
        return Samples(digest, seed, tuple(values))
