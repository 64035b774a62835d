"""Random access: row *i* of a table without the rows before it, equal to the full table's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phony_registry import dump_model, train
from phony_registry.format import load_model
from phony_registry.model import CHUNK_ROWS
from phony_registry.schema import generate_table, parse_schema

# Seekable columns of every built-in type; the email has no `unique`, which
# needs every earlier row (tested below as the fallback).
SEEKABLE: dict[str, Any] = {
    "id": {"type": "sequence", "start": 5, "step": 3},
    "first": {"type": "ngram", "model": "first_names.phony"},
    "last": {"type": "ngram", "model": "last_names.phony"},
    "full": {"type": "template", "template": "{first} {last}"},
    "email": {"type": "email", "from": ["first", "last"]},
    "age": {"type": "integer", "min": 18, "max": 99},
    "score": {"type": "number", "min": -1, "max": 1, "decimals": 3},
    "tier": {"type": "choice", "values": ["a", "b", "c"], "weights": [5, 2, 1]},
    "plain": {"type": "choice", "values": ["x", "y"]},
    "born": {"type": "date", "start": "1950-01-01", "end": "2005-12-31"},
    # phony sync's fitted types (phony_registry.fitted)
    "price": {"type": "histogram", "quantiles": [0.5, 3.2, 9.99, 310], "decimals": 2},
    "owner": {
        "type": "reference",
        "table": "users",
        "rows": 40,
        "fanout": [[0, 10], [1, 20], [4, 10]],
    },
    "key": {"type": "uuid"},
}


@pytest.fixture(scope="module")
def rejecting_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Models that reject a share of their walks (values longer than max_length)
    and one trained with --exclude-originals, so random access has rejections to skip."""
    folder = tmp_path_factory.mktemp("rejecting")
    names = ["ana", "anna", "annan", "nanna", "hannah", "anahana", "banana", "nan"]
    (folder / "first_names.phony").write_bytes(dump_model(train(names, name="first", order=2)))
    (folder / "last_names.phony").write_bytes(
        dump_model(train(names, name="last", order=2, exclude_originals=True))
    )
    return folder


def _rows(batches: Any) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for batch in batches:
        rows.extend(zip(*batch, strict=True))
    return rows


def test_the_models_really_reject_rows(rejecting_model_dir: Path) -> None:
    for name in ("first_names", "last_names"):
        model = load_model(rejecting_model_dir / f"{name}.phony")
        assert len(model._rejected_rows(7, 0)) > 100, name


@pytest.mark.parametrize(
    "start",
    [0, 1, 19, 4_321, CHUNK_ROWS - 3_000, CHUNK_ROWS + 5],
    ids=lambda s: f"start-{s}",
)
def test_rows_from_start_equal_the_full_tables_rows(rejecting_model_dir: Path, start: int) -> None:
    schema = parse_schema({"columns": SEEKABLE}, base_dir=rejecting_model_dir)
    count = CHUNK_ROWS + 40
    full = _rows(generate_table(schema, count, 7))
    part = _rows(generate_table(schema, count, 7, start=start, batch_size=777))
    assert len(part) == count - start
    assert part == full[start:]


def test_a_short_window_anywhere_equals_the_same_rows_of_the_full_table(
    rejecting_model_dir: Path,
) -> None:
    schema = parse_schema({"columns": SEEKABLE}, base_dir=rejecting_model_dir)
    full = _rows(generate_table(schema, 3_000, 11))
    for start in (0, 999, 2_980):
        window = _rows([next(generate_table(schema, 3_000, 11, start=start, batch_size=20))])
        assert window == full[start : start + 20]


def test_model_iter_from_equals_a_slice_of_generate(rejecting_model_dir: Path) -> None:
    model = load_model(rejecting_model_dir / "last_names.phony")
    whole = model.generate(CHUNK_ROWS + 100, 3)
    for start in (0, 50, CHUNK_ROWS - 10, CHUNK_ROWS + 1):
        got = [v for batch in model.iter_from(3, start, 60) for v in batch]
        assert got == whole[start : start + 60], start


