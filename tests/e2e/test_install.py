"""``phony install`` as a user runs it: the CLI as a subprocess, a fresh cache, offline."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.e2e.conftest import start_registry

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
OFFLINE = {"PHONY_OFFLINE": "1"}


def test_install_and_generate_offline_from_a_fresh_cache(run_phony: Run) -> None:
    installed = run_phony("install", "tr-TR", env=OFFLINE, check=True)
    assert installed.stdout.startswith(
        "installed tr_TR@1.0.0 from the bundled official index: 7 models\n"
    )
    names = run_phony(
        "generate", "tr_TR/first_names", "--count", "5", "--seed", "1", env=OFFLINE, check=True
    )
    values = names.stdout.splitlines()
    assert len(values) == 5
    assert all(v and v[0].isupper() for v in values)
    again = run_phony("generate", "tr_TR/first_names", "--count", "5", "--seed", "1", env=OFFLINE)
    assert again.stdout == names.stdout
    listed = run_phony("models", "list", env=OFFLINE, check=True).stdout
    assert "tr_TR/first_names" in listed
    assert "tr_TR/streets" in listed


def test_generate_installs_a_missing_official_model_as_a_schema_does(run_phony: Run) -> None:
    first = run_phony("generate", "tr_TR/cities", "--count", "3", "--seed", "7", env=OFFLINE)
    assert first.returncode == 0, first.stderr
    assert first.stderr == "phony: installed tr_TR/cities@1.0.0 from the bundled official index\n"
    assert len(first.stdout.splitlines()) == 3
    again = run_phony("generate", "tr_TR/cities", "--count", "3", "--seed", "7", env=OFFLINE)
    assert (again.stdout, again.stderr) == (first.stdout, "")  # from the cache now
    pinned = run_phony("generate", "tr_TR/streets@^1", "--count", "1", "--seed", "7", env=OFFLINE)
    assert pinned.returncode == 0, pinned.stderr
    # Nothing to install from: the cache's message, as before.
    missing = run_phony("generate", "tr_TR/cities@2.0.0", env=OFFLINE)
    assert missing.returncode == 8
    assert missing.stderr.startswith(
        "error: PHONY_OFFLINE is set and tr_TR/cities@2.0.0 is not in the cache"
    )
    community = run_phony("generate", "alice/names", env=OFFLINE)
    assert community.returncode == 8
    assert "phony models pull alice/names" in community.stderr


def test_ready_person_schema_as_csv(run_phony: Run) -> None:
    result = run_phony(
        "generate", "--locale", "tr_TR", "--schema", "person", "--count", "1000",
        "--format", "csv", "--seed", "4", env=OFFLINE, check=True,
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["first_name", "last_name", "email", "city"]
    assert len(rows) == 1001
    assert all(row[2].isascii() and "@" in row[2] for row in rows[1:])
    # Turkish letters survive in names and are folded in emails.
    assert any(ch in "ğışçöüİ" for row in rows[1:] for ch in row[0] + row[1])


def test_missing_model_and_fallback_chain(run_phony: Run, tmp_path: Path) -> None:
    schema = tmp_path / "people.toml"
    schema.write_text('[columns.name]\ntype = "ngram"\nmodel = "first_names"\n', encoding="utf-8")
    missing = run_phony("generate", "--locale", "fr_FR", "--schema", str(schema), env=OFFLINE)
    assert missing.returncode != 0
    assert "locale fr_FR has no model 'first_names' (fr_FR/first_names)" in missing.stderr
    assert "Traceback" not in missing.stderr
    chain = run_phony(
        "generate", "--locale", "fr-fr,tr_tr", "--schema", str(schema), "--count", "3",
        "--seed", "1", env=OFFLINE, check=True,
    )  # fmt: skip
    assert "column name <- tr_TR/first_names (fallback: fr_FR has no first_names)" in chain.stderr
    assert len(chain.stdout.splitlines()) == 3


def test_install_from_a_local_registry_server(run_phony: Run, tmp_path: Path) -> None:
    storage = tmp_path / "registry-data"
    import phony_index

    index = str(phony_index.ROOT)
    imported = run_phony("registry", "import", index, "--storage", str(storage))
    assert imported.returncode == 0, imported.stderr
    assert "imported       en_US@1.0.0 (pack of 7)" in imported.stdout
    server = start_registry("--storage", str(storage))
    try:
        result = run_phony("install", "en_US", "--registry", server.url, check=True)
        assert result.stdout.startswith(f"installed en_US@1.0.0 from {server.url}: 7 models")
        streets = run_phony("generate", "en_US/streets", "--count", "3", "--seed", "2")
        assert len(streets.stdout.splitlines()) == 3
    finally:
        server.stop()


@pytest.mark.slow
def test_the_wheel_bundles_the_official_index(tmp_path: Path) -> None:
    """`pip install phony` must carry every file of registry-index/ (install works offline)."""
    import subprocess
    import sys
    import zipfile

    import phony_index
    from phony_index._build.build import read_index

    repo = Path(phony_index.ROOT).parent
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(repo), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if "No matching distribution found" in built.stderr:
        pytest.skip("pip cannot fetch the build backend (setuptools) on this machine")
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("phony-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"phony_index/{path}" for path in read_index(phony_index.ROOT)}
    expected |= {"phony_index/README.md", "phony_index/schemas/person.toml"}
    assert expected <= names, sorted(expected - names)[:5]
    assert not [n for n in names if n.startswith("phony_index/") and n.endswith(".pyc")]
