"""Single-step migrations between ``.phony`` format versions, and the version-1 reader.

:data:`MIGRATIONS` maps a version ``v`` to the function turning a version-``v``
document into a version-``v+1`` document; :func:`phony_registry.format.upgrade`
applies them in a chain (1 -> 2 -> 3). The steps back, for readers that
only know an older layout, are :data:`phony_registry.convert.DOWNGRADES`
(3 -> 2 here, :func:`v3_to_v2`; 2 -> 1 needs the reader, so it lives there
with :func:`~phony_registry.convert.convert`). Each step validates what it
reads and raises ModelFormatError with the field path of the first defect.

Version 1 (the original Phony layout, see docs/format.md): ``tokens`` lists
the characters and ``ngrams[str(n)][context][next] = count``, where a context
is ``n-1`` characters padded on the left with :data:`V1_START` and ``next`` is
a character or :data:`V1_END`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from phony_registry.encoding import encode_array
from phony_registry.errors import ModelFormatError
from phony_registry.model import MAX_VALUE_LENGTH, Model

__all__ = [
    "MIGRATIONS",
    "V1_DEFAULT_MAX_LENGTH",
    "V1_END",
    "V1_MAX_NGRAMS",
    "V1_START",
    "losses",
    "model_to_v1",
    "v1_to_v2",
    "v2_to_v3",
    "v3_to_v2",
]

#: Start-of-value marker padding version-1 contexts (U+0002 START OF TEXT).
V1_START = "\x02"
#: End-of-value marker among version-1 next tokens (U+0003 END OF TEXT).
V1_END = "\x03"
#: ``generation.max_length`` of a migrated file with no ``max_length`` of its own.
V1_DEFAULT_MAX_LENGTH = 64
#: Most n-grams a version-1 table written by phony may hold (each one is about
#: two JSON values; the reader takes 2,000,000 values, every order included).
V1_MAX_NGRAMS = 600_000
_U32_MAX = 2**32 - 1
_V1_META = ("locale", "kind", "license", "source")


def _fail(message: str, field: str) -> ModelFormatError:
    return ModelFormatError(message, field=field)


def _v1_order(doc: dict[str, Any], ngrams: dict[str, Any]) -> int:
    if "order" in doc:
        order = doc["order"]
        if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 12:
            raise _fail("must be an integer from 1 to 12", "order")
        if str(order) not in ngrams:
            raise _fail(f"has no table for order {order}", "ngrams")
        return order
    orders = [int(k) for k in ngrams if k.isascii() and k.isdigit() and len(k) <= 2]
    orders = [order for order in orders if 1 <= order <= 12]
    if not orders:
        raise _fail('must hold at least one table keyed by its order ("2", "3", ...)', "ngrams")
    return max(orders)


def _v1_alphabet(doc: dict[str, Any]) -> str:
    tokens = doc.get("tokens")
    if not isinstance(tokens, list):
        raise _fail("must be an array of characters", "tokens")
    for i, token in enumerate(tokens):
        if not isinstance(token, str) or len(token) != 1 or token in (V1_START, V1_END, "\x00"):
            raise _fail("must be one character (not a marker or NUL)", f"tokens[{i}]")
    if len(set(tokens)) != len(tokens):
        raise _fail("must not repeat a character", "tokens")
    return "".join(sorted(tokens))


def v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Migrate a version-1 document to version 2 (the highest-order table becomes the automaton)."""
    ngrams = doc.get("ngrams")
    if not isinstance(ngrams, dict):
        raise _fail("must be an object mapping orders to tables", "ngrams")
    order = _v1_order(doc, ngrams)
    alphabet = _v1_alphabet(doc)
    known = set(alphabet)
    table = ngrams[str(order)]
    where = f"ngrams.{order}"
    if not isinstance(table, dict) or not table:
        raise _fail("must be a non-empty object of contexts", where)
    pad = order - 1
    contexts: dict[str, str] = {}  # internal (NUL-padded) -> original key
    for ctx in table:
        body = ctx.lstrip(V1_START)
        if len(ctx) != pad or any(c not in known for c in body):
            raise _fail(
                f"must be {pad} characters: start markers, then tokens", f"{where}[{ctx!r}]"
            )
        contexts["\x00" * (pad - len(body)) + body] = ctx
    ordered = sorted(contexts)
    state_id = {ctx: i for i, ctx in enumerate(ordered)}
    start_ctx = "\x00" * pad
    if start_ctx not in state_id:
        raise _fail("has no start context (only start markers)", where)
    start = state_id[start_ctx]
    token_id = {ch: i + 1 for i, ch in enumerate(alphabet)}
    token_id[V1_END] = 0
    offsets = [0]
    tokens: list[int] = []
    weights: list[int] = []
    targets: list[int] = []
    for ctx in ordered:
        key = contexts[ctx]
        nexts = table[key]
        path = f"{where}[{key!r}]"
        if not isinstance(nexts, dict) or not nexts:
            raise _fail("must be a non-empty object of next tokens and counts", path)
        total = 0
        for nxt in sorted(nexts, key=lambda t: token_id.get(t, -1)):
            count = nexts[nxt]
            if nxt not in token_id:
                raise _fail("is neither a token nor the end marker", f"{path}[{nxt!r}]")
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= _U32_MAX:
                raise _fail("must be a positive integer count", f"{path}[{nxt!r}]")
            total += count
            if nxt == V1_END:
                target = start
            else:
                following = (ctx + nxt)[len(ctx) + 1 - pad :] if pad else ""
                if following not in state_id:
                    raise _fail("leads to a context with no entry", f"{path}[{nxt!r}]")
                target = state_id[following]
            tokens.append(token_id[nxt])
            weights.append(count)
            targets.append(target)
        if total > _U32_MAX:
            raise _fail("counts must sum below 2**32", path)
        offsets.append(len(tokens))
    meta = _v1_meta(doc)
    arrays = {
        "offsets": np.array(offsets, dtype=np.uint32),
        "tokens": np.array(tokens, dtype=np.uint32),
        "weights": np.array(weights, dtype=np.uint32),
        "targets": np.array(targets, dtype=np.uint32),
    }
    max_length = doc.get("max_length")
    if max_length is None:
        max_length = _longest_walk(arrays, start)
    elif (
        isinstance(max_length, bool)
        or not isinstance(max_length, int)
        or not (1 <= max_length <= MAX_VALUE_LENGTH)
    ):
        raise _fail(f"must be an integer from 1 to {MAX_VALUE_LENGTH}", "max_length")
    return {
        "format_version": 2,
        "meta": meta,
        "model": {
            "order": order,
            "alphabet": alphabet,
            "start": start,
            **{key: encode_array(value, "<u4") for key, value in arrays.items()},
        },
        "training": {
            "values": int(sum(w for w, t in zip(weights, tokens, strict=True) if t == 0)),
            "unique_values": None,
            "characters": int(sum(w for w, t in zip(weights, tokens, strict=True) if t != 0)),
            "max_length": None,
            "length_histogram": None,
        },
        "generation": {"max_length": max_length},
        "exclude": None,
    }


