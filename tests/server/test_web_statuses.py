"""Web pages and sample JSON answer a refusal with the status its error code has
everywhere else (docs/registry-protocol.md), and a page URL with a trailing
slash redirects to the page."""

from __future__ import annotations

import re

import pytest

from tests.server.conftest import Server, make_blob

pytestmark = pytest.mark.anyio


@pytest.fixture
async def published(server: Server) -> Server:
    answer = await server.push(server.publisher("alice"), "alice/names", "1.0.0", make_blob())
    assert answer.status_code == 201, answer.text
    return server


def _title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found is not None
    return found[1].strip()


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/models/alice/names/", "/models/alice/names"),
        ("/models/alice/names//", "/models/alice/names"),
        ("/models/alice/names/?version=1.0.0&seed=3", "/models/alice/names?version=1.0.0&seed=3"),
        ("/locales/tr_TR/", "/locales/tr_TR"),
    ],
    ids=["slash", "two-slashes", "query-kept", "locale"],
)
async def test_a_trailing_slash_redirects_to_the_page(
    published: Server, path: str, target: str
) -> None:
    answer = await published.client.get(path)
    assert answer.status_code == 308, answer.text[:200]
    assert answer.headers["location"] == target
    assert (await published.client.get(path, follow_redirects=True)).status_code in (200, 404)
    head = await published.client.head(path)
    assert head.status_code == 308
    assert head.headers["location"] == target


async def test_the_redirected_model_page_is_the_page(published: Server) -> None:
    page = await published.client.get("/models/alice/names/", follow_redirects=True)
    assert page.status_code == 200
    assert _title(page.text).startswith("alice/names")


@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/models/alice/nope", 404, "Not found · phony registry"),
        ("/models/alice/names?version=9.9.9", 404, "Not found · phony registry"),
        ("/models/Alice/..%2Fetc", 422, "Bad request · phony registry"),
        ("/models/..%2f..%2fprivate%2ftokens", 422, "Bad request · phony registry"),
        ("/models/alice/names?seed=-3", 400, "Bad request · phony registry"),
        ("/models/", 404, "Not found · phony registry"),
        ("/models//", 404, "Not found · phony registry"),
    ],
    ids=["unknown", "no-version", "bad-name", "traversal", "bad-seed", "no-name", "slashes"],
)
async def test_page_refusals_have_their_code_status(
    published: Server, path: str, status: int, title: str
) -> None:
    answer = await published.client.get(path)
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    assert _title(answer.text) == title
    assert "location" not in answer.headers


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/samples/..%2f..%2fprivate%2ftokens", 422, "invalid_name"),
        ("/samples/Alice/..%2Fetc", 422, "invalid_name"),
        ("/samples/alice/names/", 422, "invalid_name"),
        ("/samples/alice/nope", 404, "not_found"),
        ("/samples/alice/names?version=9.9.9", 404, "not_found"),
        ("/samples/alice/names?seed=abc", 400, "usage"),
    ],
    ids=["traversal", "bad-name", "slash", "unknown", "no-version", "bad-seed"],
)
async def test_sample_refusals_have_their_code_status(
    published: Server, path: str, status: int, code: str
) -> None:
    answer = await published.client.get(path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"] == code


async def test_one_status_for_invalid_name_from_the_api_samples_and_pages(
    published: Server,
) -> None:
    # "admin" is a reserved namespace: the shape passes, the naming rules refuse it.
    api = await published.client.get("/v1/models/admin/names")
    samples = await published.client.get("/samples/admin/names")
    page = await published.client.get("/models/admin/names")
    assert api.json()["error"] == samples.json()["error"] == "invalid_name"
    assert api.status_code == samples.status_code == page.status_code == 422
