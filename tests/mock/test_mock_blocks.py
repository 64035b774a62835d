"""Served blocks: pages sliced from cached blocks are the rows ``phony generate`` writes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from phony_server.mock.app import build_collections
from phony_server.mock.blocks import BLOCK_ROWS, BlockCache
from phony_server.mock.config import MockConfig
from phony_server.mock.sources import CollectionSource
from tests.mock.conftest import POSTS_TOML, USERS_TOML, StartMock, generate_rows

SEED = 4242
#: Two whole blocks and part of a third.
COUNT = 2 * BLOCK_ROWS + 300

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _generate(env: dict[str, str], count: int) -> list[dict[str, Any]]:
    return generate_rows(
        env, "--schema", "person", "--locale", "en_US", "--count", str(count), "--seed", str(SEED)
    )


def _windows() -> list[tuple[int, int]]:
    """Pages of 20 over the whole collection, and windows across block boundaries."""
    pages = [(start, start + 20) for start in range(0, COUNT, 20)]
    edges = [(BLOCK_ROWS - 7, BLOCK_ROWS + 13), (BLOCK_ROWS - 1, 2 * BLOCK_ROWS + 1)]
    return [*pages, *edges, (COUNT - 5, COUNT + 20), (0, COUNT)]


def test_block_cache_keeps_to_its_budget_and_evicts_the_least_recently_used() -> None:
    block = [f'{{"id":{i},"name":"x"}}' for i in range(100)]
    size = sys.getsizeof(block) + sum(map(sys.getsizeof, block))
    cache = BlockCache(budget=3 * size + size // 2)  # room for three blocks
    assert not cache.admit("a")  # a first miss: make only the rows asked for
    assert cache.admit("a")  # missed again soon: make the block whole
    for key in ("a", "b", "c"):
        cache.put(key, list(block))
    assert cache.get("a") == block  # "a" used: "b" is now the least recently used
    cache.put("d", list(block))
    assert len(cache) == 3
    assert cache.size <= cache.budget
    assert cache.get("b") is None
    assert cache.get("a") == block
    assert cache.get("d") == block
    off = BlockCache(budget=0)
    assert not off.admit("a")
    assert not off.admit("a")


def test_pages_from_cached_blocks_are_the_rows_phony_generate_writes() -> None:
    config = MockConfig([CollectionSource("people", "person", "en_US")], seed=SEED, count=COUNT)
    people = build_collections(config)["people"]
    uncached = build_collections(MockConfig(config.sources, seed=SEED, count=COUNT, cache_mb=0))[
        "people"
    ]
    generated = _generate({**os.environ, "PHONY_LOAD_PLUGINS": ""}, COUNT)
    expected = [_dumps({"id": i, **row}) for i, row in enumerate(generated, 1)]
    for _ in range(3):  # a first miss, a second (the block is made whole), then hits
        for start, stop in _windows():
            assert people.records_json(start, stop) == expected[start:stop], (start, stop)
    assert len(people.cache) == 3  # every block was made whole and served from the cache
    assert people.record_json(BLOCK_ROWS + 1) == expected[BLOCK_ROWS]
    for start, stop in _windows()[::7]:
        assert uncached.records_json(start, stop) == expected[start:stop], (start, stop)
    assert len(uncached.cache) == 0


def test_typed_values_read_the_same_from_a_block_as_from_a_record(tmp_path: Path) -> None:
    (tmp_path / "users.toml").write_text(USERS_TOML)
    (tmp_path / "posts.toml").write_text(POSTS_TOML)
    sources = [
        CollectionSource("users", str(tmp_path / "users.toml")),
        CollectionSource("posts", str(tmp_path / "posts.toml")),
    ]
    collections = build_collections(MockConfig(sources, seed=SEED, count=1500))
    for collection in collections.values():
        # the sequential path: records as dictionaries, typed, made in order
        dicts = [r for batch in collection.scan() for r in batch]
        for _ in range(2):
            assert collection.records_json(1000, 1100) == [_dumps(r) for r in dicts[1000:1100]]
            assert collection.rows(1000, 1100) == dicts[1000:1100]
        assert collection.rows(0, 1500) == dicts
        assert collection.record(1001) == dicts[1000]
    assert len(next(iter(collections.values())).cache) == 4  # one cache: 2 blocks each


@pytest.mark.e2e
def test_a_served_page_asked_for_again_is_the_same(
    start_mock: StartMock, mock_home: dict[str, str]
) -> None:
    count = BLOCK_ROWS + 100
    mock = start_mock(
        "person", "--locale", "en_US", "--seed", str(SEED), "--count", str(count),
        "--cache-mb", "1",
    )  # fmt: skip
    rows = _generate(mock_home, count)
    with httpx.Client(base_url=mock.url) as client:
        for _ in range(3):
            for page in (1, 51, 52, 53):  # 52 spans the first and second blocks
                answer = client.get("/people", params={"_page": page, "_limit": 20})
                served = answer.json()
                assert [r.pop("id") for r in served] == list(
                    range((page - 1) * 20 + 1, min(page * 20, count) + 1)
                )
                assert served == rows[(page - 1) * 20 : page * 20]
            one = client.get(f"/people/{BLOCK_ROWS + 5}").json()
            assert one == {"id": BLOCK_ROWS + 5, **rows[BLOCK_ROWS + 4]}
        assert client.patch("/people/3", json={"city": "Paris"}).json()["city"] == "Paris"
        assert client.get("/people/3").json() == {"id": 3, **rows[2], "city": "Paris"}
        assert client.delete("/people/4").status_code == 200
        assert client.get("/people/4").status_code == 404
        assert client.get(f"/people/{count + 1}").status_code == 404
