"""The plugin manager: hooks documented, broken plugins isolated, duplicates named."""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from phony_registry import hookspecs, plugins
from phony_registry.errors import DuplicateRegistration, UsageError
from phony_registry.generators import GeneratorFactory
from phony_registry.hookspecs import hookimpl
from phony_registry.outputs import CSV, OutputFormat
from phony_registry.plugins import EntryPoint, load_plugins

SPECS = [name for name, fn in vars(hookspecs).items() if name.startswith("phony_") and callable(fn)]


def _format(name: str) -> OutputFormat:
    return OutputFormat(name, name, f"the {name} format", CSV.open)


def _plugin(**hooks: Callable[..., Any]) -> ModuleType:
    """A plugin module built on the spot, as an entry point would load it."""
    module = ModuleType("test_plugin")
    for name, fn in hooks.items():
        setattr(module, name, hookimpl(fn))
    return module


def test_there_are_hooks_for_generators_formats_locales_and_commands() -> None:
    assert {
        "phony_register_generators",
        "phony_register_formats",
        "phony_register_locales",
        "phony_register_commands",
    } <= set(SPECS)


@pytest.mark.parametrize("name", SPECS)
def test_every_hook_is_documented_and_typed(name: str) -> None:
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    assert len(doc) > 60, f"{name} needs a docstring saying what it does"
    signature = inspect.signature(fn)
    assert signature.return_annotation != inspect.Signature.empty
    for parameter in signature.parameters.values():
        assert parameter.annotation != inspect.Parameter.empty, parameter.name


@pytest.mark.parametrize("name", SPECS)
def test_every_hook_has_a_section_in_the_plugin_guide(name: str) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text("utf-8")
    assert f"### `{name}(" in guide, f"docs/plugins.md has no section for {name}"
    parameters = inspect.signature(getattr(hookspecs, name)).parameters
    heading = next(line for line in guide.splitlines() if line.startswith(f"### `{name}("))
    assert all(parameter in heading for parameter in parameters), heading


def test_single_answer_hook_is_firstresult() -> None:
    assert hookspecs.phony_resolve_model.phony_spec["firstresult"] is True  # type: ignore[attr-defined]
    assert not hookspecs.phony_register_formats.phony_spec["firstresult"]  # type: ignore[attr-defined]


def test_builtins_register_through_the_hooks() -> None:
    loaded = load_plugins()
    assert loaded.failures == {}
    builtin = loaded.plugins["phony"]
    assert builtin.distribution == "phony"
    assert "phony_register_formats" in builtin.hooks
    assert set(builtin.registered["formats"]) == {
        "txt",
        "csv",
        "jsonl",
        "json",
        "sql",
        "parquet",
        "arrow",
    }
    assert {"ngram", "template", "email", "sequence", "integer", "number", "choice", "date"} <= set(
        builtin.registered["generators"]
    )
    assert loaded.provider("formats", "sql") == "phony"


def test_a_plugin_registers_a_format() -> None:
    def phony_register_formats(register: Callable[[OutputFormat], None]) -> None:
        register(_format("tsv2"))

    loaded = load_plugins({"my-plugin": _plugin(phony_register_formats=phony_register_formats)})
    assert loaded.format("tsv2").description == "the tsv2 format"
    assert loaded.provider("formats", "tsv2") == "my-plugin"
    assert loaded.plugins["my-plugin"].registered == {"formats": ["tsv2"]}


def test_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(
        UsageError, match=r"unknown format 'xlsx' \(available: arrow, csv, json, jsonl"
    ):
        load_plugins().format("xlsx")


def test_two_plugins_registering_one_name_is_an_error_naming_both() -> None:
    def one(register: Callable[[OutputFormat], None]) -> None:
        register(_format("parquet"))

    loaded = load_plugins(
        {
            "alpha": _plugin(phony_register_formats=one),
            "beta": _plugin(phony_register_formats=one),
        }
    )
    with pytest.raises(DuplicateRegistration, match="'alpha' and 'beta'") as info:
        loaded.format("parquet")
    assert info.value.plugin == "beta"
    # everything else still works
    assert loaded.format("csv").name == "csv"


def test_a_plugin_overriding_a_builtin_is_a_duplicate() -> None:
    def csv_again(register: Callable[[OutputFormat], None]) -> None:
        register(_format("csv"))

    loaded = load_plugins({"shadow": _plugin(phony_register_formats=csv_again)})
    with pytest.raises(DuplicateRegistration, match="'phony' and 'shadow'"):
        loaded.format("csv")


def test_a_plugin_raising_at_registration_is_reported_and_left_out() -> None:
    def boom(register: Callable[[OutputFormat], None]) -> None:
        register(_format("half"))
        raise RuntimeError("no config")

    loaded = load_plugins({"broken": _plugin(phony_register_formats=boom)})
    assert "no config" in loaded.failures["broken"]
    assert "half" not in loaded.formats
    assert loaded.format("csv").name == "csv"


