"""``phony mock``: reproducible chaos, export, deploy, and errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mock.conftest import MockServer, StartMock, get_from_deployed

Run = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.e2e


def _outcomes(server: MockServer, paths: list[str]) -> list[Any]:
    seen: list[Any] = []
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for path in paths:
            try:
                answer = client.get(path)
                seen.append(answer.status_code if answer.status_code != 200 else answer.json())
            except httpx.TransportError:
                seen.append("reset")
    return seen


def test_faults_and_delays_replay_the_same_way(start_mock: StartMock, blog_schemas: Path) -> None:
    args = (
        str(blog_schemas), "--seed", "3", "--count", "30",
        "--faults", "500:0.25,503:0.1,reset:0.1", "--delay", "1-5ms",
    )  # fmt: skip
    paths = [f"/users/{1 + i % 7}" for i in range(40)] + ["/posts?_page=1&_limit=5"] * 10
    first = start_mock(*args)
    once = _outcomes(first, paths)
    first.stop()
    again = _outcomes(start_mock(*args), paths)
    assert once == again
    assert once.count(500) >= 5
    assert once.count(503) >= 1
    assert once.count("reset") >= 1
    assert sum(isinstance(o, dict | list) for o in once) >= 15
    other_seed = _outcomes(start_mock(*args[:2], "4", *args[3:]), paths)
    assert other_seed != once


def test_bad_options_are_one_line(
    run_phony: Run, mock_home: dict[str, str], blog_schemas: Path
) -> None:
    cases = [
        (["--faults", "500:2"], "--faults '500:2': the probability must be between 0 and 1"),
        (["--delay", "fast"], "--delay 'fast': expected a duration such as 120ms or 0.5s"),
        (["--state", "redis:x"], "--state 'redis:x': expected memory or sqlite:PATH"),
    ]
    for extra, message in cases:
        result = run_phony("mock", "start", str(blog_schemas), *extra, env=mock_home)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == f"error: {message}"
    ready = run_phony("mock", "start", "person", env=mock_home)
    assert ready.returncode == 2
    assert ready.stderr.strip().startswith("error: the ready schema 'person' needs a locale")
    missing = run_phony("mock", "start", "nope.toml", env=mock_home)
    assert missing.stderr.strip() == "error: nope.toml: no such schema file"


def test_a_count_past_the_largest_id_is_one_line_naming_the_maximum(
    run_phony: Run, mock_home: dict[str, str], tmp_path: Path
) -> None:
    for command, *where in (
        ["start", "--port", "0"],
        ["export", "-o", str(tmp_path / "db.json")],
        ["deploy", "-o", str(tmp_path / "deployed")],
    ):
        result = run_phony(
            "mock", command, "person", "--locale", "en_US",
            "--count", "100000000000000000000", *where, env=mock_home,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert result.stderr.strip() == (
            "error: collection people: 100,000,000,000,000,000,000 records are more than a "
            "collection holds: at most 9,223,372,036,854,775,807 (ids stop at 2**63 - 1)"
        )
    assert not (tmp_path / "db.json").exists()
    assert not (tmp_path / "deployed").exists()


def test_without_the_server_extra_mock_says_so(mock_home: dict[str, str]) -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from phony_client.cli import main\n"
        "sys.exit(main(['mock', 'start', 'person', '--locale', 'en_US']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=mock_home, timeout=60
    )
    # As for every optional package (registry serve, token create on S3...): code 1.
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: phony mock start needs uvicorn, which is not installed: pip install 'phony[server]'"
    )


def test_export_writes_json_server_db_with_the_writes(
    run_phony: Run,
    start_mock: StartMock,
    blog_schemas: Path,
    mock_home: dict[str, str],
    tmp_path: Path,
) -> None:
    state = f"sqlite:{tmp_path / 'state.db'}"
    server = start_mock(str(blog_schemas), "--seed", "5", "--count", "30", "--state", state)
    httpx.patch(f"{server.url}/users/1", json={"age": 19}).raise_for_status()
    httpx.delete(f"{server.url}/posts/3").raise_for_status()
    users = httpx.get(f"{server.url}/users", params={"_limit": 100}).json()
    posts = httpx.get(f"{server.url}/posts", params={"_limit": 100}).json()
    server.stop()
    out = tmp_path / "db.json"
    result = run_phony(
        "mock", "export", str(blog_schemas), "--seed", "5", "--count", "30",
        "--state", state, "--format", "json-server", "-o", str(out), env=mock_home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    db = json.loads(out.read_text())
    assert db == {"posts": posts, "users": users}
    assert db["users"][0]["age"] == 19
    assert 3 not in [p["id"] for p in db["posts"]]


def test_deploy_writes_a_factory_command_that_serves_the_same_records(
    run_phony: Run,
    start_mock: StartMock,
    blog_schemas: Path,
    mock_home: dict[str, str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "deployed"
    result = run_phony(
        "mock", "deploy", str(blog_schemas), "--seed", "8", "--count", "30",
        "-o", str(folder), "--port", "8080", env=mock_home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "uvicorn --factory phony_server.mock:app_from_env" in result.stdout
    containerfile = (folder / "Containerfile").read_text()
    assert "phony_server.mock:app_from_env" in containerfile
    assert "PHONY_MOCK_CONFIG=/mock/mock.json" in containerfile
    config = json.loads((folder / "mock.json").read_text())
    assert [c["schema"] for c in config["collections"]] == [
        "schemas/posts.toml",
        "schemas/users.toml",
    ]
    # The factory, as the written command line runs it (relative paths: the config's folder).
    deployed = get_from_deployed(folder, mock_home, "/users", 30)
    served = start_mock(str(blog_schemas), "--seed", "8", "--count", "30")
    assert deployed == httpx.get(f"{served.url}/users", params={"_limit": 30}).json()


def test_warm_indexing_in_the_background_changes_no_record(
    start_mock: StartMock, blog_schemas: Path
) -> None:
    args = (f"users={blog_schemas / 'users.toml'}", "--seed", "6", "--count", "150000")
    warm = start_mock(*args, "--warm")
    cold = start_mock(*args)
    for params in ({"_page": 7000, "_limit": 20}, {"_start": 65_530, "_end": 65_545}):
        assert (
            httpx.get(f"{warm.url}/users", params=params).json()
            == httpx.get(f"{cold.url}/users", params=params).json()
        )
    assert (
        httpx.get(f"{warm.url}/users/149999").json() == httpx.get(f"{cold.url}/users/149999").json()
    )
