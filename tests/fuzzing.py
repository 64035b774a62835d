"""schemathesis over an API's own OpenAPI schema: every operation, every failure collected.

The registry server (tests/reliability/test_api_fuzz.py), the mock over schema
files (tests/mock/test_mock_fuzz.py) and the mock made from an OpenAPI document
(tests/mock/test_mock_openapi.py) are fuzzed the same way: a bounded number of
derandomised examples per operation, no 5xx, answers as documented.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz_failures(
    schema: Any,
    base_url: str,
    *,
    modes: Sequence[GenerationMode],
    examples: int,
    seconds: float,
    min_operations: int,
    headers: dict[str, str] | None = None,
) -> list[str]:
    """Each operation of ``schema`` that failed a check, with why (empty: none failed).

    ``examples`` generated requests per operation and mode, sent to ``base_url``
    with ``headers``; fails the test if the schema lists fewer than
    ``min_operations`` operations or the whole run takes over ``seconds``.
    """
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= min_operations
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    for mode in modes:
        for operation in operations:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def run(case: Any) -> None:
                case.call_and_validate(
                    base_url=base_url, headers=headers, checks=CHECKS, timeout=30
                )

            try:
                run()
            except Unsatisfiable:
                continue  # no parameter or body to make invalid (GET /v1/health ...)
            except Exception as exc:  # every operation's failure, not just the first
                failures.append(f"{mode} {operation.label}: {exc}")
            assert time.monotonic() < deadline, f"fuzzing took over {seconds} s"
    return failures
