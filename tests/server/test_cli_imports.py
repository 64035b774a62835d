"""The registry commands keep `phony --help` fast: no FastAPI, uvicorn or boto3 until used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_tokens_of_a_folder_registry_need_no_boto3(tmp_path: Path) -> None:
    # boto3 is the S3 backend's: a folder registry's tokens were refused without it.
    code = (
        "import sys\n"
        "sys.modules['boto3'] = sys.modules['botocore'] = None\n"
        "from phony_client.cli import main\n"
        f"base = ['registry', 'token', 'create', '--storage', {str(tmp_path)!r}]\n"
        "assert main([*base, '--namespace', 'alice']) == 0\n"
        "sys.exit(main(['registry', 'token', 'create', '--s3-bucket', 'b', '--operator']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.startswith("phony_")
    assert result.returncode == 1  # the bucket does need it, and says so in one line
    assert result.stderr.strip().splitlines()[-1] == (
        "error: phony registry token create needs boto3, which is not installed: "
        "pip install 'phony[server]'"
    )
