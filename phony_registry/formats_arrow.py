"""Columnar output: Apache Parquet and the Arrow IPC file format, through pyarrow.

Both are registered by phony's own plugin through ``phony_register_formats``,
as the text formats are; pyarrow (the ``[parquet]`` extra) is imported only
when one of them opens, so ``phony --help`` and the other formats never pay
for it, and a missing pyarrow is one clear error.

A table from a schema has typed columns (:func:`phony_registry.outputs.column_type`):
integers as ``int64``, numbers with decimals as exact ``decimal128(38, D)``
(``decimal256(76, D)`` when the column's declared range needs more than 38
digits; more than 76 is a usage error), dates as ``date32``, date-times as
``timestamp`` (with the column's UTC offset as its time zone when it has
one), the rest as UTF-8 strings.
A single model's values are strings. Each value is the text the other
formats write, converted by Arrow's own casts, so a Parquet file and a CSV
of the same seed hold the same values.

Writing streams: rows are typed batch by batch as they arrive and gathered
into row groups of ``row_group_size``
rows (Parquet; default 1,048,576, so a group is some megabytes to tens of
megabytes) or record batches of ``batch_size`` rows (Arrow; default 65,536),
each written as it fills, so memory stays flat in the row count. The
files are deterministic: the same rows and options give the same bytes
(no creation time is written; ``created_by`` names the pyarrow version).

A writer that is never closed (the run was interrupted, or failed) adds
nothing more to its stream: pyarrow's ParquetWriter would otherwise write
its footer when it is garbage-collected, turning an interrupted
``phony generate ... > out.parquet`` into a readable file of fewer rows, or
printing a traceback when phony had already closed and deleted its file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from phony_registry.errors import GenerationError, UsageError
from phony_registry.outputs import (
    ColumnType,
    OutputFormat,
    check_options,
    int_option,
    parse_column_type,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ARROW", "PARQUET", "arrow_schema"]

_PARQUET_CODECS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")
_ARROW_CODECS = ("zstd", "lz4", "none")
#: The ``compression_level`` each Parquet codec takes, lowest to highest: pyarrow's
#: ranges, less zstd's negative "fast" levels. snappy and none take none.
_LEVELS = {"zstd": (1, 22), "gzip": (1, 9), "brotli": (0, 11), "lz4": (1, 12)}


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError as exc:
        raise UsageError(
            "the parquet and arrow formats need pyarrow: pip install 'phony[parquet]'"
        ) from exc
    return pa


def arrow_schema(
    names: Sequence[str], types: Sequence[str], format_name: str = "arrow"
) -> pa.Schema:
    """The Arrow schema of ``names``, typed by :func:`~phony_registry.outputs.column_type`.

    A UsageError names a column no Arrow type holds (a decimal of more than
    76 digits), in the words of ``format_name``.
    """
    pa = _pyarrow()
    fields = []
    for name, text in zip(names, types, strict=True):
        kind = parse_column_type(text)
        if kind.kind == "int64":
            arrow_type = pa.int64()
        elif kind.kind == "decimal":
            arrow_type = _decimal(pa, name, kind, format_name)
        elif kind.kind == "date":
            arrow_type = pa.date32()
        elif kind.kind == "timestamp":
            arrow_type = pa.timestamp(kind.unit, tz=kind.zone or None)
        else:
            arrow_type = pa.string()
        fields.append(pa.field(name, arrow_type, nullable=False))
    return pa.schema(fields)


def _decimal(pa: Any, name: str, kind: ColumnType, format_name: str) -> Any:
    """The type of a ``decimal:P:D`` column: ``decimal128(38, D)`` up to 38 digits,
    ``decimal256(76, D)`` up to 76 (two fixed widths, so that the type depends
    only on which one the declared range needs)."""
    digits, decimals = kind.digits, kind.decimals
    if digits <= 38:
        return pa.decimal128(38, decimals)
    if digits <= 76:
        return pa.decimal256(76, decimals)
    raise UsageError(
        f"column {name!r}: its range needs {digits} digits ({decimals} after the point), "
        f"more than the 76 a decimal holds in {format_name}: narrow min and max, use fewer "
        "decimals, or write csv"
    )


def _codec(options: Mapping[str, str], allowed: Sequence[str], default: str) -> str:
    codec = options.get("compression", default).lower()
    if codec not in allowed:
        raise UsageError(f"option compression: expected one of {', '.join(allowed)}, not {codec!r}")
    return codec


def _level(options: Mapping[str, str], codec: str) -> int | None:
    """The ``compression_level`` option, checked against ``codec``; None for its default."""
    if "compression_level" not in options:
        return None
    if codec not in _LEVELS:
        raise UsageError(
            f"option compression_level: compression={codec} takes no level "
            "(zstd, gzip, brotli and lz4 do)"
        )
    low, high = _LEVELS[codec]
    expected = f"a whole number from {low} to {high} for {codec}"
    return int_option(options, "compression_level", 0, low=low, high=high, expected=expected)


class _Sink:
    """The output stream as pyarrow sees it: written through only while phony writes.

    Every pyarrow call that may write runs inside :meth:`writing`; a write at
    any other time comes from a writer phony gave up (pyarrow finishing its
    file as it is collected) and is dropped, as the output it would finish is.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._live = False

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Let pyarrow's writes through while the block runs."""
        self._live = True
        try:
            yield
        finally:
            self._live = False

    @property
    def closed(self) -> bool:
        """The stream's state while phony writes; never closed to a writer it gave up."""
        return bool(self._stream.closed) if self._live else False

    def write(self, data: bytes) -> int:
        if not self._live:
            return len(data)
        return self._stream.write(data)

    def flush(self) -> None:
        if self._live:
            self._stream.flush()


