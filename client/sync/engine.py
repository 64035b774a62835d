"""Generate a plan's tables: phony's schema engine, plus what a database asks for.

Each table is a phony schema (:func:`phony_registry.schema.generate_table`)
seeded with ``(seed, table)``, so row *i* of a table depends on the seed,
the table and *i* only: the same in a file, a database or the mock API, and
whatever ``--jobs`` says. On top of the schema's values this module:

- moves a draw that is a rare source value (a column's ``avoid``, see
  :mod:`.guard`) to the next value that is not one, as the column is
  generated: a hidden column too, before a JSON document's template reads it;
- turns a whole number in a ``bytes`` column into that many random bytes
  (its own stream), in PostgreSQL's hex form ``\\x0a1b``;
- draws NULLs at each column's measured ratio (its own stream);
- cuts text to the column's length;
- makes UNIQUE columns unique with a counter-based redraw (``ali.kaya`` ->
  ``ali.kaya2``, a code -> the next code of its pattern, a placeholder -> the
  next of its list, a reference -> the next parent row), which always ends:
  never a retry cap; a redrawn text that is a source value (its model's
  privacy guard knows them) is redrawn again;
- turns a reference's row numbers into the parent's keys;
- keeps apart the foreign keys that close a cycle, loaded in a second pass.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from phony_client.sync.guard import Guard, code_after
from phony_client.sync.plan import ColumnPlan, Plan, TablePlan
from phony_registry.errors import GenerationError, ValidationError
from phony_registry.generators import ColumnGenerator, ColumnStream, column_seed
from phony_registry.schema import DEFAULT_BATCH_SIZE, Schema, generate_table, parse_schema

__all__ = ["Batch", "TableRun", "generate", "load_order", "prepare", "table_seed", "unique_sets"]

#: Column-major values of the written columns; None is NULL.
Batch = list[list[str | None]]

_TEXT_TYPES = ("ngram", "template", "email")


def table_seed(seed: int, table: str) -> int:
    """The seed of one table's schema: derived from the sync seed and the table name."""
    return column_seed(seed, f"phony-sync-table\0{table}")


@dataclass
class TableRun:
    """One table ready to generate: its schema, row count and second-pass columns."""

    table: TablePlan
    rows: int
    schema: Schema
    #: Reference columns whose generator gives parent row numbers to map to keys.
    mapped: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Foreign-key columns that close a cycle: NULL in the load, set in the second pass.
    deferred: list[str] = field(default_factory=list)
    #: Arithmetic references: column -> (start, step, parent rows) for a unique redraw.
    arithmetic: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    #: Values already in the target (``--append``), per unique constraint.
    existing: dict[tuple[str, ...], set[tuple[Any, ...]]] = field(default_factory=dict)
    #: Columns other tables read through a mapped reference: kept while generating.
    keep: list[str] = field(default_factory=list)
    #: Seed the table with the sync's seed itself (schema files), not one derived per table.
    raw_seed: bool = False
    #: Mapped columns that copy from the parent row a foreign-key column of this table picks.
    via: dict[str, str] = field(default_factory=dict)
    #: Columns whose rare source values are kept out (``generate.avoid``).
    guards: dict[str, Guard] = field(default_factory=dict)


def load_order(plan: Plan, names: Sequence[str]) -> tuple[list[list[str]], set[tuple[str, str]]]:
    """Units of tables to load in order (a unit is a table, or the tables of one FK cycle),
    and the (table, column) foreign keys deferred to a second pass to break the cycles.

    A cycle must pass through a nullable key; otherwise a ValidationError says which.
    """
    selected = set(names)
    edges = {
        n: {fk.table for fk in plan.tables[n].foreign_keys if fk.table in selected}
        | {
            str(c.generate.get("table"))
            for c in plan.tables[n].columns
            if c.generate.get("type") == "reference" and c.generate.get("table") in selected
        }
        for n in names
    }
    components = _strongly_connected(list(names), edges)
    deferred: set[tuple[str, str]] = set()
    for i, component in enumerate(components):
        members = set(component)
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        for name in component:
            for fk in plan.tables[name].foreign_keys:
                if fk.table not in members:
                    continue
                columns = [plan.tables[name].column(c) for c in fk.columns]
                if all(c.nullable for c in columns):
                    deferred.update((name, c.name) for c in columns)
        remaining = {
            n: {
                fk.table
                for fk in plan.tables[n].foreign_keys
                if fk.table in members and (n, fk.columns[0]) not in deferred
            }
            for n in component
        }
        if len(_strongly_connected(component, remaining)) < len(component) or any(
            n in remaining[n] for n in component
        ):
            raise ValidationError(
                f"tables {', '.join(sorted(component))} reference each other through NOT NULL "
                "foreign keys only: one of the keys must be nullable to load them",
                field=f"tables.{component[0]}.foreign_keys",
            )
        components[i] = _parents_first(component, remaining)
    return components, deferred


