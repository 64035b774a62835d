"""The facade and its integrations ship in phony's wheel, not only in a checkout."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        setuptools: dict[str, object] = tomllib.load(f)["tool"]["setuptools"]
    return setuptools


def test_every_python_package_folder_is_in_the_wheel() -> None:
    # setuptools puts in the wheel the packages [tool.setuptools] lists, and no
    # sub-package it does not name; an editable install finds them anyway, so only
    # users of the wheel would meet "No module named 'phony_registry.facade'", and
    # pytest itself would fail to start on the phony entry point of pytest11.
    config = _config()
    listed = config["packages"]
    folders = config["package-dir"]
    assert isinstance(listed, list)
    assert isinstance(folders, dict)
    found = set()
    for package, folder in folders.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            parts = init.parent.relative_to(base).parts
            # Folders named _x are kept out on purpose (registry-index/_build).
            if any(p.startswith((".", "_")) for p in parts):
                continue
            found.add(".".join((package, *parts)))
    assert {"phony_registry.facade", "phony_registry.integrations"} <= found
    assert sorted(found - set(listed)) == []
