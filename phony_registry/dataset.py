"""Datasets: a table written as one file per partition, to a folder or an object store.

``phony generate --schema ... -o DEST/ --partitions N`` (and ``--engine dask``)
splits the rows ``0..count-1`` into ``N`` contiguous partitions; partition
``p`` holds rows ``p*count//N`` to ``(p+1)*count//N - 1`` and is written as
``DEST/part-PPPPP.EXT`` (``part-00000.parquet``, ...), so the files sort in
row order. A partition is a function of (schema, count, seed, N, p, format,
options) only: the rows are those of the whole table
(:func:`phony_registry.schema.generate_table` with ``start``), and the bytes
do not depend on which process, machine or engine writes them, nor on the
order partitions finish in. Writing a partition again (a retried task)
replaces its file with the same bytes, never adds rows.

Destinations are fsspec URLs or local paths. ``s3://`` goes through
pyarrow's S3 filesystem wrapped for fsspec (credentials the standard AWS
way: environment, shared files, instance roles; ``AWS_ENDPOINT_URL_S3`` or
``AWS_ENDPOINT_URL`` for an S3-compatible endpoint), so no s3fs and
aiobotocore are needed beside boto3. A local file is written to a temporary
name and renamed when complete; an S3 object appears only when its upload
completes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_registry._fs import atomic_writer
from phony_registry.errors import UsageError
from phony_registry.outputs import open_writer
from phony_registry.plugins import get_plugins
from phony_registry.schema import generate_table

if TYPE_CHECKING:
    from phony_registry.schema import Schema

__all__ = [
    "MAX_PARTITIONS",
    "Partition",
    "default_partitions",
    "is_dataset_target",
    "open_filesystem",
    "partition_name",
    "partitions",
    "write_dataset",
    "write_partition",
]

#: Most partitions a dataset may have (file names have five digits).
MAX_PARTITIONS = 100_000


@dataclass(frozen=True)
class Partition:
    """One partition of a dataset: its index and its rows ``start:stop``."""

    index: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        """How many rows it holds."""
        return self.stop - self.start


def partitions(count: int, parts: int) -> list[Partition]:
    """``count`` rows in ``parts`` contiguous partitions of sizes differing by at most one."""
    if not 1 <= parts <= MAX_PARTITIONS:
        raise UsageError(f"--partitions must be from 1 to {MAX_PARTITIONS}, not {parts}")
    return [Partition(p, p * count // parts, (p + 1) * count // parts) for p in range(parts)]


def partition_name(index: int, extension: str) -> str:
    """``part-00000.parquet``: names that sort in row order."""
    return f"part-{index:05d}.{extension}"


def is_dataset_target(output: str | None) -> bool:
    """Whether ``-o`` names a dataset (a URL, a path ending in ``/``, or a folder)."""
    if output is None or output == "-":
        return False
    return "://" in output or output.endswith(("/", os.sep)) or Path(output).is_dir()


def open_filesystem(url: str) -> tuple[Any, str]:
    """An fsspec filesystem and the path inside it for ``url`` (a local path or a URL)."""
    if url.startswith("s3://"):
        from fsspec.implementations.arrow import ArrowFSWrapper
        from pyarrow import fs

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        options: dict[str, Any] = {}
        if endpoint:
            options["endpoint_override"] = endpoint
            options["scheme"] = "http" if endpoint.startswith("http://") else "https"
        if region:
            options["region"] = region
        return ArrowFSWrapper(fs.S3FileSystem(**options)), url[len("s3://") :].rstrip("/")
    import fsspec

    filesystem, path = fsspec.core.url_to_fs(url)
    return filesystem, path.rstrip("/") or path


def write_partition(
    schema: Schema,
    destination: str,
    *,
    count: int,
    seed: int,
    parts: int,
    index: int,
    format_name: str,
    options: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """Write partition ``index`` of ``parts`` to ``destination``; its file name and row count."""
    import io

    fmt = get_plugins().format(format_name)
    part = partitions(count, parts)[index]
    filesystem, root = open_filesystem(destination)
    name = partition_name(index, fmt.extension)
    target = f"{root}/{name}"
    if _is_local(filesystem):
        # The one atomic write: a partition is whole or absent, also after a crash.
        with atomic_writer(target) as raw:
            # Buffered: pyarrow writers and the text formats write in small pieces.
            stream = io.BufferedWriter(raw, buffer_size=1 << 20)
            _write_rows(schema, stream, part, count, seed, fmt, options or {})
            stream.flush()
    else:
        with filesystem.open(target, "wb") as raw:
            _write_rows(schema, raw, part, count, seed, fmt, options or {})
    return name, part.rows


def _is_local(filesystem: Any) -> bool:
    protocol = filesystem.protocol
    return "file" in (protocol if isinstance(protocol, tuple | list) else (protocol,))


def _rows(schema: Schema, part: Partition, count: int, seed: int) -> Iterator[list[list[str]]]:

    left = part.rows
    if not left:
        return
    for batch in generate_table(schema, count, seed, start=part.start):
        if len(batch[0]) >= left:
            yield [column[:left] for column in batch]
            return
        left -= len(batch[0])
        yield batch


def _write_rows(
    schema: Schema,
    stream: Any,
    part: Partition,
    count: int,
    seed: int,
    fmt: Any,
    options: Mapping[str, str],
) -> None:

    by_name = {c.name: c for c in schema.columns}
    typed = [(by_name[n].type, by_name[n].generator) for n in schema.names]
    writer = open_writer(fmt, stream, schema.names, options, typed)
    try:
        for batch in _rows(schema, part, count, seed):
            writer.write(batch)
    except BaseException:
        # Finish the writer (its file is deleted by the caller) so that it
        # does not try to write its footer later to a closed stream.
        with contextlib.suppress(Exception):
            writer.close()
        raise
    writer.close()


def write_dataset(
    schema: Schema,
    destination: str,
    *,
    count: int,
    seed: int,
    parts: int,
    format_name: str,
    options: Mapping[str, str] | None = None,
) -> list[tuple[str, int]]:
    """Write every partition in this process, in order (the engine without Dask)."""
    return [
        write_partition(
            schema,
            destination,
            count=count,
            seed=seed,
            parts=parts,
            index=p,
            format_name=format_name,
            options=options,
        )
        for p in range(parts)
    ]


def default_partitions(count: int, workers: int) -> int:
    """A partition count for ``count`` rows: about 1M rows each, at least 2 per worker."""
    return max(1, min(MAX_PARTITIONS, max(2 * workers, -(-count // 1_000_000))))
