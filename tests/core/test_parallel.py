"""``--jobs N``: one model's values made by N processes are the bytes one process writes."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from phony_client.cli.generate import write_values
from phony_registry.errors import GenerationError
from phony_registry.model import CHUNK_ROWS
from phony_registry.ngram import read_values, train
from phony_registry.parallel import can_parallelise

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"
MODEL = train(read_values(SAMPLE), name="names", order=4, kind="first_name")


def _written(count: int, jobs: int, format_name: str, seed: int = 3) -> bytes:
    out = io.BytesIO()
    write_values(MODEL, out, count=count, seed=seed, format_name=format_name, jobs=jobs)
    return out.getvalue()


@pytest.mark.parametrize("format_name", ["txt", "csv", "jsonl"])
def test_any_number_of_jobs_writes_the_same_bytes(format_name: str) -> None:
    count = 2 * CHUNK_ROWS + 1234  # three chunks, the last one cut
    one = _written(count, 1, format_name)
    assert _written(count, 2, format_name) == one
    assert _written(count, 3, format_name) == one
    lines = one.count(b"\n")
    assert lines == count + (format_name == "csv")


def test_a_model_that_excludes_its_training_values_splits_too() -> None:
    excluded = train(read_values(SAMPLE), name="n", order=4, exclude_originals=True)
    assert can_parallelise(excluded, "txt", unique=False)
    count = 3 * CHUNK_ROWS + 5
    one = io.BytesIO()
    write_values(excluded, one, count=count, seed=2, jobs=1)
    two = io.BytesIO()
    write_values(excluded, two, count=count, seed=2, jobs=2)
    assert two.getvalue() == one.getvalue()
    values = one.getvalue().decode().split("\n")[:-1]
    assert values == excluded.generate(count, 2)
    assert not set(values) & set(read_values(SAMPLE))


@pytest.mark.parametrize("count", [0, 1, 17, CHUNK_ROWS])
def test_small_and_exact_counts(count: int) -> None:
    assert _written(count, 2, "txt", seed=9) == _written(count, 1, "txt", seed=9)


def test_what_cannot_be_split_stays_in_one_process() -> None:
    assert can_parallelise(MODEL, "txt", unique=False)
    assert not can_parallelise(MODEL, "txt", unique=True)
    assert not can_parallelise(MODEL, "json", unique=False)  # one array: not line by line
    # and those runs still give their one-process output
    out = io.BytesIO()
    write_values(MODEL, out, count=500, seed=1, format_name="json", jobs=2)
    reference = io.BytesIO()
    write_values(MODEL, reference, count=500, seed=1, format_name="json")
    assert out.getvalue() == reference.getvalue()


def _watch_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the workers ``parallel_bytes`` forks from now on."""
    from phony_registry import parallel

    pids: list[int] = []
    fork = parallel._fork

    def recording(*args: object, **kwargs: object) -> tuple[int, int, int]:
        started = fork(*args, **kwargs)  # type: ignore[arg-type]
        pids.append(started[0])
        return started

    monkeypatch.setattr(parallel, "_fork", recording)
    return pids


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True  # ended and reaped
    return False


def test_a_failing_chunk_in_a_worker_is_the_runs_error_and_no_worker_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.hand_models import hand_model

    never_ends = hand_model("a", [[(1, 1, 0)]], max_length=3)
    pids = _watch_forks(monkeypatch)
    with pytest.raises(GenerationError) as one:
        write_values(never_ends, io.BytesIO(), count=5 * CHUNK_ROWS, seed=1, jobs=1)
    with pytest.raises(GenerationError) as two:
        write_values(never_ends, io.BytesIO(), count=5 * CHUNK_ROWS, seed=1, jobs=2)
    assert str(two.value) == str(one.value)  # the worker's message, word for word
    assert len(pids) == 2
    assert all(map(_gone, pids))


def test_a_worker_that_dies_is_an_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    from phony_registry import parallel

    chunk_bytes = parallel._chunk_bytes

    def dies_on_chunk_3(model: object, seed: int, index: int, *rest: object) -> object:
        if index == 3:
            os._exit(3)
        return chunk_bytes(model, seed, index, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "_chunk_bytes", dies_on_chunk_3)
    pids = _watch_forks(monkeypatch)
    out = io.BytesIO()
    with pytest.raises(GenerationError, match="chunk 3 of the values ended"):
        write_values(MODEL, out, count=6 * CHUNK_ROWS, seed=1, jobs=2)
    assert all(map(_gone, pids))
    # what was written before is the first three chunks, as one process writes them
    assert out.getvalue() == _written(3 * CHUNK_ROWS, 1, "txt", seed=1)


def test_an_unexpected_error_in_a_worker_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from phony_registry import parallel

    def broken(*args: object) -> object:
        raise ValueError("something odd")

    monkeypatch.setattr(parallel, "_chunk_bytes", broken)
    with pytest.raises(GenerationError, match=r"^ValueError: something odd$"):
        write_values(MODEL, io.BytesIO(), count=3 * CHUNK_ROWS, seed=1, jobs=2)


def test_stopping_early_ends_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from phony_registry import outputs
    from phony_registry.parallel import parallel_bytes

    pids = _watch_forks(monkeypatch)
    chunks = parallel_bytes(
        MODEL, count=40 * CHUNK_ROWS, seed=1, jobs=2, fmt=outputs.TXT, options={}
    )
    first = next(chunks)
    assert first == _written(CHUNK_ROWS, 1, "txt", seed=1)
    assert len(pids) == 2
    assert not any(map(_gone, pids))  # both still at work
    chunks.close()  # what a consumer that stops (a closed pipe, Ctrl-C) does
    assert all(map(_gone, pids))


def test_one_chunk_needs_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    pids = _watch_forks(monkeypatch)
    assert _written(CHUNK_ROWS, 4, "csv") == _written(CHUNK_ROWS, 1, "csv")
    assert pids == []
    assert _written(CHUNK_ROWS + 1, 4, "csv") == _written(CHUNK_ROWS + 1, 1, "csv")
    assert len(pids) == 2  # two chunks: two workers, not four
