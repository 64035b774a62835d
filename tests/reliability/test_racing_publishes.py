"""Test 7: sixteen pushes of one name@version with different bytes, across two servers.

Two ``phony registry serve`` processes share one bucket on moto's S3 server.
In each of 20 rounds, 16 publishers push a different model as the same
``alice/race@1.0.N``, eight through each server, their manifests released at
one barrier. Exactly one push wins; every other gets a 409; the bytes stored
and served for the version are the winner's, and the signed index says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from phony_registry.index import Snapshot, parse_index
from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey
from tests.e2e.conftest import RegistryProcess
from tests.reliability.conftest import (
    S3Registry,
    digest_of,
    model_variants,
    random_words,
    start_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.s3]

ROUNDS = 20
RACERS = 16
NAME = "alice/race"


@pytest.fixture
def servers(s3_registry: S3Registry) -> Iterator[list[RegistryProcess]]:
    """Two server processes on one bucket."""
    started = [start_server(*s3_registry.args(), env=s3_registry.endpoint.env) for _ in range(2)]
    yield started
    for server in started:
        server.stop()


def _push_all(
    bases: list[str], blobs: list[bytes], version: str, key: PrivateKey, token: str
) -> list[int]:
    """Push ``blobs[i]`` as ``NAME@version`` through ``bases[i % 2]``, manifests at one barrier."""
    barrier = threading.Barrier(len(blobs))
    statuses = [0] * len(blobs)
    headers = {"Authorization": f"Bearer {token}"}

    def push(i: int) -> None:
        blob = blobs[i]
        digest = digest_of(blob)
        manifest = Manifest.model(NAME, version, digest=digest, size=len(blob), format_version=2)
        with httpx.Client(base_url=bases[i % len(bases)], headers=headers, timeout=60) as http:
            if http.head(f"/v1/blobs/{digest}").status_code != 200:
                stored = http.put(f"/v1/blobs/{digest}", content=blob)
                assert stored.status_code in (200, 201), stored.text
            barrier.wait(timeout=60)
            answer = http.put(
                f"/v1/models/{NAME}/versions/{version}", content=manifest.signed(key).to_bytes()
            )
            statuses[i] = answer.status_code

    threads = [threading.Thread(target=push, args=(i,)) for i in range(len(blobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.mark.slow
def test_sixteen_racing_pushes_across_two_servers_give_one_winner(
    s3_registry: S3Registry, servers: list[RegistryProcess]
) -> None:
    bases = [server.url for server in servers]
    token = s3_registry.token("alice")
    key = PrivateKey.generate()
    registered = httpx.put(
        f"{bases[0]}/v1/keys",
        json={"public_key": key.public_key.to_base64()},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert registered.status_code == 200, registered.text
    blobs = model_variants(random_words(200, seed=7), ROUNDS * RACERS, order=2)
    winners: dict[str, bytes] = {}
    deadline = time.monotonic() + 300
    for round_ in range(ROUNDS):
        assert time.monotonic() < deadline, f"only {round_} rounds in 300 s"
        version = f"1.0.{round_}"
        mine = blobs[round_ * RACERS : (round_ + 1) * RACERS]
        statuses = _push_all(bases, mine, version, key, token)
        assert sorted(statuses) == [201] + [409] * (RACERS - 1), f"round {round_}: {statuses}"
        winner = mine[statuses.index(201)]
        winners[version] = winner
        for base in bases:
            stored = Manifest.from_bytes(
                httpx.get(f"{base}/manifests/{NAME}/{version}.json").content
            )
            assert stored.digest == digest_of(winner), f"round {round_} on {base}"
            served = httpx.get(f"{base}/v1/blobs/{stored.digest}")
            assert served.content == winner

    for base in bases:
        snapshot = Snapshot.from_bytes(httpx.get(f"{base}/snapshot.json").content)
        index = httpx.get(f"{base}/index/{NAME}.jsonl").content
        snapshot.check_file(f"index/{NAME}.jsonl", index)
        entries = parse_index(index)
        assert [e.version for e in entries] == [f"1.0.{r}" for r in range(ROUNDS)]
        for entry in entries:
            assert entry.digest == digest_of(winners[entry.version])
            manifest = httpx.get(f"{base}/manifests/{NAME}/{entry.version}.json").content
            assert digest_of(manifest) == entry.manifest
    assert s3_registry.open_multipart_uploads() == []
