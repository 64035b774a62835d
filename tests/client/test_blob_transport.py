"""Blob downloads over a real socket: the http.client transport and the cache's threaded hashing.

The fault-injection tests (tests/reliability) swap the transport for an httpx
``MockTransport``; these run the production transport against a small HTTP
server on 127.0.0.1 that can cut a body short or lie in it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from phony_client._blob_transport import READ_SIZE, BlobTransport, blob_transport
from phony_client._net import RetryPolicy
from phony_client.cache import Cache, _HashingThread
from phony_client.sources import HttpSource
from phony_registry.digests import Hasher
from phony_registry.errors import DigestMismatch, NotFound, RegistryUnavailable

BLOB = os.urandom(3 * READ_SIZE + 12345)
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


@dataclass
class Host:
    """A one-blob HTTP/1.1 server: ``/blob``, ``/short`` (cut off), ``/flipped``, ``/moved``."""

    url: str = ""
    connections: set[int] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def host() -> Iterator[Host]:
    state = Host()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn

        def do_GET(self) -> None:
            state.connections.add(id(self.connection))
            state.paths.append(self.path)
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/blob")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = {"/blob": BLOB, "/short": BLOB[:-1000], "/flipped": _flip(BLOB)}.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(BLOB)))
            self.end_headers()
            self.wfile.write(body)
            if len(body) < len(BLOB):
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]


def test_a_blob_arrives_whole_in_pieces_of_at_most_one_mib(host: Host) -> None:
    source = HttpSource(host.url)
    try:
        pieces = list(source.stream("blob"))
    finally:
        source.close()
    assert b"".join(pieces) == BLOB
    assert max(len(p) for p in pieces) <= READ_SIZE
    assert len(pieces) >= 4


def test_the_pull_path_stores_a_verified_blob_over_one_kept_alive_connection(
    host: Host, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    source = HttpSource(host.url)
    try:
        for _ in range(2):
            cache.discard_blob(DIGEST)
            path = cache.store_blob(source.stream("blob"), DIGEST, len(BLOB))
            assert path.read_bytes() == BLOB
        redirected = list(source.stream("moved"))
    finally:
        source.close()
    assert b"".join(redirected) == BLOB
    assert host.paths == ["/blob", "/blob", "/moved", "/blob"]
    assert len(host.connections) == 1


def test_a_body_cut_short_is_a_transport_error_and_nothing_is_kept(
    host: Host, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    source = HttpSource(host.url, retry=RetryPolicy(retries=0))
    try:
        with pytest.raises(RegistryUnavailable, match="complete message body"):
            cache.store_blob(source.stream("short"), DIGEST, len(BLOB))
    finally:
        source.close()
    assert not cache.has_blob(DIGEST)
    assert list(cache.iter_temporaries()) == []


def test_a_flipped_byte_over_a_real_socket_is_refused(host: Host, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    source = HttpSource(host.url)
    try:
        with pytest.raises(DigestMismatch):
            cache.store_blob(source.stream("flipped"), DIGEST, len(BLOB))
        with pytest.raises(NotFound):
            source.stream("missing")
    finally:
        source.close()
    assert not cache.has_blob(DIGEST)
    assert list(cache.iter_temporaries()) == []


def test_a_configured_proxy_keeps_httpx_s_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(blob_transport(), BlobTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert blob_transport() is None


def test_an_unreachable_host_is_a_connect_error() -> None:
    transport = BlobTransport()
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError):
        client.get("http://127.0.0.1:9/blob")  # the discard port: nothing listens


@pytest.mark.parametrize("piece", [1, 4096, READ_SIZE], ids=["bytes", "pages", "mebibytes"])
def test_hashing_on_a_second_thread_gives_the_same_digest(piece: int) -> None:
    data = BLOB[: 64 * 1024 + 7]
    hashing = _HashingThread(depth=2)
    for start in range(0, len(data), piece):
        hashing.update(data[start : start + piece])
    threaded = hashing.finish()
    plain = Hasher()
    plain.update(data)
    assert (threaded.digest, threaded.size) == (plain.digest, plain.size)


def test_a_chunk_the_hasher_rejects_surfaces_once_the_stream_ends() -> None:
    hashing = _HashingThread(depth=1)
    for chunk in [b"ok", "not bytes", b"more", b"and more"]:
        hashing.update(chunk)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hashing.finish()


def test_a_large_blob_written_back_on_the_way_is_intact(tmp_path: Path) -> None:
    data = os.urandom(20 << 20)  # past two writeback steps
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    pieces = (data[i : i + READ_SIZE] for i in range(0, len(data), READ_SIZE))
    path = Cache(tmp_path / "cache").store_blob(pieces, digest, len(data))
    assert path.read_bytes() == data
