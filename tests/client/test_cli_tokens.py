"""A malformed token is refused where it enters, in one line that quotes none of it.

A token holding a line break (``PHONY_TOKEN="$(phony registry token create ...
2>&1)"`` keeps the "created token" line too), a control character or a
non-ASCII letter used to reach httpx, whose error quoted the whole header:
``internal error (ValueError: Invalid header value b'Bearer ...<secret>')``.
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from registry_sim import train_bytes

from phony_client import credentials
from phony_client.cli import main
from phony_client.remote import RegistryClient
from phony_registry.errors import Unauthorized
from tests.conftest import phony_command

#: Nothing listens there: a request that went out would be a connection error, not ours.
URL = "http://127.0.0.1:9"
SECRET = "SECRETxyz"
TAIL = "; a registry token is one word of letters, digits, '-' and '_' (as `phony registry token create` printed it)"  # noqa: E501

BAD = {
    "newline": (f"created token 52f2\nphony_52f2_{SECRET}", "it holds a line break"),
    "crlf": (f"phony_52f2_{SECRET}\r\nmore", "it holds a line break"),
    "bell": (f"phony_52f2_{SECRET}\x07", "it holds a control character"),
    "escape": (f"\x1b[31mphony_52f2_{SECRET}", "it holds a control character"),
    "del": (f"phony_52f2_\x7f{SECRET}", "it holds a control character"),
    "non-ascii": (f"phony_tök_{SECRET}", "it holds a non-ASCII character"),
    "space": (f"phony_52f2 {SECRET}", "it holds a space"),
    "punctuation": (f"phony_52f2:{SECRET}", "it holds a character no token has"),
}


def _why(case: str) -> str:
    return BAD[case][1].split(" (")[0]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "names.phony"
    path.write_bytes(train_bytes())
    return path


def _refused(code: int, capsys: Any, caplog: pytest.LogCaptureFixture, source: str) -> str:
    out, err = capsys.readouterr()
    assert code == 8, err
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: malformed token ({source}): "), err
    assert err.endswith(TAIL + "\n"), err
    for text in (out, err, caplog.text):
        assert SECRET not in text
        assert "52f2" not in text
    return err


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_phony_token_is_checked_for_push_and_yank(
    case: str,
    model: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PHONY_TOKEN", BAD[case][0])
    code = main(["models", "push", str(model), "dave/x@1.0.0", "--registry", URL])
    assert _why(case) in _refused(code, capsys, caplog, "PHONY_TOKEN")
    code = main(["models", "yank", "dave/x@1.0.0", "--registry", URL])
    assert _why(case) in _refused(code, capsys, caplog, "PHONY_TOKEN")


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_login_checks_the_token_before_sending_or_storing_it(
    case: str, monkeypatch: pytest.MonkeyPatch, capsys: Any, caplog: pytest.LogCaptureFixture
) -> None:
    text = BAD[case][0]
    if "\n" in text.strip():
        text = text.replace("\n", " ")  # login reads one line: the rest would be another line
    monkeypatch.setattr(sys, "stdin", io.StringIO(text + "\n"))
    code = main(["login", "--registry", URL])
    _refused(code, capsys, caplog, "given to phony login")
    assert not credentials.credentials_path().exists()


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_malformed_token_in_the_credentials_file(
    case: str,
    model: Path,
    capsys: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = credentials.credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    import tomli_w

    path.write_text(tomli_w.dumps({"registries": {URL: {"token": BAD[case][0]}}}))
    code = main(["models", "push", str(model), "dave/x@1.0.0", "--registry", URL])
    err = _refused(code, capsys, caplog, f"credentials file {path}, for {URL}")
    assert _why(case) in err


def test_the_client_refuses_one_too() -> None:
    with pytest.raises(Unauthorized, match=r"malformed token \(given to the client\)") as info:
        RegistryClient(URL, token=f"phony_x_{SECRET}\n")
    assert SECRET not in str(info.value)


def test_real_tokens_still_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    issued = "phony_0123456789abcdef_" + "aZ09_-" * 7 + "x"
    monkeypatch.setenv("PHONY_TOKEN", f"  {issued}\n")  # surrounding blanks are not the token
    assert credentials.token_for(URL) == issued
    monkeypatch.delenv("PHONY_TOKEN")
    credentials.store_token(URL, issued)
    assert credentials.token_for(URL) == issued
    with RegistryClient(URL, token=issued) as client:
        assert client.url == URL


def test_nothing_of_the_token_reaches_a_real_process(model: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "PHONY_TOKEN": BAD["newline"][0]}
    result = subprocess.run(
        [*phony_command(), "models", "push", str(model), "dave/x@1.0.0", "--registry", URL],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 8
    assert result.stderr.startswith("error: malformed token (PHONY_TOKEN): it holds a line break")
    assert SECRET not in result.stderr + result.stdout
