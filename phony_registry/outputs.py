"""Output formats: how generated rows are written to a stream.

A format is an :class:`OutputFormat` registered through the
``phony_register_formats`` hook. Its ``open`` returns a :class:`RowWriter`
that receives batches **column-major** (one sequence of strings per column,
all of one length) because generation produces whole columns at a time, and
writing a column with one ``join`` is much faster than row by row.

Built-in formats: ``txt``, ``csv``, ``jsonl``, ``json`` (one streamed array,
valid for any count, including none) and ``sql`` (batched ``INSERT``
statements, text quoted by :func:`sql_literal`; a schema's number columns
unquoted and its ``CREATE TABLE`` typed by :func:`sql_type`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar, NamedTuple, Protocol

from phony_registry.errors import GenerationError, UsageError

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "CSV",
    "ColumnType",
    "JSON",
    "JSONL",
    "OutputFormat",
    "RowWriter",
    "SQL",
    "TXT",
    "TypedOpener",
    "check_options",
    "column_type",
    "int_option",
    "open_writer",
    "parse_column_type",
    "parse_options",
    "sql_literal",
    "sql_type",
    "typed_opener",
]


class RowWriter(Protocol):
    """Streaming writer returned by :attr:`OutputFormat.open`."""

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        """Write one batch: ``columns[i][j]`` is column ``i`` of row ``j``."""

    def close(self) -> None:
        """Finish the output (closing brackets, a last batch). Does not close the stream."""


Opener = Callable[[BinaryIO, Sequence[str], Mapping[str, str]], RowWriter]
#: ``open_typed(stream, column_names, column_types, options)``: see :func:`column_type`.
TypedOpener = Callable[[BinaryIO, Sequence[str], Sequence[str], Mapping[str, str]], RowWriter]


@dataclass(frozen=True)
class OutputFormat:
    """A named output format.

    ``open(stream, column_names, options)`` starts writing to a binary stream;
    ``options`` holds format-specific ``--option key=value`` pairs (for
    example ``table`` for sql), described in ``options`` (name -> help).
    ``extension`` (without the dot) lets ``phony generate -o FILE.EXT`` pick
    the format; a ``binary`` format is never written to a terminal. A format
    that stores typed columns (Parquet, Arrow, SQL) also has ``open_typed``,
    which takes each column's type (:func:`column_type`) as well; a table
    from a schema is written through it. The values a writer receives are
    always strings, the text every format writes.
    """

    name: str
    extension: str
    description: str
    open: Opener = field(repr=False)
    options: Mapping[str, str] = field(default_factory=dict)
    binary: bool = False
    open_typed: TypedOpener | None = field(default=None, repr=False)


def open_writer(
    fmt: OutputFormat,
    stream: BinaryIO,
    names: Sequence[str],
    options: Mapping[str, str],
    columns: Sequence[tuple[str, object]] | None = None,
    rows: int | None = None,
) -> RowWriter:
    """Open ``fmt`` on ``stream``; typed when the format stores types and ``columns``
    gives each column's (generator type, generator), as a schema's table does.

    ``rows`` is the table's row count (a whole dataset's, not one partition's):
    it bounds a sequence column's range (:func:`column_type`).
    """
    if fmt.open_typed is not None and columns is not None:
        types = [column_type(kind, generator, rows) for kind, generator in columns]
        return fmt.open_typed(stream, names, types, options)
    return fmt.open(stream, names, options)


def typed_opener(
    writer: Callable[[BinaryIO, Sequence[str], Mapping[str, str], Sequence[str] | None], RowWriter],
) -> TypedOpener:
    """The ``open_typed`` of a writer whose constructor takes the column types last:
    ``writer(stream, names, options, types)``, with ``types`` None when it opens untyped."""

    def open_typed(
        stream: BinaryIO, names: Sequence[str], types: Sequence[str], options: Mapping[str, str]
    ) -> RowWriter:
        return writer(stream, names, options, types)

    return open_typed


#: The values of a 64-bit signed integer.
_INT64 = range(-(2**63), 2**63)


def column_type(generator_type: str, generator: object, rows: int | None = None) -> str:
    """The value type of a schema column, for formats that store types.

    ``int64`` (an integer column whose range fits, a sequence without a
    format string whose ``rows`` values fit, or any sequence when ``rows`` is
    not given; a number without decimals), ``decimal:P:D`` (a number
    with D decimals, kept exact; P digits hold every value of its declared
    range), ``date`` (a date column of whole days without a strftime
    format), ``timestamp:UNIT`` (one with a time: ``s``, ``ms`` or ``us``;
    ``timestamp:UNIT:+HH:MM`` when its values carry that UTC offset),
    else ``string``. The type comes from the column's declared range, never
    from the values drawn, so every partition of a dataset has the same.
    ``generator`` is the column's built generator; only its attributes are
    read, so a plugin's generator is a ``string``.
    """
    if generator_type == "sequence" and getattr(generator, "template", "x") is None:
        start, step = getattr(generator, "start", None), getattr(generator, "step", None)
        if rows is None or not isinstance(start, int) or not isinstance(step, int):
            return "int64"
        last = start + max(rows - 1, 0) * step
        return "int64" if start in _INT64 and last in _INT64 else "string"
    if generator_type == "integer":
        low, span = getattr(generator, "low", None), getattr(generator, "span", None)
        if isinstance(low, int) and isinstance(span, int) and -(2**63) <= low <= 2**63 - span:
            return "int64"
    if generator_type == "number":
        decimals = getattr(generator, "decimals", None)
        integer = getattr(generator, "integer", None)  # its values in units of 10**-decimals
        low, span = getattr(integer, "low", None), getattr(integer, "span", None)
        if decimals == 0:
            return column_type("integer", integer)
        if (
            isinstance(decimals, int)
            and 0 < decimals <= 12
            and isinstance(low, int)
            and isinstance(span, int)
        ):
            digits = len(str(max(abs(low), abs(low + span - 1))))
            return f"decimal:{digits}:{decimals}"
    if generator_type == "date" and getattr(generator, "strftime", "x") is None:
        unit = getattr(generator, "unit", None)
        if unit == "D":
            return "date"
        if unit in ("s", "ms", "us"):
            offset = getattr(generator, "offset", None)
            return f"timestamp:{unit}:{offset}" if isinstance(offset, str) else f"timestamp:{unit}"
    return "string"


class ColumnType(NamedTuple):
    """A :func:`column_type` read into its parts (:func:`parse_column_type`)."""

    #: ``int64``, ``decimal``, ``date``, ``timestamp`` or ``string``.
    kind: str
    #: A decimal's digits in all (P, enough for its declared range)...
    digits: int = 0
    #: ...and after the point (D).
    decimals: int = 0
    #: A timestamp's unit: ``s``, ``ms`` or ``us``.
    unit: str = ""
    #: A timestamp's UTC offset (``+HH:MM``), or empty when its values carry none.
    zone: str = ""


def parse_column_type(text: str) -> ColumnType:
    """A :func:`column_type` in parts: ``decimal:7:2`` is ``ColumnType("decimal", 7, 2)``."""
    kind, _, arg = text.partition(":")
    if kind == "decimal":
        digits, decimals = (int(part) for part in arg.split(":"))
        return ColumnType(kind, digits=digits, decimals=decimals)
    if kind == "timestamp":
        unit, _, zone = arg.partition(":")
        return ColumnType(kind, unit=unit, zone=zone)
    return ColumnType(kind)


def check_options(format_name: str, options: Mapping[str, str], known: Mapping[str, str]) -> None:
    """Raise a UsageError naming an option the format does not know."""
    for key in options:
        if key not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise UsageError(f"format {format_name} has no option {key!r} (options: {listed})")


def int_option(
    options: Mapping[str, str],
    key: str,
    default: int,
    *,
    low: int = 1,
    high: int | None = None,
    expected: str | None = None,
    accept: Callable[[int], bool] | None = None,
) -> int:
    """The integer option ``key`` of a format, from ``low`` to ``high``; ``default`` if not given.

    The value is ASCII digits, after a ``-`` only when ``low`` allows a
    negative: no ``+``, spaces, underscores or other scripts' digits, all of
    which ``int()`` would take, so every integer option of every format reads
    one way. ``accept`` adds a rule of the format's own (a power of two).
    Anything else is a UsageError of one form, ``option KEY: expected WHAT,
    not 'TEXT'``, where WHAT is ``expected`` or, by default, "a positive
    integer" or "a whole number from LOW to HIGH".
    """
    text = options.get(key)
    if text is None:
        return default
    digits = text[1:] if low < 0 and text.startswith("-") else text
    value = None
    if digits.isascii() and digits.isdigit():
        try:
            value = int(text)
        except ValueError:  # more digits than Python converts: past any bound that matters
            value = None
    if (
        value is None
        or value < low
        or (high is not None and value > high)
        or (accept is not None and not accept(value))
    ):
        if expected is None:
            if high is not None:
                expected = f"a whole number from {low} to {high}"
            else:
                expected = "a positive integer" if low == 1 else f"a whole number from {low} up"
        raise UsageError(f"option {key}: expected {expected}, not {text!r}")
    return value


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """``["table=people", "batch=100"]`` (from ``--option``) as a dict; a UsageError otherwise."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option {pair!r}: expected KEY=VALUE, e.g. table=people")
        try:
            pair.encode("utf-8")
        except UnicodeEncodeError:
            # Bytes the locale could not decode arrive as lone surrogates
            # (surrogateescape): no format could write them out again.
            raise UsageError(
                f"--option {pair!r}: not UTF-8 text (a byte the command line could not decode)"
            ) from None
        options[key.strip()] = value
    return options


