"""A cached blob of a model pulled over HTTP that went missing or was damaged: what
``phony generate`` says online (fetched again) and offline (refused, never a
download announced)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from phony_client.cache import Cache
from tests.e2e.conftest import RegistryProcess

Run = Callable[..., CompletedProcess[str]]
SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


@pytest.fixture
def pulled(tmp_path: Path, run_phony: Run, registry_server: RegistryProcess) -> Path:
    """bob/names@1.0.0 published on the server and pulled; the path of its cached blob."""
    model = tmp_path / "names.phony"
    run_phony("train", str(SAMPLE), "--order", "2", "-o", str(model), check=True)
    made = run_phony(
        "registry", "token", "create", "--storage", registry_server.args[1],
        "--namespace", "bob", check=True,
    )  # fmt: skip
    env = {"PHONY_TOKEN": made.stdout.strip()}
    url = registry_server.url
    run_phony("models", "push", str(model), "bob/names@1.0.0", "-r", url, env=env, check=True)
    run_phony("models", "pull", "bob/names@1.0.0", "-r", url, check=True)
    (ref,) = Cache(os.environ["PHONY_CACHE_DIR"]).iter_refs()
    assert ref.digest is not None
    return Cache(os.environ["PHONY_CACHE_DIR"]).blob_path(ref.digest)


@pytest.mark.parametrize("state", ["missing", "damaged"])
def test_offline_a_lost_blob_is_refused_in_one_line(
    pulled: Path, run_phony: Run, registry_server: RegistryProcess, state: str
) -> None:
    if state == "missing":
        pulled.unlink()
    else:
        pulled.write_bytes(b"rot")
    result = run_phony("generate", "bob/names", "--count", "1", env={"PHONY_OFFLINE": "1"})
    assert result.returncode == 8, result.stderr
    what = "is missing" if state == "missing" else "was damaged and has been discarded"
    assert result.stderr == (
        f"error: the cached file of bob/names@1.0.0 {what}; PHONY_OFFLINE is set, "
        f"so it cannot be fetched again from {registry_server.url}\n"
    )
    assert not pulled.exists()


@pytest.mark.parametrize("state", ["missing", "damaged"])
def test_online_a_lost_blob_is_fetched_again(
    pulled: Path, run_phony: Run, registry_server: RegistryProcess, state: str
) -> None:
    good = pulled.read_bytes()
    if state == "missing":
        pulled.unlink()
    else:
        pulled.write_bytes(b"rot")
    result = run_phony("generate", "bob/names", "--count", "1", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"phony: the cached file of bob/names@1.0.0 is {state}; "
        f"downloading it again from {registry_server.url}\n"
    )
    assert len(result.stdout.splitlines()) == 1
    assert pulled.read_bytes() == good
