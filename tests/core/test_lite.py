"""The NumPy-free path of short ``phony generate`` runs gives the NumPy path's values.

phony_registry._lite re-implements PCG64, SeedSequence, the reader's checks
and the walk in pure Python; these tests hold it to the vectorised
implementation: the same words, the same values for any model, seed and
count, and never a file that the full reader refuses.
"""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phony_registry import _lite, model
from phony_registry.errors import ModelFormatError
from phony_registry.format import dump_document, dump_model, load_model, model_to_document
from phony_registry.migrate import model_to_v1
from phony_registry.ngram import read_values, train

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"
NAMES = read_values(SAMPLE)
SMALL = train(NAMES[:300], name="small", order=3, kind="first_name")
SMALL_DOC = json.loads(json.dumps(model_to_document(SMALL)))


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32, 2**64 + 7, 2**128 - 1])
@pytest.mark.parametrize("chunk", [0, 3, 2**32 + 5])
def test_pcg64_words_are_numpys(seed: int, chunk: int) -> None:
    bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk,)))
    assert _lite.pcg64_words(seed, chunk, 0, 8) == bits.random_raw(8).tolist()
    bits.advance(3 * model.CHUNK_ROWS + 11)
    assert _lite.pcg64_words(seed, chunk, 8 + 3 * model.CHUNK_ROWS + 11, 4) == (
        bits.random_raw(4).tolist()
    )


@pytest.mark.parametrize(
    ("order", "smoothing"),
    [(1, "none"), (2, "none"), (3, "witten-bell"), (4, "none"), (4, "kneser-ney"), (6, "none")],
)
def test_same_values_as_the_vectorised_walk(order: int, smoothing: str) -> None:
    data = dump_model(train(NAMES, name="tr", order=order, smoothing=smoothing))
    small = _lite.load_small(data)
    assert small is not None
    full = load_model(data)
    for seed in (0, 42, 2**64 + 7):
        for count in (0, 1, 10, 257):
            assert small.generate(count, seed) == full.generate(count, seed)


def test_pinned_outputs_hold_without_numpy() -> None:
    small = _lite.load_small(dump_model(train(NAMES, name="tr", order=4)))
    assert small is not None
    assert small.generate(6, 42) == ["Ömür", "Özpetek", "Zemzem", "Fedeniz", "İlbey", "Basriye"]


def test_worth_it_only_for_a_few_thousand_characters() -> None:
    names = _lite.load_small(dump_model(SMALL))
    long_values = _lite.load_small(dump_model(train([n * 4 for n in NAMES[:200]], name="l")))
    assert names is not None
    assert long_values is not None
    assert names.worth_it(1000)
    assert not names.worth_it(_lite.MAX_COUNT + 1)
    assert long_values.worth_it(10)
    assert not long_values.worth_it(1000)


def test_slow_to_come_is_left_to_the_numpy_path() -> None:
    doc = json.loads(json.dumps(SMALL_DOC))
    doc["generation"]["max_length"] = 1  # almost every walk is too long
    data = dump_document(doc)
    small = _lite.load_small(data)
    assert small is not None
    assert small.generate(50, 1) is None


def test_not_mine_exclusions_older_versions_and_large_files() -> None:
    excluded = train(NAMES[:300], name="small", order=3, exclude_originals=True)
    assert _lite.load_small(dump_model(excluded)) is None
    v1 = json.dumps(model_to_v1(SMALL), ensure_ascii=False).encode()
    assert _lite.load_small(gzip.compress(v1)) is None
    assert _lite.load_small(b"\x1f\x8b" + b"\x00" * (_lite.MAX_FILE_SIZE + 1)) is None
    assert _lite.load_small(b"not gzip") is None


def _gz(doc: dict[str, Any]) -> bytes:
    """A file of ``doc`` as ASCII-escaped JSON, so lone surrogates reach the readers."""
    return gzip.compress(json.dumps(doc).encode("ascii"))


