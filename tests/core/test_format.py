"""Reading and writing .phony files: round trips, reproducible bytes, every way a file breaks."""

from __future__ import annotations

import base64
import gzip
import io
import json
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from phony_registry.errors import DecompressionLimit, ModelFormatError, UnsupportedFormatVersion
from phony_registry.format import (
    dump_document,
    dump_model,
    inflate,
    load_document,
    load_model,
    model_to_document,
    problems,
    save_model,
)
from phony_registry.model import Model
from phony_registry.ngram import read_values, train

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


@pytest.fixture(scope="module")
def model() -> Model:
    return train(read_values(SAMPLE), name="tr-first", order=3, locale="tr_TR", kind="first_name")


@pytest.fixture
def doc(model: Model) -> dict[str, Any]:
    return json.loads(json.dumps(model_to_document(model)))


def _gz(value: Any) -> bytes:
    return dump_document(value) if isinstance(value, dict) else gzip.compress(value)


def test_round_trip_keeps_every_field(model: Model) -> None:
    again = load_model(dump_model(model))
    assert again.meta == model.meta
    assert again.training == model.training
    assert again.order == 3
    assert again.alphabet == model.alphabet
    assert again.format_version == 2
    for name in ("offsets", "tokens", "weights", "targets"):
        assert np.array_equal(getattr(again, name), getattr(model, name))
    assert again.generate(50, seed=9) == model.generate(50, seed=9)


def test_dump_is_reproducible_and_has_no_timestamp_or_name(model: Model) -> None:
    first = dump_model(model)
    retrained = train(
        read_values(SAMPLE), name="tr-first", order=3, locale="tr_TR", kind="first_name"
    )
    assert dump_model(retrained) == first
    # gzip header: magic, method, flags (no FNAME), mtime = 0
    assert first[:4] == b"\x1f\x8b\x08\x00"
    assert first[4:8] == b"\x00\x00\x00\x00"


def test_json_inside_is_sorted_compact_utf8(model: Model) -> None:
    raw = gzip.decompress(dump_model(model)).decode("utf-8")
    assert raw == json.dumps(
        json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert "İ" in raw  # the alphabet is stored as text, not \u escapes


def test_save_model_writes_atomically(tmp_path: Path, model: Model) -> None:
    target = tmp_path / "m.phony"
    data = save_model(model, target)
    assert target.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["m.phony"]
    assert load_model(target).meta.name == "tr-first"


def test_gzip_bomb_fails_fast_in_bounded_memory() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\x00" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(1024)]  # 1 GiB of zeros
    bomb = b"".join(parts) + compressor.flush()
    assert len(bomb) < 2 << 20
    started = time.perf_counter()
    with pytest.raises(DecompressionLimit, match="limit"):
        load_model(bomb)
    assert time.perf_counter() - started < 5


def test_the_cap_is_configurable(model: Model) -> None:
    data = dump_model(model)
    with pytest.raises(DecompressionLimit):
        load_model(data, max_inflated=1000)
    assert load_model(data, max_inflated=len(gzip.decompress(data))).num_edges == model.num_edges


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        pytest.param(lambda b: b"", "not gzip", id="empty"),
        pytest.param(lambda b: b"PK\x03\x04zipfile", "not gzip", id="not-gzip"),
        pytest.param(lambda b: b[: len(b) // 2], "truncated", id="truncated"),
        pytest.param(lambda b: b[:-4], "truncated|corrupt", id="no-trailer-size"),
        pytest.param(lambda b: b + b"junk", "unexpected bytes", id="trailing-garbage"),
        pytest.param(lambda b: b + b, "unexpected bytes", id="two-members"),
        pytest.param(
            lambda b: b[:30] + bytes([b[30] ^ 0xFF]) + b[31:],
            "corrupt|invalid|truncated",
            id="flipped-byte",
        ),
    ],
)
def test_broken_bytes_give_one_clear_error(
    model: Model, mangle: Callable[[bytes], bytes], message: str
) -> None:
    with pytest.raises(ModelFormatError, match=message):
        load_model(mangle(dump_model(model)))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(b"{not json", "invalid JSON", id="bad-json"),
        pytest.param(b"\xff\xfe{}", "not UTF-8", id="not-utf8"),
        pytest.param(b"[1, 2]", "is an array, not an object", id="array"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "JSON", id="deep-nesting"),
        pytest.param(
            b'{"format_version": "2"}', "format_version: must be an integer", id="str-version"
        ),
        pytest.param(
            b'{"format_version": true}', "format_version: must be an integer", id="bool-version"
        ),
        pytest.param(b"{}", "format_version: missing", id="no-version"),
        pytest.param(b'{"format_version": 0}', "unknown format version", id="version-0"),
    ],
)
def test_bad_json_documents(payload: bytes, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        load_model(gzip.compress(payload))


def test_future_version_says_to_upgrade(doc: dict[str, Any]) -> None:
    doc["format_version"] = 4
    with pytest.raises(UnsupportedFormatVersion, match=r"format version 4 .*upgrade phony"):
        load_model(dump_document(doc))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = doc
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return apply


def _array(values: list[int], dtype: str = "<u4") -> str:
    return base64.b64encode(np.array(values, dtype=dtype).tobytes()).decode()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(_set("meta", []), "meta", id="meta-array"),
        pytest.param(_set("meta.name", 7), "meta.name", id="name-int"),
        pytest.param(_set("meta.name", " "), "meta.name", id="name-blank"),
        pytest.param(_set("meta.locale", 1.5), "meta.locale", id="locale-float"),
        pytest.param(_set("meta.description", None), "meta.description", id="description-null"),
        pytest.param(_set("meta.created", "yesterday"), "meta.created", id="created-free-text"),
        pytest.param(_set("meta.colour", "red"), "meta.colour", id="unknown-meta-field"),
        pytest.param(_set("model.order", "3"), "model.order", id="order-str"),
        pytest.param(_set("model.order", 0), "model.order", id="order-0"),
        pytest.param(_set("model.alphabet", "ba"), "model.alphabet", id="alphabet-unsorted"),
        pytest.param(_set("model.start", -1), "model.start", id="start-negative"),
        pytest.param(_set("model.start", 10**9), "model.start", id="start-out-of-range"),
        pytest.param(_set("model.offsets", "%%%"), "model.offsets", id="offsets-not-base64"),
        pytest.param(_set("model.offsets", [0, 1]), "model.offsets", id="offsets-list"),
        pytest.param(_set("model.tokens", "AAA="), "model.tokens", id="tokens-odd-bytes"),
        pytest.param(_set("model.weights", KeyError), "model.weights", id="weights-missing"),
        pytest.param(_set("training.values", True), "training.values", id="values-bool"),
        pytest.param(
            _set("training.length_histogram", [1, "x"]),
            "training.length_histogram[1]",
            id="histogram-item",
        ),
        pytest.param(
            _set("training.length_histogram", [0]),
            "training.length_histogram",
            id="histogram-shorter-than-max-length",
        ),
        pytest.param(_set("generation.max_length", 0), "generation.max_length", id="max-length-0"),
        pytest.param(_set("generation", None), "generation", id="generation-null"),
        pytest.param(_set("exclude", {"salt": "xyz", "hashes": ""}), "exclude.salt", id="bad-salt"),
        pytest.param(_set("extra", 1), "extra", id="unknown-top-field"),
    ],
)
def test_wrong_field_names_its_path(
    doc: dict[str, Any], mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    mutate(doc)
    with pytest.raises(ModelFormatError) as caught:
        load_model(dump_document(doc))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("key", "values", "field", "message"),
    [
        ("offsets", [0, 2, 1], "model.offsets[2]", "greater than the previous"),
        ("offsets", [1, 2], "model.offsets[0]", "must be 0"),
        ("targets", [0, 5], "model.targets[1]", "state id below 1"),
        ("weights", [3, 0], "model.weights[1]", "positive count"),
        ("tokens", [0, 9], "model.tokens[1]", "token id from 0 to 1"),
        ("tokens", [1, 0], "model.tokens[1]", "increase within a state"),
    ],
)
def test_inconsistent_arrays(key: str, values: list[int], field: str, message: str) -> None:
    arrays = {"offsets": [0, 2], "tokens": [0, 1], "weights": [1, 1], "targets": [0, 0]}
    arrays[key] = values
    doc = {
        "format_version": 2,
        "meta": {
            "name": "t",
            "locale": None,
            "kind": None,
            "license": None,
            "source": None,
            "description": "",
            "created": None,
        },
        "model": {
            "order": 2,
            "alphabet": "a",
            "start": 0,
            **{k: _array(v) for k, v in arrays.items()},
        },
        "training": {
            "values": 1,
            "unique_values": 1,
            "characters": 1,
            "max_length": 1,
            "length_histogram": [0, 1],
        },
        "generation": {"max_length": 1},
        "exclude": None,
    }
    with pytest.raises(ModelFormatError, match=message) as caught:
        load_model(dump_document(doc))
    assert caught.value.field == field


