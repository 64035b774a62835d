"""Quality figures of the official models: novelty and plausibility by N-gram order.

For each model the training values are split by a stable hash into a
training part (80 %) and a held-out part (20 %). A model of the given order
is trained on the training part only and generates a fixed-seed sample:

- **novelty** is the share of generated values that are not in the training
  part (a model that only replays its input has novelty 0);
- **plausibility** is the share of those novel values that appear in the
  held-out part: real values the model never saw, a lower bound on how
  realistic its inventions are (most plausible names are in neither list).

``scripts/build-index --quality`` prints the table that registry-index/README.md
records; the order each official model uses is :data:`phony_index._build.build.ORDERS`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from phony_index._build.data import ModelData

__all__ = [
    "CANDIDATE_ORDERS",
    "MIN_NOVELTY",
    "Quality",
    "choose_order",
    "measure",
    "quality_table",
    "split",
]


def split(values: Iterable[str], held_out_percent: int = 20) -> tuple[list[str], list[str]]:
    """Split values into (training, held-out) by a stable hash of each value."""
    train: list[str] = []
    held: list[str] = []
    for value in values:
        bucket = hashlib.sha256(value.encode("utf-8")).digest()[0] * 100 // 256
        (held if bucket < held_out_percent else train).append(value)
    return train, held


@dataclass(frozen=True)
class Quality:
    """Novelty and plausibility of one model at one order."""

    name: str
    order: int
    values: int
    sample: int
    novelty: float
    plausibility: float


def measure(data: ModelData, order: int, *, sample: int = 5000, seed: int = 1) -> Quality:
    """Train ``data`` at ``order`` on 80 % of its values and measure a sample."""
    from phony_registry.ngram import train

    seen, held = split(data.values)
    model = train(seen, name=f"{data.locale}/{data.name}", order=order, locale=data.locale)
    generated = model.generate(sample, seed)
    known = set(seen)
    novel = [value for value in generated if value not in known]
    held_set = set(held)
    plausible = sum(1 for value in novel if value in held_set)
    return Quality(
        name=f"{data.locale}/{data.name}",
        order=order,
        values=len(data.values),
        sample=sample,
        novelty=len(novel) / len(generated) if generated else 0.0,
        plausibility=plausible / len(novel) if novel else 0.0,
    )


#: Orders the table compares.
CANDIDATE_ORDERS = (2, 3, 4, 5, 6, 7)
#: The least held-out novelty an official model must reach.
MIN_NOVELTY = 0.5


def choose_order(data: ModelData, candidates: Iterable[int] = CANDIDATE_ORDERS) -> int:
    """The highest order whose novelty is at least :data:`MIN_NOVELTY` (else the lowest)."""
    levels = sorted(candidates)
    good = [n for n in levels if measure(data, n).novelty >= MIN_NOVELTY]
    return max(good) if good else levels[0]


def quality_table(
    models: Iterable[ModelData],
    orders: Mapping[tuple[str, str], int],
    candidates: Iterable[int] = CANDIDATE_ORDERS,
) -> str:
    """A Markdown table: one row per model, ``novelty / plausibility`` per candidate order.

    The order the official build uses (``orders[(locale, name)]``) is in bold.
    """
    levels = list(candidates)
    head = "| model | values | " + " | ".join(f"order {n}" for n in levels) + " |"
    rule = "| --- | ---: | " + " | ".join("---:" for _ in levels) + " |"
    rows = [head, rule]
    for data in models:
        cells = []
        for order in levels:
            q = measure(data, order)
            mark = "**" if orders.get((data.locale, data.name)) == order else ""
            cells.append(f"{mark}{q.novelty:.0%} / {q.plausibility:.1%}{mark}")
        name = f"{data.locale}/{data.name}"
        rows.append(f"| {name} | {len(data.values)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
