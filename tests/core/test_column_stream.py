"""ColumnStream.below: exact bounded integers for every bound, one raw value per draw."""

from __future__ import annotations

import numpy as np
import pytest

from phony_registry.errors import GenerationError
from phony_registry.generators import ColumnStream


def _old_small(raw: np.ndarray, bound: int) -> np.ndarray:
    """The multiply-and-shift phony used before rejection was added (bounds up to 2**32)."""
    return ((raw >> np.uint64(32)) * np.uint64(bound)) >> np.uint64(32)


@pytest.mark.parametrize("bound", [1, 2, 3, 7, 10, 1000, 900_000_000, 2**31 + 1, 2**32])
def test_small_bounds_keep_their_values(bound: int) -> None:
    """Up to 2**32, an accepted draw is the value phony always gave; rejections are rare."""
    raw = ColumnStream(11, 0).raw(20_000)
    drawn = ColumnStream(11, 0).below(20_000, bound)
    old = _old_small(raw, bound)
    differ = np.flatnonzero(drawn != old)
    # A rejection happens with probability below bound / 2**32.
    assert len(differ) <= 20_000 * bound / 2**32 * 4 + 2
    assert drawn.dtype == np.uint64
    assert int(drawn.max()) < bound


@pytest.mark.parametrize(
    "bound", [2**32 + 1, 10**12, 10**18, 3 * 2**62, 2**64 - 1, 2**64, 2**64 + 1, 10**30, 2**200]
)
def test_every_value_is_in_range_and_the_type_is_documented(bound: int) -> None:
    drawn = ColumnStream(5, 0).below(2_000, bound)
    assert drawn.dtype == (np.uint64 if bound <= 2**64 else object)
    values = [int(v) for v in drawn]
    assert all(0 <= v < bound for v in values)
    assert len(set(values)) > 1_990  # no collapse onto a few values


def test_no_modulo_bias_near_the_worst_bound() -> None:
    """At 3 * 2**62 a modulo would make the lowest third twice as likely as the others."""
    bound = 3 * 2**62
    drawn = ColumnStream(1, 0).below(300_000, bound)
    thirds = np.bincount((drawn // np.uint64(2**62)).astype(np.int64), minlength=3)
    assert thirds.sum() == 300_000
    assert max(thirds) - min(thirds) < 3_000  # about 5 standard deviations


def test_bounds_past_2_64_are_not_raw_values() -> None:
    bound = 2**64 + 1
    drawn = [int(v) for v in ColumnStream(3, 0).below(1_000, bound)]
    raw = [int(v) for v in ColumnStream(3, 0).raw(2_000)]
    assert drawn != raw[:1_000]
    assert all(v < bound for v in drawn)


@pytest.mark.parametrize("bound", [10**18, 3 * 2**62, 2**100])
def test_batches_and_seeks_give_the_same_draws_with_rejections(bound: int) -> None:
    whole = ColumnStream(4, 0).below(1_000, bound).tolist()
    stream = ColumnStream(4, 0)
    parts = stream.below(1, bound).tolist() + stream.below(999, bound).tolist()
    assert parts == whole
    words = 1 if bound <= 2**64 else 2
    seeked = ColumnStream(4, 0)
    seeked.advance(500 * words)
    assert seeked.below(500, bound).tolist() == whole[500:]


@pytest.mark.parametrize("bound", [0, -1, -(2**70)])
def test_an_empty_range_is_an_error(bound: int) -> None:
    with pytest.raises(GenerationError, match=r"the range \[0, .*\) is empty"):
        ColumnStream(1, 0).below(3, bound)


def test_bound_one_is_zeros_and_still_draws() -> None:
    stream = ColumnStream(1, 0)
    assert stream.below(4, 1).tolist() == [0, 0, 0, 0]
    assert stream.raw(1).tolist() == ColumnStream(1, 0).raw(5).tolist()[4:]


def test_a_bad_bound_type_is_an_error() -> None:
    with pytest.raises(GenerationError, match="bound must be an integer"):
        ColumnStream(1, 0).below(3, 2.5)  # type: ignore[arg-type]
