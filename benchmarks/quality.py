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
SMOOTHINGS = ("none", "witten-bell")
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
    train_values: list[str], held: set[str], order: int, smoothing: str, sample: int
) -> tuple[float, float, float]:
    from phony_registry.ngram import train

    model = train(train_values, name="q", order=order, smoothing=smoothing)
    generated = model.generate(sample, seed=2024)
    known = set(train_values)
    novel = [v for v in generated if v not in known]
    distinct_novel = set(novel)
    novelty = len(novel) / len(generated)
    plausible = len(distinct_novel & held) / len(distinct_novel) if distinct_novel else 0.0
    good = sum(v in held for v in novel) / len(generated)
    return novelty, plausible, good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=20_000)
    args = parser.parse_args()
    plausibility: dict[tuple[int, str], list[float]] = {}
    novelty_floor: dict[tuple[int, str], float] = {}
    print(f"sample of {args.sample:,} values per model, seed 2024, Python {sys.version.split()[0]}")
    for label, load in DATASETS.items():
        train_values, held = split(load())
        print(f"\n{label}: {len(train_values)} training values, {len(held)} held out")
        print(f"{'order':>5}  {'smoothing':<12}{'novelty':>9}{'plausible':>11}{'good':>8}")
        for order in ORDERS:
            for smoothing in SMOOTHINGS:
                key = (order, smoothing)
                novelty, plausible, good = measure(
                    train_values, held, order, smoothing, args.sample
                )
                plausibility.setdefault(key, []).append(plausible)
                novelty_floor[key] = min(novelty_floor.get(key, 1.0), novelty)
                print(f"{order:>5}  {smoothing:<12}{novelty:>9.1%}{plausible:>11.2%}{good:>8.2%}")
    print(f"\nhighest mean plausibility with novelty >= {MIN_NOVELTY:.0%} on every list:")
    for smoothings in (SMOOTHINGS, ("none",)):
        eligible = [
            k for k in plausibility if k[1] in smoothings and novelty_floor[k] >= MIN_NOVELTY
        ]
        best = max(eligible, key=lambda k: sum(plausibility[k]))
        mean = sum(plausibility[best]) / len(plausibility[best])
        print(
            f"  among smoothing {'/'.join(smoothings)}: order {best[0]}, {best[1]} "
            f"(mean plausibility {mean:.2%}, lowest novelty {novelty_floor[best]:.1%})"
        )


if __name__ == "__main__":
    main()
