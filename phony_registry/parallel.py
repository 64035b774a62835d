"""One model's values written as bytes, by one process or ``--jobs N``, the same bytes.

Generation is defined chunk by chunk (docs/format.md, "Generation"): chunk
``k`` holds exactly ``CHUNK_ROWS`` values (the accepted rows of its main
block of ``CHUNK_ROWS`` rows, then of refill blocks) that depend only on
(model, seed, k), and the output is chunks 0, 1, 2, ... in order, cut at
``count``: chunk ``k`` is values ``k * CHUNK_ROWS`` onwards.

Text without strings: for txt, csv and jsonl the values come from
:meth:`Model.iter_text` as UTF-8 lines built straight from the walk (no
Python string per value); csv writes them as they are unless a value needs
quotes (a comma, a quote, an empty value), jsonl puts each between its
object's opening and closing bytes unless one needs escaping; then that
batch goes through the format's writer as strings. Either way the bytes
are the writer's.

``--jobs N``: worker ``w`` (a forked process) walks whole chunks ``w``,
``w + N``, ... (the last one only as far as ``count``) and formats them
itself, leaving the bytes in a mapping shared with the parent (a few slots
per worker) and a 24-byte header in its pipe; the parent takes the
workers' chunks in turn and hands them on in chunk order. No queue, no
pickling and no threads: the parent's share of the CPU is copying and
writing the bytes.
The output is byte-identical to one process's for any N, because every
format used here writes one line per value and the same bytes for a value
whatever the batch around it: ``txt``, ``csv`` (the header written once, by
the parent) and ``jsonl``.

Workers are forked (the loaded model is shared copy-on-write, no start-up
cost); where ``fork`` is not available, and for ``--unique`` or other
formats, generation stays in one process.
"""

from __future__ import annotations

import contextlib
import io
import json
import mmap
import os
import signal
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from phony_registry.errors import GenerationError

if TYPE_CHECKING:
    from phony_registry.model import Model
    from phony_registry.outputs import OutputFormat

__all__ = ["LINE_FORMATS", "can_parallelise", "format_lines", "parallel_bytes", "writes_bytes"]

#: Formats whose output is one line per value, the same bytes whatever the batches,
#: with the options a worker adds (the parent writes the csv header once).
LINE_FORMATS: dict[str, dict[str, str]] = {"txt": {}, "csv": {"header": "false"}, "jsonl": {}}
# At most this many bytes a slot of the shared buffer (a larger chunk goes
# through the result pipe): two bytes a character covers nearly every model.
_SLOT_LIMIT = 16 << 20
# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# Chunks in flight per worker: enough to keep every worker busy while the
# parent writes, few enough that memory stays a few chunks per worker.
_AHEAD = 4


def can_parallelise(model: Model, format_name: str, *, unique: bool) -> bool:
    """Whether ``--jobs`` can split this run across processes."""
    return format_name in LINE_FORMATS and not unique and hasattr(os, "fork")


def writes_bytes(model: Model, format_name: str, *, unique: bool) -> bool:
    """Whether this run's values can go to the output as bytes (:func:`parallel_bytes`)."""
    if format_name not in LINE_FORMATS or unique or not model.writes_text:
        return False
    from phony_registry import outputs
    from phony_registry.plugins import get_plugins

    # Only phony's own writers: the bytes are what they would write.
    return get_plugins().format(format_name) in (outputs.TXT, outputs.CSV, outputs.JSONL)


def format_lines(
    fmt: OutputFormat,
    data: bytes,
    count: int,
    names: Sequence[str],
    options: Mapping[str, str],
) -> bytes:
    """What ``fmt``'s writer writes for ``count`` values given as UTF-8 lines (no header).

    txt writes the lines; csv too when no value needs quotes; jsonl wraps
    each when none needs escaping. Otherwise the values go through the
    writer as strings (it formats each value on its own, so a batch written
    this way is the same bytes as in any other batch).
    """
    if not count:
        return b""
    if fmt.name == "txt":
        return data
    if fmt.name == "csv":
        if b"," not in data and b'"' not in data and data[:1] != b"\n" and b"\n\n" not in data:
            return data
    elif fmt.name == "jsonl" and b'"' not in data and b"\\" not in data:
        import numpy as np

        if np.count_nonzero(np.frombuffer(data, dtype=np.uint8) < 32) == count:
            encode = json.JSONEncoder(ensure_ascii=False).encode
            head = ("{" + encode(names[0]) + ': "').encode("utf-8")
            tail = b'"}'
            return head + data[:-1].replace(b"\n", tail + b"\n" + head) + tail + b"\n"
    buffer = io.BytesIO()
    writer = fmt.open(buffer, names, {**options, **LINE_FORMATS[fmt.name]})
    writer.write([data.decode("utf-8").split("\n")[:-1]])
    writer.close()
    return buffer.getvalue()


