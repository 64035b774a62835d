"""Test 9: 1,000 push + pull cycles of 100 KB models through a server on S3.

One ``phony registry serve`` process on moto's S3 server, four client
threads. Each cycle publishes a new model version (HEAD, blob upload,
manifest) and pulls it back with the client's verified pull into the local
cache. Zero errors allowed; every pulled blob is hashed again here.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from phony_client.cache import Cache
from phony_client.pull import pull
from phony_registry import layout
from phony_registry.index import Snapshot, parse_index
from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey
from tests.e2e.conftest import RegistryProcess
from tests.reliability.conftest import (
    S3Registry,
    cache_blob_problems,
    digest_of,
    random_words,
    start_server,
    train_model,
)

pytestmark = [pytest.mark.e2e, pytest.mark.s3]

CYCLES = 1000
WORKERS = 4
NAMES = 50
TIME_LIMIT = 480.0


@pytest.fixture
def server(s3_registry: S3Registry) -> Iterator[RegistryProcess]:
    """A registry server process on the bucket."""
    process = start_server(*s3_registry.args(), env=s3_registry.endpoint.env)
    yield process
    process.stop()


@pytest.mark.slow
@pytest.mark.timeout(720)  # TIME_LIMIT plus set-up and checks; the default is 300 s
def test_a_thousand_push_pull_cycles_without_an_error(
    s3_registry: S3Registry, server: RegistryProcess
) -> None:
    token = s3_registry.token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    key = PrivateKey.generate()
    registered = httpx.put(
        f"{server.url}/v1/keys", json={"public_key": key.public_key.to_base64()}, headers=headers
    )
    assert registered.status_code == 200, registered.text
    # Trained once; each cycle's model differs by its description (see model_variants).
    raw = gzip.decompress(train_model(random_words(4000, seed=8), order=4, description="v" * 12))
    assert raw.count(b"v" * 12) == 1

    def model(cycle: int) -> bytes:
        return gzip.compress(raw.replace(b"v" * 12, b"load %07d" % cycle), 1, mtime=0)

    assert 80_000 < len(model(0)) < 200_000
    cycles = iter(range(CYCLES))
    lock = threading.Lock()
    errors: list[str] = []
    done: list[float] = []
    started = time.monotonic()

    def work() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
            while time.monotonic() - started < TIME_LIMIT:
                with lock:
                    cycle = next(cycles, None)
                if cycle is None:
                    return
                name, version = f"alice/load-{cycle % NAMES:02d}", f"1.0.{cycle // NAMES}"
                data = model(cycle)
                digest = digest_of(data)
                try:
                    if http.head(f"/v1/blobs/{digest}").status_code != 200:
                        uploaded = http.put(f"/v1/blobs/{digest}", content=data)
                        assert uploaded.status_code == 201, uploaded.text
                    manifest = Manifest.model(
                        name, version, digest=digest, size=len(data), format_version=2
                    ).signed(key)
                    published = http.put(
                        f"/v1/models/{name}/versions/{version}", content=manifest.to_bytes()
                    )
                    assert published.status_code == 201, published.text
                    ref = pull(f"{name}@{version}", registry=server.url).ref
                    assert ref.digest == digest
                    assert digest_of(Cache().blob_path(digest).read_bytes()) == digest
                except Exception as exc:  # every failure is counted and shown
                    with lock:
                        errors.append(f"cycle {cycle} {name}@{version}: {type(exc).__name__} {exc}")
                    continue
                with lock:
                    done.append(time.monotonic() - started)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIME_LIMIT + 120)
    elapsed = time.monotonic() - started
    assert errors == [], f"{len(errors)} errors, first: {errors[:5]}"
    assert len(done) == CYCLES, f"{len(done)} cycles in {elapsed:.0f} s"
    assert cache_blob_problems(Cache().root) == []
    # Every version is in an index file the signed snapshot vouches for.
    snapshot = Snapshot.from_bytes(httpx.get(f"{server.url}/snapshot.json").content)
    for number in range(NAMES):
        path = layout.index_path(f"alice/load-{number:02d}")
        index = httpx.get(f"{server.url}/{path}").content
        snapshot.check_file(path, index)
        assert len(parse_index(index)) == CYCLES // NAMES
    print(f"{CYCLES} push+pull cycles in {elapsed:.1f} s ({CYCLES / elapsed:.1f}/s)")
