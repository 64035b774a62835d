"""Plugins that misbehave in ways other than raising, run as a user runs phony.

Each plugin is a module in a folder on PYTHONPATH with an installed-looking
distribution, loaded alone through ``PHONY_LOAD_PLUGINS``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from phony_registry.generators import GeneratorFactory
from phony_registry.hookspecs import LocaleSource, SchemaSource, hookimpl
from phony_registry.outputs import CSV, OutputFormat
from phony_registry.plugins import load_plugins
from tests.conftest import phony_command
from tests.e2e.conftest import free_port, spawn, stop, wait_until_up
from tests.plugins.conftest import plugin_env

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]

CHATTY = """
from phony_registry.generators import GeneratorFactory
from phony_registry.hookspecs import hookimpl
from phony_registry.outputs import OutputFormat

print("chatty: imported")


class Constant:
    requires = ()

    def generate(self, n, stream, inputs):
        print("chatty: generating", n)
        return ["v"] * n


class Writer:
    def __init__(self, stream, names, options):
        print("chatty: opening")
        self.stream = stream

    def write(self, columns):
        print("chatty: writing")
        self.stream.write("".join(f"{v}\\n" for v in columns[0]).encode())

    def close(self):
        print("chatty: closing")


@hookimpl
def phony_register_generators(register):
    print("chatty: registering")
    register(GeneratorFactory(name="chatty", description="v", build=lambda a, c: Constant()))


@hookimpl
def phony_register_formats(register):
    register(OutputFormat(name="lines", extension="txt", description="lines", open=Writer))
"""


def _site(tmp_path: Path, name: str, source: str) -> dict[str, str]:
    return plugin_env(tmp_path, name, {f"{name.replace('-', '_')}.py": source})


def test_a_plugin_printing_never_mixes_into_the_data_on_stdout(
    run_phony: Run, tmp_path: Path
) -> None:
    env = _site(tmp_path, "phony-chatty", CHATTY)
    result = run_phony(
        "generate", "--column", "x=chatty", "--column", "y=choice:values=['a']", "-n", "3",
        "--seed", "1", "--format", "csv", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "x,y\nv,a\nv,a\nv,a\n"
    assert "chatty: generating" in result.stderr  # moved, not lost
    loading = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert loading == [
        "warning: plugin phony-chatty 1.0 wrote to stdout while loading, which holds phony's "
        "output: moved to stderr: chatty: imported / chatty: registering"
    ]
    assert "Traceback" not in result.stderr


def test_a_plugin_format_printing_leaves_only_its_rows_on_stdout(
    run_phony: Run, tmp_path: Path
) -> None:
    env = _site(tmp_path, "phony-chatty", CHATTY)
    result = run_phony(
        "generate", "--column", "x=choice:values=['a']", "-n", "2", "--format", "lines", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a\na\n"
    assert "chatty: writing" in result.stderr


FAULTY = """
from phony_registry.generators import GeneratorFactory
from phony_registry.hookspecs import hookimpl


class Faulty:
    requires = ()

    def generate(self, n, stream, inputs):
        raise ArithmeticError("injected")


@hookimpl
def phony_register_generators(register):
    register(GeneratorFactory(name="faulty", description="f", build=lambda a, c: Faulty()))
"""


def test_a_plugin_fault_in_the_mock_server_is_a_json_500_naming_the_plugin(
    tmp_path: Path,
) -> None:
    pytest.importorskip("uvicorn")
    env = {**os.environ, **_site(tmp_path, "phony-faulty", FAULTY)}
    schema = tmp_path / "things.toml"
    schema.write_text('[columns.x]\ntype = "faulty"\n')
    port = free_port()
    args = ["mock", "start", str(schema), "--host", "127.0.0.1", "--port", str(port)]
    process, log = spawn([*phony_command(), *args], env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/openapi.json", process, log)
        for path in ("/things/2", "/things"):
            answer = httpx.get(url + path)
            assert answer.status_code == 500
            assert answer.json() == {
                "error": "plugin_fault",
                "detail": "plugin phony-faulty 1.0: generator 'faulty' (generate) failed: "
                "ArithmeticError: injected (a bug in the plugin: PHONY_DEBUG=1 shows the "
                "traceback)",
            }
    finally:
        printed = stop(process, log)
    assert "Traceback" not in printed
    assert "plugin phony-faulty 1.0: generator 'faulty' (generate) failed" in printed


SLOW = """
import time

from phony_registry.hookspecs import hookimpl

