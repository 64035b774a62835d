"""Datasets: a table written as one file per partition, to a folder or an object store.

``phony generate --schema ... -o DEST/ --partitions N`` (and ``--engine dask``)
splits the rows ``0..count-1`` into ``N`` contiguous partitions; partition
``p`` holds rows ``p*count//N`` to ``(p+1)*count//N - 1`` and is written as
``DEST/part-PPPPP.EXT`` (``part-00000.parquet``, ...), so the files sort in
row order. A partition is a function of (schema, count, seed, N, p, format,
options) only: the rows are those of the whole table
(:func:`phony_registry.schema.generate_table` with ``start``), and the bytes
do not depend on which process, machine or engine writes them, nor on the
order partitions finish in. Without ``--partitions`` the number of
partitions depends on the count alone (:func:`default_partitions`), never on
the engine or the cluster.

A dataset is replaced as a whole, and only on success. A run writes each
partition under a hidden temporary name in the destination,
``.part-PPPPP.EXT.RUN.tmp`` (``RUN``: 16 random hex digits per run;
readers of ``DEST/*.parquet`` and Hive-style readers skip it); writing a
partition again within the run (a retried task) replaces that file with the
same bytes, never adds rows. Only when every partition is written does
:func:`commit` rename them to their names and then remove the part files of
an earlier dataset that the new one does not have: files named as phony
names parts (``part-`` five digits ``.EXT``, ``EXT`` a registered format's
extension) and temporary files an earlier, killed run left; any other file
stays. A run that fails or is interrupted removes its own temporary files
(:func:`discard`) and leaves the earlier dataset as it was. A local folder
is written by one run at a time (:func:`hold`); a second fails at once.

Destinations are local paths or fsspec URLs. A local partition is written
through :func:`phony_registry._fs.atomic_writer` (whole or absent, flushed
to disk) and renamed into place with ``os.replace``. ``s3://`` goes through
pyarrow's S3 filesystem wrapped for fsspec (credentials the standard AWS
way: environment, shared files, instance roles; ``AWS_ENDPOINT_URL_S3`` or
``AWS_ENDPOINT_URL`` for an S3-compatible endpoint), so no s3fs and
aiobotocore are needed beside boto3. An object appears only when its upload
completes; an object store has no rename, so :func:`commit` moves each
temporary object into place (a server-side copy, then a delete): quick, but
a reader listing the prefix during the commit can see a mix of old and new.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_registry._fs import atomic_writer, fsync_folder
from phony_registry.errors import PhonyError, UsageError
from phony_registry.outputs import open_writer
from phony_registry.plugins import get_plugins
from phony_registry.schema import generate_table

if TYPE_CHECKING:
    from phony_registry.schema import Schema

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "MAX_PARTITIONS",
    "Partition",
    "ROWS_PER_PARTITION",
    "check_destination",
    "commit",
    "default_partitions",
    "discard",
    "hold",
    "is_dataset_target",
    "new_run",
    "open_filesystem",
    "partition",
    "partition_error",
    "partition_name",
    "partitions",
    "write_dataset",
    "write_partition",
]

#: Most partitions a dataset may have (file names have five digits).
MAX_PARTITIONS = 100_000

#: Rows per partition when ``--partitions`` is not given.
ROWS_PER_PARTITION = 1_000_000

#: A part file as phony names it (the extension is checked against the formats).
_PART = re.compile(r"part-\d{5}\.([A-Za-z0-9]+)")

#: A temporary part file of a run: ``.part-00000.csv.RUN.tmp``, or the
#: atomic writer's own temporary file beside it, ``.part-00000.csv.RUN.HEX8.tmp``.
_TEMP = re.compile(r"\.part-\d{5}\.[A-Za-z0-9]+\.([0-9a-f]{16})(?:\.[0-9a-f]{8})?\.tmp")


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


def _check_parts(parts: int) -> None:
    if not 1 <= parts <= MAX_PARTITIONS:
        raise UsageError(f"--partitions must be from 1 to {MAX_PARTITIONS}, not {parts}")


def partition(count: int, parts: int, index: int) -> Partition:
    """Partition ``index`` of ``count`` rows in ``parts`` (see :func:`partitions`), in O(1)."""
    _check_parts(parts)
    if not 0 <= index < parts:
        raise IndexError(f"partition {index} of {parts}")
    return Partition(index, index * count // parts, (index + 1) * count // parts)


def partitions(count: int, parts: int) -> list[Partition]:
    """``count`` rows in ``parts`` contiguous partitions of sizes differing by at most one."""
    _check_parts(parts)
    return [Partition(p, p * count // parts, (p + 1) * count // parts) for p in range(parts)]


def default_partitions(count: int) -> int:
    """How many partitions ``count`` rows get without ``--partitions``: about
    :data:`ROWS_PER_PARTITION` rows each. It depends on the count only, so the
    same command writes the same files on any engine and any cluster."""
    return max(1, min(MAX_PARTITIONS, -(-count // ROWS_PER_PARTITION)))


def partition_name(index: int, extension: str) -> str:
    """``part-00000.parquet``: names that sort in row order."""
    return f"part-{index:05d}.{extension}"


def new_run() -> str:
    """A fresh run id, naming the temporary files of one run."""
    return secrets.token_hex(8)


def _temporary_name(name: str, run: str) -> str:
    return f".{name}.{run}.tmp"


def is_dataset_target(output: str | None) -> bool:
    """Whether ``-o`` names a dataset (a URL, a path ending in ``/``, or a folder)."""
    if not output or output == "-":
        return False
    return "://" in output or output.endswith(("/", os.sep)) or Path(output).is_dir()


def _local_root(destination: str) -> str | None:
    """The folder a local destination names (``file://`` too), or None for another URL."""
    if destination.startswith("file://"):
        destination = destination[len("file://") :]
    elif "://" in destination:
        return None
    return destination.rstrip("/" + os.sep) or destination[:1] or "."


def open_filesystem(url: str) -> tuple[Any, str]:
    """An fsspec filesystem and the path inside it for ``url`` (a local path or a URL).

    An unknown protocol, or one whose fsspec package is missing, is a
    :class:`~phony_registry.errors.UsageError` naming it.
    """
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

    _filesystem_class(url, load=True)
    filesystem, path = fsspec.core.url_to_fs(url)
    return filesystem, path.rstrip("/") or path


def _filesystem_class(url: str, *, load: bool) -> None:
    """Fail with one usage line when fsspec does not know ``url``'s protocol or,
    with ``load``, when the package implementing it is not installed."""
    protocol = url.split("://", 1)[0]
    if protocol in ("s3", "file", "local"):
        return
    from fsspec.registry import known_implementations, registry

    if protocol not in known_implementations and protocol not in registry:
        raise UsageError(
            f"-o {url}: unknown storage protocol {protocol}:// (s3://, gs://, abfs://... "
            "or a local folder)"
        )
    if not load:
        return
    import fsspec

    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        package = known_implementations.get(protocol, {}).get("class", protocol).split(".")[0]
        raise UsageError(
            f"-o {url} needs {package}, which is not installed: pip install {package}"
        ) from exc


def check_destination(destination: str, *, here: bool = True) -> None:
    """Fail before any partition is written when ``destination`` cannot hold a dataset.

    A URL needs a protocol fsspec knows and, when this machine writes it
    (``here``), that protocol's package. A local folder (checked only
    ``here``) must be a folder, or not exist yet under a folder.
    """
    root = _local_root(destination)
    if root is None:
        _filesystem_class(destination, load=here)
        return
    if not here:
        return
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise UsageError(
            f"-o {destination}: {root} is a file, not a folder; a dataset is one file "
            "per partition in a folder: give -o DEST/"
        )
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), destination)
            break


