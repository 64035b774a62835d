"""examples/faker-to-phony: a Faker test suite and its two phony versions, run by a real pytest."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "faker-to-phony"


def test_the_faker_suite_and_both_phony_versions_pass() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=EXAMPLE,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.findall(r"^(test_signup_\w+)\.py::(\w+) PASSED", result.stdout, re.MULTILINE)
    by_file: dict[str, set[str]] = {}
    for module, test in passed:
        by_file.setdefault(module, set()).add(test)
    # The same four tests in each version.
    assert by_file["test_signup_phony"] == by_file["test_signup_faker"]
    assert by_file["test_signup_faker_provider"] == by_file["test_signup_faker"]
    assert len(by_file["test_signup_faker"]) == 4


def test_the_phony_version_changes_only_the_fixture() -> None:
    def body(name: str) -> str:
        text = (EXAMPLE / name).read_text()
        return text[text.index("def test_") :]

    assert body("test_signup_phony.py") == body("test_signup_faker.py")
    assert body("test_signup_faker_provider.py") == body("test_signup_faker.py")
