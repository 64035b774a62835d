"""phony_server.connections under uvicorn, with both of uvicorn's HTTP parsers.

``phony registry serve`` uses httptools when it is installed (the tests in
tests/reliability run that one as a process); this runs a small ASGI app
under uvicorn in a thread with each protocol class, so the h11 fallback is
exercised too.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from phony_server import connections

TIMEOUT = 1.0


async def _refusing_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers 401 at once, without reading the request body."""
    if scope["type"] != "http":
        return
    body = b'{"error":"unauthorized","detail":"no token"}'
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _protocols() -> list[Any]:
    found = [pytest.param(connections._h11_protocol(), id="h11")]
    if connections._protocol_base() is not object:
        found.append(pytest.param(connections._HttpTools, id="httptools"))
    return found


@pytest.fixture(params=_protocols())
def address(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, int]]:
    import uvicorn

    monkeypatch.setenv("PHONY_HEADER_TIMEOUT", str(TIMEOUT))
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(_refusing_app, http=request.param, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield sock.getsockname()[:2]
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _read_all(sock: socket.socket, limit: float) -> bytes:
    sock.settimeout(limit)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_unfinished_headers_are_closed_with_a_408(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        start = time.monotonic()
        received = _read_all(sock, TIMEOUT + 5)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert TIMEOUT - 0.3 < time.monotonic() - start < TIMEOUT + 3


def test_an_idle_new_connection_is_closed_quietly(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=5) as sock:
        assert _read_all(sock, TIMEOUT + 5) == b""


def test_a_refused_body_closes_the_connection(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        received = _read_all(sock, 5)
    assert received.startswith(b"HTTP/1.1 401 ")
    assert b"connection: close" in received.lower()


def test_a_kept_alive_connection_gets_the_timeout_again(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # a second request, half-sent
        received = _read_all(sock, TIMEOUT + 5)
    assert received.startswith(b"HTTP/1.1 401 ")
    assert b"HTTP/1.1 408 " in received
