"""Fixtures for the server tests: a registry app in-process, tokens, keys, small models.

Requests go through httpx's ASGI transport: the real application, no socket.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey
from phony_server.app import create_app
from phony_server.settings import Settings
from phony_server.tokens import TokenStore

NAMES = ["ayse", "fatma", "emine", "hatice", "zeynep", "elif", "mehmet", "mustafa", "ahmet"]


@pytest.fixture
def anyio_backend() -> str:
    """The API tests run on asyncio."""
    return "asyncio"


def make_blob(values: list[str] | None = None, name: str = "names") -> bytes:
    """A small, valid .phony file."""
    from phony_registry import dump_model, train

    return dump_model(train(values or NAMES, name=name, order=2, kind="first_name"))


def digest_of(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gzip_json(document: object) -> bytes:
    """A gzip member holding ``document`` as JSON (for hostile uploads)."""
    return gzip.compress(json.dumps(document).encode(), mtime=0)


@dataclass
class Publisher:
    """A token holder with a signing key, able to build signed manifests."""

    token: str
    token_id: str
    key: PrivateKey

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    def manifest(self, name: str, version: str, blob: bytes, *, description: str = "") -> Manifest:
        """A manifest for ``blob``, signed with this publisher's key."""
        return Manifest.model(
            name,
            version,
            digest=digest_of(blob),
            size=len(blob),
            format_version=2,
            kind="first_name",
            description=description,
        ).signed(self.key)


@dataclass
class Server:
    """The in-process registry: its app, public and private folders and an async client."""

    app: object
    #: The public tree (``--storage``/public): what a static host may serve.
    root: Path
    client: httpx.AsyncClient
    tokens: TokenStore
    #: The private area (``--storage``/private): token hashes, publisher records, the key.
    private: Path

    def publisher(
        self, *namespaces: str, operator: bool = False, register: bool = True
    ) -> Publisher:
        """A new token for ``namespaces`` and a key registered for them."""
        token, record = self.tokens.create(list(namespaces), operator=operator)
        key = PrivateKey.generate()
        if register:
            publishers = self.app.state.registry.publishers  # type: ignore[attr-defined]
            for scope in [*namespaces, *([None] if operator else [])]:
                publishers.register(scope, key.public_key, record.id)
        return Publisher(token, record.id, key)

    async def push(
        self, who: Publisher, name: str, version: str, blob: bytes, **kwargs: str
    ) -> httpx.Response:
        """Upload the blob (if new) and publish its manifest, as a client would."""
        manifest = who.manifest(name, version, blob, **kwargs)
        digest = digest_of(blob)
        if (await self.client.head(f"/v1/blobs/{digest}")).status_code != 200:
            answer = await self.client.put(f"/v1/blobs/{digest}", content=blob, headers=who.headers)
            assert answer.status_code in (200, 201), answer.text
        return await self.client.put(
            f"/v1/models/{name}/versions/{version}",
            content=manifest.to_bytes(),
            headers=who.headers,
        )

    def files(self) -> set[str]:
        """Every file of the public layout (lock files and the publish journal excluded)."""
        return {
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not p.relative_to(self.root).as_posix().startswith(".")
        }


ServerFactory = Callable[..., Server]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    """A registry on a fresh folder, with a small upload cap (64 KB)."""
    settings = Settings(storage_dir=tmp_path / "registry", max_upload=64_000, max_inflated=1 << 20)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        yield Server(
            app,
            tmp_path / "registry" / "public",
            client,
            app.state.tokens,
            tmp_path / "registry" / "private",
        )


@pytest.fixture(scope="session")
def blob() -> bytes:
    """One small valid model file."""
    return make_blob()


@pytest.fixture(scope="session")
def other_blob() -> bytes:
    """Another valid model file, with other bytes."""
    return make_blob(["ali", "veli", "deli", "selim", "kerim"], name="other")
