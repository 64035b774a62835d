"""The mock's HTTP answers against what json-server's users expect (in process, httpx's ASGI
transport): headers, statuses and the page figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from phony_server.mock import app as app_module
from phony_server.mock import state
from phony_server.mock.app import MockApp
from phony_server.mock.config import MockConfig
from phony_server.mock.query import ListQuery, _plain_page, matching
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

[columns.views]
type = "integer"
min = 9007199254740990
max = 9007199254740999
"""

pytestmark = pytest.mark.anyio


def _client(tmp_path: Path, **options: Any) -> httpx.AsyncClient:
    (tmp_path / "users.toml").write_text(USERS)
    (tmp_path / "posts.toml").write_text(POSTS)
    config = MockConfig(
        [
            CollectionSource("users", str(tmp_path / "users.toml"), count=5),
            CollectionSource("posts", str(tmp_path / "posts.toml"), count=20),
        ],
        seed=3,
        **options,
    )
    app = MockApp(config, warm=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Five users and twenty posts referring to them, writes in memory."""
    async with _client(tmp_path) as client:
        yield client


async def test_a_created_record_is_located_and_the_header_is_exposed(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/users", json={"name": "grace", "age": 40})
    assert created.status_code == 201
    assert created.headers["location"] == "/users/6"
    assert "Location" in created.headers["access-control-expose-headers"]
    assert (await client.get(created.headers["location"])).json() == created.json()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/users", "GET, HEAD, POST"),
        ("POST", "/users/1", "GET, HEAD, PUT, PATCH, DELETE"),
        ("PUT", "/users/1/posts", "GET, HEAD, POST"),
        ("GET", "/__reset", "POST"),
    ],
    ids=["collection", "record", "nested", "reset"],
)
async def test_a_method_not_allowed_says_which_are_in_an_allow_header(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    answer = await client.request(method, path, json={})
    assert answer.status_code == 405
    assert answer.json()["error"] == "method_not_allowed"
    assert answer.headers["allow"] == allowed


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/users"), ("PATCH", "/users/1"), ("DELETE", "/users/1")],
    ids=["create", "patch", "delete"],
)
async def test_a_write_to_a_read_only_mock_says_reads_are_allowed(
    tmp_path: Path, method: str, path: str
) -> None:
    async with _client(tmp_path, read_only=True) as client:
        answer = await client.request(method, path, json={"name": "x", "age": 3})
    assert answer.status_code == 405
    assert answer.json()["error"] == "read_only"
    assert answer.headers["allow"] == "GET, HEAD"


async def test_v1_envelope_past_the_last_page_points_back_to_the_last_page(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/posts", params={"_per_page": 2, "_page": 10**20})
    page = answer.json()
    assert (page["first"], page["prev"], page["next"], page["last"], page["pages"]) == (
        1,
        10,
        None,
        10,
        10,
    )
    assert page["data"] == []
    # The Link header and the envelope name the same pages.
    assert '_page=10>; rel="prev"' in answer.headers["link"]


async def test_v1_envelope_of_nothing_is_one_empty_page(client: httpx.AsyncClient) -> None:
    page = (await client.get("/posts", params={"title": "none", "_per_page": 5})).json()
    assert page == {
        "first": 1,
        "prev": None,
        "next": None,
        "last": 1,
        "pages": 1,
        "items": 0,
        "data": [],
    }


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("_page", "1_0"),
        ("_page", "\u0663"),
        ("_limit", "\uff13"),
        ("_start", "+2"),
        ("_end", " 2"),
        ("_per_page", "2\n"),
    ],
    ids=["underscore", "arabic-indic-three", "fullwidth-three", "plus", "space", "newline"],
)
async def test_a_page_parameter_that_is_not_ascii_digits_is_a_400(
    client: httpx.AsyncClient, name: str, text: str
) -> None:
    # As an id in a path: int() alone would read these as 10, 3, 3, 2, 2, 2.
    answer = await client.get("/posts", params={name: text})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "bad_query",
        "detail": f"{name}: expected an integer, got {text!r}",
    }


async def test_a_nested_lists_links_carry_only_the_clients_parameters(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/users/2/posts", params={"_page": 1, "_limit": 1})
    assert answer.status_code == 200
    first, total = answer.json(), int(answer.headers["x-total-count"])
    assert total > 1
    assert [post["user_id"] for post in first] == [2]
    links = {rel: link["url"] for rel, link in answer.links.items()}
    assert links == {
        "first": "/users/2/posts?_limit=1&_page=1",
        "next": "/users/2/posts?_limit=1&_page=2",
        "last": f"/users/2/posts?_limit=1&_page={total}",
    }
    second = await client.get(links["next"])
    assert [post["user_id"] for post in second.json()] == [2]
    assert second.json() != first


async def test_an_integer_filter_compares_exactly_past_a_floats_precision(
    client: httpx.AsyncClient,
) -> None:
    # 2**53 + 1 and 2**53 are one float: compared as floats, each filter takes both.
    every = (await client.get("/posts")).json()
    views = sorted({post["views"] for post in every})
    assert len(views) > 2
    for value in views:
        same = (await client.get("/posts", params={"views": value})).json()
        assert {post["views"] for post in same} == {value}
        above = (await client.get("/posts", params={"views_gt": value})).json()
        assert {post["views"] for post in above} == {v for v in views if v > value}
        other = (await client.get("/posts", params={"views_ne": value})).json()
        assert len(other) == len(every) - len(same)


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1_0", "0x10"])
async def test_a_number_filter_that_is_no_finite_number_is_a_400(
    client: httpx.AsyncClient, text: str
) -> None:
    answer = await client.get("/posts", params={"views_gte": text})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "bad_query",
        "detail": f"views: expected a number, got {text!r}",
    }


@pytest.mark.parametrize("body", [b"[]", b"null", b'"ada"', b"7"], ids=str)
async def test_a_body_that_is_not_an_object_is_a_422_naming_no_field(
    client: httpx.AsyncClient, body: bytes
) -> None:
    for method, path in [("POST", "/users"), ("PUT", "/users/1"), ("PATCH", "/users/1")]:
        answer = await client.request(method, path, content=body)
        assert answer.status_code == 422
        assert answer.json() == {"error": "invalid", "detail": "expected a JSON object"}


async def test_a_post_to_a_nested_route_creates_a_child_of_that_parent(
    client: httpx.AsyncClient,
) -> None:
    body = {"title": "nested", "views": 9007199254740990}
    created = await client.post("/users/2/posts", json=body)
    assert created.status_code == 201
    assert created.json() == {"id": 21, "user_id": 2, **body}
    assert created.headers["location"] == "/posts/21"
    children = (await client.get("/users/2/posts", params={"title": "nested"})).json()
    assert children == [created.json()]
    # The route names the parent: a body naming another is refused, not overruled.
    other = await client.post("/users/2/posts", json={**body, "user_id": 3})
    assert other.status_code == 422
    assert other.json()["field"] == "user_id"
    same = await client.post("/users/2/posts", json={**body, "user_id": 2})
    assert same.status_code == 201
    missing = await client.post("/users/9/posts", json=body)
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "detail": "no users with id 9"}


async def test_the_openapi_document_describes_the_nested_create(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    create = paths["/users/{id}/posts"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert sorted(schema["properties"]) == ["title", "user_id", "views"]
    assert sorted(schema["required"]) == ["title", "views"]
    assert sorted(create["responses"]) == ["201", "400", "404", "422"]


async def _count(client: httpx.AsyncClient, path: str, **params: Any) -> int:
    answer = await client.get(path, params={**params, "_limit": 0})
    assert answer.status_code == 200
    return int(answer.headers["x-total-count"])


async def test_delete_with_dependent_takes_the_children_along(client: httpx.AsyncClient) -> None:
    # Without it, the records referring to a deleted one stay, their reference dangling.
    posts_of_3 = await _count(client, "/posts", user_id=3)
    assert posts_of_3 > 0
    assert (await client.delete("/users/3")).status_code == 200
    assert await _count(client, "/posts", user_id=3) == posts_of_3
    dangling = (await client.get("/posts", params={"user_id": 3, "_expand": "user"})).json()
    assert {post["user"] for post in dangling} == {None}
    created = await client.post("/users/2/posts", json={"title": "mine", "views": 9007199254740990})
    children = await _count(client, "/posts", user_id=2)
    assert children > 1
    total = await _count(client, "/posts")
    user = (await client.get("/users/2")).json()
    deleted = await client.delete("/users/2", params={"_dependent": "posts"})
    assert deleted.status_code == 200
    assert deleted.json() == user
    assert await _count(client, "/posts", user_id=2) == 0
    assert await _count(client, "/posts") == total - children
    assert (await client.get(created.headers["location"])).status_code == 404
    assert (await client.get("/users/2")).status_code == 404
    snapshot = (await client.get("/__snapshot")).json()["collections"]
    assert len(snapshot["posts"]["records"]) == children - 1  # the created one is forgotten


@pytest.mark.parametrize("dependent", ["users", "nothing", "posts,nothing"])
async def test_delete_with_a_dependent_that_does_not_refer_to_it_is_a_400_deleting_nothing(
    client: httpx.AsyncClient, dependent: str
) -> None:
    before = (await client.get("/__snapshot")).json()
    answer = await client.delete("/users/4", params={"_dependent": dependent})
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_query"
    assert "has no field referring to users" in answer.json()["detail"]
    assert (await client.get("/__snapshot")).json() == before


async def test_delete_with_dependents_past_the_overlays_room_deletes_nothing(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = {user: await _count(client, "/posts", user_id=user) for user in range(1, 6)}
    user = max(counts, key=lambda u: counts[u])
    assert counts[user] >= 2
    # Each collection's overlay has room for all but one of the user's posts.
    monkeypatch.setattr(state, "MAX_WRITES", counts[user] - 1)
    before = (await client.get("/__snapshot")).json()
    full = await client.delete(f"/users/{user}", params={"_dependent": "posts"})
    assert full.status_code == 507
    assert full.json()["error"] == "overlay_full"
    assert (await client.get("/__snapshot")).json() == before
    assert (await client.get(f"/users/{user}")).status_code == 200


async def test_the_openapi_document_describes_dependent(client: httpx.AsyncClient) -> None:
    delete = (await client.get("/openapi.json")).json()["paths"]["/users/{id}"]["delete"]
    assert [p["name"] for p in delete["parameters"]] == ["_dependent"]
    assert "400" in delete["responses"]


async def test_a_list_read_while_a_created_record_is_being_deleted_skips_it(
    tmp_path: Path,
) -> None:
    # A scan (or DELETE ?_dependent) runs in a thread: a read may take a created id
    # from the layer's list just before another thread forgets its record.
    (tmp_path / "users.toml").write_text(USERS)
    config = MockConfig([CollectionSource("users", str(tmp_path / "users.toml"), count=5)], seed=3)
    app = MockApp(config, warm=False)
    users = app.collections["users"]
    created = app.overlay.create("users", {"name": "grace", "age": 40})
    layer = app.overlay.layers["users"]
    del layer.records[created["id"]]  # the moment between the two steps of a delete
    records, _ = _plain_page(users, layer, 0, 10)
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    scanned = matching(users, app.overlay, ListQuery(q="a"), scan_limit=100)
    assert [r["id"] for r in scanned] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/users"), ("GET", "/users/99"), ("OPTIONS", "/users"), ("POST", "/users")],
    ids=["list", "error", "preflight", "create"],
)
async def test_cors_allows_a_pages_credentials_as_json_server_does(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    # fetch(..., {credentials: "include"}) is refused by browsers when the answer
    # allows the origin "*": json-server names the page's origin and allows credentials.
    origin = "http://localhost:5173"
    answer = await client.request(
        method, path, json={"name": "x", "age": 3}, headers={"origin": origin}
    )
    assert answer.headers["access-control-allow-origin"] == origin
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in answer.headers["vary"]
    anonymous = await client.request(method, path, json={"name": "x", "age": 3})
    assert anonymous.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in anonymous.headers
    # A cache keeping the answer without Origin must not give it to a page.
    assert "Origin" in anonymous.headers["vary"]


async def test_array_parameters_as_axios_writes_them_are_repeated_parameters(
    client: httpx.AsyncClient,
) -> None:
    # axios sends params {id: [2, 4]} as id[]=2&id[]=4; json-server (qs) reads an array.
    brackets = await client.get("/posts?user_id[]=2&user_id[]=4&_sort[]=-id&_embed[]=nothing")
    assert brackets.status_code == 400
    assert "_embed" in brackets.json()["detail"]
    repeated = await client.get("/posts?user_id=2&user_id=4&_sort=-id")
    assert {post["user_id"] for post in repeated.json()} == {2, 4}
    # qs.stringify's default (and axios with indexes: true) numbers them.
    for query in ("user_id[]=2&user_id[]=4&_sort[]=-id", "user_id[0]=2&user_id[1]=4&_sort=-id"):
        brackets = await client.get(f"/posts?{query}")
        assert brackets.status_code == 200
        assert brackets.json() == repeated.json()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"name": "x",\n "age": }', "the body is not JSON: Expecting value at line 2, column 9"),
        (b"", "the body is not JSON: Expecting value at line 1, column 1"),
        (b'{"name": "\xff"}', "the body is not JSON: not UTF-8 text (byte 10)"),
        (b"[" * 100_000, "the body is not JSON: nested too deeply"),
    ],
    ids=["syntax", "empty", "latin-1", "deep"],
)
async def test_a_body_that_is_not_json_is_a_400_saying_where(
    client: httpx.AsyncClient, body: bytes, detail: str
) -> None:
    answer = await client.post("/users", content=body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "bad_request", "detail": detail}


async def test_a_relation_or_sort_field_named_twice_is_worked_out_once(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each _embed scans the child collection: 3,000 copies in a URL were 3,000 scans.
    scans: list[str] = []

    def counted(collection: Any, *args: Any) -> Any:
        scans.append(collection.name)
        return matching(collection, *args)

    monkeypatch.setattr(app_module, "matching", counted)
    once = (await client.get("/users", params={"_embed": "posts"})).json()
    scans.clear()
    many = await client.get("/users?_embed=posts&_embed=posts,posts&_embed[]=posts")
    assert many.json() == once
    assert scans == ["posts"]
    sorted_once = (await client.get("/posts", params={"_sort": "views"})).json()
    sorted_twice = await client.get("/posts?_sort=views,-views&_sort=views&_order=asc,desc")
    assert sorted_twice.json() == sorted_once
    by_views = (await client.get("/posts", params={"_sort": "-views,id"})).json()
    assert by_views != (await client.get("/posts", params={"_sort": "id"})).json()
    assert (await client.get("/posts", params={"_sort": "-views,id,views"})).json() == by_views


async def test_embed_of_a_parent_expands_it_as_json_server_v1_does(
    client: httpx.AsyncClient,
) -> None:
    # json-server v1 dropped _expand: /posts?_embed=user embeds each post's user.
    for path in ("/posts/3", "/posts"):
        embedded = await client.get(path, params={"_embed": "user", "_limit": 3})
        expanded = await client.get(path, params={"_expand": "user", "_limit": 3})
        assert embedded.status_code == 200
        assert embedded.json() == expanded.json()
    post = (await client.get("/posts/3", params={"_embed": "user"})).json()
    assert post["user"] == (await client.get(f"/users/{post['user_id']}")).json()
    both = (await client.get("/users/2", params={"_embed": "posts"})).json()
    assert {p["user_id"] for p in both["posts"]} == {2}
    unknown = await client.get("/posts", params={"_embed": "author"})
    assert unknown.status_code == 400
    assert unknown.json()["detail"] == (
        "_embed: 'author' is neither a collection referring to posts nor one posts refers to"
    )
