"""``phony sync``: fill a target database from a plan.

The steps: check the target (tables present, empty unless ``--truncate`` or
``--append``), create the missing tables, then load unit by unit in
foreign-key order, one transaction per unit (a table, or the tables of one
foreign-key cycle, whose closing keys are set in a second pass before the
commit), resetting sequences before each commit. An interruption rolls the
open unit back: every table is loaded or untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phony_client.sync import engine as gen
from phony_client.sync._db import connect, first_line, sqlite_path
from phony_client.sync.plan import Plan
from phony_client.sync.target import Target, build_metadata, driver_errors
from phony_registry.errors import DatabaseError, UsageError

__all__ = ["SyncOptions", "SyncResult", "selected_tables", "sync"]


@dataclass
class SyncOptions:
    """What ``phony sync`` was asked to do."""

    seed: int = 0
    scale: float = 1.0
    tables: Sequence[str] | None = None
    mode: str = "refuse"  # or "truncate", "append"
    dry_run: bool = False
    jobs: int = 1


@dataclass
class SyncResult:
    """What was (or, with ``--dry-run``, would be) done."""

    units: list[list[str]]
    rows: dict[str, int]
    created: list[str]
    deferred: list[tuple[str, str]]
    seconds: float = 0.0
    loaded: dict[str, int] = field(default_factory=dict)


def selected_tables(plan: Plan, tables: Sequence[str] | None) -> list[str]:
    """The plan's tables named by ``--tables`` (all when None), in plan order."""
    if not tables:
        return list(plan.tables)
    unknown = [t for t in tables if t not in plan.tables]
    if unknown:
        known = ", ".join(plan.tables)
        raise UsageError(f"--tables: no table {unknown[0]!r} in the plan (tables: {known})")
    return [t for t in plan.tables if t in tables]


def sync(
    plan: Plan,
    target_url: str,
    options: SyncOptions,
    progress: Callable[[str, int, int], None] | None = None,
) -> SyncResult:
    """Fill ``target_url`` as ``plan`` says; return what was loaded.

    ``progress(table, rows_loaded, rows_planned)`` is called for each table once committed.
    """
    if options.scale <= 0:
        raise UsageError("--scale must be greater than 0")
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if plan.source and _same_database(plan.source, target_url):
        raise UsageError("the target is the plan's source: phony sync never writes to its source")
    names = selected_tables(plan, options.tables)
    units, deferred = gen.load_order(plan, names)
    cyclic = {t for unit in units for t in unit if len(unit) > 1} | {t for t, _ in deferred}
    path = sqlite_path(target_url)
    if options.dry_run and path is not None and not path.exists():
        # A dry run into a SQLite file that does not exist yet: nothing to ask it.
        runs = gen.prepare(plan, names, scale=options.scale, deferred=deferred)
        rows = {n: runs[n].rows for n in names}
        return SyncResult(units, rows, list(names), sorted(deferred))
    target = Target(connect(target_url, read_only=False), target_url)
    target.use_plan(plan)
    try:
        return _sync(plan, target, options, names, units, deferred, cyclic, progress)
    finally:
        target.close()


def _same_database(source: str, target: str) -> bool:
    try:
        from sqlalchemy.engine import make_url

        a, b = make_url(source), make_url(target)
    except Exception:
        return False
    if a.get_backend_name() == "sqlite" and b.get_backend_name() == "sqlite":
        from pathlib import Path

        if not (a.database and b.database):
            return False
        first, second = Path(a.database), Path(b.database)
        if first.resolve() == second.resolve():
            return True
        # A hard link (or a bind mount) is the same file under another name:
        # the device and inode say so, the paths do not.
        try:
            return first.samefile(second)
        except OSError:  # one of them does not exist (yet): not the same file
            return False
    return (a.host, a.port or 5432, a.database) == (b.host, b.port or 5432, b.database)


