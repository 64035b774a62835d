"""The mock's request bodies and ids in process (httpx's ASGI transport): what it refuses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from phony_server.mock.app import MockApp
from phony_server.mock.config import MockConfig
from phony_server.mock.sources import CollectionSource

SCHEMA = """
[columns.name]
type = "template"
template = "ada"

[columns.age]
type = "integer"
min = 1
max = 99
"""


@pytest.fixture(params=["memory", "sqlite"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Ten people, their writes in memory or in a SQLite file."""
    (tmp_path / "people.toml").write_text(SCHEMA)
    state = "memory" if request.param == "memory" else f"sqlite:{tmp_path / 'state.db'}"
    config = MockConfig(
        [CollectionSource("people", str(tmp_path / "people.toml"))], seed=3, count=10, state=state
    )
    app = MockApp(config, warm=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        yield client


async def _state(client: httpx.AsyncClient) -> tuple[Any, Any, Any]:
    """What a client can see of the writes: the snapshot, every record, and record 5."""
    snapshot = await client.get("/__snapshot")
    listed = await client.get("/people", params={"_limit": 100})
    five = await client.get("/people/5")
    assert (snapshot.status_code, listed.status_code, five.status_code) == (200, 200, 200)
    return snapshot.json(), listed.json(), five.json()


def _restore_body(name: str) -> bytes:
    snapshot = {
        "phony_mock_snapshot": 1,
        "seed": 3,
        "collections": {
            "people": {
                "next_id": 12,
                "records": [{"id": 11, "record": {"id": 11, "name": name, "age": 3}}],
            }
        },
    }
    return json.dumps(snapshot).encode()


# Each body holds a string that is not Unicode text: a lone surrogate, written
# as a JSON escape or as the bytes of one (CESU-8), as a value, a key, or deep
# inside a snapshot.
SURROGATES = [
    pytest.param("POST", "/people", rb'{"name": "\ud800", "age": 3}', "name", id="post-value"),
    pytest.param("POST", "/people", rb'{"\ud800": 1}', "a key", id="post-key"),
    pytest.param("POST", "/people", b'{"name": "x\xed\xa0\x80", "age": 3}', "name", id="cesu"),
    pytest.param("PATCH", "/people/5", rb'{"name": "\udfff"}', "name", id="patch"),
    pytest.param("PUT", "/people/5", rb'{"name": "\udfff\ud800", "age": 3}', "name", id="put"),
    pytest.param(
        "POST",
        "/__restore",
        _restore_body("\udc00"),
        "collections.people.records[0].record.name",
        id="restore",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "path", "body", "where"), SURROGATES)
async def test_a_body_with_a_lone_surrogate_is_refused_and_nothing_is_written(
    client: Any, method: str, path: str, body: bytes, where: str
) -> None:
    before = await _state(client)
    answer = await client.request(
        method, path, content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    error = answer.json()
    assert error["error"] == "bad_request"
    assert "surrogate" in error["detail"]
    assert where in error["detail"]
    assert await _state(client) == before
    # No id was used up: the next record is the first after the generated ones.
    created = await client.post("/people", json={"name": "ok", "age": 3})
    assert created.status_code == 201
    assert created.json()["id"] == 11
    assert (await client.get("/people/11")).json() == {"id": 11, "name": "ok", "age": 3}


@pytest.mark.anyio
async def test_a_surrogate_pair_is_one_character_and_is_kept(client: Any) -> None:
    body = rb'{"name": "smile \ud83d\ude00", "age": 3}'
    created = await client.post(
        "/people", content=body, headers={"content-type": "application/json"}
    )
    assert created.status_code == 201
    assert created.json() == {"id": 11, "name": "smile \U0001f600", "age": 3}
    assert (await client.get("/people/11")).json()["name"] == "smile \U0001f600"
    listed = await client.get("/people", params={"q": "smile"})
    assert [r["id"] for r in listed.json()] == [11]
