"""Every command in docs/ runs, as written, with the real `phony` CLI: the docs cannot drift.

The convention (also in docs/README.md, "How these pages are tested"):

- Fenced ``console`` blocks are run. A line ``$ command`` is a command (a
  line ending in ``\\`` continues on the next); the lines after it, up to the
  next command, are its expected output.
- Expected output lines must appear in the command's output (stdout and
  stderr interleaved, as on a terminal), in order; ``...`` inside a line
  matches anything, and a line that is only ``...`` stands for lines left out.
  A command whose expected output has a line starting with ``error:`` must
  fail; any other must exit 0.
- All blocks of one page run in order in one fresh folder, with their own
  ``PHONY_CONFIG_DIR`` and ``PHONY_CACHE_DIR``: a page is one session.
  ``export``, ``cd`` and shell variables carry over from one command to the next.
- A command ending in ``&`` runs in the background until the page ends; when
  it names a port (``--port N``, ``-p N``) the next command waits for it.
- Ports are placeholders: every ``127.0.0.1:N``, ``localhost:N``, ``--port N``
  and ``-p N`` of a page is given its own free port on 127.0.0.1, the same one
  throughout the page.
- A fenced block whose info string has ``file=NAME`` (```` ```toml file=people.toml ````)
  is written to NAME in the page's folder at that point: the file the page shows.
- ``<!-- test-setup ... -->`` comments hold ``$ command`` lines that run, at
  that point of the page, without being shown (creating a file to train on).
- A page that uses ``127.0.0.1:8000`` without starting a server gets one:
  ``phony registry serve --storage registry-data`` in the page's folder.
- Pages of the guide (:data:`GUIDE`) are always run; another page is run once
  it carries ``<!-- docs-test -->``, and skipped, saying so, until then.
- ``$EXAMPLES`` is the repository's ``examples/`` folder (for test-setup lines).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
#: The pages this suite guarantees; any other page of docs/ is run too.
GUIDE = (
    "README.md",
    "getting-started.md",
    "training.md",
    "generating.md",
    "cache.md",
    "publishing.md",
    "registry.md",
    "configuration.md",
    "python.md",
)
_FENCE = re.compile(r"^```console[^\n]*\n(.*?)^```", re.M | re.S)
_FILE = re.compile(r"^```[\w+-]*[ \t]+file=([\w./-]+)[^\n]*\n(.*?)^```", re.M | re.S)
_SETUP = re.compile(r"<!--\s*test-setup\s*\n(.*?)-->", re.S)
_PORTS = re.compile(r"(?:127\.0\.0\.1:|localhost:|--port[ =]|(?<!\S)-p )(\d{2,5})\b")
_DEFAULT_SERVER = "127.0.0.1:8000"
#: A page outside the guide opts in to being run with this comment.
OPT_IN = "<!-- docs-test -->"
# Variables bash manages itself: never carried from one command to the next.
_BASH_OWN = (
    "^(BASH[A-Z_]*|_|__rc|FUNCNAME|GROUPS|PIPESTATUS|DIRSTACK|PPID|UID|EUID|SHELLOPTS|RANDOM|"
    "SRANDOM|SECONDS|LINENO|HISTCMD|OPTIND|OPTERR|EPOCHREALTIME|EPOCHSECONDS|SHLVL|PWD|OLDPWD|"
    "COLUMNS|LINES)$"
)


@dataclass
class Command:
    """One ``$`` command of a page, with the output the page shows for it."""

    line: int
    text: str
    expected: list[str] = field(default_factory=list)
    hidden: bool = False
    #: For a ``file=NAME`` block: (NAME, content) to write instead of running anything.
    file: tuple[str, str] | None = None

    @property
    def background(self) -> bool:
        """True for ``command &``."""
        return self.text.rstrip().endswith("&") and not self.text.rstrip().endswith("&&")

    @property
    def should_fail(self) -> bool:
        """The page shows this command failing (an ``error:`` line in its output)."""
        return any(line.startswith("error:") for line in self.expected)


def parse_commands(text: str) -> list[Command]:
    """The commands of a page, in order: console blocks and test-setup comments."""
    spans = [(m.start(), m.group(1), False) for m in _FENCE.finditer(text)]
    spans += [(m.start(), m.group(1), True) for m in _SETUP.finditer(text)]
    commands: list[Command] = []
    files = {m.start(): (m.group(1), m.group(2)) for m in _FILE.finditer(text)}
    spans += [(start, "", False) for start in files]
    for start, body, hidden in sorted(spans):
        if start in files:
            line = text.count("\n", 0, start) + 1
            commands.append(Command(line, f"(write {files[start][0]})", file=files[start]))
            continue
        first_line = text.count("\n", 0, start) + 2
        current: Command | None = None
        continued = False
        for offset, raw in enumerate(body.splitlines()):
            if continued and current is not None:
                current.text += "\n" + raw
                continued = raw.endswith("\\")
            elif raw.startswith("$ "):
                current = Command(first_line + offset, raw[2:], hidden=hidden)
                commands.append(current)
                continued = raw.endswith("\\")
            elif current is not None and raw.strip():
                current.expected.append(raw)
    return commands


def _line_matches(pattern: str, line: str) -> bool:
    parts = [re.escape(part) for part in pattern.strip().split("...")]
    return re.fullmatch(r"\s*" + ".*?".join(parts) + r"\s*", line) is not None


def missing_lines(expected: list[str], output: str) -> list[str]:
    """Expected lines not found, in order, in ``output`` (``...`` is a wildcard)."""
    lines = output.splitlines()
    position = 0
    missing = []
    for pattern in expected:
        if pattern.strip() == "...":
            continue
        for index in range(position, len(lines)):
            if _line_matches(pattern, lines[index]):
                position = index + 1
                break
        else:
            missing.append(pattern)
    return missing


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"background command exited early:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after 30 s:\n{log.read_text()}")


class PageSession:
    """One page's folder, environment and background processes."""

    def __init__(self, folder: Path, ports: dict[str, int]) -> None:
        self.folder = folder
        self.ports = ports
        self.state = folder.parent / f"{folder.name}.state"
        self.state.write_text(f"cd {shlex.quote(str(folder))}\n")
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PHONY_")},
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "PHONY_CONFIG_DIR": str(folder.parent / "config"),
            "PHONY_CACHE_DIR": str(folder.parent / "cache"),
            "PHONY_LOAD_PLUGINS": os.environ.get("PHONY_LOAD_PLUGINS", ""),
            "HOME": str(folder.parent / "home"),
            "NO_COLOR": "1",
            # Unbuffered, so stdout and stderr interleave as on a terminal.
            "PYTHONUNBUFFERED": "1",
            # For test-setup lines that copy the repository's example data.
            "EXAMPLES": str(ROOT / "examples"),
            "COLUMNS": "100",
        }
        self.background: list[tuple[subprocess.Popen[bytes], Path]] = []

    def substitute(self, text: str) -> str:
        """Give the page's placeholder ports their real, free numbers."""
        return _PORTS.sub(
            lambda m: m.group(0)[: -len(m.group(1))] + str(self.ports[m.group(1)]), text
        )

    def script(self, command: str) -> str:
        """A bash script running ``command`` with the state the page built so far."""
        state = shlex.quote(str(self.state))
        return (
            f"source {state}\n{command}\n__rc=$?\n"
            f"{{ declare -p $(compgen -v | grep -Ev '{_BASH_OWN}') 2>/dev/null; "
            f'echo "cd $(printf %q "$PWD")"; }} > {state}\n'
            "exit $__rc\n"
        )

    def run(self, command: Command) -> subprocess.CompletedProcess[str]:
        """Run one foreground command through bash."""
        return subprocess.run(
            ["bash", "-c", self.script(self.substitute(command.text))],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            cwd=self.folder,
            timeout=180,
            check=False,
        )

    def start(self, command: Command) -> None:
        """Start a background command and wait for the port it names."""
        text = self.substitute(command.text.rstrip().rstrip("&"))
        log = self.folder.parent / f"background-{len(self.background)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                ["bash", "-c", f"source {shlex.quote(str(self.state))}\nexec {text}"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.folder,
                start_new_session=True,
            )
        self.background.append((process, log))
        port = re.search(r"(?:--port[ =]|(?<!\S)-p )(\d+)", text)
        if port:
            _wait_for_port(int(port.group(1)), process, log)

    def close(self) -> None:
        """Stop every background process of the page (their whole process group)."""
        for process, _log in self.background:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def _pages() -> list[str]:
    found = sorted(p.name for p in DOCS.glob("*.md")) if DOCS.is_dir() else []
    return sorted(set(found) | set(GUIDE))


