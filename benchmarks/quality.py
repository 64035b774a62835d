"""Novelty and plausibility of generated values by N-gram order and smoothing.

    .venv/bin/python benchmarks/quality.py [--sample 20000]

Each name list (Faker and Mimesis data, both MIT) is split by a stable hash
of each value into a training part (80 %) and a held-out part (20 %). A
model trained on the training part generates a fixed-seed sample; then

- novelty: share of the generated values (counting repeats) that are not in
  the training part; a model that replays its input scores 0;
- plausibility: share of the distinct novel values that are real names of
  the held-out part (a lower bound: most plausible inventions are in neither
  list);
- good: share of generated values that are both novel and held-out names
  (counting repeats).

The default (phony_registry.ngram.DEFAULT_ORDER and DEFAULT_SMOOTHING) is the
choice with the highest mean plausibility among those whose novelty is at
least MIN_NOVELTY on every list: a generator of fake data must mostly invent,
and among those that do, the most realistic wins.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDERS = (2, 3, 4, 5, 6)
SMOOTHINGS = ("none", "witten-bell", "kneser-ney")
MIN_NOVELTY = 0.5


def faker_list(module: str, attribute: str) -> list[str]:
    import importlib

    data = getattr(importlib.import_module(module).Provider, attribute)
    return [str(v) for v in data]


def mimesis_list(language: str, *path: str) -> list[str]:
    data = json.loads(
        resources.files("mimesis").joinpath("datasets", language, "person.json").read_text("utf-8")
    )
    for key in path:
        data = data[key]
    return [str(v) for v in data]


DATASETS: dict[str, Callable[[], list[str]]] = {
    "Faker tr_TR first names": lambda: (
        (ROOT / "examples" / "tr_first_names.txt").read_text("utf-8").split("\n")
    ),
    "Mimesis en first names": lambda: (
        mimesis_list("en", "names", "female") + mimesis_list("en", "names", "male")
    ),
    "Faker en_US last names": lambda: faker_list("faker.providers.person.en_US", "last_names"),
}


def split(values: list[str]) -> tuple[list[str], set[str]]:
    """80/20 by a stable hash of each distinct value."""
    train, held = [], set()
    for value in sorted({v.strip() for v in values if v.strip()}):
        if hashlib.sha256(value.encode()).digest()[0] < 52:  # 52/256 ~ 20 %
            held.add(value)
        else:
            train.append(value)
    return train, held


def measure(
    train_values: list[str],
    held: set[str],
    order: int,
    smoothing: str,
    sample: int,
    seeds: list[int],
) -> tuple[float, float, float]:
    """Novelty, plausibility and good share, each the mean over ``seeds``."""
    from phony_registry.ngram import train

    model = train(train_values, name="q", order=order, smoothing=smoothing)
    known = set(train_values)
    figures = []
    for seed in seeds:
        generated = model.generate(sample, seed=seed)
        novel = [v for v in generated if v not in known]
        distinct_novel = set(novel)
        novelty = len(novel) / len(generated)
        plausible = len(distinct_novel & held) / len(distinct_novel) if distinct_novel else 0.0
        good = sum(v in held for v in novel) / len(generated)
        figures.append((novelty, plausible, good))
    n = len(figures)
    return (
        sum(f[0] for f in figures) / n,
        sum(f[1] for f in figures) / n,
        sum(f[2] for f in figures) / n,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 2024, 2025, ... (mean)")
    parser.add_argument("--orders", default=",".join(map(str, ORDERS)))
    parser.add_argument("--smoothings", default=",".join(SMOOTHINGS))
    args = parser.parse_args()
    orders = [int(o) for o in args.orders.split(",")]
    smoothings = args.smoothings.split(",")
    seeds = [2024 + i for i in range(args.seeds)]
    plausibility: dict[tuple[int, str], list[float]] = {}
    novelty_floor: dict[tuple[int, str], float] = {}
    print(
        f"sample of {args.sample:,} values per model, mean of seeds "
        f"{', '.join(map(str, seeds))}, Python {sys.version.split()[0]}"
    )
    for label, load in DATASETS.items():
        train_values, held = split(load())
        print(f"\n{label}: {len(train_values)} training values, {len(held)} held out")
        print(f"{'order':>5}  {'smoothing':<12}{'novelty':>9}{'plausible':>11}{'good':>8}")
        for order in orders:
            for smoothing in smoothings:
                key = (order, smoothing)
                novelty, plausible, good = measure(
                    train_values, held, order, smoothing, args.sample, seeds
                )
                plausibility.setdefault(key, []).append(plausible)
                novelty_floor[key] = min(novelty_floor.get(key, 1.0), novelty)
                print(f"{order:>5}  {smoothing:<12}{novelty:>9.1%}{plausible:>11.2%}{good:>8.2%}")
    print(f"\nhighest mean plausibility with novelty >= {MIN_NOVELTY:.0%} on every list:")
    for allowed in (tuple(smoothings), ("none",)):
        eligible = [k for k in plausibility if k[1] in allowed and novelty_floor[k] >= MIN_NOVELTY]
        if not eligible:
            continue
        best = max(eligible, key=lambda k: sum(plausibility[k]))
        mean = sum(plausibility[best]) / len(plausibility[best])
        print(
            f"  among smoothing {'/'.join(allowed)}: order {best[0]}, {best[1]} "
            f"(mean plausibility {mean:.2%}, lowest novelty {novelty_floor[best]:.1%})"
        )


if __name__ == "__main__":
    main()