def _parents_first(component: list[str], parents: Mapping[str, set[str]]) -> list[str]:
    """The tables of one cycle, each after those its keys loaded in the first pass
    name (``parents``, free of cycles), otherwise in plan order: a key that is
    not deferred is checked as its row is written."""
    ordered: list[str] = []
    left = list(component)
    while left:
        ready = next(n for n in left if parents[n] - {n} <= set(ordered))
        ordered.append(ready)
        left.remove(ready)
    return ordered


def _strongly_connected(names: list[str], edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's components, parents before children (edges point child -> parent)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component, key=names.index))

    for name in names:
        if name not in index:
            visit(name)
    return out


def prepare(
    plan: Plan,
    names: Sequence[str],
    *,
    scale: float = 1.0,
    starts: Mapping[str, int] | None = None,
    deferred: set[tuple[str, str]] | None = None,
) -> dict[str, TableRun]:
    """Build each selected table's schema, with references sized to their parents.

    ``starts`` gives a table's first key when appending (the key after the
    target's largest); a table outside ``names`` keeps its plan's row count
    as the range its children draw from.
    """
    starts = starts or {}
    rows = {n: _scaled(t.rows, scale) if n in names else t.rows for n, t in plan.tables.items()}
    runs: dict[str, TableRun] = {}
    keep: dict[str, set[str]] = {n: set() for n in plan.tables}
    for name in names:
        table = plan.tables[name]
        columns: dict[str, Any] = {}
        mapped: dict[str, tuple[str, str]] = {}
        arithmetic: dict[str, tuple[int, int, int]] = {}
        via: dict[str, str] = {}
        guards: dict[str, Guard] = {}
        for column in table.columns:
            spec = dict(column.generate)
            kind = spec.get("type")
            # The guard's keys are phony sync's, not the schema language's.
            avoid, _ = spec.pop("avoid", None), spec.pop("characters", None)
            if avoid is not None:
                where = f"tables.{name}.columns.{column.name}.generate.avoid"
                guards[column.name] = Guard(avoid, column.generate, where)
            if kind == "sequence" and name in starts and column.name in table.primary_key:
                spec["start"] = starts[name]
            if kind == "reference":
                parent_name = str(spec.get("table"))
                parent = plan.tables.get(parent_name)
                if parent is None:
                    raise ValidationError(
                        f"references unknown table {parent_name!r}",
                        field=f"tables.{name}.columns.{column.name}.generate.table",
                    )
                key = parent.column(str(spec.get("column", "id")))
                if rows[parent_name] < 1 and rows[name] and column.null_ratio < 1:
                    raise ValidationError(
                        f"references {parent_name}, which gets no rows",
                        field=f"tables.{name}.columns.{column.name}",
                    )
                spec["rows"] = max(rows[parent_name], 1)
                copied = bool(spec.get("via"))  # a value of the parent row another column picks
                if (
                    key.generate.get("type") == "sequence"
                    and "format" not in key.generate
                    and not copied
                ):
                    step = int(key.generate.get("step", 1))
                    start = starts.get(parent_name, int(key.generate.get("start", 1)))
                    spec["start"], spec["step"] = start, step
                    arithmetic[column.name] = (start, step, spec["rows"])
                else:
                    spec["start"], spec["step"] = 0, 1
                    mapped[column.name] = (parent_name, key.name)
                    keep[parent_name].add(key.name)
                    if copied:
                        via[column.name] = str(spec["via"])
            columns[column.name] = spec
        try:
            schema = parse_schema({"columns": columns}, base_dir=plan.base_dir)
        except ValidationError as exc:
            raise ValidationError(exc.reason, field=f"tables.{name}.{exc.field}") from None
        schema = _guarded(schema, guards)
        runs[name] = TableRun(
            table,
            rows[name],
            schema,
            mapped,
            sorted(c for t, c in (deferred or set()) if t == name),
            arithmetic,
            raw_seed=plan.raw_seed,
            via=via,
            guards=guards,
        )
        for column_name, fk_column in via.items():
            via_parent = mapped[column_name][0]
            picker = mapped.get(fk_column)
            if (
                fk_column in via
                or (fk_column not in arithmetic and picker is None)
                or table.column(fk_column).generate.get("table") != via_parent
            ):
                raise ValidationError(
                    f"via {fk_column!r} must be a reference of this table to {via_parent}",
                    field=f"tables.{name}.columns.{column_name}.generate.via",
                )
    for name, run in runs.items():
        run.keep = sorted(keep[name])
        missing = [t for t, _ in run.mapped.values() if t not in runs]
        if missing:
            raise ValidationError(
                f"references {missing[0]}, whose keys are generated: sync it too (--tables)",
                field=f"tables.{name}",
            )
    return runs


class _Guarded:
    """A column's generator whose draws its guard moves off rare source values, inside
    the schema engine: before a column that reads them (a JSON document's template
    reading its number keys) sees them."""

    def __init__(self, inner: ColumnGenerator, guard: Guard) -> None:
        self.inner = inner
        self.guard = guard
        self.requires = inner.requires

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        """The inner generator's values, each listed one moved to the next not listed."""
        values = list(self.inner.generate(n, stream, inputs))
        self.guard.apply(values)
        return values


def _guarded(schema: Schema, guards: Mapping[str, Guard]) -> Schema:
    """``schema`` with the generator of each column in ``guards`` wrapped by its guard."""
    if not guards:
        return schema
    columns = tuple(
        replace(c, generator=_Guarded(c.generator, guards[c.name])) if c.name in guards else c
        for c in schema.columns
    )
    return replace(schema, columns=columns)


def _scaled(rows: int, scale: float) -> int:
    return max(round(rows * scale), 1 if rows else 0)


class _Unique:
    """One UNIQUE constraint: the values used so far and a counter per collided value.

    A one-column constraint keeps plain values, a wider one tuples.
    """

    def __init__(self, columns: tuple[int, ...], existing: set[tuple[Any, ...]]) -> None:
        self.columns = columns
        self.single = len(columns) == 1
        self.seen: set[Any] = {t[0] for t in existing} if self.single else set(existing)
        self.counters: dict[Any, int] = {}
        self.which: int | None = None  # the column a redraw changes, found on first need
        #: Whether a redrawn value of that column is a source value (None: cannot tell).
        self.is_source: Callable[[str], bool] | None = None


def generate(
    run: TableRun,
    seed: int,
    parent_keys: Mapping[tuple[str, str], Sequence[str]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[tuple[Batch, dict[str, list[str | None]]]]:
    """Yield the table's batches (written columns, in table order) and the kept columns.

    ``parent_keys`` holds the keys of parent tables that mapped references
    read: (table, column) -> the column's values, row by row.
    """
    table = run.table
    names = run.schema.names
    written = [c.name for c in table.written]
    position = {n: i for i, n in enumerate(names)}
    plans = {c.name: c for c in table.columns}
    seed_of_table = seed if run.raw_seed else table_seed(seed, table.name)
    null_streams = {
        c.name: (ColumnStream(column_seed(seed_of_table, f"{c.name}\0null"), run.rows), c)
        for c in table.written
        if c.nullable and c.null_ratio > 0
    }
    # A whole number in a bytes column is a length: that many random bytes.
    byte_streams = {
        c.name: ColumnStream(column_seed(seed_of_table, f"{c.name}\0bytes"), run.rows)
        for c in table.written
        if c.sql_type == "bytes"
    }
    uniques = [
        _Unique(tuple(written.index(c) for c in cols), run.existing.get(tuple(cols), set()))
        for cols in unique_sets(table, appending=bool(run.existing))
    ]
    for values in generate_table(run.schema, run.rows, seed_of_table, batch_size=batch_size):
        # The schema engine's lists are fresh per batch: changed in place below.
        out: Batch = [values[position[n]] for n in written]  # type: ignore[misc]
        picked_rows: dict[str, list[str | None]] = {}  # parent rows the mapped references picked
        for name, (parent, key) in run.mapped.items():
            if name in run.via:
                continue
            keys = parent_keys[(parent, key)]
            col = out[written.index(name)]
            picked_rows[name] = col
            out[written.index(name)] = [keys[int(v)] if v is not None else None for v in col]
        for name, stream in byte_streams.items():
            out[written.index(name)] = _random_bytes(out[written.index(name)], stream)
        for name, (stream, column) in null_streams.items():
            _draw_nulls(out[written.index(name)], stream, column)
        for name, fk_column in run.via.items():
            # The value of the parent row the foreign key picked (NULL with the key).
            keys = parent_keys[run.mapped[name]]
            picked = out[written.index(fk_column)]
            if fk_column in picked_rows:
                rows = [int(r) if r is not None else 0 for r in picked_rows[fk_column]]
            else:
                start, step, _ = run.arithmetic[fk_column]
                rows = [(int(p) - start) // step if p is not None else 0 for p in picked]
            mine = out[written.index(name)]
            out[written.index(name)] = [
                None if m is None or p is None else keys[r]
                for m, p, r in zip(mine, picked, rows, strict=True)
            ]
        for i, name in enumerate(written):
            limit = plans[name].max_length
            if limit is not None and max(map(len, filter(None, out[i])), default=0) > limit:
                out[i] = [v[:limit] if v is not None and len(v) > limit else v for v in out[i]]
        for unique in uniques:
            _make_unique(out, unique, [plans[written[i]] for i in unique.columns], run)
        kept = {n: list(out[written.index(n)]) for n in run.keep}
        yield out, kept


def unique_sets(table: TablePlan, *, appending: bool = False) -> list[list[str]]:
    """UNIQUE constraints and the primary key, minus those unique by construction.

    ``appending`` (``--append``): random UUIDs are unique among themselves, not
    against the rows already there (the same seed draws the same UUIDs again).
    """
    found: list[list[str]] = []
    for cols in [table.primary_key, *table.unique]:
        if not cols or cols in found:
            continue
        # Columns holding a unique column are unique with it.
        if any(_unique_by_construction(table.column(name).generate, appending) for name in cols):
            continue
        found.append(cols)
    return found


def _unique_by_construction(spec: Mapping[str, Any], appending: bool = False) -> bool:
    """Whether a column's generator never repeats a value (NULLs aside)."""
    kind = spec.get("type")
    plain = "format" not in spec and spec.get("step", 1) != 0
    return (
        (kind == "uuid" and not appending)
        or (kind == "sequence" and plain)
        or (kind == "reference" and bool(spec.get("unique")) and not spec.get("via"))
    )


def _random_bytes(lengths: list[str | None], stream: ColumnStream) -> list[str | None]:
    """Random bytes, as ``\\x`` hex, for each whole number (a length) among ``lengths``;
    other values (``\\x`` hex already) stay. A row takes whole 64-bit words, so its
    bytes depend on the rows before it, not on the batches."""
    sizes = [int(v) if v is not None and v.isdigit() else -1 for v in lengths]
    if max(sizes, default=-1) < 0:
        return lengths
    words = [(n + 7) // 8 if n >= 0 else 0 for n in sizes]
    raw = stream.raw(sum(words)).astype("<u8").tobytes()
    out: list[str | None] = []
    at = 0
    for value, size, taken in zip(lengths, sizes, words, strict=True):
        out.append(value if size < 0 else "\\x" + raw[at : at + size].hex())
        at += 8 * taken
    return out


def _draw_nulls(values: list[str | None], stream: ColumnStream, column: ColumnPlan) -> None:
    import numpy as np

    threshold = int(column.null_ratio * 2**32)
    draws = stream.below(len(values), 2**32)
    stream.offset += len(values)
    for i in np.flatnonzero(draws < np.uint64(threshold)).tolist():
        values[i] = None


def _make_unique(out: Batch, unique: _Unique, columns: list[ColumnPlan], run: TableRun) -> None:
    """Redraw repeats of ``unique``'s columns: the last redrawable column gets a counter."""
    cols = unique.columns
    seen, counters, single = unique.seen, unique.counters, unique.single
    keys: list[Any] = out[cols[0]] if single else list(zip(*(out[c] for c in cols), strict=True))
    add = seen.add
    for row, key in enumerate(keys):
        if key not in seen:
            add(key)
            continue
        if key is None or (not single and None in key):  # NULLs never collide in SQL
            continue
        if unique.which is None:
            unique.which = _redrawable(columns, run)
            unique.is_source = _source_check(columns[unique.which], run)
        which, is_source = unique.which, unique.is_source
        parts = [key] if single else list(key)
        k = counters.get(key, 1)
        while True:
            k += 1
            parts[which] = _redraw(str(key if single else key[which]), k, columns[which], run)
            candidate = parts[0] if single else tuple(parts)
            # The counter can spell a real value (E000 -> E0002): the guard holds after it too.
            if candidate not in seen and not (is_source and is_source(parts[which])):
                break
        counters[key] = k
        add(candidate)
        out[cols[which]][row] = parts[which]


def _redrawable(columns: list[ColumnPlan], run: TableRun) -> int:
    for i in range(len(columns) - 1, -1, -1):
        kind = columns[i].generate.get("type")
        if kind in (*_TEXT_TYPES, "sequence", "histogram", "integer", "number", "uuid"):
            return i
        if kind == "reference" and columns[i].name in run.arithmetic:
            return i
    # Last, a choice (short text's placeholders): the next value of its list.
    for i in range(len(columns) - 1, -1, -1):
        if columns[i].generate.get("type") == "choice":
            return i
    names = ", ".join(c.name for c in columns)
    raise GenerationError(
        f"table {run.table.name}: cannot make ({names}) unique: none of its columns "
        "is text, a number, a list of values or a numbered reference"
    )


_EMAIL_TEMPLATE = re.compile(r"\{([^{}]+)\}@\{[^{}]+\}")


def _source_check(column: ColumnPlan, run: TableRun) -> Callable[[str], bool] | None:
    """Whether a value of ``column`` is one of the source's, as its model's privacy guard knows.

    A model trained with ``--exclude-originals`` keeps salted hashes of its
    training values: an ``ngram`` column asks its model about the whole value,
    an e-mail template (``{local}@{domain}``) asks the local parts' model about
    the part before the ``@``. None when the column has no such model.
    """
    guard = run.guards.get(column.name)
    if guard is not None:
        return guard.listed
    generators = {c.name: c.generator for c in run.schema.columns}
    kind = column.generate.get("type")
    model: Any = None
    local_part = False
    if kind == "ngram":
        model = getattr(generators.get(column.name), "model", None)
    elif kind == "template":
        match = _EMAIL_TEMPLATE.fullmatch(str(column.generate.get("template", "")))
        if match:
            model = getattr(generators.get(match.group(1)), "model", None)
            local_part = True
    exclude = getattr(model, "exclude", None)
    if exclude is None or not model.excludes_originals:  # none, or only a share of them
        return None
    import numpy as np

    from phony_registry.model import value_hashes

    def is_source(value: str) -> bool:
        if local_part:
            value = value.rpartition("@")[0]
        text = unicodedata.normalize("NFC", value.strip())  # as training cleaned its values
        if not text:
            return False
        points = np.array([text], dtype=f"U{len(text)}").view(np.uint32).reshape(1, len(text))
        return bool(exclude.contains(value_hashes(points, exclude.salt))[0])

    return is_source


def _redraw(value: str, k: int, column: ColumnPlan, run: TableRun) -> str:
    """The ``k``-th replacement of a repeated value: a counter, within the column's length."""
    kind = column.generate.get("type")
    if kind == "uuid":  # another random-looking version 4 UUID, derived from the first
        digest = hashlib.sha256(f"{value}\0{k}".encode()).digest()[:16]
        return str(uuid.UUID(bytes=digest, version=4))
    if column.sql_type == "bytes":  # \\x hex: the counter as whole bytes
        digits = format(k, "x")
        return value + digits.zfill(len(digits) + len(digits) % 2)
    if kind == "reference":
        start, step, rows = run.arithmetic[column.name]
        if k > rows:
            raise GenerationError(
                f"table {run.table.name}: more rows than distinct values of {column.name} "
                f"({rows} parent rows) allow in a UNIQUE constraint"
            )
        index = (int(value) - start) // step
        return str(start + ((index + k - 1) % rows) * step)
    if kind in ("histogram", "integer", "number") or column.sql_type in (
        "integer",
        "bigint",
        "smallint",
    ):
        if "." in value:
            whole, _, frac = value.partition(".")
            return f"{int(whole) + k - 1}.{frac}"
        return str(int(value) + k - 1)
    if kind == "choice":
        values = [str(v) for v in column.generate.get("values", [])]
        if k > len(values):
            raise GenerationError(
                f"table {run.table.name}: more rows than the {len(values)} values of "
                f"{column.name} allow in a UNIQUE constraint"
            )
        first = values.index(value) if value in values else 0
        return values[(first + k - 1) % len(values)]
    alphabets = column.generate.get("characters")
    if kind == "template" and isinstance(alphabets, list):  # a code: the next of its pattern
        space = math.prod(len(str(a)) for a in alphabets)
        if k > space:
            raise GenerationError(
                f"table {run.table.name}: more rows than the codes of {column.name} "
                f"({space}, less the source's) allow in a UNIQUE constraint"
            )
        return code_after(value, [str(a) for a in alphabets], k - 1)
    suffix = str(k)
    local, at, domain = value.rpartition("@")
    if not at:
        local, domain = value, ""
    limit = column.max_length
    if limit is not None:
        room = limit - len(suffix) - len(at) - len(domain)
        if room < 1:
            raise GenerationError(
                f"table {run.table.name}: column {column.name} is too short for unique values"
            )
        local = local[:room]
    return f"{local}{suffix}{at}{domain}"