time.sleep(1.5)  # as a plugin importing pandas at module level


@hookimpl
def phony_register_formats(register):
    pass
"""


def test_a_plugin_slow_to_import_is_named_on_every_command(run_phony: Run, tmp_path: Path) -> None:
    env = _site(tmp_path, "phony-slow", SLOW)
    result = run_phony("generate", "--column", "x=choice:values=['a']", "-n", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a\n"
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert line.startswith("warning: plugin phony-slow 1.0 took 1.")
    assert line.endswith(
        " s to import, on every phony command: import heavy modules inside the functions "
        "that use them"
    )


def _returns(value: object) -> ModuleType:
    module = ModuleType("phony_returns")

    def phony_register_formats(register: Callable[[OutputFormat], None]) -> object:
        return value

    module.phony_register_formats = hookimpl(phony_register_formats)  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param([OutputFormat("tsv", "tsv", "t", CSV.open)], "a list", id="list"),
        pytest.param(OutputFormat("tsv", "tsv", "t", CSV.open), "an OutputFormat", id="object"),
    ],
)
def test_a_registration_hook_returning_instead_of_registering_fails_to_load(
    value: object, shown: str
) -> None:
    plugins = load_plugins({"returns": _returns(value)}, commands=False)
    assert "returns" not in plugins.plugins
    assert plugins.failures["returns"] == (
        f"phony_register_formats returned {shown} instead of calling register(...) once per format"
    )
    assert "tsv" not in plugins.formats


NOT_A_WRITER = """
from phony_registry.hookspecs import hookimpl
from phony_registry.outputs import OutputFormat


def open_nothing(stream, names, options):
    stream.write(b"header\\n")  # and forgets to return the writer


@hookimpl
def phony_register_formats(register):
    register(OutputFormat(name="nothing", extension="txt", description="n", open=open_nothing))
"""


def test_a_format_whose_open_returns_no_writer_is_the_plugins_fault(
    run_phony: Run, tmp_path: Path
) -> None:
    env = _site(tmp_path, "phony-nothing", NOT_A_WRITER)
    target = tmp_path / "out.txt"
    result = run_phony("generate", "--column", "x=choice:values=['a']", "-n", "2",
                       "--format", "nothing", "-o", str(target), env=env)  # fmt: skip
    assert result.returncode == 14, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: plugin phony-nothing 1.0: format 'nothing' (open) failed: TypeError: "
        "returned None, not a writer with write() and close() (a bug in the plugin: "
        "PHONY_DEBUG=1 shows the traceback)"
    )
    assert not target.exists()


def _registers(hook: str, obj: object) -> ModuleType:
    module = ModuleType("phony_registers")

    def register_it(register: Callable[[object], None]) -> None:
        register(obj)

    register_it.__name__ = hook
    setattr(module, hook, hookimpl(register_it))
    return module


def _assert_fails_to_load(hook: str, obj: object, reason: str) -> None:
    """A plugin whose ``hook`` registers ``obj`` is not loaded, and ``reason`` says why."""
    plugins = load_plugins({"registers": _registers(hook, obj)}, commands=False)
    assert "registers" not in plugins.plugins
    assert plugins.failures["registers"] == reason


@pytest.mark.parametrize(
    ("hook", "obj", "reason"),
    [
        pytest.param(
            "phony_register_schemas",
            SchemaSource(name="ghost", path=Path("/nonexistent/ghost.toml")),
            "phony_register_schemas registered schema 'ghost' from /nonexistent/ghost.toml, "
            "which is not a file (is it in the distribution's package data?)",
            id="schema",
        ),
        pytest.param(
            "phony_register_locales",
            LocaleSource(locale="yy_YY", path=Path("/nonexistent/registry")),
            "phony_register_locales registered locale 'yy_YY' from /nonexistent/registry, "
            "which is not a folder (is it in the distribution's package data?)",
            id="locale",
        ),
    ],
)
def test_a_schema_or_pack_whose_file_is_missing_fails_to_load(
    hook: str, obj: object, reason: str
) -> None:
    _assert_fails_to_load(hook, obj, reason)


@pytest.mark.parametrize(
    ("hook", "obj", "reason"),
    [
        pytest.param(
            "phony_register_formats",
            OutputFormat("", "txt", "t", CSV.open),
            "phony_register_formats registered format '', which is not a name "
            "(letters, digits, '_', '-', '.')",
            id="empty-format",
        ),
        pytest.param(
            "phony_register_generators",
            GeneratorFactory(name="iban:de", description="d", build=lambda a, c: None),
            "phony_register_generators registered generator 'iban:de', which is not a name "
            "(letters, digits, '_', '-', '.')",
            id="generator-with-colon",
        ),
        pytest.param(
            "phony_register_formats",
            OutputFormat("dotted", ".tsv", "t", CSV.open),
            "phony_register_formats registered format 'dotted' with the extension '.tsv', "
            "which is not an extension without its dot (tsv)",
            id="extension-with-its-dot",
        ),
        pytest.param(
            "phony_register_locales",
            LocaleSource(locale="tr-TR", path=Path(__file__).parent),
            "phony_register_locales registered locale 'tr-TR', which is an official locale "
            "(phony's bundled index has it): its names are signed by phony's official key "
            "only, so a plugin cannot ship them",
            id="an-official-locale",
        ),
        pytest.param(
            "phony_register_locales",
            LocaleSource(locale="german", path=Path(__file__).parent),
            "phony_register_locales registered locale 'german', which is not a locale "
            "such as de_DE",
            id="not-a-locale",
        ),
    ],
)
def test_a_name_no_one_could_use_fails_to_load(hook: str, obj: object, reason: str) -> None:
    _assert_fails_to_load(hook, obj, reason)


REQUIRES_TEXT = """
from phony_registry.generators import GeneratorFactory
from phony_registry.hookspecs import hookimpl


