"""A real server against request headers that never end: 431 and a closed connection.

uvicorn's httptools protocol keeps a header value in memory until it ends:
one connection sending a header for the whole header timeout grew the
server by some 160 MiB in ten seconds, before any token was checked. Each
test starts ``phony registry serve`` (default timeouts) and talks to it over
a raw socket on 127.0.0.1; the server's own peak memory is read from /proc.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from phony_server.connections import MAX_HEADER_BYTES
from tests.conftest import phony_command
from tests.e2e.conftest import RegistryProcess
from tests.reliability.conftest import digest_of, rss_kib, send_until_refused, start_server

pytestmark = pytest.mark.e2e

MIB = 1 << 20


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RegistryProcess]:
    """A folder registry server with the default header timeout (15 s)."""
    process = start_server("--storage", str(tmp_path / "registry-data"), env={})
    yield process
    assert "Traceback" not in process.stop()


def _connect(server: RegistryProcess) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=20)


def _answer(sock: socket.socket) -> bytes:
    received = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_an_endless_header_is_431_in_bounded_memory(server: RegistryProcess) -> None:
    _rss, peak_before = rss_kib(server.process.pid)
    with _connect(server) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        sent = send_until_refused(sock, 256 * MIB, b"a")
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"error":"headers_too_large"' in answer
    assert sent < 32 * MIB, sent  # the server hung up (socket buffers take a few MB)
    assert rss_kib(server.process.pid)[1] - peak_before < 16 << 10
    assert httpx.get(f"{server.url}/v1/health", timeout=10).status_code == 200


def test_many_headers_past_the_cap_are_431(server: RegistryProcess) -> None:
    line = b"X-Filler: " + b"f" * 54 + b"\r\n"
    count = MAX_HEADER_BYTES // len(line) + 16
    with _connect(server) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + line * count)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_headers_under_the_cap_and_a_body_sent_with_them_are_served(
    server: RegistryProcess, tmp_path: Path
) -> None:
    padding = "p" * (MAX_HEADER_BYTES - 4096)
    health = httpx.get(f"{server.url}/v1/health", headers={"X-Padding": padding}, timeout=10)
    assert health.status_code == 200
    token = subprocess.run(
        [*phony_command(), "registry", "token", "create", "--storage",
         str(tmp_path / "registry-data"), "--namespace", "alice"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    # Headers and 512 KiB of body in one write: the body is no header excess.
    body = b"\x00" * (512 << 10)
    with _connect(server) as sock:
        sock.sendall(
            b"PUT /v1/blobs/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s"
            % (digest_of(body).encode(), token.encode(), len(body), body)
        )
        answer = _answer(sock)
    assert not answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]  # not a model: refused as such
    assert b"headers_too_large" not in answer
