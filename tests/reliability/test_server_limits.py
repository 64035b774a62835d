"""A real server against clients that do not play fair: no token, huge or endless bodies,
half-sent requests, crafted models, forged Host headers.

Each test starts ``phony registry serve`` on a folder, as its own process,
so its peak memory (``VmHWM``) can be read from /proc and its sockets
closed under it. Everything listens on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import phony_command
from tests.e2e.conftest import RegistryProcess
from tests.reliability.conftest import digest_of, rss_kib, send_until_refused, start_server

pytestmark = pytest.mark.e2e

MIB = 1 << 20
#: The timeouts the server under test runs with (seconds).
HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 1.5


def _token(storage: Path, namespace: str = "alice") -> str:
    result = subprocess.run(
        [*phony_command(), "registry", "token", "create", "--storage", str(storage),
         "--namespace", namespace],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout.strip()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RegistryProcess]:
    """A folder registry server with short header and body timeouts."""
    process = start_server(
        "--storage", str(tmp_path / "registry-data"),
        "--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT),
        env={},
    )  # fmt: skip
    yield process
    assert "Traceback" not in process.stop()


def _address(server: RegistryProcess) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _connect(server: RegistryProcess, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(_address(server), timeout=timeout)


def _response(sock: socket.socket) -> bytes:
    """One whole response (headers and Content-Length body) from ``sock``."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n")
         if line.startswith(b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length and (chunk := sock.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def _peak_growth_kib(server: RegistryProcess, before: int) -> int:
    return rss_kib(server.process.pid)[1] - before


def test_unauthenticated_body_is_refused_before_a_byte_of_it_is_read(
    server: RegistryProcess,
) -> None:
    """Finding 2: PUT /v1/keys with no token and a 512 MiB body: 401 first, the body never read."""
    _rss, peak_before = rss_kib(server.process.pid)
    declared = 512 * MIB
    with _connect(server) as sock:
        sock.sendall(
            b"PUT /v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % declared
        )
        answer = _response(sock)  # before a byte of the body went out
        assert _status(answer) == 401, answer
        assert b'"error":"unauthorized"' in answer
        assert b"connection: close" in answer.lower()  # the client knows not to reuse it
        sent = send_until_refused(sock, declared)
    # The server hung up instead of reading the body (socket buffers take a few MB).
    assert sent < 64 * MIB, sent
    assert _peak_growth_kib(server, peak_before) < 32 << 10
    assert httpx.get(f"{server.url}/v1/health").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("PUT", "/v1/keys", id="keys"),
        pytest.param("PUT", f"/v1/blobs/{digest_of(b'x')}", id="blob"),
        pytest.param("PUT", "/v1/models/alice/names/versions/1.0.0", id="manifest"),
        pytest.param("POST", "/v1/models/alice/names/versions/1.0.0/yank", id="yank"),
    ],
)
def test_every_write_endpoint_answers_401_before_the_body(
    server: RegistryProcess, method: str, path: str
) -> None:
    with _connect(server) as sock:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {64 * MIB}\r\n\r\n".encode()
        )
        assert _status(_response(sock)) == 401


def test_a_key_body_over_its_cap_is_413_even_with_a_token(
    server: RegistryProcess, tmp_path: Path
) -> None:
    token = _token(tmp_path / "registry-data")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with _connect(server) as sock:  # declared too big: refused before the body
        sock.sendall(
            b"PUT /v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            b"Content-Length: %d\r\n\r\n" % (token.encode(), 100 * MIB)
        )
        answer = _response(sock)
        assert _status(answer) == 413, answer
        assert send_until_refused(sock, 100 * MIB) < 64 * MIB

    def endless() -> Iterator[bytes]:  # chunked, so nothing is declared
        yield b'{"public_key": "'
        for _ in range(64):
            yield b"A" * 65536

    answer = httpx.put(f"{server.url}/v1/keys", content=endless(), headers=headers, timeout=30)
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "payload_too_large"


def _wait_closed(sock: socket.socket, limit: float) -> tuple[float, bytes]:
    """Seconds until the server closes ``sock`` (at most ``limit``), and what it sent."""
    start = time.monotonic()
    sock.settimeout(limit)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return time.monotonic() - start, received