class Upper:
    requires = "first"  # meant ("first",)

    def generate(self, n, stream, inputs):
        return [v.upper() for v in inputs["first"]]


@hookimpl
def phony_register_generators(register):
    register(GeneratorFactory(name="upper", description="u", build=lambda a, c: Upper()))
"""


def test_requires_given_as_one_string_is_the_plugins_fault(run_phony: Run, tmp_path: Path) -> None:
    env = _site(tmp_path, "phony-upper", REQUIRES_TEXT)
    result = run_phony("generate", "--column", "first=choice:values=['a']", "--column",
                       "x=upper", "-n", "2", "--format", "csv", env=env)  # fmt: skip
    assert result.returncode == 14, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: plugin phony-upper 1.0: generator 'upper' (requires) failed: TypeError: "
        "requires is the string 'first', not a sequence of column names (a bug in the "
        "plugin: PHONY_DEBUG=1 shows the traceback)"
    )


SHADOW = """
from phony_registry.hookspecs import hookimpl
from phony_registry.outputs import CSV, OutputFormat


@hookimpl
def phony_register_formats(register):
    register(OutputFormat(name="shadow", extension="txt", description="s", open=CSV.open))
"""


def test_an_entry_point_named_as_one_of_phonys_own_plugins_never_replaces_it(
    run_phony: Run, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    dist_info = site / "aaa_shadow-1.0.dist-info"  # sorts before phony's own on sys.path
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: aaa-shadow\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[phony]\nmock = aaa_shadow\n")
    (site / "aaa_shadow.py").write_text(SHADOW)
    env = {"PYTHONPATH": str(site), "PHONY_LOAD_PLUGINS": "aaa-shadow"}
    listing = run_phony("plugins", "--json", env=env)
    assert listing.returncode == 11
    document = json.loads(listing.stdout)
    mock = [p for p in document["plugins"] if p["name"] == "mock"]
    assert [p["distribution"] for p in mock] == ["phony"]
    assert [(f["name"], f["error"]) for f in document["failures"]] == [
        ("aaa-shadow", "entry point 'mock' has the name of phony's own plugin 'mock': rename it")
    ]
    assert run_phony("mock", "--help", env=env).returncode == 0


def _never(*args: object) -> None:
    return None


@pytest.mark.parametrize(
    ("hook", "obj", "reason"),
    [
        pytest.param(
            "phony_register_generators",
            GeneratorFactory(name="g", description="d", build=_never, arguments=["a"]),  # type: ignore[arg-type]
            "phony_register_generators registered generator 'g' whose arguments is ['a'], "
            "not a mapping of str to str",
            id="arguments-as-a-list",
        ),
        pytest.param(
            "phony_register_formats",
            OutputFormat("f", "txt", "d", CSV.open, options=["x"]),  # type: ignore[arg-type]
            "phony_register_formats registered format 'f' whose options is ['x'], "
            "not a mapping of str to str",
            id="options-as-a-list",
        ),
        pytest.param(
            "phony_register_formats",
            OutputFormat("f", "txt", None, CSV.open),  # type: ignore[arg-type]
            "phony_register_formats registered format 'f' whose description is None, not a str",
            id="no-description",
        ),
        pytest.param(
            "phony_register_generators",
            GeneratorFactory(name="g", description="d", build="build"),  # type: ignore[arg-type]
            "phony_register_generators registered generator 'g' whose build is 'build', "
            "not a function",
            id="build-not-callable",
        ),
    ],
)
def test_a_field_of_the_wrong_type_fails_to_load(hook: str, obj: object, reason: str) -> None:
    _assert_fails_to_load(hook, obj, reason)


RESOLVER = """
import os
from pathlib import Path

