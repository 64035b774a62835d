"""A cache that cannot be written: every command says so the same way and exits 9.

The cache folder is made read-only with a read-only bind mount in a private
mount namespace (``unshare -m``), which stops root too; where that is not
allowed the tests are skipped. One test needs no privilege: a cache whose
``locks`` folder is a file (ENOTDIR/EEXIST on the way to a lock).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.conftest import phony_command

Run = Callable[..., CompletedProcess[str]]
SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"
ERROR_LINE = r"error: cannot (write|remove) {where}: Read-only file system"


def _can_bind_read_only(scratch: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    scratch.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c",
         f"mount --bind {scratch} {scratch} && mount -o remount,bind,ro {scratch}"],
        capture_output=True, check=False,
    )  # fmt: skip
    return probe.returncode == 0


def _read_only(cache: Path, *args: str, env: dict[str, str] | None = None) -> CompletedProcess[str]:
    """Run ``phony ARGS`` with ``cache`` mounted read-only (for that process only)."""
    command = " ".join(shlex.quote(a) for a in [*phony_command(), *args])
    script = (
        f"mount --bind {shlex.quote(str(cache))} {shlex.quote(str(cache))} && "
        f"mount -o remount,bind,ro {shlex.quote(str(cache))} && exec {command}"
    )
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def _one_error(result: CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.splitlines()[-1] == errors[0]
    return errors[0]


@pytest.fixture
def cache() -> Path:
    path = Path(os.environ["PHONY_CACHE_DIR"])
    if not _can_bind_read_only(path.parent / "probe"):
        pytest.skip("no read-only bind mounts here (needs unshare -m and mount)")
    return path


@pytest.fixture
def pulled(tmp_path: Path, run_phony: Run, cache: Path) -> Path:
    """The cache holding alice/r@1.0.0, pulled from a folder registry."""
    model = tmp_path / "r.phony"
    run_phony("train", str(SAMPLE), "--order", "2", "-o", str(model), check=True)
    registry = str(tmp_path / "team-registry")
    run_phony("models", "push", str(model), "alice/r@1.0.0", "--registry", registry, check=True)
    run_phony("models", "pull", "alice/r@1.0.0", "--registry", registry, check=True)
    return tmp_path / "team-registry"


def _matches(line: str, where: str) -> bool:
    import re

    return re.fullmatch(ERROR_LINE.format(where=where), line) is not None


def test_cache_rm_on_a_read_only_cache(cache: Path, pulled: Path, run_phony: Run) -> None:
    refs = sorted((cache / "refs").rglob("*.json"))
    before = {p: p.read_bytes() for p in refs}
    result = _read_only(cache, "cache", "rm", "alice/r")
    assert result.returncode == 9, result.stderr
    line = _one_error(result)
    assert _matches(line, rf"{cache}/refs/\S+/alice/r/1\.0\.0\.json"), line
    assert {p: p.read_bytes() for p in sorted((cache / "refs").rglob("*.json"))} == before


def test_cache_prune_on_a_read_only_cache(cache: Path, pulled: Path, run_phony: Run) -> None:
    orphan = cache / "blobs" / "sha256" / "00" / ("00" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"junk")
    result = _read_only(cache, "cache", "prune")
    assert result.returncode == 9, result.stderr
    assert _matches(_one_error(result), rf"{orphan}")
    assert orphan.exists()


def test_install_on_a_read_only_cache(cache: Path, run_phony: Run) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    result = _read_only(cache, "install", "en_US")
    assert result.returncode == 9, result.stderr
    assert _matches(_one_error(result), rf"{cache}/\S+"), result.stderr
    assert list(cache.iterdir()) == []


def test_pull_on_a_read_only_cache(cache: Path, pulled: Path, run_phony: Run) -> None:
    shutil.rmtree(cache / "blobs")
    result = _read_only(cache, "models", "pull", "alice/r@1.0.0", "--registry", str(pulled))
    assert result.returncode == 9, result.stderr
    assert _matches(_one_error(result), rf"{cache}/\S+"), result.stderr


def test_generate_of_a_damaged_blob_on_a_read_only_cache(
    cache: Path, pulled: Path, run_phony: Run
) -> None:
    (blob,) = (cache / "blobs" / "sha256").glob("*/*")
    blob.write_bytes(b"damaged")
    result = _read_only(cache, "generate", "alice/r", "--count", "1")
    assert result.returncode == 9, result.stderr
    assert _matches(_one_error(result), rf"{cache}/\S+"), result.stderr
    assert blob.read_bytes() == b"damaged"


def test_a_lock_that_cannot_be_taken_is_a_cache_error(tmp_path: Path, run_phony: Run) -> None:
    # No privilege needed: "locks" is a file, so no lock can be made under it.
    cache = Path(os.environ["PHONY_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "locks").write_text("not a folder")
    result = run_phony("install", "en_US")
    assert result.returncode == 9, result.stderr
    line = _one_error(result)
    assert line.startswith(f"error: cannot write {cache}/locks"), line
