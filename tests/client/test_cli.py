"""The models, keys and cache command groups, run in-process as a user would type them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_sim import train_bytes

from phony_client.cache import Cache
from phony_client.cli import main


def phony(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def registry(tmp_path: Path, model_v2: bytes, capsys: pytest.CaptureFixture[str]) -> Path:
    model = tmp_path / "names.phony"
    model.write_bytes(model_v2)
    other = tmp_path / "other.phony"
    other.write_bytes(train_bytes(["deniz", "umut", "ece"]))
    reg = tmp_path / "team-registry"
    for path, ref in ((model, "alice/names@1.0.0"), (other, "alice/names@1.1.0")):
        code, _, err = phony(capsys, "models", "push", str(path), ref, "--registry", str(reg))
        assert code == 0, err
    return reg


def test_keys_generate_list_trust(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = phony(capsys, "keys", "generate", "--json")
    assert code == 0
    made = json.loads(out)
    assert Path(made["path"]).exists()
    code, _, err = phony(capsys, "keys", "generate")
    assert code == 10
    assert "already exists" in err
    code, out, _ = phony(capsys, "keys", "trust", made["public_key"], "--namespace", "alice")
    assert code == 0
    assert "trusted key" in out
    code, out, _ = phony(capsys, "keys", "list", "--json")
    listed = json.loads(out)
    assert listed["own"][0]["keyid"] == made["keyid"]
    assert listed["trusted"][0]["namespace"] == "alice"
    code, out, _ = phony(capsys, "keys", "list")
    assert "PRIVATE" not in out
    assert Path(made["path"]).read_text() not in out
    code, _, err = phony(capsys, "keys", "trust", made["public_key"], "--namespace", "tr_TR")
    assert code == 2
    assert "locale" in err


def test_push_pull_list_info(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = phony(capsys, "models", "pull", "alice/names@^1", "--registry", str(registry))
    assert code == 0, err
    assert "pulled alice/names@1.1.0" in out
    code, out, _ = phony(capsys, "models", "list")
    assert "alice/names" in out
    assert "1.1.0" in out
    code, out, _ = phony(capsys, "models", "list", "--json")
    [row] = json.loads(out)
    assert row["format_version"] == 2
    code, out, _ = phony(capsys, "models", "info", "alice/names", "--json")
    assert json.loads(out)["manifest"]["version"] == "1.1.0"
    code, out, _ = phony(capsys, "models", "info", "alice/names@1.0.0", "-r", str(registry))
    assert "version:        1.0.0" in out
    assert "1.0.0, 1.1.0" in out


def test_push_without_registry_is_a_usage_error(
    tmp_path: Path, model_v2: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.phony"
    model.write_bytes(model_v2)
    code, _, err = phony(capsys, "models", "push", str(model), "alice/names@1.0.0")
    assert code == 2
    assert "push needs a registry" in err


def test_pull_errors_are_one_line(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = phony(capsys, "models", "pull", "Alice/Names", "--registry", str(registry))
    assert code == 3
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    code, _, err = phony(capsys, "models", "pull", "alice/names@^9", "--registry", str(registry))
    assert code == 8
    assert "available: 1.0.0, 1.1.0" in err


def test_lock_and_locked(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "phony.lock"
    code, _, err = phony(
        capsys, "models", "pull", "alice/names@~1.0", "-r", str(registry), "--lock", str(lock)
    )
    assert code == 0, err
    assert 'version = "1.0.0"' in lock.read_text()
    code, out, err = phony(capsys, "models", "pull", "--locked", "--lock", str(lock))
    assert code == 0, err
    assert "alice/names@1.0.0" in out


def test_cache_ls_verify_prune_rm(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for ref in ("alice/names@1.0.0", "alice/names@1.1.0"):
        assert phony(capsys, "models", "pull", ref, "-r", str(registry))[0] == 0
    code, out, _ = phony(capsys, "cache", "ls", "--json")
    listing = json.loads(out)
    assert len(listing["models"]) == 2
    assert (Path(listing["path"]) / "CACHEDIR.TAG").read_bytes().startswith(b"Signature: 8a477f59")
    code, out, _ = phony(capsys, "cache", "verify")
    assert code == 0
    assert "checked 2 blobs: 2 ok, 0 corrupt, 0 missing" in out
    blob = Cache().blob_path(listing["models"][0]["digest"])
    blob.write_bytes(b"rot")
    code, out, err = phony(capsys, "cache", "verify", "--json")
    assert code == 7
    assert "1 corrupt" in err
    assert json.loads(out)["corrupt"] == [listing["models"][0]["digest"]]
    code, out, _ = phony(capsys, "cache", "rm", "alice/names@1.0.0")
    assert code == 0
    assert "removed alice/names@1.0.0" in out
    assert not blob.exists()
    code, out, _ = phony(capsys, "cache", "prune", "--json")
    assert json.loads(out)["removed"] == []
    code, _, err = phony(capsys, "cache", "rm", "alice/names@1.0.0")
    assert code == 8
    assert "not in the cache" in err


def test_remote_subcommands_hidden_without_their_module(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from phony_client.cli import models as models_cli

    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "phony_client.cli.models_remote" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(models_cli.importlib.util, "find_spec", find_spec)
    code, out, _ = phony(capsys, "models", "--help")
    assert code == 0
    assert "yank" not in out
    assert "search" not in out
    assert "pull" in out
