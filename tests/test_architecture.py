"""The architecture holds: the import contracts, and what start-up may import.

``lint-imports`` checks the contracts of ``[tool.importlinter]`` in
pyproject.toml (the core imports neither client nor server, the client not
the server, no cycles inside a package); docs/architecture.md draws them.
The import budget says which heavy packages ``phony --help`` and
``phony generate NAME --count 10`` must not load: each is measured as the
modules a real ``phony`` process imported (``python -X importtime``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Heavy third-party packages: imported where used, never to show help.
HEAVY = {
    "boto3",
    "botocore",
    "cryptography",
    "dask",
    "distributed",
    "fastapi",
    "fsspec",
    "httpx",
    "hypothesis",
    "jinja2",
    "numpy",
    "psycopg",
    "pyarrow",
    "pydantic",
    "sqlalchemy",
    "starlette",
    "uvicorn",
}

#: What generating from a cached model may add to the help's budget (a few
#: values are drawn in Python integers, so today it loads none of them).
GENERATE_MAY_ADD = {"numpy"}


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "lint-imports is missing: install the dev extra"
    result = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def _imported(args: list[str], env: dict[str, str]) -> set[str]:
    """Top-level names of every module a ``phony`` process imports to run ``args``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "phony_client", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.add(name)
    assert "phony_client.cli" in modules  # the measurement saw phony start
    return modules


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.fixture
def env() -> dict[str, str]:
    # Every installed first-party plugin loads, as for a user who installed them.
    merged = {k: v for k, v in os.environ.items() if k != "PHONY_LOAD_PLUGINS"}
    merged["PHONY_OFFLINE"] = "1"
    return merged


def test_help_imports_nothing_heavy(env: dict[str, str]) -> None:
    loaded = _top(_imported(["--help"], env))
    assert loaded & HEAVY == set(), f"phony --help imported {sorted(loaded & HEAVY)}"


def test_generate_from_the_cache_imports_at_most_numpy(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "phony_client", "install", "tr_TR"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    modules = _imported(["generate", "tr_TR/first_names", "--count", "10", "--seed", "1"], env)
    heavy = _top(modules) & HEAVY
    assert heavy <= GENERATE_MAY_ADD, f"phony generate NAME imported {sorted(heavy)}"
    # A model already in the cache is read without the pull and its verified reader.
    for module in ("phony_client.pull", "phony_registry.reader"):
        assert module not in modules
