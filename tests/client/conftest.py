"""Fixtures of the client tests: a registry simulator and real model bytes (see registry_sim.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from registry_sim import RegistrySim, train_bytes

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


@pytest.fixture
def sim(tmp_path: Path) -> RegistrySim:
    """An empty registry folder with its own key."""
    return RegistrySim(tmp_path / "registry")


@pytest.fixture
def alice_names_folder(tmp_path: Path, run_phony: Callable[..., CompletedProcess[str]]) -> Path:
    """A folder registry holding alice/names@1.0.0, trained and pushed with the phony CLI."""
    registry = tmp_path / "team-registry"
    names = tmp_path / "names.phony"
    run_phony("train", str(SAMPLE), "--order", "2", "-o", str(names), check=True)
    run_phony("models", "push", str(names), "alice/names@1.0.0", "--registry", str(registry),
              check=True)  # fmt: skip
    return registry


@pytest.fixture(scope="session")
def model_v2() -> bytes:
    return train_bytes()


@pytest.fixture(scope="session")
def model_v1() -> bytes:
    return train_bytes(["ali", "veli", "mehmet", "ahmet", "mustafa", "hasan"], v1=True)


@pytest.fixture
def run_cli() -> object:
    """Run a phony command in-process (for set-up steps); fails the test on a non-zero exit."""
    from phony_client.cli import main

    def run(*args: str) -> None:
        code = main(list(args))
        assert code == 0, f"phony {' '.join(args)} exited {code}"

    return run
