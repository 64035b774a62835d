"""``--exclude-originals``: the hash of docs/format.md and the membership test, checked."""

from __future__ import annotations

import random

import numpy as np
import pytest

from phony_registry.model import Exclusion, _step_hashes, value_hashes
from phony_registry.ngram import codepoint_matrix

MASK = (1 << 64) - 1


def _reference_hash(value: str, salt: int) -> int:
    """The hash as docs/format.md defines it, in Python integers."""
    h = salt
    for ch in value:
        h = ((h ^ ord(ch)) * 0x100000001B3) & MASK
    h ^= len(value)
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & MASK
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & MASK
    return h ^ (h >> 31)


def _values(rng: random.Random, count: int) -> list[str]:
    # Lengths 1..20 (most short, a few long: the compacted path), ASCII,
    # Turkish letters and a character outside the BMP.
    letters = "abcdefghijklmnopqrstuvwxyz\u00e7\u011f\u0131\u015f\u00f6\u00fc\U0001d538"
    return [
        "".join(rng.choice(letters) for _ in range(min(20, 1 + int(rng.expovariate(1 / 6)))))
        for _ in range(count)
    ]


@pytest.mark.parametrize("salt", [0, 0x0123456789ABCDEF, MASK])
def test_hashes_are_the_formats(salt: int) -> None:
    values = _values(random.Random(salt), 3000)
    width = max(map(len, values))
    matrix = codepoint_matrix(values, width)
    expected = [_reference_hash(v, salt) for v in values]
    assert value_hashes(matrix, salt).tolist() == expected
    # the walk's step-major matrix, in a narrow type, with padding steps past the longest
    steps = np.zeros((width + 3, len(values)), dtype=np.uint32)
    steps[:width] = matrix.T
    assert _step_hashes(steps, salt).tolist() == expected


def test_membership_is_exact_in_crowded_and_empty_slots() -> None:
    rng = np.random.default_rng(5)
    training = rng.integers(0, 2**64, size=500, dtype=np.uint64)
    # Many hashes sharing their top bits: slots holding several training hashes.
    crowded = (np.uint64(0xABCD) << np.uint64(48)) | rng.integers(0, 2**40, 50, dtype=np.uint64)
    training = np.unique(np.concatenate([training, crowded]))
    exclusion = Exclusion(salt=1, hashes=training)
    _, keys, _ = exclusion._slots
    queries = np.concatenate(
        [
            training,
            rng.integers(0, 2**64, size=20_000, dtype=np.uint64),
            crowded + np.uint64(1),  # near misses in the crowded slots
            keys,  # every slot's key, the empty ones' among them
            np.array([0, 2**64 - 1], dtype=np.uint64),
        ]
    )
    known = set(training.tolist())
    assert exclusion.contains(queries).tolist() == [q in known for q in queries.tolist()]
    assert Exclusion(salt=1, hashes=np.array([], dtype=np.uint64)).contains(queries).sum() == 0
