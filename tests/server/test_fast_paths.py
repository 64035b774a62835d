"""The manifest API's fast path and the index cache behind it.

``LayoutFastPath`` answers ``GET /v1/models/<name>/manifests/<ref>`` itself on
a folder storage; these tests hold it to the FastAPI route's answers and check
that replicas sharing the storage never see an index older than the storage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from phony_server.api import manifest_fast_path
from phony_server.app import create_app
from phony_server.settings import Settings
from tests.server.conftest import Server, digest_of, make_blob

pytestmark = pytest.mark.anyio

NAME = "alice/names"


@pytest.fixture
async def replica(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """A second server process's app on the same storage folder."""
    app = create_app(Settings(storage_dir=server.root.parent, max_upload=64_000))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://replica.test") as client:
        yield client


async def _publish_two(server: Server, blob: bytes, other_blob: bytes) -> None:
    alice = server.publisher("alice")
    for version, data in [("1.0.0", blob), ("1.1.0", other_blob)]:
        answer = await server.push(alice, NAME, version, data)
        assert answer.status_code == 201, answer.text


def _route_only(server: Server) -> httpx.AsyncClient:
    """A client of the same app with the fast path switched off (every request routed)."""
    app = create_app(Settings(storage_dir=server.root.parent, max_upload=64_000))
    app.user_middleware.clear()  # drops LayoutFastPath, the only middleware added
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://route.test")


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(f"/v1/models/{NAME}/manifests/latest", id="latest"),
        pytest.param(f"/v1/models/{NAME}/manifests/^1", id="range"),
        pytest.param(f"/v1/models/{NAME}/manifests/1.0.0", id="exact"),
        pytest.param("/v1/models/Alice/Names/manifests/latest", id="other-spelling"),
        pytest.param(f"/v1/models/{NAME}/manifests/9.9.9", id="unknown-version"),
        pytest.param("/v1/models/alice/nobody/manifests/latest", id="unknown-model"),
        pytest.param("/v1/models/alice/names/x/manifests/latest", id="three-segments"),
        pytest.param("/v1/models/_x/names/manifests/latest", id="bad-namespace"),
        pytest.param(f"/v1/models/{NAME}/manifests/not-a-spec!", id="bad-spec"),
    ],
)
async def test_fast_path_answers_exactly_as_the_route(
    server: Server, blob: bytes, other_blob: bytes, path: str
) -> None:
    await _publish_two(server, blob, other_blob)
    fast = await server.client.get(path)
    async with _route_only(server) as client:
        routed = await client.get(path)
    assert (fast.status_code, fast.content) == (routed.status_code, routed.content)
    assert dict(fast.headers) == dict(routed.headers)


async def test_fast_path_serves_the_manifest_the_route_found(
    server: Server, blob: bytes, other_blob: bytes
) -> None:
    await _publish_two(server, blob, other_blob)
    registry = server.app.state.registry  # type: ignore[attr-defined]
    answer = manifest_fast_path(registry, f"/v1/models/{NAME}/manifests/latest")
    assert answer is not None
    body, headers = answer
    assert headers["X-Phony-Version"] == "1.1.0"
    assert body == (server.root / "manifests/alice/names/1.1.0.json").read_bytes()
    # Refusals are left to the route, which words them.
    assert manifest_fast_path(registry, "/v1/models/alice/nobody/manifests/latest") is None
    assert manifest_fast_path(registry, "/v1/models/alice/names/manifests/latest/x") is None


async def test_a_yank_by_another_replica_is_seen_at_once(
    server: Server, replica: httpx.AsyncClient, blob: bytes, other_blob: bytes
) -> None:
    await _publish_two(server, blob, other_blob)
    alice = server.publisher("alice")
    latest = f"/v1/models/{NAME}/manifests/latest"
    assert (await replica.get(latest)).headers["x-phony-version"] == "1.1.0"  # now cached there
    yanked = await server.client.post(
        f"/v1/models/{NAME}/versions/1.1.0/yank", headers=alice.headers
    )
    assert yanked.status_code == 200
    assert (await replica.get(latest)).headers["x-phony-version"] == "1.0.0"
    info = (await replica.get(f"/v1/models/{NAME}")).json()
    assert [v["yanked"] for v in info["versions"]] == [False, True]
    await server.client.post(f"/v1/models/{NAME}/versions/1.1.0/unyank", headers=alice.headers)
    assert (await replica.get(latest)).headers["x-phony-version"] == "1.1.0"


async def test_a_version_published_by_another_replica_is_seen_at_once(
    server: Server, replica: httpx.AsyncClient, blob: bytes, other_blob: bytes
) -> None:
    await _publish_two(server, blob, other_blob)
    latest = f"/v1/models/{NAME}/manifests/latest"
    assert (await replica.get(latest)).headers["x-phony-version"] == "1.1.0"
    third = make_blob(["ada", "bora", "cem", "deniz"], name="third")
    answer = await server.push(server.publisher("alice"), NAME, "1.2.0", third)
    assert answer.status_code == 201
    found = await replica.get(latest)
    assert found.headers["x-phony-version"] == "1.2.0"
    assert found.headers["etag"] != ""
    assert digest_of(third) in found.text


async def test_an_index_replaced_with_one_of_the_same_size_is_read_again(
    server: Server, blob: bytes, other_blob: bytes, tmp_path: Path
) -> None:
    """The cache key is the storage's version tag (inode, mtime, size), not the size alone."""
    await _publish_two(server, blob, other_blob)
    latest = f"/v1/models/{NAME}/manifests/latest"
    assert (await server.client.get(latest)).headers["x-phony-version"] == "1.1.0"
    index = server.root / "index/alice/names.jsonl"
    first, second = index.read_bytes().splitlines(keepends=True)
    # The newer line yanked, padded back to the same size (JSON allows the space).
    yanked = second.replace(b'"yanked":false}', b'"yanked":true }')
    assert yanked != second
    assert len(yanked) == len(second)
    temp = tmp_path / "index.tmp"
    temp.write_bytes(first + yanked)
    temp.replace(index)  # as every storage write does: a new file renamed into place
    assert (await server.client.get(latest)).headers["x-phony-version"] == "1.0.0"
