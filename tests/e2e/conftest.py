"""Real processes for the end-to-end tests: registry servers under uvicorn, an S3 endpoint.

Everything listens on 127.0.0.1 on a free port and is stopped by the fixture
that started it. The S3 endpoint is moto's standalone server
(``python -m moto.server``, from the ``dev`` extra) in a subprocess: real
HTTP, no in-process patching.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import phony_command

#: Credentials for the local S3 endpoint only (moto accepts anything).
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "phony-test",
    "AWS_SECRET_ACCESS_KEY": "phony-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``args`` with stdout and stderr going to a log file (a pipe could fill up)."""
    fd, name = tempfile.mkstemp(prefix="phony-e2e-", suffix=".log")
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    return process, Path(name)


def _log(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0
) -> None:
    """Poll ``url`` until it answers anything; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{_log(log)}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    stop(process, log)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{_log(log)}")


def stop(process: subprocess.Popen[bytes], log: Path) -> str:
    """Terminate ``process`` (kill it if it lingers); returns what it printed."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    output = _log(log)
    log.unlink(missing_ok=True)
    return output


@dataclass
class RegistryProcess:
    """A ``phony registry serve`` subprocess."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    output: str = ""

    def stop(self) -> str:
        """Stop the server; returns its log."""
        if self.process.poll() is None or self.log.exists():
            self.output += stop(self.process, self.log)
        return self.output


def start_registry(
    *storage_args: str, env: dict[str, str] | None = None, port: int | None = None
) -> RegistryProcess:
    """Start ``phony registry serve STORAGE_ARGS`` (on a free port) and wait until it is healthy."""
    port = port or free_port()
    args = [*storage_args, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    merged = {**os.environ, **(env or {})}
    process, log = spawn([*phony_command(), "registry", "serve", *args], merged)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/v1/health", process, log)
    return RegistryProcess(url, process, log, args, merged)


@pytest.fixture
def registry_server(tmp_path: Path) -> Iterator[RegistryProcess]:
    """A registry server on a fresh folder (``--storage``), stopped after the test."""
    server = start_registry("--storage", str(tmp_path / "registry-data"))
    yield server
    server.stop()


@dataclass(frozen=True)
class S3Endpoint:
    """The local S3 endpoint: its URL and the environment that reaches it."""

    url: str
    env: dict[str, str]

    def client(self) -> object:
        """A boto3 S3 client for the endpoint."""
        import boto3

        return boto3.session.Session(
            aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=S3_ENV["AWS_DEFAULT_REGION"],
        ).client("s3", endpoint_url=self.url)

    def new_bucket(self, name: str) -> str:
        """Create a bucket and return its name."""
        self.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
        return name


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """moto's S3 server in a subprocess on 127.0.0.1, for the whole session."""
    pytest.importorskip("moto.server", reason="moto[server] comes with the dev extra")
    port = free_port()
    process, log = spawn(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        {**os.environ, **S3_ENV},
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, process, log)
    try:
        yield S3Endpoint(url, dict(S3_ENV))
    finally:
        stop(process, log)


def _race_blobs(count: int) -> list[bytes]:
    from phony_registry import dump_model, train

    base = ["ayse", "fatma", "elif", "zeynep", "mehmet"]
    return [dump_model(train([*base, f"extra{i}"], name=f"m{i}", order=2)) for i in range(count)]


def _race_round(
    bases: list[str], manifests: list[bytes], name: str, version: str, headers: dict[str, str]
) -> list[tuple[int, int]]:
    """PUT each manifest to its server at the same moment; (status, index) per request."""
    barrier = threading.Barrier(len(manifests))
    statuses: list[tuple[int, int]] = []

    def publish(i: int) -> None:
        barrier.wait(timeout=30)
        answer = httpx.put(
            f"{bases[i % len(bases)]}/v1/models/{name}/versions/{version}",
            content=manifests[i],
            headers=headers,
            timeout=60,
        )
        statuses.append((answer.status_code, i))

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(len(manifests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def race_publishes(bases: list[str], token: str, *, rounds: int, racers: int = 4) -> None:
    """``rounds`` rounds of ``racers`` different models racing for one version across servers.

    Asserts exactly one 201 and only 409s otherwise in every round, that the
    stored manifest is the winner's, and that every server then serves one
    signed snapshot whose index lists every version.
    """
    from phony_registry.index import Snapshot, parse_index
    from phony_registry.manifest import Manifest
    from phony_registry.signing import PrivateKey

    headers = {"Authorization": f"Bearer {token}"}
    key = PrivateKey.generate()
    registered = httpx.put(
        f"{bases[0]}/v1/keys", json={"public_key": key.public_key.to_base64()}, headers=headers
    )
    assert registered.status_code == 200, registered.text
    blobs = _race_blobs(racers)
    digests = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    for blob, digest in zip(blobs, digests, strict=True):
        stored = httpx.put(f"{bases[0]}/v1/blobs/{digest}", content=blob, headers=headers)
        assert stored.status_code in (200, 201), stored.text
    for round_ in range(rounds):
        version = f"1.0.{round_}"
        manifests = [
            Manifest.model("alice/race", version, digest=d, size=len(b), format_version=2)
            .signed(key)
            .to_bytes()
            for b, d in zip(blobs, digests, strict=True)
        ]
        statuses = _race_round(bases, manifests, "alice/race", version, headers)
        codes = sorted(code for code, _ in statuses)
        assert codes == [201] + [409] * (racers - 1), f"round {round_}: {codes}"
        winner = next(i for code, i in statuses if code == 201)
        stored = Manifest.from_bytes(
            httpx.get(f"{bases[-1]}/manifests/alice/race/{version}.json").content
        )
        assert stored.digest == digests[winner]
    for base in bases:
        snapshot = Snapshot.from_bytes(httpx.get(f"{base}/snapshot.json").content)
        index = httpx.get(f"{base}/index/alice/race.jsonl").content
        snapshot.check_file("index/alice/race.jsonl", index)
        assert [e.version for e in parse_index(index)] == [f"1.0.{r}" for r in range(rounds)]
