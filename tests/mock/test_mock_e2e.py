"""``phony mock start`` end to end: a real process on 127.0.0.1, driven over HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.mock.conftest import MockServer, StartMock, generate_rows

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]

SEED = "4242"


@pytest.fixture(scope="module")
def people(start_mock: StartMock) -> MockServer:
    """The ready schema person (en_US), 5,000 records."""
    return start_mock("person", "--locale", "en_US", "--seed", SEED, "--count", "5000")


@pytest.fixture(scope="module")
def blog(start_mock: StartMock, blog_schemas: Path) -> MockServer:
    """The user's own TOML schemas: 30 users, 200 posts referring to them."""
    return start_mock(
        f"users={blog_schemas / 'users.toml'}",
        f"posts={blog_schemas / 'posts.toml'}:200",
        "--seed", SEED, "--count", "30",
    )  # fmt: skip


def test_a_page_is_exactly_what_phony_generate_writes(
    people: MockServer, mock_home: dict[str, str]
) -> None:
    rows = generate_rows(
        mock_home, "--schema", "person", "--locale", "en_US", "--count", "40", "--seed", SEED
    )
    first = httpx.get(f"{people.url}/people", params={"_page": 1, "_per_page": 20})
    second = httpx.get(f"{people.url}/people", params={"_page": 2, "_limit": 20})
    served = first.json()["data"] + second.json()
    assert [r["id"] for r in served] == list(range(1, 41))
    assert [{k: v for k, v in r.items() if k != "id"} for r in served] == rows


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_numbers_are_the_same_json_in_a_file_and_in_the_mock(
    fmt: str, blog: MockServer, blog_schemas: Path, mock_home: dict[str, str]
) -> None:
    import json

    from tests.conftest import phony_command

    written = subprocess.run(
        [*phony_command(), "generate", "--schema", str(blog_schemas / "posts.toml"),
         "--count", "200", "--seed", SEED, "--format", fmt],
        capture_output=True, text=True, env=mock_home, check=True, timeout=120,
    ).stdout  # fmt: skip
    rows = json.loads(written) if fmt == "json" else list(map(json.loads, written.splitlines()))
    served = httpx.get(f"{blog.url}/posts", params={"_limit": 200}).json()
    assert [{k: v for k, v in r.items() if k != "id"} for r in served] == rows
    assert all(isinstance(r["likes"], int) and isinstance(r["score"], float) for r in rows)


def test_a_far_page_equals_the_same_rows_of_a_full_generation(
    people: MockServer, mock_home: dict[str, str]
) -> None:
    rows = generate_rows(
        mock_home, "--schema", "person", "--locale", "en_US", "--count", "5000", "--seed", SEED
    )
    page = httpx.get(f"{people.url}/people", params={"_page": 200, "_limit": 25}).json()
    assert [{k: v for k, v in r.items() if k != "id"} for r in page] == rows[4975:5000]
    one = httpx.get(f"{people.url}/people/4321").json()
    assert {k: v for k, v in one.items() if k != "id"} == rows[4320]


def test_v1_per_page_answers_v1s_envelope_and_v0_parameters_an_array(people: MockServer) -> None:
    v1 = httpx.get(f"{people.url}/people", params={"_page": 3, "_per_page": 7})
    body = v1.json()
    assert set(body) == {"first", "prev", "next", "last", "pages", "items", "data"}
    assert (body["first"], body["prev"], body["next"]) == (1, 2, 4)
    assert (body["last"], body["pages"], body["items"]) == (715, 715, 5000)
    assert [r["id"] for r in body["data"]] == list(range(15, 22))
    assert v1.headers["x-total-count"] == "5000"
    last = httpx.get(f"{people.url}/people", params={"_page": 715, "_per_page": 7}).json()
    assert (last["prev"], last["next"], [r["id"] for r in last["data"]]) == (
        714,
        None,
        [4999, 5000],
    )
    # _per_page alone is page 1; v1's envelope holds the same records as v0's array.
    alone = httpx.get(f"{people.url}/people", params={"_per_page": 7}).json()
    assert (alone["prev"], alone["next"]) == (None, 2)
    v0 = httpx.get(f"{people.url}/people", params={"_page": 3, "_limit": 7}).json()
    assert isinstance(v0, list)
    assert v0 == body["data"]
    assert isinstance(httpx.get(f"{people.url}/people", params={"_page": 3}).json(), list)
    refused = httpx.get(f"{people.url}/people", params={"_per_page": 0})
    assert refused.status_code == 400
    assert "_per_page" in refused.json()["detail"]


