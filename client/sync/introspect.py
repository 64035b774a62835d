"""``phony sync plan``: read a database's structure and columns, and write a plan.

SQLAlchemy's reflection gives the tables, columns, types, keys, UNIQUE and
CHECK constraints; a sample of each table (at most :data:`SAMPLE_ROWS`
rows) gives what each column holds. The rules, in order, for one column:

- an integer primary key: a ``sequence``; a foreign key: a ``reference``
  with the fan-out measured from the real child counts;
- an enum or a CHECK listing values, booleans: a frequency table
  (``choice`` with weights) of the allowed values;
- other columns with few distinct values: a frequency table of the values
  seen in at least :data:`CATEGORY_MIN_ROWS` rows; a rarer value could tell
  who a row is about, so it is never copied (text: a numbered placeholder
  takes its share; numbers and dates: a histogram, as if not a category);
- numbers, dates and times: a ``histogram`` of measured quantiles;
- text: a ``.phony`` model trained on the column with the privacy guard on
  (no training value is ever generated); e-mail addresses: a model of the
  local parts and reserved example domains;
- uuids: random version 4 UUIDs; anything else a constant, or NULL.

The source is opened read-only, and only read through SELECTs.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_client.sync._db import connect, first_line, redact
from phony_client.sync.plan import Check, ColumnPlan, ForeignKey, Plan, TablePlan
from phony_registry.errors import DatabaseError, GenerationError, TrainingError
from phony_registry.format import save_model
from phony_registry.ngram import train

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "CATEGORY_LIMIT",
    "CATEGORY_MIN_ROWS",
    "SAMPLE_ROWS",
    "check_constraints",
    "make_plan",
    "sql_type_name",
    "unique_constraints",
]

#: Rows read from each source table to fit its columns.
SAMPLE_ROWS = 100_000
#: At most this many distinct values (and at most 20 % of the rows) make a frequency table.
CATEGORY_LIMIT = 40
#: A frequency table copies a value seen in at least this many rows (k-anonymity's k);
#: enum and CHECK values are copied whatever their count.
CATEGORY_MIN_ROWS = 10
_QUANTILES = 32
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EXAMPLE_DOMAINS = ["example.com", "example.net", "example.org"]


def sql_type_name(sa_type: Any) -> str:
    """The plan's name for a reflected SQLAlchemy type (``varchar(120)``, ``numeric(10,2)``)."""
    import sqlalchemy as sa

    if isinstance(sa_type, sa.Enum):
        return "enum"
    if isinstance(sa_type, sa.Boolean):
        return "boolean"
    if isinstance(sa_type, sa.SmallInteger):
        return "smallint"
    if isinstance(sa_type, sa.BigInteger):
        return "bigint"
    if isinstance(sa_type, sa.Integer):
        return "integer"
    if isinstance(sa_type, sa.Float):
        return "double" if getattr(sa_type, "precision", None) in (None, 53) else "real"
    if isinstance(sa_type, sa.Numeric):
        p, s = sa_type.precision, sa_type.scale
        return f"numeric({p},{s or 0})" if p else "numeric"
    if isinstance(sa_type, sa.DateTime):
        return "timestamptz" if sa_type.timezone else "timestamp"
    if isinstance(sa_type, sa.Date):
        return "date"
    if isinstance(sa_type, sa.Time):
        return "time"
    if isinstance(sa_type, sa.Uuid) or type(sa_type).__name__ == "UUID":
        return "uuid"
    if isinstance(sa_type, sa.JSON):
        return "json"
    if isinstance(sa_type, sa.LargeBinary):
        return "bytes"
    if isinstance(sa_type, sa.String) and sa_type.length:
        char = isinstance(sa_type, sa.CHAR) or type(sa_type).__name__ in ("CHAR", "NCHAR")
        return f"{'char' if char else 'varchar'}({sa_type.length})"
    return "text"


