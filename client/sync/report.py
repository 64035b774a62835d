"""``phony sync report``: how close the target is to the source, and whether it holds.

Per column, by what it holds:

- numbers and dates: the Kolmogorov-Smirnov distance between the source's
  and the target's values (0 = same distribution, 1 = disjoint);
- foreign keys: the same distance between the numbers of children per
  parent (the fan-out) on both sides;
- categories (booleans, enums, few distinct values): the share of the
  source's 10 most common values that are among the target's 10 most common;
- text: novelty, the share of the target's distinct values that appear
  nowhere in the source column (1.0 when the privacy guard is on);
- the NULL share on both sides.

And per constraint declared in the target (NOT NULL, UNIQUE, primary key,
foreign keys, CHECK lists of values, lengths), the number of rows breaking it.
Both databases are opened read-only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from phony_client.sync._db import as_stored, connect, first_line, redact
from phony_client.sync.fitting import CATEGORY_LIMIT
from phony_client.sync.introspect import (
    SAMPLE_ROWS,
    check_constraints,
    sample_order,
    sql_type_name,
    unique_constraints,
)
from phony_client.sync.namespaces import Namespaces
from phony_client.sync.plan import Plan
from phony_registry.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["ColumnReport", "ConstraintReport", "Report", "make_report"]

_TOP = 10


@dataclass
class ColumnReport:
    """One column's closeness measure."""

    table: str
    column: str
    kind: str  # number, date, category, text, other
    measure: str  # ks_distance, top10_overlap, novelty, -
    value: float | None
    null_source: float
    null_target: float


@dataclass
class ConstraintReport:
    """One constraint of the target and how many rows break it."""

    table: str
    kind: str
    columns: list[str]
    violations: int
    detail: str = ""