def _flag(options: Mapping[str, str], key: str, default: bool) -> bool:
    value = options.get(key)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise UsageError(f"option {key}: expected true or false, got {value!r}")


def _lines(columns: Sequence[Sequence[str]], sep: str) -> str:
    """The rows of a column-major batch, columns joined by ``sep``, each ending in a newline.

    Several columns are interleaved by slice assignments into one list of
    values and separators, joined once: no tuple or string per row (about
    twice as fast as joining each row, then the rows).
    """
    if len(columns) == 1:
        return "\n".join(columns[0]) + "\n"
    rows, width = len(columns[0]), 2 * len(columns)
    for column in columns:
        if len(column) != rows:
            raise ValueError("columns of different lengths")
    pieces = [sep] * (width * rows)
    for i, column in enumerate(columns):
        pieces[2 * i :: width] = column
    pieces[width - 1 :: width] = ["\n"] * rows
    return "".join(pieces)


class _TextWriter:
    OPTIONS: ClassVar[dict[str, str]] = {"separator": "between columns (default a tab)"}

    def __init__(self, stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]) -> None:
        check_options("txt", options, self.OPTIONS)
        self._stream = stream
        self._sep = options.get("separator", "\t")
        if not self._sep:
            raise UsageError("option separator: must not be empty (the columns would run together)")
        if "\n" in self._sep or "\r" in self._sep:
            raise UsageError("option separator: must not hold a line break (one row per line)")
        self._written = 0

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not columns or not columns[0]:
            return
        data = _lines(columns, self._sep).encode("utf-8")
        rows = len(columns[0])
        # One row per line, so a value may hold no line break (and, with more
        # than one column, no separator): counted at C speed, searched only
        # when a count is off.
        breaks = _count_bytes(data, 10) != rows or b"\r" in data
        if len(columns) < 2:
            seps = False
        elif len(self._sep) == 1 and self._sep.isascii():
            seps = _count_bytes(data, ord(self._sep)) != rows * (len(columns) - 1)
        else:  # a longer separator cannot be counted byte by byte: look in each value
            seps = any(self._sep in value for column in columns for value in column)
        if breaks or seps:
            self._refuse(columns)
        self._stream.write(data)
        self._written += rows

    def _refuse(self, columns: Sequence[Sequence[str]]) -> None:
        for row in range(len(columns[0])):
            for column in columns:
                value = column[row]
                line = self._written + row + 1
                if "\n" in value or "\r" in value:
                    raise GenerationError(
                        f"the value for line {line} ({value[:30]!r}) holds a line break, which "
                        "the txt format cannot (one row per line): use --format csv or jsonl"
                    )
                if len(columns) > 1 and self._sep in value:
                    raise GenerationError(
                        f"the value for line {line} ({value[:30]!r}) holds the column separator "
                        f"{self._sep!r}: use --format csv or jsonl, or --option separator=..."
                    )

    def close(self) -> None:
        return None


