"""Value chunks: value *i* depends only on (seed, i // CHUNK_ROWS), found without earlier chunks.

Chunk ``k`` holds exactly ``CHUNK_ROWS`` values: the accepted rows of its main
block (``spawn_key=(k,)``), then of refill blocks ``(k, 1)``, ``(k, 2)``...,
cut at ``CHUNK_ROWS`` (docs/format.md, "Generation").
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from phony_client.cli.generate import write_values
from phony_registry import dump_model, train
from phony_registry.errors import GenerationError
from phony_registry.format import load_model
from phony_registry.model import CHUNK_ROWS, Model
from tests.hand_models import LONG_WINDED, hand_model

# Ends a value about once in a million steps: (almost) never.
ALMOST_NEVER_ENDS = hand_model("a", [[(1, 1 << 30, 0), (0, 1, 0)]], max_length=3)


def _fresh(model: Model) -> Model:
    """The same model without its caches (no block walked yet)."""
    return model._rebuilt()


@pytest.fixture(scope="module")
def excluding() -> Model:
    """A model trained with --exclude-originals on few names: many rows are rejected."""
    names = ["ana", "anna", "annan", "nanna", "hannah", "anahana", "banana", "nan"]
    return load_model(dump_model(train(names, name="ex", order=2, exclude_originals=True)))


def _definition(model: Model, seed: int, chunk: int) -> list[str]:
    """Chunk ``chunk``'s values from the definition: its blocks' accepted rows, cut."""
    values: list[str] = []
    refill = 0
    while len(values) < CHUNK_ROWS:
        block = (chunk, refill) if refill else chunk
        codepoints, ok = model.walk_codepoints(seed, block, 0, CHUNK_ROWS)
        if model.exclude is not None:
            from phony_registry.model import value_hashes

            ok &= ~model.exclude.contains(value_hashes(codepoints, model.exclude.salt))
        for row in np.flatnonzero(ok).tolist():
            values.append("".join(chr(c) for c in codepoints[row].tolist() if c))
        refill += 1
    return values[:CHUNK_ROWS]


class _Spy:
    """Records the blocks (as (chunk, refill)) and rows every walk of a model goes through."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.blocks: list[tuple[int, int]] = []
        self.rows = 0
        walk_symbols = Model._walk_symbols

        def spied(model: Model, seed: int, chunk: Any, lo: int, hi: int) -> Any:
            self.blocks.append((chunk, 0) if isinstance(chunk, int) else tuple(chunk))
            self.rows += hi - lo
            return walk_symbols(model, seed, chunk, lo, hi)

        monkeypatch.setattr(Model, "_walk_symbols", spied)
        from phony_registry import model as model_module

        walker = model_module._RowsWalker.walk

        def spied_rows(rows_walker: Any, seed: int, chunk: Any, rows: list[int]) -> list[str]:
            self.blocks.append((chunk, 0) if isinstance(chunk, int) else tuple(chunk))
            self.rows += len(rows)
            return walker(rows_walker, seed, chunk, rows)

        monkeypatch.setattr(model_module._RowsWalker, "walk", spied_rows)

    def chunks(self) -> set[int]:
        return {chunk for chunk, _ in self.blocks}


def _window(model: Model, seed: int, start: int, count: int) -> list[str]:
    return [v for batch in model.iter_from(seed, start, count) for v in batch]


def test_a_chunk_is_its_blocks_accepted_rows_cut_at_chunk_rows() -> None:
    model = LONG_WINDED
    whole = model.generate(2 * CHUNK_ROWS + 50, 8)
    chunk0, chunk1 = _definition(model, 8, 0), _definition(model, 8, 1)
    # The main block alone keeps about 37 %: two refill blocks are needed.
    assert len(model._rejected_rows(8, 0)) > CHUNK_ROWS // 2
    assert whole[:CHUNK_ROWS] == chunk0
    assert whole[CHUNK_ROWS : 2 * CHUNK_ROWS] == chunk1
    assert whole[2 * CHUNK_ROWS :] == _definition(model, 8, 2)[:50]


@pytest.mark.parametrize(
    ("index", "seed"), [(5 * CHUNK_ROWS + 123, 3), (7 * CHUNK_ROWS - 5, 4), (3 * CHUNK_ROWS, 9)]
)
def test_a_deep_value_walks_only_its_own_chunk(
    monkeypatch: pytest.MonkeyPatch, index: int, seed: int
) -> None:
    model = _fresh(LONG_WINDED)
    chunk = index // CHUNK_ROWS
    expected = _definition(model, seed, chunk)[index % CHUNK_ROWS :][:3]
    spy = _Spy(monkeypatch)
    assert _window(model, seed, index, 3) == expected
    assert spy.chunks() == {chunk}
    assert model.locate(seed, index)[0][0] == chunk
    # A window across the chunk's end walks that chunk and the next one only.
    spy.blocks.clear()
    end = (chunk + 1) * CHUNK_ROWS
    window = _window(model, seed, end - 40, 100)
    assert spy.chunks() == {chunk, chunk + 1}
    assert (
        window == _definition(model, seed, chunk)[-40:] + _definition(model, seed, chunk + 1)[:60]
    )


