"""Over HTTP: a manifest whose text holds a control character is a 422, after the token."""

from __future__ import annotations

from typing import Any

import pytest

from phony_registry.digests import digest_bytes
from phony_registry.manifest import Manifest
from tests.server.conftest import Server

pytestmark = pytest.mark.anyio


def _manifest(blob: bytes, **text: Any) -> Manifest:
    fields = {"kind": "first_name", "locale": "tr_TR", "license": "MIT", "description": "ok"}
    fields.update(text)
    return Manifest.model(
        "alice/names", "1.0.0", digest=digest_bytes(blob), size=len(blob), format_version=2,
        **fields,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ({"description": "two\nlines"}, "description: holds a control character (\\n)"),
        ({"description": "red\x1b[31m"}, "description: holds a control character (\\x1b)"),
        ({"license": "MIT\x07"}, "license: holds a control character (\\x07)"),
        ({"locale": "tr_TR\u202e"}, "locale: holds a control character (\\u202e)"),
        ({"kind": "first\x9bname"}, "kind: holds a control character (\\x9b)"),
    ],
    ids=["newline", "esc", "bel-licence", "bidi-locale", "c1-kind"],
)
async def test_publishing_text_with_a_control_character_is_422(
    server: Server, blob: bytes, text: dict[str, str], detail: str
) -> None:
    alice = server.publisher("alice")
    digest = digest_bytes(blob)
    stored = await server.client.put(f"/v1/blobs/{digest}", content=blob, headers=alice.headers)
    assert stored.status_code == 201, stored.text
    before = server.files()
    body = _manifest(blob, **text).signed(alice.key).to_bytes()
    answer = await server.client.put(
        "/v1/models/alice/names/versions/1.0.0", content=body, headers=alice.headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "error": "invalid_manifest",
        "detail": f"{detail}; it must be printable text on one line",
    }
    assert server.files() == before
    missing = await server.client.get("/v1/models/alice/names")
    assert missing.status_code == 404


async def test_without_a_token_it_is_401_before_the_text_is_read(
    server: Server, blob: bytes
) -> None:
    alice = server.publisher("alice")
    body = _manifest(blob, description="two\nlines").signed(alice.key).to_bytes()
    answer = await server.client.put("/v1/models/alice/names/versions/1.0.0", content=body)
    assert answer.status_code == 401, answer.text
    wrong = await server.client.put(
        "/v1/models/alice/names/versions/1.0.0",
        content=body,
        headers={"Authorization": "Bearer phony_0123456789abcdef_" + "a" * 43},
    )
    assert wrong.status_code == 401, wrong.text


async def test_a_printable_manifest_still_publishes(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    answer = await server.push(alice, "alice/names", "1.0.0", blob, description="Türkçe — 名前")
    assert answer.status_code == 201, answer.text
