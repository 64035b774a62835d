"""Fixtures of the reliability tests: models of any size, folder registries, a slow HTTP host.

Real processes (uvicorn registry servers, moto's S3 server) come from the
end-to-end fixtures in ``tests/e2e/conftest.py``, imported rather than copied.
Everything listens on 127.0.0.1; every loop in these tests is bounded in
count and in time.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from phony_registry import layout
from tests.conftest import phony_command
from tests.e2e.conftest import (
    RegistryProcess,
    S3Endpoint,
    free_port,
    s3_endpoint,
    spawn,
    wait_until_up,
)

__all__ = [
    "FaultyProxy",
    "S3Registry",
    "SlowHost",
    "cache_blob_problems",
    "digest_of",
    "model_variants",
    "publish_folder",
    "random_words",
    "rss_kib",
    "s3_endpoint",
    "start_server",
    "train_model",
]

_LETTERS = "abcdefghijklmnoprstuvyz"
_MARK = b"variant 000000"


def digest_of(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def random_words(count: int, seed: int) -> list[str]:
    """``count`` pseudo-words drawn from a seeded generator (training data of any size)."""
    rng = random.Random(seed)
    return ["".join(rng.choice(_LETTERS) for _ in range(rng.randint(4, 10))) for _ in range(count)]


def train_model(values: list[str], *, order: int = 3, description: str = "") -> bytes:
    """A real ``.phony`` file trained from ``values``."""
    from phony_registry import dump_model, train

    return dump_model(train(values, name="words", order=order, description=description))


def model_variants(values: list[str], count: int, *, order: int = 3) -> list[bytes]:
    """``count`` valid models with distinct bytes, trained once.

    Training is the slow part, so the model is trained once with a fixed-width
    description, and each variant rewrites that description in the JSON and
    gzips it again (level 1: these tests measure the registry, not gzip).
    """
    raw = gzip.decompress(train_model(values, order=order, description=_MARK.decode()))
    assert raw.count(_MARK) == 1
    return [
        gzip.compress(raw.replace(_MARK, b"variant %06d" % i), compresslevel=1, mtime=0)
        for i in range(count)
    ]


def publish_folder(root: Path, reference: str, data: bytes) -> str:
    """Push ``data`` as ``reference`` into the folder registry ``root``; returns its digest."""
    from phony_client.publish import push_to_folder

    source = root.parent / f"{digest_of(data)[7:23]}.phony"
    source.write_bytes(data)
    return push_to_folder(source, reference, root).digest


def cache_blob_problems(cache_root: Path) -> list[str]:
    """Files at final blob paths of a cache whose bytes do not hash to their name."""
    problems = []
    base = cache_root / "blobs" / "sha256"
    for path in sorted(base.glob("*/*")) if base.is_dir() else []:
        if path.name.startswith("."):
            continue  # a temporary file: never trusted, pruned
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != path.name or path.parent.name != path.name[:2]:
            problems.append(f"{path.relative_to(cache_root)} holds sha256:{actual}")
    return problems


def rss_kib(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of process ``pid`` in KiB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def send_until_refused(sock: socket.socket, total: int, fill: bytes = b" ") -> int:
    """Send up to ``total`` bytes (1 MiB blocks of ``fill``) down ``sock``; how many
    went out before the server hung up."""
    block = fill * (1 << 20)
    sent = 0
    with contextlib.suppress(OSError):
        while sent < total:
            sock.sendall(block)
            sent += len(block)
    return sent


@dataclass
class SlowHost:
    """A static host for a registry folder on 127.0.0.1 that trickles blobs.

    Small files are served at once; a blob goes out in ``chunk``-byte pieces
    with ``delay`` seconds between them, so a client killed at a random moment
    is very likely to die in the middle of a download.
    """

    root: Path
    chunk: int = 2048
    delay: float = 0.004
    requests: list[str] = field(default_factory=list)
    #: Most blob downloads in flight at one moment.
    max_active: int = 0
    #: Hold each blob response until this many blob downloads are in flight together
    #: (0: no gate), or until ``gather_timeout`` seconds have passed: a race made on purpose.
    gather: int = 0
    gather_timeout: float = 25.0  # under the client's 30 s read timeout
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The base URL to pull from."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SlowHost:
        """Listen on a free port in a daemon thread."""
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                relative = self.path.split("?", 1)[0].lstrip("/")
                host.requests.append(relative)
                try:
                    data = layout.to_local(host.root, relative).read_bytes()
                except (ValueError, OSError):
                    self.send_error(404)
                    return
                blob = relative.startswith("blobs/")
                step = host.chunk if blob else len(data) or 1
                host._count(blob, +1)
                if blob and host.gather:
                    host._wait_for_others()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for start in range(0, len(data), step):
                        self.wfile.write(data[start : start + step])
                        self.wfile.flush()
                        if blob:
                            time.sleep(host.delay)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client was killed: expected here
                finally:
                    host._count(blob, -1)

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _count(self, blob: bool, change: int) -> None:
        if blob:
            with self._lock:
                self._active += change
                self.max_active = max(self.max_active, self._active)
            with self._arrived:
                self._arrived.notify_all()

    def _wait_for_others(self) -> None:
        with self._arrived:
            self._arrived.wait_for(lambda: self._active >= self.gather, self.gather_timeout)

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def slow_host(tmp_path: Path) -> Iterator[SlowHost]:
    """A trickling static host for the folder ``tmp_path / "registry"`` (empty at first)."""
    host = SlowHost(tmp_path / "registry").start()
    yield host
    host.stop()


def start_server(*args: str, env: dict[str, str], log_level: str = "warning") -> RegistryProcess:
    """``phony registry serve ARGS`` on a free port of 127.0.0.1, its output in a log file."""
    port = free_port()
    full = [*args, "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level]
    merged = {**os.environ, **env}
    process, log = spawn([*phony_command(), "registry", "serve", *full], merged)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/v1/health", process, log)
    return RegistryProcess(url, process, log, full, merged)


@dataclass
class S3Registry:
    """A bucket on the local S3 endpoint and the server options that use it."""

    endpoint: S3Endpoint
    bucket: str
    prefix: str = "registry"
    s3_url: str = ""

    def args(self) -> list[str]:
        """``phony registry serve`` options for this bucket (through ``s3_url`` if set)."""
        return [
            "--s3-bucket", self.bucket, "--s3-endpoint", self.s3_url or self.endpoint.url,
            "--s3-prefix", self.prefix, "--s3-region", "us-east-1",
        ]  # fmt: skip

    def storage(self, area: str = "public") -> Any:
        """An S3Storage on the registry's ``public`` tree or ``private`` area (to inspect)."""
        from phony_server.s3 import S3Storage

        return S3Storage(
            self.bucket, prefix=f"{self.prefix}/{area}", endpoint_url=self.endpoint.url,
            client=self.endpoint.client(),
        )  # fmt: skip

    def keys(self) -> set[str]:
        """Every object key in the bucket."""
        client: Any = self.endpoint.client()
        found: set[str] = set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            found.update(item["Key"] for item in page.get("Contents", []))
        return found

    def open_multipart_uploads(self) -> list[Any]:
        """Multipart uploads started and neither completed nor aborted."""
        client: Any = self.endpoint.client()
        return list(client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))

    def token(self, *namespaces: str, **options: Any) -> str:
        """A new token for ``namespaces`` (TokenStore.create options pass through)."""
        from phony_server.tokens import TokenStore

        token, _record = TokenStore(self.storage("private")).create(list(namespaces), **options)
        return token


