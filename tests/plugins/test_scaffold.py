"""`phony plugins new`: each kind of plugin installs offline and passes its own tests at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import pip_install_offline

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.mark.slow  # pip builds and installs each plugin, then runs its tests
@pytest.mark.parametrize("kind", ["generator", "format", "locale", "schema", "command"])
def test_a_new_plugin_installs_and_passes_its_tests(
    run_phony: Run, tmp_path: Path, kind: str
) -> None:
    name = f"phony-demo-{kind}"
    made = run_phony("plugins", "new", name, "--kind", kind, "-C", str(tmp_path), check=True)
    folder = tmp_path / name
    assert f"created {folder}/" in made.stdout
    assert (folder / "pyproject.toml").is_file()
    assert (folder / "README.md").is_file()
    assert f'{name} = "{name.replace("-", "_")}"' in (folder / "pyproject.toml").read_text()
    if kind == "locale":  # built and signed at once; the private key is not in the folder
        assert (folder / "phony_demo_locale" / "registry" / "snapshot.json").is_file()
        assert not any(
            "PRIVATE KEY" in p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()
        )
    site = tmp_path / "site"
    pip_install_offline(folder, site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, cwd=folder, env=env, check=False, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
    listing = run_phony("plugins", env={"PYTHONPATH": str(site), "PHONY_LOAD_PLUGINS": name})
    assert listing.returncode == 0, listing.stderr
    assert f"{name} 0.1.0" in listing.stdout
    if kind == "schema":  # the ready schema, as a user asks for it
        rows = run_phony("generate", "--schema", "demo_schema", "-n", "2", "--seed", "1",
                         "--format", "csv", env={"PYTHONPATH": str(site),
                                                 "PHONY_LOAD_PLUGINS": name})  # fmt: skip
        assert rows.returncode == 0, rows.stderr
        assert rows.stdout.splitlines()[0] == "order_id,quantity,status"


def test_new_refuses_an_existing_folder_and_a_bad_name(run_phony: Run, tmp_path: Path) -> None:
    (tmp_path / "phony-taken").mkdir()
    taken = run_phony("plugins", "new", "phony-taken", "--kind", "format", "-C", str(tmp_path))
    assert taken.returncode == 2
    assert taken.stderr.strip() == f"error: {tmp_path / 'phony-taken'} already exists"
    bad = run_phony("plugins", "new", "no good", "--kind", "format", "-C", str(tmp_path))
    assert bad.returncode == 2
    assert "is not a distribution name" in bad.stderr


@pytest.mark.parametrize("name", ["phony", "Phony", "phony_registry", "phony-client"])
def test_new_refuses_the_name_of_phony_or_of_one_of_its_packages(
    run_phony: Run, tmp_path: Path, name: str
) -> None:
    # pip install -e of a distribution called phony would replace phony itself
    made = run_phony("plugins", "new", name, "--kind", "format", "-C", str(tmp_path))
    assert made.returncode == 2
    assert made.stderr.strip().startswith(f"error: {name!r} is phony's own name")
    assert list(tmp_path.iterdir()) == []