@dataclass
class Report:
    """The whole report."""

    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    columns: list[ColumnReport] = field(default_factory=list)
    constraints: list[ConstraintReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every constraint holds in the target."""
        return all(c.violations == 0 for c in self.constraints)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "ok": self.ok,
            "rows": {t: {"source": s, "target": g} for t, (s, g) in self.rows.items()},
            "columns": [vars(c) for c in self.columns],
            "constraints": [vars(c) for c in self.constraints],
        }


def make_report(source_url: str, target_url: str, plan: Plan | None = None) -> Report:
    """Compare ``target_url`` with ``source_url``; ``plan`` says which columns are text."""
    source = connect(source_url, read_only=True)
    target = connect(target_url, read_only=True)
    try:
        return _report(source, target, plan)
    except DatabaseError:
        raise
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError):
            raise DatabaseError(f"report: {first_line(exc.orig)}") from exc
        raise
    finally:
        source.dispose()
        target.dispose()


def _report(source: Engine, target: Engine, plan: Plan | None) -> Report:
    import sqlalchemy as sa

    report = Report()
    src_inspector, tgt_inspector = sa.inspect(source), sa.inspect(target)
    target_namespaces = Namespaces(tgt_inspector)
    in_source, in_target = Namespaces(src_inspector).tables(), target_namespaces.tables()
    names = [n for n in in_target if n in in_source]
    if plan is not None:
        names = [n for n in plan.tables if n in names]
    if not names:
        raise DatabaseError(f"{redact(str(target.url))}: no table in common with the source")
    src_meta, tgt_meta = sa.MetaData(), sa.MetaData()
    with source.connect() as sconn, target.connect() as tconn:
        for name in names:
            # A foreign key may name a missing table (SQLite allows it): not followed here.
            s_schema, s_name = in_source[name]
            t_schema, t_name = in_target[name]
            s_table = sa.Table(
                s_name, src_meta, schema=s_schema, autoload_with=source, resolve_fks=False
            )
            t_table = sa.Table(
                t_name, tgt_meta, schema=t_schema, autoload_with=target, resolve_fks=False
            )
            s_rows = sconn.execute(sa.select(sa.func.count()).select_from(s_table)).scalar_one()
            t_rows = tconn.execute(sa.select(sa.func.count()).select_from(t_table)).scalar_one()
            report.rows[name] = (s_rows, t_rows)
            planned = plan.tables[name] if plan is not None and name in plan.tables else None
            foreign = {
                fk["constrained_columns"][0]
                for fk in tgt_inspector.get_foreign_keys(t_name, schema=t_schema)
                if len(fk["constrained_columns"]) == 1
            }
            for column in t_table.columns:
                if column.name not in s_table.columns:
                    continue
                kind = "foreign_key" if column.name in foreign else _kind(column, planned)
                report.columns.append(
                    _column_report(sconn, tconn, s_table, t_table, column.name, kind, name)
                )
            report.constraints.extend(_constraints(tconn, target_namespaces, t_table, name))
    return report


def _kind(column: Any, planned: Any) -> str:
    type_name = sql_type_name(column.type)
    if planned is not None:
        try:
            kind = planned.column(column.name).generate.get("type")
        except KeyError:
            kind = None
        if kind in ("ngram", "template", "email"):
            return "text"
        if kind == "choice":
            return "category"
        if kind in ("reference", "sequence", "uuid"):
            return "key"
    if type_name in ("boolean", "enum"):
        return "category"
    if type_name in ("integer", "bigint", "smallint", "real", "double") or type_name.startswith(
        "numeric"
    ):
        return "number"
    if type_name in ("date", "timestamp", "timestamptz"):
        return "date"
    if type_name == "text" or type_name.startswith(("varchar", "char")):
        return "text"
    return "other"


def _values(conn: Connection, table: Any, column: str, limit: int | None) -> list[Any]:
    import sqlalchemy as sa

    query = sa.select(as_stored(table.c[column], conn.dialect.name))
    if limit is not None:  # the first rows by key, as the plan's sample
        key = [c.name for c in table.primary_key.columns]
        query = query.order_by(*sample_order(table, [key], conn.dialect.name)).limit(limit)
    return [row[0] for row in conn.execute(query)]


def _column_report(
    sconn: Connection,
    tconn: Connection,
    s_table: Any,
    t_table: Any,
    name: str,
    kind: str,
    key: str,
) -> ColumnReport:
    limit = None if kind == "text" else SAMPLE_ROWS
    src = _values(sconn, s_table, name, limit)
    tgt = _values(tconn, t_table, name, SAMPLE_ROWS)
    # As text: a jsonb document or an array arrives as a dict or a list, not hashable.
    src_present = [str(v) if isinstance(v, dict | list) else v for v in src if v is not None]
    tgt_present = [str(v) if isinstance(v, dict | list) else v for v in tgt if v is not None]
    value: float | None = None
    measure = "-"
    if (
        kind == "text"
        and len(set(map(str, src_present))) <= CATEGORY_LIMIT
        and len(src_present) > 5 * len(set(src_present))
    ):
        kind = "category"
    if kind == "foreign_key" and src_present and tgt_present:
        # Children per parent (of the parents that have any), compared as distributions.
        src_counts = list(Counter(map(str, src_present)).values())
        tgt_counts = list(Counter(map(str, tgt_present)).values())
        measure, value = "fanout_ks_distance", _ks(src_counts, tgt_counts)
    elif kind in ("number", "date") and src_present and tgt_present:
        measure, value = (
            "ks_distance",
            _ks([_num(v) for v in src_present], [_num(v) for v in tgt_present]),
        )
    elif kind == "category" and src_present and tgt_present:
        top_src = [v for v, _ in Counter(map(str, src_present)).most_common(_TOP)]
        top_tgt = {v for v, _ in Counter(map(str, tgt_present)).most_common(_TOP)}
        measure, value = f"top{_TOP}_overlap", sum(v in top_tgt for v in top_src) / len(top_src)
    elif kind == "text" and tgt_present:
        known = set(map(str, src_present))
        distinct = set(map(str, tgt_present))
        measure, value = "novelty", sum(v not in known for v in distinct) / len(distinct)
    return ColumnReport(
        key,
        name,
        kind,
        measure,
        None if value is None else round(value, 4),
        round(1 - len(src_present) / len(src), 4) if src else 0.0,
        round(1 - len(tgt_present) / len(tgt), 4) if tgt else 0.0,
    )


def _num(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).timestamp()
    if isinstance(value, dt.date):
        return float(value.toordinal()) * 86_400
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return dt.datetime.fromisoformat(value).replace(tzinfo=None).timestamp()
    return float(value)


def _ks(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two CDFs."""
    import numpy as np

    x, y = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    grid = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, grid, side="right") / x.size
    cdf_y = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(cdf_x - cdf_y)))


