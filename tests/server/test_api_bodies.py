"""Request bodies of the write API: read after the token, capped, checked field by field.

The real-socket side (401 before a byte is sent, the connection closed, peak
memory) is in tests/reliability/test_server_limits.py; these run the
application in-process for the answers themselves.
"""

from __future__ import annotations

import pytest

from tests.server.conftest import Server

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("body", "status", "error", "detail"),
    [
        pytest.param(b"{", 422, "invalid", "key registration: invalid JSON", id="bad-json"),
        pytest.param(b"[]", 422, "invalid", "is an array, not an object", id="array"),
        pytest.param(
            b'{"public_key": "' + b"A" * 44 + b'", "extra": 1}',
            422, "invalid", "extra: unknown field", id="unknown-field",
        ),
        pytest.param(
            b'{"public_key": "' + b"A" * 44 + b'", "namespace": "Bad Name"}',
            422, "invalid", "namespace: must be a namespace", id="bad-namespace",
        ),
        pytest.param(
            b'{"public_key": 5}', 422, "invalid", "public_key: must be a string", id="int"
        ),
        pytest.param(
            b'{"public_key": "' + b"A" * 44 + b'"}',
            422, "invalid", "public_key: not a base64 or PEM Ed25519 public key", id="not-a-key",
        ),
        pytest.param(
            b'{"public_key": "\\ud800' + b"A" * 44 + b'"}',
            422, "invalid", "lone surrogate", id="lone-surrogate",
        ),
        pytest.param(
            b'{"public_key": "' + b"A" * 9000 + b'"}',
            413, "payload_too_large", "over the 8192 byte limit", id="over-the-cap",
        ),
    ],
)  # fmt: skip
async def test_key_registration_bodies(
    server: Server, body: bytes, status: int, error: str, detail: str
) -> None:
    alice = server.publisher("alice", register=False)
    headers = {**alice.headers, "Content-Type": "application/json"}
    answer = await server.client.put("/v1/keys", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    assert detail in answer.json()["detail"]


async def test_without_a_token_the_body_does_not_matter(server: Server) -> None:
    for body in (b"{", b'{"public_key": 5}', b"A" * 100_000):
        answer = await server.client.put("/v1/keys", content=body)
        assert answer.status_code == 401, answer.text


async def test_a_valid_registration_still_works(server: Server) -> None:
    alice = server.publisher("alice", register=False)
    body = {"public_key": alice.key.public_key.to_base64(), "namespace": "alice"}
    answer = await server.client.put("/v1/keys", json=body, headers=alice.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["added"] == ["alice"]


async def test_the_openapi_schema_still_describes_the_key_body(server: Server) -> None:
    schema = (await server.client.get("/openapi.json")).json()
    body = schema["paths"]["/v1/keys"]["put"]["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["properties"]) == {"public_key", "namespace"}
