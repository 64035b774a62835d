"""Recently served blocks of records, as JSON text, in a cache bounded in bytes.

A page of 20 records costs about as much as walking each model column once
for a few rows (the per-step NumPy calls dominate), while a whole aligned
block of :data:`BLOCK_ROWS` rows costs only about three times as much. So a
collection makes the block a page lies in, keeps each record's JSON text,
and answers the next pages of that block by slicing.

Memory stays bounded: blocks are evicted least recently used first once
their text (counted as Python holds it) passes the budget, 16 MiB by
default (``--cache-mb``), whatever the collections' sizes. A block is made
whole only on its *second* miss among the last :data:`GHOSTS` misses; a first
miss computes just the rows asked for, as before. So random pages spread
over millions of records (which would only evict each other's blocks) cost
what they did without the cache, and a page people come back to is cached.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["BLOCK_ROWS", "BlockCache", "DEFAULT_CACHE_MB", "GHOSTS"]  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks

#: Rows per block; blocks start at multiples of it.
BLOCK_ROWS = 1024
#: Default budget of a process's cache, MiB.
DEFAULT_CACHE_MB = 16
#: Blocks remembered as missed once (keys only).
GHOSTS = 256


class BlockCache:
    """Blocks of records' JSON text by key, least recently used evicted past ``budget`` bytes."""

    def __init__(self, budget: int = DEFAULT_CACHE_MB << 20, ghosts: int = GHOSTS) -> None:
        self.budget = budget
        self.size = 0
        self._blocks: OrderedDict[Hashable, tuple[list[str], int]] = OrderedDict()
        self._ghosts: OrderedDict[Hashable, None] = OrderedDict()
        self._max_ghosts = ghosts
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._blocks)

    def get(self, key: Hashable) -> list[str] | None:
        """The block under ``key``, marked as just used; None if not cached."""
        with self._lock:
            found = self._blocks.get(key)
            if found is None:
                return None
            self._blocks.move_to_end(key)
            return found[0]

    def admit(self, key: Hashable) -> bool:
        """Record a miss of ``key``: True if it was missed recently too (make it whole)."""
        if self.budget <= 0:
            return False
        with self._lock:
            if key in self._ghosts:
                del self._ghosts[key]
                return True
            self._ghosts[key] = None
            if len(self._ghosts) > self._max_ghosts:
                self._ghosts.popitem(last=False)
            return False

    def put(self, key: Hashable, block: list[str]) -> None:
        """Keep ``block`` under ``key``, evicting the least recently used past the budget."""
        size = sys.getsizeof(block) + sum(map(sys.getsizeof, block))
        if size > self.budget:
            return
        with self._lock:
            old = self._blocks.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._blocks[key] = (block, size)
            self.size += size
            while self.size > self.budget:
                _, (_, evicted) = self._blocks.popitem(last=False)
                self.size -= evicted

    def clear(self) -> None:
        """Forget every block and miss."""
        with self._lock:
            self._blocks.clear()
            self._ghosts.clear()
            self.size = 0
