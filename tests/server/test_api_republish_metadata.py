"""Over HTTP: the same bytes under a published version with other metadata are a 409."""

from __future__ import annotations

import pytest

from phony_registry.manifest import Manifest
from tests.server.conftest import Server

pytestmark = pytest.mark.anyio


async def test_republishing_with_another_description_is_409(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    first = await server.push(alice, "alice/names", "1.0.0", blob, description="Names")
    assert first.status_code == 201, first.text
    path = server.root / "manifests/alice/names/1.0.0.json"
    before = path.read_bytes(), (server.root / "snapshot.json").read_bytes()
    changed = await server.push(alice, "alice/names", "1.0.0", blob, description="CHANGED")
    assert changed.status_code == 409, changed.text
    assert changed.json() == {
        "error": "already_exists",
        "detail": "alice/names@1.0.0 is already published with the same content but other "
        "metadata (description differs); a published version never changes: publish a new "
        "version",
    }
    assert (path.read_bytes(), (server.root / "snapshot.json").read_bytes()) == before
    assert Manifest.from_bytes(path.read_bytes()).description == "Names"
    same = await server.push(alice, "alice/names", "1.0.0", blob, description="Names")
    assert same.status_code == 200, same.text
    assert same.json()["created"] is False