@contextlib.contextmanager
def hold(destination: str) -> Iterator[None]:
    """Hold a local ``destination`` folder for one run (created if missing).

    A second run writing the same folder meanwhile would take the first
    one's temporary files for an earlier killed run's and remove them at
    its commit; it fails at once instead, with a
    :class:`~phony_registry.errors.UsageError`. The hold is an advisory lock
    (``flock``) on the folder itself, so it leaves no file behind and ends
    with the process. An object store has no such lock: one run at a time
    per prefix is then up to the user (see docs/generating.md).
    """
    local = _local_root(destination)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        local = None
    if local is None:
        yield
        return
    Path(local).mkdir(parents=True, exist_ok=True)
    fd = os.open(local, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"-o {destination}: another phony run is writing this dataset now; "
                "run again when it has finished"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


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
    run: str | None = None,
) -> tuple[str, int]:
    """Write partition ``index`` of ``parts`` to ``destination``; its file name and row count.

    With ``run`` the file gets the run's temporary name, for :func:`commit`
    to rename; without, it replaces ``part-PPPPP.EXT`` itself.
    """
    import io

    fmt = get_plugins().format(format_name)
    part = partition(count, parts, index)
    name = partition_name(index, fmt.extension)
    stored = name if run is None else _temporary_name(name, run)
    local = _local_root(destination)
    if local is not None:
        # The one atomic write: a partition is whole or absent, also after a crash.
        prefix = None if run is None else f".{name}.{run}."
        with atomic_writer(f"{local}/{stored}", temp_prefix=prefix) as raw:
            # Buffered: pyarrow writers and the text formats write in small pieces.
            stream = io.BufferedWriter(raw, buffer_size=1 << 20)
            _write_rows(schema, stream, part, count, seed, fmt, options or {})
            stream.flush()
        return name, part.rows
    filesystem, root = open_filesystem(destination)
    target = f"{root}/{stored}"
    try:
        with filesystem.open(target, "wb") as raw:
            _write_rows(schema, raw, part, count, seed, fmt, options or {})
    except BaseException:
        # Closing the stream may have completed the upload of what was written.
        with contextlib.suppress(Exception):
            filesystem.rm(target)
        raise
    return name, part.rows


