"""The sync plan: the tables to fill, and what produces each column, and why.

``phony sync plan`` writes it as TOML a person can read and edit::

    format = 1
    source = "sqlite:///shop.db"

    [tables.customers]
    rows = 1200
    primary_key = ["id"]
    unique = [["email"]]

    [tables.customers.columns.id]
    sql_type = "integer"
    nullable = false
    why = "primary key: consecutive integers"
    generate = { type = "sequence" }

A table of a schema other than the source's default one (PostgreSQL's
``sales.orders``) is keyed ``schema.table`` and says its ``schema``::

    [tables."sales.orders"]
    schema = "sales"
    rows = 4800

Plans holding such a table are format 2; plans of the default schema alone
stay format 1, as phony always wrote them (a reader of format 1 only would
otherwise load ``sales.orders`` as one table of its default schema).

Each column's ``generate`` is a column of phony's schema language (any
generator type, plugins' included); ``null_ratio`` is the share of NULLs
drawn; a column without ``sql_type`` is a helper that other columns read
(``hidden = true`` in its ``generate``) and is not written. Paths of models
are relative to the plan's folder.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phony_registry._fs import read_toml
from phony_registry.errors import ValidationError

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "Check",
    "ColumnPlan",
    "ForeignKey",
    "PLAN_FORMAT",
    "Plan",
    "TablePlan",
    "dump_plan",
    "load_plan",
    "parse_plan",
    "table_key",
]

#: The newest plan format: 2 adds tables of named schemas (``schema = "sales"``).
PLAN_FORMAT = 2
#: Every format this phony reads.
_FORMATS = (1, 2)

_SQL_TYPE = re.compile(
    r"(integer|bigint|smallint|real|double|boolean|date|time|timestamp|timestamptz|text|uuid"
    r"|json|jsonb|bytes|enum|inet|cidr|numeric(\(\d+,\d+\))?|varchar\(\d+\)|char\(\d+\))"
    # A PostgreSQL array of one of them (an enum's array is planned as text[]).
    r"((?<!enum)\[\])?"
)


@dataclass
class ColumnPlan:
    """One column: its SQL definition, what generates it, and why."""

    name: str
    generate: dict[str, Any]
    sql_type: str | None = None  # None: a helper column, generated but not written
    nullable: bool = True
    null_ratio: float = 0.0
    default: str | None = None
    values: list[str] | None = None  # an enum type's values
    enum_name: str | None = None
    why: str = ""

    @property
    def written(self) -> bool:
        """Whether the column exists in the database (helpers do not)."""
        return self.sql_type is not None

    @property
    def max_length(self) -> int | None:
        """The length limit of varchar(n) and char(n)."""
        match = re.fullmatch(r"(?:var)?char\((\d+)\)", self.sql_type or "")
        return int(match.group(1)) if match else None


@dataclass
class ForeignKey:
    """``columns`` of this table reference ``references`` of ``table``."""

    columns: list[str]
    table: str
    references: list[str]


@dataclass
class Check:
    """A CHECK constraint: an enum (``column`` in ``values``) or raw SQL of one dialect."""

    column: str | None = None
    values: list[str] | None = None
    sql: str | None = None
    dialect: str | None = None
    name: str | None = None


@dataclass
class TablePlan:
    """One table: row count, constraints and columns in database order."""

    name: str
    rows: int
    columns: list[ColumnPlan]
    primary_key: list[str] = field(default_factory=list)
    unique: list[list[str]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    #: Columns filled by a sequence or identity in the source: reset after a load.
    sequences: list[str] = field(default_factory=list)
    #: The table's schema (PostgreSQL's ``sales``); None: the database's default schema.
    #: A table of a schema is keyed ``schema.table`` in the plan.
    schema: str | None = None

    @property
    def table_name(self) -> str:
        """The table's own name in its schema (``orders`` of ``sales.orders``)."""
        if self.schema is None:
            return self.name
        return self.name[len(self.schema) + 1 :]

    def column(self, name: str) -> ColumnPlan:
        """The column called ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def written(self) -> list[ColumnPlan]:
        """The columns that exist in the database, in order."""
        return [c for c in self.columns if c.written]


@dataclass
class Plan:
    """All the tables of a sync, in the order the source lists them."""

    tables: dict[str, TablePlan]
    source: str | None = None
    base_dir: Path | None = None
    #: Generate each table with the seed as given, as ``phony generate --schema`` does
    #: (schema files); plans derive one seed per table from it.
    raw_seed: bool = False


def table_key(schema: str | None, name: str) -> str:
    """A table's key in a plan: ``name`` in the default schema, ``schema.name`` in another."""
    return name if schema is None else f"{schema}.{name}"


