"""A version in a URL is checked by phony_registry.versions, as every client checks
it: what a folder registry accepts, the server accepts, and a refusal names the
limit it breaks."""

from __future__ import annotations

import pytest

from phony_registry.versions import MAX_IDENTIFIER_LENGTH, MAX_NUMBER_DIGITS
from tests.server.conftest import Server

pytestmark = pytest.mark.anyio

SHA_VERSION = f"1.0.0-{'a' * 40}"
TOO_LONG = f"1.0.0-{'a' * (MAX_IDENTIFIER_LENGTH + 1)}"
TOO_BIG = "1" * (MAX_NUMBER_DIGITS + 1) + ".0.0"


async def test_a_version_with_a_commit_id_publishes(server: Server, blob: bytes) -> None:
    answer = await server.push(server.publisher("alice"), "alice/names", SHA_VERSION, blob)
    assert answer.status_code == 201, answer.text
    info = await server.client.get(f"/v1/models/alice/names/versions/{SHA_VERSION}")
    assert info.status_code == 200
    assert info.json()["version"] == SHA_VERSION


@pytest.mark.parametrize(
    ("version", "detail"),
    [
        (TOO_LONG, f"a pre-release identifier is at most {MAX_IDENTIFIER_LENGTH} characters"),
        (TOO_BIG, f"a number is at most {MAX_NUMBER_DIGITS} digits"),
        ("1.0.0-a_b", "a pre-release identifier uses only ASCII letters, digits and '-'"),
    ],
    ids=["identifier", "number", "character"],
)
@pytest.mark.parametrize("method", ["PUT", "GET", "POST-yank"])
async def test_a_version_past_a_limit_is_422_naming_it(
    server: Server, version: str, detail: str, method: str
) -> None:
    url = f"/v1/models/alice/names/versions/{version}"
    if method == "PUT":
        # Checked before the token: no token, still the version's refusal.
        answer = await server.client.put(url, content=b"{}")
    elif method == "GET":
        answer = await server.client.get(url)
    else:
        answer = await server.client.post(f"{url}/yank")
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["error"] == "invalid_version"
    assert body["detail"].endswith(f": {detail}"), body
    assert "pattern" not in body["detail"]


async def test_the_openapi_schema_shows_the_same_rule(server: Server) -> None:
    from phony_registry.versions import VERSION_PATTERN

    schema = (await server.client.get("/openapi.json")).json()
    operation = schema["paths"]["/v1/models/{name}/versions/{version}"]["put"]
    (param,) = [p for p in operation["parameters"] if p["name"] == "version"]
    assert param["schema"]["pattern"] == VERSION_PATTERN
