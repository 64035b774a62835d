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
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from phony_registry._fs import read_capped
from phony_registry.errors import TrainingError, UsageError
from phony_registry.model import (
    MAX_VALUE_LENGTH,
    Exclusion,
    Model,
    ModelMeta,
    TrainingStats,
    value_hashes,
)
from phony_registry.selection import Candidate, Selection

__all__ = [
    "CV_CHARACTERS",
    "DEFAULT_FOLDS",
    "DEFAULT_ORDER",
    "DEFAULT_SMOOTHING",
    "MAX_EXCLUDED_MASS",
    "MAX_NOVELTY_CHECKS",
    "MAX_ORDER",
    "MAX_SELECTED_EDGES",
    "MAX_TRAINING_BYTES",
    "MIN_NOVELTY",
    "NOVELTY_SAMPLE",
    "SELECTION_ORDERS",
    "SMOOTHINGS",
    "check_exclusion",
    "codepoint_matrix",
    "created_timestamp",
    "cross_validate",
    "estimate_edges",
    "model_stats",
    "read_values",
    "train",
]

#: The order of a model trained without selection on too few distinct values
#: to hold any out (and phony's fixed default before selection existed).
DEFAULT_ORDER = 4
#: Smoothing choices of :func:`train`, in the order selection prefers on a tie.
SMOOTHINGS = ("none", "witten-bell", "kneser-ney", "modified-kneser-ney")
#: The smoothing of a model trained with an explicit order and no smoothing.
DEFAULT_SMOOTHING = "none"
#: Orders selection measures (it stops early once a higher order predicts worse).
SELECTION_ORDERS = range(1, 9)
#: The share of a selected model's values that are not training values, at
#: least: where the chosen candidate copies more, training values (a share of
#: them, chosen by a stable hash) are excluded until it does not. A generator
#: of fake data must mostly invent (benchmarks/selection.py measures the trade).
MIN_NOVELTY = 0.9
#: The most of a candidate's walks that excluding training values may turn
#: away: a candidate that copies more is passed over for the next one.
MAX_EXCLUDED_MASS = 0.5
#: Candidates selection trains in full to measure novelty, best predictors first.
MAX_NOVELTY_CHECKS = 6
#: Selection leaves out any candidate whose model on the full values would
#: have more edges than this (:func:`estimate_edges`, an upper bound): about
#: 16 MiB of inflated JSON, a quarter of what the reader accepts
#: (:data:`phony_registry.format.DEFAULT_MAX_INFLATED`), and seconds to build.
#: ``--order N`` still builds any model (and ``phony train`` refuses to write
#: one the reader would refuse).
MAX_SELECTED_EDGES = 1_000_000
#: Walks in the sample whose novelty selection measures.
NOVELTY_SAMPLE = 4096
#: Folds of the cross-validation that chooses the order and smoothing.
DEFAULT_FOLDS = 5
#: Characters of distinct values cross-validation scores at most (each value's
#: end counting as one): a larger training set is cross-validated on a subsample
#: of its distinct values chosen by a stable hash, so selection costs a bounded
#: time whatever the size of the input (held-out figures on this many
#: characters move by about 0.01 bit between subsamples).
CV_CHARACTERS = 60_000
# Cross-entropy floor: each step's probability is mixed with a uniform draw
# over the alphabet and the end at weight 2**-10, so a transition a model
# cannot make costs about log2(V) + 10 bits instead of infinity (an
# unsmoothed model is scored, not disqualified, by what it cannot say).
_FLOOR = 2.0**-10
# Fixed-point denominator of modified Kneser-Ney's discounts.
_MKN_DEN = 1000
# Contexts per block of modified Kneser-Ney's matrices (bounds the temporaries).
_MKN_CHUNK = 4096
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
#: Largest training input read (bytes): a file, a pipe or stdin past it is refused
#: rather than read into memory (training on it would take hours anyway).
MAX_TRAINING_BYTES = 1 << 30
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


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
        if path.is_dir():
            raise UsageError(f"{label or path} is a folder, not a file")
        # Any readable file: a FIFO or /dev/stdin as well as a regular file.
        data = read_capped(path, MAX_TRAINING_BYTES, label or str(path))
    name = label or str(path)
    if b"\x00" in data:
        raise TrainingError(f"{name} is not a text file (it contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc
    if column is None:
        if path.suffix.lower() == ".csv":
            header = next(csv.reader(io.StringIO(text)), [])
            raise TrainingError(
                f"{name} is a CSV file: choose a column with --column "
                f"(columns: {', '.join(header) or 'none'})"
            )
        # Lines end at a line feed, a carriage return or both, as CSV records
        # and the txt output's lines do: U+2028, NEL or a form feed is a
        # character of a value, not a line break (str.splitlines would split).
        lines = _LINE_BREAK.split(text)
        if lines and not lines[-1]:
            lines.pop()  # the final line break ends the last line
        for number, value in enumerate(lines, 1):
            _check_length(value, name, number)
        return lines
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise TrainingError(f"{name} is empty: no CSV header") from exc
    except csv.Error as exc:
        raise TrainingError(f"{name} is not valid CSV: {exc}") from exc
    names = [heading.strip() for heading in header]
    if column not in names:
        raise TrainingError(
            f"{name} has no column {column!r} (columns: {', '.join(names) or 'none'})"
        )
    index = names.index(column)
    values: list[str] = []
    line = reader.line_num + 1  # where the next record starts
    try:
        for row in reader:
            if reader.line_num > line:
                # A quoted line break, or a quote never closed (read to the end
                # of the file): one-line values only, or the rest would vanish.
                raise TrainingError(
                    f"{name} line {line}: a quoted value runs over lines {line} to "
                    f"{reader.line_num} (a quote never closed?); phony trains on "
                    "one-line values"
                )
            values.append(row[index] if index < len(row) else "")
            _check_length(values[-1], name, line)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise TrainingError(f"{name} line {line}: not valid CSV ({exc})") from exc
    return values


def _check_length(value: str, name: str, line: int) -> None:
    if len(value) > MAX_VALUE_LENGTH and len(value.strip()) > MAX_VALUE_LENGTH:
        raise TrainingError(
            f"{name} line {line}: the value is {len(value.strip())} characters long; "
            f"phony models values of at most {MAX_VALUE_LENGTH}"
        )


def created_timestamp(explicit: str | None = None) -> str | None:
    """The ``created`` time to record, never read from the clock (training is reproducible).

    ``explicit`` (ISO 8601) wins, else ``SOURCE_DATE_EPOCH``, else None.
    """
    from phony_registry.manifest import format_time  # signing's import only when needed

    if explicit is not None:
        try:
            when = datetime.fromisoformat(explicit.replace("Z", "+00:00"))
        except ValueError as exc:
            raise UsageError(f"--created {explicit!r} is not an ISO 8601 date-time") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        try:
            return format_time(when)
        except OverflowError:  # 9999-12-31T23:59:59-12:00 is in the year 10000 in UTC
            raise UsageError(f"--created {explicit!r} is out of range in UTC") from None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None or epoch == "":
        return None
    try:
        return format_time(datetime.fromtimestamp(int(epoch), UTC))
    except (ValueError, OverflowError, OSError) as exc:
        raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix timestamp") from exc


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
    order: int | None = None,
    locale: str | None = None,
    kind: str | None = None,
    license: str | None = None,
    source: str | None = None,
    description: str = "",
    created: str | None = None,
    exclude_originals: bool | None = None,
    smoothing: str | None = None,
    folds: int = DEFAULT_FOLDS,
) -> Model:
    """Train a character model on ``values``.

    Without ``order``, the order (and the smoothing, unless given) is chosen
    by :func:`cross_validate`: the setting whose models best predict held-out
    values (lowest bits per character over ``folds`` folds); the choice and
    every candidate's figure are kept in :attr:`Model.selection`. With
    ``order``, the model is that order with ``smoothing`` (default ``none``),
    exactly as before selection existed: the same bytes as earlier phony.

    ``smoothing`` is ``none`` (weights are the n-gram counts),
    ``witten-bell`` (each context's counts interpolated with those of its
    one-shorter suffix, so new combinations appear), ``kneser-ney``
    (interpolated with the suffix's continuation counts, discount 9/10) or
    ``modified-kneser-ney`` (three discounts estimated from the counts of
    counts). The result depends only on the arguments (never the clock):
    identical inputs give identical files.

    ``exclude_originals``: True stores salted hashes of every training value
    so generation never emits one; False stores none; None (the default)
    lets selection exclude a share of them, when the chosen model would
    otherwise copy more than ``1 - MIN_NOVELTY`` of its values (a model
    trained with ``order`` excludes none).
    """
    if order is not None and (
        isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER
    ):
        raise UsageError(f"order must be an integer from 1 to {MAX_ORDER}, not {order!r}")
    if smoothing is not None and smoothing not in SMOOTHINGS:
        raise UsageError(f"unknown smoothing {smoothing!r} (choose from {', '.join(SMOOTHINGS)})")
    cleaned = _clean(values)
    if not cleaned:
        raise TrainingError("nothing to train on: the input has no non-blank values")
    by_value = Counter(cleaned)
    meta = ModelMeta(
        name=name,
        locale=locale,
        kind=kind,
        license=license,
        source=source,
        description=description,
        created=created,
    )
    if order is not None:
        return _build(
            cleaned,
            by_value,
            order,
            smoothing or DEFAULT_SMOOTHING,
            meta,
            None,
            exclude_originals is True,
        )
    measured = cross_validate(
        by_value,
        smoothings=SMOOTHINGS if smoothing is None else (smoothing,),
        folds=folds,
        max_edges=MAX_SELECTED_EDGES,
    )
    if measured is None:  # too few distinct values to hold any out
        return _build(
            cleaned,
            by_value,
            DEFAULT_ORDER,
            smoothing or DEFAULT_SMOOTHING,
            meta,
            None,
            exclude_originals is True,
        )
    # The best predictor that invents enough: candidates in order of held-out
    # cross-entropy, the first whose expected novelty is within reach of
    # MIN_NOVELTY (excluding at most MAX_EXCLUDED_MASS of its walks) wins
    # (else the most novel of those tried, after MAX_NOVELTY_CHECKS). Then a
    # smaller model whose figure is within the noise of the winner's (one
    # standard error of their fold-by-fold difference) and that is within
    # reach too takes its place: the smallest first. Last, training values
    # are excluded until the winner's values are MIN_NOVELTY new.
    record = measured.selection
    ranked = sorted(
        record.candidates,
        key=lambda c: (c.bits_per_character, c.order, SMOOTHINGS.index(c.smoothing)),
    )
    # What a candidate must reach before any exclusion (none with --keep-originals).
    reach = MIN_NOVELTY if exclude_originals is False else MIN_NOVELTY * (1 - MAX_EXCLUDED_MASS)
    novelty: dict[tuple[int, str], float] = {}
    # Each distinct training value's share of a candidate's output, in hash order.
    distinct = sorted(by_value, key=lambda v: (_stable_hash(v, b"phony-thin"), v))
    copies: dict[tuple[int, str], list[float]] = {}
    checks = 0

    def check(candidate: Candidate) -> Model:
        nonlocal checks
        checks += 1
        model = _build(
            cleaned,
            by_value,
            candidate.order,
            candidate.smoothing,
            meta,
            None,
            exclude_originals is True,
        )
        # As the file keeps it: with --exclude-originals every value is new.
        if exclude_originals:
            share = 1.0
        else:
            copies[candidate.order, candidate.smoothing] = _copy_shares(model, distinct)
            share = 1.0 - min(math.fsum(copies[candidate.order, candidate.smoothing]), 1.0)
        novelty[candidate.order, candidate.smoothing] = round(share, 4)
        return model

    best: tuple[float, Model, Candidate] | None = None
    for candidate in ranked[:MAX_NOVELTY_CHECKS]:
        model = check(candidate)
        share = novelty[candidate.order, candidate.smoothing]
        if best is None or share > best[0] or share >= reach:
            best = (share, model, candidate)
        if share >= reach:
            break
    assert best is not None  # ranked holds at least one candidate
    _, model, chosen = best
    if novelty[chosen.order, chosen.smoothing] >= reach:
        key = (chosen.order, chosen.smoothing)
        smaller = sorted(
            (
                c
                for c in record.candidates
                if measured.edges[c.order, c.smoothing] < measured.edges[key]
                and novelty.get((c.order, c.smoothing), 1.0) >= reach
                and measured.within_noise((c.order, c.smoothing), key)
            ),
            key=lambda c: (
                measured.edges[c.order, c.smoothing],
                c.bits_per_character,
                c.order,
                SMOOTHINGS.index(c.smoothing),
            ),
        )
        for candidate in smaller:
            if checks >= MAX_NOVELTY_CHECKS + 2:
                break
            alternative = check(candidate)
            if novelty[candidate.order, candidate.smoothing] >= reach:
                model, chosen = alternative, candidate
                break
    if exclude_originals is None and novelty[chosen.order, chosen.smoothing] < MIN_NOVELTY:
        model.exclude = _thinning(model, distinct, copies[chosen.order, chosen.smoothing])
    model.selection = Selection(
        order=chosen.order,
        smoothing=chosen.smoothing,
        folds=record.folds,
        held_out_characters=record.held_out_characters,
        min_novelty=MIN_NOVELTY,
        candidates=tuple(
            Candidate(
                c.order, c.smoothing, c.bits_per_character, novelty.get((c.order, c.smoothing))
            )
            for c in record.candidates
        ),
    )
    model.format_version = Model.written_version(model.selection)
    return model


