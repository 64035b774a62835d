"""A server on S3 that cannot use its bucket says why in one line; a hung S3 is a quick 503.

Real processes: ``phony registry serve`` on moto's S3 server (the session's,
or one of its own that checks credentials), reached directly or through a
proxy that can stop answering as a paused S3 endpoint does.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from subprocess import CompletedProcess

import httpx
import pytest

from tests.e2e.conftest import S3Endpoint, free_port, spawn, start_registry, stop, wait_until_up
from tests.reliability.conftest import FaultyProxy

pytestmark = [pytest.mark.e2e, pytest.mark.s3]

Run = Callable[..., CompletedProcess[str]]


def _one_error_line(result: CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def checking_s3() -> Iterator[str]:
    """A moto S3 server that checks credentials (no key is known to it: every one is refused)."""
    pytest.importorskip("moto.server", reason="moto[server] comes with the dev extra")
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    process, log = spawn(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, process, log)
    try:
        yield url
    finally:
        stop(process, log)


def test_refused_credentials_name_the_bucket(run_phony: Run, checking_s3: str) -> None:
    result = run_phony(
        "registry", "serve", "--s3-bucket", "models", "--s3-endpoint", checking_s3,
        env={"AWS_ACCESS_KEY_ID": "wrong", "AWS_SECRET_ACCESS_KEY": "wrong",
             "AWS_DEFAULT_REGION": "us-east-1"},
    )  # fmt: skip
    assert result.returncode == 8, result.stderr
    line = _one_error_line(result)
    assert "refused access to bucket 'models'" in line, line
    assert "credentials" in line, line
    assert "403 403" not in line


def test_a_bad_bucket_name_is_a_usage_error_naming_the_rule(
    run_phony: Run, s3_endpoint: S3Endpoint
) -> None:
    result = run_phony(
        "registry", "serve", "--s3-bucket", "Bad_Bucket!!", "--s3-endpoint", s3_endpoint.url,
        env=s3_endpoint.env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    line = _one_error_line(result)
    assert "'Bad_Bucket!!' is not an S3 bucket name" in line, line
    assert "3 to 63 lowercase letters, digits, '.' and '-'" in line, line
    assert "regex" not in line, line


def test_a_missing_bucket_is_named(run_phony: Run, s3_endpoint: S3Endpoint) -> None:
    result = run_phony(
        "registry", "serve", "--s3-bucket", "no-such-bucket-here", "--s3-endpoint", s3_endpoint.url,
        env=s3_endpoint.env,
    )  # fmt: skip
    assert result.returncode == 8, result.stderr
    line = _one_error_line(result)
    assert "no bucket 'no-such-bucket-here'" in line, line
    assert s3_endpoint.url in line, line


@pytest.fixture
def proxy(s3_endpoint: S3Endpoint) -> Iterator[FaultyProxy]:
    faulty = FaultyProxy(int(s3_endpoint.url.rsplit(":", 1)[1])).start()
    yield faulty
    faulty.stop()


def test_health_answers_503_within_seconds_while_s3_hangs(
    s3_endpoint: S3Endpoint, proxy: FaultyProxy
) -> None:
    bucket = s3_endpoint.new_bucket(f"phony-{uuid.uuid4().hex[:12]}")
    server = start_registry(
        "--s3-bucket", bucket, "--s3-endpoint", proxy.url, "--s3-region", "us-east-1",
        env=s3_endpoint.env,
    )  # fmt: skip
    try:
        assert httpx.get(f"{server.url}/v1/health", timeout=30).status_code == 200
        proxy.mode = "hang"
        started = time.monotonic()
        answer = httpx.get(f"{server.url}/v1/health", timeout=60)
        took = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"error": "unavailable", "detail": "storage unavailable"}
        assert took < 8, f"/v1/health took {took:.1f} s to answer 503"
        # Any other storage call gives up too: 2 attempts of 5 s (with a retry inside each).
        started = time.monotonic()
        answer = httpx.get(f"{server.url}/v1/models/alice/names", timeout=120)
        took = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert took < 25, f"/v1/models/alice/names took {took:.1f} s to answer 503"
    finally:
        output = server.stop()
    assert "timeout" in output.lower() or "timed out" in output.lower(), output[-2000:]


def test_the_token_commands_refuse_a_bad_bucket_name_too(
    run_phony: Run, s3_endpoint: S3Endpoint
) -> None:
    result = run_phony(
        "registry", "token", "list", "--s3-bucket", "Bad_Bucket!!",
        "--s3-endpoint", s3_endpoint.url, env=s3_endpoint.env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "'Bad_Bucket!!' is not an S3 bucket name" in _one_error_line(result)
