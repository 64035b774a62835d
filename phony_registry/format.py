"""Reading, validating and writing ``.phony`` files (specification: docs/format.md).

A ``.phony`` file is one gzip member holding UTF-8 JSON with an integer
``format_version``. Older versions are upgraded in memory through the chain
of single-step migrations in :mod:`phony_registry.migrate`; a newer version
is refused with :class:`UnsupportedFormatVersion`. Every other defect is a
:class:`ModelFormatError` naming the field (``model.offsets[3]``). Nothing
else escapes the reader, whatever the bytes.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from phony_registry._constants import ORDER_MAX as _ORDER_MAX
from phony_registry.canonical import JsonLimits, json_kind, loads_object
from phony_registry.encoding import decode_array, encode_array
from phony_registry.errors import DecompressionLimit, ModelFormatError, UnsupportedFormatVersion
from phony_registry.migrate import MIGRATIONS
from phony_registry.model import (
    FORMAT_VERSION,
    MAX_VALUE_LENGTH,
    NEWEST_FORMAT_VERSION,
    Exclusion,
    Model,
    ModelMeta,
    TrainingStats,
)
from phony_registry.selection import Selection, selection_from_json, selection_to_json

__all__ = [
    "DEFAULT_MAX_INFLATED",
    "FORMAT_VERSION",
    "MODEL_LIMITS",
    "Problem",
    "decode_array",
    "document_to_model",
    "document_version",
    "dump_document",
    "dump_model",
    "encode_array",
    "inflate",
    "load_document",
    "load_model",
    "model_to_document",
    "problems",
    "save_model",
    "upgrade",
]

#: Default cap on the inflated size of a file (64 MiB).
DEFAULT_MAX_INFLATED = 64 << 20
#: Structural limits of a model's JSON, checked before it is parsed: a current
#: file holds a few hundred values (its arrays are base64 strings), a large
#: version-1 file about one per 5 bytes (one per n-gram count: 630,000 for
#: 30,000 words at order 5). At most about 150 MB of parsed objects (72 bytes
#: per value at worst, an empty array), however the document is shaped.
MODEL_LIMITS = JsonLimits(max_values=2_000_000, max_depth=32, max_string=None)
# gzip level used when writing: part of the reproducible byte stream.
_COMPRESSLEVEL = 9
_READ_STEP = 1 << 20
_U32_MAX = 2**32 - 1
_META_TEXT = ("locale", "kind", "license", "source", "created")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Problem:
    """One defect of a file: the field path and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


# -- bytes -> JSON document --------------------------------------------------


def _read_source(source: bytes | bytearray | memoryview | str | os.PathLike[str]) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    return Path(source).read_bytes()


def inflate(data: bytes, max_inflated: int = DEFAULT_MAX_INFLATED) -> bytes:
    """Gunzip exactly one member, refusing more than ``max_inflated`` bytes.

    Inflates in steps, so a gzip bomb fails after ``max_inflated`` bytes of
    work and memory. Trailing bytes or a second member are an error.
    """
    if data[:2] != b"\x1f\x8b":
        raise ModelFormatError("not a .phony file (not gzip-compressed)")
    inflater = zlib.decompressobj(wbits=31)
    out: list[bytes] = []  # joined once at the end: a BytesIO would copy every chunk twice
    pending: bytes | memoryview = memoryview(data)
    budget = max_inflated
    try:
        while True:
            step = min(budget + 1, _READ_STEP)
            chunk = inflater.decompress(pending, step)
            out.append(chunk)
            budget -= len(chunk)
            if budget < 0:
                raise DecompressionLimit(
                    f"file inflates past the {max_inflated} byte limit (a gzip bomb, or too big)"
                )
            if inflater.eof:
                break
            pending = inflater.unconsumed_tail
            if not pending and len(chunk) < step:
                break
    except zlib.error as exc:
        raise ModelFormatError(f"corrupt gzip data ({exc})") from exc
    if not inflater.eof:
        raise ModelFormatError("truncated file (the gzip stream ends early)")
    if inflater.unused_data:
        raise ModelFormatError(
            f"{len(inflater.unused_data)} unexpected bytes after the gzip stream "
            "(a concatenated or padded file)"
        )
    return b"".join(out)


