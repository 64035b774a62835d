"""Test 6: the S3 endpoint fails in the middle of a publish.

The server reaches moto through a proxy that can drop connections (the
endpoint is gone) or answer 500 (the endpoint is erroring) from any request
on. For every point in a publish at which the storage can fail, the client
gets a 503, the registry stays consistent (the version is completely there or
not there at all, and every older version still pulls), and the same publish
succeeds once the endpoint is back.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from phony_client.cache import Cache
from phony_client.pull import pull
from phony_registry.errors import DigestMismatch, NotFound
from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey
from tests.e2e.conftest import RegistryProcess
from tests.reliability.conftest import (
    FaultyProxy,
    S3Registry,
    digest_of,
    model_variants,
    random_words,
    start_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.s3]

NAME = "alice/words"
MAX_FAULT_POINTS = 16


@pytest.fixture
def proxy(s3_registry: S3Registry) -> Iterator[FaultyProxy]:
    """A failing proxy in front of the S3 endpoint, used by the server."""
    port = int(s3_registry.endpoint.url.rsplit(":", 1)[1])
    faulty = FaultyProxy(port).start()
    s3_registry.s3_url = faulty.url
    yield faulty
    faulty.stop()


@pytest.fixture
def server(s3_registry: S3Registry, proxy: FaultyProxy) -> Iterator[RegistryProcess]:
    """A registry server process whose S3 traffic goes through ``proxy``."""
    process = start_server(*s3_registry.args(), env=s3_registry.endpoint.env)
    yield process
    process.stop()


def _pullable(url: str, version: str) -> bool:
    """True if a client with an empty cache pulls and verifies ``NAME@version``.

    False if the registry does not list it (NotFound), or lists it in an index
    that its signed snapshot does not vouch for (DigestMismatch): a pull that
    is refused either way.
    """
    cache = Cache(Path(tempfile.mkdtemp(prefix="phony-fresh-cache-")))
    try:
        ref = pull(f"{NAME}@{version}", registry=url, cache=cache).ref
    except (NotFound, DigestMismatch):
        return False
    finally:
        shutil.rmtree(cache.root, ignore_errors=True)
    assert ref.version == version
    return True


def _listed(url: str) -> list[str]:
    answer = httpx.get(f"{url}/v1/models/{NAME}")
    assert answer.status_code == 200, answer.text
    return [v["version"] for v in answer.json()["versions"]]


def _consistent(url: str, older: str, version: str, within: float) -> bool:
    """Wait until the older version pulls and the API lists ``version`` iff it pulls."""
    deadline = time.monotonic() + within
    while True:
        if _pullable(url, older) and (version in _listed(url)) == _pullable(url, version):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)


@pytest.mark.slow
def test_storage_failing_mid_publish_is_503_consistent_and_retryable(
    s3_registry: S3Registry, proxy: FaultyProxy, server: RegistryProcess
) -> None:
    token = s3_registry.token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    key = PrivateKey.generate()
    blobs = model_variants(random_words(200, seed=6), MAX_FAULT_POINTS + 1, order=2)
    http = httpx.Client(base_url=server.url, headers=headers, timeout=120)
    answer = http.put("/v1/keys", json={"public_key": key.public_key.to_base64()})
    assert answer.status_code == 200, answer.text

    def upload(blob: bytes) -> None:
        stored = http.put(f"/v1/blobs/{digest_of(blob)}", content=blob)
        assert stored.status_code in (200, 201), stored.text

    def publish(version: str, blob: bytes) -> httpx.Response:
        manifest = Manifest.model(
            NAME, version, digest=digest_of(blob), size=len(blob), format_version=2
        ).signed(key)
        return http.put(f"/v1/models/{NAME}/versions/{version}", content=manifest.to_bytes())

    # A publish without faults, to count the storage requests one takes.
    upload(blobs[0])
    before = proxy.requests
    assert publish("1.0.0", blobs[0]).status_code == 201
    steps = proxy.requests - before
    assert 3 <= steps <= MAX_FAULT_POINTS, steps
    assert _pullable(server.url, "1.0.0")

    outcomes = []
    deadline = time.monotonic() + 300
    for point in range(steps):
        assert time.monotonic() < deadline
        version = f"1.0.{point + 1}"
        upload(blobs[point + 1])
        mode = "down" if point % 2 else "error"
        proxy.fail_in(point, mode)
        failed = publish(version, blobs[point + 1])
        proxy.heal()
        assert failed.status_code == 503, f"{mode} after {point}: {failed.text}"
        assert failed.json()["error"] == "unavailable"
        assert token not in failed.text

        # Never half-visible: a pull of the new version either gets all of it,
        # verified, or is refused. Within seconds of the endpoint coming back the
        # registry is consistent again (older versions pull with an empty cache,
        # the API lists the new version iff it pulls), without any new publish.
        outcomes.append(_pullable(server.url, version))
        assert _consistent(server.url, f"1.0.{point}", version, within=30), (
            f"{mode} after {point}: older version {_pullable(server.url, f'1.0.{point}')}, "
            f"new version listed {version in _listed(server.url)}, "
            f"pullable {_pullable(server.url, version)}"
        )

        # Once the endpoint is back, the same publish succeeds.
        retried = publish(version, blobs[point + 1])
        assert retried.status_code in (200, 201), f"{mode} after {point}: {retried.text}"
        assert _pullable(server.url, version)

    # The fault points cover both outcomes: before the version was visible, and after.
    assert not outcomes[0]
    http.close()
    versions = _listed(server.url)
    assert versions == [f"1.0.{i}" for i in range(steps + 1)]
    assert s3_registry.open_multipart_uploads() == []
