"""Training: counts, normalisation, input files and their errors, statistics."""
# ruff: noqa: RUF001 - the Turkish dotless i (U+0131) is the letter under test, not a confusable

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from phony_registry import ngram
from phony_registry.errors import TrainingError, UsageError
from phony_registry.format import dump_model, load_document, load_model
from phony_registry.model import Model, value_hashes
from phony_registry.ngram import created_timestamp, model_stats, read_values, train

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


def test_bigram_counts_become_the_automaton() -> None:
    model = train(["ab", "ab", "ab", "ac"], name="t", order=2)
    assert model.alphabet == "abc"
    # state 0 = start context, 1 = "a", 2 = "b", 3 = "c"
    assert model.start == 0
    assert model.offsets.tolist() == [0, 1, 3, 4, 5]
    assert model.tokens.tolist() == [1, 2, 3, 0, 0]  # a | b c | end | end
    assert model.weights.tolist() == [4, 3, 1, 3, 1]
    assert model.targets.tolist() == [1, 2, 3, 0, 0]
    assert model.training.values == 4
    assert model.training.unique_values == 2
    assert model.training.characters == 8
    assert model.training.length_histogram == (0, 0, 4)


def test_order_one_has_a_start_state_that_never_ends() -> None:
    model = train(["aa", "b"], name="t", order=1)
    # state 0 = every position (unigram counts), 1 = the start: the same counts without the end
    assert model.num_states == 2
    assert model.start == 1
    assert model.tokens.tolist() == [0, 1, 2, 1, 2]
    assert model.weights.tolist() == [2, 2, 1, 2, 1]
    assert model.targets.tolist() == [1, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("order", "smoothing"),
    [(1, "none"), (2, "witten-bell"), (2, "kneser-ney"), (2, "modified-kneser-ney")],
)
def test_no_model_emits_an_empty_value(order: int, smoothing: str) -> None:
    # Order 1 used to end one walk in six at its first step: 1,654 empty
    # strings in 10,000 values; smoothed order-2 models borrowed the end too.
    model = train(read_values(SAMPLE), name="t", order=order, smoothing=smoothing)
    values = model.generate(10_000, seed=1)
    assert "" not in values
    assert len(values) == 10_000


def test_values_are_stripped_nfc_and_keep_their_case() -> None:
    decomposed = unicodedata.normalize("NFD", "İpek")
    assert len(decomposed) == 5
    model = train([f"  {decomposed}  ", "", "   ", "ılgın"], name="t", order=2)
    assert model.training.values == 2
    assert "İ" in model.alphabet
    assert "ı" in model.alphabet
    assert "\u0307" not in model.alphabet  # combining dot composed away
    assert "i" not in model.alphabet
    assert "I" not in model.alphabet


def test_empty_input_is_a_training_error() -> None:
    with pytest.raises(TrainingError, match="nothing to train on"):
        train(["", "  "], name="t")


@pytest.mark.parametrize("order", [0, 13, "3", True])
def test_order_must_be_in_range(order: object) -> None:
    with pytest.raises(UsageError, match="order must be an integer from 1 to 12"):
        train(["a"], name="t", order=order)  # type: ignore[arg-type]


def test_too_long_value_is_refused() -> None:
    with pytest.raises(TrainingError, match="value 2 is 300 characters long"):
        train(["ok", "x" * 300], name="t")


def test_retraining_gives_identical_bytes() -> None:
    values = read_values(SAMPLE)
    a = dump_model(train(values, name="n", exclude_originals=True))
    b = dump_model(train(list(reversed(values)), name="n", exclude_originals=True))
    assert a == b


def test_text_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    path.write_bytes("\ufeffAyşe\r\nİsmail\n\nılgın\n".encode())
    assert read_values(path) == ["Ayşe", "İsmail", "", "ılgın"]


def test_csv_column_by_header_with_bom_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text('\ufeffid,first_name,city\n1,Ayşe,"İzmir, TR"\n2,"Ali",Van\n', "utf-8")
    assert read_values(path, column="first_name") == ["Ayşe", "Ali"]
    assert read_values(path, column="city") == ["İzmir, TR", "Van"]


