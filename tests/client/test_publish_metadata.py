"""Pushing a published version again with other metadata is refused, in a folder as on a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phony_client.cli import main
from phony_client.publish import push_to_folder
from phony_registry import layout
from phony_registry.errors import AlreadyExists
from phony_registry.manifest import Manifest


@pytest.fixture
def model_file(tmp_path: Path, model_v2: bytes) -> Path:
    path = tmp_path / "names.phony"
    path.write_bytes(model_v2)
    return path


def test_folder_push_with_other_metadata_is_refused(tmp_path: Path, model_file: Path) -> None:
    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@1.0.0", registry, description="Names", license="MIT")
    manifest = registry / layout.manifest_path("alice/names", "1.0.0")
    snapshot = registry / "snapshot.json"
    before = manifest.read_bytes(), snapshot.read_bytes()
    with pytest.raises(AlreadyExists) as info:
        push_to_folder(
            model_file, "alice/names@1.0.0", registry, description="CHANGED", license="GPL-3.0"
        )
    assert str(info.value) == (
        f"alice/names@1.0.0 is already published in {registry.resolve()} with the same content "
        "but other metadata (description, license differ); a published version never changes: "
        "publish a new version"
    )
    assert (manifest.read_bytes(), snapshot.read_bytes()) == before
    # The identical push is still an idempotent success.
    again = push_to_folder(
        model_file, "alice/names@1.0.0", registry, description="Names", license="MIT"
    )
    assert not again.created
    assert Manifest.from_bytes(manifest.read_bytes()).description == "Names"


def test_the_cli_says_which_fields_differ(tmp_path: Path, model_file: Path, capsys: Any) -> None:
    registry = str(tmp_path / "reg")
    push = ["models", "push", str(model_file), "alice/names@1.0.0", "--registry", registry]
    assert main([*push, "--description", "Names", "--license", "MIT"]) == 0
    capsys.readouterr()
    assert main([*push, "--description", "CHANGED", "--license", "GPL-3.0"]) == 8
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: alice/names@1.0.0 is already published in ")
    assert "other metadata (description, license differ)" in err
    assert err.count("\n") == 1
    assert main([*push, "--description", "Names", "--license", "MIT"]) == 0
    assert "already published (same content)" in capsys.readouterr().out
