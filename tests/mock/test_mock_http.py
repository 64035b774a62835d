"""The mock's HTTP answers against what json-server's users expect (in process, httpx's ASGI
transport): headers, statuses and the page figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from phony_server.mock.app import MockApp
from phony_server.mock.config import MockConfig
from phony_server.mock.sources import CollectionSource

USERS = """
[columns.name]
type = "template"
template = "ada"

[columns.age]
type = "integer"
min = 1
max = 99
"""

POSTS = """
[columns.user_id]
type = "integer"
min = 1
max = 5

[columns.title]
type = "template"
template = "hello"
"""

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Five users and twenty posts referring to them, writes in memory."""
    (tmp_path / "users.toml").write_text(USERS)
    (tmp_path / "posts.toml").write_text(POSTS)
    config = MockConfig(
        [
            CollectionSource("users", str(tmp_path / "users.toml"), count=5),
            CollectionSource("posts", str(tmp_path / "posts.toml"), count=20),
        ],
        seed=3,
    )
    app = MockApp(config, warm=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        yield client


async def test_a_created_record_is_located_and_the_header_is_exposed(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/users", json={"name": "grace", "age": 40})
    assert created.status_code == 201
    assert created.headers["location"] == "/users/6"
    assert "Location" in created.headers["access-control-expose-headers"]
    assert (await client.get(created.headers["location"])).json() == created.json()
