"""A `phony registry serve` process on 127.0.0.1 for the benchmarks that need one."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PHONY = str(Path(sys.executable).with_name("phony"))


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    storage: Path, env: dict[str, str], *options: str
) -> tuple[subprocess.Popen[bytes], str]:
    """``phony registry serve`` on ``storage`` and a free port: the process and, once healthy,
    its URL."""
    port = free_port()
    process = subprocess.Popen(
        [PHONY, "registry", "serve", "--storage", str(storage), "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", *options],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{url}/v1/health", timeout=1.0)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the registry server did not start")