def make_plan(
    source_url: str,
    models_dir: Path,
    base_dir: Path,
    *,
    order: int | None = None,
    smoothing: str | None = None,
    consistent: bool = False,
) -> Plan:
    """Introspect ``source_url`` and fit each column; train text models into ``models_dir``.

    Model paths in the plan are relative to ``base_dir`` (the plan's folder).
    ``order`` and ``smoothing`` go to :func:`phony_registry.ngram.train`;
    ``None`` lets it choose as ``phony train`` does. With ``consistent``, a
    text column whose every value is a value of another table's UNIQUE text
    column (a natural key copied across tables, such as a customer's email
    on their orders) copies the fake value of that table's row: the same
    entity has the same fake key everywhere, and no two entities share one.
    """
    engine = connect(source_url, read_only=True)
    training = {"order": order, "smoothing": smoothing}
    try:
        return _make_plan(engine, models_dir, base_dir, redact(source_url), training, consistent)
    finally:
        engine.dispose()


def _make_plan(
    engine: Engine,
    models_dir: Path,
    base_dir: Path,
    source: str,
    training: dict[str, Any],
    consistent: bool,
) -> Plan:
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError

    try:
        inspector = sa.inspect(engine)
        ordered = [name for name, _ in inspector.get_sorted_table_and_fkc_names() if name]
        metadata = sa.MetaData()
        # resolve_fks=False: a foreign key may name a table the source lacks
        # (SQLite allows it); such a key is planned as a plain column.
        reflected = {
            name: sa.Table(name, metadata, autoload_with=engine, resolve_fks=False)
            for name in ordered
        }
        with engine.connect() as conn:
            tables = {
                name: _table_plan(conn, inspector, table, reflected, models_dir, base_dir, training)
                for name, table in reflected.items()
            }
            for table in tables.values():  # a reference's rows: its parent's (resized by a sync)
                for column in table.columns:
                    if column.generate.get("type") == "reference":
                        column.generate["rows"] = max(tables[column.generate["table"]].rows, 1)
            if consistent:
                _natural_keys(conn, reflected, tables)
    except DBAPIError as exc:
        raise DatabaseError(f"cannot read {source}: {first_line(exc.orig)}") from exc
    if not tables:
        raise DatabaseError(f"{source} has no tables to plan")
    return Plan(tables, source)


