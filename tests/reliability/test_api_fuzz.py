"""Test 8: schemathesis against the server's own OpenAPI schema: no 5xx, answers as documented.

A real server process on a folder storage holding one published model; every
operation of ``/openapi.json`` gets generated requests (valid and invalid),
sent with a publisher's token so that the write endpoints are exercised past
authentication. A bounded number of examples per operation keeps it to about
a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode

from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey
from phony_server.storage import LocalStorage
from phony_server.tokens import TokenStore
from tests.fuzzing import fuzz_failures
from tests.reliability.conftest import digest_of, random_words, start_server, train_model

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(URL, token) of a server holding ``alice/words@1.0.0``."""
    storage = tmp_path_factory.mktemp("fuzz") / "registry-data"
    server = start_server("--storage", str(storage), env={})
    token, _record = TokenStore(LocalStorage(storage / "private", private=True)).create(["alice"])
    headers = {"Authorization": f"Bearer {token}"}
    key = PrivateKey.generate()
    blob = train_model(random_words(100, seed=2), order=2)
    with httpx.Client(base_url=server.url, headers=headers) as http:
        http.put("/v1/keys", json={"public_key": key.public_key.to_base64()}).raise_for_status()
        http.put(f"/v1/blobs/{digest_of(blob)}", content=blob).raise_for_status()
        manifest = Manifest.model(
            "alice/words", "1.0.0", digest=digest_of(blob), size=len(blob), format_version=2
        ).signed(key)
        http.put("/v1/models/alice/words/versions/1.0.0", content=manifest.to_bytes())
    yield server.url, token
    log = server.stop()
    assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def api_schema(fuzzed: tuple[str, str]) -> Any:
    """The server's OpenAPI schema, as served."""
    return schemathesis.openapi.from_url(f"{fuzzed[0]}/openapi.json")


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_api_never_answers_5xx_and_matches_its_schema(
    api_schema: Any, fuzzed: tuple[str, str], mode: GenerationMode
) -> None:
    """Every operation, generated requests valid (positive) or not (negative)."""
    url, token = fuzzed
    failures = fuzz_failures(
        api_schema,
        url,
        modes=[mode],
        examples=EXAMPLES_PER_OPERATION,
        seconds=150,
        min_operations=10,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert failures == [], "\n\n".join(failures)


def test_the_fuzzed_schema_covers_the_write_endpoints(api_schema: Any) -> None:
    """Fuzzing means something only if the publishing operations are in the schema."""
    paths = api_schema.raw_schema["paths"]
    assert "put" in paths["/v1/blobs/{digest}"]
    assert "put" in paths["/v1/models/{name}/versions/{version}"]
    assert "put" in paths["/v1/keys"]
