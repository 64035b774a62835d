"""``phony models pull --locked`` records nothing the lockfile does not lock.

The lock's digest is part of what a locked pull verifies: a registry serving
other bytes for a locked ``name@version`` (a lock naming a digest the registry
does not have for it) must leave no ref and no blob in the cache, or a later
``phony generate alice/names@1.0.0`` would use the refused release.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

Run = Callable[..., CompletedProcess[str]]
OTHER = "sha256:" + "0" * 64


def test_a_locked_pull_refused_by_its_digest_records_nothing(
    alice_names_folder: Path, tmp_path: Path, run_phony: Run
) -> None:
    registry = alice_names_folder
    lock = tmp_path / "phony.lock"
    lock.write_text(
        "lock_version = 1\n\n[[model]]\n"
        f'name = "alice/names"\nversion = "1.0.0"\ndigest = "{OTHER}"\n'
        f'registry = "{registry}"\n'
    )
    result = run_phony("models", "pull", "--locked", "--lock", str(lock), cwd=tmp_path)
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), result.stderr
    assert OTHER in line
    cache = Path(os.environ["PHONY_CACHE_DIR"])
    assert list((cache / "refs").rglob("*.json")) == []
    assert [p for p in (cache / "blobs").rglob("*") if p.is_file()] == []
    generate = run_phony("generate", "alice/names@1.0.0", "-n", "1", cwd=tmp_path)
    assert generate.returncode != 0  # the refused release is not in the cache