def load_document(
    source: bytes | str | os.PathLike[str], *, max_inflated: int = DEFAULT_MAX_INFLATED
) -> dict[str, Any]:
    """The JSON object inside a ``.phony`` file or its bytes, not yet validated."""
    raw = inflate(_read_source(source), max_inflated)
    return loads_object(raw, "", error=ModelFormatError, limits=MODEL_LIMITS)


# -- document -> Model ---------------------------------------------------------


def _version(doc: dict[str, Any]) -> int:
    if "format_version" not in doc and "tokens" in doc and "ngrams" in doc:
        return 1  # the earliest Phony files carried no version number
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        if "format_version" not in doc:
            raise ModelFormatError("missing", field="format_version")
        raise ModelFormatError(
            f"must be an integer, not {json_kind(version)}", field="format_version"
        )
    if version > NEWEST_FORMAT_VERSION:
        raise UnsupportedFormatVersion(
            f"format version {version} is newer than this phony supports "
            f"(up to {NEWEST_FORMAT_VERSION}); upgrade phony"
        )
    if version < 1:
        raise ModelFormatError(f"unknown format version {version}", field="format_version")
    return version


def document_version(doc: dict[str, Any]) -> int:
    """The format version of a document (1 for the earliest files, which carry none).

    Raises :class:`ModelFormatError` when it has none it could be read by.
    """
    return _version(doc)


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """Apply the single-step migrations until ``doc`` is the newest version."""
    version = _version(doc)
    while version < NEWEST_FORMAT_VERSION:
        doc = MIGRATIONS[version](doc)
        following = _version(doc)
        if following <= version:  # a migration must move forward, or this would loop
            raise ModelFormatError(f"migration from version {version} did not upgrade")
        version = following
    return doc


def problems(doc: dict[str, Any]) -> list[Problem]:
    """Every defect of a document (migrated first if older); empty when valid."""
    try:
        current = upgrade(doc)
    except ModelFormatError as exc:
        return [Problem(exc.field or "", exc.reason)]
    checker = _Checker()
    checker.document(current)
    return checker.problems


def document_to_model(doc: dict[str, Any]) -> Model:
    """Validate a document of any supported version and build the Model."""
    version = _version(doc)
    current = upgrade(doc)
    checker = _Checker()
    model = checker.document(current)
    if checker.problems or model is None:
        first = checker.problems[0]
        more = len(checker.problems) - 1
        suffix = f" (and {more} more problem{'s' * (more > 1)}; see phony validate)" if more else ""
        raise ModelFormatError(first.message + suffix, field=first.field or None)
    model.format_version = version
    return model


def load_model(
    source: bytes | str | os.PathLike[str], *, max_inflated: int = DEFAULT_MAX_INFLATED
) -> Model:
    """Read a ``.phony`` file (a path or its bytes) into a :class:`Model`.

    Older format versions are migrated in memory; errors are always
    :class:`~phony_registry.errors.ModelFormatError` subclasses (or OSError
    for a path that cannot be read).
    """
    return document_to_model(load_document(source, max_inflated=max_inflated))


