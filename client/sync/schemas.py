"""``phony sync SCHEMA.toml... --target URL``: tables from phony's own TOML schemas.

Each schema file is one table named after the file (``customers.toml`` ->
``customers``); a ``reference`` column (``table = "customers"``) is a
foreign key to the other table's first ``sequence`` column, its primary key.
Column types map to SQL types (sequence and integer -> bigint, number ->
numeric, date -> date or timestamp, uuid -> uuid, the rest text), and each
table is generated with the seed as given, so ``phony generate --schema
customers.toml --seed 7`` writes the same rows as the sync loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from phony_client.sync.plan import ColumnPlan, ForeignKey, Plan, TablePlan
from phony_registry._fs import not_a_file
from phony_registry.errors import UsageError, ValidationError
from phony_registry.schema import read_schema_columns

__all__ = ["plan_from_schemas"]


def _sql_type(spec: dict[str, Any]) -> str:
    kind = spec.get("type")
    if kind in ("sequence", "reference", "integer") and "format" not in spec:
        return "bigint"
    if kind == "number":
        return "numeric"
    if kind == "uuid":
        return "uuid"
    if kind == "date":
        bounds = [str(spec.get("start", "")), str(spec.get("end", ""))]
        if "format" not in spec:
            return "date" if all(len(b) == 10 for b in bounds) else "timestamp"
    if kind == "histogram":
        points = spec.get("quantiles") or [0]
        if isinstance(points[0], str):
            return "date" if len(points[0]) == 10 else "timestamp"
        return "numeric" if spec.get("decimals") else "bigint"
    return "text"


def plan_from_schemas(paths: Sequence[Path], count: int) -> Plan:
    """A plan with one table of ``count`` rows per schema file."""
    tables: dict[str, TablePlan] = {}
    base_dirs = {p.resolve().parent for p in paths}
    if len(base_dirs) > 1:
        raise UsageError("give schema files of one folder (their models are relative to it)")
    for path in paths:
        if not path.is_file():
            raise UsageError(not_a_file(path, "schema"))
        columns_data = read_schema_columns(path)
        name = path.stem
        columns: list[ColumnPlan] = []
        keys: list[str] = []
        fks: list[ForeignKey] = []
        for cname, spec in columns_data.items():
            spec = dict(spec) if isinstance(spec, dict) else {}
            hidden = bool(spec.get("hidden", False))
            sql_type = None if hidden else _sql_type(spec)
            if spec.get("type") == "sequence" and not keys and not hidden:
                keys.append(cname)
            if spec.get("type") == "reference":
                fks.append(
                    ForeignKey([cname], str(spec.get("table")), [str(spec.get("column", "id"))])
                )
            columns.append(
                ColumnPlan(cname, spec, sql_type, nullable=not hidden, why="from " + path.name)
            )
        for column in columns:
            if column.name in keys:
                column.nullable = False
        tables[name] = TablePlan(name, count, columns, primary_key=keys, foreign_keys=fks)
    for table in tables.values():
        for fk in table.foreign_keys:
            parent = tables.get(fk.table)
            if parent is None:
                raise ValidationError(
                    f"references table {fk.table!r}: give its schema file too",
                    field=f"{table.name}.columns.{fk.columns[0]}",
                )
            if not parent.primary_key:
                raise ValidationError(
                    f"references {fk.table}, which has no sequence column to be its key",
                    field=f"{table.name}.columns.{fk.columns[0]}",
                )
            fk.references = list(parent.primary_key)
            table.column(fk.columns[0]).generate["column"] = parent.primary_key[0]
    return Plan(tables, None, base_dir=next(iter(base_dirs)), raw_seed=True)
