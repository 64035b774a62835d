"""The command line as a contract: every command, found by walking the click tree.

Nothing here lists the commands by hand: the walk starts at ``phony`` and
follows every group, so a command added by phony or by a plugin (``mock``,
``sync``, a third-party ``phony_register_commands``) is checked the day it
appears. For each command:

* ``--help`` exits 0, every option has help text, and the help has no
  reStructuredText double backticks and no description cut with ``...``;
* an unknown option exits 2 with one ``error:`` line and a suggestion;
* a wrong value for an option that takes one exits 2, with one line;
* nothing prints a Python traceback (unless asked: ``--traceback``).

The checks run in-process for speed, and a representative set again as real
subprocesses; the exit codes are the published table's
(:func:`phony_registry.errors.exit_codes`, docs/cli.md).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from phony_client.cli import cli, main
from phony_registry.errors import exit_codes
from tests.conftest import phony_command

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _walk(
    command: click.Command, path: tuple[str, ...], ctx: click.Context
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = click.Context(sub, info_name=name, parent=ctx)
            yield from _walk(sub, (*path, name), sub_ctx)


def _all_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    # Commands arrive as they do for a user: phony's own, and those that
    # plugins register through the phony_register_commands hook (mock).
    root = click.Context(cli, info_name="phony")
    return list(_walk(cli, (), root))


COMMANDS = _all_commands()
IDS = [" ".join(path) or "phony" for path, _ in COMMANDS]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_walk_finds_the_command_groups() -> None:
    found = {" ".join(path) for path, _ in COMMANDS}
    for expected in ("generate", "train", "models pull", "cache ls", "registry serve", "logout"):
        assert expected in found
    assert len(found) > 30


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_exits_0_and_every_option_has_help(
    path: tuple[str, ...], command: click.Command, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, *path, "--help")
    assert code == 0, err
    assert err == ""
    assert out.startswith(f"Usage: phony {' '.join(path)}".rstrip())
    assert "``" not in out, "reStructuredText backticks in the help"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"option {param.opts[0]} of phony {' '.join(path)} has no help"
    if isinstance(command, click.Group):
        # Each subcommand's first sentence is shown whole (wrapped), never cut with "...".
        listing = " ".join(out.split("Commands:\n", 1)[1].split())
        ctx = click.Context(command, info_name=path[-1] if path else "phony")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            whole = " ".join(sub.get_short_help_str(limit=10_000).split())
            assert f"{name} {whole}" in listing, f"phony {' '.join(path)}: {name} is cut"
            # click ends its first sentence at "... " too ("Serve SCHEMA... over HTTP").
            assert not whole.endswith("..."), f"phony {' '.join(path)}: {name} is cut"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_an_unknown_option_is_one_line_with_a_suggestion(
    path: tuple[str, ...], command: click.Command, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, *path, "--no-such-option-here")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("error: no such option: --no-such-option-here ")
    assert "--help'" in err or "did you mean" in err


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_a_misspelled_option_gets_the_right_one(
    path: tuple[str, ...], command: click.Command, capsys: pytest.CaptureFixture[str]
) -> None:
    long_options = [
        opt
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
        for opt in param.opts
        if opt.startswith("--") and len(opt) > 6 and opt != "--help"
    ]
    if not long_options:
        pytest.skip("no long option to misspell")
    option = long_options[0]
    typo = option[:-2] + option[-1] + option[-2]  # swap the last two letters
    if typo in long_options:
        pytest.skip("the swap is another option")
    code, _, err = _run(capsys, *path, typo)
    assert code == 2
    assert err.count("\n") == 1
    assert f"did you mean {option}" in err or f"or {option}" in err, err


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_bad_values_and_missing_arguments_never_show_a_traceback(
    path: tuple[str, ...], command: click.Command, capsys: pytest.CaptureFixture[str]
) -> None:
    if path and path[-1] in ("serve", "start"):
        pytest.skip("starts a server: covered by the subprocess checks below")
    # Each typed option given a value of the wrong kind, one at a time.
    for param in command.params:
        if not isinstance(param, click.Option) or param.is_flag or param.hidden:
            continue
        if not isinstance(param.type, click.types.IntParamType | click.types.FloatParamType):
            continue
        code, out, err = _run(capsys, *path, param.opts[0], "not-a-number")
        assert code == 2, (param.opts, err)
        assert err.count("\n") == 1, err
        assert "Traceback" not in err + out
    # No arguments at all: help (a group), a usage error, or a normal run.
    if not isinstance(command, click.Group):
        needed = [p for p in command.params if isinstance(p, click.Argument) and p.required]
        if needed:
            code, out, err = _run(capsys, *path)
            assert code == 2
            assert err.startswith("error: missing argument"), err
            assert err.count("\n") == 1


def test_a_command_added_by_a_plugin_is_walked_and_checked() -> None:
    """The walk is not a list: a command registered later is found, and held to the rules."""

    @click.command("zz-plugin-command")
    @click.option("--undocumented")
    def added(undocumented: str | None) -> None:
        """A command a plugin adds."""

    cli.add_command(added)
    try:
        found = dict(_all_commands())
        assert ("zz-plugin-command",) in found
        options = [p for p in found[("zz-plugin-command",)].params if isinstance(p, click.Option)]
        assert [o.help for o in options] == [None]  # what the help test would report
    finally:
        cli.commands.pop("zz-plugin-command")


def test_exit_codes_are_the_published_table() -> None:
    page = (DOCS / "cli.md").read_text("utf-8")
    for code, meaning in exit_codes():
        assert f"| {code} | {meaning} |" in page, f"docs/cli.md lacks exit code {code}"
    rows = re.findall(r"^\| (\d+) \|", page, flags=re.MULTILINE)
    assert sorted(map(int, rows)) == [code for code, _ in exit_codes()]


def _reference_sections() -> dict[str, str]:
    """docs/cli.md's option reference: the text under each ``### `phony ...` `` heading."""
    page = (DOCS / "cli.md").read_text("utf-8")
    parts = re.split(r"^### `phony ([a-z][a-z -]*?)(?: [A-Z\[].*)?`$", page, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].split("\n## ", 1)[0] for i in range(1, len(parts), 2)}


