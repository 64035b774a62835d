"""On the client, a key of small order is refused wherever one is read: `phony keys trust`,
trusted_keys in config.toml, and a registry serving one as its key (whose forged
signatures would otherwise verify for any snapshot and manifest)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from registry_sim import RegistrySim, cache_files

from phony_client.cli import main
from phony_client.config import config_dir
from phony_client.pull import pull
from phony_registry.errors import SignatureError
from tests.core.test_signing_small_order import REFUSED, REFUSED_B64, WHY, pem_of

IDENTITY = bytes([1]) + bytes(31)


class _ForgedPublic:
    def to_pem(self) -> bytes:
        return pem_of(IDENTITY).encode()


class Forger:
    """Signs like a PrivateKey, with the identity point's forgery (R = identity, S = 0)."""

    public_key = _ForgedPublic()
    keyid = hashlib.sha256(IDENTITY).hexdigest()

    def sign(self, data: bytes) -> bytes:
        return bytes([1]) + bytes(63)


def _one_error(capsys: Any) -> str:
    _out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("name", list(REFUSED), ids=list(REFUSED))
def test_keys_trust_refuses_the_key(name: str, tmp_path: Path, capsys: Any) -> None:
    key_file = tmp_path / "zed.pub"
    key_file.write_text(pem_of(bytes.fromhex(REFUSED[name])))
    for key in (REFUSED_B64[name], str(key_file)):
        for scope in (["--namespace", "zed"], ["--registry", str(tmp_path / "reg")]):
            assert main(["keys", "trust", key, *scope]) == 7
            line = _one_error(capsys)
            assert line.startswith(f"error: public key {REFUSED_B64[name]} is refused: "), line
            assert WHY[name] in line
    assert not (config_dir() / "config.toml").exists()
    assert not (config_dir() / "registries").exists()  # nothing pinned


@pytest.mark.parametrize("name", list(REFUSED), ids=list(REFUSED))
def test_a_trusted_key_in_config_toml_is_refused(
    name: str, sim: RegistrySim, model_v2: bytes, capsys: Any
) -> None:
    sim.publish("zed/names", "1.0.0", model_v2)
    config = config_dir() / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[[trusted_keys]]\nkey = "{REFUSED_B64[name]}"\nnamespace = "zed"\n')
    before = cache_files()
    assert main(["models", "pull", "zed/names@1.0.0", "--registry", sim.location]) == 7
    line = _one_error(capsys)
    assert line.startswith(f"error: public key {REFUSED_B64[name]} is refused: "), line
    assert WHY[name] in line
    assert cache_files() == before


def test_a_registry_whose_key_is_of_small_order_is_refused(
    tmp_path: Path, model_v2: bytes, capsys: Any
) -> None:
    """Its snapshot and manifest carry the forgery; trust on first use must not pin it."""
    forged = RegistrySim(tmp_path / "forged", key=Forger())  # type: ignore[arg-type]
    forged.publish("zed/forged", "1.0.0", model_v2)
    before = cache_files()
    with pytest.raises(SignatureError, match="small order"):
        pull("zed/forged@1.0.0", registry=forged.location)
    assert cache_files() == before
    assert not (config_dir() / "registries").exists()  # nothing pinned
    assert main(["models", "pull", "zed/forged@1.0.0", "--registry", forged.location]) == 7
    assert "small order" in _one_error(capsys)
