"""Generation: pinned outputs, prefix stability, uniqueness, exclusion and sampling weights."""
# ruff: noqa: RUF001 - the Turkish dotless i (U+0131) is the letter under test, not a confusable

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from phony_registry import model as model_module
from phony_registry.errors import GenerationError, UsageError
from phony_registry.format import dump_model, load_model
from phony_registry.model import CHUNK_ROWS, Model
from phony_registry.ngram import read_values, train

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"
NAMES = read_values(SAMPLE)


@pytest.fixture(scope="module")
def order3() -> Model:
    return train(NAMES, name="tr", order=3)


# These lists pin the output format-wide: a change here breaks every user's
# seeds, so it needs a new format version, not a new expectation.
@pytest.mark.parametrize(
    ("order", "seed", "expected"),
    [
        (2, 42, ["Ömirihan", "Özk", "Zelun", "Fe", "İl", "Ban"]),
        (3, 42, ["Ömürkalih", "Özper", "Zemsem", "Fed", "İlbeyhan", "Bas"]),
        (4, 42, ["Ömür", "Özpetek", "Zemzem", "Fedeniz", "İlbey", "Basriye"]),
        (3, 2**64 + 7, ["Delâti", "Gülsi", "Erkay", "Döne", "Mün", "Baş"]),
    ],
)
def test_pinned_outputs(order: int, seed: int, expected: list[str]) -> None:
    model = load_model(dump_model(train(NAMES, name="tr", order=order)))
    assert model.generate(6, seed=seed) == expected


def test_same_seed_same_values_other_seed_other_values(order3: Model) -> None:
    assert order3.generate(200, seed=1) == order3.generate(200, seed=1)
    assert order3.generate(200, seed=1) != order3.generate(200, seed=2)


def test_smaller_count_is_a_prefix_across_chunks(order3: Model) -> None:
    big = order3.generate(CHUNK_ROWS + 500, seed=5)
    assert len(big) == CHUNK_ROWS + 500
    assert order3.generate(10, seed=5) == big[:10]
    assert order3.generate(CHUNK_ROWS + 3, seed=5) == big[: CHUNK_ROWS + 3]


@pytest.mark.parametrize("batch_size", [1, 7, 1000, CHUNK_ROWS * 2])
def test_batch_size_does_not_change_output(order3: Model, batch_size: int) -> None:
    batches = list(order3.iter_batches(3000, seed=3, batch_size=batch_size))
    assert [v for b in batches for v in b] == order3.generate(3000, seed=3)
    assert all(len(b) == batch_size for b in batches[:-1])


