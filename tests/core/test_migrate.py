"""Version 1 (the original Phony layout) loads through the migration chain."""
# ruff: noqa: RUF001 - the Turkish dotless i (U+0131) is the letter under test, not a confusable

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from phony_registry.convert import DOWNGRADES, convert, derive
from phony_registry.errors import ModelFormatError
from phony_registry.format import (
    FORMAT_VERSION,
    document_to_model,
    dump_model,
    load_document,
    load_model,
    model_to_document,
)
from phony_registry.migrate import MIGRATIONS, losses, model_to_v1, v1_to_v2
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


def test_a_modified_kneser_ney_model_is_spelled_out_when_each_context_has_one_state() -> None:
    trained = train(read_values(SAMPLE), name="t", order=3, smoothing="modified-kneser-ney")
    doc = model_to_v1(trained)
    assert sum(map(len, doc["ngrams"]["3"].values())) > trained.num_edges  # every context
    assert load_model(_gz(doc)).generate(2000, seed=4) == trained.generate(2000, seed=4)


def test_models_version_1_cannot_hold_are_refused() -> None:
    trained = train(read_values(SAMPLE), name="t", order=4, smoothing="modified-kneser-ney")
    with pytest.raises(ModelFormatError, match="format version 1 cannot hold this model"):
        model_to_v1(trained)


def test_an_order_1_model_is_written_at_order_2_and_generates_the_same() -> None:
    trained = train(read_values(SAMPLE), name="o1", order=1)
    doc = model_to_v1(trained)
    assert doc["order"] == 2
    assert sorted(doc["ngrams"]) == ["2"]
    assert "\u0003" not in doc["ngrams"]["2"]["\u0002"]  # the start never ends a value
    assert load_model(_gz(doc)).generate(2000, seed=3) == trained.generate(2000, seed=3)
    assert any("written at order 2" in item for item in losses(trained, 1))


def test_a_version_2_document_reads_as_version_3_without_selection() -> None:
    trained = train(["ab", "ac", "bca"], name="t", order=3)
    data = dump_model(trained)
    assert load_document(data)["format_version"] == 2
    model = load_model(data)
    assert model.format_version == 2
    assert model.selection is None
    assert dump_model(model) == data


def _counts(values: list[str], n: int) -> dict[str, dict[str, int]]:
    """The order-``n`` table as the original writers counted it from the values."""
    table: dict[str, dict[str, int]] = {}
    for value in values:
        padded = "\u0002" * (n - 1) + value + "\u0003"
        for i in range(n - 1, len(padded)):
            row = table.setdefault(padded[i - n + 1 : i], {})
            row[padded[i]] = row.get(padded[i], 0) + 1
    return table


def test_v1_export_holds_every_order_as_the_original_writers_counted() -> None:
    values = read_values(SAMPLE)
    doc = model_to_v1(train(values, name="tr", order=4))
    assert sorted(doc["ngrams"]) == ["2", "3", "4"]
    for n in (2, 3, 4):
        assert doc["ngrams"][str(n)] == _counts(values, n), n


def test_lower_tables_of_a_smoothed_model_stay_closed() -> None:
    doc = model_to_v1(train(read_values(SAMPLE), name="tr", order=4, smoothing="witten-bell"))
    for n in (2, 3):
        table = doc["ngrams"][str(n)]
        for context, row in table.items():
            for token in row:
                if token != "\u0003":
                    assert (context + token)[1:] in table
        only = {k: v for k, v in doc.items() if k not in ("ngrams", "order")}
        lower = load_model(_gz({**only, "order": n, "ngrams": {str(n): table}}))
        assert lower.order == n


def test_convert_walks_down_and_up_one_step_at_a_time() -> None:
    trained = train(read_values(SAMPLE), name="tr", order=3)
    v2 = model_to_document(trained)
    v3 = convert(v2, 3)
    assert v3["format_version"] == 3
    assert v3["selection"] is None
    assert convert(v3, 2) == v2
    v1 = convert(v3, 1)
    assert v1 == convert(v2, 1) == model_to_v1(trained)
    back = document_to_model(convert(v1, 3))
    assert back.generate(300, seed=9) == trained.generate(300, seed=9)
    for bad in (0, NEWEST_FORMAT_VERSION + 1):
        with pytest.raises(ModelFormatError, match=f"no format version {bad}"):
            convert(v2, bad)


def test_downgrades_mirror_the_migrations() -> None:
    assert sorted(DOWNGRADES) == list(range(2, NEWEST_FORMAT_VERSION + 1))


def test_derive_is_byte_reproducible_and_says_what_is_lost() -> None:
    values = read_values(SAMPLE)
    trained = train(
        values, name="tr", order=3, exclude_originals=True, created="2026-01-02T03:04:05Z"
    )
    data = dump_model(trained)
    out, lost = derive(data, 1)
    assert derive(bytes(data), 1) == (out, lost)
    assert out[:8] == bytes.fromhex("1f8b080000000000")
    assert load_document(out)["format_version"] == 1
    assert any("excluded training values" in item for item in lost)
    assert any("creation time" in item for item in lost)
    assert derive(data, 2) == (data, [])
    chosen = train(values[:300], name="small", smoothing="none")
    assert chosen.selection is not None
    dropped, lost = derive(dump_model(chosen), 2)
    assert load_document(dropped)["format_version"] == 2
    assert len(lost) == 1
    assert "selection record" in lost[0]