def _worker_start() -> None:
    """In a worker: keep freed memory for the next chunk instead of mapping it afresh.

    Each chunk allocates a few MB of arrays. A forked worker's glibc malloc
    served them with fresh mappings, page-faulting every page each time
    (about 2,700 faults a chunk: 40 % more CPU than the same walk in one
    process); raising the mmap and trim thresholds lets it reuse its heap.
    Elsewhere (no glibc) this does nothing.
    """
    import ctypes

    try:
        # The process's own symbols (libc among them): no ctypes.util.find_library,
        # which runs ldconfig in a subprocess.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, 16 << 20)
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)


def _chunk_bytes(
    model: Model,
    seed: int,
    index: int,
    limit: int,
    fmt: OutputFormat,
    names: Sequence[str],
    options: Mapping[str, str],
) -> tuple[list[bytes], int]:
    """The first ``limit`` values of chunk ``index`` formatted (in parts), and their number."""
    parts: list[bytes] = []
    count = 0
    if model.writes_text:
        for lines in model._chunk_values(seed, index, limit, model._walk_text):
            parts.append(format_lines(fmt, lines.data, lines.count, names, options))
            count += lines.count
    else:
        buffer = io.BytesIO()
        writer = fmt.open(buffer, names, options)
        for values in model._chunk_values(seed, index, limit, model._walk):
            writer.write([values])
            count += len(values)
        writer.close()
        parts.append(buffer.getvalue())
    return parts, count


# What a worker sends the parent for each chunk, in chunk order: a header
# (kind, size, count), then ``size`` bytes for the last two kinds.
_HEADER = struct.Struct("<qqq")
_IN_SLOT, _IN_PIPE, _FAILED = 0, 1, 2


def _serve(
    worker: int,
    jobs: int,
    chunks: int,
    count: int,
    report: int,
    freed: int,
    run: tuple[Model, int, OutputFormat, Sequence[str], Mapping[str, str]],
    shared: mmap.mmap,
    slot_size: int,
) -> None:
    """A worker's whole life: chunks ``worker``, ``worker + jobs``, ... in order.

    Each chunk's bytes go into the worker's next slot (``_AHEAD`` of them,
    used in turn) and its header down ``report``; before reusing a slot the
    worker waits for the parent's byte on ``freed`` saying it has written
    the chunk that was there. A chunk too large for a slot follows its
    header down the pipe; a chunk that fails sends its message and ends the
    worker.
    """
    from phony_registry.model import CHUNK_ROWS

    with open(report, "wb", buffering=0) as out, open(freed, "rb", buffering=0) as back:
        for turn, index in enumerate(range(worker, chunks, jobs)):
            limit = min(CHUNK_ROWS, count - index * CHUNK_ROWS)
            try:
                parts, n = _chunk_bytes(run[0], run[1], index, limit, *run[2:])
            except Exception as exc:  # the parent raises it as the run's error
                text = (
                    str(exc) if isinstance(exc, GenerationError) else f"{type(exc).__name__}: {exc}"
                )
                message = text.encode("utf-8")
                out.write(_HEADER.pack(_FAILED, len(message), 0) + message)
                return
            if turn >= _AHEAD and not back.read(1):
                return  # the parent is gone
            size = sum(map(len, parts))
            if size > slot_size:
                out.write(_HEADER.pack(_IN_PIPE, size, n))
                for part in parts:
                    out.write(part)
                continue
            start = _slot(worker, turn, slot_size)
            for part in parts:
                shared[start : start + len(part)] = part
                start += len(part)
            out.write(_HEADER.pack(_IN_SLOT, size, n))


def _read_exactly(fd: int, size: int) -> bytes:
    """``size`` bytes from a worker's pipe; fewer only if it ended."""
    data = bytearray()
    while len(data) < size:
        part = os.read(fd, min(size - len(data), 1 << 20))
        if not part:
            break
        data += part
    return bytes(data)


