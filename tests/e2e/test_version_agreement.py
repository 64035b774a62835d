"""A folder registry and the server accept the same versions, and refuse the same
ones with the same line (one definition: phony_registry.versions)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from phony_registry.versions import MAX_IDENTIFIER_LENGTH
from tests.e2e.conftest import RegistryProcess

Run = Callable[..., CompletedProcess[str]]
SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


@pytest.fixture
def model(tmp_path: Path, run_phony: Run) -> Path:
    out = tmp_path / "names.phony"
    run_phony("train", str(SAMPLE), "--order", "2", "-o", str(out), check=True)
    return out


def _token(run_phony: Run, registry: RegistryProcess) -> str:
    storage = registry.args[1]
    made = run_phony(
        "registry", "token", "create", "--storage", storage, "--namespace", "alice", check=True
    )
    return made.stdout.strip()


def test_folder_and_server_agree_on_versions(
    tmp_path: Path, run_phony: Run, model: Path, registry_server: RegistryProcess
) -> None:
    env = {"PHONY_TOKEN": _token(run_phony, registry_server)}
    folder = str(tmp_path / "team-registry")
    accepted = f"alice/names@1.0.0-{'a' * 40}"
    for registry in (folder, registry_server.url):
        pushed = run_phony("models", "push", str(model), accepted, "--registry", registry, env=env)
        assert pushed.returncode == 0, (registry, pushed.stderr)
        assert f"published {accepted} " in pushed.stdout + pushed.stderr

    refused = f"alice/names@1.0.0-{'a' * (MAX_IDENTIFIER_LENGTH + 1)}"
    lines = []
    for registry in (folder, registry_server.url):
        pushed = run_phony("models", "push", str(model), refused, "--registry", registry, env=env)
        assert pushed.returncode == 3, (registry, pushed.stderr)
        errors = [line for line in pushed.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, pushed.stderr
        lines.append(errors[0])
    assert lines[0] == lines[1]
    assert lines[0].endswith(
        f": a pre-release identifier is at most {MAX_IDENTIFIER_LENGTH} characters"
    ), lines[0]
    assert "pattern" not in lines[0]
