"""Shared fixtures: every test gets its own cache, config dir and environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_PHONY_VARS = (
    "PHONY_CACHE_DIR",
    "PHONY_CONFIG_DIR",
    "PHONY_REGISTRY",
    "PHONY_OFFLINE",
    "PHONY_TOKEN",
    "PHONY_LOAD_PLUGINS",
    "PHONY_SIGNING_KEY",
    "SOURCE_DATE_EPOCH",
)


@pytest.fixture(autouse=True)
def clean_environ(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Give each test a private cache and config dir, and no inherited PHONY_* settings."""
    for name in _PHONY_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("phony-home")
    monkeypatch.setenv("PHONY_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("PHONY_CONFIG_DIR", str(home / "config"))
    # Only phony's own built-ins and the first-party plugins load in tests,
    # never whatever else happens to be installed.
    monkeypatch.setenv("PHONY_LOAD_PLUGINS", os.environ.get("PHONY_TEST_PLUGINS", ""))
    from phony_registry.plugins import get_plugins

    get_plugins.cache_clear()
    yield
    get_plugins.cache_clear()


def phony_command() -> list[str]:
    """The `phony` console script of the environment running the tests."""
    script = Path(sys.executable).with_name("phony")
    return [str(script)] if script.exists() else [sys.executable, "-m", "phony_client"]


def pip_install_offline(project: Path, site: Path) -> None:
    """Install the plugin distribution in ``project`` into the folder ``site``, as its author
    would test it: offline, without build isolation or dependencies (they are ours)."""
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-build-isolation", "--no-deps", "--no-index", "--target", str(site), str(project)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr


@pytest.fixture
def run_phony() -> object:
    """Run the `phony` command as a subprocess; returns the CompletedProcess."""

    def run(
        *args: str,
        input: str | bytes | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        check: bool = False,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        merged = dict(os.environ)
        merged.update(env or {})
        result = subprocess.run(
            [*phony_command(), *args],
            input=input.decode() if isinstance(input, bytes) else input,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=merged,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"phony {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    return run