def test_a_plugin_failing_in_one_hook_is_left_out_as_a_whole() -> None:
    def formats(register: Callable[[OutputFormat], None]) -> None:
        register(_format("fine-format"))

    def generators(register: Callable[[Any], None]) -> None:
        raise RuntimeError("half broken")

    loaded = load_plugins(
        {"half": _plugin(phony_register_formats=formats, phony_register_generators=generators)}
    )
    assert "half broken" in loaded.failures["half"]
    assert "fine-format" not in loaded.formats
    assert "half" not in loaded.plugins
    assert not loaded.manager.has_plugin("half")


def test_registering_the_wrong_object_is_reported() -> None:
    def wrong(register: Callable[[Any], None]) -> None:
        register("csv")

    loaded = load_plugins({"confused": _plugin(phony_register_generators=wrong)})
    assert "expected GeneratorFactory" in loaded.failures["confused"]


def test_a_misspelled_hook_is_caught_by_check_pending() -> None:
    def phony_register_format(register: Callable[[OutputFormat], None]) -> None:
        register(_format("typo"))

    good = _plugin(phony_register_formats=lambda register: register(_format("fine")))
    loaded = load_plugins(
        {"typo-plugin": _plugin(phony_register_format=phony_register_format), "good": good}
    )
    assert "did you mean phony_register_formats" in loaded.failures["typo-plugin"]
    assert "typo-plugin" not in loaded.plugins
    assert loaded.format("fine")


def test_a_hook_with_wrong_arguments_is_reported() -> None:
    def phony_register_formats(registry: Any) -> None:
        pass

    loaded = load_plugins({"badargs": _plugin(phony_register_formats=phony_register_formats)})
    assert "registry" in loaded.failures["badargs"]


def test_a_plugin_with_no_hook_is_reported() -> None:
    loaded = load_plugins({"empty": ModuleType("empty")})
    assert "implements no phony hook" in loaded.failures["empty"]
    assert "empty" not in loaded.plugins


def test_a_hook_without_hookimpl_is_reported() -> None:
    plugin = SimpleNamespace(phony_register_formats=lambda register: None)
    loaded = load_plugins({"unmarked": plugin})
    assert "not marked with @hookimpl" in loaded.failures["unmarked"]


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, *eps: EntryPoint) -> None:
    real = plugins.entry_points

    def fake(group: str = "phony") -> list[EntryPoint]:
        return [*real(group), *eps]

    monkeypatch.setattr(plugins, "entry_points", fake)


@pytest.mark.parametrize("group", ["phony", "console_scripts", "pytest11"])
def test_entry_points_agree_with_importlib_metadata(group: str) -> None:
    ours = sorted((e.name, e.value, e.distribution, e.version) for e in plugins.entry_points(group))
    reference = sorted(
        (e.name, e.value, e.dist.name if e.dist else "", e.dist.version if e.dist else "")
        for e in importlib.metadata.entry_points(group=group)
    )
    assert ours == reference
    if group == "phony":
        assert ("builtin", "phony_registry.builtins") in [(n, v) for n, v, _, _ in ours]


def test_a_plugin_that_fails_to_import_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHONY_LOAD_PLUGINS")
    _fake_entry_points(monkeypatch, EntryPoint("ghost", "no_such_module_xyz", "ghost", "1.0"))
    loaded = load_plugins()
    assert "ModuleNotFoundError" in loaded.failures["ghost"]
    assert loaded.format("csv").name == "csv"


@pytest.mark.parametrize(
    ("allow", "loaded_names"),
    [
        # phony's own entry points (the built-ins, the client's cache lookup,
        # `mock` and `registry` from the server package) always load.
        pytest.param("", {"phony", "client", "mock", "registry"}, id="empty-loads-builtins-only"),
        pytest.param("other", {"phony", "client", "mock", "registry"}, id="not-listed"),
        pytest.param(
            "ghost_plugin",
            {"phony", "client", "mock", "registry", "ghost-plugin"},
            id="underscore-spelling",
        ),
        pytest.param(
            "Ghost-Plugin, other",
            {"phony", "client", "mock", "registry", "ghost-plugin"},
            id="listed",
        ),
    ],
)
def test_phony_load_plugins_limits_what_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, allow: str, loaded_names: set[str]
) -> None:
    (tmp_path / "ghost_plugin_module.py").write_text(
        "from phony_registry.hookspecs import hookimpl\n"
        "from phony_registry.outputs import CSV, OutputFormat\n"
        "@hookimpl\n"
        "def phony_register_formats(register):\n"
        "    register(OutputFormat('ghost', 'gh', 'a ghost', CSV.open))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_entry_points(
        monkeypatch, EntryPoint("ghost-plugin", "ghost_plugin_module", "ghost-plugin", "1.0")
    )
    monkeypatch.setenv("PHONY_LOAD_PLUGINS", allow)
    loaded = load_plugins()
    assert set(loaded.plugins) == loaded_names
    assert ("ghost" in loaded.formats) == ("ghost-plugin" in loaded_names)


