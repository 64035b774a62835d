"""A symbolic link planted in a server's public folder serves nothing it points to.

A folder storage's ``DIR/public`` may be shared (teammates push to it as a
folder registry) while ``DIR/private`` holds the server's signing key and token
hashes. Here a link to the private key is planted where a blob, a manifest, an
index file, the snapshot, or a folder of them would be, and a real ``phony
registry serve`` is asked for each path through the static layout and the
``/v1`` API: every answer is a 404 with no byte of the key, and the server
keeps serving its real files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RegistryProcess, start_registry

pytestmark = pytest.mark.e2e

HEX = "ab" * 32


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[RegistryProcess, Path]]:
    """A server on a fresh folder, and that folder."""
    root = tmp_path / "registry-data"
    server = start_registry("--storage", str(root))
    yield server, root
    server.stop()


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


@pytest.mark.parametrize(
    ("planted", "paths"),
    [
        pytest.param(
            f"blobs/sha256/ab/{HEX}",
            [f"/blobs/sha256/ab/{HEX}", f"/v1/blobs/sha256:{HEX}"],
            id="blob",
        ),
        pytest.param(
            "manifests/alice/names/1.0.0.json",
            ["/manifests/alice/names/1.0.0.json"],
            id="manifest",
        ),
        pytest.param("index/alice/names.jsonl", ["/index/alice/names.jsonl"], id="index"),
    ],
)
def test_a_link_to_the_private_key_is_not_served(
    served: tuple[RegistryProcess, Path], planted: str, paths: list[str]
) -> None:
    server, root = served
    key = root / "private" / "registry-key.pem"
    assert b"PRIVATE KEY" in key.read_bytes()
    _link(root / "public" / planted, key)
    for path in paths:
        for method in ("GET", "HEAD"):
            answer = httpx.request(method, f"{server.url}{path}", timeout=10)
            assert answer.status_code == 404, (method, path, answer.status_code)
            assert b"PRIVATE KEY" not in answer.content


def test_a_linked_folder_is_not_followed(served: tuple[RegistryProcess, Path]) -> None:
    server, root = served
    outside = root.parent / "elsewhere"
    (outside / "names").mkdir(parents=True)
    (outside / "names" / "1.0.0.json").write_bytes(b'{"secret": "outside the registry"}')
    _link(root / "public" / "manifests" / "alice", outside)
    answer = httpx.get(f"{server.url}/manifests/alice/names/1.0.0.json", timeout=10)
    assert answer.status_code == 404
    assert b"outside the registry" not in answer.content


def test_a_planted_snapshot_link_is_refused_and_real_files_still_served(
    served: tuple[RegistryProcess, Path],
) -> None:
    server, root = served
    public_key = httpx.get(f"{server.url}/keys/registry.pub.pem", timeout=10)
    assert public_key.status_code == 200
    assert b"PUBLIC KEY" in public_key.content
    snapshot = root / "public" / "snapshot.json"
    snapshot.unlink()
    _link(snapshot, root / "private" / "registry-key.pem")
    answer = httpx.get(f"{server.url}/snapshot.json", timeout=10)
    assert answer.status_code == 404
    assert b"PRIVATE KEY" not in answer.content
    assert httpx.get(f"{server.url}/keys/registry.pub.pem", timeout=10).content == (
        public_key.content
    )


def test_a_push_never_writes_through_a_linked_folder(
    tmp_path: Path, served: tuple[RegistryProcess, Path], run_phony: Callable[..., Any]
) -> None:
    server, root = served
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _link(root / "public" / "manifests" / "alice", outside)
    names = tmp_path / "names.phony"
    sample = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"
    run_phony("train", str(sample), "--order", "2", "-o", str(names), check=True)
    token = run_phony(
        "registry", "token", "create", "--storage", str(root), "--namespace", "alice", check=True
    ).stdout.strip()
    push = run_phony(
        "models", "push", str(names), "alice/names@1.0.0", "--registry", server.url,
        env={"PHONY_TOKEN": token},
    )  # fmt: skip
    assert push.returncode != 0
    lines = push.stderr.strip().splitlines()
    assert lines[-1].startswith("error: "), push.stderr
    assert "Traceback" not in push.stderr
    assert list(outside.iterdir()) == []
    assert httpx.get(f"{server.url}/v1/models/alice/names", timeout=10).status_code == 404


def test_a_planted_fifo_is_not_opened_for_reading(served: tuple[RegistryProcess, Path]) -> None:
    """Opening a FIFO waits for a writer: the server (which reads small files inline) hung."""
    server, root = served
    fifo = root / "public" / "manifests" / "alice" / "names" / "1.0.0.json"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    answer = httpx.get(f"{server.url}/manifests/alice/names/1.0.0.json", timeout=10)
    assert answer.status_code == 404
    assert httpx.get(f"{server.url}/v1/health", timeout=10).status_code == 200
