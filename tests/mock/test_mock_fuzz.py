"""schemathesis against the mock's own /openapi.json: no 5xx, answers as documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode

from tests.fuzzing import fuzz_failures
from tests.mock.conftest import MockServer, StartMock

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def fuzzed(start_mock: StartMock, blog_schemas: Path) -> Iterator[MockServer]:
    """The blog schemas (users, posts referring to them) with writes on."""
    server = start_mock(str(blog_schemas), "--seed", "9", "--count", "40")
    yield server
    log = server.stop()
    assert "Traceback" not in log, log


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_mock_never_answers_5xx_and_matches_its_schema(
    fuzzed: MockServer, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")
    failures = fuzz_failures(
        schema,
        fuzzed.url,
        modes=[mode],
        examples=EXAMPLES_PER_OPERATION,
        seconds=240,
        min_operations=12,
    )
    assert failures == [], "\n\n".join(failures)