def _v1_meta(doc: dict[str, Any]) -> dict[str, Any]:
    name = doc.get("name", "unnamed")
    if not isinstance(name, str) or not name.strip():
        raise _fail("must be a non-empty string", "name")
    meta: dict[str, Any] = {"name": name, "created": None}
    for key in _V1_META:
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            raise _fail("must be a string or null", key)
        meta[key] = value
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise _fail("must be a string", "description")
    meta["description"] = description
    return meta


def _longest_walk(arrays: dict[str, np.ndarray[Any, Any]], start: int) -> int:
    """Longest value the automaton can end on, capped at V1_DEFAULT_MAX_LENGTH."""
    offsets, tokens, targets = arrays["offsets"], arrays["tokens"], arrays["targets"]
    source = np.repeat(np.arange(offsets.size - 1), np.diff(offsets.astype(np.int64)))
    active = np.zeros(offsets.size - 1, dtype=bool)
    active[start] = True
    longest = 1
    for length in range(V1_DEFAULT_MAX_LENGTH + 1):
        live = active[source]
        if not live.any():
            break
        if (live & (tokens == 0)).any():
            longest = max(longest, length)
        active = np.zeros_like(active)
        active[targets[live & (tokens != 0)]] = True
    return max(1, min(longest, V1_DEFAULT_MAX_LENGTH))


