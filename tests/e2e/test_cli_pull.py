"""The phony CLI as a subprocess: train, push, pull, generate, offline mode, concurrent pulls."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phony_registry.digests import digest_file
from tests.conftest import phony_command

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]

NAMES = "\n".join(["ayşe", "fatma", "zeynep", "elif", "emine", "hatice", "merve", "özlem"]) + "\n"


@pytest.fixture
def team_registry(tmp_path: Path, run_phony: Run) -> Path:
    """A folder registry holding alice/names 1.0.0 and 1.1.0, pushed with the CLI."""
    (tmp_path / "names.txt").write_text(NAMES, encoding="utf-8")
    (tmp_path / "more.txt").write_text(NAMES + "deniz\nece\n", encoding="utf-8")
    registry = tmp_path / "team-registry"
    for source, version in (("names.txt", "1.0.0"), ("more.txt", "1.1.0")):
        run_phony(
            "train",
            source,
            "--locale",
            "tr_TR",
            "--kind",
            "first_name",
            "-o",
            f"{version}.phony",
            cwd=tmp_path,
            check=True,
        )
        run_phony(
            "models",
            "push",
            f"{version}.phony",
            f"alice/names@{version}",
            "--registry",
            str(registry),
            cwd=tmp_path,
            check=True,
        )
    return registry


def test_push_pull_generate_as_a_user(team_registry: Path, tmp_path: Path, run_phony: Run) -> None:
    again = run_phony(
        "models",
        "push",
        "1.0.0.phony",
        "alice/names@1.0.0",
        "--registry",
        str(team_registry),
        cwd=tmp_path,
    )
    assert again.returncode == 0
    assert "already published" in again.stdout
    clash = run_phony(
        "models",
        "push",
        "1.1.0.phony",
        "alice/names@1.0.0",
        "--registry",
        str(team_registry),
        cwd=tmp_path,
    )
    assert clash.returncode == 8
    assert clash.stderr.startswith("error: alice/names@1.0.0 is already published")

    pulled = run_phony(
        "models",
        "pull",
        "alice/names@^1.0",
        "--registry",
        f"file://{team_registry}",
        "--json",
        check=True,
    )
    [row] = json.loads(pulled.stdout)
    assert row["version"] == "1.1.0"
    assert digest_file(tmp_path / "1.1.0.phony")[0] == row["digest"]

    first = run_phony("generate", "alice/names", "--count", "10", "--seed", "7", check=True)
    second = run_phony(
        "generate", str(tmp_path / "1.1.0.phony"), "--count", "10", "--seed", "7", check=True
    )
    assert first.stdout == second.stdout
    assert len(first.stdout.splitlines()) == 10

    listed = run_phony("models", "list", check=True)
    assert "alice/names" in listed.stdout
    assert "1.1.0" in listed.stdout


def test_offline_resolves_from_the_cache_or_fails_clearly(
    team_registry: Path, run_phony: Run
) -> None:
    offline = {"PHONY_OFFLINE": "1"}
    url = "http://127.0.0.1:9"  # nothing listens there; offline mode must not even try
    missing = run_phony("models", "pull", "alice/names@^1", "--registry", url, env=offline)
    assert missing.returncode == 8
    assert "PHONY_OFFLINE is set" in missing.stderr
    run_phony("models", "pull", "alice/names@1.0.0", "--registry", str(team_registry), check=True)
    generated = run_phony("generate", "alice/names@^1", "--count", "3", env=offline, check=True)
    assert len(generated.stdout.splitlines()) == 3
    unknown = run_phony("generate", "bob/streets", "--count", "3", env=offline)
    assert unknown.returncode == 8
    assert "bob/streets" in unknown.stderr
    assert "not in the cache" in unknown.stderr


def test_tampered_blob_is_refused(team_registry: Path, run_phony: Run) -> None:
    blob = next(p for p in (team_registry / "blobs").rglob("*") if p.is_file())
    blob.write_bytes(blob.read_bytes()[:-1] + b"!")
    results = [
        run_phony("models", "pull", f"alice/names@{v}", "--registry", str(team_registry))
        for v in ("1.0.0", "1.1.0")
    ]
    failed = [r for r in results if r.returncode != 0]
    assert len(failed) == 1
    assert failed[0].returncode == 7
    assert "blob sha256:" in failed[0].stderr


def test_concurrent_pulls_of_one_model_share_one_correct_blob(
    team_registry: Path, tmp_path: Path
) -> None:
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [
                *phony_command(),
                "models",
                "pull",
                "alice/names@1.1.0",
                "--registry",
                str(team_registry),
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(6)
    ]
    outcomes: list[tuple[int, str, str]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        outcomes.append((proc.returncode, out, err))
    assert all(code == 0 for code, _, _ in outcomes), outcomes
    digests: set[Any] = {json.loads(out)[0]["digest"] for _, out, _ in outcomes}
    assert digests == {digest_file(tmp_path / "1.1.0.phony")[0]}
    cache = Path(os.environ["PHONY_CACHE_DIR"])
    blobs = [p for p in (cache / "blobs").rglob("*") if p.is_file()]
    assert [b.name for b in blobs] == [next(iter(digests)).split(":")[1]]
    assert digest_file(blobs[0])[0] == next(iter(digests))