def _sync(
    plan: Plan,
    target: Target,
    options: SyncOptions,
    names: list[str],
    units: list[list[str]],
    deferred: set[tuple[str, str]],
    cyclic: set[str],
    progress: Callable[[str, int, int], None] | None,
) -> SyncResult:
    from sqlalchemy.exc import DBAPIError

    existing = target.existing_tables()
    missing = [n for n in names if n not in existing]
    present = [n for n in names if n in existing]
    full = [n for n in present if target.has_rows(n)]
    if full and options.mode == "refuse":
        raise DatabaseError(
            f"{target.url}: table {full[0]} is not empty: pass --truncate to replace its rows "
            "or --append to add to them"
        )
    starts: dict[str, int] = {}
    if options.mode == "append":
        for name in full:
            table = plan.tables[name]
            if len(table.primary_key) == 1:
                spec = table.column(table.primary_key[0]).generate
                if spec.get("type") == "sequence" and "format" not in spec:
                    top = target.max_value(name, table.primary_key[0])
                    starts[name] = max(int(top) + 1, int(spec.get("start", 1)))
    _outside_parents(plan, target, names, existing, starts)
    prepared: dict[str, Any] = {"scale": options.scale, "starts": starts, "deferred": deferred}
    runs = gen.prepare(plan, names, **prepared)
    result = SyncResult(
        units,
        {n: runs[n].rows for n in names},
        missing,
        sorted(deferred),
    )
    if options.dry_run:
        return result
    if options.mode == "append":
        for name in full:
            for cols in gen.unique_sets(plan.tables[name], appending=True):
                runs[name].existing[tuple(cols)] = target.values(name, cols)
    started = time.perf_counter()
    metadata = build_metadata(plan, names, target.dialect, cyclic)
    target.create_schemas(missing)
    target.create_types(metadata, missing)
    # Missing tables are created in their unit's transaction: an interrupted load leaves
    # them absent, as they were.
    ddl = {name: target.table_ddl(metadata, name) for name in missing}
    batches = None
    try:
        if options.mode == "truncate" and full:
            target.begin()
            order = [n for unit in units for n in unit]
            target.empty([n for n in order if n in present])
            target.commit()
        keys: dict[tuple[str, str], list[str]] = {}
        if options.jobs > 1:
            from phony_client.sync.jobs import parallel_batches

            batches = parallel_batches(plan, runs, prepared, options.seed, options.jobs)
        for unit in units:
            _load_unit(target, runs, unit, options.seed, keys, batches, result, progress, ddl)
    except DBAPIError as exc:
        target.rollback()
        raise DatabaseError(f"{target.url}: load refused: {first_line(exc.orig)}") from exc
    except driver_errors(target.dialect) as exc:
        target.rollback()
        raise DatabaseError(f"{target.url}: load refused: {first_line(exc)}") from exc
    except BaseException:
        target.rollback()
        raise
    finally:
        if batches is not None:
            batches.close()
    result.seconds = time.perf_counter() - started
    return result


def _outside_parents(
    plan: Plan, target: Target, names: list[str], existing: set[str], starts: dict[str, int]
) -> None:
    """Point references to tables left out by ``--tables`` at the keys the target holds.

    Such a parent must exist in the target with consecutive integer keys;
    its children then draw among them.
    """
    for name in names:
        for fk in plan.tables[name].foreign_keys:
            parent = fk.table
            if parent in names or parent in starts:
                continue
            if parent not in existing:
                raise DatabaseError(
                    f"{target.url}: table {name} references {parent}, which is neither in "
                    "--tables nor in the target"
                )
            key = fk.references[0]
            count = target.count(parent)
            low, high = target.min_value(parent, key), target.max_value(parent, key)
            spec = plan.tables[parent].column(key).generate
            if spec.get("type") != "sequence" or "format" in spec or not isinstance(low, int):
                raise DatabaseError(
                    f"table {name} references {parent}, whose keys are generated: "
                    "sync it too (--tables)"
                )
            if count == 0 or high - low + 1 != count:
                raise DatabaseError(
                    f"{target.url}: table {name} references {parent}, whose keys in the target "
                    "are not consecutive integers: sync it too (--tables)"
                )
            plan.tables[parent].rows = count
            starts[parent] = low


def _load_unit(
    target: Target,
    runs: Mapping[str, gen.TableRun],
    unit: list[str],
    seed: int,
    keys: dict[tuple[str, str], list[str]],
    batches: Any,
    result: SyncResult,
    progress: Callable[[str, int, int], None] | None,
    ddl: Mapping[str, tuple[str, list[str]]],
) -> None:
    """Load the tables of one unit in one transaction, second pass included."""
    target.begin()
    for name in unit:
        if name in ddl:
            target.execute(ddl[name][0])
    second: list[tuple[str, str, list[tuple[Any, Any]]]] = []
    for name in unit:
        run = runs[name]
        table = run.table
        written = [c.name for c in table.written]
        held = {c: written.index(c) for c in run.deferred}
        pairs: dict[str, list[tuple[Any, Any]]] = {c: [] for c in run.deferred}
        if held and len(table.primary_key) != 1:
            raise DatabaseError(
                f"table {name} closes a foreign-key cycle but has no single-column primary key"
            )
        pk = written.index(table.primary_key[0]) if held else -1
        kept: dict[str, list[str]] = {c: [] for c in run.keep}
        loader = target.loader(table)
        done = 0
        source = batches.batches(name) if batches is not None else gen.generate(run, seed, keys)
        try:
            for batch, kept_batch in source:
                for column, index in held.items():
                    values = batch[index]
                    pairs[column].extend(
                        (p, v) for p, v in zip(batch[pk], values, strict=True) if v is not None
                    )
                    batch[index] = [None] * len(values)
                for column, values in kept_batch.items():
                    kept[column].extend(v or "" for v in values)
                loader.write(batch)
                done += len(batch[0]) if batch else 0
        except BaseException as exc:
            loader.abort(exc)
            raise
        loader.close()
        for column, values in kept.items():
            keys[(name, column)] = values
        result.loaded[name] = done
        for column in run.deferred:
            second.append((name, column, pairs[column]))
    for name, column, column_pairs in second:
        table = runs[name].table
        target.update(table, table.primary_key[0], column, column_pairs)
    for name in unit:
        for statement in ddl[name][1] if name in ddl else []:
            target.execute(statement)
        target.reset_sequences(runs[name].table)
    target.commit()
    if progress is not None:
        for name in unit:
            progress(name, result.loaded[name], runs[name].rows)