def _table_plan(
    conn: Connection,
    inspector: Any,
    table: Any,
    reflected: dict[str, Any],
    models_dir: Path,
    base_dir: Path,
    training: dict[str, Any],
) -> TablePlan:
    import sqlalchemy as sa

    name = table.name
    rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    sample = conn.execute(sa.select(table).limit(SAMPLE_ROWS)).all()
    pk = list(inspector.get_pk_constraint(name).get("constrained_columns") or [])
    unique = unique_constraints(inspector, name, conn)
    fks: list[ForeignKey] = []
    dangling: dict[str, str] = {}  # column -> the missing table its key names
    for fk in inspector.get_foreign_keys(name):
        key = ForeignKey(
            list(fk["constrained_columns"]), fk["referred_table"], fk["referred_columns"]
        )
        if key.table in reflected:
            fks.append(key)
        else:
            dangling.update(dict.fromkeys(key.columns, key.table))
    checks, enum_checks = check_constraints(inspector, name, [c.name for c in table.columns], conn)
    unique_cols = {u[0] for u in unique if len(u) == 1}
    if len(pk) == 1:
        unique_cols.add(pk[0])
    # A key of several columns is planned from its first: that column picks
    # the parent row, the others copy that row's values (``via``).
    fk_by_col: dict[str, ForeignKey] = {}
    follows: dict[str, tuple[ForeignKey, str]] = {}
    for fk in fks:
        if fk.columns[0] in fk_by_col or fk.columns[0] in follows:
            continue  # a column in two keys: planned from the first
        fk_by_col[fk.columns[0]] = fk
        for column, reference in zip(fk.columns[1:], fk.references[1:], strict=True):
            follows.setdefault(column, (fk, reference))
    one_each = [sorted(cols) for cols in [pk, *unique]]
    sequences: list[str] = []
    columns: list[ColumnPlan] = []
    for i, col in enumerate(table.columns):
        values = [row[i] for row in sample]
        type_name = sql_type_name(col.type)
        if _is_sequence(col, pk, type_name, conn.dialect.name):
            sequences.append(col.name)
        plan_cols = _fit_column(
            conn,
            table,
            col,
            type_name,
            values,
            rows=rows,
            is_pk=pk == [col.name],
            unique=col.name in unique_cols
            or (col.name in fk_by_col and sorted(fk_by_col[col.name].columns) in one_each),
            fk=fk_by_col.get(col.name),
            allowed=enum_checks.get(col.name),
            models_dir=models_dir,
            base_dir=base_dir,
            training=training,
        )
        if col.name in follows and col.name not in fk_by_col:
            fk, reference = follows[col.name]
            plan_cols = [plan_cols[0]]  # no helper columns: the value is copied
            plan_cols[0].generate = {
                "type": "reference",
                "table": fk.table,
                "column": reference,
                "via": fk.columns[0],
            }
            plan_cols[0].null_ratio = 0.0  # NULL where the first column is
            plan_cols[0].why = (
                f"foreign key ({', '.join(fk.columns)}) to {fk.table}: the {reference} "
                f"of the row {fk.columns[0]} picks, NULL with it"
            )
        if col.name in dangling:
            plan_cols[-1].why += (
                f"; its foreign key names table {dangling[col.name]}, which the source does "
                "not have: planned as a plain column, without the key"
            )
        columns.extend(plan_cols)
    return TablePlan(
        name=name,
        rows=rows,
        columns=columns,
        primary_key=pk,
        unique=unique,
        foreign_keys=fks,
        checks=checks,
        sequences=sequences,
    )


def _default_sql(col: Any) -> str | None:
    """A column's server default as SQL text (``now()``, ``'new'::text``), if it has one."""
    arg = getattr(col.server_default, "arg", None)
    return None if arg is None else str(getattr(arg, "text", arg))


def _is_sequence(col: Any, pk: list[str], type_name: str, dialect: str) -> bool:
    if type_name not in ("integer", "bigint", "smallint"):
        return False
    if col.identity is not None:
        return True
    if "nextval(" in (_default_sql(col) or ""):
        return True
    return dialect == "sqlite" and pk == [col.name]


def unique_constraints(inspector: Any, table: str, conn: Connection) -> list[list[str]]:
    """The column lists of ``table``'s UNIQUE constraints and unique indexes.

    SQLAlchemy misses SQLite's column-level UNIQUE on a sized type
    (``email VARCHAR(80) UNIQUE``: it parses the DDL, and the parentheses
    defeat it); SQLite keeps every UNIQUE in an automatic index
    (``sqlite_autoindex_*``, origin ``u`` in ``PRAGMA index_list``), read
    here. Indexes on expressions make no column list and are left out.
    """
    found: list[list[str]] = [
        list(u["column_names"]) for u in inspector.get_unique_constraints(table)
    ]
    found += [
        list(i["column_names"])
        for i in inspector.get_indexes(table)
        if i.get("unique") and all(i["column_names"])
    ]
    if conn.dialect.name == "sqlite":
        quoted = _quote(conn, table)
        for index in conn.exec_driver_sql(f"PRAGMA index_list({quoted})").mappings().all():
            if not index["unique"] or index["origin"] == "pk":
                continue
            info = conn.exec_driver_sql(
                f"PRAGMA index_info({_quote(conn, index['name'])})"
            ).mappings()
            names = [row["name"] for row in sorted(info, key=lambda row: row["seqno"])]
            if names and all(names):
                found.append(names)
    return [cols for i, cols in enumerate(found) if cols and cols not in found[:i]]