def commit(destination: str, names: Sequence[str], run: str) -> None:
    """Put the run's partitions ``names`` in place and remove what is left of an
    earlier dataset: its part files the run did not write, and old temporary files."""
    keep = set(names)
    extensions = {fmt.extension for fmt in get_plugins().formats.values()}

    def stale(base: str) -> bool:
        part = _PART.fullmatch(base)
        if part is not None:
            return base not in keep and part[1] in extensions
        return _TEMP.fullmatch(base) is not None

    local = _local_root(destination)
    if local is not None:
        folder = Path(local)
        # A folder in the way would stop the renames half-way: check them all first.
        for name in names:
            if (folder / name).is_dir() and not (folder / name).is_symlink():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(folder / name))
        for name in names:
            (folder / _temporary_name(name, run)).replace(folder / name)
        with os.scandir(folder) as entries:
            old = [e.path for e in entries if stale(e.name) and not e.is_dir(follow_symlinks=False)]
        for path in old:
            Path(path).unlink(missing_ok=True)
        fsync_folder(folder)
        return
    filesystem, root = open_filesystem(destination)
    for name in names:
        filesystem.mv(f"{root}/{_temporary_name(name, run)}", f"{root}/{name}")
    for path in _listing(filesystem, root):
        if stale(path.rsplit("/", 1)[-1]):
            filesystem.rm(path)


def discard(destination: str, run: str) -> None:
    """Remove the temporary files of ``run`` (a failed or interrupted run); best effort."""

    def ours(base: str) -> bool:
        temp = _TEMP.fullmatch(base)
        return temp is not None and temp[1] == run

    local = _local_root(destination)
    if local is not None:
        try:
            with os.scandir(local) as entries:
                found = [e.path for e in entries if ours(e.name)]
        except OSError:
            return
        for path in found:
            with contextlib.suppress(OSError):
                Path(path).unlink()
        return
    with contextlib.suppress(Exception):
        filesystem, root = open_filesystem(destination)
        for path in _listing(filesystem, root):
            if ours(path.rsplit("/", 1)[-1]):
                with contextlib.suppress(Exception):
                    filesystem.rm(path)


def _listing(filesystem: Any, root: str) -> list[str]:
    """The files directly under ``root`` (none when it does not exist yet)."""
    try:
        entries = filesystem.ls(root, detail=True)
    except FileNotFoundError:
        return []
    return [e["name"] for e in entries if e.get("type") != "directory"]


def partition_error(exc: BaseException, index: int, destination: str) -> BaseException:
    """The error to report for partition ``index`` having raised ``exc``, naming the
    partition: phony's own errors keep their class (a usage error is left as it
    is), an I/O error becomes a :class:`PhonyError` naming the destination rather
    than a temporary file, and any other error (a bug) gets the partition in its message."""
    where = f"partition {index} of {destination}"
    if isinstance(exc, UsageError):
        return exc  # about the command, not the partition
    if isinstance(exc, PhonyError):
        if not exc.message.startswith("partition "):
            exc.message = f"{where}: {exc.message}"
        return exc
    if isinstance(exc, OSError):
        return PhonyError(f"{where} could not be written: {exc.strerror or exc}")
    if isinstance(exc, Exception) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        exc.args = (f"{where}: {exc.args[0]}",)  # a bug: its report names the partition too
    return exc


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
    writer = open_writer(fmt, stream, schema.names, options, typed, rows=count)
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
    """Write every partition in this process, in order (the engine without Dask),
    replacing an earlier dataset at ``destination`` only once all are written."""
    _check_parts(parts)
    run = new_run()
    written: list[tuple[str, int]] = []
    with hold(destination):
        try:
            for index in range(parts):
                try:
                    written.append(
                        write_partition(
                            schema,
                            destination,
                            count=count,
                            seed=seed,
                            parts=parts,
                            index=index,
                            format_name=format_name,
                            options=options,
                            run=run,
                        )
                    )
                except Exception as exc:
                    reported = partition_error(exc, index, destination)
                    if reported is exc:
                        raise
                    raise reported from exc
            commit(destination, [name for name, _ in written], run)
        except BaseException:
            discard(destination, run)
            raise
    return written