def _constraints(
    conn: Connection, namespaces: Namespaces, table: Any, name: str
) -> list[ConstraintReport]:
    """The constraints of ``table`` (the plan's ``name``) and the rows breaking each."""
    import sqlalchemy as sa

    out: list[ConstraintReport] = []
    own, schema = table.name, table.schema
    inspector = namespaces.inspector
    for column in table.columns:
        if not column.nullable:
            bad = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(column.is_(None))
            ).scalar_one()
            out.append(ConstraintReport(name, "not_null", [column.name], bad))
        length = getattr(column.type, "length", None)
        if length and isinstance(column.type, sa.String) and not isinstance(column.type, sa.Enum):
            bad = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(sa.func.length(column) > length)
            ).scalar_one()
            out.append(ConstraintReport(name, "length", [column.name], bad, f"<= {length}"))
    pk = list(inspector.get_pk_constraint(own, schema=schema).get("constrained_columns") or [])
    sets = [("primary_key", pk)] if pk else []
    sets += [("unique", cols) for cols in unique_constraints(inspector, own, conn, schema=schema)]
    for kind, cols in sets:
        columns = [table.c[c] for c in cols]
        dupes = (
            sa.select(*columns)
            .where(*(c.isnot(None) for c in columns))
            .group_by(*columns)
            .having(sa.func.count() > 1)
            .subquery()
        )
        bad = conn.execute(sa.select(sa.func.count()).select_from(dupes)).scalar_one()
        out.append(ConstraintReport(name, kind, cols, bad))
    for fk in inspector.get_foreign_keys(own, schema=schema):
        referred = namespaces.referred_key(fk)
        child_cols = [table.c[c] for c in fk["constrained_columns"]]
        present = [c.isnot(None) for c in child_cols]
        if not inspector.has_table(fk["referred_table"], schema=fk.get("referred_schema")):
            # A key naming a missing table: every row with a value breaks it.
            bad = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(*present)
            ).scalar_one()
            out.append(
                ConstraintReport(
                    name,
                    "foreign_key",
                    fk["constrained_columns"],
                    bad,
                    f"-> {referred} (no such table)",
                )
            )
            continue
        # An alias: a table referring to itself must not correlate with its own rows.
        parent = sa.Table(
            fk["referred_table"],
            table.metadata,
            schema=fk.get("referred_schema"),
            autoload_with=conn,
            resolve_fks=False,
        ).alias("phony_parent")
        parent_cols = [parent.c[c] for c in fk["referred_columns"]]
        exists = sa.exists().where(*(p == c for p, c in zip(parent_cols, child_cols, strict=True)))
        bad = conn.execute(
            sa.select(sa.func.count()).select_from(table).where(*present, ~exists)
        ).scalar_one()
        out.append(
            ConstraintReport(name, "foreign_key", fk["constrained_columns"], bad, f"-> {referred}")
        )
    checks, _ = check_constraints(
        inspector, own, [c.name for c in table.columns], conn, schema=schema
    )
    for check in checks:
        if check.column and check.values:
            column = table.c[check.column]
            bad = conn.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(column.isnot(None), sa.cast(column, sa.Text).not_in(check.values))
            ).scalar_one()
            out.append(ConstraintReport(name, "check", [check.column], bad, "values listed"))
    return out