# --- reading -----------------------------------------------------------------


def load_plan(path: str | Path) -> Plan:
    """Read and check the plan at ``path``; ValidationError naming the field if wrong."""
    path = Path(path)
    data = read_toml(path, "plan")
    plan = parse_plan(data)
    plan.base_dir = path.parent
    return plan


def _get(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValidationError(f"expected {getattr(kind, '__name__', kind)}", field=f"{where}.{key}")
    return value


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("expected a list of column names", field=where)
    return list(value)


def parse_plan(data: Mapping[str, Any]) -> Plan:
    """Check a plan given as parsed TOML."""
    version = data.get("format", 1)
    if version not in _FORMATS or isinstance(version, bool):
        raise ValidationError(
            f"this phony reads plan formats {', '.join(map(str, _FORMATS))}: "
            "a newer plan needs a newer phony",
            field="format",
        )
    tables_data = data.get("tables")
    if not isinstance(tables_data, Mapping) or not tables_data:
        raise ValidationError("a plan needs at least one [tables.NAME]", field="tables")
    tables: dict[str, TablePlan] = {}
    for name, raw in tables_data.items():
        where = f"tables.{name}"
        if not isinstance(raw, Mapping):
            raise ValidationError("expected a table", field=where)
        rows = _get(raw, "rows", int, where)
        schema = raw.get("schema")
        if schema is not None and (
            version < 2 or not isinstance(schema, str) or not name.startswith(f"{schema}.")
        ):
            raise ValidationError(
                'a table of a schema is keyed "SCHEMA.TABLE" in a plan of format 2',
                field=f"{where}.schema",
            )
        if rows < 0:
            raise ValidationError("must be >= 0", field=f"{where}.rows")
        columns = [
            _parse_column(cname, craw, f"{where}.columns.{cname}")
            for cname, craw in _get(raw, "columns", Mapping, where).items()
        ]
        names = {c.name for c in columns}
        table = TablePlan(
            name=name,
            rows=rows,
            columns=columns,
            primary_key=_names(raw.get("primary_key", []), f"{where}.primary_key"),
            unique=[_names(u, f"{where}.unique[{i}]") for i, u in enumerate(raw.get("unique", []))],
            foreign_keys=[
                ForeignKey(
                    _names(fk.get("columns"), f"{where}.foreign_keys[{i}].columns"),
                    _get(fk, "table", str, f"{where}.foreign_keys[{i}]"),
                    _names(fk.get("references"), f"{where}.foreign_keys[{i}].references"),
                )
                for i, fk in enumerate(raw.get("foreign_keys", []))
            ],
            checks=[Check(**c) for c in raw.get("checks", [])],
            sequences=_names(raw.get("sequences", []), f"{where}.sequences"),
            schema=schema,
        )
        if schema is not None and not table.table_name:
            raise ValidationError("the table has no name after its schema", field=where)
        for key in [*table.primary_key, *table.sequences, *(c for u in table.unique for c in u)]:
            if key not in names:
                raise ValidationError(f"unknown column {key!r}", field=where)
        tables[name] = table
    for table in tables.values():
        for i, fk in enumerate(table.foreign_keys):
            if fk.table not in tables:
                raise ValidationError(
                    f"references table {fk.table!r}, which the plan does not have",
                    field=f"tables.{table.name}.foreign_keys[{i}]",
                )
    source = data.get("source")
    return Plan(tables, source if isinstance(source, str) else None)


def _parse_column(name: str, raw: Any, where: str) -> ColumnPlan:
    if not isinstance(raw, Mapping):
        raise ValidationError("expected a table", field=where)
    generate = _get(raw, "generate", Mapping, where)
    sql_type = raw.get("sql_type")
    if sql_type is not None and (
        not isinstance(sql_type, str) or not _SQL_TYPE.fullmatch(sql_type)
    ):
        raise ValidationError(
            "expected integer, bigint, smallint, numeric(P,S), real, double, boolean, date, "
            "time, timestamp, timestamptz, text, varchar(N), char(N), uuid, json, jsonb, bytes, "
            "inet, cidr or enum, or an array of one but enum (text[])",
            field=f"{where}.sql_type",
        )
    if sql_type is None and not generate.get("hidden"):
        raise ValidationError("a column without sql_type must be hidden", field=where)
    ratio = raw.get("null_ratio", 0.0)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
        raise ValidationError("expected a share between 0 and 1", field=f"{where}.null_ratio")
    nullable = raw.get("nullable", True)
    if not isinstance(nullable, bool):
        raise ValidationError("expected true or false", field=f"{where}.nullable")
    values = raw.get("values")
    if sql_type == "enum" and (not values or not all(isinstance(v, str) for v in values)):
        raise ValidationError("an enum needs its values", field=f"{where}.values")
    return ColumnPlan(
        name=name,
        generate=dict(generate),
        sql_type=sql_type,
        nullable=nullable,
        null_ratio=float(ratio) if nullable else 0.0,
        default=raw.get("default"),
        values=list(values) if values else None,
        enum_name=raw.get("enum_name"),
        why=str(raw.get("why", "")),
    )


# --- writing -----------------------------------------------------------------


def _value(value: Any) -> str:
    """A TOML value; strings as JSON strings, which TOML's basic strings accept."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("TOML plans hold finite numbers")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} in a plan")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def dump_plan(plan: Plan) -> str:
    """The plan as TOML, one section per table and per column, comments on top."""
    lines = [
        "# phony sync plan: the tables to fill and what produces each column, and why.",
        "# Edit it freely, then: phony sync --plan THIS_FILE --target URL [--seed N]",
        "# Text models are trained with the privacy guard on (--exclude-originals):",
        "# they never generate a value of the source column.",
        # Plans of the default schema alone keep format 1, which every phony reads.
        f"format = {PLAN_FORMAT if any(t.schema for t in plan.tables.values()) else 1}",
    ]
    if plan.source:
        lines.append(f"source = {_value(plan.source)}")
    for table in plan.tables.values():
        t = _key(table.name)
        lines += ["", f"[tables.{t}]"]
        if table.schema is not None:
            lines.append(f"schema = {_value(table.schema)}")
        lines.append(f"rows = {table.rows}")
        if table.primary_key:
            lines.append(f"primary_key = {_value(table.primary_key)}")
        if table.unique:
            lines.append(f"unique = {_value(table.unique)}")
        if table.sequences:
            lines.append(f"sequences = {_value(table.sequences)}")
        if table.foreign_keys:
            fks = [
                {"columns": fk.columns, "table": fk.table, "references": fk.references}
                for fk in table.foreign_keys
            ]
            lines.append(f"foreign_keys = {_value(fks)}")
        if table.checks:
            checks = [{k: v for k, v in vars(c).items() if v is not None} for c in table.checks]
            lines.append(f"checks = {_value(checks)}")
        for column in table.columns:
            lines += ["", f"[tables.{t}.columns.{_key(column.name)}]"]
            if column.sql_type is not None:
                lines.append(f"sql_type = {_value(column.sql_type)}")
                lines.append(f"nullable = {_value(column.nullable)}")
            if column.null_ratio:
                lines.append(f"null_ratio = {round(column.null_ratio, 4)!r}")
            if column.values:
                lines.append(f"values = {_value(column.values)}")
            if column.enum_name:
                lines.append(f"enum_name = {_value(column.enum_name)}")
            if column.default is not None:
                lines.append(f"default = {_value(column.default)}")
            if column.why:
                lines.append(f"why = {_value(column.why)}")
            lines.append(f"generate = {_value(column.generate)}")
    return "\n".join(lines) + "\n"