def test_a_unique_column_falls_back_to_generating_from_the_first_row(
    rejecting_model_dir: Path,
) -> None:
    columns = {**SEEKABLE, "email": {**SEEKABLE["email"], "unique": True}}
    schema = parse_schema({"columns": columns}, base_dir=rejecting_model_dir)
    full = _rows(generate_table(schema, 2_000, 5))
    assert _rows(generate_table(schema, 2_000, 5, start=1_234, batch_size=100)) == full[1_234:]


def test_start_outside_the_table_is_a_validation_error(rejecting_model_dir: Path) -> None:
    from phony_registry.errors import ValidationError

    schema = parse_schema({"columns": SEEKABLE}, base_dir=rejecting_model_dir)
    with pytest.raises(ValidationError, match="start"):
        list(generate_table(schema, 10, 1, start=11))


@pytest.mark.parametrize("size", [1, 2, 5, 6, 7], ids=lambda n: f"{n}-rows")
def test_small_windows_walked_row_by_row_equal_the_full_table(
    rejecting_model_dir: Path, size: int
) -> None:
    """Windows of a few rows take the pure-Python walk (Model._RowsWalker); same rows."""
    schema = parse_schema({"columns": SEEKABLE}, base_dir=rejecting_model_dir)
    count = CHUNK_ROWS + 200
    full = _rows(generate_table(schema, count, 13))
    for start in (0, 3, 777, CHUNK_ROWS - 3, CHUNK_ROWS + 150):
        stop = min(start + size, count)
        # The table keeps its count (a reference column's parents depend on it);
        # the window is the first batch.
        batch = next(generate_table(schema, count, 13, start=start, batch_size=size))
        assert list(zip(*batch, strict=True)) == full[start:stop], start


def test_the_row_walker_agrees_with_numpy_on_bundled_models() -> None:
    """Real models (en_US, with rejected walks): single values anywhere in two chunks."""
    import phony_index
    from phony_registry.index import parse_index, resolve
    from phony_registry.layout import blob_path, index_path, to_local

    root = Path(phony_index.ROOT)
    name = "en_US/cities"
    entry = resolve(parse_index(to_local(root, index_path(name)).read_bytes()), None, name)
    assert entry.digest is not None
    model = load_model(to_local(root, blob_path(entry.digest)))
    whole = model.generate(CHUNK_ROWS + 3_000, 99)
    for index in (0, 1, 500, 40_000, CHUNK_ROWS - 2_000, CHUNK_ROWS + 2_500):
        got = [v for batch in model.iter_from(99, index, 3) for v in batch]
        assert got == whole[index : index + 3], index


def test_small_draws_in_python_integers_equal_numpys() -> None:
    """ColumnStream draws a few values through phony_registry._pcg: NumPy's words."""
    import numpy as np

    from phony_registry.generators import ColumnStream

    for seed in (0, 1, 2**63 + 5, 2**64 - 1):
        reference = np.random.PCG64(seed)
        reference.advance(1_000)
        expected = reference.random_raw(40).tolist()
        small = ColumnStream(seed, 10)
        small.advance(1_000)
        assert small.raw(3).tolist() + small.raw(1).tolist() == expected[:4]
        # A large draw makes the NumPy generator, at the position reached.
        assert small.raw(30).tolist() == expected[4:34]
        small.advance(2)
        assert small.raw(2).tolist() == expected[36:38]


def test_seek_at_row_zero_gives_the_same_window_through_random_access(
    rejecting_model_dir: Path,
) -> None:
    schema = parse_schema({"columns": SEEKABLE}, base_dir=rejecting_model_dir)
    full = _rows(generate_table(schema, 3_000, 11))
    window = _rows([next(generate_table(schema, 3_000, 11, start=0, batch_size=20, seek=True))])
    assert window == full[:20]
    # The window went through the models' random access (their chunk index),
    # not a sequential walk sized for the whole table.
    models = [c.generator.model for c in schema.columns if hasattr(c.generator, "model")]
    assert models
    assert all(m._rejections for m in models)
