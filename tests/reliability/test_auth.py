"""Test 10: every write endpoint refuses every bad token, writes nothing, leaks nothing.

A real server process (access log on) on a folder storage. Tokens that are
missing, malformed, wrong, expired or revoked get a 401; a token for another
namespace a 403. The storage (private area included) is byte for byte what
it was, and no token appears in a response, in the server's log or in the
client's error message.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey
from phony_server.storage import LocalStorage
from phony_server.tokens import TokenStore
from tests.conftest import phony_command
from tests.e2e.conftest import RegistryProcess
from tests.reliability.conftest import digest_of, random_words, start_server, train_model

pytestmark = pytest.mark.e2e

NAME = "alice/words"


@pytest.fixture
def storage_dir(tmp_path: Path) -> Path:
    """The server's storage folder."""
    return tmp_path / "registry-data"


@pytest.fixture
def server(storage_dir: Path) -> Iterator[RegistryProcess]:
    """A server on a folder, logging every request."""
    process = start_server("--storage", str(storage_dir), env={}, log_level="info")
    yield process
    process.stop()


def _secret_part(token: str) -> str:
    """The secret of ``phony_<id>_<secret>`` (the id is public; the secret may hold ``_``)."""
    prefix, token_id, secret = token.split("_", 2)
    assert (prefix, len(token_id), len(secret)) == ("phony", 16, 43)
    return secret


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (lock files aside) with the sha256 of its bytes."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def _write_endpoints(url: str) -> set[tuple[str, str]]:
    schema = httpx.get(f"{url}/openapi.json").json()
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("put", "post", "patch", "delete")
    }


def test_bad_tokens_on_every_write_endpoint_are_refused_and_never_leak(
    server: RegistryProcess, storage_dir: Path, tmp_path: Path
) -> None:
    tokens = TokenStore(LocalStorage(storage_dir / "private", private=True))
    good, _ = tokens.create(["alice"])
    bob, _ = tokens.create(["bob"])
    expired, _ = tokens.create(["alice"], expires_in=60, now=time.time() - 3600)
    revoked, revoked_record = tokens.create(["alice"])
    tokens.revoke(revoked_record.id)
    wrong_secret = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    secrets = [good, bob, expired, revoked, wrong_secret]

    key = PrivateKey.generate()
    blob = train_model(random_words(200, seed=4), order=2)
    other = train_model(random_words(200, seed=9), order=2)
    http = httpx.Client(base_url=server.url, timeout=60)
    headers = {"Authorization": f"Bearer {good}"}
    assert http.put("/v1/keys", json={"public_key": key.public_key.to_base64()}, headers=headers)
    uploaded = http.put(f"/v1/blobs/{digest_of(blob)}", content=blob, headers=headers)
    assert uploaded.status_code == 201, uploaded.text

    def manifest(version: str, data: bytes) -> bytes:
        return (
            Manifest.model(NAME, version, digest=digest_of(data), size=len(data), format_version=2)
            .signed(key)
            .to_bytes()
        )

    published = http.put(
        f"/v1/models/{NAME}/versions/1.0.0", content=manifest("1.0.0", blob), headers=headers
    )
    assert published.status_code == 201, published.text

    # (method, path template, body, JSON body, namespaced)
    writes = [
        ("PUT", "/v1/blobs/{digest}", f"/v1/blobs/{digest_of(other)}", other, None, False),
        (
            "PUT",
            "/v1/models/{name}/versions/{version}",
            f"/v1/models/{NAME}/versions/1.1.0",
            manifest("1.1.0", blob),
            None,
            True,
        ),
        (
            "POST",
            "/v1/models/{name}/versions/{version}/yank",
            f"/v1/models/{NAME}/versions/1.0.0/yank",
            None,
            None,
            True,
        ),
        (
            "POST",
            "/v1/models/{name}/versions/{version}/unyank",
            f"/v1/models/{NAME}/versions/1.0.0/unyank",
            None,
            None,
            True,
        ),
        (
            "PUT",
            "/v1/keys",
            "/v1/keys",
            None,
            {"public_key": PrivateKey.generate().public_key.to_base64(), "namespace": "alice"},
            True,
        ),
    ]
    # Every write endpoint of the API is covered here (a new one must be added).
    documented = {(m, p.replace("{name:path}", "{name}")) for m, p in _write_endpoints(server.url)}
    assert documented == {(m, p) for m, p, *_ in writes}

    bad = {
        "missing": (None, 401),
        "empty": ("Bearer", 401),
        "not-bearer": ("Basic YWxpY2U6c2VjcmV0", 401),
        "garbage": ("Bearer not-a-token", 401),
        "token-without-scheme": (good, 401),
        "wrong-secret": (f"Bearer {wrong_secret}", 401),
        "expired": (f"Bearer {expired}", 401),
        "revoked": (f"Bearer {revoked}", 401),
        "other-namespace": (f"Bearer {bob}", 403),
    }
    before = _tree(storage_dir)
    for method, _template, path, content, payload, namespaced in writes:
        for what, (header, status) in bad.items():
            if what == "other-namespace" and not namespaced:
                continue  # blobs belong to no namespace: any valid token may upload one
            answer = http.request(
                method,
                path,
                content=content,
                json=payload,
                headers={"Authorization": header} if header is not None else {},
            )
            where = f"{method} {path} with {what} token"
            assert answer.status_code == status, f"{where}: {answer.status_code} {answer.text}"
            assert set(answer.json()) == {"error", "detail"}, where
            if status == 401:
                assert answer.headers["WWW-Authenticate"].startswith("Bearer"), where
            for secret in secrets:
                assert _secret_part(secret) not in answer.text, where
    assert _tree(storage_dir) == before
    http.close()

    # The client's own error message for a refused push names no token either.
    model = tmp_path / "words.phony"
    model.write_bytes(other)
    push = subprocess.run(
        [*phony_command(), "models", "push", str(model), f"{NAME}@2.0.0", "--registry", server.url],
        capture_output=True,
        text=True,
        env={**os.environ, "PHONY_TOKEN": revoked},
        timeout=120,
        check=False,
    )
    assert push.returncode != 0
    assert f"error: registry: token {revoked_record.id} was revoked" in push.stderr

    log = server.stop()
    assert "PUT /v1/keys" in log  # the access log is on: requests are logged
    for secret in secrets:
        part = _secret_part(secret)
        assert part not in log
        assert part not in push.stdout + push.stderr
    assert _tree(storage_dir) == before
