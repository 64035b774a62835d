"""A publisher key of small order (under which a forged signature verifies) never gets in.

The reproduction: an operator's ``token create --key AAAA...``, a publisher's
``PUT /v1/keys`` with the identity point, then a manifest whose only
signature is ``01 00...00`` (64 bytes) by that key's id, which verifies for
any manifest. Each step is refused, and a key stored before phony refused it
vouches for nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from phony_registry.manifest import Manifest
from tests.core.test_signing_small_order import REFUSED, REFUSED_B64, WHY, pem_of
from tests.server.conftest import Server, digest_of

pytestmark = pytest.mark.anyio

IDENTITY = bytes([1]) + bytes(31)
#: R = identity, S = 0: valid under the identity key for every message.
FORGED_SIGNATURE = base64.b64encode(bytes([1]) + bytes(63)).decode()


def forged_manifest(name: str, version: str, blob: bytes) -> bytes:
    """A manifest whose only signature is the forgery by the identity key."""
    manifest = Manifest.model(
        name, version, digest=digest_of(blob), size=len(blob), format_version=2
    ).to_dict(signatures=False)
    manifest["signatures"] = [
        {"keyid": hashlib.sha256(IDENTITY).hexdigest(), "sig": FORGED_SIGNATURE}
    ]
    return json.dumps(manifest).encode()


@pytest.mark.parametrize("name", list(REFUSED), ids=list(REFUSED))
async def test_key_registration_refuses_the_key(server: Server, name: str) -> None:
    zed = server.publisher("zed", register=False)
    for text in (REFUSED_B64[name], pem_of(bytes.fromhex(REFUSED[name]))):
        answer = await server.client.put(
            "/v1/keys", json={"public_key": text, "namespace": "zed"}, headers=zed.headers
        )
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["error"] == "invalid"
        assert WHY[name] in body["detail"]
    assert not (server.private / "publishers").exists()


async def test_a_forged_manifest_is_refused_end_to_end(server: Server, blob: bytes) -> None:
    zed = server.publisher("zed", register=False)
    answer = await server.client.put(
        "/v1/keys", json={"public_key": REFUSED_B64["identity"]}, headers=zed.headers
    )
    assert answer.status_code == 422
    digest = digest_of(blob)
    stored = await server.client.put(f"/v1/blobs/{digest}", content=blob, headers=zed.headers)
    assert stored.status_code == 201
    published = await server.client.put(
        "/v1/models/zed/forged/versions/1.0.0",
        content=forged_manifest("zed/forged", "1.0.0", blob),
        headers=zed.headers,
    )
    assert published.status_code == 400, published.text
    assert published.json()["error"] == "signature"
    assert not (server.root / "manifests/zed").exists()
    assert not (server.root / "index/zed").exists()


async def test_a_key_stored_before_the_fix_vouches_for_nothing(server: Server, blob: bytes) -> None:
    """publishers/zed.json written by an older server: the forgery is refused, good keys work."""
    zed = server.publisher("zed")  # a good key, registered
    path = server.private / "publishers/zed.json"
    record = json.loads(path.read_text())
    record["keys"].append(
        {
            "keyid": hashlib.sha256(IDENTITY).hexdigest(),
            "public_key": REFUSED_B64["identity"],
            "added": "0",
            "token": zed.token_id,
        }
    )
    path.write_text(json.dumps(record))
    digest = digest_of(blob)
    assert (
        await server.client.put(f"/v1/blobs/{digest}", content=blob, headers=zed.headers)
    ).status_code == 201
    forged = await server.client.put(
        "/v1/models/zed/forged/versions/1.0.0",
        content=forged_manifest("zed/forged", "1.0.0", blob),
        headers=zed.headers,
    )
    assert forged.status_code == 400, forged.text
    assert (await server.push(zed, "zed/real", "1.0.0", blob)).status_code == 201
    listed = await server.client.get("/v1/keys/zed")
    assert listed.status_code == 200
    assert REFUSED_B64["identity"] not in listed.text


@pytest.mark.parametrize("name", list(REFUSED), ids=list(REFUSED))
def test_token_create_refuses_the_key(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from phony_client.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "zed.pub").write_text(pem_of(bytes.fromhex(REFUSED[name])))
    for key in (REFUSED_B64[name], "zed.pub"):
        code = main(
            ["registry", "token", "create", "--storage", "data", "--namespace", "zed", "--key", key]
        )
        out, err = capsys.readouterr()
        assert code == 7, err
        assert out == ""
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"error: public key {REFUSED_B64[name]} is refused: ")
        assert WHY[name] in lines[0]
    assert not (tmp_path / "data").exists()  # no token was created
