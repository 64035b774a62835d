"""The client side of HTTP: credentials on disk, retries, error mapping (MockTransport)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from phony_client import credentials
from phony_client._net import MAX_RETRY_AFTER, RETRIES, RetryPolicy
from phony_client.remote import RegistryClient, error_from_response
from phony_registry.errors import (
    AlreadyExists,
    Forbidden,
    PayloadTooLarge,
    RegistryError,
    RegistryUnavailable,
    Unauthorized,
)


def test_token_is_stored_0600_per_registry_url() -> None:
    path = credentials.store_token("HTTP://Registry.example:8000/", "phony_secret_1")
    assert path.stat().st_mode & 0o777 == 0o600
    assert credentials.token_for("http://registry.example:8000") == "phony_secret_1"
    assert credentials.token_for("http://other.example") is None
    assert credentials.forget_token("http://registry.example:8000/") is True
    assert credentials.token_for("http://registry.example:8000") is None


def test_phony_token_overrides_stored_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.store_token("http://r.example", "stored")
    monkeypatch.setenv("PHONY_TOKEN", "from-env")
    assert credentials.token_for("http://r.example") == "from-env"


def test_unreadable_credentials_never_quote_the_file() -> None:
    path = credentials.credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('registries = "phony_abc_supersecret', encoding="utf-8")
    with pytest.raises(Exception, match="cannot read") as info:
        credentials.token_for("http://r.example")
    assert "supersecret" not in str(info.value)
    assert os.environ.get("PHONY_TOKEN") is None


def _client(
    handler: object,
    *,
    retries: int = RETRIES,
    waits: list[float] | None = None,
    token: str | None = None,
) -> RegistryClient:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    sleep = (waits if waits is not None else []).append
    retry = RetryPolicy(retries=retries, sleep=sleep)  # records each wait instead of sleeping
    return RegistryClient("http://registry.test", token=token, transport=transport, retry=retry)


def test_retries_5xx_and_connection_errors_then_succeeds() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(calls) == 2:
            return httpx.Response(503, json={"error": "unavailable", "detail": "storage down"})
        return httpx.Response(200, json={"status": "ok"})

    waits: list[float] = []
    with _client(handler, waits=waits) as client:
        assert client.health() == {"status": "ok"}
    assert len(calls) == 3
    assert waits == [0.25, 0.5]  # exponential backoff, without sleeping here


def test_retry_after_is_honoured_and_capped() -> None:
    answers = iter(["7", "3600", None])

    def handler(request: httpx.Request) -> httpx.Response:
        after = next(answers)
        if after is None:
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(429, headers={"Retry-After": after}, json={"error": "x"})

    waits: list[float] = []
    with _client(handler, waits=waits) as client:
        assert client.health() == {"status": "ok"}
    assert waits == [7.0, MAX_RETRY_AFTER]


def test_gives_up_after_the_retry_budget() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, json={"error": "unavailable", "detail": "storage down"})

    waits: list[float] = []
    with (
        _client(handler, retries=2, waits=waits) as client,
        pytest.raises(RegistryUnavailable, match="storage down"),
    ):
        client.health()
    assert len(calls) == 3
    assert waits == [0.25, 0.5]


def test_4xx_is_not_retried_and_maps_to_the_error_class() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(409, json={"error": "already_exists", "detail": "taken"})

    with _client(handler) as client, pytest.raises(AlreadyExists, match="taken"):
        client.yank("alice/names", "1.0.0")
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": "unauthorized", "detail": "x"}, Unauthorized),
        (403, {"error": "forbidden", "detail": "x"}, Forbidden),
        (413, {"error": "payload_too_large", "detail": "x"}, PayloadTooLarge),
        (418, {"error": "who-knows", "detail": "x"}, RegistryError),
        (502, "<html>bad gateway</html>", RegistryUnavailable),
    ],
)
def test_error_mapping(status: int, body: object, expected: type[Exception]) -> None:
    if isinstance(body, dict):
        response = httpx.Response(status, json=body)
    else:
        response = httpx.Response(status, text=str(body))
    error = error_from_response(response)
    assert type(error) is expected


def test_upload_is_streamed_again_on_retry(tmp_path: Path) -> None:
    blob = tmp_path / "m.phony"
    blob.write_bytes(b"z" * 700_000)
    bodies: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(len(request.read()))
        if len(bodies) == 1:
            return httpx.Response(502)
        return httpx.Response(201, json={"created": True})

    with _client(handler, token="phony_t") as client:
        assert client.upload_blob("sha256:" + "0" * 64, blob, progress=False) is True
    assert bodies == [700_000, 700_000]


def test_token_goes_in_the_authorization_header_only() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "t"})

    with _client(handler, token="phony_abc_secret") as client:
        client.whoami()
    assert seen[0].headers["authorization"] == "Bearer phony_abc_secret"
    assert "secret" not in str(seen[0].url)