def check_constraints(
    inspector: Any, table: str, columns: list[str], conn: Connection
) -> tuple[list[Check], dict[str, list[str]]]:
    """CHECK constraints: ``col IN ('a', 'b')`` (any dialect's spelling) become enums."""
    checks: list[Check] = []
    enums: dict[str, list[str]] = {}
    try:
        found = inspector.get_check_constraints(table)
    except NotImplementedError:  # pragma: no cover - both supported dialects implement it
        found = []
    for check in found:
        sql = str(check.get("sqltext", ""))
        named = [c for c in columns if re.search(rf"\b{re.escape(c)}\b", sql)]
        literals = re.findall(r"'((?:[^']|'')*)'", sql)
        is_list = re.search(r"\bIN\s*\(|=\s*ANY\s*\(", sql, re.IGNORECASE)
        if len(named) == 1 and literals and is_list:
            values = list(dict.fromkeys(v.replace("''", "'") for v in literals))
            enums[named[0]] = values
            checks.append(Check(column=named[0], values=values, name=check.get("name")))
        else:
            checks.append(Check(sql=sql, dialect=conn.dialect.name, name=check.get("name")))
    return checks, enums


def _fit_column(
    conn: Connection,
    table: Any,
    col: Any,
    type_name: str,
    values: list[Any],
    *,
    rows: int,
    is_pk: bool,
    unique: bool,
    fk: ForeignKey | None,
    allowed: list[str] | None,
    models_dir: Path,
    base_dir: Path,
    training: dict[str, Any],
) -> list[ColumnPlan]:
    present = [v for v in values if v is not None]
    ratio = (len(values) - len(present)) / len(values) if values else 0.0
    default = _default_sql(col)
    base = ColumnPlan(
        name=col.name,
        generate={},
        sql_type=type_name,
        nullable=bool(col.nullable) and not is_pk,
        null_ratio=round(ratio, 4) if col.nullable and not is_pk else 0.0,
        default=None if "nextval(" in (default or "") else default,
    )
    if type_name == "enum":
        base.values = list(col.type.enums)
        base.enum_name = col.type.name
        allowed = base.values
    helpers: list[ColumnPlan] = []
    integer = type_name in ("integer", "bigint", "smallint")
    if fk is not None:
        base.generate = {"type": "reference", "table": fk.table, "column": fk.references[0]}
        fanout = _fanout(conn, table, fk)
        if unique:
            base.generate["unique"] = True
            base.why = "foreign key, one-to-one: each parent row at most once"
        elif fanout:
            base.generate["fanout"] = fanout
            base.why = "foreign key: children per parent drawn from the measured fan-out"
        else:
            base.why = "foreign key: parents drawn uniformly"
    elif is_pk and integer:
        base.generate = {"type": "sequence"}
        base.why = "primary key: consecutive integers (the sequence is reset after the load)"
    elif allowed:
        counts = Counter(str(v) for v in present)
        base.generate = _frequency([(v, counts.get(v, 0)) for v in allowed])
        base.why = f"values allowed by the {'enum' if base.values else 'CHECK'}, weighted as seen"
    elif type_name == "boolean":
        truths = sum(1 for v in present if v)
        base.generate = _frequency([("true", truths), ("false", len(present) - truths)])
        base.why = "boolean: the share of true as seen"
    elif type_name == "uuid":
        base.generate = {"type": "uuid"}
        base.why = "uuid: random version 4 UUIDs"
    elif not present:
        base.generate = {"type": "choice", "values": [""]}
        base.null_ratio = 1.0 if base.nullable else 0.0
        base.why = "no value in the source: NULL" if base.nullable else "no value in the source"
    elif type_name in ("json", "bytes", "time"):
        counts = Counter(_text(v) for v in present)
        common = counts.most_common(1)[0][0]
        base.generate = {"type": "choice", "values": [common]}
        base.why = f"{type_name}: the most common value as a constant"
    elif unique and integer:
        low = min(int(v) for v in present)
        base.generate = {"type": "sequence", "start": low}
        base.why = "unique integers: consecutive from the smallest seen"
    elif (
        not unique
        and _is_category(present, type_name)
        and (_is_text(type_name) or min(Counter(map(_text, present)).values()) >= CATEGORY_MIN_ROWS)
    ):
        base.generate, base.why = _category(col.name, present, base.max_length)
    elif integer or type_name.startswith(("numeric", "real", "double")):
        decimals = 0 if integer else _decimals(type_name, present)
        base.generate = {
            "type": "histogram",
            "quantiles": _quantiles([float(v) for v in present], decimals),
            "decimals": decimals,
        }
        base.why = f"numbers: {_QUANTILES} equally likely buckets between measured quantiles"
    elif type_name in ("date", "timestamp", "timestamptz"):
        base.generate = {"type": "histogram", "quantiles": _date_quantiles(present, type_name)}
        base.why = "dates: equally likely buckets between measured quantiles"
    else:
        helpers = _fit_text(
            table.name, col.name, base, [_text(v) for v in present], models_dir, training
        )
        for helper in [*helpers, base]:
            model = helper.generate.get("model")
            if model:
                helper.generate["model"] = _relative(Path(model), base_dir)
        if unique:
            base.why += "; unique: repeats get a counter"
    return [*helpers, base]


