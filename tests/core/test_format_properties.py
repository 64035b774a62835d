"""Property tests: whatever the bytes, the reader raises only phony's own errors.

A file that does load must also generate without crashing, and training,
writing and migrating round-trip for any list of values.
"""

from __future__ import annotations

import contextlib
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from phony_registry.errors import GenerationError, PhonyError
from phony_registry.format import dump_model, load_model, model_to_document
from phony_registry.migrate import model_to_v1
from phony_registry.model import Model
from phony_registry.ngram import read_values, train

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"
_MODEL = train(read_values(SAMPLE)[:300], name="small", order=3, exclude_originals=True)
VALID = dump_model(_MODEL)
VALID_JSON = gzip.decompress(VALID)
V1_JSON = json.dumps(model_to_v1(_MODEL), ensure_ascii=False).encode()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.text(st.characters(blacklist_categories=()), max_size=5),  # lone surrogates too
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)

FIELDS = [
    ("format_version",),
    ("meta",),
    ("meta", "name"),
    ("meta", "locale"),
    ("meta", "kind"),
    ("meta", "license"),
    ("meta", "source"),
    ("meta", "description"),
    ("meta", "created"),
    ("model",),
    ("model", "order"),
    ("model", "alphabet"),
    ("model", "start"),
    ("model", "offsets"),
    ("model", "tokens"),
    ("model", "weights"),
    ("model", "targets"),
    ("training",),
    ("training", "values"),
    ("training", "unique_values"),
    ("training", "characters"),
    ("training", "max_length"),
    ("training", "length_histogram"),
    ("generation",),
    ("generation", "max_length"),
    ("exclude",),
    ("exclude", "salt"),
    ("exclude", "hashes"),
]

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read(data: bytes) -> Model | None:
    """Load, then generate from and re-save whatever loads; anything but a PhonyError fails."""
    try:
        model = load_model(data)
    except PhonyError:
        return None
    # A valid model may be unable to end a value within max_length: that is its error.
    with contextlib.suppress(GenerationError):
        model.generate(20, seed=1)
    assert load_model(dump_model(model)).num_edges == model.num_edges
    return model


@PROPERTY
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    _read(data)


@PROPERTY
@given(st.binary(max_size=400))
def test_random_gzipped_bytes(data: bytes) -> None:
    _read(gzip.compress(data))


@PROPERTY
@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)), min_size=1, max_size=4)
)
def test_valid_file_with_flipped_bytes(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for position, mask in flips:
        data[position] ^= mask
    _read(bytes(data))


@PROPERTY
@given(st.integers(0, len(VALID) - 1))
def test_truncated_file(length: int) -> None:
    with pytest.raises(PhonyError):
        load_model(VALID[:length])


@PROPERTY
@given(
    st.sampled_from([VALID_JSON, V1_JSON]),
    st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=3
    ),
)
def test_inflated_json_with_flipped_bytes(raw: bytes, flips: list[tuple[float, int]]) -> None:
    data = bytearray(raw)
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    _read(gzip.compress(bytes(data)))


@PROPERTY
@given(json_values)
def test_random_json_shapes(value: Any) -> None:
    _read(gzip.compress(json.dumps(value).encode()))


@PROPERTY
@given(st.sampled_from(FIELDS), json_values, st.sampled_from([1, 2]))
def test_any_field_replaced_by_any_json(field: tuple[str, ...], value: Any, version: int) -> None:
    doc = json.loads(VALID_JSON if version == 2 else V1_JSON)
    target = doc
    for key in field[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else {}
    target[field[-1]] = value
    _read(gzip.compress(json.dumps(doc).encode()))  # ASCII escapes carry lone surrogates


@PROPERTY
@given(st.sampled_from(["tokens", "ngrams", "order", "name", "max_length", "locale"]), json_values)
def test_any_v1_field_replaced_by_any_json(key: str, value: Any) -> None:
    doc = json.loads(V1_JSON)
    doc[key] = value
    _read(gzip.compress(json.dumps(doc).encode()))


values_lists = st.lists(
    st.text(
        st.characters(blacklist_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]), min_size=1, max_size=12
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(values_lists, st.integers(1, 6), st.booleans())
def test_training_round_trips_through_the_file_and_v1(
    values: list[str], order: int, exclude: bool
) -> None:
    model = train(values, name="prop", order=order, exclude_originals=exclude)
    data = dump_model(model)
    again = load_model(data)
    assert dump_model(again) == data
    assert model_to_document(again) == model_to_document(model)
    try:
        first = model.generate(30, seed=order)
    except GenerationError:
        assume(False)  # every value excluded: tested in test_model.py
    if order == 1:
        return  # version 1 has no start context of its own at order 1 (test_migrate.py)
    migrated = load_model(gzip.compress(json.dumps(model_to_v1(model)).encode()))
    if not exclude:
        assert migrated.generate(30, seed=order) == first
