"""schemathesis against the mock's own /openapi.json: no 5xx, answers as documented."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.mock.conftest import MockServer, StartMock

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


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
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    failures: list[str] = []
    deadline = time.monotonic() + 240
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(base_url=fuzzed.url, checks=CHECKS, timeout=30)

        try:
            run()
        except Unsatisfiable:
            continue
        except Exception as exc:  # every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
        assert time.monotonic() < deadline, "fuzzing took over 240 s"
    assert failures == [], "\n\n".join(failures)
