"""The registry commands keep `phony --help` fast: no FastAPI, uvicorn or boto3 until used."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("fastapi", "uvicorn", "boto3", "botocore", "starlette", "httpx", "rich")


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["registry", "--help"], ["registry", "token", "create", "--help"],
     ["login", "--help"], ["models", "--help"]],
    ids=lambda argv: " ".join(argv),
)  # fmt: skip
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from phony_client.cli import main\n"
        f"code = main({argv!r})\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print(f'exit={code} heavy={heavy}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "exit=0 heavy=[]", result.stdout
