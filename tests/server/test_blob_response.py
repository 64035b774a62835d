"""A blob answer sends the file the storage opened, never a path opened again.

``LocalStorage.open`` refuses symbolic links; Starlette's ``FileResponse``
would open its path again by name (and an ASGI server given the path through
``http.response.pathsend`` too), following a link planted there in between.
``_BlobFile`` overrides Starlette's private ``_open_file``: this test fails
if a Starlette release stops calling it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from phony_server.static import _BlobFile

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("span", [None, (0, 5)], ids=["whole", "range"])
async def test_a_blob_response_sends_its_open_file_not_its_path(
    tmp_path: Path, span: tuple[int, int] | None
) -> None:
    stored = tmp_path / "blob"
    stored.write_bytes(b"stored blob bytes")
    planted = tmp_path / "planted"
    planted.write_bytes(b"the private area's signing key")
    handle = stored.open("rb")
    response = _BlobFile(
        str(planted),
        handle,
        span,
        stat_result=os.fstat(handle.fileno()),
        media_type="application/octet-stream",
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "headers": [],
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "extensions": {"http.response.pathsend": {}},
    }
    await response(scope, receive, send)
    assert not any(m["type"] == "http.response.pathsend" for m in sent)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert body == (b"stored" if span else b"stored blob bytes")
    assert handle.closed