def check_exclusion(model: Model, values: Iterable[str]) -> None:
    """Refuse a model that excludes its training ``values`` and generates nothing else.

    Such a model (one value, or values no walk strays from) is valid, but
    generation would spin through its attempts and fail; ``phony train``
    says so at once. Judged on the fixed sample of the novelty floor: no
    value of its 4,096 walks is new. TrainingError then.
    """
    if model.excludes_originals and _sample_novelty(model, Counter(_clean(values))) == 0:
        raise TrainingError(
            "every value this model generates is a training value, so with "
            "--exclude-originals it could generate none: train on more distinct values, "
            "or without --exclude-originals"
        )


def _sample_novelty(model: Model, by_value: Counter[str]) -> float:
    """Share of a fixed sample (seed 0, :data:`NOVELTY_SAMPLE` walks) not in the training values."""
    codepoints, ok = model.walk_codepoints(0, 0, 0, NOVELTY_SAMPLE)
    width = codepoints.shape[1]
    drawn: list[str] = codepoints[ok].view(np.dtype(("U", width))).reshape(-1).tolist()  # type: ignore[assignment]
    if not drawn:
        return 0.0
    return sum(value not in by_value for value in drawn) / len(drawn)


def _build(
    cleaned: list[str],
    by_value: Counter[str],
    order: int,
    smoothing: str,
    meta: ModelMeta,
    selection: Selection | None,
    exclude_originals: bool,
) -> Model:
    """The model of one (order, smoothing) on the cleaned values."""
    grams = _grams(by_value, order, smoothing)
    pad = order - 1
    alphabet = "".join(sorted(set("".join(by_value))))
    token_id = {ch: i + 1 for i, ch in enumerate(alphabet)}
    token_id[""] = 0
    contexts = sorted({ctx for ctx, _ in grams})
    state_id = {ctx: i for i, ctx in enumerate(contexts)}
    start = state_id[_start_context(pad)]
    edges = sorted(grams.items(), key=lambda item: (state_id[item[0][0]], token_id[item[0][1]]))
    n = len(edges)
    sources = np.fromiter((state_id[ctx] for (ctx, _), _ in edges), dtype=np.intp, count=n)
    tokens = np.fromiter((token_id[nxt] for (_, nxt), _ in edges), dtype=np.uint32, count=n)
    wide = np.fromiter((min(w, 2**64 - 1) for _, w in edges), dtype=np.uint64, count=n)
    # The next context is the last order-1 characters of ctx + nxt, or its
    # longest suffix that is a state (modified Kneser-Ney keeps every shorter
    # context; the other smoothings always find the full one). Many edges
    # share a next context: each is looked up once.
    target_of: dict[str, int] = {}

    def target(ctx: str, nxt: str) -> int:
        if not nxt:
            return start
        following = (ctx + nxt)[len(ctx) + 1 - pad :]
        found = target_of.get(following)
        if found is None:
            shorter = following
            while shorter not in state_id:
                shorter = shorter[1:]
            found = target_of[following] = state_id[shorter]
        return found

    targets = np.fromiter((target(ctx, nxt) for (ctx, nxt), _ in edges), dtype=np.uint32, count=n)
    offsets = np.zeros(len(contexts) + 1, dtype=np.uint32)
    offsets[1:] = np.cumsum(np.bincount(sources, minlength=len(contexts)))
    weights = _cap_state_totals(offsets, wide)
    lengths = Counter(len(v) for v in cleaned)
    longest = max(lengths)
    exclude = _exclusion(list(by_value), longest) if exclude_originals else None
    return Model(
        meta=meta,
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
        selection=selection,
    )


