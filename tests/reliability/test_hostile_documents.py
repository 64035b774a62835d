"""Crafted documents and keys: one clear error each, never a traceback or a 500.

A lone surrogate (``"\\ud800"``) is valid JSON syntax but not Unicode text: it
cannot be printed, encoded or signed. A PEM public key of an algorithm the
cryptography build does not know raises ``UnsupportedAlgorithm``, not
``ValueError``. A format-1 model carries no ``format_version`` at all. Each
used to escape as an exception; each is now a PhonyError line.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey
from tests.conftest import phony_command
from tests.reliability.conftest import (
    digest_of,
    publish_folder,
    random_words,
    start_server,
    train_model,
)

pytestmark = pytest.mark.e2e

NAME = "alice/words"


def unknown_algorithm_pem() -> bytes:
    """A well-formed SubjectPublicKeyInfo PEM whose algorithm OID (1.2.3.4) nobody knows."""
    algorithm = b"\x30\x05\x06\x03\x2a\x03\x04"
    key = b"\x03\x21\x00" + b"\x11" * 32
    body = algorithm + key
    der = b"\x30" + bytes([len(body)]) + body
    return b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END PUBLIC KEY-----\n"


def _phony(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*phony_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        check=False,
    )


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def model() -> bytes:
    return train_model(random_words(300, seed=11), order=2)


def test_validate_a_model_with_a_lone_surrogate_key(tmp_path: Path, model: bytes) -> None:
    raw = gzip.decompress(model)
    path = tmp_path / "surrogate.phony"
    path.write_bytes(gzip.compress(raw[:-1] + b',"\\ud800":1}', mtime=0))
    result = _phony("validate", str(path))
    assert result.returncode == 4
    assert "Traceback" not in result.stderr
    assert "lone surrogate" in result.stdout
    assert _phony("info", str(path)).returncode == 4


def test_validate_a_format_1_model_without_format_version(tmp_path: Path, model: bytes) -> None:
    from phony_registry.format import load_model
    from phony_registry.migrate import model_to_v1

    document = model_to_v1(load_model(model))
    del document["format_version"]  # the earliest files carried none
    path = tmp_path / "v1.phony"
    path.write_bytes(gzip.compress(json.dumps(document).encode(), mtime=0))
    result = _phony("validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok (format version 1)" in result.stdout


def test_trusting_a_key_of_an_unknown_algorithm(tmp_path: Path) -> None:
    pem = tmp_path / "odd.pem"
    pem.write_bytes(unknown_algorithm_pem())
    error = _one_error(_phony("keys", "trust", str(pem), "--namespace", "alice"))
    assert "not an Ed25519 key" in error
    binary = tmp_path / "binary.pem"
    binary.write_bytes(b"\xff\xfe-----BEGIN PUBLIC KEY-----")
    assert "not ASCII" in _one_error(_phony("keys", "trust", str(binary), "--namespace", "alice"))


def test_a_registry_serving_a_key_of_an_unknown_algorithm(tmp_path: Path, model: bytes) -> None:
    root = tmp_path / "registry"
    publish_folder(root, f"{NAME}@1.0.0", model)
    (root / "keys" / "registry.pub.pem").write_bytes(unknown_algorithm_pem())
    error = _one_error(_phony("models", "pull", f"{NAME}@1.0.0", "--registry", str(root)))
    assert "Ed25519" in error


def test_a_snapshot_with_a_lone_surrogate_is_refused_before_its_signature(
    tmp_path: Path, model: bytes
) -> None:
    root = tmp_path / "registry"
    publish_folder(root, f"{NAME}@1.0.0", model)
    snapshot = root / "snapshot.json"
    text = snapshot.read_bytes()
    snapshot.write_bytes(text[:-1] + b',"note\\ud800":1}')
    error = _one_error(_phony("models", "pull", f"{NAME}@1.0.0", "--registry", str(root)))
    assert "lone surrogate" in error


def _token(storage: Path) -> str:
    result = _phony(
        "registry", "token", "create", "--storage", str(storage), "--namespace", "alice"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_server_answers_4xx_to_surrogates_and_odd_keys(tmp_path: Path, model: bytes) -> None:
    storage = tmp_path / "registry-data"
    server = start_server("--storage", str(storage), env={})
    try:
        headers = {"Authorization": f"Bearer {_token(storage)}"}
        odd = httpx.put(
            f"{server.url}/v1/keys",
            json={"public_key": unknown_algorithm_pem().decode()},
            headers=headers,
        )
        assert odd.status_code == 422, odd.text
        assert odd.json()["error"] == "invalid"
        key = PrivateKey.generate()
        registered = httpx.put(
            f"{server.url}/v1/keys",
            json={"public_key": key.public_key.to_base64()},
            headers=headers,
        )
        assert registered.status_code == 200, registered.text
        stored = httpx.put(
            f"{server.url}/v1/blobs/{digest_of(model)}", content=model, headers=headers
        )
        assert stored.status_code == 201, stored.text
        manifest = Manifest.model(
            NAME, "1.0.0", digest=digest_of(model), size=len(model), format_version=2
        ).signed(key)
        body = manifest.to_bytes()
        assert body.endswith(b"}")
        for hostile in (
            body[:-1] + b',"x":"\\ud800"}',  # a lone surrogate in a value
            body[:-1] + b',"\\udfff":1}',  # and in a key
            body.replace(b'"description":""', b'"description":"\\ud800"'),
        ):
            answer = httpx.put(
                f"{server.url}/v1/models/{NAME}/versions/1.0.0", content=hostile, headers=headers
            )
            assert 400 <= answer.status_code < 500, answer.text
            assert "lone surrogate" in answer.json()["detail"]
        published = httpx.put(
            f"{server.url}/v1/models/{NAME}/versions/1.0.0", content=body, headers=headers
        )
        assert published.status_code == 201, published.text
    finally:
        assert "Traceback" not in server.stop()


def test_pulling_a_bracket_bomb_is_refused_in_bounded_memory(tmp_path: Path, model: bytes) -> None:
    """Finding 3 in a pull: a signed manifest naming a 64 KB blob of 63 MiB of ``[],``."""
    from phony_registry.digests import digest_bytes
    from tests.client.registry_sim import RegistrySim
    from tests.reliability.test_server_limits import BOMB_INFLATED, _bracket_bomb, _run_measured

    bomb = _bracket_bomb(BOMB_INFLATED)
    sim = RegistrySim(tmp_path / "registry")
    sim.publish(NAME, "1.0.0", model)
    manifest = Manifest.model(
        NAME, "2.0.0", digest=digest_bytes(bomb), size=len(bomb), format_version=2
    )
    sim.add_manifest(manifest, bomb)
    code, output, baseline = _run_measured(
        "models", "pull", f"{NAME}@1.0.0", "--registry", sim.location
    )
    assert code == 0, output
    code, output, peak = _run_measured(
        "models", "pull", f"{NAME}@2.0.0", "--registry", sim.location
    )
    assert code == 4, output
    assert "Traceback" not in output
    assert "over the reader's limits" in output
    assert peak - baseline < 4 * BOMB_INFLATED // 1024, (baseline, peak)
