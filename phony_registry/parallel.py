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

``--jobs N``: each worker process walks whole chunks (the last one only as
far as ``count``) and formats them itself, leaving the bytes in a mapping
shared with the parent (a slot per chunk in flight); the parent only writes
them in chunk order. The output is byte-identical to one process's
for any N, because every format used here writes one line per value and
the same bytes for a value whatever the batch around it: ``txt``, ``csv``
(the header written once, by the parent) and ``jsonl``.

Workers are forked (the loaded model is shared copy-on-write, no start-up
cost); where ``fork`` is not available, and for ``--unique``, exclusion
lists or other formats, generation stays in one process.
"""

from __future__ import annotations

import io
import json
import mmap
import multiprocessing
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

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

_state: dict[str, Any] = {}


def can_parallelise(model: Model, format_name: str, *, unique: bool) -> bool:
    """Whether ``--jobs`` can split this run across processes."""
    return (
        format_name in LINE_FORMATS
        and not unique
        and model.exclude is None
        and "fork" in multiprocessing.get_all_start_methods()
    )


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
    """Pool initializer: keep freed memory for the next chunk instead of mapping it afresh.

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


def _chunk(index: int, limit: int) -> tuple[bytes | None, int, int]:
    """Worker: the first ``limit`` values of chunk ``index`` formatted, their size and number.

    The bytes go into the chunk's slot of the shared buffer when they fit
    (``None`` is returned in their place), else through the result pipe.
    """
    model, seed, fmt, names, options = (
        _state["model"],
        _state["seed"],
        _state["format"],
        _state["names"],
        _state["options"],
    )
    parts: list[bytes] = []
    count = 0
    if _state["text"]:
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
    shared, size = _state["shared"], _state["slot_size"]
    total = sum(map(len, parts))
    if total > size:
        return b"".join(parts), total, count
    # The main block's bytes, then the refills', one after the other in the slot.
    start = (index % _state["slots"]) * size
    for part in parts:
        shared[start : start + len(part)] = part
        start += len(part)
    return None, total, count


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
    if jobs == 1:
        if count > CHUNK_ROWS:
            # As in a worker: each chunk's main and refill walks allocate and
            # free a few MB, which glibc otherwise hands back and faults in
            # again (twice the page faults of a walk per chunk, 5 % of the time).
            _worker_start()
        for lines in model._iter_lines(count, seed):
            yield format_lines(fmt, lines.data, lines.count, names, options)
        return
    _state.update(
        model=model,
        seed=seed,
        format=fmt,
        names=names,
        options={**options, **LINE_FORMATS[fmt.name]},
        text=model.writes_text and fmt.name in LINE_FORMATS,
    )
    # Every chunk holds CHUNK_ROWS values: exactly this many chunks, the last
    # one cut at count. A worker raises GenerationError (given up, as one
    # process does) when its chunk's values are too hard to come by.
    chunks = -(-count // CHUNK_ROWS)
    context = multiprocessing.get_context("fork")
    produced = 0
    # Workers put a chunk's bytes in a buffer shared with the parent (an
    # anonymous shared mapping the fork inherits), one slot per chunk in
    # flight, rather than pickle them through a pipe: chunk i uses slot
    # i % slots, free again once the parent has written chunk i.
    slots = jobs * _AHEAD
    slot_size = min(CHUNK_ROWS * (2 * model.max_length + 8), _SLOT_LIMIT)
    shared = mmap.mmap(-1, slots * slot_size)
    _state.update(shared=shared, slots=slots, slot_size=slot_size)
    try:
        with context.Pool(jobs, initializer=_worker_start) as pool:
            pending: deque[Any] = deque()
            following = 0
            try:
                while produced < count:
                    while len(pending) < slots and following < chunks:
                        limit = min(CHUNK_ROWS, count - following * CHUNK_ROWS)
                        pending.append((following, pool.apply_async(_chunk, (following, limit))))
                        following += 1
                    index, task = pending.popleft()
                    data, size, n = task.get()
                    if data is None:  # in its slot (copied out: a few microseconds)
                        start = (index % slots) * slot_size
                        data = shared[start : start + size]
                    if n != min(CHUNK_ROWS, count - produced):  # pragma: no cover
                        raise GenerationError(f"chunk {index} gave {n} values")
                    yield data
                    produced += n
            finally:
                # Chunks walked ahead are not needed, but a worker terminated
                # while sending one would leave the result queue locked (and
                # the pool's shutdown waiting on it forever): let them finish.
                for _, task in pending:
                    task.wait()
                pool.close()
                pool.join()
    finally:
        _state.clear()
        shared.close()