def _category(column: str, present: list[Any], limit: int | None) -> tuple[dict[str, Any], str]:
    """A frequency table of the values seen in at least CATEGORY_MIN_ROWS rows, and its why.

    Each rarer value gives its share to a numbered placeholder instead: a
    value that few rows hold may identify them (a note saying "password is
    hunter2"), a status held by hundreds does not.
    """
    counts = Counter(_text(v) for v in present)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [(v, n) for v, n in ranked if n >= CATEGORY_MIN_ROWS]
    rare = [n for _, n in ranked if n < CATEGORY_MIN_ROWS]
    why = f"{len(counts)} distinct values: a frequency table"
    if rare:
        names = _placeholders(column, len(rare), limit, set(counts))
        # Past the room a short column leaves, rare values share the placeholders made.
        kept += [(names[i % len(names)], n) for i, n in enumerate(rare)] if names else []
        rarer = "1 rarer value is" if len(rare) == 1 else f"{len(rare)} rarer values are"
        why += (
            f" of the values seen in at least {CATEGORY_MIN_ROWS} rows; {rarer} never copied: "
            "numbered placeholders take their share"
        )
    return _frequency(kept), why


def _placeholder_prefix(column: str, count: int, limit: int | None) -> str:
    """``column-`` for numbered placeholders, or nothing when the column is too short."""
    prefix = f"{column[:20]}-"
    if limit is not None and len(prefix) + len(str(count)) > limit:
        return ""  # a short code column (char(2)): bare numbers fit best
    return prefix


def _placeholders(column: str, count: int, limit: int | None, avoid: set[str]) -> list[str]:
    """Up to ``count`` numbered placeholders (``note-1``, ``note-2``), none in ``avoid``.

    Fewer when the column's length leaves no more room (char(1)).
    """
    prefix = _placeholder_prefix(column, count + len(avoid), limit)
    names: list[str] = []
    number = 0
    while len(names) < count:
        number += 1
        name = f"{prefix}{number}"
        if limit is not None and len(name) > limit:
            break
        if name not in avoid:
            names.append(name)
    return names


def _frequency(pairs: Sequence[tuple[str, int]]) -> dict[str, Any]:
    values = [v for v, _ in pairs]
    weights = [c for _, c in pairs]
    if not any(weights):
        return {"type": "choice", "values": values}
    kept = [(v, c) for v, c in pairs if c > 0]
    return {"type": "choice", "values": [v for v, _ in kept], "weights": [c for _, c in kept]}