def test_binary_search_and_lookup_table_agree(
    order3: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = order3.generate(2000, seed=11)
    monkeypatch.setattr(model_module, "_TABLE_LIMIT", 0)
    fresh = load_model(dump_model(order3))
    assert fresh._tables.table is None
    assert fresh.generate(2000, seed=11) == expected


def test_unique_values_are_distinct_and_deterministic(order3: Model) -> None:
    values = order3.generate(5000, seed=4, unique=True)
    assert len(set(values)) == 5000
    assert values == order3.generate(5000, seed=4, unique=True)


def test_unique_fails_clearly_when_the_model_is_too_small() -> None:
    tiny = train(["ab", "ac"], name="tiny", order=3)  # can only say "ab" or "ac"
    assert tiny.distinct_values == 2
    assert sorted(tiny.generate(2, seed=0, unique=True)) == ["ab", "ac"]
    with pytest.raises(
        GenerationError, match="can produce at most 2 distinct values, fewer than the 3"
    ):
        tiny.generate(3, seed=0, unique=True)


def test_unique_gives_up_after_bounded_attempts() -> None:
    # Three possible values, all excluded: the count check passes, the walk finds none.
    model = train(["ab", "cd", "ef"], name="closed", order=3, exclude_originals=True)
    with pytest.raises(GenerationError, match="produced only 0 distinct values of the 2 requested"):
        model.generate(2, seed=1, unique=True)


def test_distinct_values_counts_paths_within_max_length() -> None:
    assert train(["a", "b", "ab"], name="t", order=3).distinct_values == 3
    looping = train(["aa"], name="t", order=2)  # a -> a loops; values a, aa within length 2
    assert looping.distinct_values == 2
    assert sorted(set(looping.generate(200, seed=1))) == ["a", "aa"]


def test_exclude_originals_never_emits_a_training_value() -> None:
    model = train(NAMES, name="tr", order=3, exclude_originals=True)
    values = model.generate(20_000, seed=8)
    assert len(values) == 20_000
    assert not set(values) & set(NAMES)
    plain = train(NAMES, name="tr", order=3)
    assert set(plain.generate(20_000, seed=8)) & set(NAMES)  # the check above can fail


def test_exclusion_that_leaves_nothing_fails_instead_of_looping() -> None:
    model = train(["ab", "cd"], name="closed", order=3, exclude_originals=True)
    with pytest.raises(GenerationError, match="produced only 0 values"):
        model.generate(5, seed=1)


def test_weights_drive_the_draws() -> None:
    model = train(["x"] * 3 + ["y"], name="w", order=2)
    counts = Counter(model.generate(40_000, seed=0))
    assert set(counts) == {"x", "y"}
    assert 0.73 < counts["x"] / 40_000 < 0.77


def test_values_never_exceed_max_length(order3: Model) -> None:
    values = order3.generate(20_000, seed=6)
    assert max(map(len, values)) <= order3.max_length == max(map(len, NAMES))


def test_turkish_dotted_and_dotless_i_survive(order3: Model) -> None:
    text = "".join(order3.generate(20_000, seed=2))
    assert {"İ", "ı", "ş", "ğ"} <= set(text)


def test_zero_count_and_bad_arguments(order3: Model) -> None:
    assert order3.generate(0, seed=1) == []
    with pytest.raises(UsageError, match="count"):
        order3.generate(-1, seed=1)
    with pytest.raises(UsageError, match="seed"):
        order3.generate(1, seed=-5)
    with pytest.raises(UsageError, match="batch size"):
        list(order3.iter_batches(1, seed=1, batch_size=0))


def test_repr_and_column_name(order3: Model) -> None:
    assert (
        repr(order3) == f"<Model 'tr' order=3 states={order3.num_states} edges={order3.num_edges}>"
    )
    assert order3.column_name == "value"
    assert train(["a"], name="k", kind="city").column_name == "city"


@pytest.mark.parametrize("compact", [0.0, 0.99])
def test_compacting_the_walk_early_or_never_gives_the_same_values(
    order3: Model, monkeypatch: pytest.MonkeyPatch, compact: float
) -> None:
    expected = order3.generate(3000, seed=12)
    monkeypatch.setattr(model_module, "_COMPACT", compact)
    assert order3.generate(3000, seed=12) == expected


# -- temperature -----------------------------------------------------------------


def test_temperature_trades_distinct_values_for_typical_ones(order3: Model) -> None:
    distinct = {
        t: len(set(order3.with_temperature(t).generate(20_000, seed=5))) for t in ("0.5", "1", "2")
    }
    assert distinct["0.5"] < distinct["1"] < distinct["2"]
    assert order3.with_temperature("1") is order3
    assert order3.with_temperature(0.7).generate(300, seed=2) == order3.with_temperature(
        "0.7"
    ).generate(300, seed=2)


def test_temperature_is_deterministic_integers(order3: Model) -> None:
    warm = order3.with_temperature("1.5")
    assert warm.weights.dtype == np.uint32
    assert int(warm.weights.min()) >= 1
    assert warm.tokens is order3.tokens  # the same automaton, other weights
    assert warm.generate(100, seed=9) == order3.with_temperature("1.5").generate(100, seed=9)


@pytest.mark.parametrize("bad", ["0", "11", "abc", "nan", "inf", "0.0999", "10.001"])
def test_temperature_out_of_range_is_a_usage_error(order3: Model, bad: str) -> None:
    with pytest.raises(UsageError, match="temperature"):
        order3.with_temperature(bad)


@pytest.mark.parametrize("edge", ["0.1", "0.10", "10", "10.0", 0.1, 10.0])
def test_temperature_bounds_are_allowed_as_the_message_says(
    order3: Model, edge: str | float
) -> None:
    assert order3.with_temperature(edge).num_edges == order3.num_edges
