"""The command line's error handling: one line on stderr, a stable exit code, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from phony_client.cli import cli, main
from phony_registry.errors import DigestMismatch, PhonyError, exit_codes


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
    assert capsys.readouterr().err == (
        "error: no such command: phony no-such-command (see 'phony --help')\n"
    )


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["gnerate"], "error: no such command: phony gnerate (did you mean 'phony generate'?)"),
        (
            ["models", "pul"],
            "error: no such command: phony models pul (did you mean 'phony models pull'?)",
        ),
        (["generate", "--cout", "3"], "error: no such option: --cout (did you mean --count"),
        (["generate", "--zzz"], "error: no such option: --zzz (see 'phony generate --help')"),
        (["info"], "error: missing argument 'MODEL' (see 'phony info --help')"),
        (["generate", "-n", "x"], "error: invalid value for '-n' / '--count': 'x'"),
    ],
    ids=["command", "subcommand", "option-close", "option-far", "missing-argument", "bad-value"],
)
def test_usage_errors_are_one_line_with_a_suggestion(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(line)
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize("argv", [[], ["models"], ["cache"]], ids=["phony", "models", "cache"])
def test_a_bare_group_prints_its_help_and_succeeds(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Usage: phony")
    assert "Commands:" in captured.out
    assert captured.err == ""


def test_a_bug_is_one_line_unless_a_traceback_is_asked_for(
    command: dict[str, BaseException | int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command["outcome"] = ZeroDivisionError("division by zero")
    assert main(["probe"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: internal error (ZeroDivisionError: division by zero); this is a bug in phony: "
        "run again with PHONY_DEBUG=1 for the traceback and report it\n"
    )
    assert main(["--traceback", "probe"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("error: ZeroDivisionError: division by zero\n")
    monkeypatch.setenv("PHONY_DEBUG", "1")
    command["outcome"] = DigestMismatch("blob differs")
    assert main(["probe"]) == 7
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.endswith("error: blob differs\n")


def test_a_missing_optional_dependency_names_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # None in sys.modules makes `import uvicorn` raise ModuleNotFoundError.
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    code = main(["registry", "serve", "--storage", str(tmp_path / "r"), "--port", "8765"])
    assert code == 1
    assert capsys.readouterr().err == (
        "error: phony registry serve needs uvicorn, which is not installed: "
        "pip install 'phony[server]'\n"
    )


def test_the_exit_code_table_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for code, meaning in exit_codes():
        assert f"{code:>3}  {meaning}\n" in out


def test_every_error_class_has_a_published_exit_code() -> None:
    published = dict(exit_codes())
    pending: list[type[PhonyError]] = [PhonyError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        assert cls.exit_code in published, cls
    # Stable: these codes keep their meaning for scripts that test them.
    assert {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 130} <= set(published)
    assert published[2].startswith("usage")


def test_every_error_class_exits_with_its_published_code(
    command: dict[str, BaseException | int], capsys: pytest.CaptureFixture[str]
) -> None:
    published = dict(exit_codes())
    pending: list[type[PhonyError]] = [PhonyError]
    seen = 0
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        command["outcome"] = cls("what went wrong")
        code = main(["probe"])
        assert code == cls.exit_code, cls
        assert code in published
        assert capsys.readouterr().err.endswith("what went wrong\n")
        seen += 1
    assert seen > 25