def parallel_bytes(
    model: Model,
    *,
    count: int,
    seed: int,
    jobs: int,
    fmt: OutputFormat,
    options: Mapping[str, str],
) -> Iterator[bytes]:
    """The body of the output of ``count`` values (no csv header), made by ``jobs`` processes.

    The caller writes the header (if any) and these bytes in order; see the
    module docstring for why they equal one process's output. With one job
    (for a model and format :func:`writes_bytes` accepts) the values are made
    here, chunk after chunk, as :meth:`Model.iter_text` gives them.
    """
    from phony_registry.model import CHUNK_ROWS

    if count <= 0:
        return
    names = [model.column_name]
    # Every chunk holds CHUNK_ROWS values: exactly this many chunks, the last
    # one cut at count; worker w makes chunks w, w + jobs, ...
    chunks = -(-count // CHUNK_ROWS)
    jobs = min(jobs, chunks)
    if jobs == 1 and model.writes_text:
        if chunks > 1:
            # As in a worker: each chunk's main and refill walks allocate and
            # free a few MB, which glibc otherwise hands back and faults in
            # again (twice the page faults of a walk per chunk, 5 % of the time).
            _worker_start()
        for lines in model._iter_lines(count, seed):
            yield format_lines(fmt, lines.data, lines.count, names, options)
        return
    run = (model, seed, fmt, names, {**options, **LINE_FORMATS[fmt.name]})
    # The workers put a chunk's bytes in a mapping shared with this process
    # (an anonymous shared mapping the fork inherits), _AHEAD slots a
    # worker, rather than send them through a pipe.
    slot_size = min(CHUNK_ROWS * (2 * model.max_length + 8), _SLOT_LIMIT)
    shared = mmap.mmap(-1, jobs * _AHEAD * slot_size)
    workers: dict[int, tuple[int, int, int]] = {}  # (pid, report, freed) of each worker
    try:
        for worker in range(jobs):
            workers[worker] = _fork(worker, jobs, chunks, count, run, shared, slot_size, workers)
        for index in range(chunks):
            worker, turn = index % jobs, index // jobs
            limit = min(CHUNK_ROWS, count - index * CHUNK_ROWS)
            pid, report, freed = workers[worker]
            header = _read_exactly(report, _HEADER.size)
            if len(header) < _HEADER.size:
                raise GenerationError(f"the process making chunk {index} of the values ended")
            kind, size, n = _HEADER.unpack(header)
            if kind == _FAILED:
                raise GenerationError(_read_exactly(report, size).decode("utf-8", "replace"))
            if n != limit:  # pragma: no cover
                raise GenerationError(f"chunk {index} gave {n} values")
            if kind == _IN_PIPE:
                yield _read_exactly(report, size)
            else:
                start = _slot(worker, turn, slot_size)
                yield shared[start : start + size]  # a copy: a few microseconds
            if turn + _AHEAD < len(range(worker, chunks, jobs)):
                os.write(freed, b"\0")  # that slot is free again
    finally:
        for pid, report, freed in workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # a no-op for one that has finished
            with contextlib.suppress(ChildProcessError):  # reaped already (SIGCHLD ignored)
                os.waitpid(pid, 0)
            os.close(report)
            os.close(freed)
        shared.close()


def _slot(worker: int, turn: int, slot_size: int) -> int:
    """Where in the shared mapping worker ``worker`` puts the chunk of its turn."""
    return (worker * _AHEAD + turn % _AHEAD) * slot_size


def _fork(
    worker: int,
    jobs: int,
    chunks: int,
    count: int,
    run: tuple[Model, int, OutputFormat, Sequence[str], Mapping[str, str]],
    shared: mmap.mmap,
    slot_size: int,
    others: Mapping[int, tuple[int, int, int]],
) -> tuple[int, int, int]:
    """Start one worker (:func:`_serve`); its pid and the parent's ends of its two pipes.

    The worker closes the parent's ends of the ``others``' pipes, so that a
    worker sees the end of its own pipe when the parent is gone.
    """
    report_r, report_w = os.pipe()
    freed_r, freed_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns into the parent's code
        finished = False
        try:
            for fd in (report_r, freed_w, *(fd for _, *ends in others.values() for fd in ends)):
                os.close(fd)
            _worker_start()
            _serve(worker, jobs, chunks, count, report_w, freed_r, run, shared, slot_size)
            finished = True
        finally:  # the parent reports a worker that ends early
            os._exit(0 if finished else 1)
    os.close(report_w)
    os.close(freed_r)
    return pid, report_r, freed_w
