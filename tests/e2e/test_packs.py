"""Packs on a registry server: a pack names no blob of its own; a correct one pulls and verifies.

A pack manifest carrying a ``digest`` used to be accepted (201) although
nothing ever checked it: ``phony cache verify`` then always failed and an
offline pull of the pack looked for a blob that never existed. Publishing
one is now refused with one clear 4xx; a pack published correctly pulls,
verifies with ``phony cache verify`` and is answered offline from the cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import httpx
import pytest

from phony_registry.canonical import canonical_json
from phony_registry.digests import digest_file
from phony_registry.manifest import Manifest, PackMember
from phony_registry.signing import add_signature, load_private_key
from tests.e2e.conftest import RegistryProcess

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
OFFLINE = {"PHONY_OFFLINE": "1"}


def test_a_pack_with_a_blob_digest_is_refused_and_a_correct_pack_verifies(
    tmp_path: Path, run_phony: Run, registry_server: RegistryProcess
) -> None:
    storage, url = Path(registry_server.args[1]), registry_server.url
    token = run_phony(
        "registry", "token", "create", "--storage", str(storage), "--namespace", "alice",
        check=True,
    ).stdout.strip()  # fmt: skip
    env = {"PHONY_TOKEN": token}
    members = []
    for name, values in (("first", ["ayşe", "fatma", "zeynep"]), ("last", ["yilmaz", "kaya"])):
        (tmp_path / f"{name}.txt").write_text("\n".join(values) + "\n", encoding="utf-8")
        model = tmp_path / f"{name}.phony"
        run_phony("train", f"{name}.txt", "-o", str(model), cwd=tmp_path, check=True)
        reference = f"alice/{name}@1.0.0"
        run_phony("models", "push", str(model), reference, "--registry", url, env=env, check=True)
        members.append(PackMember(f"alice/{name}", "1.0.0", digest_file(model)[0]))
    key = load_private_key(Path(os.environ["PHONY_CONFIG_DIR"]) / "keys" / "default.pem")
    headers = {"Authorization": f"Bearer {token}"}
    good = Manifest.pack("alice/people", "1.0.0", members, description="people")

    # The same pack, naming a blob of its own: signed as a publisher would sign it.
    bad = {**good.to_dict(signatures=False), "digest": members[0].digest, "size": 1234}
    answer = httpx.put(
        f"{url}/v1/models/alice/people/versions/1.0.0",
        content=canonical_json(add_signature(bad, key)),
        headers=headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "error": "invalid_manifest",
        "detail": "digest: a pack names no blob of its own (its members name theirs)",
    }

    answer = httpx.put(
        f"{url}/v1/models/alice/people/versions/1.0.0",
        content=good.signed(key).to_bytes(),
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    pulled = run_phony("models", "pull", "alice/people", "--registry", url, check=True)
    assert pulled.stdout.count("pulled ") == 3
    verified = run_phony("cache", "verify", check=True)
    assert "Traceback" not in verified.stderr
    offline = run_phony(
        "models", "pull", "alice/people@1.0.0", "--registry", url, env=OFFLINE, check=True
    )
    assert "alice/people@1.0.0" in offline.stdout
    run_phony("generate", "alice/last", "--count", "3", env=OFFLINE, check=True)