def test_random_access_equals_the_sequential_output(monkeypatch: pytest.MonkeyPatch) -> None:
    model = LONG_WINDED
    whole = model.generate(5 * CHUNK_ROWS + 300, 3)
    for start in (0, 17, CHUNK_ROWS - 3, 2 * CHUNK_ROWS + 20_000, 5 * CHUNK_ROWS + 123):
        for count in (1, 5, 177):
            fresh = _fresh(model)
            spy = _Spy(monkeypatch)
            assert _window(fresh, 3, start, count) == whole[start : start + count]
            assert min(spy.chunks()) == start // CHUNK_ROWS
            monkeypatch.undo()


def test_a_deep_value_of_an_excluding_model(
    monkeypatch: pytest.MonkeyPatch, excluding: Model
) -> None:
    model = _fresh(excluding)
    index = 5 * CHUNK_ROWS + 123
    whole = excluding.generate(index + 40, 2)
    spy = _Spy(monkeypatch)
    assert _window(model, 2, index, 40) == whole[index:]
    assert spy.chunks() == {5}
    assert whole[5 * CHUNK_ROWS :] == _definition(excluding, 2, 5)[: 123 + 40]


def test_iter_from_is_a_slice_of_generate_whatever_the_path() -> None:
    model = LONG_WINDED
    whole = model.generate(3 * CHUNK_ROWS, 11)
    text = b"".join(model.iter_text(3 * CHUNK_ROWS, 11))
    assert text == "".join(v + "\n" for v in whole).encode()
    batches = [v for b in model.iter_batches(3 * CHUNK_ROWS, 11, batch_size=9_999) for v in b]
    assert batches == whole
    rows = np.concatenate(list(model._iter_rows(3 * CHUNK_ROWS, 11)))
    assert ["".join(chr(c) for c in r.tolist() if c) for r in rows] == whole


def _written(model: Model, *, count: int, seed: int, jobs: int) -> bytes:
    out = io.BytesIO()
    write_values(model, out, count=count, seed=seed, format_name="txt", jobs=jobs)
    return out.getvalue()


@pytest.mark.parametrize("count", [CHUNK_ROWS - 100, CHUNK_ROWS + 1, 2 * CHUNK_ROWS + 11])
def test_one_and_two_jobs_agree_across_refills(count: int) -> None:
    expected = "".join(v + "\n" for v in _definition(LONG_WINDED, 8, 0))
    expected += "".join(v + "\n" for v in _definition(LONG_WINDED, 8, 1))
    expected += "".join(v + "\n" for v in _definition(LONG_WINDED, 8, 2))
    want = "".join(expected.splitlines(keepends=True)[:count]).encode()
    assert _written(LONG_WINDED, count=count, seed=8, jobs=1) == want
    assert _written(LONG_WINDED, count=count, seed=8, jobs=2) == want


def _walked_until_error(monkeypatch: pytest.MonkeyPatch, run: Any) -> int:
    spy = _Spy(monkeypatch)
    with pytest.raises(GenerationError, match="produced only"):
        run()
    return spy.rows


@pytest.mark.parametrize("count", [10, 3 * CHUNK_ROWS])
def test_a_model_that_almost_never_ends_gives_up_soon(
    monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    model = _fresh(ALMOST_NEVER_ENDS)
    assert model.distinct_values > 0  # not the "cannot produce any value" case
    walked = _walked_until_error(monkeypatch, lambda: model.generate(count, 1))
    # At most the budget, and at most a chunk's blocks: not 32 rows per value
    # of a large count.
    assert walked <= 32 * count + 4 * CHUNK_ROWS + CHUNK_ROWS
    assert walked <= 33 * CHUNK_ROWS
    walked = _walked_until_error(monkeypatch, lambda: _window(_fresh(model), 1, 0, count))
    assert walked <= 33 * CHUNK_ROWS


@pytest.mark.parametrize("count", [10, 3 * CHUNK_ROWS])
def test_two_jobs_give_up_too(count: int) -> None:
    with pytest.raises(GenerationError):
        _written(ALMOST_NEVER_ENDS, count=count, seed=1, jobs=2)


def test_a_table_seeks_to_a_deep_row_walking_its_chunk_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a dataset or Dask partition does: its n-gram column seeks to the first row."""
    from phony_registry.schema import generate_table, parse_schema

    names = ["ana", "anna", "annan", "nanna", "hannah", "anahana", "banana", "nan"]
    (tmp_path / "ex.phony").write_bytes(
        dump_model(train(names, name="ex", order=2, exclude_originals=True))
    )
    data = {"columns": {"v": {"type": "ngram", "model": "ex.phony"}}}
    count = 4 * CHUNK_ROWS + 10
    whole = [
        v
        for batch in generate_table(parse_schema(data, base_dir=tmp_path), count, 5)
        for v in batch[0]
    ]
    schema = parse_schema(data, base_dir=tmp_path)  # a fresh model: nothing cached
    spy = _Spy(monkeypatch)
    start = 4 * CHUNK_ROWS - 5
    part = [v for batch in generate_table(schema, count, 5, start=start) for v in batch[0]]
    assert part == whole[start:]
    assert spy.chunks() == {3, 4}
