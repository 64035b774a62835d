"""A FIFO planted in a shared folder registry ends a pull with one line instead of hanging it.

A pull from a folder has no network deadline; opening a FIFO for reading
waits for a writer that never comes. The ``phony`` CLI pulls, as a
subprocess, from a folder where a FIFO replaced a manifest, then the snapshot.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

Run = Callable[..., CompletedProcess[str]]


@pytest.mark.parametrize(
    "planted", ["manifests/alice/names/1.0.0.json", "snapshot.json"], ids=["manifest", "snapshot"]
)
def test_a_fifo_in_a_folder_registry_is_one_error(
    alice_names_folder: Path, run_phony: Run, planted: str
) -> None:
    registry = alice_names_folder
    target = registry / planted
    target.unlink()
    os.mkfifo(target)
    result = run_phony("models", "pull", "alice/names", "--registry", str(registry), timeout=30)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: "), result.stderr
    assert "not a regular file" in lines[-1]
    assert "Traceback" not in result.stderr
