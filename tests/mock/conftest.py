"""``phony mock start`` as a real process on 127.0.0.1, driven over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import phony_command
from tests.e2e.conftest import free_port, spawn, stop, wait_until_up

#: A user's own schemas: users, and posts that refer to them (json-server's favourite pair).
USERS_TOML = """
description = "users of a blog"

[columns.first_name]
type = "ngram"
model = "en_US/first_names"

[columns.last_name]
type = "ngram"
model = "en_US/last_names"

[columns.email]
type = "email"
from = ["first_name", "last_name"]

[columns.age]
type = "integer"
min = 18
max = 90

[columns.plan]
type = "choice"
values = ["free", "pro", "team"]

[columns.joined]
type = "date"
start = "2015-01-01"
end = "2024-12-31"
"""

POSTS_TOML = """
[columns.user_id]
type = "integer"
min = 1
max = 30

[columns.title]
type = "template"
template = "Notes from {city}"

[columns.city]
type = "ngram"
model = "en_US/cities"

[columns.likes]
type = "integer"
min = 0
max = 500

[columns.score]
type = "number"
min = 0
max = 5
decimals = 1
"""


@dataclass
class MockServer:
    """A running ``phony mock start``."""

    url: str
    process: object
    log: Path
    args: list[str]

    def stop(self) -> str:
        """Stop it (SIGTERM); returns what it printed."""
        return stop(self.process, self.log)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def blog_schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with users.toml and posts.toml."""
    folder = tmp_path_factory.mktemp("blog")
    (folder / "users.toml").write_text(USERS_TOML)
    (folder / "posts.toml").write_text(POSTS_TOML)
    return folder


@pytest.fixture(scope="session")
def mock_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One cache and config dir for the session's mock processes (models read once)."""
    home = tmp_path_factory.mktemp("mock-home")
    return {
        **os.environ,
        "PHONY_CACHE_DIR": str(home / "cache"),
        "PHONY_CONFIG_DIR": str(home / "config"),
        "PHONY_LOAD_PLUGINS": "",
    }


StartMock = Callable[..., MockServer]


@pytest.fixture(scope="session")
def start_mock(mock_home: dict[str, str]) -> Iterator[StartMock]:
    """Start ``phony mock start ARGS`` on a free port; every one is stopped at the end."""
    started: list[MockServer] = []

    def start(*args: str) -> MockServer:
        port = free_port()
        full = [
            *phony_command(),
            "mock",
            "start",
            *args,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        process, log = spawn(full, mock_home)
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/openapi.json", process, log)
        server = MockServer(url, process, log, full)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def get_from_deployed(folder: Path, env: dict[str, str], path: str, limit: int) -> Any:
    """The JSON of ``GET path?_limit=limit`` from a ``phony mock deploy`` folder, served as its
    command line does (``uvicorn --factory``, the folder's mock.json), then stopped."""
    port = free_port()
    env = {**env, "PHONY_MOCK_CONFIG": str(folder / "mock.json")}
    uvicorn = Path(sys.executable).with_name("uvicorn")
    process, log = spawn(
        [str(uvicorn), "--factory", "phony_server.mock:app_from_env",
         "--host", "127.0.0.1", "--port", str(port)],
        env,
    )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/openapi.json", process, log)
        return httpx.get(f"http://127.0.0.1:{port}{path}", params={"_limit": limit}).json()
    finally:
        stop(process, log)


def generate_rows(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    """The rows ``phony generate ARGS --format json`` writes, which the mock must serve."""
    result = subprocess.run(
        [*phony_command(), "generate", *args, "--format", "json"],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows
