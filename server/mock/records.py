"""Collections: records computed from (seed, collection, row), never stored.

A :class:`Collection` wraps a schema, a seed and a count. Record ``id`` is
row ``id - 1`` of the table :func:`phony_registry.schema.generate_table`
makes for that schema and seed, so a page of the mock holds exactly the rows
``phony generate --schema ... --seed ...`` writes at those positions; rows
are made on request through the engine's random access (``start=``), so a
ten-million-record collection costs nothing until a page is asked for, and
page 50,000 costs what page 1 costs once the models have indexed the chunk
it lies in. Blocks of records served again soon are kept as JSON text in a
bounded cache (:mod:`phony_server.mock.blocks`): what is stored is a copy of
what the seed gives, never the source of it.

Values are typed for JSON: ``integer`` and ``sequence`` columns are numbers,
``number`` columns decimal numbers, everything else strings (``phony generate
--format json`` writes every value as a string; the strings are the same).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from phony_registry.errors import UsageError
from phony_registry.generators import column_seed
from phony_registry.model import CHUNK_ROWS
from phony_registry.schema import Schema, generate_table
from phony_server.mock.blocks import BLOCK_ROWS, BlockCache
from phony_server.mock.words import plural

__all__ = ["Collection", "Field", "MAX_ID", "link_references"]  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks

#: Rows made per batch when a request scans a whole collection.
SCAN_BATCH = 8_192
#: Largest id a record may have, generated or created: a SQLite INTEGER, and a
#: value a reference field (a 64-bit integer) can hold. Below it every row's
#: random stream position (two draws a row at most) stays under the 2**64 the
#: generators can jump to.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Field:
    """One field of a collection's records, as the API shows it."""

    name: str
    #: JSON Schema type: ``integer``, ``number`` or ``string``.
    kind: str
    #: The schema column type (``ngram``, ``choice``...); ``id`` for the record id.
    column_type: str
    #: For ``choice`` columns, the allowed values (typed).
    choices: tuple[Any, ...] | None = None
    #: Another collection this field holds ids of (``user_id`` -> ``users``).
    references: str | None = None
    #: ``date`` columns in ISO form: ``date`` or ``date-time``.
    format: str | None = None


def _kind(column_type: str, args: Mapping[str, Any]) -> str:
    if column_type == "integer" or (column_type == "sequence" and "format" not in args):
        return "integer"
    if column_type == "reference":  # phony sync's keys of another table's rows
        return "integer"
    if column_type == "number":
        return "integer" if args.get("decimals", 2) == 0 else "number"
    return "string"


#: strftime formats whose values are RFC 3339 dates or date-times (OpenAPI's formats).
_RFC3339 = {"%Y-%m-%d": "date", "%Y-%m-%dT%H:%M:%SZ": "date-time"}


def _converter(kind: str) -> Callable[[str], Any] | None:
    if kind == "integer":
        return int
    if kind == "number":
        return float
    return None


def _integer_json(value: str) -> str:
    return str(int(value))


def _number_json(value: str) -> str:
    number = float(value)
    # json writes a finite float as its repr; NaN and infinities as NaN, Infinity
    if math.isfinite(number):
        return repr(number)
    return "NaN" if number != number else ("Infinity" if number > 0 else "-Infinity")


def _json_encoder(kind: str) -> Callable[[str], str]:
    """A column value (a string from the generator) to its JSON text, as json.dumps writes it."""
    if kind == "integer":
        return _integer_json
    if kind == "number":
        return _number_json
    return encode_basestring  # ensure_ascii=False, as the app's encoder


