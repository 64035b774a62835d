"""The model reader's structural limits: checked before parsing, generous for real files."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc

import pytest

from phony_registry import dump_model, train
from phony_registry.canonical import check_structure
from phony_registry.errors import ModelFormatError
from phony_registry.format import MODEL_LIMITS, load_document, load_model
from phony_registry.migrate import model_to_v1


def _words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnoprstuvyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(count)]


def test_a_bracket_bomb_is_refused_before_it_is_parsed() -> None:
    """8 MiB of ``[],``: 5.6 million values, 400 MB once parsed; refused for a fraction."""
    inflated = 8 << 20
    head, tail = b'{"format_version":2,"x":[', b"[]]}"
    bomb = gzip.compress(head + b"[]," * ((inflated - len(head) - len(tail)) // 3) + tail)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match="over the reader's limits: more than 2000000"):
            load_model(bomb)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * inflated, peak  # the inflated bytes (twice while joined), nothing parsed


def test_a_model_nested_past_the_limit_is_refused() -> None:
    deep = b'{"format_version":2,"x":' + b"[" * 40 + b"]" * 40 + b"}"
    with pytest.raises(ModelFormatError, match=r"nested too deeply \(over 32 levels\)"):
        load_document(gzip.compress(deep))


def test_a_large_version_1_model_is_within_the_limits() -> None:
    model = train(_words(8000, seed=4), name="words", order=5)
    text = json.dumps(model_to_v1(model)).encode()
    values = text.count(b",") + text.count(b":")
    assert values > 100_000  # a real test of the limit, not a small file
    assert check_structure(text, MODEL_LIMITS) is None
    migrated = load_model(gzip.compress(text))
    assert migrated.format_version == 1
    assert migrated.tokens.size == model.tokens.size


def test_a_current_model_is_checked_at_c_speed() -> None:
    """A current file's arrays are strings: the structural count never needs the token scan."""
    data = gzip.decompress(dump_model(train(_words(2000, seed=5), name="w", order=3)))
    opens = data.count(b"[") + data.count(b"{")
    assert opens + data.count(b",") + data.count(b":") < 1000