def _past_int64(column: Sequence[str]) -> str | None:
    """The first value of ``column`` that is an integer outside the 64-bit ones, if any."""
    for value in column:
        if value.removeprefix("-").isdigit() and not -(2**63) <= int(value) < 2**63:
            return value
    return None


class _ColumnarWriter:
    """Gathers string batches into Arrow record batches of ``rows`` rows, typed.

    A subclass names its format, options and codecs, and opens pyarrow's
    writer (:meth:`_open`); the options are checked here, the same way for both.
    """

    NAME: ClassVar[str]
    OPTIONS: ClassVar[dict[str, str]]
    CODECS: ClassVar[tuple[str, ...]]
    DEFAULT_CODEC: ClassVar[str]
    #: The option giving the rows per group or batch, and its default.
    ROWS_OPTION: ClassVar[str]
    DEFAULT_ROWS: ClassVar[int]

    def __init__(
        self,
        stream: BinaryIO,
        names: Sequence[str],
        types: Sequence[str],
        options: Mapping[str, str],
    ) -> None:
        check_options(self.NAME, options, self.OPTIONS)
        codec = _codec(options, self.CODECS, self.DEFAULT_CODEC)
        level = _level(options, codec) if "compression_level" in self.OPTIONS else None
        self._rows = int_option(options, self.ROWS_OPTION, self.DEFAULT_ROWS)
        self._pa = _pyarrow()
        self.schema = arrow_schema(names, types, self.NAME)
        # Each batch is typed as it arrives: a row group of Arrow arrays is a
        # fraction of the same rows as Python strings (10M rows of five columns
        # peaked at 590 MB when a whole group waited as strings).
        self._pending: list[Any] = []  # typed RecordBatches, fewer than a group's rows
        self._pending_rows = 0
        self._written = False  # an empty table still gets its schema written
        self._sink = _Sink(stream)
        with self._sink.writing():
            self._writer = self._open(self._sink, codec, level)

    def _batch(self, columns: Sequence[Sequence[str]]) -> Any:
        pa = self._pa
        arrays = []
        for field, column in zip(self.schema, columns, strict=True):
            strings = pa.array(column, type=pa.string())
            if field.type == pa.string():
                arrays.append(strings)
                continue
            try:
                arrays.append(strings.cast(field.type))
            except pa.ArrowInvalid:
                # Only a sequence typed without the table's row count gets here.
                wide = _past_int64(column) if field.type == pa.int64() else None
                if wide is None:
                    raise
                raise GenerationError(
                    f"column {field.name!r}: {wide} does not fit the 64-bit integers "
                    f"of a {self.NAME} int64 column"
                ) from None
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not columns or not columns[0]:
            return
        # Cut at group boundaries before typing, so that a group is made of whole
        # casts (an Arrow slice would be written with other buffer sizes).
        done, total = 0, len(columns[0])
        while done < total:
            take = min(total - done, self._rows - self._pending_rows)
            part = columns if take == total else [c[done : done + take] for c in columns]
            self._pending.append(self._batch(part))
            self._pending_rows += take
            done += take
            if self._pending_rows == self._rows:
                with self._sink.writing():
                    self._emit(self._group())

    def _group(self) -> Any:
        """The pending batches as one record batch (one row group, or one Arrow batch)."""
        if len(self._pending) == 1:
            batch = self._pending[0]
        elif not self._pending:
            batch = self._batch([[] for _ in self.schema])
        else:
            table = self._pa.Table.from_batches(self._pending, schema=self.schema)
            batch = table.combine_chunks().to_batches()[0]
        self._pending, self._pending_rows = [], 0
        return batch

    def close(self) -> None:
        with self._sink.writing():
            if self._pending_rows or not self._written:
                self._emit(self._group())
            self._writer.close()

    def _open(self, sink: _Sink, codec: str, level: int | None) -> Any:
        raise NotImplementedError

    def _emit(self, batch: Any) -> None:
        """Write ``batch`` (typed, one row group or record batch) to the file."""
        raise NotImplementedError


