"""A storage outage is one answer everywhere: 503 ``unavailable``, naming nothing of the storage.

The storage here fails as an S3 bucket behind a dead endpoint does, with the
message boto3 gives (the endpoint URL, the bucket, the object key). Pages,
sample JSON, the API and the static layout all answer 503; the detail a client
reads is ``storage unavailable``, and the full message is in the server log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from phony_registry.errors import RegistryUnavailable
from phony_server.app import create_app
from phony_server.settings import Settings
from phony_server.storage import LocalStorage, ObjectInfo, RegistryStorage, Storage
from tests.server.conftest import Publisher, Server, digest_of, make_blob

pytestmark = pytest.mark.anyio

ENDPOINT = "http://127.0.0.1:39415"
#: What must never reach a client: where the storage is and how it is laid out.
SECRETS = ("127.0.0.1:39415", "Could not connect", "models/public", "models/private", "tokens/")


class Outage(Storage):
    """A folder seen as a remote bucket (no local files) that fails on demand like S3 does."""

    def __init__(self, root: Path, area: str, *, private: bool = False) -> None:
        self.inner = LocalStorage(root, private=private)
        self.area = area
        self.description = f"bucket {ENDPOINT}/models/{area}/"
        #: Key prefixes that fail; "" fails everything.
        self.down: set[str] = set()

    def _fail(self, key: str) -> None:
        if any(key.startswith(prefix) for prefix in self.down):
            raise RegistryUnavailable(
                "storage: S3 unreachable: Could not connect to the endpoint URL: "
                f'"{ENDPOINT}/models/{self.area}/{key}"'
            )

    def stat(self, key: str) -> ObjectInfo | None:
        self._fail(key)
        return self.inner.stat(key)

    def read(self, key: str) -> tuple[bytes, str]:
        self._fail(key)
        return self.inner.read(key)

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        self._fail(key)
        return self.inner.iter_range(key, start, end)

    def create(self, key: str, source: bytes | Path) -> bool:
        self._fail(key)
        return self.inner.create(key, source)

    def write(self, key: str, data: bytes, if_match: str | None) -> str:
        self._fail(key)
        return self.inner.write(key, data, if_match)

    def delete(self, key: str) -> None:
        self._fail(key)
        self.inner.delete(key)

    def list(self, prefix: str) -> Iterator[str]:
        self._fail(prefix)
        return self.inner.list(prefix)

    def check(self) -> None:
        self._fail("")
        self.inner.check()


class Down:
    """The registry's two storages, to break."""

    def __init__(self, public: Outage, private: Outage) -> None:
        self.public, self.private = public, private

    def everything(self) -> None:
        self.public.down.add("")
        self.private.down.add("")

    def blobs(self) -> None:
        self.public.down.add("blobs/")


@pytest.fixture
async def outage(tmp_path: Path) -> AsyncIterator[tuple[Server, Down, Publisher]]:
    """A registry holding alice/race@2.0.1, and the switch that takes its storage down."""
    public = Outage(tmp_path / "store" / "public", "public")
    private = Outage(tmp_path / "store" / "private", "private", private=True)
    settings = Settings(storage_dir=tmp_path / "store", max_inflated=1 << 20)
    app = create_app(settings, storage=RegistryStorage(public, private))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        server = Server(app, public.inner.root, client, app.state.tokens, private.inner.root)
        alice = server.publisher("alice")
        answer = await server.push(alice, "alice/race", "2.0.1", make_blob())
        assert answer.status_code == 201, answer.text
        yield server, Down(public, private), alice


def _clean(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"the answer shows {leaked}: {text[:500]}"


PAGES = ["/", "/?q=race", "/models/alice/race", "/models/alice/race?version=2.0.1&seed=3",
         "/locales/tr_TR"]  # fmt: skip
JSON = [
    "/samples/alice/race?version=2.0.1&seed=3",
    "/v1/health",
    "/v1/models",
    "/v1/models/alice/race",
    "/v1/models/alice/race/versions/2.0.1",
    "/snapshot.json",
    "/index/alice/race.jsonl",
    "/manifests/alice/race/2.0.1.json",
    "/keys/registry.pub.pem",
]


@pytest.mark.parametrize("path", PAGES)
async def test_a_page_is_503_while_the_storage_is_down(
    outage: tuple[Server, Down, Publisher], path: str
) -> None:
    server, down, _ = outage
    down.everything()
    answer = await server.client.get(path)
    assert answer.status_code == 503, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    title = re.search(r"<title>(.*?)</title>", answer.text, re.S)
    assert title is not None
    assert title[1].strip() == "Service unavailable · phony registry"
    assert "storage unavailable" in answer.text
    _clean(answer.text)


@pytest.mark.parametrize("path", JSON)
async def test_json_is_503_unavailable_while_the_storage_is_down(
    outage: tuple[Server, Down, Publisher], path: str
) -> None:
    server, down, _ = outage
    down.everything()
    answer = await server.client.get(path)
    assert answer.status_code == 503, answer.text[:300]
    assert answer.json() == {"error": "unavailable", "detail": "storage unavailable"}


async def test_a_push_is_503_and_names_no_private_record(
    outage: tuple[Server, Down, Publisher],
) -> None:
    server, down, alice = outage
    down.everything()
    blob = make_blob(["kerem", "selin", "arda", "deniz"], name="other")
    answer = await server.client.put(
        f"/v1/blobs/{digest_of(blob)}", content=blob, headers=alice.headers
    )
    assert answer.status_code == 503, answer.text
    assert answer.json() == {"error": "unavailable", "detail": "storage unavailable"}


async def test_samples_of_an_unreadable_blob_are_503_not_an_error_value(
    outage: tuple[Server, Down, Publisher],
) -> None:
    """The index answers, the blob does not: not a page of samples showing the S3 error."""
    server, down, _ = outage
    down.blobs()
    samples = await server.client.get("/samples/alice/race?version=2.0.1&seed=3")
    page = await server.client.get("/models/alice/race?seed=3")
    assert samples.status_code == 503, samples.text
    assert samples.json() == {"error": "unavailable", "detail": "storage unavailable"}
    assert page.status_code == 503, page.text[:300]
    _clean(page.text)
    # Once the storage is back, the samples come, and no failure was cached.
    down.public.down.clear()
    again = await server.client.get("/samples/alice/race?version=2.0.1&seed=3")
    assert again.status_code == 200, again.text
    assert again.json()["values"]


async def test_the_full_message_stays_in_the_server_log(
    outage: tuple[Server, Down, Publisher], caplog: pytest.LogCaptureFixture
) -> None:
    server, down, _ = outage
    down.everything()
    with caplog.at_level(logging.WARNING, logger="phony_server"):
        for path in ("/models/alice/race", "/samples/alice/race?version=2.0.1", "/v1/health"):
            assert (await server.client.get(path)).status_code == 503
    logged = [r.getMessage() for r in caplog.records if r.name == "phony_server"]
    assert len(logged) == 3, logged
    assert all(f'Could not connect to the endpoint URL: "{ENDPOINT}/models/' in m for m in logged)
