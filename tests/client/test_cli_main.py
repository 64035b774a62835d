"""The command line's error handling: one line on stderr, a stable exit code, no traceback."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from phony_client.cli import cli, main
from phony_registry.errors import DigestMismatch, PhonyError


@pytest.fixture
def command() -> Iterator[dict[str, BaseException | int]]:
    behaviour: dict[str, BaseException | int] = {}

    @click.command("probe")
    @click.pass_context
    def probe(ctx: click.Context) -> None:
        outcome = behaviour["outcome"]
        if isinstance(outcome, int):
            ctx.exit(outcome)
        raise outcome

    cli.add_command(probe)
    yield behaviour
    cli.commands.pop("probe")


@pytest.mark.parametrize(
    ("outcome", "code", "message"),
    [
        (DigestMismatch("blob sha256:ab differs from its manifest"), 7, "error: blob sha256:ab"),
        (PhonyError("plain"), 1, "error: plain"),
        (
            FileNotFoundError(2, "No such file or directory", "names.txt"),
            1,
            "error: No such file or directory: names.txt",
        ),
        (KeyboardInterrupt(), 130, "error: interrupted"),
        (3, 3, ""),
    ],
    ids=["phony-error", "root-error", "os-error", "interrupt", "ctx-exit"],
)
def test_errors_become_one_line_and_an_exit_code(
    command: dict[str, BaseException | int],
    capsys: pytest.CaptureFixture[str],
    outcome: BaseException | int,
    code: int,
    message: str,
) -> None:
    command["outcome"] = outcome
    assert main(["probe"]) == code
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.startswith(message)
    assert "\n" not in err


def test_a_closed_stdout_pipe_is_not_an_error(
    command: dict[str, BaseException | int], capsys: pytest.CaptureFixture[str]
) -> None:
    command["outcome"] = BrokenPipeError(32, "Broken pipe")
    assert main(["probe"]) == 0
    assert capsys.readouterr().err == ""


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err