def test_pagination_headers_follow_json_server(people: MockServer) -> None:
    answer = httpx.get(f"{people.url}/people", params={"_page": 3, "_limit": 10})
    assert answer.status_code == 200
    assert answer.headers["x-total-count"] == "5000"
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "X-Total-Count" in answer.headers["access-control-expose-headers"]
    link = answer.headers["link"]
    for rel, page in (("first", 1), ("prev", 2), ("next", 4), ("last", 500)):
        assert f'_page={page}>; rel="{rel}"' in link
    assert [r["id"] for r in answer.json()] == list(range(21, 31))
    sliced = httpx.get(f"{people.url}/people", params={"_start": 5, "_end": 8}).json()
    assert [r["id"] for r in sliced] == [6, 7, 8]


def test_cors_preflight_is_answered(people: MockServer) -> None:
    answer = httpx.options(
        f"{people.url}/people/1",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert answer.status_code == 204
    assert "PATCH" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"] == "content-type"


def test_filters_sorting_and_search(blog: MockServer) -> None:
    users = httpx.get(f"{blog.url}/users", params={"_limit": 100}).json()
    assert len(users) == 30
    pros = httpx.get(f"{blog.url}/users", params={"plan": "pro"})
    assert pros.json() == [u for u in users if u["plan"] == "pro"]
    assert pros.headers["x-total-count"] == str(len(pros.json()))
    either = httpx.get(f"{blog.url}/users", params=[("plan", "pro"), ("plan", "team")]).json()
    assert either == [u for u in users if u["plan"] in ("pro", "team")]
    ranged = httpx.get(f"{blog.url}/users", params={"age_gte": 30, "age_lte": 50}).json()
    assert ranged == [u for u in users if 30 <= u["age"] <= 50]
    v1 = httpx.get(f"{blog.url}/users", params={"age:gt": 60}).json()
    assert v1 == [u for u in users if u["age"] > 60]
    letter = users[0]["first_name"][:2]
    like = httpx.get(f"{blog.url}/users", params={"first_name_like": letter.lower()}).json()
    assert like == [u for u in users if letter.lower() in u["first_name"].lower()]
    sorted_v0 = httpx.get(f"{blog.url}/users", params={"_sort": "age", "_order": "desc"}).json()
    assert [u["age"] for u in sorted_v0] == sorted((u["age"] for u in users), reverse=True)
    sorted_v1 = httpx.get(f"{blog.url}/users", params={"_sort": "-age,id"}).json()
    assert sorted_v1 == sorted(users, key=lambda u: (-u["age"], u["id"]))
    needle = users[7]["last_name"].lower()
    found = httpx.get(f"{blog.url}/users", params={"q": needle}).json()
    assert users[7] in found
    assert all(any(needle in str(v).lower() for v in u.values()) for u in found)


def test_typed_values_and_a_bad_query_is_a_400(blog: MockServer) -> None:
    post = httpx.get(f"{blog.url}/posts/1").json()
    assert isinstance(post["user_id"], int)
    assert isinstance(post["likes"], int)
    assert isinstance(post["score"], float)
    assert post["title"] == f"Notes from {post['city']}"
    bad = httpx.get(f"{blog.url}/users", params={"nickname": "x"})
    assert bad.status_code == 400
    assert "unknown field 'nickname'" in bad.json()["detail"]
    assert httpx.get(f"{blog.url}/users", params={"age": "old"}).status_code == 400
    assert httpx.get(f"{blog.url}/users", params={"_limit": 5000}).status_code == 400
    assert httpx.get(f"{blog.url}/users/31").status_code == 404
    assert httpx.get(f"{blog.url}/nothing").status_code == 404


def test_nested_routes_embed_and_expand(blog: MockServer) -> None:
    posts = httpx.get(f"{blog.url}/posts", params={"_limit": 1000}).json()
    assert len(posts) == 200
    mine = [p for p in posts if p["user_id"] == 3]
    nested = httpx.get(f"{blog.url}/users/3/posts")
    assert nested.status_code == 200
    assert nested.json() == mine
    assert nested.headers["x-total-count"] == str(len(mine))
    embedded = httpx.get(f"{blog.url}/users/3", params={"_embed": "posts"}).json()
    assert embedded["posts"] == mine
    page = httpx.get(f"{blog.url}/users", params={"_embed": "posts", "_limit": 3}).json()
    assert [len(u["posts"]) for u in page] == [
        sum(p["user_id"] == u["id"] for p in posts) for u in page
    ]
    expanded = httpx.get(f"{blog.url}/posts/1", params={"_expand": "user"}).json()
    user = httpx.get(f"{blog.url}/users/{posts[0]['user_id']}").json()
    assert expanded["user"] == user
    assert httpx.get(f"{blog.url}/posts/1/users").status_code == 404


def test_writes_validation_and_reset(start_mock: StartMock, blog_schemas: Path) -> None:
    server = start_mock(str(blog_schemas), "--seed", SEED, "--count", "30")
    url = server.url
    original = httpx.get(f"{url}/users/2").json()
    new = {
        "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
        "age": 36, "plan": "pro", "joined": "2020-02-02",
    }  # fmt: skip
    created = httpx.post(f"{url}/users", json=new)
    assert created.status_code == 201
    assert created.json() == {"id": 31, **new}
    assert httpx.get(f"{url}/users/31").json() == {"id": 31, **new}
    assert httpx.get(f"{url}/users").headers["x-total-count"] == "31"

    patched = httpx.patch(f"{url}/users/2", json={"age": 77})
    assert patched.json() == {**original, "age": 77}
    replaced = httpx.put(f"{url}/users/3", json=new)
    assert replaced.json() == {"id": 3, **new}
    assert httpx.delete(f"{url}/users/4").status_code == 200
    assert httpx.get(f"{url}/users/4").status_code == 404
    ids = [u["id"] for u in httpx.get(f"{url}/users", params={"_limit": 100}).json()]
    assert 4 not in ids
    assert ids[-1] == 31
    assert len(ids) == 30
    aged = httpx.get(f"{url}/users", params={"age": 77}).json()
    assert {**original, "age": 77} in aged
    assert all(u["age"] == 77 for u in aged)

    cases = [
        ({**new, "age": "36"}, "age", "expected an integer"),
        ({**new, "plan": "gold"}, "plan", "expected one of"),
        ({**new, "joined": "yesterday"}, "joined", "ISO date"),
        ({**new, "nickname": "x"}, "nickname", "unknown field"),
        ({k: v for k, v in new.items() if k != "email"}, "email", "is required"),
        ({**new, "email": "nobody"}, "email", "email address"),
    ]
    for body, field, message in cases:
        answer = httpx.post(f"{url}/users", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["field"] == field
        assert message in answer.json()["detail"]
    bad_ref = httpx.post(
        f"{url}/posts",
        json={"user_id": 99, "title": "t", "city": "c", "likes": 1, "score": 1.5},
    )
    assert bad_ref.status_code == 422
    assert bad_ref.json()["field"] == "user_id"
    assert httpx.patch(f"{url}/users/2", json={"id": 5}).status_code == 422
    assert httpx.post(f"{url}/users", content=b"{not json").status_code == 400

    snapshot = httpx.get(f"{url}/__snapshot").json()
    assert httpx.post(f"{url}/__reset").status_code == 200
    assert httpx.get(f"{url}/users/2").json() == original
    assert httpx.get(f"{url}/users/31").status_code == 404
    assert httpx.get(f"{url}/users/4").status_code == 200
    assert httpx.post(f"{url}/__restore", json=snapshot).status_code == 200
    assert httpx.get(f"{url}/users/2").json()["age"] == 77
    assert httpx.get(f"{url}/users/4").status_code == 404
    assert httpx.post(f"{url}/__restore", json={"x": 1}).status_code == 422
    log = server.stop()
    assert "Traceback" not in log, log


def test_the_sqlite_overlay_survives_a_restart(
    run_phony: Run,
    start_mock: StartMock,
    blog_schemas: Path,
    tmp_path: Path,
    mock_home: dict[str, str],
) -> None:
    state = f"sqlite:{tmp_path / 'state.db'}"
    args = (str(blog_schemas), "--seed", SEED, "--count", "30", "--state", state)
    first = start_mock(*args)
    before = httpx.get(f"{first.url}/users", params={"_limit": 5}).json()
    httpx.patch(f"{first.url}/users/1", json={"plan": "team", "age": 20}).raise_for_status()
    httpx.delete(f"{first.url}/posts/2").raise_for_status()
    created = httpx.post(
        f"{first.url}/posts",
        json={"user_id": 1, "title": "t", "city": "c", "likes": 1, "score": 1.5},
    ).json()
    first.stop()
    second = start_mock(*args)
    after = httpx.get(f"{second.url}/users", params={"_limit": 5}).json()
    assert after[0] == {**before[0], "plan": "team", "age": 20}
    assert after[1:] == before[1:]
    assert httpx.get(f"{second.url}/posts/2").status_code == 404
    assert httpx.get(f"{second.url}/posts/{created['id']}").json() == created
    refused = run_phony(
        "mock", "start", str(blog_schemas), "--seed", "7", "--state", state, env=mock_home
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: --state sqlite:")
    assert "seed 4242" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_same_records_across_restarts_and_worker_counts(
    start_mock: StartMock, blog_schemas: Path
) -> None:
    args = (str(blog_schemas), "--seed", SEED, "--count", "30")
    one = start_mock(*args)
    two = start_mock(*args, "--workers", "2")
    again = start_mock(*args)
    queries = [
        ("/users", {"_page": 1, "_limit": 30}),
        ("/posts", {"_page": 2, "_per_page": 7}),
        ("/posts/17", {}),
        ("/users", {"_sort": "-joined", "_limit": 5}),
    ]
    for path, params in queries:
        answers = [httpx.get(f"{s.url}{path}", params=params) for s in (one, two, again)]
        assert answers[0].json() == answers[1].json() == answers[2].json(), path
        assert len({a.headers.get("x-total-count") for a in answers}) == 1
    # Writes through one worker are seen by the other (a shared SQLite overlay).
    httpx.patch(f"{two.url}/users/5", json={"age": 55}).raise_for_status()
    for _ in range(6):  # new connections land on either worker
        with httpx.Client() as client:
            assert client.get(f"{two.url}/users/5").json()["age"] == 55


def test_port_zero_serves_on_the_free_port_it_prints(mock_home: dict[str, str]) -> None:
    import re
    import time

    from tests.conftest import phony_command
    from tests.e2e.conftest import spawn, stop, wait_until_up

    args = [*phony_command(), "mock", "start", "person", "--locale", "en_US", "--count", "5"]
    process, log = spawn([*args, "--host", "127.0.0.1", "--port", "0"], mock_home)
    try:
        found = None
        deadline = time.monotonic() + 30
        while found is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"http://127\.0\.0\.1:(\d+) ", log.read_text(errors="replace"))
            time.sleep(0.1)
        assert found is not None, log.read_text(errors="replace")
        port = int(found.group(1))
        assert port != 0  # the URL printed is one that answers
        wait_until_up(f"http://127.0.0.1:{port}/openapi.json", process, log)
        assert len(httpx.get(f"http://127.0.0.1:{port}/people").json()) == 5
    finally:
        stop(process, log)