def _lower_table(table: dict[str, dict[str, int]], width: int) -> dict[str, dict[str, int]]:
    """The table of contexts of ``width`` characters: the top table summed by context suffix.

    Every position of a training value has one context per order, the
    shorter ones being suffixes of the longest (start markers included), so
    for a model of counts this is exactly the table the original writers
    stored; for smoothed weights it sums the weights. It stays closed: the
    next context of a suffix is a suffix of a next context of the top table.
    """
    lower: dict[str, dict[str, int]] = {}
    for context, nexts in table.items():
        row = lower.setdefault(context[len(context) - width :], {})
        for token, weight in nexts.items():
            row[token] = row.get(token, 0) + weight
    for row in lower.values():
        while sum(row.values()) > _U32_MAX:  # huge smoothed weights: scale as training does
            divisor = sum(row.values()) // _U32_MAX + 1
            for token in row:
                row[token] = max(1, row[token] // divisor)
    return lower


def _cannot_hold(model: Model, width: int, why: str = "") -> ModelFormatError:
    return ModelFormatError(
        "format version 1 cannot hold this model ("
        + (why or f"the same {width} characters lead to different states")
        + ": modified Kneser-Ney smoothing keeps contexts of every length); "
        f"keep it in version {model.format_version}, or retrain it with --order N "
        "and --smoothing none, witten-bell or kneser-ney"
    )


def model_to_v1(model: Model) -> dict[str, Any]:
    """The version-1 document of ``model`` (for readers that only know the original layout).

    ``ngrams`` holds every order from 2 to the model's: the model's own table
    (its automaton, one context per state) and, for readers that back off,
    each shorter order summed from it (:func:`_lower_table`).
    """
    # Version 1 keys each row by the last `width` characters (start markers
    # first). Walking the automaton from the start, every context reached
    # must lead to one state whichever way it was reached; an order-1 model
    # (whose start, never ending a value, differs from its one context) is
    # written at order 2, where the start marker tells the two apart.
    width = max(model.order - 1, 1)
    order = width + 1
    names = [V1_END, *model.alphabet]
    state_of = {V1_START * width: model.start}
    frontier = [V1_START * width]
    table: dict[str, dict[str, int]] = {}
    entries = 0
    while frontier:
        following_frontier = []
        for context in frontier:
            s = state_of[context]
            lo, hi = int(model.offsets[s]), int(model.offsets[s + 1])
            row = table[context] = {}
            for t, w, target in zip(
                model.tokens[lo:hi].tolist(),
                model.weights[lo:hi].tolist(),
                model.targets[lo:hi].tolist(),
                strict=True,
            ):
                row[names[t]] = w
                if not t:
                    continue
                following = (context + names[t])[1:]
                if following not in state_of:
                    state_of[following] = target
                    following_frontier.append(following)
                elif state_of[following] != target:
                    raise _cannot_hold(model, width)
            entries += hi - lo
            if entries > V1_MAX_NGRAMS:
                raise _cannot_hold(model, width, f"more than {V1_MAX_NGRAMS:,} n-grams")
        frontier = following_frontier
    ngrams = {str(order): table}
    for n in range(2, order):
        ngrams[str(n)] = _lower_table(table, n - 1)
    meta = model.meta
    doc: dict[str, Any] = {
        "format_version": 1,
        "name": meta.name,
        "order": order,
        "max_length": model.max_length,
        "description": meta.description,
        "tokens": list(model.alphabet),
        "ngrams": ngrams,
    }
    doc.update({key: getattr(meta, key) for key in _V1_META})
    return doc


def v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 2 -> 3: the same model, with ``selection: null`` (training was told the order).

    The version-2 fields are checked by the reader once the chain is done;
    this step only adds what version 3 has and version 2 did not.
    """
    if "selection" in doc:
        raise _fail("unknown field in format version 2", "selection")
    return {**doc, "format_version": 3, "selection": None}


def v3_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 3 -> 2: the same automaton without the ``selection`` record (which is lost)."""
    if "selection" not in doc:
        raise _fail("missing (null when training was told the order)", "selection")
    return {key: value for key, value in doc.items() if key != "selection"} | {"format_version": 2}


def losses(model: Model, version: int) -> list[str]:
    """What a file of ``version`` cannot keep of ``model``, one sentence each (empty: nothing)."""
    lost: list[str] = []
    if version < 3 and model.selection is not None:
        lost.append(
            "the selection record (how training chose the order and smoothing; phony info shows it)"
        )
    if version >= 2:
        return lost
    if model.exclude is not None:
        lost.append(
            "the excluded training values (--exclude-originals): a format-1 reader, "
            "and phony reading the file, may emit training values verbatim"
        )
    t = model.training
    if t.unique_values is not None or t.length_histogram is not None:
        lost.append(
            "the training statistics (distinct values, longest value, length histogram); "
            "the number of values and characters are recomputed from the counts"
        )
    if model.meta.created is not None:
        lost.append("the creation time")
    if model.order == 1:
        lost.append("order 1: the model is written at order 2 (the same values)")
    return lost


#: version -> function migrating a document of that version to the next one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: v1_to_v2, 2: v2_to_v3}