@pytest.fixture
def s3_registry(s3_endpoint: S3Endpoint) -> S3Registry:
    """A fresh bucket on the session's S3 endpoint."""
    import uuid

    return S3Registry(s3_endpoint, s3_endpoint.new_bucket(f"phony-{uuid.uuid4().hex[:12]}"))


@dataclass
class FaultyProxy:
    """A TCP proxy on 127.0.0.1 in front of the S3 endpoint, that can fail on demand.

    ``mode`` is ``"pass"`` (forward), ``"down"`` (close every connection: the
    endpoint is gone), ``"error"`` (answer every request with a 500 S3
    error) or ``"hang"`` (keep every connection open and answer nothing: a
    paused process, a black-holed network). ``fail_after`` switches to
    ``fail_mode`` once that many more requests went through, so a fault can
    land in the middle of a publish.
    Requests are counted by the method at the start of a client packet, which
    is how boto3 sends them.
    """

    target_port: int
    mode: str = "pass"
    fail_after: int | None = None
    fail_mode: str = "error"
    requests: int = 0
    _sock: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _held: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The endpoint URL to give the server."""
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def start(self) -> FaultyProxy:
        """Listen on a free port in a daemon thread."""
        import socket

        self._sock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening, and drop the connections ``hang`` holds."""
        self._sock.close()
        for sock in self._held:
            with contextlib.suppress(OSError):
                sock.close()

    def fail_in(self, requests: int, mode: str) -> None:
        """Fail in ``mode`` after ``requests`` more requests."""
        with self._lock:
            self.fail_after, self.fail_mode = requests, mode

    def heal(self) -> None:
        """Forward everything again."""
        with self._lock:
            self.mode, self.fail_after = "pass", None

    def _count(self, data: bytes) -> str:
        with self._lock:
            if data.split(b" ", 1)[0] in (b"GET", b"PUT", b"HEAD", b"POST", b"DELETE"):
                if self.fail_after is not None and self.mode == "pass":
                    if self.fail_after <= 0:
                        self.mode, self.fail_after = self.fail_mode, None
                    else:
                        self.fail_after -= 1
                if self.mode == "pass":
                    self.requests += 1
            return self.mode

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    _BODY = (
        b"<?xml version='1.0'?><Error><Code>InternalError</Code><Message>injected</Message></Error>"
    )
    _ERROR = (
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BODY), _BODY)
    )

    def _pump(self, source: Any, sink: Any, from_client: bool) -> None:
        hold = False
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client:
                    mode = self._count(data)
                    if mode == "error":
                        source.sendall(self._ERROR)
                        break
                    if mode == "down":
                        break
                    if mode == "hang":  # the request goes nowhere; the connection stays
                        hold = True
                        self._held.extend((source, sink))
                        return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            if not hold:
                for sock in (source, sink):
                    with contextlib.suppress(OSError):
                        sock.close()
