"""Training character N-gram models, and the statistics ``phony stats`` prints.

Values are stripped, normalised to Unicode NFC and kept in their case. An
order-``n`` model counts, for every value ``v`` and every position, the
context of the ``n-1`` previous characters (padded at the start with a start
marker) and the character that follows it, or the end of the value. Each
distinct context becomes one automaton state (see :mod:`phony_registry.model`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from phony_registry.errors import TrainingError, UsageError
from phony_registry.model import (
    MAX_VALUE_LENGTH,
    Exclusion,
    Model,
    ModelMeta,
    TrainingStats,
    value_hashes,
)

__all__ = [
    "DEFAULT_ORDER",
    "DEFAULT_SMOOTHING",
    "MAX_ORDER",
    "SMOOTHINGS",
    "codepoint_matrix",
    "created_timestamp",
    "model_stats",
    "read_values",
    "train",
]

#: Default N: chosen from benchmarks/quality.py (see benchmarks/README.md).
DEFAULT_ORDER = 4
#: Smoothing choices of :func:`train`; the default comes from benchmarks/quality.py.
SMOOTHINGS = ("none", "witten-bell", "kneser-ney")
DEFAULT_SMOOTHING = "none"
#: Highest order phony trains.
MAX_ORDER = 12
# Marks the start of a value inside contexts; NUL never occurs in a value.
_PAD = "\x00"
# Kneser-Ney's absolute discount D = 9/10, measured with benchmarks/quality.py
# against 1/2, 3/4 (the textbook value), 19/20 and the per-list estimate
# n1 / (n1 + 2 n2): at order 4, 9/10 invents the most real held-out names for
# the same plausibility; at order 5 it is the one whose novelty stays above
# 50 % on every list with the highest plausibility (see benchmarks/README.md).
_KN_NUM, _KN_DEN = 9, 10
_U32_MAX = 2**32 - 1


def read_values(
    path: str | os.PathLike[str] | bytes, *, column: str | None = None, label: str | None = None
) -> list[str]:
    """Read training values: one per line, or the ``column`` of a CSV file (by header).

    ``path`` may also be the file's bytes; ``label`` names the input in
    errors (default: the path). Raises TrainingError for a binary or
    non-UTF-8 file, a missing column (naming the available ones) or a file
    named ``*.csv`` given without ``column``.
    """
    if isinstance(path, bytes):
        data = path
        path = Path(label or "input")
    else:
        path = Path(path)
        data = path.read_bytes()
    name = label or str(path)
    if b"\x00" in data:
        raise TrainingError(f"{name} is not a text file (it contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    if column is None:
        if path.suffix.lower() == ".csv":
            header = next(csv.reader(io.StringIO(text)), [])
            raise TrainingError(
                f"{name} is a CSV file: choose a column with --column "
                f"(columns: {', '.join(header) or 'none'})"
            )
        return text.splitlines()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise TrainingError(f"{name} is empty: no CSV header") from None
    except csv.Error as exc:
        raise TrainingError(f"{name} is not valid CSV: {exc}") from None
    names = [heading.strip() for heading in header]
    if column not in names:
        raise TrainingError(
            f"{name} has no column {column!r} (columns: {', '.join(names) or 'none'})"
        )
    index = names.index(column)
    try:
        return [row[index] if index < len(row) else "" for row in reader]
    except csv.Error as exc:
        raise TrainingError(f"{name} is not valid CSV: {exc}") from None


def created_timestamp(explicit: str | None = None) -> str | None:
    """The ``created`` time to record, never read from the clock (training is reproducible).

    ``explicit`` (ISO 8601) wins, else ``SOURCE_DATE_EPOCH``, else None.
    """
    if explicit is not None:
        try:
            when = datetime.fromisoformat(explicit.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--created {explicit!r} is not an ISO 8601 date-time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None or epoch == "":
        return None
    try:
        return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix timestamp") from None


def _clean(values: Iterable[str]) -> list[str]:
    cleaned = []
    for number, raw in enumerate(values, 1):
        value = unicodedata.normalize("NFC", raw.strip())
        if not value:
            continue
        if _PAD in value:
            raise TrainingError(f"value {number} contains a NUL character")
        if len(value) > MAX_VALUE_LENGTH:
            raise TrainingError(
                f"value {number} is {len(value)} characters long; "
                f"phony models values of at most {MAX_VALUE_LENGTH}"
            )
        cleaned.append(value)
    return cleaned


def train(
    values: Iterable[str],
    *,
    name: str,
    order: int = DEFAULT_ORDER,
    locale: str | None = None,
    kind: str | None = None,
    license: str | None = None,
    source: str | None = None,
    description: str = "",
    created: str | None = None,
    exclude_originals: bool = False,
    smoothing: str = DEFAULT_SMOOTHING,
) -> Model:
    """Train an order-``order`` character model on ``values``.

    ``smoothing`` is ``none`` (weights are the n-gram counts),
    ``witten-bell`` (each context's counts interpolated with those of its
    one-shorter suffix, so new combinations appear) or ``kneser-ney``
    (interpolated with the suffix's continuation counts, discount 9/10). The result depends only
    on the arguments (never the clock): identical inputs give identical files.
    """
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise UsageError(f"order must be an integer from 1 to {MAX_ORDER}, not {order!r}")
    if smoothing not in SMOOTHINGS:
        raise UsageError(f"unknown smoothing {smoothing!r} (choose from {', '.join(SMOOTHINGS)})")
    cleaned = _clean(values)
    if not cleaned:
        raise TrainingError("nothing to train on: the input has no non-blank values")
    by_value = Counter(cleaned)
    pad = order - 1
    grams: Counter[tuple[str, str]] = Counter()
    for value, times in by_value.items():
        padded = _PAD * pad + value
        for i in range(len(value) + 1):
            nxt = value[i] if i < len(value) else ""
            grams[padded[i : i + pad], nxt] += times
    if smoothing == "witten-bell" and pad:
        grams = _witten_bell(grams)
    elif smoothing == "kneser-ney" and pad:
        grams = _kneser_ney(grams)
    alphabet = "".join(sorted(set("".join(by_value))))
    token_id = {ch: i + 1 for i, ch in enumerate(alphabet)}
    token_id[""] = 0
    contexts = sorted({ctx for ctx, _ in grams})
    state_id = {ctx: i for i, ctx in enumerate(contexts)}
    start = state_id[_PAD * pad]
    edges = sorted(grams.items(), key=lambda item: (state_id[item[0][0]], token_id[item[0][1]]))
    n = len(edges)
    tokens = np.empty(n, dtype=np.uint32)
    wide = np.empty(n, dtype=np.uint64)
    targets = np.empty(n, dtype=np.uint32)
    sources = np.empty(n, dtype=np.intp)
    for e, ((ctx, nxt), weight) in enumerate(edges):
        sources[e] = state_id[ctx]
        tokens[e] = token_id[nxt]
        wide[e] = min(weight, 2**64 - 1)
        # The next context is the last order-1 characters of ctx + nxt.
        targets[e] = state_id[(ctx + nxt)[len(ctx + nxt) - pad :]] if nxt else start
    offsets = np.zeros(len(contexts) + 1, dtype=np.uint32)
    offsets[1:] = np.cumsum(np.bincount(sources, minlength=len(contexts)))
    weights = _cap_state_totals(offsets, wide)
    lengths = Counter(len(v) for v in cleaned)
    longest = max(lengths)
    exclude = _exclusion(list(by_value), longest) if exclude_originals else None
    return Model(
        meta=ModelMeta(
            name=name,
            locale=locale,
            kind=kind,
            license=license,
            source=source,
            description=description,
            created=created,
        ),
        order=order,
        alphabet=alphabet,
        start=start,
        offsets=offsets,
        tokens=tokens,
        weights=weights,
        targets=targets,
        training=TrainingStats(
            values=len(cleaned),
            unique_values=len(by_value),
            characters=sum(len(v) * c for v, c in by_value.items()),
            max_length=longest,
            length_histogram=tuple(lengths.get(i, 0) for i in range(longest + 1)),
        ),
        max_length=longest,
        exclude=exclude,
    )


def _witten_bell(grams: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """Interpolate each context with its one-shorter suffix (Witten-Bell), in integers.

    P(x|c) = (N_c P_ml(x|c) + u_c P_ml(x|c')) / (N_c + u_c) with c' = c[1:],
    N_c the context's count and u_c its number of distinct followers. Scaled
    by (N_c + u_c) N_c' every weight is an integer. Every target c[1:] + x of
    a borrowed x is itself a context, so the automaton stays closed.
    """
    lower: dict[str, Counter[str]] = {}
    follow: dict[str, dict[str, int]] = {}
    for (ctx, nxt), count in grams.items():
        lower.setdefault(ctx[1:], Counter())[nxt] += count
        follow.setdefault(ctx, {})[nxt] = count
    smoothed: Counter[tuple[str, str]] = Counter()
    for ctx, nexts in follow.items():
        low = lower[ctx[1:]]
        low_total = sum(low.values())
        distinct = len(nexts)
        for nxt in nexts.keys() | low.keys():
            smoothed[ctx, nxt] = nexts.get(nxt, 0) * low_total + distinct * low.get(nxt, 0)
    return smoothed


def _kneser_ney(grams: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """Interpolated Kneser-Ney with discount D = 9/10, one level down, in integers.

    P(x|c) = max(N(c,x) - D, 0) / N(c) + D u(c) / N(c) * K(c',x) / K(c')
    with c' = c[1:], N(c) the context's count, u(c) its number of distinct
    followers, and K(c',x) the *continuation* count of x after c': in how
    many distinct contexts c'' with c''[1:] = c' x was seen (K(c') their
    sum). Unlike Witten-Bell, the shorter context's share goes by how many
    contexts a letter follows, not how often: a letter common only after
    one frequent context borrows little. Scaled by 10 N(c) K(c') every weight
    is an integer. As for Witten-Bell, every target c[1:] + x of a borrowed
    x is itself a context, so the automaton stays closed and sampling stays
    one table lookup per character.
    """
    continuation: dict[str, Counter[str]] = {}
    follow: dict[str, dict[str, int]] = {}
    for (ctx, nxt), count in grams.items():
        continuation.setdefault(ctx[1:], Counter())[nxt] += 1
        follow.setdefault(ctx, {})[nxt] = count
    smoothed: Counter[tuple[str, str]] = Counter()
    for ctx, nexts in follow.items():
        low = continuation[ctx[1:]]
        low_total = sum(low.values())
        distinct = len(nexts)
        for nxt in nexts.keys() | low.keys():
            seen = nexts.get(nxt, 0)
            kept = (_KN_DEN * seen - _KN_NUM) * low_total if seen else 0
            smoothed[ctx, nxt] = kept + _KN_NUM * distinct * low.get(nxt, 0)
    return smoothed


def _cap_state_totals(
    offsets: np.ndarray[Any, Any], wide: np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.uint32]]:
    """Scale down any state whose weights sum past 2**32-1 (the sampler draws 32 bits)."""
    starts = offsets[:-1].astype(np.intp)
    totals = [int(t) for t in np.add.reduceat(wide, starts)] if wide.size else []
    for s, total in enumerate(totals):
        lo, hi = int(offsets[s]), int(offsets[s + 1])
        if total > _U32_MAX or int(wide[lo:hi].max()) > _U32_MAX:
            factor = total // (_U32_MAX - (hi - lo)) + 1
            wide[lo:hi] = np.maximum(wide[lo:hi] // np.uint64(factor), 1)
    return wide.astype(np.uint32)


def codepoint_matrix(values: list[str], width: int) -> np.ndarray[Any, np.dtype[np.uint32]]:
    """Values as a ``[len(values), width]`` matrix of code points, 0-padded."""
    if not values:
        return np.zeros((0, width), dtype=np.uint32)
    array = np.array(values, dtype=np.dtype(("U", width)))
    return array.view(np.uint32).reshape(len(values), width)


def _exclusion(unique_values: list[str], width: int) -> Exclusion:
    digest = hashlib.sha256(
        "\x00".join(["phony exclude-originals", *sorted(unique_values)]).encode()
    ).digest()
    salt = int.from_bytes(digest[:8], "little")
    hashes = np.unique(value_hashes(codepoint_matrix(unique_values, width), salt))
    return Exclusion(salt=salt, hashes=hashes)


def model_stats(
    model: Model, *, sample: int = 10_000, seed: int = 0, originals: Iterable[str] | None = None
) -> dict[str, Any]:
    """The figures of ``phony stats``: sizes, lengths, entropy and a sample's novelty.

    Novelty (share of sampled values that are not training values) is
    measured against ``originals`` when given, else against the model's
    exclusion hashes, else reported as None.
    """
    weights = model.weights.astype(np.float64)
    starts = model.offsets[:-1].astype(np.intp)
    totals = np.add.reduceat(weights, starts)
    plogp = np.add.reduceat(weights * np.log2(weights), starts)
    state_entropy = np.log2(totals) - plogp / totals
    tokens_seen = float(totals.sum())
    bits_total = float((totals * state_entropy).sum())
    values = max(model.training.values, 1)
    sample = max(0, min(sample, 1 << 16))
    codepoints, ok = model.walk_codepoints(seed, 0, 0, sample)
    width = codepoints.shape[1]
    drawn: list[str] = codepoints[ok].view(np.dtype(("U", width))).reshape(-1).tolist()  # type: ignore[assignment]
    novelty: float | None = None
    walk_novelty: float | None = None
    if model.exclude is not None and drawn:
        hits = model.exclude.contains(value_hashes(codepoints[ok], model.exclude.salt))
        walk_novelty = float(1 - hits.mean())
        # Describe what generate emits: it drops the walks that hit a training value.
        drawn = [value for value, hit in zip(drawn, hits.tolist(), strict=True) if not hit]
    if originals is not None:
        known = {unicodedata.normalize("NFC", v.strip()) for v in originals}
        novelty = sum(v not in known for v in drawn) / len(drawn) if drawn else None
    elif model.exclude is not None and drawn:
        novelty = 1.0
    sample_lengths = Counter(len(v) for v in drawn)
    return {
        "name": model.meta.name,
        "order": model.order,
        "states": model.num_states,
        "ngrams": model.num_edges,
        "alphabet": len(model.alphabet),
        "distinct_values": model.distinct_values
        if model.distinct_values >= 2**53
        else int(model.distinct_values),
        "training": {
            "values": model.training.values,
            "unique_values": model.training.unique_values,
            "characters": model.training.characters,
            "max_length": model.training.max_length,
            "length_histogram": list(model.training.length_histogram or []),
        },
        "entropy": {
            "bits_per_token": bits_total / tokens_seen if tokens_seen else 0.0,
            "bits_per_value": bits_total / values,
        },
        "sample": {
            "size": sample,
            "seed": seed,
            "accepted": len(drawn),
            "distinct": len(set(drawn)) / len(drawn) if drawn else None,
            "mean_length": sum(map(len, drawn)) / len(drawn) if drawn else None,
            "novelty": novelty,
            "walk_novelty": walk_novelty,
            "length_histogram": [sample_lengths.get(i, 0) for i in range(width + 1)],
        },
        "perplexity_per_token": math.pow(2, bits_total / tokens_seen) if tokens_seen else 1.0,
    }