def test_missing_column_lists_the_available_ones(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,first_name\n1,Ayşe\n", "utf-8")
    with pytest.raises(TrainingError, match=r"no column 'name' \(columns: id, first_name\)"):
        read_values(path, column="name")
    with pytest.raises(
        TrainingError, match=r"choose a column with --column \(columns: id, first_name\)"
    ):
        read_values(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
        ("Ayşe\n".encode("iso-8859-9"), r"not UTF-8 text \(byte 0xfe at offset 2\)"),
    ],
)
def test_binary_and_non_utf8_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    with pytest.raises(TrainingError, match=message):
        read_values(path)


def test_created_comes_from_option_or_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert created_timestamp() is None
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert created_timestamp() == "2023-11-14T22:13:20Z"
    assert created_timestamp("2024-02-29T10:00:00+02:00") == "2024-02-29T08:00:00Z"
    assert created_timestamp("0999-06-01T00:00:00Z") == "0999-06-01T00:00:00Z"  # 4 digits
    for edge in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):  # past UTC's years
        with pytest.raises(UsageError, match="out of range in UTC"):
            created_timestamp(edge)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        created_timestamp()
    with pytest.raises(UsageError, match="ISO 8601"):
        created_timestamp("last tuesday")


def test_exclusion_hashes_cover_every_distinct_value() -> None:
    model = train(["ab", "ab", "cd"], name="t", exclude_originals=True)
    assert model.exclude is not None
    assert model.exclude.hashes.size == 2
    assert np.all(np.diff(model.exclude.hashes.astype(np.float64)) > 0)


def test_stats_figures() -> None:
    names = read_values(SAMPLE)
    model = train(names, name="tr", order=3)
    figures = model_stats(model, sample=2000, seed=1, originals=names)
    assert figures["ngrams"] == model.num_edges
    assert figures["states"] == model.num_states
    assert sum(figures["training"]["length_histogram"]) == 1497
    assert 0 < figures["entropy"]["bits_per_token"] < np.log2(len(model.alphabet) + 1)
    assert 0.9 < figures["sample"]["novelty"] < 0.99  # order 3 on 1,497 names: mostly new
    deterministic = train(["ab"], name="d", order=2)
    flat = model_stats(deterministic, sample=10, originals=["ab"])
    assert flat["entropy"]["bits_per_value"] == 0
    assert flat["sample"]["novelty"] == 0


def test_stats_novelty_from_exclusion_hashes() -> None:
    names = read_values(SAMPLE)
    excluding = train(names, name="tr", order=3, exclude_originals=True)
    hashed = model_stats(excluding, sample=2000)
    measured = model_stats(train(names, name="tr", order=3), sample=2000, originals=names)
    # The raw walks of both models repeat training values equally often...
    assert hashed["sample"]["walk_novelty"] == pytest.approx(measured["sample"]["novelty"])
    assert measured["sample"]["walk_novelty"] is None
    # ...but the excluding model's sample is what generate emits: nothing known.
    assert hashed["sample"]["novelty"] == 1.0
    assert hashed["sample"]["accepted"] < measured["sample"]["accepted"]
    checked = model_stats(excluding, sample=2000, originals=names)
    assert checked["sample"]["novelty"] == 1.0
    assert not set(excluding.generate(2000, seed=0)) & set(names)
    assert model_stats(train(names, name="tr"), sample=100)["sample"]["novelty"] is None


def test_witten_bell_interpolates_with_the_shorter_context() -> None:
    model = train(["ab", "ab", "c", "a"], name="t", order=2, smoothing="witten-bell")
    plain = train(["ab", "ab", "c", "a"], name="t", order=2)
    assert model.num_states == plain.num_states
    a = 1  # states: start, "a", "b", "c"
    lo, hi = int(model.offsets[a]), int(model.offsets[a + 1])
    tokens = model.tokens[lo:hi].tolist()
    weights = model.weights[lo:hi].tolist()
    # N_a = 3 (b, b, end), u_a = 2; the empty context saw 10 tokens: end 4, a 3, b 2, c 1
    # weight(x) = count_a(x) * 10 + u_a * lower(x)
    expected = {0: 1 * 10 + 2 * 4, 1: 2 * 3, 2: 2 * 10 + 2 * 2, 3: 2 * 1}
    assert dict(zip(tokens, weights, strict=True)) == expected


def test_witten_bell_invents_more_and_stays_loadable() -> None:
    names = read_values(SAMPLE)
    known = set(names)
    plain = train(names, name="n", order=5)
    smooth = load_model(dump_model(train(names, name="n", order=5, smoothing="witten-bell")))
    novel = [sum(v not in known for v in m.generate(5000, seed=1)) for m in (plain, smooth)]
    assert novel[1] > 2 * novel[0]