def test_the_reference_documents_every_command_and_option() -> None:
    sections = _reference_sections()
    leaves = {" ".join(path): c for path, c in COMMANDS if not isinstance(c, click.Group)}
    assert sorted(sections) == sorted(leaves), "docs/cli.md's commands are not phony's"
    for name, command in leaves.items():
        options = {
            opt
            for param in command.params
            if isinstance(param, click.Option) and not param.hidden
            for opt in (*param.opts, *param.secondary_opts)
            if opt.startswith("--")
        }
        documented = set(re.findall(r"`(?:-\w, )?(--[a-z][a-z0-9-]*)", sections[name]))
        assert options - documented == set(), f"docs/cli.md: phony {name} lacks options"
        assert documented - options == set(), f"docs/cli.md: phony {name} has no such options"


@pytest.mark.parametrize(
    ("argv", "code", "starts"),
    [
        ((), 0, "Usage: phony"),
        (("--help",), 0, "Usage: phony"),
        (("gnerate",), 2, "error: no such command: phony gnerate (did you mean 'phony generate'?)"),
        (("generate", "--cuont", "3"), 2, "error: no such option: --cuont (did you mean --count"),
        (("info", "no-such-file.phony"), 2, "error: no-such-file.phony: no such model file"),
        (("train", "no-such-file.txt"), 2, "error: no-such-file.txt: no such file"),
        (("registry", "serve", "--port", "x"), 2, "error: invalid value for '--port'"),
    ],
    ids=["bare", "help", "command", "option", "model", "source", "port"],
)
def test_as_a_subprocess(argv: tuple[str, ...], code: int, starts: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [*phony_command(), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    text = done.stdout if code == 0 else done.stderr
    assert text.startswith(starts), text
    if code:
        assert done.stderr.count("\n") == 1
        assert done.stdout == ""


def test_traceback_on_purpose(tmp_path: Path) -> None:
    bad = tmp_path / "bad.phony"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    plain = subprocess.run(
        [*phony_command(), "info", str(bad)], capture_output=True, text=True, check=False
    )
    assert plain.returncode == 4
    assert plain.stderr.startswith("error: ")
    assert plain.stderr.count("\n") == 1
    for argv, env in (
        (["--traceback", "info", str(bad)], {}),
        (["info", str(bad)], {"PHONY_DEBUG": "1"}),
    ):
        loud = subprocess.run(
            [*phony_command(), *argv],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env},
        )
        assert loud.returncode == 4
        assert loud.stderr.startswith("Traceback (most recent call last):")
        assert loud.stderr.endswith(plain.stderr)
