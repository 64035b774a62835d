"""Fixtures of the client tests: a registry simulator and real model bytes (see registry_sim.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_sim import RegistrySim, train_bytes


@pytest.fixture
def sim(tmp_path: Path) -> RegistrySim:
    """An empty registry folder with its own key."""
    return RegistrySim(tmp_path / "registry")


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
