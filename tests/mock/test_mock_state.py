"""The write overlay in process (httpx's ASGI transport): bookkeeping and its cap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from phony_server.mock import state
from phony_server.mock.app import MockApp
from phony_server.mock.config import MockConfig
from phony_server.mock.sources import CollectionSource

SCHEMA = """
[columns.name]
type = "choice"
values = ["ada", "grace", "linus"]

[columns.age]
type = "integer"
min = 1
max = 99
"""


@pytest.fixture
def client(tmp_path: Path) -> Any:
    (tmp_path / "people.toml").write_text(SCHEMA)
    config = MockConfig(
        [CollectionSource("people", str(tmp_path / "people.toml"))], seed=3, count=10
    )
    app = MockApp(config, warm=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")


async def _ids(client: httpx.AsyncClient) -> list[int]:
    answer = await client.get("/people", params={"_limit": 100})
    ids = [r["id"] for r in answer.json()]
    assert answer.headers["x-total-count"] == str(len(ids))
    return ids


@pytest.mark.anyio
async def test_pages_skip_deleted_records_and_end_with_created_ones(client: Any) -> None:
    async with client:
        for rid in (2, 5, 6):
            assert (await client.delete(f"/people/{rid}")).status_code == 200
        for _ in range(3):
            answer = await client.post("/people", json={"name": "ada", "age": 30})
            assert answer.status_code == 201
        assert (await client.delete("/people/12")).status_code == 200
        assert await _ids(client) == [1, 3, 4, 7, 8, 9, 10, 11, 13]
        page = await client.get("/people", params={"_page": 2, "_limit": 4})
        assert [r["id"] for r in page.json()] == [8, 9, 10, 11]
        assert page.headers["x-total-count"] == "9"


@pytest.mark.anyio
async def test_the_overlay_is_capped_and_a_reset_frees_it(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "MAX_WRITES", 3)
    async with client:
        for _ in range(3):
            assert (await client.post("/people", json={"name": "ada", "age": 1})).status_code == 201
        full = await client.post("/people", json={"name": "ada", "age": 1})
        assert full.status_code == 507
        assert "POST /__reset" in full.json()["detail"]
        assert (await client.patch("/people/1", json={"age": 2})).status_code == 507
        assert (await client.post("/__reset")).status_code == 200
        assert (await client.patch("/people/1", json={"age": 2})).status_code == 200


STEPPED = """
[columns.id]
type = "sequence"
start = 100
step = 10

[columns.name]
type = "choice"
values = ["ada", "grace"]
"""


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_created_records_follow_the_schemas_id_sequence(tmp_path: Path, kind: str) -> None:
    (tmp_path / "items.toml").write_text(STEPPED)
    state_spec = "memory" if kind == "memory" else f"sqlite:{tmp_path / 'state.db'}"
    config = MockConfig(
        [CollectionSource("items", str(tmp_path / "items.toml"))],
        seed=3,
        count=3,
        state=state_spec,
    )
    app = MockApp(config, warm=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")
    async with client:
        listed = (await client.get("/items")).json()
        assert [r["id"] for r in listed] == [100, 110, 120]
        created = [(await client.post("/items", json={"name": "ada"})).json()["id"] for _ in "ab"]
        assert created == [130, 140]
        assert (await client.get("/items/140")).json() == {"id": 140, "name": "ada"}
        assert (await client.delete("/items/140")).status_code == 200
        assert (await client.post("/items", json={"name": "grace"})).json()["id"] == 150
        assert [r["id"] for r in (await client.get("/items")).json()] == [100, 110, 120, 130, 150]
        snapshot = (await client.get("/__snapshot")).json()
        assert snapshot["collections"]["items"]["next_id"] == 160
        # A next id off the sequence (or before it) cannot be restored.
        snapshot["collections"]["items"]["next_id"] = 165
        refused = await client.post("/__restore", json=snapshot)
        assert refused.status_code == 422
        assert refused.json()["field"] == "collections.items.next_id"


TYPED = """
[columns.id]
type = "sequence"
start = 5
step = 3

[columns."na{me}"]
type = "choice"
values = ["Çağla", "O\\"Neil", "line\\nbreak"]

[columns.age]
type = "integer"
min = 1
max = 99

[columns.score]
type = "number"
min = 0
max = 1000
decimals = 3

[columns.joined]
type = "date"
start = "2020-01-01"
end = "2024-12-31"
"""


@pytest.mark.anyio
async def test_a_page_encoded_by_column_is_the_json_of_its_records(tmp_path: Path) -> None:
    (tmp_path / "typed.toml").write_text(TYPED)
    config = MockConfig([CollectionSource("typed", str(tmp_path / "typed.toml"))], seed=9, count=50)
    app = MockApp(config, warm=False)
    collection = app.collections["typed"]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for start, stop in [(0, 20), (37, 50), (49, 60), (60, 70)]:
        assert collection.rows_json(start, stop) == dumps(collection.rows(start, stop))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")
    async with client:
        before = (await client.get("/typed", params={"_page": 2, "_limit": 20})).json()
        assert before == collection.rows(20, 40)
        assert {r["na{me}"] for r in before} <= {"Çağla", 'O"Neil', "line\nbreak"}
        v1 = (await client.get("/typed", params={"_page": 2, "_per_page": 20})).json()
        assert (v1["prev"], v1["next"], v1["last"], v1["items"]) == (1, 3, 3, 50)
        assert v1["data"] == before
        # With a write, pages take the path that merges the overlay: the same records.
        assert (await client.patch("/typed/8", json={"age": 7})).status_code == 200
        after = (await client.get("/typed", params={"_page": 2, "_limit": 20})).json()
        assert after == before
        first = (await client.get("/typed", params={"_per_page": 2})).json()
        assert first["data"][1] == {**collection.rows(1, 2)[0], "age": 7}