def test_kneser_ney_borrows_by_continuation_counts() -> None:
    model = train(["ab", "ab", "c", "a"], name="t", order=2, smoothing="kneser-ney")
    a = 1  # states: start, "a", "b", "c"
    lo, hi = int(model.offsets[a]), int(model.offsets[a + 1])
    tokens = model.tokens[lo:hi].tolist()
    weights = model.weights[lo:hi].tolist()
    # N_a = 3 (b, b, end), u_a = 2, D = 9/10. Continuation counts of the empty
    # context (how many contexts each token follows): end 3 (a, b, c), a 1,
    # b 1, c 1; 6 in all. weight(x) = (10 count_a(x) - 9)^+ * 6 + 9 u_a K(x)
    expected = {0: 1 * 6 + 18 * 3, 1: 18 * 1, 2: 11 * 6 + 18 * 1, 3: 18 * 1}
    assert dict(zip(tokens, weights, strict=True)) == expected


def test_kneser_ney_invents_more_than_witten_bell_and_stays_loadable() -> None:
    names = read_values(SAMPLE)
    known = set(names)
    novel = []
    for smoothing in ("witten-bell", "kneser-ney"):
        model = load_model(dump_model(train(names, name="n", order=4, smoothing=smoothing)))
        novel.append(sum(v not in known for v in model.generate(5000, seed=1)))
    assert novel[1] > novel[0]


def test_unknown_smoothing() -> None:
    with pytest.raises(UsageError, match="unknown smoothing 'laplace'"):
        train(["a"], name="t", smoothing="laplace")


# -- choosing order and smoothing (issue 18) ------------------------------------


def test_selection_is_reproducible_and_recorded() -> None:
    values = read_values(SAMPLE)
    first = train(values, name="n")
    again = train(list(reversed(values)), name="n")  # same data, another order of lines
    assert first.selection is not None
    assert first.selection == again.selection
    assert dump_model(first) == dump_model(again)
    chosen = first.selection
    assert (first.order, chosen.order) == (chosen.order, first.order)
    assert chosen.folds == 5
    assert chosen.chosen.novelty is not None
    assert chosen.chosen.novelty >= ngram.MIN_NOVELTY  # these names: nothing excluded
    assert first.exclude is None
    # the chosen setting is the best-predicting candidate among those novel enough
    novel = [c for c in chosen.candidates if c.novelty is not None and c.novelty >= 0.45]
    assert chosen.chosen == min(novel, key=lambda c: c.bits_per_character)
    assert len(chosen.candidates) >= 8
    loaded = load_model(dump_model(first))
    assert loaded.format_version == 3
    assert loaded.selection == chosen


def _swedish_names() -> list[str]:
    """Faker's sv_SE first names (MIT): an order-4 model of them copies about a fifth
    of its values, more than the novelty floor allows."""
    from faker.providers.person.sv_SE import Provider

    names: set[str] = set()
    for attribute in ("first_names_female", "first_names_male", "first_names"):
        names.update(getattr(Provider, attribute, ()))
    return sorted(names)


def _excluded(model: Model, values: list[str]) -> list[bool]:
    assert model.exclude is not None
    points = ngram.codepoint_matrix(values, max(map(len, values)))
    return model.exclude.contains(value_hashes(points, model.exclude.salt)).tolist()


def test_selection_excludes_a_share_of_training_values_to_reach_the_floor() -> None:
    names = _swedish_names()
    model = train(names, name="sv")
    chosen = model.selection
    assert chosen is not None
    assert chosen.min_novelty == ngram.MIN_NOVELTY == 0.9
    assert chosen.chosen.novelty is not None
    assert chosen.chosen.novelty < ngram.MIN_NOVELTY
    assert model.exclude is not None
    assert not model.excludes_originals
    excluded = _excluded(model, names)
    assert 0 < sum(excluded) < len(names)
    # Exactly (no sampling): the walks left are at least 90 % new.
    p = model.value_probabilities(names)
    dropped = float(p[np.array(excluded)].sum())
    copied = (float(p.sum()) - dropped) / (model.accepted_mass - dropped)
    assert 1 - copied >= ngram.MIN_NOVELTY
    assert dropped / model.accepted_mass <= ngram.MAX_EXCLUDED_MASS
    # As generated: excluded names never come out, the others still do.
    drawn = Counter(model.generate(40_000, seed=3))
    gone = {name for name, hit in zip(names, excluded, strict=True) if hit}
    assert not gone & set(drawn)
    assert set(drawn) & (set(names) - gone)
    new = sum(n for value, n in drawn.items() if value not in set(names)) / 40_000
    assert new == pytest.approx(1 - copied, abs=0.01)
    # Which names are excluded depends on the set of values, not their order.
    assert dump_model(train(list(reversed(names)), name="sv")) == dump_model(model)
    info = load_model(dump_model(model))
    assert info.exclude is not None
    assert not info.excludes_originals


