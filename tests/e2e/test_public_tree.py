"""The public tree of a registry server holds no secret, and a plain static host serves pulls.

A folder storage is ``--storage DIR`` with ``DIR/public`` (the static registry)
and ``DIR/private`` (token hashes, publisher records, the registry key). Here
``python -m http.server`` serves ``DIR/public`` as any static host would, the
``phony`` CLI pulls from it, and every file under it is scanned for the
secrets that live in ``DIR/private``. On S3 the same holds for the public
prefix, read anonymously over plain HTTP under the bucket policy of
docs/deploy.md.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import httpx
import pytest

from tests.e2e.conftest import S3Endpoint, free_port, spawn, start_registry, stop, wait_until_up

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


def _secrets(token: str, private_files: dict[str, bytes]) -> dict[str, bytes]:
    """What must never appear in the public tree: each with a readable name."""
    secret = token.split("_", 2)[2]
    found = {
        "the token": token.encode(),
        "the token's secret": secret.encode(),
        "the token's hash": hashlib.sha256(token.encode()).hexdigest().encode(),
        "a private key": b"PRIVATE KEY",
        "a token record": b'"hash":',
    }
    # Every private record, whole: a copy of one anywhere in public is a leak too.
    found.update({f"private file {name}": data for name, data in private_files.items() if data})
    return found


def _leaks(public: dict[str, bytes], secrets: dict[str, bytes]) -> list[str]:
    return [
        f"{path} holds {what}"
        for path, data in sorted(public.items())
        for what, secret in secrets.items()
        if secret in data
    ]


def _publish(run_phony: Run, tmp_path: Path, url: str, token: str) -> Path:
    names = tmp_path / "names.phony"
    run_phony(
        "train", str(SAMPLE), "--locale", "tr_TR", "--order", "3", "-o", str(names), check=True
    )
    run_phony(
        "models", "push", str(names), "alice/names@1.0.0", "--registry", url,
        env={"PHONY_TOKEN": token}, check=True,
    )  # fmt: skip
    return names


def test_a_folder_storage_public_root_served_by_a_static_host(
    tmp_path: Path, run_phony: Run
) -> None:
    storage = tmp_path / "registry-data"
    server = start_registry("--storage", str(storage))
    try:
        token = run_phony(
            "registry", "token", "create", "--namespace", "alice", "--storage", str(storage),
            check=True,
        ).stdout.strip()  # fmt: skip
        names = _publish(run_phony, tmp_path, server.url, token)
    finally:
        server.stop()

    private = {
        p.relative_to(storage / "private").as_posix(): p.read_bytes()
        for p in (storage / "private").rglob("*")
        if p.is_file()
    }
    # The secrets exist (so the scan below means something), all of them in private/.
    assert b"PRIVATE KEY" in private["registry-key.pem"]
    assert any(name.startswith("tokens/") for name in private)
    assert any(name.startswith("publishers/") for name in private)
    assert (storage / "private").stat().st_mode & 0o777 == 0o700

    # A plain static file server on the public root, as a CDN or nginx would be.
    port = free_port()
    process, log = spawn(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
         "--directory", str(storage / "public")],
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)
        pull = run_phony(
            "models", "pull", "alice/names@1.0.0", "--registry", url,
            env={"PHONY_CACHE_DIR": str(tmp_path / "fresh-cache")},
        )  # fmt: skip
        assert pull.returncode == 0, pull.stderr
        assert hashlib.sha256(names.read_bytes()).hexdigest()[:12] in pull.stdout
        for path in ("/../private/registry-key.pem", "/private/registry-key.pem"):
            assert httpx.get(url + path).status_code == 404
    finally:
        stop(process, log)

    public = {
        p.relative_to(storage / "public").as_posix(): p.read_bytes()
        for p in (storage / "public").rglob("*")
        if p.is_file()
    }
    assert "snapshot.json" in public
    assert _leaks(public, _secrets(token, private)) == []


def _policy(bucket: str, public_prefix: str) -> str:
    """The bucket policy of docs/deploy.md: anyone may read the public prefix, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{public_prefix}/*",
                }
            ],
        }
    )


@pytest.mark.s3
def test_the_public_prefix_of_a_bucket_read_by_a_plain_http_client(
    tmp_path: Path, run_phony: Run, s3_endpoint: S3Endpoint
) -> None:
    bucket = s3_endpoint.new_bucket(f"phony-{uuid.uuid4().hex[:12]}")
    args = ["--s3-bucket", bucket, "--s3-endpoint", s3_endpoint.url, "--s3-prefix", "registry"]
    server = start_registry(*args, env=s3_endpoint.env)
    try:
        token = run_phony(
            "registry", "token", "create", "--namespace", "alice", *args,
            env=s3_endpoint.env, check=True,
        ).stdout.strip()  # fmt: skip
        _publish(run_phony, tmp_path, server.url, token)
    finally:
        server.stop()

    client = s3_endpoint.client()
    keys = [
        item["Key"]
        for item in client.list_objects_v2(Bucket=bucket)["Contents"]  # type: ignore[attr-defined]
    ]
    public_keys = [k for k in keys if k.startswith("registry/public/")]
    private_keys = [k for k in keys if k.startswith("registry/private/")]
    assert sorted(public_keys + private_keys) == sorted(keys)
    private = {
        k: client.get_object(Bucket=bucket, Key=k)["Body"].read()  # type: ignore[attr-defined]
        for k in private_keys
    }
    assert b"PRIVATE KEY" in private["registry/private/registry-key.pem"]
    assert any("/tokens/" in k for k in private)

    client.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, "registry/public"))  # type: ignore[attr-defined]
    base = f"{s3_endpoint.url}/{bucket}"
    public: dict[str, bytes] = {}
    with httpx.Client() as anonymous:  # no credentials: what anyone on the network gets
        for key in public_keys:
            answer = anonymous.get(f"{base}/{key}")
            assert answer.status_code == 200, key
            public[key] = answer.content
        for key in private_keys:
            assert anonymous.get(f"{base}/{key}").status_code == 403, key
    assert _leaks(public, _secrets(token, private)) == []

    pull = run_phony(
        "models", "pull", "alice/names@1.0.0", "--registry", f"{base}/registry/public",
        env={"PHONY_CACHE_DIR": str(tmp_path / "fresh-cache")},
    )  # fmt: skip
    assert pull.returncode == 0, pull.stderr


def test_an_old_single_root_storage_is_refused_until_migrated(
    tmp_path: Path, run_phony: Run
) -> None:
    from phony_registry.publisher import Publisher
    from phony_registry.signing import PrivateKey
    from phony_server.storage import LocalStorage
    from phony_server.tokens import TokenStore

    # The layout earlier versions wrote: the public files and _server/ side by side.
    storage = tmp_path / "old"
    key = PrivateKey.generate()
    root = LocalStorage(storage)
    root.create("keys/registry.pub.pem", key.public_key.to_pem())
    root.create("_server/registry-key.pem", key.to_pem())
    Publisher(root, key).ensure_snapshot()
    token, _ = TokenStore(LocalStorage(storage / "_server", private=True)).create(["alice"])

    refused = run_phony("registry", "serve", "--storage", str(storage), "--port", str(free_port()))
    assert refused.returncode == 10, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "old layout" in line
    assert f"phony registry migrate-storage --storage {storage}" in line
    refused_token = run_phony("registry", "token", "list", "--storage", str(storage))
    assert refused_token.returncode == 10

    moved = run_phony("registry", "migrate-storage", "--storage", str(storage), check=True)
    assert moved.stdout.startswith("moved 4 files")
    assert sorted(p.name for p in storage.iterdir()) == ["private", "public"]
    assert (storage / "private" / "registry-key.pem").read_bytes() == key.to_pem()
    pems = [p.relative_to(storage / "public").as_posix() for p in storage.rglob("public/**/*.pem")]
    assert pems == ["keys/registry.pub.pem"]
    server = start_registry("--storage", str(storage))
    try:
        whoami = httpx.get(f"{server.url}/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert whoami.status_code == 200, whoami.text
        health = httpx.get(f"{server.url}/v1/health").json()
        assert health["registry_key"] == key.keyid
    finally:
        server.stop()
    again = run_phony("registry", "migrate-storage", "--storage", str(storage))
    assert again.returncode == 0
    assert "already in the public/ and private/ layout" in again.stderr


@pytest.mark.s3
def test_an_old_single_root_bucket_prefix_is_refused_until_migrated(
    run_phony: Run, s3_endpoint: S3Endpoint
) -> None:
    from phony_registry.publisher import Publisher
    from phony_registry.signing import PrivateKey
    from phony_server.s3 import S3Storage

    bucket = s3_endpoint.new_bucket(f"phony-{uuid.uuid4().hex[:12]}")
    args = ["--s3-bucket", bucket, "--s3-endpoint", s3_endpoint.url, "--s3-prefix", "old"]
    key = PrivateKey.generate()
    root = S3Storage(
        bucket, prefix="old", endpoint_url=s3_endpoint.url, client=s3_endpoint.client()
    )
    root.create("keys/registry.pub.pem", key.public_key.to_pem())
    root.create("_server/registry-key.pem", key.to_pem())
    root.create("_server/tokens/0123456789abcdef.json", b"{}")
    Publisher(root, key).ensure_snapshot()

    refused = run_phony("registry", "token", "list", *args, env=s3_endpoint.env)
    assert refused.returncode == 10, refused.stderr
    assert "phony registry migrate-storage --s3-bucket" in refused.stderr
    run_phony("registry", "migrate-storage", *args, env=s3_endpoint.env, check=True)
    client = s3_endpoint.client()
    keys = {
        item["Key"]
        for item in client.list_objects_v2(Bucket=bucket)["Contents"]  # type: ignore[attr-defined]
    }
    assert keys == {
        "old/public/keys/registry.pub.pem",
        "old/public/snapshot.json",
        "old/private/registry-key.pem",
        "old/private/tokens/0123456789abcdef.json",
    }