def _agrees(data: bytes) -> None:
    """Whatever _lite accepts, the full reader accepts and generates the same from."""
    small = _lite.load_small(data)
    try:
        full = load_model(data)
    except ModelFormatError:
        assert small is None
        return
    if small is not None:
        assert small.generate(20, 3) == full.generate(20, 3)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("format_version",), True),
        (("meta", "name"), "  "),
        (("meta", "name"), "\ud800"),
        (("meta", "created"), "2026-02-30T00:00:00Z"),
        (("meta", "created"), "2026-01-31 12:00:00"),
        (("meta", "created"), "2026-01-31T12:00:00Z"),
        (("model", "order"), 13),
        (("model", "alphabet"), "ba"),
        (("model", "alphabet"), "\x00ab"),
        (("model", "start"), 10**6),
        (("model", "offsets"), "AAAAAA=="),
        (("model", "weights"), "not base64!"),
        (("training", "length_histogram"), [1, -1]),
        (("training", "length_histogram"), [0] * 258),
        (("training", "unique_values"), None),
        (("generation", "max_length"), 0),
        (("generation", "max_length"), 257),
        (("extra",), 1),
    ],
)
def test_a_broken_field_is_refused_by_both(path: tuple[str, ...], value: Any) -> None:
    doc = json.loads(json.dumps(SMALL_DOC))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    _agrees(_gz(doc))


def _u32(values: list[int]) -> str:
    return base64.b64encode(np.asarray(values, dtype="<u4").tobytes()).decode()


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(
    field=st.sampled_from(["offsets", "tokens", "weights", "targets"]),
    index=st.integers(0, 400),
    value=st.sampled_from([0, 1, 2, 3, 2**31, 2**32 - 1]),
)
def test_any_changed_array_entry_agrees(field: str, index: int, value: int) -> None:
    doc = json.loads(json.dumps(SMALL_DOC))
    array = np.frombuffer(base64.b64decode(doc["model"][field]), dtype="<u4").tolist()
    array[index % len(array)] = value
    doc["model"][field] = _u32(array)
    _agrees(_gz(doc))


@PROPERTY
@given(
    path=st.sampled_from(
        [("meta", k) for k in ("name", "locale", "kind", "created", "description")]
        + [("training", k) for k in ("values", "max_length", "length_histogram")]
        + [("model", k) for k in ("order", "alphabet", "start")]
        + [("generation", "max_length"), ("exclude",), ("format_version",)]
    ),
    value=st.none()
    | st.booleans()
    | st.integers(-5, 2**64)
    | st.text(max_size=8)
    | st.lists(st.integers(-1, 3), max_size=4),
)
def test_any_changed_field_agrees(path: tuple[str, ...], value: Any) -> None:
    doc = json.loads(json.dumps(SMALL_DOC))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    _agrees(_gz(doc))


def test_a_short_phony_generate_does_not_import_numpy(tmp_path: Path) -> None:
    path = tmp_path / "names.phony"
    path.write_bytes(dump_model(SMALL))
    script = (
        "import sys; from phony_client.cli import main; "
        f"code = main(['generate', {str(path)!r}, '--count', '5', '--seed', '42']); "
        "print('numpy' in sys.modules); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    *values, imported = done.stdout.splitlines()
    assert values == SMALL.generate(5, 42)
    assert imported == "False"


def test_a_selected_version_3_model_gives_the_same_values() -> None:
    selected = train(NAMES[:300], name="small", kind="first_name")
    assert selected.format_version == 3
    data = dump_model(selected)
    small = _lite.load_small(data)
    assert small is not None
    assert small.generate(200, seed=7) == load_model(data).generate(200, seed=7)


def test_a_broken_selection_record_is_not_read_by_either_path() -> None:
    doc = json.loads(json.dumps(model_to_document(train(NAMES[:300], name="small"))))
    doc["selection"]["order"] = 99
    data = dump_document(doc)
    assert _lite.load_small(data) is None
    with pytest.raises(ModelFormatError, match=r"selection\.order"):
        load_model(data)