def test_keep_originals_and_an_explicit_order_exclude_nothing() -> None:
    names = _swedish_names()
    kept = train(names, name="sv", exclude_originals=False)
    assert kept.exclude is None
    assert kept.selection is not None
    assert kept.selection.chosen.novelty is not None
    assert kept.selection.chosen.novelty >= ngram.MIN_NOVELTY  # by choosing another candidate
    assert train(names, name="sv", order=4).exclude is None
    every = train(names, name="sv", exclude_originals=True)
    assert every.excludes_originals
    assert all(_excluded(every, names))


def test_a_candidate_that_copies_past_the_cap_is_passed_over() -> None:
    model = train(["Anna", "Anne", "Anni"], name="a")
    selection = model.selection
    assert selection is not None
    assert selection.chosen.novelty is not None
    reach = ngram.MIN_NOVELTY * (1 - ngram.MAX_EXCLUDED_MASS)
    better = [
        c
        for c in selection.candidates
        if c.bits_per_character < selection.chosen.bits_per_character
    ]
    assert better
    assert all(c.novelty is not None and c.novelty < reach for c in better)
    assert selection.chosen.novelty >= reach


def test_value_probabilities_are_the_generated_shares() -> None:
    model = train(["ab", "abc", "b", "ca"], name="t", order=2, smoothing="witten-bell")
    drawn = Counter(model.generate(200_000, seed=1))
    values = ["ab", "abc", "b", "ca", "zz", "a" * 500]
    shares = model.value_probabilities(values) / model.accepted_mass
    for value, share in zip(values, shares.tolist(), strict=True):
        assert drawn[value] / 200_000 == pytest.approx(share, abs=0.004)
    assert shares[-2:].tolist() == [0.0, 0.0]  # a letter it never saw; past max_length
    assert 0 < model.accepted_mass <= 1


def test_an_explicit_order_keeps_the_former_model_and_format() -> None:
    values = read_values(SAMPLE)
    model = train(values, name="n", order=4)
    assert model.selection is None
    assert model.format_version == 2
    assert load_document(dump_model(model))["format_version"] == 2
    assert dump_model(model) == dump_model(train(values, name="n", order=4, smoothing="none"))


def test_selection_with_a_fixed_smoothing_chooses_only_the_order() -> None:
    model = train(read_values(SAMPLE)[:400], name="n", smoothing="kneser-ney")
    assert model.selection is not None
    assert {c.smoothing for c in model.selection.candidates} == {"kneser-ney"}
    assert model.selection.smoothing == "kneser-ney"


def test_too_few_values_to_hold_out_train_the_fixed_default() -> None:
    model = train(["abc", "abc"], name="n")
    assert model.selection is None
    assert model.order == 4


def test_modified_kneser_ney_invents_more_than_counts() -> None:
    values = read_values(SAMPLE)
    known = set(values)
    plain = train(values, name="n", order=4)
    smoothed = train(values, name="n", order=4, smoothing="modified-kneser-ney")
    share = [
        sum(v not in known for v in m.generate(5000, seed=3)) / 5000 for m in (plain, smoothed)
    ]
    assert share[1] > share[0] + 0.1
    # every shorter context is a state, so the automaton is larger but still closed
    assert smoothed.num_states > plain.num_states
    assert int(smoothed.targets.max()) < smoothed.num_states


# -- what selection costs (issue 18, part 2) ------------------------------------


