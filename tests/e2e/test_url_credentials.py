"""A password in a registry URL never appears in what phony prints.

``http://user:password@host`` is how httpx sends basic auth to a registry
behind a proxy; phony's errors and retry notices named the registry by that
URL, so the password ended up on the terminal and in CI logs. The ``phony``
CLI runs as a subprocess against a real ``phony registry serve`` and a closed
port on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.e2e.conftest import RegistryProcess, free_port

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
SECRET = "s3cret-Pa55word"


def _with_password(url: str) -> str:
    return url.replace("http://", f"http://ci:{SECRET}@", 1)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["models", "pull", "alice/nothing"], id="pull"),
        pytest.param(["models", "search", "names"], id="search"),
        pytest.param(["models", "info", "alice/nothing"], id="info"),
    ],
)
def test_errors_from_a_closed_port_hide_the_password(run_phony: Run, command: list[str]) -> None:
    url = _with_password(f"http://127.0.0.1:{free_port()}")
    result = run_phony(*command, "--registry", url, timeout=120)
    assert result.returncode != 0
    assert "error:" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "***@127.0.0.1" in result.stderr


def test_errors_from_a_live_registry_hide_the_password(
    run_phony: Run, registry_server: RegistryProcess
) -> None:
    url = _with_password(registry_server.url)
    result = run_phony("models", "pull", "alice/nothing", "--registry", url)
    assert result.returncode != 0
    assert SECRET not in result.stdout + result.stderr
    assert "***@127.0.0.1" in result.stderr


def test_a_push_without_a_token_hides_the_password(run_phony: Run, tmp_path: Path) -> None:
    names = tmp_path / "names.phony"
    sample = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"
    run_phony("train", str(sample), "--order", "2", "-o", str(names), check=True)
    url = _with_password(f"http://127.0.0.1:{free_port()}")
    result = run_phony("models", "push", str(names), "alice/names@1.0.0", "--registry", url)
    assert result.returncode != 0
    assert "no token for http://***@127.0.0.1" in result.stderr
    assert SECRET not in result.stdout + result.stderr