from phony_registry.hookspecs import hookimpl


@hookimpl
def phony_resolve_model(spec):
    if spec.startswith("acme/"):
        return {"int": 42, "missing": Path("/nonexistent/names.phony")}[os.environ["ANSWER"]]
    return None
"""


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("int", "TypeError: returned 42, not the path of a .phony file"),
        (
            "missing",
            "FileNotFoundError: returned /nonexistent/names.phony, which is not a file",
        ),
    ],
)
def test_a_model_lookup_answering_no_file_is_the_plugins_fault(
    run_phony: Run, tmp_path: Path, answer: str, problem: str
) -> None:
    env = {**_site(tmp_path, "phony-resolver", RESOLVER), "ANSWER": answer}
    result = run_phony("generate", "acme/names", "-n", "2", "--seed", "1", env=env)
    assert result.returncode == 14, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: plugin phony-resolver 1.0: hook phony_resolve_model failed: {problem} "
        "(a bug in the plugin: PHONY_DEBUG=1 shows the traceback)"
    )


def test_phony_plugins_list_is_phony_plugins(run_phony: Run) -> None:
    env = {"PHONY_LOAD_PLUGINS": ""}
    listed = run_phony("plugins", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == run_phony("plugins", "--json", env=env).stdout
    assert run_phony("plugins", "list", env=env).stdout == run_phony("plugins", env=env).stdout


NOT_A_COMMAND = """
from phony_registry.hookspecs import hookimpl


def weird():
    print("weird")


@hookimpl
def phony_register_commands(cli):
    cli.add_command(weird, "weird")  # a function, not a click command
"""


def test_a_command_that_is_not_a_click_command_fails_to_load(
    run_phony: Run, tmp_path: Path
) -> None:
    env = _site(tmp_path, "phony-weird", NOT_A_COMMAND)
    reason = (
        "warning: plugin phony-weird 1.0 failed to load: phony_register_commands added "
        "'weird', which is a function, not a click command"
    )
    helped = run_phony("--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert reason in helped.stderr.splitlines()
    assert "Traceback" not in helped.stderr
    listing = run_phony("plugins", env=env)
    assert listing.returncode == 11
    assert "phony-weird FAILED: phony_register_commands added 'weird'" in listing.stdout


def test_a_model_lookup_wrapper_still_wraps(tmp_path: Path) -> None:
    model = tmp_path / "names.phony"
    model.write_bytes(b"")
    seen: list[str] = []
    module = ModuleType("phony_wrapper")

    def phony_resolve_model(spec: str) -> object:
        seen.append(spec)
        return (yield)

    module.phony_resolve_model = hookimpl(wrapper=True)(phony_resolve_model)  # type: ignore[attr-defined]
    finder = ModuleType("phony_finder")
    finder.phony_resolve_model = hookimpl(lambda spec: model)  # type: ignore[attr-defined]
    plugins = load_plugins({"finder": finder, "wrapper": module}, commands=False)
    assert plugins.failures == {}
    assert plugins.manager.hook.phony_resolve_model(spec="acme/names") == model
    assert seen == ["acme/names"]


def test_a_registration_hook_written_as_a_wrapper_is_named_as_such() -> None:
    module = ModuleType("phony_wraps")

    def phony_register_formats(register: Callable[[OutputFormat], None]) -> object:
        register(OutputFormat("tsv", "tsv", "t", CSV.open))
        return (yield)

    module.phony_register_formats = hookimpl(wrapper=True)(phony_register_formats)  # type: ignore[attr-defined]
    plugins = load_plugins({"wraps": module}, commands=False)
    assert plugins.failures["wraps"] == (
        "phony_register_formats is a hook wrapper (wrapper=True), which phony never "
        "calls: make it a plain @hookimpl that calls register(...)"
    )
