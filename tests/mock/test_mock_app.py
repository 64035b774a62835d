"""The mock's request bodies and ids in process (httpx's ASGI transport): what it refuses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from phony_registry.errors import UsageError
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


MAX_ID = 2**63 - 1

STEPPED = """
[columns.id]
type = "sequence"
start = 100
step = 10

[columns.name]
type = "template"
template = "ada"
"""


@pytest.mark.parametrize(
    ("schema", "count", "maximum"),
    [
        pytest.param(SCHEMA, 10**20, MAX_ID, id="ids-from-1"),
        pytest.param(SCHEMA, MAX_ID + 1, MAX_ID, id="one-too-many"),
        pytest.param(STEPPED, (MAX_ID - 100) // 10 + 2, (MAX_ID - 100) // 10 + 1, id="stepped"),
    ],
)
def test_a_count_past_the_largest_id_is_refused_naming_the_maximum(
    tmp_path: Path, schema: str, count: int, maximum: int
) -> None:
    (tmp_path / "people.toml").write_text(schema)
    config = MockConfig(
        [CollectionSource("people", str(tmp_path / "people.toml"))], seed=3, count=count
    )
    with pytest.raises(UsageError) as refused:
        MockApp(config, warm=False)
    assert f"at most {maximum:,}" in str(refused.value)
    assert f"{count:,}" in str(refused.value)


async def _client_of(tmp_path: Path, count: int, state: str) -> httpx.AsyncClient:
    (tmp_path / "people.toml").write_text(SCHEMA)
    config = MockConfig(
        [CollectionSource("people", str(tmp_path / "people.toml"))],
        seed=3,
        count=count,
        state=state,
    )
    app = MockApp(config, warm=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_at_the_largest_count_every_id_and_page_is_served(tmp_path: Path, kind: str) -> None:
    state = "memory" if kind == "memory" else f"sqlite:{tmp_path / 'state.db'}"
    # Room for one created record, at the largest id.
    async with await _client_of(tmp_path, MAX_ID - 1, state) as client:
        last = await client.get("/people", params={"_page": (MAX_ID - 1) // 2, "_limit": 2})
        assert last.status_code == 200
        assert [r["id"] for r in last.json()] == [MAX_ID - 2, MAX_ID - 1]
        assert last.headers["x-total-count"] == str(MAX_ID - 1)
        assert 'rel="next"' not in last.headers["link"]
        v1 = await client.get("/people", params={"_page": (MAX_ID - 1) // 2, "_per_page": 2})
        assert v1.json()["next"] is None
        assert [r["id"] for r in v1.json()["data"]] == [MAX_ID - 2, MAX_ID - 1]
        assert (await client.get(f"/people/{MAX_ID - 1}")).json()["id"] == MAX_ID - 1
        created = await client.post("/people", json={"name": "x", "age": 1})
        assert created.status_code == 201
        assert created.json()["id"] == MAX_ID
        assert (await client.get(f"/people/{MAX_ID}")).json() == created.json()
        after = await client.get("/people", params={"_page": (MAX_ID + 1) // 2, "_limit": 2})
        assert after.json() == [created.json()]
        assert after.headers["x-total-count"] == str(MAX_ID)
        patched = await client.patch(f"/people/{MAX_ID}", json={"age": 2})
        assert patched.json() == {"id": MAX_ID, "name": "x", "age": 2}
        before = (await client.get("/__snapshot")).json()
        # Every id is used: a creation is refused and changes nothing.
        full = await client.post("/people", json={"name": "y", "age": 1})
        assert full.status_code == 507
        assert f"{MAX_ID:,}" in full.json()["detail"]
        assert (await client.get("/__snapshot")).json() == before
        beyond = await client.get(f"/people/{MAX_ID + 1}")
        assert beyond.status_code == 404
        assert beyond.json()["error"] == "not_found"
        assert (await client.delete(f"/people/{MAX_ID}")).status_code == 200
        assert (await client.get(f"/people/{MAX_ID}")).status_code == 404


@pytest.mark.anyio
@pytest.mark.parametrize(
    "text",
    ["%C2%B2", "%D9%A3", "%EF%BC%93", "1e3", "-3", "3.0", str(MAX_ID + 1), "9" * 40],
    ids=["superscript-two", "arabic-indic-three", "fullwidth-three", "exponent", "negative",
         "decimal", "past-the-largest", "forty-digits"],
)  # fmt: skip
async def test_an_id_that_is_not_plain_ascii_digits_within_range_is_not_found(
    client: Any, text: str
) -> None:
    for method in ("GET", "DELETE", "PATCH"):
        answer = await client.request(method, f"/people/{text}", json={"age": 3})
        assert answer.status_code == 404, (method, text)
        assert answer.json()["error"] == "not_found"
    assert (await client.get("/people/0003")).json()["id"] == 3


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/people/5", {"id": 5.0, "name": "ada", "age": 3}),
        ("PATCH", "/people/5", {"id": 5.0}),
        ("PATCH", "/people/1", {"id": True}),
    ],
    ids=["put-float", "patch-float", "patch-boolean"],
)
async def test_a_body_giving_its_id_other_than_as_an_integer_is_refused(
    client: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    # 5.0 == 5 and True == 1 in Python: the body's own id must still be a JSON integer.
    before = await _state(client)
    refused = await client.request(method, path, json=body)
    assert refused.status_code == 422
    assert (refused.json()["field"], refused.json()["detail"]) == (
        "id",
        "id: expected an integer, or leave it out",
    )
    assert await _state(client) == before