@pytest.fixture
def page_session(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PageSession]:
    """A fresh folder and environment for one page, with free ports for its placeholders."""
    path = DOCS / request.param
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    ports = {number: free_port() for number in sorted(set(_PORTS.findall(text)))}
    folder = tmp_path / "work"
    folder.mkdir()
    (tmp_path / "home").mkdir()
    session = PageSession(folder, ports)
    try:
        yield session
    finally:
        session.close()


@pytest.mark.parametrize("page_session", _pages(), indirect=True, ids=lambda name: name)
def test_every_command_of_the_page_runs(
    page_session: PageSession, request: pytest.FixtureRequest
) -> None:
    name = request.node.callspec.params["page_session"]
    path = DOCS / name
    assert path.exists(), f"docs/{name} is part of the guide and is missing"
    text = path.read_text(encoding="utf-8")
    commands = parse_commands(text)
    if name in GUIDE:
        assert commands or name == "README.md", f"docs/{name} shows no command to run"
    elif not commands:
        pytest.skip(f"docs/{name} has no console block")
    elif OPT_IN not in text:
        pytest.skip(
            f"docs/{name} has console blocks but has not opted in to being run "
            f"(add {OPT_IN} once they run as written; see docs/README.md)"
        )
    if not commands:
        pytest.skip(f"docs/{name} is an index with no command")
    if _DEFAULT_SERVER in text and not any(
        c.background and "registry serve" in c.text for c in commands
    ):
        page_session.start(
            Command(0, "phony registry serve --storage registry-data --port 8000 &", hidden=True)
        )
    for command in commands:
        where = f"docs/{name}:{command.line}: $ {command.text}"
        if command.file is not None:
            target = page_session.folder / command.file[0]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page_session.substitute(command.file[1]), encoding="utf-8")
            continue
        if command.background:
            page_session.start(command)
            continue
        result = page_session.run(command)
        output = result.stdout
        if command.should_fail:
            assert result.returncode != 0, f"{where}\nshould fail but exited 0:\n{output}"
        else:
            assert result.returncode == 0, f"{where}\nexited {result.returncode}:\n{output}"
        expected = [page_session.substitute(line) for line in command.expected]
        missing = missing_lines(expected, output)
        assert not missing, f"{where}\nexpected lines not in the output: {missing}\n{output}"