class _ParquetWriter(_ColumnarWriter):
    NAME = "parquet"
    OPTIONS: ClassVar[dict[str, str]] = {
        "compression": f"{', '.join(_PARQUET_CODECS)} (default zstd)",
        "compression_level": "zstd 1-22, gzip 1-9, brotli 0-11, lz4 1-12 (default: the codec's)",
        "row_group_size": "rows per row group (default 1048576)",
    }
    CODECS = _PARQUET_CODECS
    DEFAULT_CODEC = "zstd"
    ROWS_OPTION = "row_group_size"
    DEFAULT_ROWS = 1 << 20

    def _open(self, sink: _Sink, codec: str, level: int | None) -> Any:
        import pyarrow.parquet as pq

        return pq.ParquetWriter(
            sink, self.schema, compression=codec, compression_level=level, write_statistics=True
        )

    def _emit(self, batch: Any) -> None:
        table = self._pa.Table.from_batches([batch])
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._written = True


class _ArrowWriter(_ColumnarWriter):
    NAME = "arrow"
    OPTIONS: ClassVar[dict[str, str]] = {
        "compression": f"{', '.join(_ARROW_CODECS)} (default none)",
        "batch_size": "rows per record batch (default 65536)",
    }
    CODECS = _ARROW_CODECS
    DEFAULT_CODEC = "none"
    ROWS_OPTION = "batch_size"
    DEFAULT_ROWS = 1 << 16

    def _open(self, sink: _Sink, codec: str, level: int | None) -> Any:
        pa = self._pa
        write_options = pa.ipc.IpcWriteOptions(compression=None if codec == "none" else codec)
        return pa.ipc.new_file(sink, self.schema, options=write_options)

    def _emit(self, batch: Any) -> None:
        if batch.num_rows:
            self._writer.write_batch(batch)
        self._written = True


def _strings(cls: type[_ColumnarWriter]) -> Any:
    def open_strings(
        stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]
    ) -> _ColumnarWriter:
        return cls(stream, names, ["string"] * len(names), options)

    return open_strings


PARQUET = OutputFormat(
    "parquet",
    "parquet",
    "Apache Parquet, typed columns from a schema, zstd by default",
    _strings(_ParquetWriter),
    _ParquetWriter.OPTIONS,
    binary=True,
    open_typed=_ParquetWriter,
)
ARROW = OutputFormat(
    "arrow",
    "arrow",
    "Apache Arrow IPC file, typed columns from a schema",
    _strings(_ArrowWriter),
    _ArrowWriter.OPTIONS,
    binary=True,
    open_typed=_ArrowWriter,
)