def test_half_sent_requests_are_closed_after_the_header_timeout(server: RegistryProcess) -> None:
    """Finding 8: 50 half-sent requests, all closed after the timeout; health answers meanwhile."""
    sockets = [_connect(server) for _ in range(50)]
    try:
        for i, sock in enumerate(sockets):
            if i % 2:
                sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert httpx.get(f"{server.url}/v1/health", timeout=5).status_code == 200
        start = time.monotonic()
        for i, sock in enumerate(sockets):
            _elapsed, received = _wait_closed(sock, HEADER_TIMEOUT + 10)
            if i % 2:  # a request had begun: told why
                assert _status(received) == 408
            else:
                assert received == b""
        assert time.monotonic() - start < HEADER_TIMEOUT + 5
    finally:
        for sock in sockets:
            sock.close()
    assert httpx.get(f"{server.url}/v1/health", timeout=5).status_code == 200


def test_headers_trickled_a_byte_at_a_time_still_time_out(server: RegistryProcess) -> None:
    request = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    with _connect(server) as sock:
        start = time.monotonic()
        with contextlib.suppress(OSError):
            for byte in request:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
                if time.monotonic() - start > HEADER_TIMEOUT + 5:
                    break
        _elapsed, received = _wait_closed(sock, 5)
    assert time.monotonic() - start < HEADER_TIMEOUT + 3
    assert received == b"" or _status(received) == 408


def test_a_stalled_body_is_408_after_the_body_timeout(
    server: RegistryProcess, tmp_path: Path
) -> None:
    token = _token(tmp_path / "registry-data")
    with _connect(server) as sock:
        sock.sendall(
            b"PUT /v1/blobs/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            b"Content-Length: 1000\r\n\r\n0123456789" % (digest_of(b"x").encode(), token.encode())
        )
        elapsed, received = _wait_closed(sock, BODY_TIMEOUT + 10)
    assert _status(received) == 408, received
    assert b'"error":"timeout"' in received
    assert BODY_TIMEOUT - 0.5 < elapsed < BODY_TIMEOUT + 5
    assert not list(Path(tmp_path / "registry-data").rglob("*.tmp"))


def _bracket_bomb(inflated: int) -> bytes:
    """A model file of ~64 KB that inflates to ``inflated`` bytes of ``[],[],...``."""
    head, tail = b'{"format_version":2,"x":[', b"[]]}"
    count = (inflated - len(head) - len(tail)) // 3
    raw = head + b"[]," * count + tail
    return gzip.compress(raw, compresslevel=9, mtime=0)


BOMB_INFLATED = 63 * MIB


@pytest.fixture(scope="module")
def bracket_bomb() -> bytes:
    bomb = _bracket_bomb(BOMB_INFLATED)
    assert len(bomb) < 100_000
    return bomb