def _start_context(pad: int) -> str:
    """The context every value starts from.

    An order-1 model has one context for every position (the empty one), so
    its start gets a context of its own: the unigram counts without the end,
    since a value is never empty. Without it, a first draw of the end token
    emitted an empty string (one value in six on first names).
    """
    return _PAD * pad if pad else _PAD


def _count(by_value: Counter[str], order: int) -> Counter[tuple[str, str]]:
    """The (context, next) counts of an order-``order`` model, without smoothing."""
    pad = order - 1
    grams: Counter[tuple[str, str]] = Counter()
    for value, times in by_value.items():
        padded = _PAD * pad + value
        # Counter.update counts an iterable in C; the keys arrive in the same
        # order as one by one, so every later step sees the same dict.
        keys = zip([padded[i : i + pad] for i in range(len(value) + 1)], [*value, ""], strict=True)
        if times == 1:
            grams.update(keys)
        else:
            for key in keys:
                grams[key] += times
    return grams


def _grams(
    by_value: Counter[str],
    order: int,
    smoothing: str,
    counts: Counter[tuple[str, str]] | None = None,
) -> dict[tuple[str, str], int]:
    """The automaton's weighted edges: counts, smoothed, with a start that never ends."""
    pad = order - 1
    if smoothing == "modified-kneser-ney" and pad:
        return _modified_kneser_ney(by_value, order)
    grams = _count(by_value, order) if counts is None else counts
    if smoothing == "witten-bell" and pad:
        grams = _witten_bell(grams)
    elif smoothing == "kneser-ney" and pad:
        grams = _kneser_ney(grams)
    start = _start_context(pad)
    if pad:
        # A smoothed order-2 start borrows the end token from the empty context.
        grams = Counter({key: w for key, w in grams.items() if key != (start, "")})
    else:
        grams = Counter(grams)
        for (_, nxt), count in list(grams.items()):
            if nxt:
                grams[start, nxt] = count
    return grams


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


