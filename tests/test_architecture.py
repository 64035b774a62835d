"""The architecture holds: the import contracts, and what start-up may import.

``lint-imports`` checks the contracts of ``[tool.importlinter]`` in
pyproject.toml (the core imports neither client nor server, the client not
the server, no cycles inside a package); docs/architecture.md draws them.
The import budget says which heavy packages ``phony --help`` and
``phony generate NAME --count 10`` must not load: each is measured as the
modules a real ``phony`` process holds once the command is done.
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


#: Runs ``phony ARGS`` as the console script does, then writes the names of
#: every module the process holds to the file named last on the command line.
_PROBE = (
    "import sys\n"
    "from phony_client.cli import main\n"
    "out, args = sys.argv[-1], sys.argv[1:-1]\n"
    "code = main(args)\n"
    "with open(out, 'w', encoding='utf-8') as file:\n"
    "    file.write('\\n'.join(sorted(sys.modules)))\n"
    "sys.exit(code)\n"
)


def _imported(args: list[str], env: dict[str, str], tmp_path: Path) -> set[str]:
    """Every module a ``phony`` process holds after running ``args`` (``sys.modules``).

    ``sys.modules`` rather than ``python -X importtime``: the latter does not
    report modules loaded through ``importlib.import_module``, which is how
    phony loads its command modules and plugins.
    """
    listing = tmp_path / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args, str(listing)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = set(listing.read_text(encoding="utf-8").split())
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


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--help"], id="phony"),
        *(
            pytest.param([group, "--help"], id=group)
            for group in ("models", "keys", "cache", "locale", "registry", "mock", "sync")
        ),
    ],
)
def test_help_imports_nothing_heavy(args: list[str], env: dict[str, str], tmp_path: Path) -> None:
    modules = _imported(args, env, tmp_path)
    if args == ["--help"]:
        assert "phony_client.cli.models" in modules  # the listing loaded every command's module
    loaded = _top(modules)
    assert loaded & HEAVY == set(), f"phony {' '.join(args)} imported {sorted(loaded & HEAVY)}"


def test_generate_from_the_cache_imports_at_most_numpy(env: dict[str, str], tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "phony_client", "install", "tr_TR"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    args = ["generate", "tr_TR/first_names", "--count", "10", "--seed", "1"]
    modules = _imported(args, env, tmp_path)
    heavy = _top(modules) & HEAVY
    assert heavy <= GENERATE_MAY_ADD, f"phony generate NAME imported {sorted(heavy)}"
    # A model already in the cache is read without the pull and its verified reader.
    for module in ("phony_client.pull", "phony_registry.reader"):
        assert module not in modules