def test_an_upload_that_inflates_to_brackets_is_refused_in_bounded_memory(
    server: RegistryProcess, tmp_path: Path, bracket_bomb: bytes
) -> None:
    """Finding 3: 64 KB -> 63 MiB of ``[],`` took ~1.7 GB to parse; now refused before parsing."""
    token = _token(tmp_path / "registry-data")
    _rss, peak_before = rss_kib(server.process.pid)
    answer = httpx.put(
        f"{server.url}/v1/blobs/{digest_of(bracket_bomb)}",
        content=bracket_bomb,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert answer.status_code == 422, answer.text
    assert "more than 2000000 values" in answer.json()["detail"]
    growth = _peak_growth_kib(server, peak_before)
    # Inflating, holding and scanning the text: a small multiple of its size, not 27 times.
    assert growth < 4 * BOMB_INFLATED // 1024, growth


def test_parallel_uploads_wait_for_their_turn_to_be_parsed(
    server: RegistryProcess, tmp_path: Path, bracket_bomb: bytes
) -> None:
    """Six such uploads at once: at most two are parsed at a time, so memory does not add up."""
    from concurrent.futures import ThreadPoolExecutor

    token = _token(tmp_path / "registry-data")
    _rss, peak_before = rss_kib(server.process.pid)

    def upload(_: int) -> int:
        answer = httpx.put(
            f"{server.url}/v1/blobs/{digest_of(bracket_bomb)}",
            content=bracket_bomb,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        return answer.status_code

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(upload, range(6))) == [422] * 6
    growth = _peak_growth_kib(server, peak_before)
    # One parse costs about 2.3 times the inflated size; six at once would be ~14 times.
    assert growth < 6 * BOMB_INFLATED // 1024, growth


def _run_measured(*args: str) -> tuple[int, str, int]:
    """``phony ARGS`` as a subprocess: (exit code, its output, its own peak RSS in KiB).

    ``os.wait4`` reaps the child and returns its resource usage alone
    (``RUSAGE_CHILDREN`` would be the largest of every child this test run made).
    """
    process = subprocess.Popen(
        [*phony_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    output = process.stdout.read()  # to the end: the child has exited or is exiting
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    return process.returncode, output.decode(errors="replace"), usage.ru_maxrss


@pytest.mark.parametrize("command", ["validate", "info", "generate"])
def test_commands_refuse_a_bracket_bomb_in_bounded_memory(
    tmp_path: Path, bracket_bomb: bytes, command: str
) -> None:
    """Finding 3 on the client: the command's peak RSS, against the same command on a real model."""
    from tests.reliability.conftest import random_words, train_model

    good = tmp_path / "good.phony"
    good.write_bytes(train_model(random_words(200, seed=3), order=2))
    bomb = tmp_path / "bomb.phony"
    bomb.write_bytes(bracket_bomb)
    code, output, baseline = _run_measured(command, str(good))
    assert code == 0, output
    code, output, peak = _run_measured(command, str(bomb))
    assert code == 4, output
    assert "Traceback" not in output
    assert "more than 2000000 values" in output
    assert peak - baseline < 4 * BOMB_INFLATED // 1024, (baseline, peak)


def test_pages_name_the_public_url_never_the_host_header(tmp_path: Path) -> None:
    """Finding 6: pages name the configured URL in their commands, and say how to cache them."""
    server = start_server(
        "--storage", str(tmp_path / "registry-data"),
        "--public-url", "https://models.example.com/", env={},
    )  # fmt: skip
    try:
        for path in ("/", "/models/alice/missing", "/locales/tr_TR"):
            page = httpx.get(f"{server.url}{path}", headers={"Host": "evil.example"})
            assert "https://models.example.com" in page.text, path
            assert "evil.example" not in page.text, path
            assert page.headers["cache-control"] == "no-cache", path
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--max-upload", "1KB"], {}), ([], {"PHONY_MAX_UPLOAD": "1KB"})],
    ids=["option", "environment"],
)
def test_the_upload_cap_comes_from_the_option_or_the_environment(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    storage = tmp_path / "registry-data"
    token = _token(storage)
    server = start_server("--storage", str(storage), *args, env=env)
    try:
        blob = b"x" * 4096
        answer = httpx.put(
            f"{server.url}/v1/blobs/{digest_of(blob)}",
            content=blob,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 413, answer.text
    finally:
        server.stop()


def test_without_a_public_url_pages_name_the_bound_address(server: RegistryProcess) -> None:
    page = httpx.get(f"{server.url}/", headers={"Host": "evil.example:443"})
    assert f"--registry {server.url}" in page.text
    assert "evil.example" not in page.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--port", "99999"], "99999 is not in the range 1<=x<=65535", id="port-high"),
        pytest.param(["--port", "0"], "0 is not in the range 1<=x<=65535", id="port-zero"),
        pytest.param(["--public-url", "ftp://x"], "is not a public URL", id="public-url"),
        pytest.param(["--header-timeout", "0"], "0.0 is not in the range x>0", id="timeout"),
    ],
)
def test_serve_refuses_bad_options_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = subprocess.run(
        [*phony_command(), "registry", "serve", "--storage", str(tmp_path / "data"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in result.stderr


def test_a_low_file_limit_server_recovers_from_a_flood_of_half_sent_requests(
    tmp_path: Path,
) -> None:
    """Finding 8 as reported: with 256 file descriptors, 300 half-sent requests took
    /v1/health down for good; now the header timeout frees them and it answers again."""
    import sys

    from tests.e2e.conftest import free_port, spawn, wait_until_up

    port = free_port()
    limited = (
        "import os, resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    args = [
        sys.executable, "-c", limited, *phony_command(), "registry", "serve",
        "--storage", str(tmp_path / "data"), "--host", "127.0.0.1", "--port", str(port),
        "--header-timeout", str(HEADER_TIMEOUT), "--log-level", "critical",
    ]  # fmt: skip
    process, log = spawn(args, dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    server = RegistryProcess(url, process, log, args)
    sockets: list[socket.socket] = []
    try:
        wait_until_up(f"{url}/v1/health", process, log)
        for _ in range(300):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            except OSError:
                continue
            sockets.append(sock)
        deadline = time.monotonic() + HEADER_TIMEOUT + 15
        status = 0
        while time.monotonic() < deadline:
            try:
                status = httpx.get(f"{url}/v1/health", timeout=2).status_code
            except httpx.TransportError:
                status = 0
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, "the server did not recover from the half-sent requests"
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
