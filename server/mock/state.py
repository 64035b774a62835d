"""The write overlay: what POST, PUT, PATCH and DELETE changed on top of the generated records.

Generated records are never stored; the overlay holds only the records a
client wrote (created, replaced, patched) and the ids it deleted, per
collection. ``memory`` keeps it in the process (gone at exit);
``sqlite:PATH`` keeps it in a SQLite file, so it survives restarts and is
shared by ``--workers``: each worker reloads the overlay when SQLite's
``data_version`` says another connection committed, and allocates ids inside
an ``IMMEDIATE`` transaction.

The overlay of one collection is ``{id: record or None}`` (None: deleted)
plus the next id to hand out; created ids follow the collection's id
sequence (a schema's own ``id`` column with ``step = 10`` gives 10 apart).
:meth:`Overlay.snapshot` and :meth:`Overlay.restore` move the whole state
as JSON; :meth:`Overlay.reset` forgets every write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from phony_registry.errors import UsageError, ValidationError
from phony_server.mock.records import MAX_ID

__all__ = ["Layer", "MAX_WRITES", "Overlay", "OverlayFull", "RecordCheck", "open_overlay"]  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks

#: Version of the snapshot document (GET /__snapshot).
SNAPSHOT_VERSION = 1
#: Most written (created, changed or deleted) records one collection's overlay holds.
MAX_WRITES = 1_000_000

#: What :meth:`Overlay.restore` asks of each record of a snapshot: given the
#: collection, the id and the record (None: deleted), the record to keep, or a
#: ValidationError whose field is the path within the item (``id``, ``record.age``).
RecordCheck = Callable[[str, int, dict[str, Any] | None], dict[str, Any] | None]


class OverlayFull(Exception):
    """A write past :data:`MAX_WRITES`, or a creation past the largest id: the mock answers
    507 until a reset."""


@dataclass
class Layer:
    """The writes of one collection."""

    next_id: int
    records: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    #: Sorted generated ids that were deleted, and sorted ids of created records.
    deleted: list[int] = field(default_factory=list)
    created: list[int] = field(default_factory=list)

    def index(self, generated_next_id: int) -> None:
        """Rebuild the sorted lists after the records changed."""
        self.deleted = sorted(
            i for i, r in self.records.items() if r is None and i < generated_next_id
        )
        self.created = sorted(
            i for i, r in self.records.items() if r is not None and i >= generated_next_id
        )

    def deleted_up_to(self, record_id: int) -> int:
        """How many generated ids <= ``record_id`` were deleted."""
        return bisect_right(self.deleted, record_id)


class Overlay:
    """Writes on top of every collection, kept in memory and optionally in SQLite."""

    def __init__(
        self,
        first_ids: Mapping[str, int],
        seed: int,
        path: Path | None = None,
        *,
        steps: Mapping[str, int] | None = None,
    ) -> None:
        self._first_ids = dict(first_ids)
        #: How far apart a collection's ids are (its schema's id sequence; 1 by default).
        self._steps = {name: (steps or {}).get(name, 1) for name in first_ids}
        self._seed = seed
        self._lock = threading.RLock()
        self.layers: dict[str, Layer] = {name: Layer(first) for name, first in first_ids.items()}
        self._db: sqlite3.Connection | None = None
        self._version = -1
        if path is not None:
            self._open(path)

    # -- SQLite ---------------------------------------------------------------------

    def _open(self, path: Path) -> None:
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS phony_mock_records ("
                "collection TEXT NOT NULL, id INTEGER NOT NULL, body TEXT, "
                "PRIMARY KEY (collection, id))"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS phony_mock_meta (key TEXT PRIMARY KEY, value TEXT)"
            )
            db.execute(
                "INSERT OR IGNORE INTO phony_mock_meta VALUES ('seed', ?)", (str(self._seed),)
            )
            (stored,) = db.execute("SELECT value FROM phony_mock_meta WHERE key='seed'").fetchone()
        except sqlite3.Error as exc:
            raise UsageError(f"--state sqlite:{path}: {exc}") from None
        if stored != str(self._seed):
            raise UsageError(
                f"--state sqlite:{path} holds writes made over seed {stored}, not {self._seed}: "
                "use that seed, or another state file"
            )
        self._check_ids(db, path)
        self._db = db
        self._reload()

    def _check_ids(self, db: sqlite3.Connection, path: Path) -> None:
        """Refuse a file whose collections' created ids start elsewhere than ours.

        Over another count (or id sequence) a created record's id may be a
        generated record's, which it would silently replace, and a deleted
        one's may be no record at all. Each collection's first created id and
        step are kept the first time the file serves it.
        """
        try:
            for name, first in self._first_ids.items():
                # A collection with no writes (none yet, or none since a reset) takes ours.
                written = db.execute(
                    "SELECT 1 FROM phony_mock_records WHERE collection=? UNION ALL "
                    "SELECT 1 FROM phony_mock_meta WHERE key=? LIMIT 1",
                    (name, f"next_id:{name}"),
                ).fetchone()
                keep = "INSERT OR IGNORE" if written else "INSERT OR REPLACE"
                db.execute(
                    keep + " INTO phony_mock_meta VALUES (?, ?)",
                    (f"ids:{name}", f"{first}:{self._steps[name]}"),
                )
            kept = dict(db.execute("SELECT key, value FROM phony_mock_meta WHERE key LIKE 'ids:%'"))
        except sqlite3.Error as exc:
            raise UsageError(f"--state sqlite:{path}: {exc}") from None
        for name, first in self._first_ids.items():
            was_first, _, was_step = kept[f"ids:{name}"].partition(":")
            step = str(self._steps[name])
            if (was_first, was_step) != (str(first), step):
                was, now = (
                    (was_first, str(first)) if was_step == step
                    else (f"{was_first}, {was_step} apart", f"{first}, {step} apart")
                )  # fmt: skip
                raise UsageError(
                    f"--state sqlite:{path} holds writes to {name} made when its created ids "
                    f"started at {was}, not {now} (another --count or id sequence): "
                    "use the same, or another state file"
                )

    def _data_version(self) -> int:
        assert self._db is not None
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        return int(version)

    def _reload(self) -> None:
        assert self._db is not None
        # The version first: outside a transaction each SELECT sees the file as it is then,
        # and a commit landing between them (another worker's) must leave the version we
        # keep older than it, so that the next check reloads again.
        version = self._data_version()
        layers = {name: Layer(first) for name, first in self._first_ids.items()}
        for key, value in self._db.execute(
            "SELECT key, value FROM phony_mock_meta WHERE key LIKE 'next_id:%'"
        ):
            name = key.partition(":")[2]
            if name in layers:
                layers[name].next_id = max(layers[name].next_id, int(value))
        for name, record_id, body in self._db.execute(
            "SELECT collection, id, body FROM phony_mock_records"
        ):
            if name in layers:
                layers[name].records[int(record_id)] = None if body is None else json.loads(body)
        for name, layer in layers.items():
            layer.index(self._first_ids[name])
        self.layers = layers
        self._version = version

    def refresh(self) -> None:
        """Pick up writes other workers committed (a no-op in memory)."""
        if self._db is None:
            return
        with self._lock:
            if self._data_version() != self._version:
                self._reload()

    def _persist(self, name: str, changes: Iterable[tuple[int, dict[str, Any] | None]]) -> None:
        if self._db is None:
            return
        rows = [
            (name, i, None if r is None else json.dumps(r, ensure_ascii=False)) for i, r in changes
        ]
        self._db.executemany("INSERT OR REPLACE INTO phony_mock_records VALUES (?, ?, ?)", rows)
        self._db.execute(
            "INSERT OR REPLACE INTO phony_mock_meta VALUES (?, ?)",
            (f"next_id:{name}", str(self.layers[name].next_id)),
        )

    def _write(self) -> _Transaction:
        return _Transaction(self)

    # -- reads ----------------------------------------------------------------------

    def lookup(self, name: str, record_id: int) -> tuple[bool, dict[str, Any] | None]:
        """(whether the overlay knows ``record_id``, its record or None if deleted)."""
        records = self.layers[name].records
        if record_id in records:
            return True, records[record_id]
        return False, None

    # -- writes ---------------------------------------------------------------------

    def create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store a new record under the next id; returns it with its id."""
        with self._write():
            layer = self.layers[name]
            _check_room(name, layer)
            record_id = layer.next_id
            if record_id > MAX_ID:
                raise OverlayFull(
                    f"{name} has used every id up to {MAX_ID:,}, the largest a record can "
                    "have; POST /__reset forgets the writes"
                )
            layer.next_id += self._steps[name]
            record = {"id": record_id, **{k: v for k, v in body.items() if k != "id"}}
            layer.records[record_id] = record
            layer.created.append(record_id)  # ids only grow: the list stays sorted
            self._persist(name, [(record_id, record)])
            return record

    def put(self, name: str, record_id: int, record: dict[str, Any] | None) -> None:
        """Store ``record`` under ``record_id`` (None deletes it)."""
        self.put_many([(name, record_id, record)])

    def put_many(self, changes: Iterable[tuple[str, int, dict[str, Any] | None]]) -> None:
        """Store each (collection, id, record or None to delete) in one transaction: all of
        them, or none when the overlay has no room for them (OverlayFull)."""
        unique = {(name, record_id): record for name, record_id, record in changes}
        with self._write():
            added: dict[str, int] = {}
            for (name, record_id), record in unique.items():
                forgotten = record is None and record_id >= self._first_ids[name]
                if record_id not in self.layers[name].records and not forgotten:
                    added[name] = added.get(name, 0) + 1
            for name, more in added.items():
                _check_room(name, self.layers[name], more)
            for (name, record_id), record in unique.items():
                self._put(name, record_id, record)

    def _put(self, name: str, record_id: int, record: dict[str, Any] | None) -> None:
        layer = self.layers[name]
        generated = record_id < self._first_ids[name]
        if record is None and not generated:
            layer.records.pop(record_id, None)  # a created record: forget it entirely
            at = bisect_left(layer.created, record_id)
            if at < len(layer.created) and layer.created[at] == record_id:
                del layer.created[at]
            if self._db is not None:
                self._db.execute(
                    "DELETE FROM phony_mock_records WHERE collection=? AND id=?",
                    (name, record_id),
                )
                self._persist(name, [])
            return
        if record is None and record_id in layer.records and layer.records[record_id] is None:
            return  # deleted already
        layer.records[record_id] = record
        if record is None:
            insort(layer.deleted, record_id)
        self._persist(name, [(record_id, record)])

    def reset(self) -> None:
        """Forget every write."""
        with self._write():
            self.layers = {name: Layer(first) for name, first in self._first_ids.items()}
            if self._db is not None:
                self._db.execute("DELETE FROM phony_mock_records")
                self._db.execute("DELETE FROM phony_mock_meta WHERE key LIKE 'next_id:%'")

    def snapshot(self) -> dict[str, Any]:
        """The whole overlay as a JSON document :meth:`restore` takes back."""
        with self._lock:
            self.refresh()
            return {
                "phony_mock_snapshot": SNAPSHOT_VERSION,
                "seed": self._seed,
                "collections": {
                    name: {
                        "next_id": layer.next_id,
                        "records": [
                            {"id": i, "record": r} for i, r in sorted(layer.records.items())
                        ],
                    }
                    for name, layer in self.layers.items()
                },
            }

    def restore(self, document: Any, check: RecordCheck | None = None) -> None:
        """Replace the overlay with a :meth:`snapshot`; a ValidationError names a bad field.

        Nothing changes unless the whole document is good: every integer a
        JSON integer (``12``, not ``12.0``); ``next_id`` on the collection's id
        sequence, from its first created id up to the first id past
        :data:`~phony_server.mock.records.MAX_ID`; created records' ids below
        ``next_id``; no id twice in a collection; and each record as ``check`` says.
        """
        layers = self._parse_snapshot(document, check)
        with self._write():
            self.layers = layers
            if self._db is not None:
                self._db.execute("DELETE FROM phony_mock_records")
                self._db.execute("DELETE FROM phony_mock_meta WHERE key LIKE 'next_id:%'")
                for name, layer in layers.items():
                    self._persist(name, layer.records.items())

    def _parse_snapshot(self, document: Any, check: RecordCheck | None) -> dict[str, Layer]:
        if not isinstance(document, dict) or "phony_mock_snapshot" not in document:
            raise ValidationError("not a snapshot from GET /__snapshot", "phony_mock_snapshot")
        if _integer(document["phony_mock_snapshot"], "phony_mock_snapshot") != SNAPSHOT_VERSION:
            raise ValidationError("not a snapshot from GET /__snapshot", "phony_mock_snapshot")
        if _integer(document.get("seed"), "seed") != self._seed:
            raise ValidationError(f"taken over another seed (this mock's is {self._seed})", "seed")
        collections = document.get("collections")
        if not isinstance(collections, dict):
            raise ValidationError("expected an object", "collections")
        layers = {name: Layer(first) for name, first in self._first_ids.items()}
        for name, body in collections.items():
            where = f"collections.{name}"
            if name not in layers:
                raise ValidationError("no such collection", where)
            if not isinstance(body, dict):
                raise ValidationError("expected an object", where)
            next_id = _integer(body.get("next_id"), f"{where}.next_id")
            first, step = self._first_ids[name], self._steps[name]
            # After the last id that fits, next_id is the one past it: no id is left.
            ceiling = first + max(0, (MAX_ID - first) // step + 1) * step
            if not first <= next_id <= ceiling or (next_id - first) % step:
                along = f" on the id sequence ({first}, {first + step}, ...)" if step > 1 else ""
                raise ValidationError(
                    f"expected an id from {first} to {ceiling}{along}", f"{where}.next_id"
                )
            layer = layers[name]
            layer.next_id = next_id
            records = body.get("records")
            if not isinstance(records, list):
                raise ValidationError("expected a list", f"{where}.records")
            # Where each id came first: a second one is refused, not left to win.
            seen: dict[int, int] = {}
            for i, item in enumerate(records):
                at = f"{where}.records[{i}]"
                if not isinstance(item, dict) or "id" not in item:
                    raise ValidationError("expected {id, record}", at)
                record_id, record = _integer(item["id"], f"{at}.id"), item.get("record")
                if record_id in seen:
                    raise ValidationError(
                        f"id {record_id} comes twice in this collection "
                        f"(first at records[{seen[record_id]}])",
                        f"{at}.id",
                    )
                seen[record_id] = i
                if isinstance(record, dict) and "id" in record:
                    _integer(record["id"], f"{at}.record.id")
                if record is not None and (
                    not isinstance(record, dict) or record.get("id") != record_id
                ):
                    raise ValidationError("expected a record with this id, or null", at)
                if record_id >= first and (record_id >= next_id or (record_id - first) % step):
                    along = " on the id sequence" if step > 1 else ""
                    raise ValidationError(
                        f"a created record needs an id below next_id ({next_id}){along}",
                        f"{at}.id",
                    )
                if check is not None:
                    try:
                        record = check(name, record_id, record)
                    except ValidationError as exc:
                        field = f"{at}.{exc.field}" if exc.field else at
                        raise ValidationError(exc.reason, field) from None
                layer.records[record_id] = record
            layer.index(self._first_ids[name])
        return layers


def _check_room(name: str, layer: Layer, more: int = 1) -> None:
    if len(layer.records) + more > MAX_WRITES:
        raise OverlayFull(
            f"{name} holds {MAX_WRITES:,} written records, the most a mock keeps; "
            "POST /__reset forgets them"
        )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(value: Any, field: str) -> int:
    """``value`` if it is a JSON integer; else a ValidationError naming ``field``.

    JSON has one number type, and ``json.loads`` reads ``12.0`` or ``1.2e1``
    as a float equal to 12: taken as an id or a seed, it would compare equal
    to the integer and pass for it. A snapshot writes its integers as integers.
    """
    if not _is_int(value):
        raise ValidationError(f"expected an integer, not {_shown(value)}", field)
    return value


def _shown(value: Any) -> str:
    """``value`` in a message: a scalar as JSON spells it, anything else by its kind."""
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


class _Transaction:
    """Holds the overlay's lock and, with SQLite, an IMMEDIATE transaction, reloading first."""

    def __init__(self, overlay: Overlay) -> None:
        self.overlay = overlay

    def __enter__(self) -> None:
        overlay = self.overlay
        overlay._lock.acquire()
        if overlay._db is not None:
            try:
                overlay._db.execute("BEGIN IMMEDIATE")
                if overlay._data_version() != overlay._version:
                    overlay._reload()
            except BaseException:
                overlay._lock.release()
                raise

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        overlay = self.overlay
        try:
            if overlay._db is not None:
                # The version stays the one seen inside the transaction: our own commit
                # leaves it as it is (PRAGMA data_version counts other connections'), and
                # reading it again here would take in, unseen, a commit that landed since.
                overlay._db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            overlay._lock.release()


def open_overlay(
    state: str, first_ids: Mapping[str, int], seed: int, *, steps: Mapping[str, int] | None = None
) -> Overlay:
    """The overlay ``--state`` names: ``memory`` or ``sqlite:PATH``.

    ``first_ids``: per collection, the first id after its generated records;
    ``steps``: how far apart its ids are (1 when not given).
    """
    if state == "memory":
        return Overlay(first_ids, seed, steps=steps)
    kind, sep, target = state.partition(":")
    if kind != "sqlite" or not sep or not target:
        raise UsageError(f"--state {state!r}: expected memory or sqlite:PATH")
    path = Path(target).expanduser()
    if not path.parent.is_dir():
        raise UsageError(f"--state {state!r}: no folder {path.parent}")
    return Overlay(first_ids, seed, path, steps=steps)