def _count_bytes(data: bytes, byte: int) -> int:
    """How many times ``byte`` occurs in ``data``.

    numpy's vectorised compare is several times faster than ``bytes.count``
    on large batches; in UTF-8 an ASCII byte never occurs inside another
    character, so counting bytes counts characters.
    """
    if len(data) < 4096:
        return data.count(bytes((byte,)))
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == byte))


def _csv_quoted(column: Sequence[str], alone: bool) -> list[str]:
    """RFC 4180 quoting: a field with a comma, quote, CR or LF is quoted, quotes doubled."""
    out = []
    for value in column:
        if any(ch in value for ch in ',"\r\n') or (alone and not value):
            value = '"' + value.replace('"', '""') + '"'
        out.append(value)
    return out


class _CsvWriter:
    OPTIONS: ClassVar[dict[str, str]] = {"header": "write the column names first (default true)"}

    def __init__(self, stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]) -> None:
        check_options("csv", options, self.OPTIONS)
        self._stream = stream
        self._header = _flag(options, "header", True)
        self._names = list(names)
        self._started = False

    def _write_rows(self, columns: Sequence[Sequence[str]]) -> None:
        # Fast path: join the batch directly, then prove that no value needed
        # quoting: no quote, no CR, and exactly the separators and newlines
        # the join itself put there. Otherwise each column is quoted.
        n = len(columns[0])
        data = _lines(columns, ",").encode("utf-8")
        plain = (
            b'"' not in data
            and b"\r" not in data
            and _count_bytes(data, b"\n"[0]) == n
            and _count_bytes(data, b","[0]) == (len(columns) - 1) * n
        )
        if plain and len(columns) == 1:
            plain = "" not in columns[0]  # a lone empty field would read back as a blank line
        if not plain:
            data = _lines([_csv_quoted(c, len(columns) == 1) for c in columns], ",").encode("utf-8")
        self._stream.write(data)

    def _start(self) -> None:
        self._started = True
        if self._header and self._names:
            self._write_rows([[n] for n in self._names])

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not self._started:
            self._start()
        if columns and columns[0]:
            self._write_rows(columns)

    def close(self) -> None:
        if not self._started:
            self._start()


