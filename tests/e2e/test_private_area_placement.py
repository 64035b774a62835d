"""The private area (registry key, token hashes) is never placed inside the public tree.

``--s3-private-prefix`` names where a server on S3 keeps its signing key and
token records; the deploy guide makes ``PREFIX/public/`` readable by anyone.
A private prefix inside that public prefix (or equal to it) put the registry
key where every anonymous reader of the bucket could fetch it; so did a
``--key-file`` inside a folder storage's ``public/``, which docs/deploy.md
serves with any static host. ``phony registry serve`` refuses both with one
line, before it writes anything. Real processes: the server and moto's S3
server on 127.0.0.1.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from tests.e2e.conftest import S3Endpoint, free_port

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]


def _serve_briefly(run_phony: Run, *args: str, env: dict[str, str]) -> CompletedProcess[str]:
    """``phony registry serve ARGS``: a refusal exits at once; a server is stopped by timeout."""
    import subprocess

    try:
        return run_phony(
            "registry", "serve", *args, "--host", "127.0.0.1", "--port", str(free_port()),
            env=env, timeout=8,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return CompletedProcess(args, 0, "", "still serving")


def _objects(endpoint: S3Endpoint, bucket: str) -> dict[str, bytes]:
    client: Any = endpoint.client()
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"]] = body
    return found


@pytest.mark.parametrize(
    "private_prefix",
    ["registry/public/private", "registry/public", "/registry/public/"],
    ids=["inside", "equal", "slashes"],
)
def test_a_private_prefix_inside_the_public_one_is_refused(
    run_phony: Run, s3_endpoint: S3Endpoint, private_prefix: str
) -> None:
    bucket = s3_endpoint.new_bucket(f"phony-{uuid.uuid4().hex[:12]}")
    result = _serve_briefly(
        run_phony,
        "--s3-bucket", bucket, "--s3-endpoint", s3_endpoint.url, "--s3-prefix", "registry",
        "--s3-private-prefix", private_prefix,
        env=s3_endpoint.env,
    )  # fmt: skip
    assert result.returncode != 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: "), result.stderr
    assert "inside the public" in lines[-1]
    leaked = [key for key, body in _objects(s3_endpoint, bucket).items() if b"PRIVATE" in body]
    assert leaked == []


def test_a_private_prefix_beside_the_public_one_is_served(
    run_phony: Run, s3_endpoint: S3Endpoint
) -> None:
    bucket = s3_endpoint.new_bucket(f"phony-{uuid.uuid4().hex[:12]}")
    result = _serve_briefly(
        run_phony,
        "--s3-bucket", bucket, "--s3-endpoint", s3_endpoint.url, "--s3-prefix", "registry",
        "--s3-private-prefix", "registry/public-keys-not",
        env=s3_endpoint.env,
    )  # fmt: skip
    assert result.stderr == "still serving"


def test_a_key_file_inside_the_public_folder_is_refused(run_phony: Run, tmp_path: Path) -> None:
    storage = tmp_path / "registry-data"
    key_file = storage / "public" / "keys" / "server.pem"
    result = _serve_briefly(
        run_phony, "--storage", str(storage), "--key-file", str(key_file), env={}
    )
    assert result.returncode != 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "inside the public" in result.stderr
    assert not key_file.exists()
