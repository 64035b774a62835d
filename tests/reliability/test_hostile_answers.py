"""A hostile registry's answers: compressed bombs, endless bodies, trickled headers.

A pull's reads and the API client's answers (search, info, push) are capped
in bytes *after* decoding, a piece at a time, and every call has an overall
deadline. Each test runs a real HTTP server on 127.0.0.1 that misbehaves in
one way, and checks the client refuses with one clear error while holding
little memory.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from phony_client._blob_transport import TransferLimits
from phony_client._net import RetryPolicy
from phony_client.remote import RegistryClient
from phony_client.sources import HttpSource
from phony_registry.errors import RegistryError, RegistryUnavailable, RequestTimeout

Answer = Callable[[BaseHTTPRequestHandler], None]


def _gzip_of_zeros(mib: int) -> bytes:
    """``mib`` MiB of zeros gzip-compressed, made a megabyte at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(mib)) + packer.flush()


#: 256 MiB of zeros, gzip-compressed to about 250 KiB: one socket read's worth.
BOMB = _gzip_of_zeros(256)


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    answer(self)  # the client may give up first: what these tests want

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _send(handler: BaseHTTPRequestHandler, body: bytes, **headers: str) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def _bomb(handler: BaseHTTPRequestHandler) -> None:
    _send(handler, BOMB, Content_Encoding="gzip")


def _peak_mib(action: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / (1 << 20)


def _no_retry() -> RetryPolicy:
    return RetryPolicy(retries=0, sleep=lambda _: None)


def test_a_gzip_bomb_in_a_pull_is_refused_a_piece_at_a_time(
    serve: Callable[[Answer], str],
) -> None:
    source = HttpSource(serve(_bomb), retry=_no_retry())
    errors: list[Exception] = []

    def fetch() -> None:
        try:
            source.fetch("snapshot.json", limit=1 << 20)
        except RegistryUnavailable as exc:
            errors.append(exc)

    peak = _peak_mib(fetch)
    source.close()
    assert errors
    assert "over 1048576 bytes" in str(errors[0])
    assert peak < 16, f"{peak:.0f} MiB held while refusing a 256 MiB bomb"


def test_a_gzip_bomb_as_a_blob_is_read_in_bounded_pieces(
    serve: Callable[[Answer], str],
) -> None:
    source = HttpSource(serve(_bomb), retry=_no_retry())
    sizes: list[int] = []

    def read_some() -> None:
        for chunk in source.stream("blobs/sha256/ab/abc"):
            sizes.append(len(chunk))
            if sum(sizes) >= 8 << 20:
                break  # a reader stops at the manifest's size

    peak = _peak_mib(read_some)
    source.close()
    assert max(sizes) <= 1 << 20
    assert peak < 32, f"{peak:.0f} MiB held for 8 MiB read"


def test_a_compressed_answer_is_still_read(serve: Callable[[Answer], str]) -> None:
    payload = {"models": [{"name": "alice/names", "latest": "1.0.0"}]}
    data = gzip.compress(json.dumps(payload).encode())
    url = serve(lambda handler: _send(handler, data, Content_Encoding="gzip"))
    with RegistryClient(url, retry=_no_retry()) as client:
        assert client.search("names") == payload["models"]
    source = HttpSource(url, retry=_no_retry())
    assert json.loads(source.fetch("snapshot.json").data) == payload
    source.close()


def test_an_unknown_content_encoding_is_one_clear_error(serve: Callable[[Answer], str]) -> None:
    url = serve(lambda handler: _send(handler, b"\x00" * 64, Content_Encoding="x-lz77"))
    with RegistryClient(url, retry=_no_retry()) as client, pytest.raises(RegistryError) as info:
        client.search("names")
    assert "x-lz77" in str(info.value)


def _endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()  # no length: read until the server closes
    handler.wfile.write(b'{"models": [')
    while True:
        handler.wfile.write(b'{"name": "a/b"},' * 4096)


@pytest.mark.parametrize("answer", [_endless, _bomb], ids=["endless", "gzip-bomb"])
def test_a_search_answer_past_the_cap_is_refused(
    serve: Callable[[Answer], str], answer: Answer
) -> None:
    url = serve(answer)
    errors: list[Exception] = []

    def search() -> None:
        with RegistryClient(url, retry=_no_retry()) as client:
            try:
                client.search("")
            except RegistryError as exc:
                errors.append(exc)

    peak = _peak_mib(search)
    assert errors
    assert "larger than 16 MiB" in str(errors[0])
    assert peak < 64, f"{peak:.0f} MiB held while refusing the answer"


def test_trickled_headers_stop_at_the_call_deadline(serve: Callable[[Answer], str]) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.1)  # each read answers well within the read timeout

    url = serve(trickle)
    start = time.monotonic()
    client = RegistryClient(url, retry=_no_retry(), deadline=1.5)
    with client, pytest.raises(RequestTimeout) as info:
        client.search("names")
    assert time.monotonic() - start < 10
    assert "took longer than 1.5 s" in str(info.value)


def test_the_call_deadline_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHONY_REQUEST_DEADLINE", "2m")
    assert RegistryClient("http://127.0.0.1:9").deadline == 120
    monkeypatch.setenv("PHONY_REQUEST_DEADLINE", "soon")
    with pytest.raises(Exception, match="PHONY_REQUEST_DEADLINE: 'soon' is not a duration"):
        RegistryClient("http://127.0.0.1:9")
    assert TransferLimits().deadline == 900  # a pull's own deadline is unchanged


def test_an_answer_that_is_not_json_is_one_clear_error(serve: Callable[[Answer], str]) -> None:
    url = serve(lambda handler: _send(handler, b"<html>a proxy's login page</html>"))
    with RegistryClient(url, retry=_no_retry()) as client, pytest.raises(RegistryError) as info:
        client.search("names")
    assert "is not a JSON object" in str(info.value)


#: JSON nested 100,000 deep: 200 KB, far under the answer cap.
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("status", [200, 403], ids=["answer", "refusal"])
def test_an_answer_nested_too_deeply_is_one_clear_error(
    serve: Callable[[Answer], str], run_phony: Callable[..., Any], status: int
) -> None:
    def deep(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(DEEP)))
        handler.end_headers()
        handler.wfile.write(DEEP)

    url = serve(deep)
    with RegistryClient(url, retry=_no_retry()) as client, pytest.raises(RegistryError):
        client.search("names")
    result = run_phony("models", "search", "names", "--registry", url, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: registry")
    assert "internal error" not in result.stderr
    assert "Recursion" not in result.stderr