#: A number as JSON and SQL write an integer or decimal column's values, unquoted
#: (no exponent, no leading zero); any other value of such a column is quoted.
_PLAIN_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"


def _json_objects(
    names: Sequence[str], columns: Sequence[Sequence[str]], numeric: Sequence[bool] = ()
) -> list[str]:
    """One ``{"name": "value", ...}`` text per row, encoding each column in one pass.

    A column marked ``numeric`` (an integer or decimal column of a schema,
    :func:`column_type`) is written as JSON numbers, as the mock API serves
    it: its text as it is (``27.50``), or a string for a value that is not
    a plain number (a plugin's).
    """
    import json
    import re

    encode = json.JSONEncoder(ensure_ascii=False).encode
    number = re.compile(_PLAIN_NUMBER).fullmatch
    keys = [encode(n).replace("{", "{{").replace("}", "}}") for n in names]
    template = "{{" + ", ".join(f"{k}: {{}}" for k in keys) + "}}"
    encoded = [
        [v if number(v) else encode(v) for v in column]
        if i < len(numeric) and numeric[i]
        else list(map(encode, column))
        for i, column in enumerate(columns)
    ]
    return list(map(template.format, *encoded))


def _numeric(types: Sequence[str] | None) -> list[bool]:
    """Which of a schema's column types (:func:`column_type`) are written as numbers
    (by JSON, and by SQL where the dialect has a type that holds them)."""
    return [parse_column_type(t).kind in ("int64", "decimal") for t in types or ()]


class _JsonRows:
    """What the JSON writers share: the column names, which columns are numbers
    (:func:`_numeric`) when opened with a schema's types, and the options check."""

    NAME: ClassVar[str]
    OPTIONS: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        stream: BinaryIO,
        names: Sequence[str],
        options: Mapping[str, str],
        types: Sequence[str] | None = None,
    ) -> None:
        check_options(self.NAME, options, self.OPTIONS)
        self._stream = stream
        self._names = list(names)
        self._numeric = _numeric(types)

    def _objects(self, columns: Sequence[Sequence[str]]) -> list[str]:
        return _json_objects(self._names, columns, self._numeric)


class _JsonlWriter(_JsonRows):
    NAME = "jsonl"

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not columns or not columns[0]:
            return
        self._stream.write(("\n".join(self._objects(columns)) + "\n").encode("utf-8"))

    def close(self) -> None:
        return None


