"""Every name has one source: a pack from a third registry cannot shadow official or team names.

The scenario of the cross-registry shadowing attack, with the CLI as a
subprocess: ``tr_TR`` installed from the bundled official index,
``alice/names@1.0.0`` pulled from the team's folder registry, then one pull
of ``mallory/fun`` from a third registry whose pack lists
``tr_TR/first_names@99.0.0``, ``alice/names@99.0.0`` and ``alice/names@1.0.0``,
all signed only by that registry's own key (pinned on first use). The pull is
refused as a whole, and every name still gives the legitimate values.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from phony_registry import layout
from phony_registry.digests import digest_bytes
from phony_registry.format import dump_model
from phony_registry.index import FileInfo, IndexEntry, Snapshot, add_entry
from phony_registry.manifest import Manifest, PackMember
from phony_registry.ngram import train
from phony_registry.signing import PrivateKey
from tests.e2e.conftest import free_port, spawn, stop, wait_until_up

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]

TEAM_NAMES = ["ayşe", "fatma", "zeynep", "elif", "emine", "hatice", "merve", "özlem"]
MALLORY_NAMES = ["MALLORYA", "MALLORYB", "MALLORYC", "MALLORYD", "MALLORYE"]


def _write(root: Path, relative: str, data: bytes) -> None:
    target = layout.to_local(root, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def hostile_registry(root: Path) -> Path:
    """A folder registry serving ``mallory/fun``: a pack of names it does not own."""
    key = PrivateKey.generate()
    _write(root, layout.registry_key_path(), key.public_key.to_pem())
    members = []
    for name, version in (
        ("tr_TR/first_names", "99.0.0"),
        ("alice/names", "99.0.0"),
        ("alice/names", "1.0.0"),
    ):
        blob = dump_model(train(MALLORY_NAMES, name=name, locale="tr_TR", kind="first_names"))
        digest = digest_bytes(blob)
        manifest = Manifest.model(
            name, version, digest=digest, size=len(blob), format_version=2, locale="tr_TR"
        ).signed(key)
        _write(root, layout.blob_path(digest), blob)
        _write(root, layout.manifest_path(name, version), manifest.to_bytes())
        index = layout.to_local(root, layout.index_path(name))
        old = index.read_bytes() if index.exists() else b""
        _write(root, layout.index_path(name), add_entry(old, IndexEntry.for_manifest(manifest))[0])
        members.append(PackMember(name, version, digest))
    pack = Manifest.pack("mallory/fun", "1.0.0", members, locale="tr_TR").signed(key)
    _write(root, layout.manifest_path("mallory/fun", "1.0.0"), pack.to_bytes())
    _write(root, layout.index_path("mallory/fun"), add_entry(b"", IndexEntry.for_manifest(pack))[0])
    files = {
        p.relative_to(root).as_posix(): FileInfo.of(p.read_bytes())
        for p in sorted((root / "index").rglob("*.jsonl"))
    }
    snapshot = Snapshot.new(files, version=1, now=datetime.now(UTC)).signed(key)
    _write(root, layout.snapshot_path(), snapshot.to_bytes())
    return root


def push(run_phony: Run, folder: Path, registry: Path) -> None:
    """Train names.txt (once) and push it as alice/names@1.0.0 into the folder ``registry``."""
    if not (folder / "names.phony").exists():
        run_phony(
            "train", "names.txt", "--locale", "tr_TR", "-o", "names.phony", cwd=folder, check=True
        )
    run_phony(
        "models", "push", "names.phony", "alice/names@1.0.0", "--registry", str(registry),
        cwd=folder, check=True,
    )  # fmt: skip


def outputs(run_phony: Run) -> dict[str, str]:
    """What each way of naming the victims generates."""
    seed = ("--count", "20", "--seed", "7")
    return {
        "tr_TR/first_names": run_phony("generate", "tr_TR/first_names", *seed, check=True).stdout,
        "alice/names": run_phony("generate", "alice/names", *seed, check=True).stdout,
        "alice/names@1.0.0": run_phony("generate", "alice/names@1.0.0", *seed, check=True).stdout,
        "person": run_phony(
            "generate",
            "--schema",
            "person",
            "--locale",
            "tr_TR",
            "--format",
            "csv",
            *seed,
            check=True,
        ).stdout,
    }


@pytest.fixture
def static_host() -> Iterator[Callable[[Path], str]]:
    """Serve a folder over HTTP as any static host would (``python -m http.server``)."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def serve(folder: Path) -> str:
        port = free_port()
        args = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        process, log = spawn([*args, "--directory", str(folder)], dict(os.environ))
        started.append((process, log))
        wait_until_up(f"http://127.0.0.1:{port}/snapshot.json", process, log)
        return f"http://127.0.0.1:{port}"

    yield serve
    for process, log in started:
        stop(process, log)


@pytest.mark.parametrize("served", ["folder", "http"])
def test_a_third_registry_cannot_shadow_official_or_team_names(
    tmp_path: Path, run_phony: Run, static_host: Callable[[Path], str], served: str
) -> None:
    (tmp_path / "names.txt").write_text("\n".join(TEAM_NAMES) + "\n", encoding="utf-8")
    team = tmp_path / "team-registry"
    run_phony("install", "tr_TR", check=True)
    push(run_phony, tmp_path, team)
    run_phony("models", "pull", "alice/names@1.0.0", "--registry", str(team), check=True)
    before = outputs(run_phony)
    assert "MALLORY" not in "".join(before.values())

    folder = hostile_registry(tmp_path / "mallory-registry")
    mallory = static_host(folder) if served == "http" else str(folder)
    attack = run_phony("models", "pull", "mallory/fun", "--registry", mallory)
    assert attack.returncode == 7, attack.stderr
    assert attack.stderr.startswith("error: "), attack.stderr
    assert "Traceback" not in attack.stderr
    assert "tr_TR/first_names@99.0.0" in attack.stderr
    assert "official key" in attack.stderr

    after = outputs(run_phony)
    assert after == before
    listed = run_phony("models", "list", check=True).stdout
    assert "99.0.0" not in listed
    assert "mallory/fun" not in listed


def test_one_namespace_from_two_registries_is_an_error_naming_both(
    tmp_path: Path, run_phony: Run
) -> None:
    (tmp_path / "names.txt").write_text("\n".join(TEAM_NAMES) + "\n", encoding="utf-8")
    team, other = tmp_path / "team-registry", tmp_path / "other-registry"
    for registry in (team, other):
        push(run_phony, tmp_path, registry)
    run_phony("models", "pull", "alice/names@1.0.0", "--registry", str(team), check=True)
    second = run_phony("models", "pull", "alice/names@1.0.0", "--registry", str(other))
    assert second.returncode == 7, second.stderr
    assert str(team) in second.stderr
    assert str(other) in second.stderr
    assert "[namespaces]" in second.stderr

    # Mapped in config.toml, the namespace moves to the other registry.
    config = Path(os.environ["PHONY_CONFIG_DIR"]) / "config.toml"
    config.write_text(f'[namespaces]\nalice = "{other}"\n', encoding="utf-8")
    moved = run_phony("models", "pull", "alice/names@1.0.0", "--registry", str(other), check=True)
    assert "alice/names@1.0.0" in moved.stdout
    found = run_phony("models", "pull", "alice/names@1.0.0", "--registry", str(team))
    assert found.returncode == 7
    assert "configured" in found.stderr
    run_phony("generate", "alice/names", "--count", "3", check=True)
