"""The registry on S3: a real S3 HTTP endpoint (moto's server) and real server processes."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess

import httpx
import pytest

from phony_registry.storage import WriteConflict
from phony_server.s3 import S3Storage
from tests.e2e.conftest import RegistryProcess, S3Endpoint, race_publishes, start_registry

pytestmark = [pytest.mark.e2e, pytest.mark.s3]

Run = Callable[..., CompletedProcess[str]]
SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


@pytest.fixture
def bucket(s3_endpoint: S3Endpoint) -> str:
    return s3_endpoint.new_bucket(f"phony-{uuid.uuid4().hex[:12]}")


def _s3_args(s3_endpoint: S3Endpoint, bucket: str, prefix: str = "registry") -> list[str]:
    return [
        "--s3-bucket",
        bucket,
        "--s3-endpoint",
        s3_endpoint.url,
        "--s3-prefix",
        prefix,
        "--s3-region",
        "us-east-1",
    ]


@pytest.fixture
def s3_server(s3_endpoint: S3Endpoint, bucket: str) -> Iterator[RegistryProcess]:
    server = start_registry(*_s3_args(s3_endpoint, bucket), env=s3_endpoint.env)
    yield server
    server.stop()


def test_the_endpoint_honours_conditional_writes(s3_endpoint: S3Endpoint, bucket: str) -> None:
    """The race tests mean something only if the endpoint enforces If-None-Match and If-Match."""
    storage = S3Storage(bucket, endpoint_url=s3_endpoint.url, client=s3_endpoint.client())
    assert storage.create("k", b"first") is True
    assert storage.create("k", b"second") is False  # PutObject If-None-Match: * -> 412
    data, tag = storage.read("k")
    assert data == b"first"
    new_tag = storage.write("k", b"third", if_match=tag)
    with pytest.raises(WriteConflict):
        storage.write("k", b"stale", if_match=tag)  # If-Match with an old ETag -> 412
    with pytest.raises(WriteConflict):
        storage.write("k", b"again", if_match=None)
    assert storage.read("k") == (b"third", new_tag)


def test_push_and_pull_through_a_server_on_s3(
    tmp_path: Path, run_phony: Run, s3_endpoint: S3Endpoint, bucket: str, s3_server: RegistryProcess
) -> None:
    names = tmp_path / "names.phony"
    run_phony(
        "train", str(SAMPLE), "--locale", "tr_TR", "--order", "3", "-o", str(names), check=True
    )
    created = run_phony(
        "registry", "token", "create", "--namespace", "alice", *_s3_args(s3_endpoint, bucket),
        env=s3_endpoint.env, check=True,
    )  # fmt: skip
    token = created.stdout.strip()
    url = s3_server.url
    run_phony(
        "models", "push", str(names), "alice/names@1.0.0", "--registry", url,
        env={"PHONY_TOKEN": token}, check=True,
    )  # fmt: skip
    pull = run_phony("models", "pull", "alice/names@^1", "--registry", url)
    assert pull.returncode == 0, pull.stderr
    keys = {o["Key"] for o in s3_endpoint.client().list_objects_v2(Bucket=bucket)["Contents"]}  # type: ignore[attr-defined]
    digest = hashlib.sha256(names.read_bytes()).hexdigest()
    assert {
        "registry/public/snapshot.json",
        "registry/public/index/alice/names.jsonl",
        "registry/public/manifests/alice/names/1.0.0.json",
        f"registry/public/blobs/sha256/{digest[:2]}/{digest}",
        "registry/private/registry-key.pem",
    } <= keys
    assert not any(token.split("_", 2)[2] in key for key in keys)
    blob = httpx.get(f"{url}/v1/blobs/sha256:{digest}", headers={"Range": "bytes=0-99"})
    assert blob.status_code == 206
    assert blob.content == names.read_bytes()[:100]

    # The public prefix is a static registry: made publicly readable (as
    # docs/deploy.md says), it serves pulls with the server stopped, as a CDN in
    # front of it would; the private prefix stays unreadable.
    s3_server.stop()
    _public_read(s3_endpoint, bucket, "registry/public")
    bucket_url = f"{s3_endpoint.url}/{bucket}/registry/public"
    private_key = f"{s3_endpoint.url}/{bucket}/registry/private/registry-key.pem"
    assert httpx.get(private_key).status_code == 403
    assert httpx.get(f"{bucket_url}/snapshot.json").status_code == 200
    direct = run_phony(
        "models", "pull", "alice/names@1.0.0", "--registry", bucket_url,
        # Another user: alice's namespace is first pulled from the bucket here.
        env={
            "PHONY_CACHE_DIR": str(tmp_path / "fresh-cache"),
            "PHONY_CONFIG_DIR": str(tmp_path / "fresh-config"),
        },
    )  # fmt: skip
    assert direct.returncode == 0, direct.stderr


def _public_read(s3_endpoint: S3Endpoint, bucket: str, prefix: str) -> None:
    """The bucket policy of docs/deploy.md: anyone may read the public prefix, nothing else."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
            }
        ],
    }
    s3_endpoint.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))  # type: ignore[attr-defined]


def test_two_replicas_racing_publishes_of_one_version(
    s3_endpoint: S3Endpoint, bucket: str, run_phony: Run
) -> None:
    """20 rounds; in each, 4 different models race for one name@version across 2 servers."""
    env = s3_endpoint.env
    args = _s3_args(s3_endpoint, bucket, prefix="race")
    first = start_registry(*args, env=env)
    second = start_registry(*args, env=env)
    try:
        created = run_phony(
            "registry", "token", "create", "--namespace", "alice", *args, env=env, check=True
        )
        race_publishes([first.url, second.url], created.stdout.strip(), rounds=20)
    finally:
        first.stop()
        second.stop()


def test_serve_without_a_reachable_bucket_fails_cleanly(
    run_phony: Run, s3_endpoint: S3Endpoint
) -> None:
    result = run_phony(
        "registry", "serve", "--s3-bucket", "no-such-bucket-here", "--s3-endpoint", s3_endpoint.url,
        env=s3_endpoint.env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: storage")