class _Checker:
    """Validates a current-version document, collecting every problem."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.broken: set[str] = set()

    def fail(self, path: str, message: str) -> None:
        # Fields inside an object already reported as missing or mistyped
        # would each add a "missing" line that says nothing new.
        if path.split(".", 1)[0] not in self.broken or "." not in path:
            self.problems.append(Problem(path, message))

    def obj(self, parent: dict[str, Any], key: str, path: str, keys: set[str]) -> dict[str, Any]:
        value = parent.get(key)
        if not isinstance(value, dict):
            self.fail(
                path,
                "missing" if key not in parent else f"must be an object, not {json_kind(value)}",
            )
            self.broken.add(path)
            return {}
        for extra in sorted(set(value) - keys):
            self.fail(f"{path}.{extra}", "unknown field")
        return value

    def get(
        self,
        parent: dict[str, Any],
        key: str,
        path: str,
        kind: Callable[[Any], bool],
        what: str,
        default: Any = None,
    ) -> Any:
        if key not in parent:
            self.fail(path, "missing")
            return default
        value = parent[key]
        if not kind(value):
            self.fail(path, f"must be {what}, not {json_kind(value)}")
            return default
        return value

    def integer(
        self, parent: dict[str, Any], key: str, path: str, lo: int, hi: int, nullable: bool = False
    ) -> int | None:
        value = self.get(
            parent,
            key,
            path,
            lambda v: (v is None and nullable) or _is_int(v),
            "an integer" + (" or null" if nullable else ""),
        )
        if value is not None and not lo <= value <= hi:
            self.fail(path, f"must be from {lo} to {hi}, not {value}")
            return None
        return value  # type: ignore[no-any-return]

    def text(self, parent: dict[str, Any], key: str, path: str, nullable: bool) -> str | None:
        ok: Callable[[Any], bool] = lambda v: isinstance(v, str) or (nullable and v is None)  # noqa: E731
        value = self.get(parent, key, path, ok, "a string" + (" or null" if nullable else ""))
        if isinstance(value, str) and _SURROGATE.search(value):
            # JSON allows "\ud800"; such a string cannot be printed or written as UTF-8.
            self.fail(path, "must be valid Unicode text (it holds a lone surrogate)")
            return None
        return value  # type: ignore[no-any-return]

    def array(
        self, parent: dict[str, Any], key: str, path: str, dtype: str
    ) -> np.ndarray[Any, Any] | None:
        if key not in parent:
            self.fail(path, "missing")
            return None
        try:
            return decode_array(parent[key], dtype, path)
        except ModelFormatError as exc:
            self.fail(path, exc.reason)
            return None

    def first_bad(self, path: str, mask: np.ndarray[Any, Any], message: str) -> bool:
        bad = np.flatnonzero(mask)
        if bad.size:
            self.fail(
                f"{path}[{int(bad[0])}]",
                message + (f" ({bad.size} entries)" if bad.size > 1 else ""),
            )
            return True
        return False

    def document(self, doc: dict[str, Any]) -> Model | None:
        top = {"format_version", "meta", "model", "training", "generation", "exclude", "selection"}
        for extra in sorted(set(doc) - top):
            self.fail(extra, "unknown field")
        meta = self.meta(self.obj(doc, "meta", "meta", {"name", "description", *_META_TEXT}))
        arrays = self.model(
            self.obj(
                doc,
                "model",
                "model",
                {"order", "alphabet", "start", "offsets", "tokens", "weights", "targets"},
            )
        )
        training = self.training(
            self.obj(
                doc,
                "training",
                "training",
                {"values", "unique_values", "characters", "max_length", "length_histogram"},
            )
        )
        gen = self.obj(doc, "generation", "generation", {"max_length"})
        max_length = self.integer(gen, "max_length", "generation.max_length", 1, MAX_VALUE_LENGTH)
        exclude = self.exclude(doc)
        selection = self.selection(doc)
        if (
            self.problems
            or meta is None
            or arrays is None
            or training is None
            or max_length is None
        ):
            return None
        return Model(
            meta=meta,
            training=training,
            max_length=max_length,
            exclude=exclude,
            selection=selection,
            **arrays,
        )

    def selection(self, doc: dict[str, Any]) -> Selection | None:
        if "selection" not in doc:
            self.fail("selection", "missing (null when training was told the order)")
            return None
        if doc["selection"] is None:
            return None
        try:
            return selection_from_json(doc["selection"])
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            self.fail(field, message)
            return None

    def meta(self, meta: dict[str, Any]) -> ModelMeta | None:
        name = self.text(meta, "name", "meta.name", nullable=False)
        if isinstance(name, str) and not name.strip():
            self.fail("meta.name", "must not be empty")
        texts = {key: self.text(meta, key, f"meta.{key}", nullable=True) for key in _META_TEXT}
        description = self.text(meta, "description", "meta.description", nullable=False)
        created = texts["created"]
        if created is not None and not _is_timestamp(created):
            self.fail(
                "meta.created",
                f"must be an ISO 8601 UTC time like 2026-01-31T12:00:00Z, not {created!r}",
            )
        if not isinstance(name, str) or description is None:
            return None
        return ModelMeta(name=name, description=description, **texts)

    def model(self, m: dict[str, Any]) -> dict[str, Any] | None:
        before = len(self.problems)
        order = self.integer(m, "order", "model.order", 1, _ORDER_MAX)
        alphabet = self.text(m, "alphabet", "model.alphabet", nullable=False)
        if alphabet is not None:
            points = [ord(c) for c in alphabet]
            if any(b <= a for a, b in itertools.pairwise(points)):
                self.fail("model.alphabet", "must list distinct characters in code point order")
            if "\x00" in alphabet:
                self.fail("model.alphabet", "must not contain NUL")
        start = self.integer(m, "start", "model.start", 0, _U32_MAX)
        offsets = self.array(m, "offsets", "model.offsets", "<u4")
        tokens = self.array(m, "tokens", "model.tokens", "<u4")
        weights = self.array(m, "weights", "model.weights", "<u4")
        targets = self.array(m, "targets", "model.targets", "<u4")
        if offsets is not None:
            if offsets.size < 2:
                self.fail("model.offsets", "must hold at least 2 entries (one state)")
            elif offsets[0] != 0:
                self.fail("model.offsets[0]", "must be 0")
            else:
                self.first_bad(
                    "model.offsets",
                    np.concatenate([[False], offsets[1:] <= offsets[:-1]]),
                    "must be greater than the previous entry (every state needs an edge)",
                )
        edges = None
        for path, array in (
            ("model.tokens", tokens),
            ("model.weights", weights),
            ("model.targets", targets),
        ):
            if array is None:
                continue
            if edges is None:
                edges = array.size
            elif array.size != edges:
                self.fail(path, f"holds {array.size} entries, model.tokens holds {edges}")
        if (
            offsets is not None
            and offsets.size >= 2
            and edges is not None
            and int(offsets[-1]) != edges
        ):
            self.fail(
                f"model.offsets[{offsets.size - 1}]", f"must equal the number of edges ({edges})"
            )
        states = offsets.size - 1 if offsets is not None else None
        if states is not None and start is not None and start >= states:
            self.fail("model.start", f"must be a state id below {states}, not {start}")
        if tokens is not None and alphabet is not None:
            self.first_bad(
                "model.tokens",
                tokens > len(alphabet),
                f"must be a token id from 0 to {len(alphabet)} (the alphabet's length)",
            )
        if weights is not None:
            self.first_bad("model.weights", weights == 0, "must be a positive count")
        if targets is not None and states is not None:
            self.first_bad("model.targets", targets >= states, f"must be a state id below {states}")
        if len(self.problems) > before or offsets is None or tokens is None or weights is None:
            return None
        first = np.zeros(tokens.size, dtype=bool)
        first[offsets[:-1].astype(np.intp)] = True
        decreasing = np.concatenate([[False], ~first[1:] & (tokens[1:] <= tokens[:-1])])
        self.first_bad(
            "model.tokens", decreasing, "must increase within a state (sorted, no duplicate edge)"
        )
        totals = np.add.reduceat(weights.astype(np.uint64), offsets[:-1].astype(np.intp))
        self.first_bad("model.weights", totals > _U32_MAX, "a state's weights must sum below 2**32")
        if len(self.problems) > before:
            return None
        return {
            "order": order,
            "alphabet": alphabet,
            "start": start,
            "offsets": offsets,
            "tokens": tokens,
            "weights": weights,
            "targets": targets,
        }

    def training(self, t: dict[str, Any]) -> TrainingStats | None:
        before = len(self.problems)
        big = 2**63 - 1
        values = self.integer(t, "values", "training.values", 0, big)
        unique = self.integer(t, "unique_values", "training.unique_values", 0, big, nullable=True)
        characters = self.integer(t, "characters", "training.characters", 0, big)
        longest = self.integer(
            t, "max_length", "training.max_length", 0, MAX_VALUE_LENGTH, nullable=True
        )
        histogram = self.get(
            t,
            "length_histogram",
            "training.length_histogram",
            lambda v: v is None or isinstance(v, list),
            "an array or null",
        )
        if isinstance(histogram, list):
            for i, count in enumerate(histogram):
                if not _is_int(count) or not 0 <= count <= big:
                    self.fail(f"training.length_histogram[{i}]", "must be a non-negative integer")
                    break
            if len(histogram) > MAX_VALUE_LENGTH + 1:
                self.fail(
                    "training.length_histogram", f"must hold at most {MAX_VALUE_LENGTH + 1} entries"
                )
            elif longest is not None and len(histogram) != longest + 1:
                self.fail(
                    "training.length_histogram",
                    f"must hold max_length + 1 = {longest + 1} entries, not {len(histogram)}",
                )
        if len(self.problems) > before or values is None or characters is None:
            return None
        return TrainingStats(
            values=values,
            unique_values=unique,
            characters=characters,
            max_length=longest,
            length_histogram=tuple(histogram) if histogram is not None else None,
        )

    def exclude(self, doc: dict[str, Any]) -> Exclusion | None:
        if "exclude" not in doc:
            self.fail("exclude", "missing (null when the model has no exclusion list)")
            return None
        if doc["exclude"] is None:
            return None
        e = self.obj(doc, "exclude", "exclude", {"salt", "hashes"})
        salt = self.text(e, "salt", "exclude.salt", nullable=False)
        if salt is not None and not re.fullmatch(r"[0-9a-f]{16}", salt):
            self.fail("exclude.salt", "must be 16 lowercase hex digits")
            salt = None
        hashes = self.array(e, "hashes", "exclude.hashes", "<u8")
        if hashes is not None and hashes.size > 1:
            self.first_bad(
                "exclude.hashes",
                np.concatenate([[False], hashes[1:] <= hashes[:-1]]),
                "must be sorted and distinct",
            )
        if salt is None or hashes is None:
            return None
        return Exclusion(salt=int(salt, 16), hashes=hashes)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_timestamp(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# -- Model -> bytes ------------------------------------------------------------


def model_to_document(model: Model) -> dict[str, Any]:
    """The JSON document of ``model`` in the oldest version that holds it.

    Version 3 when it has a selection record, else version 2: a model trained
    with explicit options keeps the bytes and digest earlier phony gave it,
    and stays readable by phony releases that know only version 2.
    """
    meta = model.meta
    t = model.training
    doc: dict[str, Any] = {
        "format_version": Model.written_version(model.selection),
        "meta": {
            "name": meta.name,
            "locale": meta.locale,
            "kind": meta.kind,
            "license": meta.license,
            "source": meta.source,
            "description": meta.description,
            "created": meta.created,
        },
        "model": {
            "order": model.order,
            "alphabet": model.alphabet,
            "start": model.start,
            "offsets": encode_array(model.offsets, "<u4"),
            "tokens": encode_array(model.tokens, "<u4"),
            "weights": encode_array(model.weights, "<u4"),
            "targets": encode_array(model.targets, "<u4"),
        },
        "training": {
            "values": t.values,
            "unique_values": t.unique_values,
            "characters": t.characters,
            "max_length": t.max_length,
            "length_histogram": list(t.length_histogram)
            if t.length_histogram is not None
            else None,
        },
        "generation": {"max_length": model.max_length},
        "exclude": None
        if model.exclude is None
        else {
            "salt": f"{model.exclude.salt:016x}",
            "hashes": encode_array(model.exclude.hashes, "<u8"),
        },
    }
    if model.selection is not None:
        doc["selection"] = selection_to_json(model.selection)
    return doc


def dump_document(doc: dict[str, Any]) -> bytes:
    """Reproducible ``.phony`` bytes of a document: sorted compact JSON, fixed gzip header."""
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(
        fileobj=buffer, mode="wb", mtime=0, filename="", compresslevel=_COMPRESSLEVEL
    ) as gz:
        gz.write(raw)
    return buffer.getvalue()


def dump_model(model: Model) -> bytes:
    """The ``.phony`` bytes of ``model`` in the current format: the same model, the same bytes."""
    return dump_document(model_to_document(model))


def save_model(model: Model, path: str | os.PathLike[str]) -> bytes:
    """Write ``model`` to the output ``path``; returns the bytes.

    ``path`` is written by the rules of :func:`phony_registry._fs.open_output`:
    atomically for a regular file (keeping an existing file's mode), through
    a device or FIFO, following a symbolic link.
    """
    from phony_registry._fs import write_output

    data = dump_model(model)
    write_output(path, data)
    return data
