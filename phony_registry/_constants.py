"""Numbers that define the ``.phony`` format and its generation, kept free of NumPy.

The NumPy reader (:mod:`phony_registry.model`, :mod:`phony_registry.format`)
and the NumPy-free one for short runs (:mod:`phony_registry._lite`) both
import them from here, so the two can never disagree.
"""

from __future__ import annotations

__all__ = ["CHUNK_ROWS", "FORMAT_VERSION", "MAX_VALUE_LENGTH", "NEWEST_FORMAT_VERSION", "ORDER_MAX"]

#: The format version a model is written in unless it needs a newer one: a
#: model is written in the oldest version that holds it, so models trained
#: with explicit options keep the bytes (and digests) earlier phony gave them.
FORMAT_VERSION = 2
#: The newest format version this phony reads and writes (version 3 adds the
#: ``selection`` record of a model whose order and smoothing training chose).
NEWEST_FORMAT_VERSION = 3
#: Rows per generation chunk. Part of the output's definition: never change it.
CHUNK_ROWS = 1 << 16
#: Longest value a model may generate (code points).
MAX_VALUE_LENGTH = 256
#: Highest N-gram order a model file may declare.
ORDER_MAX = 12