def _modified_kneser_ney(by_value: Counter[str], order: int) -> dict[tuple[str, str], int]:
    """Interpolated modified Kneser-Ney across every order (Chen and Goodman), quantised.

    Each context ``c`` of any length up to ``order - 1`` seen in training is
    a state whose distribution over every token is
    ``P(x|c) = (max(n(c,x) - D(n(c,x)), 0) + g(c) P(x|c[1:])) / n(c)`` down
    to the empty context, itself interpolated with the uniform distribution.
    ``n`` are the counts at the highest order and for contexts that begin at
    the start of a value, continuation counts (in how many contexts one
    character longer the pair was seen) otherwise. ``D1``, ``D2``, ``D3+``
    per order come from that order's counts of counts
    (:func:`_mkn_discounts`), ``g(c) = D1 N1(c) + D2 N2(c) + D3+ N3+(c)``.

    Every state lists every token whose probability is at least one unit of
    :func:`_mkn_scale` (the weights are the probabilities in those units,
    rounded half to even; smaller ones round to zero and are left out), so
    sampling stays one table lookup per character. After emitting ``x`` in
    ``c`` the walk moves to the longest suffix of ``c + x`` that is a state:
    a history never seen has no counts, so interpolated Kneser-Ney gives it
    its longest seen suffix's distribution, exactly.
    """
    vocab = ["", *sorted(set("".join(by_value)))]
    grams: dict[tuple[str, str], int] = {}
    for contexts, units in _mkn_units(by_value, order):
        r, c = np.nonzero(units)
        grams.update(
            zip(
                zip(
                    [contexts[i] for i in r.tolist()],
                    [vocab[i] for i in c.tolist()],
                    strict=True,
                ),
                units[r, c].tolist(),
                strict=True,
            )
        )
    return grams


