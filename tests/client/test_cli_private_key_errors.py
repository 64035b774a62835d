"""A damaged private key file is reported in one line naming the file, never with a library URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from registry_sim import train_bytes

from phony_client.cli import main
from phony_registry.signing import PrivateKey

REASON = "it is not PEM text, or it is damaged or truncated"


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    path = tmp_path / "publisher.pem"
    path.write_bytes(PrivateKey.generate().to_pem()[:70])  # truncated
    return path


def _one_error(capsys: Any) -> str:
    _out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "http" not in err
    return lines[0]


def test_push_with_a_damaged_publisher_key(tmp_path: Path, damaged: Path, capsys: Any) -> None:
    model = tmp_path / "names.phony"
    model.write_bytes(train_bytes())
    registry = tmp_path / "registry"
    code = main(
        ["models", "push", str(model), "alice/names@1.0.0", "--registry", str(registry),
         "--key", str(damaged)]
    )  # fmt: skip
    assert code == 10
    assert _one_error(capsys) == f"error: cannot use private key {damaged}: {REASON}"
    assert not registry.exists()


def test_push_with_a_damaged_signing_key(
    tmp_path: Path, damaged: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "names.phony"
    model.write_bytes(train_bytes())
    monkeypatch.setenv("PHONY_SIGNING_KEY", str(damaged))
    code = main(["models", "push", str(model), "alice/names@1.0.0", "--registry", str(tmp_path)])
    assert code == 10
    assert _one_error(capsys) == f"error: cannot use private key {damaged}: {REASON}"


def test_registry_serve_with_a_damaged_key_file(tmp_path: Path, damaged: Path) -> None:
    from phony_registry.errors import ConfigError
    from phony_server.keys import load_registry_key
    from phony_server.storage import open_folder

    damaged.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        load_registry_key(open_folder(tmp_path / "store"), damaged)
    assert str(info.value) == f"cannot use private key {damaged}: {REASON}"
