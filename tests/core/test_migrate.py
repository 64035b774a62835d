"""Version 1 (the original Phony layout) loads through the migration chain."""
# ruff: noqa: RUF001 - the Turkish dotless i (U+0131) is the letter under test, not a confusable

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from phony_registry.errors import ModelFormatError
from phony_registry.format import FORMAT_VERSION, dump_model, load_document, load_model
from phony_registry.migrate import MIGRATIONS, model_to_v1, v1_to_v2
from phony_registry.model import NEWEST_FORMAT_VERSION
from phony_registry.ngram import read_values, train

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"

# A version-1 file as the original readers wrote it: markers U+0002 (start)
# and U+0003 (end), one table per order, the highest one used.
V1 = {
    "format_version": 1,
    "name": "tiny",
    "locale": "tr_TR",
    "tokens": ["a", "b", "ı"],
    "ngrams": {
        "2": {"\u0002": {"a": 2, "ı": 1}, "a": {"b": 2}, "b": {"\u0003": 2}, "ı": {"\u0003": 1}},
        "3": {
            "\u0002\u0002": {"a": 2, "ı": 1},
            "\u0002a": {"b": 2},
            "ab": {"\u0003": 2},
            "\u0002ı": {"\u0003": 1},
        },
    },
}


def _gz(doc: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(doc, ensure_ascii=False).encode())


def test_the_chain_covers_every_older_version() -> None:
    assert sorted(MIGRATIONS) == list(range(1, NEWEST_FORMAT_VERSION))


def test_a_v1_file_loads_transparently() -> None:
    model = load_model(_gz(V1))
    assert model.format_version == 1
    assert model.order == 3
    assert model.meta.name == "tiny"
    assert model.meta.locale == "tr_TR"
    assert model.training.values == 3
    assert model.training.unique_values is None
    assert sorted(set(model.generate(200, seed=1))) == ["ab", "ı"]


def test_a_v1_file_without_a_version_number_is_version_1() -> None:
    doc = {k: v for k, v in V1.items() if k != "format_version"}
    assert load_model(_gz(doc)).format_version == 1


def test_migrated_model_writes_the_current_version() -> None:
    data = dump_model(load_model(_gz(V1)))
    assert load_document(data)["format_version"] == FORMAT_VERSION
    again = load_model(data)
    assert again.format_version == FORMAT_VERSION
    assert again.generate(50, seed=3) == load_model(_gz(V1)).generate(50, seed=3)


def test_v1_export_round_trips_generation() -> None:
    trained = train(read_values(SAMPLE), name="tr", order=4)
    doc = model_to_v1(trained)
    assert doc["ngrams"]["4"]["\u0002\u0002\u0002"]  # the start context
    migrated = load_model(_gz(doc))
    for name in ("offsets", "tokens", "weights", "targets"):
        assert getattr(migrated, name).tolist() == getattr(trained, name).tolist()
    assert migrated.generate(500, seed=7) == trained.generate(500, seed=7)


def _broken(path: list[str], value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(V1))
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["tokens"], "ab", "tokens"),
        (["tokens", 0], "ab", "tokens[0]"),
        (["ngrams"], [], "ngrams"),
        (["ngrams", "3", "ab"], {"\u0003": 0}, "ngrams.3['ab']['\\x03']"),
        (["ngrams", "3", "ab"], {"z": 1}, "ngrams.3['ab']['z']"),
        (["ngrams", "3", "\u0002a"], {"a": 1}, "ngrams.3['\\x02a']['a']"),
        (["ngrams", "3", "\u0002\u0002"], KeyError, "ngrams.3"),
        (["ngrams", "3", "abc"], {"\u0003": 1}, "ngrams.3['abc']"),
        (["name"], 5, "name"),
        (["order"], 9, "ngrams"),
        (["max_length"], 0, "max_length"),
    ],
)
def test_broken_v1_names_the_field(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(ModelFormatError) as caught:
        load_model(_gz(_broken(path, value)))
    assert caught.value.field == field


def test_v1_to_v2_is_a_pure_function_of_the_document() -> None:
    assert v1_to_v2(json.loads(json.dumps(V1))) == v1_to_v2(json.loads(json.dumps(V1)))
    assert v1_to_v2(V1)["generation"]["max_length"] == 2


def test_huge_order_keys_are_ignored_not_parsed() -> None:
    doc = json.loads(json.dumps(V1))
    doc["ngrams"]["9" * 5000] = {}
    assert load_model(_gz(doc)).order == 3


@pytest.mark.parametrize(("order", "smoothing"), [(1, "none"), (3, "modified-kneser-ney")])
def test_models_version_1_cannot_hold_are_refused(order: int, smoothing: str) -> None:
    trained = train(["ab", "ac", "bca"], name="t", order=order, smoothing=smoothing)
    with pytest.raises(ModelFormatError, match="format version 1 cannot hold this model"):
        model_to_v1(trained)


def test_a_version_2_document_reads_as_version_3_without_selection() -> None:
    trained = train(["ab", "ac", "bca"], name="t", order=3)
    data = dump_model(trained)
    assert load_document(data)["format_version"] == 2
    model = load_model(data)
    assert model.format_version == 2
    assert model.selection is None
    assert dump_model(model) == data
