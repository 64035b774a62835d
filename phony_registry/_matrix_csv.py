"""A schema of N-gram and email columns written to CSV as bytes, without a string per value.

:func:`write_csv` writes what :func:`phony_registry.schema.write_table`
writes in ``csv`` for a schema whose columns are all ``ngram`` (ASCII
models, no comma or quote in their alphabets, not ``unique``) and ``email``
(built from such columns, not ``unique``): each batch of rows is one byte
matrix, every column in its own zero-padded span, commas and the newline in
spans of their own, and one boolean mask drops the padding. An N-gram
column's span is its model's code point matrix (:meth:`Model._iter_rows`,
the same values as the column's strings); an email's is each source's
matrix folded through a byte table (``A-Z`` lowered, ``a-z`` and ``0-9``
kept, anything else dropped: what the email column's ASCII folding does),
the separator and the domain's bytes, drawn from the column's stream with
the same call as the column. A batch where a source folds to nothing (the
email then skips that part) goes through the columns and the CSV writer as
strings. Anything else returns ``False`` before writing, and the caller
takes the general path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from phony_registry.model import _nonzero

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["write_csv"]

#: Rows per batch: the byte matrix of a batch of first, last and email is a few MB.
_BATCH = 1 << 16
# Bytes that would need CSV quoting, or end a line, or vanish as padding.
_SPECIAL = frozenset(',"\r\n\0')


def _plain(text: str) -> bool:
    return text.isascii() and not _SPECIAL.intersection(text)


def _fold_table() -> NDArray[np.uint8]:
    table = np.zeros(256, dtype=np.uint8)
    for byte in b"abcdefghijklmnopqrstuvwxyz0123456789":
        table[byte] = byte
    for byte in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[byte] = byte + 32
    return table


class _Rows:
    """An N-gram column's values as matrices, taken ``n`` rows at a time."""

    def __init__(self, pieces: Iterator[NDArray[Any]]) -> None:
        self._pieces = pieces
        self._held: list[NDArray[Any]] = []
        self._count = 0

    def take(self, n: int) -> NDArray[Any]:
        while self._count < n:
            piece = next(self._pieces)
            self._held.append(piece)
            self._count += len(piece)
        whole = self._held[0] if len(self._held) == 1 else np.concatenate(self._held)
        rest = whole[n:]
        self._held = [rest] if len(rest) else []
        self._count = len(rest)
        return whole[:n]


def _strings(rows: NDArray[Any]) -> list[str]:
    wide = np.ascontiguousarray(rows, dtype=np.uint32)
    values: list[str] = wide.view(np.dtype(("U", rows.shape[1]))).reshape(-1).tolist()  # type: ignore[assignment]
    return values


def write_csv(
    names: Sequence[str],
    generators: Mapping[str, object],
    stream: BinaryIO,
    *,
    count: int,
    seed: int,
    options: Mapping[str, str],
) -> bool:
    """Write ``count`` rows of a schema as ``write_table`` does in csv, if its columns
    allow it (see the module docstring); ``False``, with nothing written, if not.

    ``names`` are the columns written, ``generators`` every column's generator
    by name (hidden ones too).
    """
    from phony_registry import outputs
    from phony_registry.columns import _Email, _Ngram
    from phony_registry.generators import ColumnStream, column_seed
    from phony_registry.plugins import get_plugins

    if get_plugins().format("csv") is not outputs.CSV or set(options) - {"header"}:
        return False
    by_name = dict(generators)
    if len(names) < 2:  # a lone column's empty value is quoted: the general path knows
        return False
    for generator in by_name.values():
        if isinstance(generator, _Ngram):
            model = generator.model
            if generator.unique or not model.writes_text or not _plain(model.alphabet):
                return False
        elif isinstance(generator, _Email):
            if generator.unique or not _plain(generator.separator):
                return False
            if not all(_plain(d) for d in generator.domains):
                return False
            if not all(isinstance(by_name.get(r), _Ngram) for r in generator.requires):
                return False
        else:
            return False

    writer = outputs.CSV.open(stream, names, options)
    header: list[list[str]] = [[] for _ in names]  # the writer writes it before any rows
    rows = {
        name: _Rows(gen.model._iter_rows(count, column_seed(seed, name)))
        for name, gen in by_name.items()
        if isinstance(gen, _Ngram)
    }
    streams = {
        name: ColumnStream(column_seed(seed, name), count)
        for name, gen in by_name.items()
        if isinstance(gen, _Email)
    }
    fold = _fold_table()
    done = 0
    while done < count:
        n = min(_BATCH, count - done)
        matrices = {name: column.take(n) for name, column in rows.items()}
        spans: list[list[NDArray[Any]]] = []  # per column written, its spans side by side
        fallback = False
        for name in names:
            generator = by_name[name]
            if isinstance(generator, _Ngram):
                spans.append([matrices[name]])
                continue
            assert isinstance(generator, _Email)
            folded = [fold[matrices[source]] for source in generator.requires]
            if any(not part.any(axis=1).all() for part in folded):
                fallback = True  # a source folds to nothing on some row
                break
            picks = streams[name].below(n, len(generator.domains))
            domains = [d.encode("ascii") for d in generator.domains]
            table = np.zeros((len(domains), max(map(len, domains))), dtype=np.uint8)
            for i, domain in enumerate(domains):
                table[i, : len(domain)] = np.frombuffer(domain, dtype=np.uint8)
            separator = np.frombuffer(generator.separator.encode("ascii"), dtype=np.uint8)
            email: list[NDArray[Any]] = []
            for i, part in enumerate(folded):
                if i and separator.size:
                    email.append(np.broadcast_to(separator, (n, separator.size)))
                email.append(part)
            email.append(table[picks])
            spans.append(email)
        if fallback:
            strings = {name: _strings(matrix) for name, matrix in matrices.items()}
            for name in names:
                generator = by_name[name]
                if isinstance(generator, _Email):
                    inputs = {source: strings[source] for source in generator.requires}
                    strings[name] = list(generator.generate(n, streams[name], inputs))
            writer.write([strings[name] for name in names])
        else:
            data = _csv_bytes(spans, n)
            writer.write(header)  # the header, if any, once
            stream.write(data)
        done += n
    writer.close()
    return True


def _csv_bytes(columns: list[list[NDArray[Any]]], n: int) -> bytes:
    """CSV rows: each column's spans side by side, then a comma (a newline after the last)."""
    width = sum(span.shape[1] for spans in columns for span in spans) + len(columns)
    matrix = np.zeros((n, width), dtype=np.uint8)
    at = 0
    for i, spans in enumerate(columns):
        for span in spans:
            matrix[:, at : at + span.shape[1]] = span
            at += span.shape[1]
        matrix[:, at] = 10 if i == len(columns) - 1 else 44
        at += 1
    data: bytes = _nonzero(matrix).tobytes()
    return data
