"""Schemas: multi-column tables described in TOML, and the engine that fills them.

A schema names its columns in order, each with a generator ``type`` and
that generator's arguments::

    locale = "tr_TR"                     # optional: default locale for model names

    [columns.first_name]
    type = "ngram"
    model = "first_names"                # tr_TR/first_names, or a path to a .phony file

    [columns.last_name]
    type = "ngram"
    model = "tr_TR/last_names"

    [columns.email]
    type = "email"
    from = ["first_name", "last_name"]
    domains = ["example.com", "example.org"]

    [columns.id]
    type = "sequence"
    hidden = true                        # generated (others may use it), not written

:func:`generate_table` yields the table as column-major batches, the shape
:class:`~phony_registry.outputs.RowWriter` takes. The same seed gives the
same table, whatever the batch size, and each column draws from its own
random stream (see :mod:`phony_registry.generators`), so adding, removing or
reordering a column leaves the others unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from phony_registry.errors import GenerationError, ValidationError
from phony_registry.generators import BuildContext, ColumnGenerator, ColumnStream, column_seed

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "Column",
    "DEFAULT_BATCH_SIZE",
    "Schema",
    "generate_table",
    "load_schema",
    "parse_schema",
    "read_schema_columns",
    "read_schema_file",
    "schema_roles",
    "write_table",
]


def schema_roles(data: Mapping[str, Any]) -> dict[str, str]:
    """Column -> model role, for the ``ngram`` columns of a schema document naming a bare role.

    A bare role (``first_names``) is resolved against a locale (``tr_TR/first_names``)
    by whoever generates the schema; a name with ``/``, ``@`` or a path is not a role.
    """
    roles: dict[str, str] = {}
    columns = data.get("columns")
    if not isinstance(columns, Mapping):
        return roles
    for column, spec in columns.items():
        if not isinstance(spec, Mapping) or spec.get("type") != "ngram":
            continue
        model = spec.get("model")
        if isinstance(model, str) and not any(c in model for c in "/@\\"):
            roles[str(column)] = model
    return roles


#: Rows per batch: large enough that per-batch overhead vanishes, small
#: enough that a batch's strings stay in cache (measured: 16K rows beats 64K
#: by about 8 % on the three-column benchmark) and memory stays flat.
DEFAULT_BATCH_SIZE = 16_384

_TOP_LEVEL = {"columns", "locale", "description"}
_RESERVED = {"type", "hidden"}


@dataclass(frozen=True)
class Column:
    """One column of a schema: its generator type, arguments and built generator."""

    name: str
    type: str
    args: Mapping[str, Any]
    hidden: bool
    generator: ColumnGenerator


@dataclass(frozen=True)
class Schema:
    """A parsed, checked schema, ready for :func:`generate_table`."""

    columns: tuple[Column, ...]
    #: Column names in the order they are generated (dependencies first).
    order: tuple[str, ...]
    locale: str | None = None

    @property
    def names(self) -> list[str]:
        """Names of the columns written out, in schema order."""
        return [c.name for c in self.columns if not c.hidden]


def load_schema(path: str | Path, *, locale: str | None = None) -> Schema:
    """Read and check the TOML schema at ``path``; model paths are relative to its folder.

    ``locale`` (``--locale``) overrides the schema's own default locale.
    """
    path = Path(path)
    return parse_schema(read_schema_file(path), base_dir=path.parent, locale=locale)


def read_schema_file(path: Path) -> dict[str, Any]:
    """The TOML document of a schema file, not yet checked; ValidationError if unreadable."""
    from phony_registry._fs import read_toml

    return read_toml(path, "schema")


def read_schema_columns(path: Path) -> Mapping[str, Any]:
    """The ``[columns]`` table of a schema file, not yet checked.

    ValidationError if the file is unreadable or has no column (``{path}: a
    schema needs at least one [columns.NAME] table``).
    """
    columns = read_schema_file(path).get("columns")
    if not isinstance(columns, Mapping) or not columns:
        raise ValidationError(f"{path}: a schema needs at least one [columns.NAME] table")
    return columns


def parse_schema(
    data: Mapping[str, Any], *, base_dir: Path | None = None, locale: str | None = None
) -> Schema:
    """Check a schema given as a mapping (parsed TOML) and build its column generators.

    Raises :class:`ValidationError` whose ``field`` is the dotted path of the
    bad value (``columns.email.from[1]``).
    """
    from phony_registry.plugins import get_plugins

    for key in data:
        if key not in _TOP_LEVEL:
            raise ValidationError(f"unknown key (expected: {', '.join(sorted(_TOP_LEVEL))})", key)
    schema_locale = data.get("locale")
    if schema_locale is not None and not isinstance(schema_locale, str):
        raise ValidationError("expected a locale name such as tr_TR", field="locale")
    locale = locale or schema_locale
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, Mapping) or not raw_columns:
        raise ValidationError("a schema needs at least one [columns.NAME] table", field="columns")
    names = tuple(raw_columns)
    plugins = get_plugins()
    columns = []
    for name, raw in raw_columns.items():
        if not name:
            raise ValidationError("a column needs a name", field='columns.""')
        ctx = BuildContext(column=name, columns=names, base_dir=base_dir, locale=locale)
        if not isinstance(raw, Mapping):
            raise ValidationError("expected a table with a type", field=ctx.field())
        kind = raw.get("type")
        if not isinstance(kind, str):
            raise ValidationError("is required (a generator name)", field=ctx.field("type"))
        factory = plugins.generator(kind)
        if factory is None:
            known = ", ".join(sorted(plugins.generators))
            raise ValidationError(
                f"unknown generator {kind!r} (available: {known}){plugins.failure_note()}",
                field=ctx.field("type"),
            )
        hidden = raw.get("hidden", False)
        if not isinstance(hidden, bool):
            raise ValidationError("expected true or false", field=ctx.field("hidden"))
        args = {k: v for k, v in raw.items() if k not in _RESERVED}
        for key in args:
            if key not in factory.arguments:
                allowed = ", ".join(sorted(factory.arguments)) or "none"
                raise ValidationError(
                    f"unknown argument for {kind} (arguments: {allowed})", field=ctx.field(key)
                )
        generator = factory.build(args, ctx)
        columns.append(Column(name, kind, args, hidden, generator))
    if all(c.hidden for c in columns):
        raise ValidationError("every column is hidden: nothing to write", field="columns")
    order = _generation_order(columns)
    return Schema(tuple(columns), order, locale)


def _generation_order(columns: Sequence[Column]) -> tuple[str, ...]:
    """Columns ordered so each comes after the columns it reads; a cycle is an error."""
    requires = {c.name: tuple(c.generator.requires) for c in columns}
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = being visited, 2 = done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise ValidationError(f"cycle {' -> '.join(cycle)}", field=f"columns.{cycle[0]}")
        state[name] = 1
        for dep in requires[name]:
            if dep not in requires:
                raise ValidationError(f"unknown column {dep!r}", field=f"columns.{name}")
            visit(dep, [*path, name])
        state[name] = 2
        order.append(name)

    for column in columns:
        visit(column.name, [])
    return tuple(order)


def generate_table(
    schema: Schema,
    count: int,
    seed: int,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    start: int = 0,
    seek: bool = False,
) -> Iterator[list[list[str]]]:
    """Yield ``count`` rows of ``schema`` as column-major batches of the visible columns.

    The output depends on ``schema``, ``count`` and ``seed`` only. With
    ``start``, only rows ``start:count`` are yielded, the same rows as the
    full table's: columns that can (see
    :class:`~phony_registry.generators.SeekableGenerator`) jump straight to
    row ``start``; if one cannot, the rows before are made and dropped.
    ``seek`` seeks even at row 0: a short window (a served page) then walks
    only its own rows, where the sequential path sizes its first walk for
    the whole ``count`` (a model's whole first chunk of 65,536 rows).
    """
    if count < 0:
        raise ValidationError("must be >= 0", field="count")
    if batch_size < 1:
        raise ValidationError("must be >= 1", field="batch_size")
    if not 0 <= start <= count:
        raise ValidationError(f"must be between 0 and count ({count})", field="start")
    by_name = {c.name: c for c in schema.columns}
    streams = {name: ColumnStream(column_seed(seed, name), count) for name in schema.order}
    visible = schema.names
    if (start or seek) and not _seek(schema, streams, start):
        skipped = 0
        for batch in generate_table(schema, count, seed, batch_size=batch_size):
            rows = len(batch[0])
            if skipped + rows > start:
                yield [column[max(start - skipped, 0) :] for column in batch]
            skipped += rows
        return
    done = start
    while done < count:
        n = min(batch_size, count - done)
        values: dict[str, Sequence[str]] = {}
        for name in schema.order:
            column, stream = by_name[name], streams[name]
            inputs = {dep: values[dep] for dep in column.generator.requires}
            produced = column.generator.generate(n, stream, inputs)
            if len(produced) != n:
                raise GenerationError(
                    f"column {name} ({column.type}) gave {done + len(produced)} of {count} values"
                )
            values[name] = produced
            stream.offset += n
        done += n
        yield [v if isinstance(v := values[name], list) else list(v) for name in visible]


def _seek(schema: Schema, streams: Mapping[str, ColumnStream], row: int) -> bool:
    """Position every column's fresh stream at ``row``; False if a column cannot."""
    for column in schema.columns:
        seek = getattr(column.generator, "seek", None)
        stream = streams[column.name]
        if seek is None or not seek(stream, row):
            return False
        stream.offset = row
    return True


def write_table(
    schema: Schema,
    stream: BinaryIO,
    *,
    count: int,
    seed: int,
    format_name: str = "csv",
    options: Mapping[str, str] | None = None,
) -> None:
    """Generate ``count`` rows of ``schema`` and write them to ``stream`` in ``format_name``."""
    from phony_registry import _matrix_csv
    from phony_registry.outputs import open_writer
    from phony_registry.plugins import get_plugins

    # N-gram and email columns to CSV: the same bytes, built without strings.
    options = options or {}
    if format_name == "csv" and count >= 0:
        generators = {c.name: c.generator for c in schema.columns}
        written = _matrix_csv.write_csv(
            schema.names, generators, stream, count=count, seed=seed, options=options
        )
        if written:
            return

    by_name = {c.name: c for c in schema.columns}
    typed = [(by_name[n].type, by_name[n].generator) for n in schema.names]
    fmt = get_plugins().format(format_name)
    writer = open_writer(fmt, stream, schema.names, options, typed, rows=count)
    for batch in generate_table(schema, count, seed):
        writer.write(batch)
    writer.close()