def _mkn_units(
    by_value: Counter[str], order: int, counts: Counter[tuple[str, str]] | None = None
) -> Iterator[tuple[list[str], np.ndarray[Any, np.dtype[np.int64]]]]:
    """Modified Kneser-Ney's quantised weights, a block of contexts at a time.

    Yields the contexts (a block of one level, sorted) and their weights, a
    row per context and a column per token (the end, then the alphabet).
    ``counts``: the values' :func:`_count` at ``order``, when already counted.
    """
    pad = order - 1
    size = len(set("".join(by_value))) + 1
    index = {"": 0} | {ch: i + 1 for i, ch in enumerate(sorted(set("".join(by_value))))}
    levels = _mkn_levels(_count(by_value, order) if counts is None else Counter(counts), pad)
    scale = _mkn_scale(size)
    # One row per context of the level below, in its sorted order.
    parent_rows: dict[str, int] = {"": 0}
    parent = np.full((1, size), 1.0 / size, dtype=np.float64)
    for length in range(pad + 1):
        level = levels[length]
        d = _mkn_discounts(level)
        # Discounts stay integers (thousandths) until the last division, so
        # every float is one correctly rounded operation on exact integers:
        # the weights are the same on every IEEE 754 machine. Whole levels
        # are computed as matrices (a context per row); each element is the
        # same single operation as context by context, so the same bits.
        discount = np.array([0, d[0], d[1], d[2]], dtype=np.int64)
        contexts = sorted({ctx for ctx, _ in level})
        rows = {ctx: i for i, ctx in enumerate(contexts)}
        n = np.zeros((len(contexts), size), dtype=np.int64)
        keys = list(level)
        n[
            np.fromiter((rows[ctx] for ctx, _ in keys), dtype=np.intp, count=len(keys)),
            np.fromiter((index[nxt] for _, nxt in keys), dtype=np.intp, count=len(keys)),
        ] = np.fromiter(level.values(), dtype=np.int64, count=len(keys))
        below = np.fromiter(
            (parent_rows[ctx[1:]] if length else 0 for ctx in contexts),
            dtype=np.intp,
            count=len(contexts),
        )
        current = np.empty((len(contexts), size), dtype=np.float64)
        for lo in range(0, len(contexts), _MKN_CHUNK):
            hi = min(lo + _MKN_CHUNK, len(contexts))
            block = n[lo:hi]
            lent = discount[np.minimum(block, 3)]
            total = block.sum(axis=1) * _MKN_DEN
            dist = parent[below[lo:hi]] * (lent.sum(axis=1) / total)[:, None]
            dist += (block * _MKN_DEN - lent) / total[:, None]
            current[lo:hi] = dist
            units = np.rint(dist * scale).astype(np.int64)
            if length == pad and _PAD * pad in rows and lo <= rows[_PAD * pad] < hi:
                units[rows[_PAD * pad] - lo, 0] = 0  # a value is never empty
            yield contexts[lo:hi], units
        parent, parent_rows = current, rows


def _mkn_scale(vocabulary: int) -> int:
    """Weight units per state of a modified Kneser-Ney model: 4096, more for large alphabets."""
    return max(1 << 12, 8 * vocabulary)


def _mkn_discounts(grams: Counter[tuple[str, str]]) -> tuple[int, int, int]:
    """D1, D2, D3+ in thousandths, from the counts of counts (9/10 each when undefined)."""
    n = Counter(min(count, 5) for count in grams.values())
    n1, n2, n3, n4 = n[1], n[2], n[3], n[4]
    if not (n1 and n2 and n3 and n4):
        return (900, 900, 900)
    y = n1 / (n1 + 2 * n2)
    raw = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    # Each discount stays below its count (a seen n-gram keeps some weight)
    # and above zero (the shorter context always lends).
    d1, d2, d3 = (min(max(round(d * _MKN_DEN), 1), k * _MKN_DEN - 1) for k, d in enumerate(raw, 1))
    return d1, d2, d3


def _stable_hash(value: str, person: bytes) -> int:
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8, person=person).digest()
    return int.from_bytes(digest, "little")


def _fold_of(value: str, folds: int) -> int:
    """The fold a distinct value is held out in: a stable hash, so the split is reproducible."""
    return _stable_hash(value, b"phony-cv") % folds


def _subsample(distinct: list[str], budget: int) -> list[str]:
    """At most about ``budget`` characters of distinct values, chosen by a stable hash.

    The values whose hashes are lowest, so the sample depends on the set of
    values only (not their order) and is spread over the whole list.
    """
    if sum(len(v) + 1 for v in distinct) <= budget:
        return distinct
    taken: list[str] = []
    used = 0
    for value in sorted(distinct, key=lambda v: (_stable_hash(v, b"phony-cv-sample"), v)):
        if used >= budget:
            break
        taken.append(value)
        used += len(value) + 1
    return sorted(taken)


# A function giving P(next | context) of one candidate trained on one fold's training part.
_Probability = Callable[[str, str], float]


def _plain_probability(grams: dict[tuple[str, str], int]) -> _Probability:
    totals: Counter[str] = Counter()
    for (ctx, _), weight in grams.items():
        totals[ctx] += weight

    def probability(ctx: str, nxt: str) -> float:
        seen = totals.get(ctx, 0)
        return grams.get((ctx, nxt), 0) / seen if seen else 0.0

    return probability


def _interpolated_probability(
    counts: Counter[tuple[str, str]], order: int, smoothing: str
) -> _Probability:
    """Witten-Bell's or Kneser-Ney's P(x|c), only where asked: the weights of
    :func:`_witten_bell` / :func:`_kneser_ney` (and the start without the end)
    divided by the state's total, the same integers, so the same floats as
    scoring the built table."""
    follow: dict[str, dict[str, int]] = {}
    lower: dict[str, dict[str, int]] = {}
    kn = smoothing == "kneser-ney"
    for (ctx, nxt), count in counts.items():
        nexts = follow.get(ctx)
        if nexts is None:
            nexts = follow[ctx] = {}
        nexts[nxt] = count
        low = lower.get(ctx[1:])
        if low is None:
            low = lower[ctx[1:]] = {}
        low[nxt] = low.get(nxt, 0) + (1 if kn else count)
    lower_total = {ctx: sum(low.values()) for ctx, low in lower.items()}
    start = _start_context(order - 1)
    # Per state: its counts, its suffix's, the suffix's total, its distinct
    # followers and its total weight (filled on first use).
    states: dict[str, tuple[dict[str, int], dict[str, int], int, int, int]] = {}

    def weight(nexts: dict[str, int], low: dict[str, int], low_total: int, nxt: str) -> int:
        seen = nexts.get(nxt, 0)
        if kn:
            kept = (_KN_DEN * seen - _KN_NUM) * low_total if seen else 0
            return kept + _KN_NUM * len(nexts) * low.get(nxt, 0)
        return seen * low_total + len(nexts) * low.get(nxt, 0)

    def probability(ctx: str, nxt: str) -> float:
        state = states.get(ctx)
        if state is None:
            nexts = follow.get(ctx)
            if nexts is None:
                return 0.0
            low, low_total = lower[ctx[1:]], lower_total[ctx[1:]]
            n = sum(nexts.values())
            whole = _KN_DEN * n * low_total if kn else (n + len(nexts)) * low_total
            if ctx == start:  # the start never ends: its end weight is left out
                whole -= weight(nexts, low, low_total, "")
            state = states[ctx] = (nexts, low, low_total, len(nexts), whole)
        nexts, low, low_total, _, whole = state
        if not whole or (ctx == start and not nxt):
            return 0.0
        return weight(nexts, low, low_total, nxt) / whole

    return probability