def _is_category(present: list[Any], type_name: str) -> bool:
    distinct = len(set(map(_text, present)))
    return distinct <= CATEGORY_LIMIT and distinct <= max(2, len(present) // 5)


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()  # PostgreSQL's hex form of bytea
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


def _decimals(type_name: str, present: list[Any]) -> int:
    match = re.fullmatch(r"numeric\(\d+,(\d+)\)", type_name)
    if match:
        return min(int(match.group(1)), 12)
    seen = 0
    for v in present[:1000]:
        exponent = decimal.Decimal(str(v)).as_tuple().exponent
        if isinstance(exponent, int):
            seen = max(seen, -exponent)
    return min(seen, 6)


def _quantiles(values: list[float], decimals: int) -> list[float | int]:
    import numpy as np

    points = np.quantile(np.asarray(values, dtype=np.float64), np.linspace(0, 1, _QUANTILES + 1))
    # Repeated points stay: each bucket holds the same share of the values.
    rounded = sorted(round(float(p), decimals) for p in points)
    if decimals == 0:
        return [int(p) for p in rounded]
    return rounded


def _date_quantiles(present: list[Any], type_name: str) -> list[str]:
    import numpy as np

    if type_name == "date":
        ordinals = [(v if isinstance(v, dt.date) else _as_date(v)).toordinal() for v in present]
        points = np.quantile(np.asarray(ordinals), np.linspace(0, 1, _QUANTILES + 1))
        return sorted(dt.date.fromordinal(round(float(p))).isoformat() for p in points)
    epoch = dt.datetime(1970, 1, 1)
    seconds = [
        (
            (v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))).replace(
                tzinfo=None
            )
            - epoch
        ).total_seconds()
        for v in present
    ]
    points = np.quantile(np.asarray(seconds), np.linspace(0, 1, _QUANTILES + 1))
    return sorted((epoch + dt.timedelta(seconds=round(float(p)))).isoformat() for p in points)


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


def _fanout(conn: Connection, table: Any, fk: ForeignKey) -> list[list[int]]:
    """How many parent rows have how many rows of ``table``: ``[[children, parents], ...]``."""
    import sqlalchemy as sa

    key = [table.c[name] for name in fk.columns]

    parents = conn.execute(
        sa.text(f"SELECT count(*) FROM {_quote(conn, fk.table)}")  # noqa: S608 - quoted identifier
    ).scalar_one()
    if not parents:
        return []
    counts = Counter(
        int(n)
        for (n,) in conn.execute(
            sa.select(sa.func.count())
            .select_from(table)
            .where(*(c.isnot(None) for c in key))
            .group_by(*key)
        )
    )
    zeros = max(parents - sum(counts.values()), 0)
    if zeros:
        counts[0] += zeros
    return [[children, n] for children, n in sorted(counts.items())]


def _quote(conn: Connection, name: str) -> str:
    quoted: str = conn.dialect.identifier_preparer.quote(name)
    return quoted


