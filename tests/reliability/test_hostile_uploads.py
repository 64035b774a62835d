"""Test 5: hostile uploads to a real server on S3: each a 4xx with a JSON error, nothing kept.

The server runs as its own process (``phony registry serve`` on moto's S3
server), so its memory can be read from /proc and the bucket listed after.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey
from tests.e2e.conftest import RegistryProcess
from tests.reliability.conftest import (
    S3Registry,
    digest_of,
    random_words,
    rss_kib,
    start_server,
    train_model,
)

pytestmark = [pytest.mark.e2e, pytest.mark.s3]

MAX_UPLOAD = 2 << 20
#: How much the server's peak memory may grow over the whole hostile batch.
MEMORY_BUDGET_KIB = 200 << 10


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB of zeros."""
    pack = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(pack.compress(zeros) for _ in range(1024)) + pack.flush()
    assert 900_000 < len(bomb) < 1_200_000
    return bomb


@pytest.fixture(scope="module")
def model() -> bytes:
    """A valid model file."""
    return train_model(random_words(300, seed=5), order=2)


def _raw(model: bytes) -> bytes:
    return gzip.decompress(model)


def _with_format_version(model: bytes, version: int) -> bytes:
    document = json.loads(_raw(model))
    document["format_version"] = version
    return gzip.compress(json.dumps(document).encode(), mtime=0)


def hostile_blobs(model: bytes, bomb: bytes) -> dict[str, bytes]:
    """Model uploads that must all be refused."""
    raw = _raw(model)
    assert raw.startswith(b"{")
    return {
        "gzip-bomb": bomb,
        "truncated-gzip": model[: len(model) // 2],
        "concatenated-members": model + model,
        "not-utf8": gzip.compress(raw[:-1] + b',"x":"\xff\xfe"}', mtime=0),
        "nested-100000": gzip.compress(b"[" * 100_000 + b"]" * 100_000, mtime=0),
        # 40 KB inflating to 40 MiB of `[],[],...`: over a GB once parsed, so refused unparsed.
        "brackets-40MiB": gzip.compress(
            b'{"format_version":2,"x":[' + b"[]," * ((40 << 20) // 3) + b"[]]}", mtime=0
        ),
        "duplicate-keys": gzip.compress(b'{"format_version":2,' + raw[1:], mtime=0),
        "future-format": _with_format_version(model, 99),
        "not-gzip": raw,
    }


def _over_cap(size: int) -> Iterator[bytes]:
    block = b"\x1f" * 65536
    for _ in range(size // len(block) + 1):
        yield block


@pytest.fixture
def server(s3_registry: S3Registry) -> Iterator[RegistryProcess]:
    """A registry server process on the bucket, with a 2 MiB upload cap."""
    process = start_server(
        *s3_registry.args(), "--max-upload", str(MAX_UPLOAD), env=s3_registry.endpoint.env
    )
    yield process
    process.stop()


def _assert_json_4xx(response: httpx.Response, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    body = response.json()
    assert set(body) == {"error", "detail"}, f"{what}: {body}"
    assert body["detail"], what


def _manifest_body(name: str, blob: bytes, key: PrivateKey) -> bytes:
    document = Manifest.model(
        "alice/words", "1.0.0", digest=digest_of(blob), size=len(blob), format_version=2
    ).to_dict()
    document["name"] = name
    return json.dumps(document).encode()


HOSTILE_NAMES = {
    "dot-dot": "alice/..",
    "dot-dot-inside": "alice/../bob",
    "empty-segment": "alice//words",
    "slash-at-end": "alice/words/",
    "three-segments": "alice/words/extra",
    "leading-dot": "alice/.words",
    "uppercase": "alice/Words",
    "confusable-cyrillic-a": "alice/w\u0430rds",
    "fullwidth": "alice/\uff57ords",
    "nul": "alice/wo\x00rds",
}


@pytest.mark.slow
def test_hostile_uploads_are_refused_with_json_and_nothing_is_kept(
    s3_registry: S3Registry, server: RegistryProcess, model: bytes, gzip_bomb: bytes
) -> None:
    """Every hostile body and name: 4xx + JSON error, bounded memory, an unchanged bucket."""
    token = s3_registry.token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    key = PrivateKey.generate()
    registered = httpx.put(
        f"{server.url}/v1/keys", json={"public_key": key.public_key.to_base64()}, headers=headers
    )
    assert registered.status_code == 200, registered.text
    before = s3_registry.keys()
    temp_before = set(Path(tempfile.gettempdir()).glob("phony-upload-*"))
    _rss, peak_before = rss_kib(server.process.pid)

    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        for what, body in hostile_blobs(model, gzip_bomb).items():
            answer = client.put(f"/v1/blobs/{digest_of(body)}", content=body)
            _assert_json_4xx(answer, what)
        # Over the cap, chunked: no Content-Length to refuse it up front.
        answer = client.put(f"/v1/blobs/{digest_of(b'')}", content=_over_cap(3 * MAX_UPLOAD))
        _assert_json_4xx(answer, "chunked-over-cap")
        assert answer.status_code == 413
        assert "content-length" not in answer.request.headers

        manifests = {
            "manifest-nested-100000": b"[" * 100_000 + b"]" * 100_000,
            "manifest-nested-object": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
            "manifest-duplicate-keys": b'{"name":"alice/words",'
            + _manifest_body("alice/words", model, key)[1:],
            "manifest-not-utf8": _manifest_body("alice/words", model, key)[:-1] + b',"x":"\xff"}',
            "manifest-future-format": _manifest_body("alice/words", model, key).replace(
                b'"format_version": 2', b'"format_version": 99'
            ),
        }
        for what, body in manifests.items():
            answer = client.put("/v1/models/alice/words/versions/1.0.0", content=body)
            _assert_json_4xx(answer, what)
        answer = client.put(
            "/v1/models/alice/words/versions/1.0.0", content=_over_cap(4 * MAX_UPLOAD)
        )
        _assert_json_4xx(answer, "manifest-chunked-over-cap")

        for what, name in HOSTILE_NAMES.items():
            body = _manifest_body(name, model, key)
            answer = client.put(f"/v1/models/{quote(name)}/versions/1.0.0", content=body)
            _assert_json_4xx(answer, what)
            # The same name only in the body, with a valid name in the URL.
            answer = client.put("/v1/models/alice/words/versions/1.0.0", content=body)
            _assert_json_4xx(answer, f"{what} in the body")

    _rss, peak_after = rss_kib(server.process.pid)
    assert peak_after - peak_before < MEMORY_BUDGET_KIB, (peak_before, peak_after)
    assert s3_registry.keys() == before
    assert s3_registry.open_multipart_uploads() == []
    assert set(Path(tempfile.gettempdir()).glob("phony-upload-*")) <= temp_before
    health = httpx.get(f"{server.url}/v1/health")
    assert health.status_code == 200
    assert "Traceback" not in server.stop()