def _split(values: list[str]) -> tuple[Counter[str], list[tuple[str, int]]]:
    by_value = Counter(ngram._clean(values))
    train_part = Counter({v: c for v, c in by_value.items() if ngram._fold_of(v, 5) != 0})
    held = sorted((v, c) for v, c in by_value.items() if ngram._fold_of(v, 5) == 0)
    return train_part, held


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("smoothing", ["none", "witten-bell", "kneser-ney"])
def test_held_out_figures_are_those_of_the_built_table(order: int, smoothing: str) -> None:
    # The scorer asks only for the held-out characters' probabilities, from
    # counts of everything minus the fold: the same floats as the full table.
    values = read_values(SAMPLE)
    train_part, held = _split(values)
    whole = ngram._count(Counter(ngram._clean(values)), order)
    minus = whole.copy()
    minus.subtract(ngram._count(Counter(dict(held)), order))
    vocabulary = len(set("".join(values))) + 1
    table = ngram._plain_probability(ngram._grams(train_part, order, smoothing))
    fast = ngram._probability(+minus, order, smoothing, set("".join(train_part)))
    assert ngram._bits(fast, held, order, vocabulary) == ngram._bits(table, held, order, vocabulary)


def test_modified_kneser_ney_figure_is_the_built_models_within_rounding() -> None:
    values = read_values(SAMPLE)
    train_part, held = _split(values)
    grams = ngram._modified_kneser_ney(train_part, 4)
    totals: Counter[str] = Counter()
    for (ctx, _), weight in grams.items():
        totals[ctx] += weight

    def walk(ctx: str, nxt: str) -> float:  # the automaton: longest seen suffix
        while ctx not in totals:
            ctx = ctx[1:]
        return grams.get((ctx, nxt), 0) / totals[ctx]

    vocabulary = len(set("".join(values))) + 1
    quantised, n = ngram._bits(walk, held, 4, vocabulary)
    exact, _ = ngram._bits(
        ngram._mkn_probability(ngram._count(train_part, 4), 4, set("".join(train_part))),
        held,
        4,
        vocabulary,
    )
    assert abs(quantised - exact) / n < 0.005  # bits per character


@pytest.mark.parametrize("order", [2, 3, 5])
@pytest.mark.parametrize("smoothing", ngram.SMOOTHINGS)
def test_edge_estimate_bounds_the_built_model(order: int, smoothing: str) -> None:
    values = read_values(SAMPLE)
    by_value = Counter(ngram._clean(values))
    built = train(values, name="n", order=order, smoothing=smoothing).num_edges
    estimate = ngram.estimate_edges(by_value, order, smoothing)
    assert estimate >= built
    if smoothing == "none":
        assert estimate == built
    exact = ngram.estimate_edges(by_value, order, smoothing, exact_below=estimate // 2)
    assert built <= exact <= estimate


def test_selection_never_passes_the_edge_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    values = read_values(SAMPLE)
    monkeypatch.setattr(ngram, "MAX_SELECTED_EDGES", 20_000)
    model = train(values, name="n")
    assert model.selection is not None
    assert model.num_edges <= 20_000
    assert (model.order, model.selection.smoothing) != (4, "modified-kneser-ney")
    assert all(
        ngram.estimate_edges(Counter(values), c.order, c.smoothing, exact_below=20_000) <= 20_000
        for c in model.selection.candidates
    )


def test_a_large_list_is_cross_validated_on_a_bounded_subsample() -> None:
    # 30,000 distinct values, about 270,000 characters: scored on ~60,000.
    rng = random.Random(5)
    letters = "abcdefghijklmnoprstuvyz"
    values = sorted({"".join(rng.choices(letters, k=rng.randint(4, 12))) for _ in range(30_000)})
    measured = ngram.cross_validate(Counter(values), orders=range(1, 4))
    assert measured is not None
    held = measured.selection.held_out_characters
    assert ngram.CV_CHARACTERS <= held <= ngram.CV_CHARACTERS + 13
    shuffled = list(values)
    rng.shuffle(shuffled)
    again = ngram.cross_validate(Counter(shuffled), orders=range(1, 4))
    assert again is not None
    assert again.selection == measured.selection


def test_noise_is_the_standard_error_of_the_fold_differences() -> None:
    same = [(10.0, 5), (20.0, 10)]
    assert ngram._noise(same, same) == 0.0
    # per-fold differences 0.1 and 0.3: sd 0.1414, over sqrt(2) folds
    worse = [(10.5, 5), (23.0, 10)]
    assert ngram._noise(worse, same) == pytest.approx(0.1)
