"""A password in a registry URL never appears in what phony prints.

``http://user:password@host`` is how httpx sends basic auth to a registry
behind a proxy; phony's errors and retry notices named the registry by that
URL, so the password ended up on the terminal and in CI logs. The ``phony``
CLI runs as a subprocess against a real ``phony registry serve`` and a closed
port on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
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