def test_problems_lists_every_defect(doc: dict[str, Any]) -> None:
    doc["meta"]["name"] = 1
    doc["model"]["order"] = "x"
    doc["generation"]["max_length"] = -1
    found = problems(doc)
    assert [p.field for p in found] == ["meta.name", "model.order", "generation.max_length"]
    with pytest.raises(ModelFormatError, match=r"^meta\.name: .*and 2 more problems"):
        load_model(dump_document(doc))


def test_problems_of_a_valid_document_is_empty(doc: dict[str, Any]) -> None:
    assert problems(doc) == []


def test_inflate_accepts_exactly_the_limit() -> None:
    data = gzip.compress(b"x" * 1000)
    assert inflate(data, 1000) == b"x" * 1000
    with pytest.raises(DecompressionLimit):
        inflate(data, 999)


def test_load_document_reads_paths(tmp_path: Path, doc: dict[str, Any]) -> None:
    path = tmp_path / "a.phony"
    path.write_bytes(dump_document(doc))
    assert load_document(path)["meta"]["name"] == "tr-first"
    assert load_document(str(path)) == load_document(io.BytesIO(path.read_bytes()).getvalue())


@pytest.mark.parametrize("field", ["meta.name", "meta.description", "meta.locale"])
def test_lone_surrogates_are_refused(model: Model, field: str) -> None:
    raw = gzip.decompress(dump_model(model)).decode()
    doc = json.loads(raw)
    section, key = field.split(".")
    doc[section][key] = "x"
    text = json.dumps(doc).replace('"x"', '"\\ud800"', 1)
    with pytest.raises(ModelFormatError, match="lone surrogate") as caught:
        load_model(gzip.compress(text.encode()))
    assert caught.value.field == field


def test_a_broken_section_is_one_problem_not_one_per_field(doc: dict[str, Any]) -> None:
    doc["meta"] = "tr"
    del doc["training"]
    assert [str(p) for p in problems(doc)] == [
        "meta: must be an object, not a string",
        "training: missing",
    ]