def _relative(path: Path, base_dir: Path) -> str:
    try:
        return path.resolve().relative_to(base_dir.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _fit_text(
    table: str,
    column: str,
    base: ColumnPlan,
    values: list[str],
    models_dir: Path,
    training: dict[str, Any],
) -> list[ColumnPlan]:
    """A model of the column's text (the local parts for e-mail), trained with the guard on."""
    emails = sum(1 for v in values if _EMAIL.fullmatch(v))
    if emails >= 0.8 * len(values):
        locals_ = [v.rpartition("@")[0] for v in values if _EMAIL.fullmatch(v)]
        helper = f"{column}__local"
        domains = f"{column}__domain"
        model = _train(table, helper, locals_, models_dir, training)
        if model is None:
            base.generate = {"type": "sequence", "format": "user{}@example.com"}
            base.why = "e-mail addresses too few to learn from: numbered example.com addresses"
            return []
        base.generate = {"type": "template", "template": f"{{{helper}}}@{{{domains}}}"}
        base.why = (
            "e-mail addresses: local parts from a model trained on the column's "
            "(privacy guard on), at reserved example domains"
        )
        return [
            ColumnPlan(
                helper,
                {"type": "ngram", "model": str(model), "hidden": True},
                why="local parts of the e-mail addresses",
            ),
            ColumnPlan(
                domains,
                {"type": "choice", "values": _EXAMPLE_DOMAINS, "hidden": True},
                why="reserved example domains: no real domain is written",
            ),
        ]
    model = _train(table, column, values, models_dir, training)
    if model is None:
        prefix = _placeholder_prefix(column, 10 * len(values), base.max_length)
        base.generate = {"type": "sequence", "format": f"{prefix}{{}}"}
        base.why = "text with too little variety to learn new values from: numbered placeholders"
        return []
    base.generate = {"type": "ngram", "model": str(model)}
    base.why = (
        f"text: a model trained on {len(values)} values of the column, privacy guard on "
        "(it never generates a source value)"
    )
    return []


def _train(
    table: str, column: str, values: list[str], models_dir: Path, training: dict[str, Any]
) -> Path | None:
    """Train and save ``models/TABLE.COLUMN.phony``; None when it cannot make new values."""

    try:
        model = train(
            values,
            name=f"{table}.{column}"[:64],
            kind=column,
            source=f"column {column} of table {table}",
            exclude_originals=True,
            **{k: v for k, v in training.items() if v is not None},
        )
        model.generate(64, 0)  # can it produce values none of the source holds?
    except (TrainingError, GenerationError):
        return None
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{table}.{column}.phony"
    save_model(model, path)
    return path


def _is_text(sql_type: str | None) -> bool:
    return sql_type == "text" or (sql_type or "").startswith(("varchar", "char"))


def _natural_keys(
    conn: Connection, reflected: dict[str, Any], tables: dict[str, TablePlan]
) -> None:
    """Turn text columns holding another table's unique keys into references to them."""
    import sqlalchemy as sa

    keys = [
        (t.name, cols[0])
        for t in tables.values()
        for cols in [t.primary_key, *t.unique]
        if len(cols) == 1 and _is_text(t.column(cols[0]).sql_type)
    ]
    for table in tables.values():
        declared = {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}
        keyed = {name for fk in table.foreign_keys for name in fk.columns}
        for column in list(table.written):
            if column.name in keyed or not _is_text(column.sql_type):
                continue
            child = reflected[table.name].c[column.name]
            for parent_name, parent_column in keys:
                if parent_name == table.name:
                    continue
                parent = reflected[parent_name].c[parent_column]
                present = conn.execute(
                    sa.select(sa.func.count()).where(child.isnot(None))
                ).scalar_one()
                outside = conn.execute(
                    sa.select(sa.func.count()).where(
                        child.isnot(None), ~sa.exists().where(parent == child)
                    )
                ).scalar_one()
                if not present or outside:
                    continue
                via = next(
                    (
                        name
                        for name, fk in declared.items()
                        if fk.table == parent_name
                        and tables[parent_name].column(fk.references[0]).generate.get("type")
                        == "sequence"
                    ),
                    None,
                )
                column.generate = {
                    "type": "reference",
                    "table": parent_name,
                    "column": parent_column,
                    "rows": max(tables[parent_name].rows, 1),
                }
                column.why = (
                    f"natural key: every value is one of {parent_name}.{parent_column}: "
                    f"the fake {parent_name} row's value"
                )
                if via:
                    column.generate["via"] = via
                    column.why += f", of the row {via} picks"
                table.columns = [
                    c
                    for c in table.columns
                    if c.written or not c.name.startswith(f"{column.name}__")
                ]
                break