@dataclass
class Collection:
    """The records of one schema under one seed: ``id`` 1..count, made on request."""

    name: str
    schema: Schema
    count: int
    seed: int
    #: Recently served blocks of records' JSON (one cache may serve several collections).
    cache: BlockCache = field(default_factory=BlockCache, repr=False)
    fields: list[Field] = field(init=False)
    #: Whether the schema has its own ``id`` column (a ``sequence``).
    own_id: bool = field(init=False, default=False)
    _id_start: int = field(init=False, default=1)
    _id_step: int = field(init=False, default=1)
    _converters: list[Callable[[str], Any] | None] = field(init=False)
    #: Per column, its value to JSON text; and a record's JSON with a {} per value.
    _encoders: list[Callable[[str], str]] = field(init=False)
    _template: str = field(init=False)
    #: Held while rows are made or a model indexes a chunk (the warming thread).
    _index_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    #: This collection's part of the cache's keys (unique while the collection lives).
    _token: object = field(init=False, default_factory=object)

    def __post_init__(self) -> None:
        by_name = {c.name: c for c in self.schema.columns}
        fields = []
        if "id" in self.schema.names:
            column = by_name["id"]
            start, step = column.args.get("start", 1), column.args.get("step", 1)
            if column.type != "sequence" or "format" in column.args or step < 1:
                raise UsageError(
                    f"collection {self.name}: the mock numbers records by `id`; make the id "
                    "column a sequence with a step >= 1 and no format, or drop it"
                )
            self.own_id, self._id_start, self._id_step = True, start, step
        else:
            fields.append(Field("id", "integer", "id"))
        if self.count > self.max_count:
            raise UsageError(
                f"collection {self.name}: {self.count:,} records are more than a collection "
                f"holds: at most {self.max_count:,} (ids stop at 2**63 - 1)"
            )
        for name in self.schema.names:
            column = by_name[name]
            kind = "integer" if name == "id" else _kind(column.type, column.args)
            choices = None
            if column.type == "choice":
                convert = _converter(kind)
                values = [str(v) for v in column.args.get("values", [])]
                choices = tuple(convert(v) if convert else v for v in values)
            fmt = None
            if column.type == "date" and "format" not in column.args:
                start = str(column.args.get("start", ""))
                fmt = "date" if len(start) == 10 else "date-time"
            elif column.type == "date":
                fmt = _RFC3339.get(str(column.args["format"]))
            table = column.args.get("table") if column.type == "reference" else None
            fields.append(Field(name, kind, column.type, choices, table, fmt))
        self.fields = fields
        self._converters = [_converter(f.kind) for f in fields if f.column_type != "id"]
        self._encoders = [_json_encoder(f.kind) for f in fields if f.column_type != "id"]
        keys = [encode_basestring(f.name).replace("{", "{{").replace("}", "}}") for f in fields]
        self._template = "{{" + ",".join(f"{key}:{{}}" for key in keys) + "}}"

    # -- ids and rows ------------------------------------------------------------

    def id_of(self, row: int) -> int:
        """The id of row ``row`` (0-based)."""
        return self._id_start + row * self._id_step

    def row_of(self, record_id: int) -> int | None:
        """The row holding ``record_id``, or None if no generated record has that id."""
        offset = record_id - self._id_start
        if offset < 0 or offset % self._id_step:
            return None
        row = offset // self._id_step
        return row if row < self.count else None

    @property
    def id_step(self) -> int:
        """How far apart ids are (the schema's id sequence's step; 1 without one)."""
        return self._id_step

    @property
    def max_count(self) -> int:
        """The most records this collection can number with ids up to :data:`MAX_ID`."""
        return max(0, (MAX_ID - self._id_start) // self._id_step + 1)

    @property
    def next_id(self) -> int:
        """The first id after the generated records (where created records start)."""
        return self.id_of(self.count)

    def _records(self, batch: Sequence[Sequence[str]], first_row: int) -> list[dict[str, Any]]:
        names = [f.name for f in self.fields if f.column_type != "id"]
        typed = [
            list(map(convert, column)) if convert else column
            for convert, column in zip(self._converters, batch, strict=True)
        ]
        rows = [dict(zip(names, values, strict=True)) for values in zip(*typed, strict=True)]
        if not self.own_id:
            return [{"id": self.id_of(first_row + i), **row} for i, row in enumerate(rows)]
        return rows

    def rows(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Records of rows ``start:stop`` (clipped to the collection).

        Read back from :meth:`records_json`, so they come from the cache of
        served blocks when it holds them (decoding is a few microseconds a
        record; making one from the models, tens).
        """
        records: list[dict[str, Any]] = json.loads(self.rows_json(start, stop))
        return records

    def rows_json(self, start: int, stop: int) -> str:
        """The JSON array of :meth:`rows` (the same text ``json.dumps`` makes of them)."""
        return "[" + ",".join(self.records_json(start, stop)) + "]"

    def records_json(self, start: int, stop: int) -> list[str]:
        """The JSON text of each record of rows ``start:stop`` (clipped to the collection).

        Rows of a block in the cache are sliced from it; a block missed for
        the second time recently is made whole and kept; other rows are made
        alone (see :mod:`phony_server.mock.blocks`). The text is the same
        either way.
        """
        start, stop = max(start, 0), min(stop, self.count)
        parts: list[str] = []
        pending: int | None = None  # first row of a stretch to make alone
        block_index = start // BLOCK_ROWS
        while block_index * BLOCK_ROWS < stop:
            first = block_index * BLOCK_ROWS
            lo, hi = max(start, first), min(stop, first + BLOCK_ROWS)
            key = (self._token, block_index)
            block = self.cache.get(key)
            if block is None and self.cache.admit(key):
                block = self._encoded(first, min(first + BLOCK_ROWS, self.count))
                self.cache.put(key, block)
            if block is None:
                if pending is None:
                    pending = lo
            else:
                if pending is not None:
                    parts += self._encoded(pending, lo)
                    pending = None
                parts += block[lo - first : hi - first]
            block_index += 1
        if pending is not None:
            parts += self._encoded(pending, stop)
        return parts

    def record_json(self, record_id: int) -> str | None:
        """The JSON text of the generated record with ``record_id``, or None."""
        row = self.row_of(record_id)
        if row is None:
            return None
        return self.records_json(row, row + 1)[0]

    def _encoded(self, start: int, stop: int) -> list[str]:
        """Records ``start:stop`` made from the models, each as JSON text.

        Each column is encoded as a whole with its own encoder and each record
        filled into a template: no dictionary per record, no generic encoder.
        """
        # The whole table's count (a `reference` column's parents depend on it),
        # and the window as its first batch: nothing after it is made.
        # seek: page 1 too walks only its own rows, not a first chunk sized
        # for the whole collection.
        with self._index_lock:
            batches = generate_table(
                self.schema, self.count, self.seed, start=start, batch_size=stop - start, seek=True
            )
            batch = next(batches)
        encoders = zip(self._encoders, batch, strict=True)
        columns = [list(map(encode, column)) for encode, column in encoders]
        if not self.own_id:
            step = self._id_step
            columns.insert(0, list(map(str, range(self.id_of(start), self.id_of(stop), step))))
        return list(map(self._template.format, *columns))

    def record(self, record_id: int) -> dict[str, Any] | None:
        """The generated record with ``record_id``, or None."""
        row = self.row_of(record_id)
        if row is None:
            return None
        return self.rows(row, row + 1)[0]

    def scan(self, limit: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every record (or the first ``limit``) in batches, made sequentially (the fast path)."""
        count = self.count if limit is None else min(limit, self.count)
        done = 0
        for batch in generate_table(self.schema, count, self.seed, batch_size=SCAN_BATCH):
            records = self._records(batch, done)
            done += len(records)
            yield records

    def warm(self, rows: int) -> None:
        """Index the models' chunks holding the first ``rows`` records, ahead of requests.

        Record *i*'s value of a model lies in 65,536-value chunk ``i // 65,536``,
        and the first visit to a chunk walks that chunk's blocks once to list
        the rows they reject (:meth:`Model.locate`, milliseconds a model): never
        an earlier chunk's, so a far page costs what page 1 does. This does
        that work up front; nothing per record is kept.
        """

        for column in self.schema.columns:
            model = getattr(column.generator, "model", None)
            locate = getattr(model, "locate", None)
            if locate is None or getattr(column.generator, "unique", False):
                continue
            seed = column_seed(self.seed, column.name)
            for index in range(0, min(rows, self.count), CHUNK_ROWS):
                # One chunk at a time under the lock: a request for that chunk
                # waits for it rather than walking it a second time beside us.
                with self._index_lock:
                    locate(seed, index)

    def field(self, name: str) -> Field | None:
        """The field called ``name``, or None."""
        for f in self.fields:
            if f.name == name:
                return f
        return None


_REFERENCE = re.compile(r"(?P<stem>[a-z][a-z0-9]*?)(?:_id|Id)")


def link_references(collections: Mapping[str, Collection]) -> None:
    """Mark fields that hold another collection's ids, by json-server's naming convention.

    ``user_id`` or ``userId`` (an integer column) refers to the collection
    ``users``; ``person_id`` to ``people``; a ``reference`` column to the
    collection its ``table`` names. Such fields give nested routes
    (``/users/1/posts``), ``_embed=posts`` and ``_expand=user``.
    """

    for collection in collections.values():
        linked = []
        for f in collection.fields:
            match = _REFERENCE.fullmatch(f.name)
            target = plural(match["stem"]) if match and f.kind == "integer" else None
            if f.column_type == "reference" and isinstance(f.references, str):
                # type = "reference", table = "users" (or "user"): that collection
                named = f.references
                target = named if named in collections else plural(named)
            linked_to = target if target in collections and f.name != "id" else None
            f = Field(f.name, f.kind, f.column_type, f.choices, linked_to, f.format)
            linked.append(f)
        collection.fields = linked
