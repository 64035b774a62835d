"""Real processes for the end-to-end tests: registry servers under uvicorn, an S3 endpoint.

Everything listens on 127.0.0.1 on a free port and is stopped by the fixture
that started it. The S3 endpoint is moto's standalone server
(``python -m moto.server``, from the ``dev`` extra) in a subprocess: real
HTTP, no in-process patching.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
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