def test_get_plugins_logs_failures_as_warnings(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("PHONY_LOAD_PLUGINS")
    _fake_entry_points(monkeypatch, EntryPoint("ghost", "no_such_module_xyz", "ghost", "1.0"))
    plugins.get_plugins.cache_clear()
    assert plugins.get_plugins().format("csv")
    assert "plugin ghost 1.0 failed to load: ModuleNotFoundError" in caplog.text
    assert {r.levelname for r in caplog.records} == {"WARNING"}


def test_register_commands_isolates_a_failing_plugin(caplog: pytest.LogCaptureFixture) -> None:
    import click

    @click.command()
    def hello() -> None:
        """Say hello."""

    def good(cli: Any) -> None:
        cli.add_command(hello)

    def bad(cli: Any) -> None:
        raise ValueError("nope")

    loaded = load_plugins(
        {"good": _plugin(phony_register_commands=good), "bad": _plugin(phony_register_commands=bad)}
    )
    group = click.Group()
    loaded.register_commands(group)
    # registry and mock: phony's own, from the server package
    assert list(group.commands) == ["mock", "registry", "hello"]
    assert loaded.plugins["good"].registered["commands"] == ["hello"]
    assert (
        "plugin bad failed to load: phony_register_commands raised ValueError: nope" in caplog.text
    )


def test_a_plugin_cannot_take_a_reserved_command_name() -> None:
    import click

    def add(cli: Any) -> None:
        cli.add_command(click.Command("generate", callback=lambda: None))

    loaded = load_plugins({"taker": _plugin(phony_register_commands=add)})
    group = click.Group()
    loaded.register_commands(group, reserved={"generate"})
    assert "generate" not in group.commands
    assert loaded.failures["taker"] == "command 'generate' is one of phony's own commands"


def test_a_plugin_cannot_take_the_servers_commands() -> None:
    import click

    def add(cli: Any) -> None:
        cli.add_command(click.Command("registry", callback=lambda: None))

    loaded = load_plugins({"taker": _plugin(phony_register_commands=add)})
    commands = loaded.commands()
    assert commands["registry"].help.startswith("Run a registry server")  # the server's group
    assert loaded.failures["taker"] == "command 'registry' is one of phony's own commands"


def test_two_plugins_adding_one_command_keeps_the_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import click
    from click.testing import CliRunner

    def adder(text: str) -> Callable[[Any], None]:
        def add(cli: Any) -> None:
            cli.add_command(click.Command("hello", callback=lambda: click.echo(text)))

        return add

    loaded = load_plugins(
        {
            "first": _plugin(phony_register_commands=adder("one")),
            "second": _plugin(phony_register_commands=adder("two")),
        }
    )
    group = click.Group()
    loaded.register_commands(group)
    assert loaded.plugins["first"].registered["commands"] == ["hello"]
    assert "command 'hello' is already registered by 'first'" in loaded.failures["second"]
    assert CliRunner().invoke(group, ["hello"]).output == "one\n"  # the first one's
    assert "plugin second failed to load" in caplog.text


def test_generator_lookup() -> None:
    loaded = load_plugins()
    factory = loaded.generator("email")
    assert isinstance(factory, GeneratorFactory)
    assert loaded.generator("nope") is None


# --- faults at run time, attributed to the plugin ---------------------------------------------


class _Broken:
    requires: tuple[str, ...] = ()

    def generate(self, n: int, stream: Any, inputs: Any) -> list[str]:
        raise ZeroDivisionError("inside the plugin")


def _broken_generators(register: Callable[[GeneratorFactory], None]) -> None:
    register(GeneratorFactory(name="broken", description="", build=lambda a, c: _Broken()))


def test_a_fault_in_a_plugin_generator_names_the_plugin() -> None:
    from phony_registry.errors import PluginFault
    from phony_registry.schema import generate_table
    from phony_registry.testing import PluginTester

    tester = PluginTester(_plugin(phony_register_generators=_broken_generators), "acme")
    schema = tester.schema({"x": {"type": "broken"}})
    with tester.active(), pytest.raises(PluginFault) as caught:
        list(generate_table(schema, 3, seed=1))
    assert str(caught.value).startswith(
        "plugin acme: generator 'broken' (generate) failed: ZeroDivisionError: inside the plugin"
    )
    assert caught.value.exit_code == 14
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_errors_a_plugin_raises_on_purpose_pass_through() -> None:
    from phony_registry.errors import ValidationError
    from phony_registry.testing import PluginTester

    def build(args: Any, context: Any) -> Any:
        raise ValidationError("expected 8 digits", field=context.field("code"))

    def register(register: Callable[[GeneratorFactory], None]) -> None:
        register(GeneratorFactory(name="strict", description="", build=build))

    tester = PluginTester(_plugin(phony_register_generators=register), "acme")
    with pytest.raises(ValidationError, match=r"^columns\.x\.code: expected 8 digits$"):
        tester.schema({"x": {"type": "strict"}})


def test_a_writer_fault_names_the_plugin_but_an_os_error_is_the_outputs() -> None:
    from phony_registry.errors import PluginFault
    from phony_registry.testing import PluginTester

    class Writer:
        def __init__(self, stream: Any, names: Any, options: Any) -> None:
            pass

        def write(self, columns: Any) -> None:
            raise (
                OSError(28, "No space left on device") if columns[0][0] == "disk" else KeyError("x")
            )

        def close(self) -> None:
            pass

    def register(register: Callable[[OutputFormat], None]) -> None:
        register(OutputFormat(name="w", extension="w", description="", open=Writer))

    tester = PluginTester(_plugin(phony_register_formats=register), "acme")
    with pytest.raises(PluginFault, match=r"^plugin acme: format 'w' \(write\) failed: KeyError"):
        tester.write("w", {"a": ["x"]})
    with pytest.raises(OSError, match="No space left"):
        tester.write("w", {"a": ["disk"]})


def test_the_builtins_are_not_wrapped() -> None:
    loaded = load_plugins()
    assert loaded.format("csv") is CSV


# --- silent mistakes ------------------------------------------------------------------------


def test_a_misspelt_plugin_name_gets_the_closest(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = [EntryPoint("acme", "phony_acme", "phony-acme", "0.1.0")]
    monkeypatch.setattr(plugins, "entry_points", lambda group="phony": fake)
    monkeypatch.setenv("PHONY_LOAD_PLUGINS", "phony-acmee")
    loaded = load_plugins()
    assert loaded.unknown == {"phony-acmee": "phony-acme"}
    plugins.report_failures(loaded)
    assert (
        "PHONY_LOAD_PLUGINS names 'phony-acmee', which is not an installed plugin "
        "(did you mean 'phony-acme'?)"
    ) in caplog.text
    with pytest.raises(UsageError, match="PHONY_LOAD_PLUGINS names 'phony-acmee'"):
        loaded.format("xml")


def test_registered_lists_commands() -> None:
    def commands(cli: Any) -> None:
        import click

        cli.add_command(click.Command("hello", callback=lambda: None))

    loaded = load_plugins({"greeter": _plugin(phony_register_commands=commands)})
    assert loaded.plugins["greeter"].registered == {"commands": ["hello"]}


def test_a_load_failure_keeps_its_traceback() -> None:
    def hook(register: Any) -> None:
        raise RuntimeError("no luck")

    loaded = load_plugins({"unlucky": _plugin(phony_register_formats=hook)})
    assert loaded.failures["unlucky"] == "phony_register_formats raised RuntimeError: no luck"
    assert 'raise RuntimeError("no luck")' in loaded.tracebacks["unlucky"]


# --- ready schemas ----------------------------------------------------------------------------


def test_a_locale_schema_replaces_the_generic_one_for_that_locale(tmp_path: Path) -> None:
    from phony_registry.plugins import SchemaSource

    mine = tmp_path / "person.toml"
    mine.write_text('[columns.a]\ntype = "sequence"\n')

    def schemas(register: Callable[[SchemaSource], None]) -> None:
        register(SchemaSource(name="person", path=mine, locale="xx_XX"))

    loaded = load_plugins({"xx": _plugin(phony_register_schemas=schemas)})
    assert loaded.schema("person", "xx_XX") == SchemaSource("person", mine, "xx_XX")
    generic = loaded.schema("person", "tr_TR")
    assert generic is not None
    assert generic.locale is None
    assert loaded.provider("schemas", "person") == "phony"
    assert loaded.schema("nope") is None


def test_a_fault_finding_a_model_names_the_plugin(tmp_path: Path) -> None:
    from phony_registry.errors import PluginFault

    def resolve(spec: str) -> Path | None:
        raise ConnectionError("the company share is down")

    loaded = load_plugins({"share": _plugin(phony_resolve_model=resolve)})
    with pytest.raises(PluginFault, match=r"^plugin share: hook phony_resolve_model failed: Conn"):
        loaded.manager.hook.phony_resolve_model(spec="xx_XX/first_names")
