"""``--jobs N``: one model's values made by N processes are the bytes one process writes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from phony_client.cli.generate import write_values
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


@pytest.mark.parametrize("count", [0, 1, 17, CHUNK_ROWS])
def test_small_and_exact_counts(count: int) -> None:
    assert _written(count, 2, "txt", seed=9) == _written(count, 1, "txt", seed=9)


def test_what_cannot_be_split_stays_in_one_process() -> None:
    assert can_parallelise(MODEL, "txt", unique=False)
    assert not can_parallelise(MODEL, "txt", unique=True)
    assert not can_parallelise(MODEL, "json", unique=False)  # one array: not line by line
    excluded = train(read_values(SAMPLE), name="n", order=4, exclude_originals=True)
    assert not can_parallelise(excluded, "txt", unique=False)
    # and those runs still give their one-process output
    out = io.BytesIO()
    write_values(MODEL, out, count=500, seed=1, format_name="json", jobs=2)
    reference = io.BytesIO()
    write_values(MODEL, reference, count=500, seed=1, format_name="json")
    assert out.getvalue() == reference.getvalue()