def _mkn_levels(counts: Counter[tuple[str, str]], pad: int) -> list[Counter[tuple[str, str]]]:
    """Modified Kneser-Ney's counts by context length: the highest order's counts,
    and below, continuation counts (raw counts for contexts at a value's start)."""
    levels: list[Counter[tuple[str, str]]] = [Counter() for _ in range(pad + 1)]
    levels[pad] = counts
    for length in range(pad, 0, -1):
        lower = levels[length - 1]
        for (ctx, nxt), count in levels[length].items():
            shorter = ctx[1:]
            lower[shorter, nxt] += count if shorter[:1] == _PAD else 1
    return levels


def _mkn_probability(
    counts: Counter[tuple[str, str]], order: int, alphabet: set[str]
) -> _Probability:
    """Modified Kneser-Ney's P(x|c) before quantisation, only where asked.

    The same recursion and the same integer-then-divide steps as
    :func:`_modified_kneser_ney`, from the uniform distribution up through
    every seen suffix of ``c`` (an unseen history takes its longest seen
    suffix's distribution, as the automaton's walk does). The built model
    rounds each weight to 1/4096 of its state or finer, which moves a
    held-out figure by well under the fold-to-fold noise.
    """
    pad = order - 1
    size = len(alphabet) + 1
    levels = _mkn_levels(counts, pad)
    tables: list[tuple[tuple[int, int, int, int], dict[str, tuple[dict[str, int], int, int]]]] = []
    for level in levels:
        d = _mkn_discounts(level)
        discount = (0, d[0], d[1], d[2])
        by_context: dict[str, dict[str, int]] = {}
        for (ctx, nxt), count in level.items():
            by_context.setdefault(ctx, {})[nxt] = count
        tables.append(
            (
                discount,
                {
                    ctx: (
                        nexts,
                        sum(nexts.values()) * _MKN_DEN,
                        sum(discount[min(n, 3)] for n in nexts.values()),
                    )
                    for ctx, nexts in by_context.items()
                },
            )
        )

    def probability(ctx: str, nxt: str) -> float:
        if nxt and nxt not in alphabet:
            return 0.0
        p = 1.0 / size
        for length, (discount, contexts) in enumerate(tables):
            row = contexts.get(ctx[len(ctx) - length :] if length else "")
            if row is None:
                break
            nexts, total, lent = row
            n = nexts.get(nxt, 0)
            p = p * (lent / total) + (n * _MKN_DEN - discount[min(n, 3)]) / total
        return p

    return probability


def _probability(
    counts: Counter[tuple[str, str]], order: int, smoothing: str, alphabet: set[str]
) -> _Probability:
    if order == 1 or smoothing == "none":
        return _plain_probability(_grams(Counter(), order, "none", counts))
    if smoothing == "modified-kneser-ney":
        return _mkn_probability(counts, order, alphabet)
    return _interpolated_probability(counts, order, smoothing)


def _bits(
    probability: _Probability, held_out: list[tuple[str, int]], order: int, vocabulary: int
) -> tuple[float, int]:
    """Total bits and characters (each value's end counts as one) of ``held_out``."""
    pad = order - 1
    floor = _FLOOR / vocabulary
    keep = 1.0 - _FLOOR
    bits = 0.0
    characters = 0
    start = _start_context(pad)
    for value, times in held_out:  # a fixed order: float sums do not commute
        padded = _PAD * pad + value
        total = 0.0
        for i in range(len(value) + 1):
            ctx = padded[i : i + pad] if pad or i else start
            nxt = value[i] if i < len(value) else ""
            total -= math.log2(keep * probability(ctx, nxt) + floor)
        bits += total * times
        characters += (len(value) + 1) * times
    return bits, characters


def estimate_edges(
    by_value: Counter[str],
    order: int,
    smoothing: str,
    counts: Counter[tuple[str, str]] | None = None,
    exact_below: int | None = None,
) -> int:
    """An upper bound on the edges of the model :func:`train` would build, before building it.

    Unsmoothed: the distinct n-grams. Witten-Bell and Kneser-Ney: each
    context lists what follows its one-shorter suffix. Modified Kneser-Ney:
    every context of every length, times the alphabet and the end; when
    that bound passes ``exact_below`` (by up to 8 times), the weights the
    model would keep are counted instead, exactly.
    ``counts``: the values' :func:`_count` at ``order``, when already counted.
    """
    alphabet = len(set("".join(by_value)))
    if order == 1:
        return 2 * alphabet + 1
    if counts is None:
        counts = _count(by_value, order)
    if smoothing == "none":
        return len(counts)
    if smoothing == "modified-kneser-ney":
        contexts = {ctx for ctx, _ in counts}
        states = 1 + sum(
            len({ctx[len(ctx) - length :] for ctx in contexts}) for length in range(1, order)
        )
        bound = states * (alphabet + 1)
        if exact_below is None or bound <= exact_below or bound > 8 * exact_below:
            return bound
        # Most states lend a token too little to keep: count the weights kept
        # (the table without the dictionary of edges, a fraction of a build).
        return sum(int(np.count_nonzero(u)) for _, u in _mkn_units(by_value, order, counts))
    follows: dict[str, set[str]] = {}
    for ctx, nxt in counts:
        follows.setdefault(ctx[1:], set()).add(nxt)
    return sum(len(follows[ctx[1:]]) for ctx in {ctx for ctx, _ in counts})


