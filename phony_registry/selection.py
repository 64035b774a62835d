"""The record of how ``phony train`` chose a model's order and smoothing.

When ``phony train`` is not told an order, it trains every candidate
(order, smoothing) on part of the values and measures how well each predicts
the rest: the **held-out cross-entropy** in bits per character, averaged over
a deterministic k-fold split (see :func:`phony_registry.ngram.cross_validate`
and docs/format.md, "Choosing order and smoothing"). The lowest wins. The
choice and every candidate's figure are kept in the model file (format
version 3, field ``selection``) so ``phony info`` and ``phony stats`` can
show why a model is what it is.

This module is free of NumPy: :mod:`phony_registry._lite` reads the same
field with :func:`selection_from_json`, so both readers accept the same files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CRITERION",
    "Candidate",
    "Selection",
    "selection_from_json",
    "selection_to_json",
]

#: What the figures measure, as recorded in the file.
CRITERION = "held-out bits per character"
# Bounds the reader enforces (a hostile file cannot make info print pages).
_MAX_CANDIDATES = 256
_MAX_FOLDS = 100
_SMOOTHING_NAMES = ("none", "witten-bell", "kneser-ney", "modified-kneser-ney")


@dataclass(frozen=True)
class Candidate:
    """One (order, smoothing) pair measured during selection."""

    order: int
    smoothing: str
    bits_per_character: float  # mean over the folds, rounded to 4 decimals
    novelty: float | None = None  # sample novelty of the full model, when it was measured


@dataclass(frozen=True)
class Selection:
    """How a model's order and smoothing were chosen (``selection`` in the file)."""

    order: int
    smoothing: str
    folds: int
    held_out_characters: int  # characters scored, summed over the folds
    min_novelty: float | None  # the novelty a candidate needed to be chosen
    candidates: tuple[Candidate, ...]

    @property
    def chosen(self) -> Candidate:
        """The candidate the model was trained with."""
        for candidate in self.candidates:
            if (candidate.order, candidate.smoothing) == (self.order, self.smoothing):
                return candidate
        raise LookupError("the chosen setting is not among the candidates")  # reader forbids it


def selection_to_json(selection: Selection) -> dict[str, Any]:
    """The ``selection`` object of a version-3 document."""
    return {
        "criterion": CRITERION,
        "order": selection.order,
        "smoothing": selection.smoothing,
        "folds": selection.folds,
        "held_out_characters": selection.held_out_characters,
        "min_novelty": selection.min_novelty,
        "candidates": [
            {
                "order": c.order,
                "smoothing": c.smoothing,
                "bits_per_character": c.bits_per_character,
                "novelty": None if c.novelty is None else round(c.novelty, 4),
            }
            for c in selection.candidates
        ],
    }


def _is_int(value: object, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _share(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


def _keys(value: object, keys: set[str], path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{path}: must be an object")
    for extra in sorted(set(value) - keys):
        raise ValueError(f"{path}.{extra}: unknown field")
    for missing in sorted(keys - set(value)):
        raise ValueError(f"{path}.{missing}: missing")
    return value


def selection_from_json(value: object) -> Selection:
    """Parse and check a ``selection`` object; ValueError ``"field: message"`` otherwise."""
    doc = _keys(
        value,
        {
            "criterion",
            "order",
            "smoothing",
            "folds",
            "held_out_characters",
            "min_novelty",
            "candidates",
        },
        "selection",
    )
    if doc["criterion"] != CRITERION:
        raise ValueError(f"selection.criterion: must be {CRITERION!r}")
    if not _is_int(doc["order"], 1, 12):
        raise ValueError("selection.order: must be an integer from 1 to 12")
    if doc["smoothing"] not in _SMOOTHING_NAMES:
        raise ValueError(f"selection.smoothing: must be one of {', '.join(_SMOOTHING_NAMES)}")
    if not _is_int(doc["folds"], 1, _MAX_FOLDS):
        raise ValueError(f"selection.folds: must be an integer from 1 to {_MAX_FOLDS}")
    if not _is_int(doc["held_out_characters"], 0, 2**63 - 1):
        raise ValueError("selection.held_out_characters: must be a non-negative integer")
    if doc["min_novelty"] is not None and not _share(doc["min_novelty"]):
        raise ValueError("selection.min_novelty: must be a number from 0 to 1, or null")
    raw = doc["candidates"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= _MAX_CANDIDATES:
        raise ValueError(f"selection.candidates: must be an array of 1 to {_MAX_CANDIDATES}")
    candidates = []
    seen = set()
    for i, item in enumerate(raw):
        path = f"selection.candidates[{i}]"
        c = _keys(item, {"order", "smoothing", "bits_per_character", "novelty"}, path)
        if c["novelty"] is not None and not _share(c["novelty"]):
            raise ValueError(f"{path}.novelty: must be a number from 0 to 1, or null")
        bits = c["bits_per_character"]
        if not _is_int(c["order"], 1, 12):
            raise ValueError(f"{path}.order: must be an integer from 1 to 12")
        if c["smoothing"] not in _SMOOTHING_NAMES:
            raise ValueError(f"{path}.smoothing: must be one of {', '.join(_SMOOTHING_NAMES)}")
        if (
            isinstance(bits, bool)
            or not isinstance(bits, int | float)
            or not math.isfinite(bits)
            or bits < 0
        ):
            raise ValueError(f"{path}.bits_per_character: must be a non-negative number")
        key = (c["order"], c["smoothing"])
        if key in seen:
            raise ValueError(f"{path}: the same order and smoothing twice")
        seen.add(key)
        share = None if c["novelty"] is None else float(c["novelty"])
        candidates.append(Candidate(c["order"], c["smoothing"], float(bits), share))
    if (doc["order"], doc["smoothing"]) not in seen:
        raise ValueError("selection: the chosen order and smoothing are not among the candidates")
    return Selection(
        order=doc["order"],
        smoothing=doc["smoothing"],
        folds=doc["folds"],
        held_out_characters=doc["held_out_characters"],
        min_novelty=None if doc["min_novelty"] is None else float(doc["min_novelty"]),
        candidates=tuple(candidates),
    )
