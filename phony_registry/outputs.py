"""Output formats: how generated rows are written to a stream.

A format is an :class:`OutputFormat` registered through the
``phony_register_formats`` hook. Its ``open`` returns a :class:`RowWriter`
that receives batches **column-major** (one sequence of strings per column,
all of one length) because generation produces whole columns at a time, and
writing a column with one ``join`` is much faster than row by row.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

__all__ = [
    "CSV",
    "JSONL",
    "TXT",
    "OutputFormat",
    "RowWriter",
]


class RowWriter(Protocol):
    """Streaming writer returned by :attr:`OutputFormat.open`."""

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        """Write one batch: ``columns[i][j]`` is column ``i`` of row ``j``."""

    def close(self) -> None:
        """Finish the output (closing brackets, a last batch). Does not close the stream."""


Opener = Callable[[BinaryIO, Sequence[str], Mapping[str, str]], RowWriter]


@dataclass(frozen=True)
class OutputFormat:
    """A named output format.

    ``open(stream, column_names, options)`` starts writing to a binary stream;
    ``options`` holds format-specific ``--option key=value`` pairs (for
    example ``table`` for sql).
    """

    name: str
    extension: str
    description: str
    open: Opener = field(repr=False)


# Characters that force CSV quoting; when a whole batch has none of them the
# rows are joined directly, which is several times faster than csv.writer.
_CSV_SPECIAL = (",", '"', "\r", "\n")


class _TextWriter:
    def __init__(self, stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]) -> None:
        self._stream = stream
        self._sep = options.get("separator", "\t")

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not columns or not columns[0]:
            return
        if len(columns) == 1:
            text = "\n".join(columns[0])
        else:
            text = "\n".join(map(self._sep.join, zip(*columns, strict=True)))
        self._stream.write(text.encode("utf-8"))
        self._stream.write(b"\n")

    def close(self) -> None:
        return None


class _CsvWriter:
    def __init__(self, stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]) -> None:
        self._stream = stream
        self._header = options.get("header", "true").lower() not in {"0", "false", "no"}
        self._names = list(names)
        self._started = False

    def _start(self) -> None:
        self._started = True
        if self._header:
            self._write_rows([[n] for n in self._names])

    def _write_rows(self, columns: Sequence[Sequence[str]]) -> None:
        if len(columns) == 1:
            text = "\n".join(columns[0])
        else:
            text = "\n".join(map(",".join, zip(*columns, strict=True)))
        if any(ch in text for ch in _CSV_SPECIAL[:3]) or text.count("\n") != len(columns[0]) - 1:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(zip(*columns, strict=True))
            self._stream.write(buffer.getvalue().encode("utf-8"))
        else:
            self._stream.write(text.encode("utf-8"))
            self._stream.write(b"\n")

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not self._started:
            self._start()
        if columns and columns[0]:
            self._write_rows(columns)

    def close(self) -> None:
        if not self._started:
            self._start()


class _JsonlWriter:
    def __init__(self, stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]) -> None:
        self._stream = stream
        self._names = list(names)

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if not columns or not columns[0]:
            return
        dumps = json.JSONEncoder(ensure_ascii=False).encode
        if len(columns) == 1:
            key = dumps(self._names[0])
            lines = [f"{{{key}: {dumps(v)}}}" for v in columns[0]]
        else:
            lines = [
                dumps(dict(zip(self._names, row, strict=True)))
                for row in zip(*columns, strict=True)
            ]
        self._stream.write(("\n".join(lines) + "\n").encode("utf-8"))

    def close(self) -> None:
        return None


TXT = OutputFormat("txt", "txt", "one value per line (columns separated by a tab)", _TextWriter)
CSV = OutputFormat("csv", "csv", "RFC 4180 CSV with a header row", _CsvWriter)
JSONL = OutputFormat("jsonl", "jsonl", "one JSON object per line", _JsonlWriter)