def _noise(per_fold: list[tuple[float, int]], best: list[tuple[float, int]]) -> float:
    """The standard error of a candidate's held-out figure minus the best's, over the folds.

    Both are scored on the same folds, so the per-fold differences cancel
    what the folds share (some held-out values are just harder).
    """
    diffs = [a / n - b / m for (a, n), (b, m) in zip(per_fold, best, strict=True)]
    if len(diffs) < 2:
        return 0.0
    mean = sum(diffs) / len(diffs)
    variance = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    return math.sqrt(variance / len(diffs))


@dataclass
class Measured:
    """What :func:`cross_validate` measured: the record, and what selection needs besides."""

    selection: Selection
    #: Each candidate's (bits, characters) per fold, keyed by (order, smoothing).
    per_fold: dict[tuple[int, str], list[tuple[float, int]]]
    #: Each candidate's estimated edges on the full training set.
    edges: dict[tuple[int, str], int]

    def within_noise(self, a: tuple[int, str], b: tuple[int, str]) -> bool:
        """Whether ``a`` predicts within one standard error of ``b`` (or better)."""
        figures = {(c.order, c.smoothing): c.bits_per_character for c in self.selection.candidates}
        return figures[a] - figures[b] <= _noise(self.per_fold[a], self.per_fold[b])


def cross_validate(
    by_value: Counter[str],
    *,
    orders: Iterable[int] = SELECTION_ORDERS,
    smoothings: Iterable[str] = SMOOTHINGS,
    folds: int = DEFAULT_FOLDS,
    max_edges: int = MAX_SELECTED_EDGES,
) -> Measured | None:
    """Measure how well each (order, smoothing) predicts held-out values.

    The distinct values (at most :data:`CV_CHARACTERS` characters of them,
    a subsample chosen by a stable hash when there are more) are split into
    ``folds`` parts by a stable hash of each value (repeats stay together,
    so a held-out value is one the model never saw). For each candidate, a
    model trained on all parts but one scores the one left out: the mean
    number of bits per character (the end of a value counting as a
    character, each step's probability mixed with a uniform floor of weight
    2**-10 so an impossible step costs ~10 bits more than a uniform guess
    rather than infinity). Only the held-out characters' probabilities are
    computed, from the counts of all the values minus the held-out part's.
    The figure is the total over the folds divided by the characters scored,
    rounded to 4 decimals; the record's ``order`` and ``smoothing`` are the
    lowest, ties going to the lower order, then to the earlier smoothing in
    :data:`SMOOTHINGS`. Orders rise while a higher order still predicts
    better (per smoothing, stopping after the first that does not) and
    while the model on the full values would stay within ``max_edges``
    (:func:`estimate_edges`).

    None when there are fewer than two distinct values: nothing to hold out.
    """
    if folds < 2:
        raise UsageError("selection needs at least 2 folds")
    everything = sorted(by_value)
    if len(everything) < 2:
        return None
    distinct = _subsample(everything, CV_CHARACTERS)
    folds = min(folds, len(distinct))
    part = {value: _fold_of(value, folds) for value in distinct}
    if len(set(part.values())) < 2:  # every value hashed into one fold: split by rank instead
        part = {value: i % folds for i, value in enumerate(distinct)}
    groups: list[Counter[str]] = [Counter() for _ in range(folds)]
    for value in distinct:
        groups[part[value]][value] = by_value[value]
    splits = [
        (fold, sorted(group.items()))
        for fold, group in enumerate(groups)
        if group and len(group) < len(distinct)
    ]
    vocabulary = len(set("".join(everything))) + 1
    alphabets = {fold: set("".join(v for v in distinct if part[v] != fold)) for fold, _ in splits}
    smoothings = tuple(smoothings)
    results: dict[tuple[int, str], float] = {}
    per_fold: dict[tuple[int, str], list[tuple[float, int]]] = {}
    edges: dict[tuple[int, str], int] = {}
    held_out_characters = 0
    stopped: set[str] = set()
    previous: dict[str, float] = {}
    for order in orders:
        live = [s for s in smoothings if s not in stopped and (order > 1 or s == smoothings[0])]
        full = _count(by_value, order) if live and order > 1 else None
        for smoothing in list(live):
            # Past the cap the file would be megabytes (slow to train and load,
            # or over the reader's limits) for a gain selection cannot see; a
            # higher order is larger still.
            edges[order, smoothing] = estimate_edges(
                by_value, order, smoothing, full, exact_below=max_edges
            )
            if edges[order, smoothing] > max_edges:
                live.remove(smoothing)
                stopped.add(smoothing)
        if not live:
            break
        # Each value counted once per order: a fold's training counts are all
        # the counts minus the held-out part's.
        by_fold = [_count(group, order) for group in groups]
        everything_counted: Counter[tuple[str, str]] = Counter()
        for fold_counts in by_fold:
            everything_counted.update(fold_counts)
        for smoothing in live:
            per_fold[order, smoothing] = []
        for fold, held_out in splits:
            counts = everything_counted.copy()
            counts.subtract(by_fold[fold])
            counts = +counts
            for smoothing in live:
                probability = _probability(counts, order, smoothing, alphabets[fold])
                per_fold[order, smoothing].append(_bits(probability, held_out, order, vocabulary))
        for smoothing in live:
            total_bits = sum(b for b, _ in per_fold[order, smoothing])
            counted = sum(n for _, n in per_fold[order, smoothing])
            score = round(total_bits / counted, 4)
            # Order 1 ignores smoothing: one candidate stands for every smoothing.
            results[order, smoothing] = score
            held_out_characters = counted
            if order > 1 and smoothing in previous and score >= previous[smoothing]:
                stopped.add(smoothing)
            previous[smoothing] = score
        if order == 1:
            previous = dict.fromkeys(smoothings, results[1, live[0]])
    if not results:
        return None
    rank = {s: i for i, s in enumerate(SMOOTHINGS)}
    best = min(results, key=lambda key: (results[key], key[0], rank[key[1]]))
    selection = Selection(
        order=best[0],
        smoothing=best[1],
        folds=len(splits),
        held_out_characters=held_out_characters,
        min_novelty=None,
        candidates=tuple(
            Candidate(order=o, smoothing=s, bits_per_character=results[o, s], novelty=None)
            for o, s in sorted(results, key=lambda key: (key[0], rank[key[1]]))
        ),
    )
    return Measured(selection, per_fold, {k: edges[k] for k in results})


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


