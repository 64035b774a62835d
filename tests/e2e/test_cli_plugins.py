"""`phony plugins`, `formats`, `generators` and `generate --schema`, run as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]
FIRST_PARTY = "phony-format-sqlite,phony-gen-tr-id,phony-locale-de-de"

PEOPLE = """
[columns.id]
type = "sequence"
format = "P{:05d}"

[columns.first_name]
type = "choice"
values = ["Ayşe", "Şükrü", "O'Brien", "Zoë"]

[columns.last_name]
type = "choice"
values = ["Yılmaz", "Işık", "Smith, Jr."]

[columns.email]
type = "email"
from = ["first_name", "last_name"]
domains = ["example.com"]

[columns.born]
type = "date"
start = 1950-01-01
end = 2005-12-31
"""  # noqa: RUF001 - Turkish letters on purpose


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.toml"
    path.write_text(PEOPLE, encoding="utf-8")
    return path


def _plugin_site(tmp_path: Path, name: str, module_source: str) -> Path:
    """A folder to put on PYTHONPATH holding an installed-looking plugin distribution."""
    site = tmp_path / "site"
    module = name.replace("-", "_")
    dist_info = site / f"{module}-1.0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[phony]\n{name} = {module}\n")
    (site / f"{module}.py").write_text(module_source)
    return site


def _env(site: Path | None = None, plugins: str | None = None) -> dict[str, str]:
    env = {}
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    if plugins is not None:
        env["PHONY_LOAD_PLUGINS"] = plugins
    return env


def test_plugins_lists_each_plugin_and_what_it_registered(run_phony: Run) -> None:
    result = run_phony("plugins", "--json", env=_env(plugins=FIRST_PARTY), check=True)
    document = json.loads(result.stdout)
    by_name = {p["name"]: p for p in document["plugins"]}
    assert {"csv", "json", "jsonl", "sql", "txt"} <= set(by_name["phony"]["registered"]["formats"])
    assert by_name["phony"]["registered"]["schemas"] == ["address", "company", "person"]
    assert by_name["phony-format-sqlite"]["distribution"] == "phony-format-sqlite"
    assert by_name["phony-format-sqlite"]["hooks"] == ["phony_register_formats"]
    assert by_name["phony-gen-tr-id"]["registered"] == {"generators": ["tr_id"]}
    assert by_name["phony-locale-de-de"]["registered"] == {
        "locales": ["de_DE"],
        "schemas": ["de_DE/person"],
    }
    assert document["failures"] == []
    text = run_phony("plugins", env=_env(plugins=FIRST_PARTY), check=True).stdout
    assert "phony-gen-tr-id 0.1.0\n  hooks: phony_register_generators\n  generators: tr_id" in text


def test_formats_and_generators_say_which_plugin_provides_them(run_phony: Run) -> None:
    formats = run_phony("formats", env=_env(plugins=FIRST_PARTY), check=True).stdout
    assert any(
        line.split()[:3] == ["sqlite", ".db", "phony-format-sqlite"]
        for line in formats.splitlines()
    )
    assert "sql: table - table name (default data)" in formats
    generators = run_phony("generators", env=_env(plugins=FIRST_PARTY), check=True).stdout
    assert any(line.split()[:2] == ["tr_id", "phony-gen-tr-id"] for line in generators.splitlines())
    assert any(line.split()[:2] == ["email", "phony"] for line in generators.splitlines())


def test_phony_load_plugins_empty_loads_only_builtins(run_phony: Run) -> None:
    document = json.loads(run_phony("plugins", "--json", env=_env(plugins=""), check=True).stdout)
    # phony's own entry points: the built-ins, the client's cache lookup, and `phony mock`
    # and `phony registry` from the server package
    assert [p["name"] for p in document["plugins"]] == ["phony", "client", "mock", "registry"]


def test_generate_schema_to_csv_is_reproducible(
    run_phony: Run, people: Path, tmp_path: Path
) -> None:
    out = tmp_path / "people.csv"
    args = [
        "generate",
        "--schema",
        str(people),
        "--count",
        "1000",
        "--seed",
        "1",
        "--format",
        "csv",
    ]
    result = run_phony(*args, "-o", str(out), check=True)
    assert result.stdout == ""
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == ["id", "first_name", "last_name", "email", "born"]
    assert len(rows) == 1001
    assert rows[1][0] == "P00001"
    assert rows[1000][0] == "P01000"
    for *_, email, _born in rows[1:]:
        assert email.endswith("@example.com")
        assert email.isascii()
        assert email == email.lower()
    assert {"Smith, Jr."} <= {row[2] for row in rows[1:]}  # quoted, read back whole
    again = run_phony(*args, check=True).stdout
    assert again == out.read_text(encoding="utf-8")


def test_generate_schema_to_sql_loads_into_sqlite(run_phony: Run, people: Path) -> None:
    result = run_phony(
        "generate", "--schema", str(people), "--count", "1200", "--seed", "2",
        "--format", "sql", "--option", "table=people", "--option", "create=true",
        check=True,
    )  # fmt: skip
    assert result.stdout.count('INSERT INTO "people"') == 3  # batches of 500
    db = sqlite3.connect(":memory:")
    db.executescript(result.stdout)
    assert db.execute("SELECT count(*) FROM people").fetchone() == (1200,)
    names = {row[0] for row in db.execute("SELECT first_name FROM people")}
    assert "O'Brien" in names


@pytest.mark.parametrize("count", [0, 1, 3])
def test_generate_json_is_valid_for_any_count(run_phony: Run, people: Path, count: int) -> None:
    result = run_phony(
        "generate", "--schema", str(people), "--count", str(count), "--seed", "1",
        "--format", "json", check=True,
    )  # fmt: skip
    rows = json.loads(result.stdout)
    assert len(rows) == count
    assert all(set(row) == {"id", "first_name", "last_name", "email", "born"} for row in rows)


def test_generate_a_model_into_a_plugin_format(run_phony: Run, tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("Ayşe\nFatma\nMehmet\nAhmet\nZeynep\n", encoding="utf-8")
    model = tmp_path / "names.phony"
    run_phony("train", str(names), "-o", str(model), check=True)
    out = tmp_path / "names.db"
    run_phony(
        "generate", str(model), "--count", "10", "--seed", "1", "--format", "sqlite",
        "--option", "table=names", "-o", str(out), env=_env(plugins="phony-format-sqlite"),
        check=True,
    )  # fmt: skip
    rows = sqlite3.connect(out).execute("SELECT * FROM names").fetchall()
    assert len(rows) == 10


def test_schema_with_the_locale_plugin_and_generator_plugin(run_phony: Run, tmp_path: Path) -> None:
    schema = tmp_path / "kunden.toml"
    schema.write_text(
        'locale = "de_DE"\n[columns.tc]\ntype = "tr_id"\n'
        '[columns.vorname]\ntype = "ngram"\nmodel = "first_names"\n'
        '[columns.stadt]\ntype = "ngram"\nmodel = "cities"\n',
        encoding="utf-8",
    )
    result = run_phony(
        "generate", "--schema", str(schema), "--count", "20", "--seed", "1", "--format", "jsonl",
        env=_env(plugins=FIRST_PARTY), check=True,
    )  # fmt: skip
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 20
    assert all(len(row["tc"]) == 11 and row["vorname"] and row["stadt"] for row in rows)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ('[columns.a]\ntype = "emial"\n', "error: columns.a.type: unknown generator 'emial'"),
        (
            '[columns.e]\ntype = "email"\nfrom = ["name"]\n',
            "error: columns.e.from[0]: unknown column 'name'",
        ),
        (
            '[columns.a]\ntype = "template"\ntemplate = "{b}"\n'
            '[columns.b]\ntype = "template"\ntemplate = "{a}"\n',
            "error: columns.a: cycle a -> b -> a",
        ),
        ("[columns.a\n", "not valid TOML"),
    ],
)
def test_a_bad_schema_is_one_clear_line(
    run_phony: Run, tmp_path: Path, schema: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(schema, encoding="utf-8")
    result = run_phony("generate", "--schema", str(path), "--count", "1", "--seed", "1")
    assert result.returncode == 3
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unknown_format_option_is_a_usage_error(run_phony: Run, people: Path) -> None:
    result = run_phony(
        "generate", "--schema", str(people), "--format", "csv", "--option", "tabel=x",
    )  # fmt: skip
    assert result.returncode == 2
    assert "error: format csv has no option 'tabel' (options: header)" in result.stderr


BROKEN_IMPORT = "raise ImportError('needs libfoo')\n"
MISSPELLED = (
    "from phony_registry.hookspecs import hookimpl\n"
    "@hookimpl\n"
    "def phony_register_format(register):\n"
    "    pass\n"
)
DUPLICATE_CSV = (
    "from phony_registry.hookspecs import hookimpl\n"
    "from phony_registry.outputs import CSV, OutputFormat\n"
    "@hookimpl\n"
    "def phony_register_formats(register):\n"
    "    register(OutputFormat('csv', 'csv', 'another csv', CSV.open))\n"
)


@pytest.mark.parametrize(
    ("source", "warning"),
    [
        (
            BROKEN_IMPORT,
            "warning: plugin broken-plugin 1.0 failed to load: ImportError: needs libfoo",
        ),
        (
            MISSPELLED,
            "warning: plugin broken-plugin 1.0 failed to load: unknown hook phony_register_format "
            "(did you mean phony_register_formats?)",
        ),
    ],
    ids=["fails-to-import", "misspelled-hook"],
)
def test_a_broken_plugin_is_reported_by_name_and_phony_still_works(
    run_phony: Run, tmp_path: Path, people: Path, source: str, warning: str
) -> None:
    site = _plugin_site(tmp_path, "broken-plugin", source)
    env = _env(site, plugins=f"broken-plugin,{FIRST_PARTY}")
    formats = run_phony("formats", env=env, check=True)
    assert warning in formats.stderr
    assert "csv" in formats.stdout
    assert "sqlite" in formats.stdout  # the other plugins still load
    listed = run_phony("plugins", "--json", env=env)
    assert listed.returncode == 11  # a check that a plugin failed to load fails
    listing = json.loads(listed.stdout)
    assert [f["name"] for f in listing["failures"]] == ["broken-plugin"]
    result = run_phony(
        "generate", "--schema", str(people), "--count", "2", "--seed", "1", "--format", "csv",
        env=env, check=True,
    )  # fmt: skip
    assert len(result.stdout.splitlines()) == 3


def test_two_plugins_registering_one_format_is_an_error_naming_both(
    run_phony: Run, tmp_path: Path, people: Path
) -> None:
    site = _plugin_site(tmp_path, "csv-again", DUPLICATE_CSV)
    env = _env(site, plugins="csv-again")
    result = run_phony(
        "generate", "--schema", str(people), "--count", "2", "--format", "csv", env=env
    )
    assert result.returncode == 11
    assert "error: format 'csv' is registered by both 'phony' and 'csv-again'" in result.stderr
    formats = run_phony("formats", env=env, check=True).stdout
    assert any(
        line.split()[:3] == ["csv", ".csv", "CONFLICT:phony+csv-again"]
        for line in formats.splitlines()
    )
    # other formats still work
    ok = run_phony(
        "generate", "--schema", str(people), "--count", "2", "--format", "jsonl", env=env
    )
    assert ok.returncode == 0
    assert len(ok.stdout.splitlines()) == 2


def test_help_with_every_plugin_imports_nothing_heavy(tmp_path: Path) -> None:
    env: dict[str, Any] = {**os.environ, "PHONY_LOAD_PLUGINS": FIRST_PARTY}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "phony_client", "--help"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert "generate" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert not imported & {"numpy", "httpx", "rich", "fastapi", "boto3", "sqlite3"}


def test_generate_a_model_of_a_plugin_locale_pack_by_name(run_phony: Run) -> None:
    args = ("generate", "de_DE/first_names@1.1.0", "--count", "5", "--seed", "1")
    result = run_phony(*args, env=_env(plugins="phony-locale-de-de"), check=True)
    assert len(result.stdout.splitlines()) == 5
    without = run_phony(*args, env=_env(plugins=""))
    assert without.returncode == 8
    assert "de_DE/first_names@1.1.0 is not in the cache" in without.stderr


COMMAND_PLUGIN = (
    "from phony_registry.hookspecs import hookimpl\n"
    "@hookimpl\n"
    "def phony_register_commands(cli):\n"
    "    import click\n"
    "    @click.command()\n"
    "    @click.argument('who')\n"
    "    def hello(who):\n"
    "        '''Greet WHO.'''\n"
    "        click.echo(f'hello {who}')\n"
    "    cli.add_command(hello)\n"
)


def test_a_plugin_adds_a_command(run_phony: Run, tmp_path: Path) -> None:
    env = _env(_plugin_site(tmp_path, "phony-hello", COMMAND_PLUGIN), plugins="phony-hello")
    assert run_phony("hello", "world", env=env, check=True).stdout == "hello world\n"
    help_text = run_phony("--help", env=env, check=True).stdout
    assert any(line.split()[:2] == ["hello", "Greet"] for line in help_text.splitlines())
    listing = json.loads(run_phony("plugins", "--json", env=env, check=True).stdout)
    by_name = {p["name"]: p for p in listing["plugins"]}
    assert by_name["phony-hello"]["registered"] == {"commands": ["hello"]}
    assert by_name["phony-hello"]["hooks"] == ["phony_register_commands"]


def test_install_the_plugin_locale_pack_and_use_a_ready_schema(run_phony: Run) -> None:
    env = _env(plugins="phony-locale-de-de")
    installed = run_phony("install", "de_DE", env=env, check=True)
    assert "installed de_DE@1.1.0" in installed.stdout
    assert "phony-locale-de-de" in installed.stdout
    result = run_phony(
        "generate", "--locale", "de_DE", "--schema", "person", "--count", "5", "--seed", "1",
        "--format", "csv", env=env, check=True,
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["first_name", "last_name", "email", "city"]
    assert len(rows) == 6


def test_installing_a_locale_two_plugins_register_is_refused(
    run_phony: Run, tmp_path: Path
) -> None:
    # loc-clash ships its own de_DE pack, signed by its own key, beside phony-locale-de-de's
    run_phony("plugins", "new", "loc-clash", "--kind", "locale", "--locale", "de_DE",
              "-C", str(tmp_path), check=True)  # fmt: skip
    site = tmp_path / "site"
    dist_info = site / "loc_clash-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: loc-clash\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text("[phony]\nloc-clash = loc_clash\n")
    env = {
        "PYTHONPATH": os.pathsep.join([str(site), str(tmp_path / "loc-clash")]),
        "PHONY_LOAD_PLUGINS": "loc-clash,phony-locale-de-de",
    }
    result = run_phony("install", "de_DE", env=env)
    assert result.returncode == 11, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: locale 'de_DE' is registered by both 'loc-clash' and 'phony-locale-de-de'; "
        "uninstall one or leave it out with PHONY_LOAD_PLUGINS"
    ]
    assert result.stdout == ""
    # nothing was installed: without the plugins the cache has no de_DE model
    cached = run_phony("generate", "de_DE/first_names", "--count", "1", env=_env(plugins=""))
    assert cached.returncode == 8
    assert "de_DE/first_names@latest is not in the cache (cached versions: none)" in cached.stderr
    listed = run_phony("install", "--list", env=env, check=True).stdout
    assert (
        "the de_DE pack registered by both 'loc-clash' and 'phony-locale-de-de' "
        "(phony install refuses it)"
    ) in listed


EXITS_AT_IMPORT = "import sys\nsys.exit(3)\n"
EXITS_REGISTERING = (
    "import sys\n"
    "from phony_registry.hookspecs import hookimpl\n"
    "@hookimpl\n"
    "def phony_register_formats(register):\n"
    "    sys.exit(4)\n"
)
EXITS_ADDING_A_COMMAND = (
    "import sys\n"
    "from phony_registry.hookspecs import hookimpl\n"
    "@hookimpl\n"
    "def phony_register_commands(cli):\n"
    "    sys.exit(5)\n"
)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (EXITS_AT_IMPORT, "SystemExit: 3"),
        (EXITS_REGISTERING, "phony_register_formats raised SystemExit: 4"),
        (EXITS_ADDING_A_COMMAND, "phony_register_commands raised SystemExit: 5"),
    ],
    ids=["at-import", "in-a-registration-hook", "in-the-commands-hook"],
)
def test_a_plugin_calling_sys_exit_is_left_out_like_any_failure(
    run_phony: Run, tmp_path: Path, source: str, reason: str
) -> None:
    env = _env(_plugin_site(tmp_path, "exits", source), plugins="exits")
    warning = f"warning: plugin exits 1.0 failed to load: {reason}"
    formats = run_phony("formats", env=env)
    assert formats.returncode == 0, formats.stderr
    assert warning in formats.stderr.splitlines()
    assert "csv" in formats.stdout
    listed = run_phony("plugins", env=env)
    assert listed.returncode == 11
    assert f"exits FAILED: {reason}" in listed.stdout
    assert "error: 1 plugin failed to load: exits" in listed.stderr
    generated = run_phony("generate", "--column", "n=integer:max=9", "--count", "2", env=env)
    assert generated.returncode == 0, generated.stderr
    assert len(generated.stdout.splitlines()) == 2


INT_GENERATOR = (
    "from phony_registry.hookspecs import hookimpl\n"
    "from phony_registry.generators import GeneratorFactory\n"
    "class Ints:\n"
    "    requires = ()\n"
    "    def generate(self, n, stream, inputs):\n"
    "        return [1] * n\n"
    "class Short:\n"
    "    requires = ()\n"
    "    def generate(self, n, stream, inputs):\n"
    "        return ['a'] * (n - 1)\n"
    "class Exits:\n"
    "    requires = ()\n"
    "    def generate(self, n, stream, inputs):\n"
    "        raise SystemExit(3)\n"
    "@hookimpl\n"
    "def phony_register_generators(register):\n"
    "    register(GeneratorFactory('intgen', 'ints', lambda args, context: Ints()))\n"
    "    register(GeneratorFactory('shortgen', 'too few', lambda args, context: Short()))\n"
    "    register(GeneratorFactory('exitgen', 'exits', lambda args, context: Exits()))\n"
)
CLOSING_FORMAT = (
    "from phony_registry.hookspecs import hookimpl\n"
    "from phony_registry.outputs import OutputFormat\n"
    "class Writer:\n"
    "    def __init__(self, stream, names, options):\n"
    "        self.stream = stream\n"
    "    def write(self, columns):\n"
    "        self.stream.write(b'x\\n')\n"
    "    def close(self):\n"
    "        self.stream.close()\n"
    "@hookimpl\n"
    "def phony_register_formats(register):\n"
    "    register(OutputFormat('closer', 'txt', 'closes what it was given', Writer))\n"
)
PLUGIN_BUG = " (a bug in the plugin: PHONY_DEBUG=1 shows the traceback)"


@pytest.mark.parametrize(
    ("column", "fmt", "message"),
    [
        (
            "n=intgen",
            "csv",
            "error: plugin bugs 1.0: generator 'intgen' (generate) failed: "
            "TypeError: gave int values, not text",
        ),
        (
            "n=shortgen",
            "csv",
            "error: plugin bugs 1.0: generator 'shortgen' (generate) failed: "
            "ValueError: gave 2 values for 3 rows",
        ),
        (
            "n=exitgen",
            "csv",
            "error: plugin bugs 1.0: generator 'exitgen' (generate) failed: SystemExit: 3",
        ),
        (
            "n=integer:max=9",
            "closer",
            "error: plugin bugs 1.0: format 'closer' (close) failed: "
            "ValueError: closed the output stream, which belongs to phony",
        ),
    ],
    ids=[
        "generator-gives-ints",
        "generator-gives-too-few",
        "generator-exits",
        "format-closes-the-stream",
    ],
)
@pytest.mark.parametrize("to_file", [True, False], ids=["to-a-file", "to-stdout"])
def test_a_plugin_breaking_the_contract_at_run_time_is_named(
    run_phony: Run, tmp_path: Path, column: str, fmt: str, message: str, to_file: bool
) -> None:
    env = _env(_plugin_site(tmp_path, "bugs", INT_GENERATOR + CLOSING_FORMAT), plugins="bugs")
    out = tmp_path / "out.txt"
    args = ["generate", "--column", column, "--count", "3", "--seed", "1", "--format", fmt]
    result = run_phony(*args, *(["-o", str(out)] if to_file else []), env=env)
    assert result.returncode == 14, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(message), errors[0]
    assert PLUGIN_BUG in errors[0], errors[0]  # on stdout, how much incomplete output went out
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr
    assert not out.exists()


DUPLICATE_IN_ONE_PLUGIN = (
    "from phony_registry.hookspecs import hookimpl\n"
    "from phony_registry.outputs import CSV, OutputFormat\n"
    "@hookimpl\n"
    "def phony_register_formats(register):\n"
    "    register(OutputFormat('dupf', 'csv', 'one', CSV.open))\n"
    "    register(OutputFormat('dupf', 'csv', 'two', CSV.open))\n"
)


def test_one_plugin_registering_a_name_twice_is_left_out(
    run_phony: Run, tmp_path: Path, people: Path
) -> None:
    env = _env(_plugin_site(tmp_path, "twice", DUPLICATE_IN_ONE_PLUGIN), plugins="twice")
    reason = "phony_register_formats registered format 'dupf' twice"
    listed = run_phony("plugins", "--json", env=env)
    assert listed.returncode == 11
    document = json.loads(listed.stdout)
    assert [(f["name"], f["error"]) for f in document["failures"]] == [("twice", reason)]
    assert "twice" not in [p["name"] for p in document["plugins"]]
    assert document["conflicts"] == []
    formats = run_phony("formats", env=env, check=True)
    assert f"warning: plugin twice 1.0 failed to load: {reason}" in formats.stderr.splitlines()
    assert "dupf" not in formats.stdout
    used = run_phony("generate", "--schema", str(people), "--count", "1", "--format", "dupf",
                     env=env)  # fmt: skip
    assert used.returncode == 2
    assert f"plugin twice 1.0 failed to load: {reason}" in used.stderr


@pytest.mark.parametrize("name", ["phony", "builtin", "client", "mock", "registry", "Phony"])
def test_naming_phonys_own_plugins_in_phony_load_plugins_is_no_mistake(
    run_phony: Run, name: str
) -> None:
    result = run_phony("formats", env=_env(plugins=f"{name},phony-gen-tr-id"), check=True)
    assert result.stderr == ""
    listing = json.loads(run_phony("plugins", "--json", env=_env(plugins=name), check=True).stdout)
    assert listing["unknown"] == []
    assert [p["name"] for p in listing["plugins"]] == ["phony", "client", "mock", "registry"]
