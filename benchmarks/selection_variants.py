"""Variants of the best fixed setting (order 4, modified Kneser-Ney) that might invent more.

    .venv/bin/python benchmarks/selection_variants.py [--count 10000] [--seeds 1 2 3]
        [--sets tuning validation] [--criterion]

Issue 18 asks the default for more distinct new-and-real values than any
single fixed order and smoothing. The best fixed setting on the six training
sets of ``benchmarks/selection.py`` is order 4 with modified Kneser-Ney; this
script measures what might beat it, with the same data, the same reference
of real names and the same figures (novelty, new & real; see that script):

- the model itself: discounts scaled at every level, at the highest order
  only, or below it; coarser or finer weights (units per state, which also
  moves the pruning threshold); lower levels from raw counts instead of
  continuation counts (interpolated absolute discounting); a temperature;
- a use of it: the same model never emitting a training value (rejection,
  as ``--exclude-originals`` does), or emitting each only with probability
  0.3 or 0.5 (a model weighing its training values down), which is not an
  order or smoothing;
- with ``--criterion``, a selection criterion: the expected number of
  distinct held-out values in 10,000 draws, over 5 folds of the training
  values (a direct estimate of "new & real" from the training data alone),
  and the candidate it would pick;
- with ``--mixture``, per-locale mixing on the two tuning sets that join two
  locales (a model per locale, drawn in proportion to its names);
- with ``--exact``, expected figures instead of samples (no seed noise): the
  expected number of distinct new & real values in ``--count`` draws, from
  each reference name's probability under the model, for orders 3, 4 and 5,
  mixtures of two of them drawn value by value, and each order with its
  training values thinned just enough to reach a novelty;
- with ``--raise-discounts``, expected figures of a selection that meets
  the former 80 % novelty floor by raising a candidate's highest-order
  discounts (D1 alone, or D1, D2 and D3+ together, by up to 2x) instead of
  passing to the next candidate: the first candidate by held-out
  cross-entropy that some raise brings to the floor, with the smallest
  such raise;
- with ``--floors``, expected figures of the default at novelty floors of
  80 % to 100 % (``MIN_NOVELTY`` patched), beside orders 3, 4 and 5 with
  their training values thinned to the same floor.

The variants are experiments, not options: they patch private functions of
:mod:`phony_registry.ngram` for the length of one training. Peers in the same
run: the default (selection) and the fixed settings. ``tuning`` are the six
sets of ``benchmarks/selection.py``, on which the variants were first tried;
``validation`` are six other Faker locales never looked at while choosing
them, so a gain that is only noise of the six shows up as none there.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from selection import (
    ROOT,
    TRAINING_SETS,
    faker_first_names,
    figures,
    pool,
)

sys.path.insert(0, str(ROOT))
from phony_registry import ngram
from phony_registry.model import Model, value_hashes
from phony_registry.ngram import codepoint_matrix, train

MKN = "modified-kneser-ney"
VALIDATION_SETS = {
    "Faker is_IS": ("is_IS",),
    "Faker bg_BG": ("bg_BG",),
    "Faker nl_BE": ("nl_BE",),
    "Faker es_CL": ("es_CL",),
    "Faker ro_RO": ("ro_RO",),
    "Faker da_DK": ("da_DK",),
}


@contextmanager
def patched(
    *,
    top: float = 1.0,
    low: float = 1.0,
    units: int | None = None,
    raw_lower: bool = False,
    order: int = 4,
    top_levels: tuple[int, ...] = (0, 1, 2),
) -> Iterator[None]:
    """Modified Kneser-Ney with scaled discounts, other units or raw lower counts.

    ``top`` scales the highest order's discounts D1, D2 and D3+ (those of
    ``top_levels``: 0 for D1 alone), ``low`` every lower order's.
    """
    discounts, scale, levels = ngram._mkn_discounts, ngram._mkn_scale, ngram._mkn_levels

    def scaled(grams: Counter[tuple[str, str]]) -> tuple[int, int, int]:
        d = discounts(grams)
        highest = len(next(iter(grams))[0]) == order - 1
        factors = [top if i in top_levels else 1.0 for i in range(3)] if highest else [low] * 3
        return tuple(  # type: ignore[return-value]
            min(max(round(x * f), 1), k * 1000 - 1)
            for k, (x, f) in enumerate(zip(d, factors, strict=True), 1)
        )

    def raw(counts: Counter[tuple[str, str]], pad: int) -> list[Counter[tuple[str, str]]]:
        out: list[Counter[tuple[str, str]]] = [Counter() for _ in range(pad + 1)]
        out[pad] = counts
        for length in range(pad, 0, -1):
            for (ctx, nxt), count in out[length].items():
                out[length - 1][ctx[1:], nxt] += count
        return out

    ngram._mkn_discounts = scaled  # type: ignore[assignment]
    if units is not None:
        ngram._mkn_scale = lambda vocabulary: max(units, 8 * vocabulary)
    if raw_lower:
        ngram._mkn_levels = raw
    try:
        yield
    finally:
        ngram._mkn_discounts, ngram._mkn_scale, ngram._mkn_levels = discounts, scale, levels


# (label, order, patch arguments, temperature, the share of generated training
# values kept: None keeps them all, 0 none, 0.3 three in ten, at random)
Variant = tuple[str, int, dict[str, object], str, float | None]
VARIANTS: list[Variant] = [
    ("order 4 MKN (best fixed)", 4, {}, "1", None),
    ("order 3 MKN", 3, {}, "1", None),
    ("order 5 MKN", 5, {"order": 5}, "1", None),
    ("order 4 MKN, discounts x1.2", 4, {"top": 1.2, "low": 1.2}, "1", None),
    ("order 4 MKN, top discounts x1.2", 4, {"top": 1.2}, "1", None),
    ("order 4 MKN, lower discounts x1.3", 4, {"low": 1.3}, "1", None),
    ("order 4 MKN, discounts x0.8", 4, {"top": 0.8, "low": 0.8}, "1", None),
    ("order 4 MKN, 1,024 units", 4, {"units": 1024}, "1", None),
    ("order 4 MKN, 16,384 units", 4, {"units": 16384}, "1", None),
    ("order 4 MKN, T 0.9", 4, {}, "0.9", None),
    ("order 4 MKN, T 1.05", 4, {}, "1.05", None),
    ("order 4 MKN, T 1.1", 4, {}, "1.1", None),
    ("order 5 MKN, T 1.2", 5, {"order": 5}, "1.2", None),
    ("order 4 abs. discounting", 4, {"raw_lower": True}, "1", None),
    ("order 4 abs. discounting, T 1.1", 4, {"raw_lower": True}, "1.1", None),
    ("order 4 MKN, no training values", 4, {}, "1", 0.0),
    ("order 4 MKN, training values x0.3", 4, {}, "1", 0.3),
    ("order 4 MKN, training values x0.5", 4, {}, "1", 0.5),
    ("order 3 MKN, no training values", 3, {}, "1", 0.0),
    ("order 5 MKN, no training values", 5, {"order": 5}, "1", 0.0),
    ("order 5 MKN, training values x0.3", 5, {"order": 5}, "1", 0.3),
]


def build(values: list[str], order: int, patch: dict[str, object], temperature: str) -> Model:
    with patched(**patch):  # type: ignore[arg-type]
        model = train(values, name="variant", order=order, smoothing=MKN)
    return model if temperature == "1" else model.with_temperature(temperature)


def sample(model: Model, count: int, seed: int, drop: set[str], keep: float | None) -> list[str]:
    """``count`` values of ``model``, each training value kept with probability ``keep``.

    What a model that weighs its training values ``keep`` times generates:
    rejecting them at random is the same distribution. The coins come from
    ``random.Random(seed)``, so a run repeats.
    """
    if keep is None:
        return model.generate(count, seed)
    kept: list[str] = []
    draw = count
    while len(kept) < count:  # a larger sample of the same seed, training values thinned
        draw *= 2
        coins = random.Random(seed)
        kept = [v for v in model.generate(draw, seed) if v not in drop or coins.random() < keep]
    return kept[:count]


def excluded_mass(model: Model, values: list[str]) -> float:
    """The probability of a walk spelling one of the training ``values`` the model excludes."""
    if model.exclude is None:
        return 0.0
    hashes = value_hashes(codepoint_matrix(values, max(map(len, values))), model.exclude.salt)
    hit = model.exclude.contains(hashes)
    return math.fsum(model.value_probabilities(values)[hit].tolist())


def held_out_hits(values: list[str], order: int, temperature: str, draws: int = 10_000) -> float:
    """Expected distinct held-out values in ``draws`` walks, summed over 5 folds."""
    total = 0.0
    for fold in range(5):
        held = [v for v in values if ngram._fold_of(v, 5) == fold]
        rest = [v for v in values if ngram._fold_of(v, 5) != fold]
        model = build(rest, order, {"order": order}, temperature)
        for q in model.value_probabilities(held).tolist():
            total += 1.0 if q >= 1 else -math.expm1(draws * math.log1p(-q))
    return total


# The criterion's candidates, and the row that measures each.
CRITERION_CANDIDATES = {
    (3, "1"): "order 3 MKN",
    (4, "1"): "order 4 MKN (best fixed)",
    (5, "1"): "order 5 MKN",
    (4, "0.9"): "order 4 MKN, T 0.9",
    (4, "1.1"): "order 4 MKN, T 1.1",
}


def expected_hits(q: np.ndarray[Any, np.dtype[np.float64]], draws: int) -> float:
    """Expected distinct values among ``draws`` independent draws, each value
    drawn with the probabilities ``q``: the sum of ``1 - (1 - q)^draws``."""
    return float(np.sum(-np.expm1(draws * np.log1p(-np.minimum(q, 1 - 1e-15)))))


def reference_and_copies(
    model: Model, values: list[str], real: list[str]
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], float]:
    """Each ``real`` value's probability per accepted walk, and the training ``values``' mass."""
    dropped = excluded_mass(model, values)  # excluded training values, never generated
    mass = model.accepted_mass - dropped
    q = model.value_probabilities(real) / mass
    return q, (math.fsum(model.value_probabilities(values).tolist()) - dropped) / mass


#: The novelty floor ``--raise-discounts`` meets: the default's before it was met by
#: excluding training values.
FORMER_FLOOR = 0.8
#: Factors of the highest order's discounts ``--raise-discounts`` tries (D1 stays below 1).
RAISES = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.7, 2.0)


def raise_discounts(groups: dict[str, dict[str, tuple[str, ...]]], count: int) -> None:
    """Expected new & real of a selection meeting the floor by raising discounts."""
    everything = pool()
    print(f"expected new & real in {count:,} draws: the floor met by raising discounts")
    for group, sets in groups.items():
        totals: Counter[str] = Counter()
        for label, locales in sets.items():
            values = sorted(set().union(*(faker_first_names(loc) for loc in locales)))
            real = sorted(everything - set(values))
            default = train(values, name="default")
            assert default.selection is not None
            ranked = [
                c.order
                for c in sorted(default.selection.candidates, key=lambda c: c.bits_per_character)
                if c.smoothing == MKN and c.order in (3, 4, 5)
            ]
            q, copied = reference_and_copies(default, values, real)
            rows = {"the default": (1 - copied, expected_hits(q, count))}
            for levels, which in (((0,), "D1"), ((0, 1, 2), "D1-D3+")):
                pick = None
                for order in ranked:
                    for factor in RAISES if order > 3 else (1.0,):
                        model = build(
                            values,
                            order,
                            {"order": order, "top": factor, "top_levels": levels},
                            "1",
                        )
                        q, copied = reference_and_copies(model, values, real)
                        if factor == 1.0 and order == 4:
                            rows["order 4 MKN"] = (1 - copied, expected_hits(q, count))
                        if pick is None and 1 - copied >= FORMER_FLOOR:
                            pick = f"order {order}, {which} x{factor}"
                            rows[f"raise {which}: {pick}"] = (1 - copied, expected_hits(q, count))
            print(f"\n[{group}] {label} (cross-entropy ranks orders {ranked})")
            for name, (novelty, hits) in rows.items():
                print(f"  {name:<40}{novelty:>7.1%}{hits:>8.1f}")
                totals[name.split(":")[0]] += hits
        print(f"\n[{group}] total expected new & real over {len(sets)} sets")
        for name, hits in totals.most_common():
            print(f"  {name:<40}{hits:>8.0f}")


def exact(groups: dict[str, dict[str, tuple[str, ...]]], count: int) -> None:
    """Expected new & real (and novelty) of orders 3-5, their mixtures and thinnings."""
    everything = pool()
    print(f"expected novelty and new & real in {count:,} draws (no sampling)")
    for group, sets in groups.items():
        totals: dict[str, list[float]] = {}
        for label, locales in sets.items():
            values = sorted(set().union(*(faker_first_names(loc) for loc in locales)))
            real = sorted(everything - set(values))
            default = train(values, name="default")
            assert default.selection is not None
            q: dict[int | str, np.ndarray[Any, np.dtype[np.float64]]] = {}
            copied: dict[int | str, float] = {}
            models: dict[int | str, Model] = {
                o: build(values, o, {"order": o}, "1") for o in (3, 4, 5)
            }
            models["the default"] = default
            for key, model in models.items():
                q[key], copied[key] = reference_and_copies(model, values, real)
            rows: dict[str, tuple[float, float]] = {
                key if isinstance(key, str) else f"order {key} MKN": (
                    expected_hits(q[key], count),
                    1 - copied[key],
                )
                for key in models
            }
            for other in (3, 5):
                for share in (0.5, 0.85):
                    mixed = share * q[4] + (1 - share) * q[other]
                    novelty = 1 - share * copied[4] - (1 - share) * copied[other]
                    rows[f"order 4 x{share} + order {other}"] = (
                        expected_hits(mixed, count),
                        novelty,
                    )
            for order in (4, 5):
                for floor in (0.8, 0.9):
                    # Keeping each training value with probability w leaves a
                    # mass 1 - (1 - w) c; novelty (1 - c) / that reaches the floor.
                    left = min(1.0, (1 - copied[order]) / floor)
                    rows[f"order {order}, thinned to {floor:.0%} new"] = (
                        expected_hits(q[order] / left, count),
                        max(floor, 1 - copied[order]),
                    )
            chosen = f"order {default.selection.order} {default.selection.smoothing}"
            print(f"\n[{group}] {label}: the default chose {chosen}")
            for name, (hits, novelty) in rows.items():
                print(f"  {name:<36}{novelty:>7.1%}{hits:>8.1f}")
                got = totals.setdefault(name, [0.0, 1.0])
                got[0] += hits
                got[1] = min(got[1], novelty)
        print(f"\n[{group}] total expected new & real over {len(sets)} sets, lowest novelty")
        for name, (hits, novelty) in sorted(totals.items(), key=lambda item: -item[1][0]):
            print(f"  {name:<36}{hits:>8.0f}{novelty:>8.1%}")


#: Novelty floors ``--floors`` compares (the default's is ngram.MIN_NOVELTY).
FLOORS = (0.8, 0.85, 0.9, 0.95, 1.0)


def floors(groups: dict[str, dict[str, tuple[str, ...]]], count: int) -> None:
    """Expected new & real of the default at each novelty floor, beside fixed orders
    given the same floor (training values dropped at random until it is met)."""
    everything = pool()
    shipped = ngram.MIN_NOVELTY
    print(f"expected new & real in {count:,} draws at each novelty floor (no sampling)")
    for group, sets in groups.items():
        totals: Counter[tuple[float, str]] = Counter()
        for label, locales in sets.items():
            values = sorted(set().union(*(faker_first_names(loc) for loc in locales)))
            real = sorted(everything - set(values))
            fixed = {o: build(values, o, {"order": o}, "1") for o in (3, 4, 5)}
            measured = {o: reference_and_copies(m, values, real) for o, m in fixed.items()}
            line = []
            for floor in FLOORS:
                ngram.MIN_NOVELTY = floor
                try:
                    default = train(values, name="default")
                finally:
                    ngram.MIN_NOVELTY = shipped
                assert default.selection is not None
                q, _ = reference_and_copies(default, values, real)
                totals[floor, "the default"] += expected_hits(q, count)
                for order, (q, copied) in measured.items():
                    left = min(1.0, (1 - copied) / floor) if floor < 1 else 1 - copied
                    totals[floor, f"order {order} MKN"] += expected_hits(q / left, count)
                line.append(f"{floor:.0%}: order {default.selection.order}")
            print(f"[{group}] {label}: the default chose " + ", ".join(line))
        print(f"\n[{group}] total expected new & real over {len(sets)} sets")
        names = sorted({name for _, name in totals})
        print("  floor  " + "".join(f"{name:>16}" for name in names))
        for floor in FLOORS:
            print(f"  {floor:>5.0%}  " + "".join(f"{totals[floor, n]:>16.0f}" for n in names))


def mixture(count: int, seeds: list[int]) -> None:
    """Per-locale mixing on the tuning sets that join two locales: one order 4 model
    per locale, drawn in proportion to its names, against one model of the union."""
    everything = pool()
    print(f"\nmixing per locale, {count:,} values, mean of seeds {seeds}")
    for label, locales in TRAINING_SETS.items():
        if len(locales) < 2:
            continue
        parts = [sorted(faker_first_names(loc)) for loc in locales]
        values = sorted(set().union(*parts))
        training, real = set(values), everything - set(values)
        joint = build(values, 4, {}, "1")
        models = [build(part, 4, {}, "1") for part in parts]
        share = np.array([len(part) for part in parts], dtype=float)
        share /= share.sum()
        draws = {
            "one model": [joint.generate(count, seed) for seed in seeds],
            "a model per locale": [
                [
                    value
                    for model, n in zip(
                        models, np.random.default_rng(seed).multinomial(count, share), strict=True
                    )
                    for value in model.generate(int(n), seed)
                ]
                for seed in seeds
            ],
        }
        for name, samples in draws.items():
            got = [figures(sample, training, real) for sample in samples]
            print(
                f"  {label:<22} {name:<20} novelty {sum(g[0] for g in got) / len(got):.1%}, "
                f"new & real {sum(g[1] for g in got) / len(got):.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--sets", nargs="+", choices=("tuning", "validation"), default=["tuning", "validation"]
    )
    parser.add_argument("--criterion", action="store_true", help="also the held-out-hits pick")
    parser.add_argument("--mixture", action="store_true", help="only per-locale mixing")
    parser.add_argument("--exact", action="store_true", help="only expected figures, no samples")
    parser.add_argument(
        "--raise-discounts", action="store_true", help="only the floor met by raising discounts"
    )
    parser.add_argument("--floors", action="store_true", help="only the default at each floor")
    args = parser.parse_args()
    if args.mixture:
        mixture(args.count, args.seeds)
        return
    groups: dict[str, dict[str, tuple[str, ...]]] = {
        "tuning": TRAINING_SETS,
        "validation": VALIDATION_SETS,
    }
    if args.exact:
        exact({g: groups[g] for g in args.sets}, args.count)
        return
    if args.raise_discounts:
        raise_discounts({g: groups[g] for g in args.sets}, args.count)
        return
    if args.floors:
        floors({g: groups[g] for g in args.sets}, args.count)
        return
    everything = pool()
    print(
        f"{args.count:,} values per model, mean of seeds {', '.join(map(str, args.seeds))}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for group in args.sets:
        totals: dict[str, list[tuple[float, float]]] = {}
        for label, locales in groups[group].items():
            values = sorted(set().union(*(faker_first_names(loc) for loc in locales)))
            training, real = set(values), everything - set(values)
            rows: list[tuple[str, float, float]] = []

            def measure(
                name: str,
                make: Callable[[int], list[str]],
                training: set[str] = training,
                real: set[str] = real,
                rows: list[tuple[str, float, float]] = rows,
                totals: dict[str, list[tuple[float, float]]] = totals,
            ) -> None:
                got = [figures(make(seed), training, real) for seed in args.seeds]
                novelty = sum(g[0] for g in got) / len(got)
                new_real = sum(g[1] for g in got) / len(got)
                rows.append((name, novelty, new_real))
                totals.setdefault(name, []).append((novelty, new_real))

            default = train(values, name="default")
            assert default.selection is not None
            chosen = f"order {default.selection.order} {default.selection.smoothing}"
            measure("default (selection)", lambda s, m=default: m.generate(args.count, s))
            for name, order, patch, temperature, keep in VARIANTS:
                model = build(values, order, patch, temperature)
                measure(
                    name,
                    lambda s, m=model, k=keep, t=training: sample(m, args.count, s, t, k),
                )
            print(
                f"\n[{group}] {label}: {len(values):,} training names, {len(real):,} others; "
                f"the default chose {chosen}"
            )
            for name, novelty, new_real in rows:
                print(f"  {name:<36}{novelty:>7.1%}{new_real:>8.1f}")
            if args.criterion:
                hits = {c: held_out_hits(values, *c) for c in CRITERION_CANDIDATES}
                pick = max(hits, key=lambda c: hits[c])
                picked = next(r for r in rows if r[0] == CRITERION_CANDIDATES[pick])
                totals.setdefault("held-out hits criterion's pick", []).append(picked[1:])
                print(
                    "  held-out hits: "
                    + ", ".join(f"order {o} T {t}: {h:.0f}" for (o, t), h in hits.items())
                    + f"; picks {picked[0]} ({picked[2]:.1f} new & real)"
                )
        print(f"\n[{group}] total new & real over {len(groups[group])} sets, lowest novelty")
        for name, got in sorted(totals.items(), key=lambda item: -sum(g[1] for g in item[1])):
            print(f"  {name:<36}{sum(g[1] for g in got):>8.0f}{min(g[0] for g in got):>8.1%}")


if __name__ == "__main__":
    main()