def _exclusion(unique_values: list[str], width: int, only: list[str] | None = None) -> Exclusion:
    """The salted hashes of the training values (``only`` these, when given).

    The salt is a digest of all of them, so the same training values give
    the same file.
    """
    digest = hashlib.sha256(
        "\x00".join(["phony exclude-originals", *sorted(unique_values)]).encode()
    ).digest()
    salt = int.from_bytes(digest[:8], "little")
    hashed = unique_values if only is None else only
    hashes = np.unique(value_hashes(codepoint_matrix(hashed, width), salt))
    return Exclusion(salt=salt, hashes=hashes)


def _copy_shares(model: Model, values: list[str]) -> list[float]:
    """Each of ``values``' share of the values ``model`` generates (before any exclusion).

    Exact (no sampling): a value's probability among the walks that end in
    time. One minus their sum, for the distinct training values, is the
    model's novelty.
    """
    kept = model.accepted_mass
    if kept <= 0:
        return [0.0] * len(values)
    return (model.value_probabilities(values) / kept).tolist()  # type: ignore[no-any-return]


def _thinning(model: Model, values: list[str], shares: list[float]) -> Exclusion | None:
    """The training values to exclude so that :data:`MIN_NOVELTY` of ``model``'s values are new.

    ``values`` are the distinct training values in the order of a stable
    hash (so which ones does not depend on the input's order, nor on how
    typical a value is), ``shares`` their :func:`_copy_shares`. Values are
    taken in turn until excluding them leaves the floor, or
    :data:`MAX_EXCLUDED_MASS` of the walks is turned away. None when the
    model is new enough already.
    """
    # Excluding a mass m of walks leaves (1 - copied) / (1 - m) of the rest new.
    need = min(1.0 - (1.0 - math.fsum(shares)) / MIN_NOVELTY, MAX_EXCLUDED_MASS)
    if need <= 0:
        return None
    taken = int(np.searchsorted(np.cumsum(shares), need)) + 1
    chosen = [v for v, share in zip(values[:taken], shares[:taken], strict=True) if share > 0]
    if not chosen:
        return None
    return _exclusion(values, model.max_length, only=chosen)


def model_stats(
    model: Model, *, sample: int = 10_000, seed: int = 0, originals: Iterable[str] | None = None
) -> dict[str, Any]:
    """The figures of ``phony stats``: sizes, lengths, entropy and a sample's novelty.

    Novelty (share of sampled values that are not training values) is
    measured against ``originals`` when given, else 1 for a model that
    excludes every training value, else reported as None.
    """
    weights = model.weights.astype(np.float64)
    starts = model.offsets[:-1].astype(np.intp)
    totals = np.add.reduceat(weights, starts)
    plogp = np.add.reduceat(weights * np.log2(weights), starts)
    state_entropy = np.log2(totals) - plogp / totals
    # Expected entropy of a walk under the model itself: the probability of
    # being in each state at each step (from the start, up to the length
    # limit) weighs that state's entropy. Weights are not visit counts once a
    # model is smoothed (modified Kneser-Ney gives every state 4096 units).
    degree = np.diff(model.offsets).astype(np.intp)
    sources = np.repeat(np.arange(model.num_states, dtype=np.intp), degree)
    probability = weights / totals[sources]
    going = model.tokens != 0
    flow = np.zeros(model.num_states, dtype=np.float64)
    flow[model.start] = 1.0
    bits_total = tokens_seen = 0.0
    for _ in range(model.max_length + 1):
        bits_total += float(flow @ state_entropy)
        tokens_seen += float(flow.sum())
        moved = flow[sources] * probability
        flow = np.bincount(
            model.targets[going], weights=moved[going], minlength=model.num_states
        ).astype(np.float64)
        if float(flow.sum()) < 1e-12:
            break
    values = 1
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
    elif model.excludes_originals and drawn:
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