@pytest.mark.parametrize(
    ("expected", "output", "missing"),
    [
        (["published ...@1.0.0 sha256:..."], "published a/b@1.0.0 sha256:12\n", []),
        (["one", "...", "three"], "one\ntwo\nthree\n", []),
        (["three", "one"], "one\ntwo\nthree\n", ["one"]),
        (["two"], "one\n", ["two"]),
    ],
    ids=["wildcard", "elision", "order-matters", "absent"],
)
def test_expected_output_matching(expected: list[str], output: str, missing: list[str]) -> None:
    assert missing_lines(expected, output) == missing


def test_commands_are_parsed_from_console_blocks_and_setup_comments() -> None:
    page = (
        "Intro\n\n<!-- test-setup\n$ printf 'a\\nb\\n' > names.txt\n-->\n\n"
        "```console\n$ phony train names.txt \\\n    -o names.phony\nwrote names.phony\n"
        "$ phony generate nope\nerror: no such model\n```\n\n```sh\n$ not run\n```\n"
        "```toml file=s.toml\n[columns.a]\n```\n"
    )
    commands = parse_commands(page)
    assert [c.text for c in commands] == [
        "printf 'a\\nb\\n' > names.txt",
        "phony train names.txt \\\n    -o names.phony",
        "phony generate nope",
        "(write s.toml)",
    ]
    assert commands[3].file == ("s.toml", "[columns.a]\n")
    assert [c.hidden for c in commands] == [True, False, False, False]
    assert commands[1].expected == ["wrote names.phony"]
    assert commands[2].should_fail
    assert commands[1].line == 8


def test_configuration_lists_every_environment_variable() -> None:
    code = [
        *ROOT.glob("phony_registry/*.py"),
        *ROOT.glob("client/**/*.py"),
        *ROOT.glob("server/*.py"),
    ]
    variable = re.compile(r"[\"'](PHONY_[A-Z0-9_]*[A-Z0-9])[\"']")
    used: set[str] = set()
    for path in code:
        used |= set(variable.findall(path.read_text(encoding="utf-8")))
    assert {"PHONY_CACHE_DIR", "PHONY_TOKEN", "PHONY_S3_BUCKET"} <= used
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    undocumented = sorted(name for name in used if f"`{name}`" not in page)
    assert not undocumented, f"docs/configuration.md does not list {undocumented}"