class _JsonWriter(_JsonRows):
    """One JSON array of objects, streamed: ``[`` first, ``]`` at close."""

    NAME = "json"
    #: Rows written so far: the first batch opens the array, close ends it.
    _rows = 0

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not columns or not columns[0]:
            return
        lead = ",\n" if self._rows else "[\n"
        self._rows += len(columns[0])
        self._stream.write((lead + ",\n".join(self._objects(columns))).encode("utf-8"))

    def close(self) -> None:
        self._stream.write(b"\n]\n" if self._rows else b"[]\n")


# --- SQL -------------------------------------------------------------------------

# Patterns as strings, compiled (and cached) by `re` on first use: importing
# `re` and `json` here would cost every `phony --help` a few milliseconds.
_CONTROL = r"[\x00-\x1f\x7f]"
_CONTROL_RUN = r"([\x00-\x1f\x7f]+)"
_MYSQL_ESCAPES = {"\\": "\\\\", "\0": "\\0", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z", "'": "''"}
_MYSQL = r"[\\\x00\n\r\x1a']"


def sql_literal(value: str, dialect: str = "standard") -> str:
    """``value`` as an SQL string literal of ``dialect``.

    ``standard`` (the default, for PostgreSQL and most databases): quotes
    doubled, control characters kept as they are (legal inside a literal)
    except NUL, which no SQL text type stores portably and is dropped.
    ``sqlite``: control characters, NUL included, spelled ``char(n)`` and
    concatenated, so the file stays plain text. ``mysql``: backslash escapes
    as MySQL reads them by default.
    """
    import re

    if dialect == "mysql":
        return "'" + re.sub(_MYSQL, lambda m: _MYSQL_ESCAPES[m.group()], value) + "'"
    quoted = value.replace("'", "''")
    if not re.search(_CONTROL, quoted):
        return "'" + quoted + "'"
    if dialect == "sqlite":
        pieces = []
        for i, part in enumerate(re.split(_CONTROL_RUN, quoted)):
            if i % 2:
                pieces.append("char(" + ",".join(str(ord(c)) for c in part) + ")")
            elif part or i == 0:
                pieces.append("'" + part + "'")
        return "(" + " || ".join(pieces) + ")"
    return "'" + quoted.replace("\0", "") + "'"


#: The most digits a decimal type of each dialect holds exactly: PostgreSQL's
#: NUMERIC(p, s) takes p up to 1000, MySQL's DECIMAL up to 65, and SQLite
#: keeps a NUMERIC value as a REAL (or an INTEGER when whole), which holds 15
#: significant digits and gives them back unchanged.
_DECIMAL_DIGITS = {"standard": 1000, "sqlite": 15, "mysql": 65}
#: MySQL's DATETIME keeps no fraction of a second unless told how many digits.
_MYSQL_FRACTION = {"s": "", "ms": "(3)", "us": "(6)"}


def sql_type(column_type: str, dialect: str = "standard") -> str:
    """The type ``CREATE TABLE`` gives a column of ``column_type`` (:func:`column_type`)
    in ``dialect`` (``standard``, ``sqlite`` or ``mysql``).

    ``int64``: BIGINT (INTEGER in SQLite, 64 bits there). ``decimal:P:D``:
    NUMERIC(P, D) (DECIMAL in MySQL; P is at least D); a decimal of more
    digits than the dialect's decimal type holds exactly (1000, 65, and 15
    in SQLite, whose NUMERIC values are REALs) is TEXT, every digit kept.
    ``date``: DATE. ``timestamp``: TIMESTAMP, or TIMESTAMP WITH TIME ZONE
    when its values carry an offset; DATETIME in SQLite (its date functions
    read the offset from the text) and MySQL (with the fraction of a second
    the unit needs; MySQL has no type keeping an offset, so such a column is
    TEXT there). Anything else is TEXT.
    """
    kind = parse_column_type(column_type)
    if kind.kind == "int64":
        return "INTEGER" if dialect == "sqlite" else "BIGINT"
    if kind.kind == "decimal":
        precision = max(kind.digits, kind.decimals)
        if precision > _DECIMAL_DIGITS[dialect]:
            return "TEXT"
        name = "DECIMAL" if dialect == "mysql" else "NUMERIC"
        return f"{name}({precision}, {kind.decimals})"
    if kind.kind == "date":
        return "DATE"
    if kind.kind == "timestamp":
        if dialect == "mysql":
            return "TEXT" if kind.zone else "DATETIME" + _MYSQL_FRACTION[kind.unit]
        if dialect == "sqlite":
            return "DATETIME"
        return "TIMESTAMP WITH TIME ZONE" if kind.zone else "TIMESTAMP"
    return "TEXT"


class _SqlWriter:
    OPTIONS: ClassVar[dict[str, str]] = {
        "table": "table name (default data)",
        "batch": "rows per INSERT statement (default 500)",
        "dialect": "standard (default), sqlite or mysql: how text is escaped and columns typed",
        "create": "start with CREATE TABLE, a schema's columns typed (default false)",
    }
    DIALECTS = ("standard", "sqlite", "mysql")

    def __init__(
        self,
        stream: BinaryIO,
        names: Sequence[str],
        options: Mapping[str, str],
        types: Sequence[str] | None = None,
    ) -> None:
        check_options("sql", options, self.OPTIONS)
        self._stream = stream
        self._dialect = options.get("dialect", "standard")
        if self._dialect not in self.DIALECTS:
            raise UsageError(f"option dialect: expected one of {', '.join(self.DIALECTS)}")
        table = options.get("table", "data")
        if not table:
            raise UsageError("option table: must not be empty")
        self._batch = int_option(options, "batch", 500)
        types = types or ["string"] * len(names)
        declared = [sql_type(t, self._dialect) for t in types]
        # A number column the dialect can only hold as TEXT keeps its quotes.
        self._numeric = [n and d != "TEXT" for n, d in zip(_numeric(types), declared, strict=True)]
        ident = self._identifier
        self._head = f"INSERT INTO {ident(table)} ({', '.join(map(ident, names))}) VALUES\n"
        if _flag(options, "create", False):
            columns = ", ".join(f"{ident(n)} {t}" for n, t in zip(names, declared, strict=True))
            stream.write(f"CREATE TABLE {ident(table)} ({columns});\n".encode())

    def _identifier(self, name: str) -> str:
        if "\0" in name:
            raise UsageError(f"identifier {name!r} contains a NUL character")
        if self._dialect == "mysql":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def _quote_column(self, column: Sequence[str]) -> list[str]:
        import re

        joined = "".join(column)
        if self._dialect == "mysql":
            special = re.search(_MYSQL, joined) is not None
        else:
            special = "'" in joined or re.search(_CONTROL, joined) is not None
        if not special:  # the common case: no value needs more than quotes around it
            return ["'" + v + "'" for v in column]
        return [sql_literal(v, self._dialect) for v in column]

    def _numbers(self, column: Sequence[str]) -> list[str]:
        """A number column's values: a plain number as it is, anything else (a plugin's) quoted."""
        import re

        number = re.compile(_PLAIN_NUMBER).fullmatch
        return [v if number(v) else sql_literal(v, self._dialect) for v in column]

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not columns or not columns[0]:
            return
        quoted = [
            self._numbers(c) if numeric else self._quote_column(c)
            for c, numeric in zip(columns, self._numeric, strict=True)
        ]
        rows = ["(" + ", ".join(row) + ")" for row in zip(*quoted, strict=True)]
        out = []
        for start in range(0, len(rows), self._batch):
            out.append(self._head + ",\n".join(rows[start : start + self._batch]) + ";\n")
        self._stream.write("".join(out).encode("utf-8"))

    def close(self) -> None:
        return None


TXT = OutputFormat(
    "txt", "txt", "one row per line, columns separated by a tab", _TextWriter, _TextWriter.OPTIONS
)
CSV = OutputFormat("csv", "csv", "RFC 4180 CSV with a header row", _CsvWriter, _CsvWriter.OPTIONS)
JSONL = OutputFormat(
    "jsonl",
    "jsonl",
    "one JSON object per line",
    _JsonlWriter,
    open_typed=typed_opener(_JsonlWriter),
)
JSON = OutputFormat(
    "json",
    "json",
    "one JSON array of objects, streamed",
    _JsonWriter,
    open_typed=typed_opener(_JsonWriter),
)
SQL = OutputFormat(
    "sql",
    "sql",
    "batched INSERT INTO statements",
    _SqlWriter,
    _SqlWriter.OPTIONS,
    open_typed=typed_opener(_SqlWriter),
)
