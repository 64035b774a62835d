"""``phony plugins new NAME --kind KIND``: a plugin distribution that installs and passes its tests.

The folder holds a ``pyproject.toml`` with the ``phony`` entry point, the
package with the hook of its kind, a test written with
:mod:`phony_registry.testing`, and a README. A ``locale`` plugin also gets
its ``pack/`` (a ``pack.toml``, sample values, a ``person`` schema), built at
once with ``phony locale build`` and signed with the plugin's own key, whose
private half stays in the config dir, never in the folder. A ``schema``
plugin ships a ready schema (``phony generate --schema NAME``) as a TOML
file inside its package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from phony_registry._fs import write_atomic
from phony_registry.errors import UsageError

__all__ = ["KINDS", "Scaffold", "scaffold"]

#: The kinds of plugin ``phony plugins new`` makes.
KINDS = ("generator", "format", "locale", "schema", "command")

#: phony's distribution and import packages: a plugin called so would replace phony itself.
_OWN_NAMES = frozenset({"phony", "phony_registry", "phony_client", "phony_server", "phony_index"})

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*\Z")


@dataclass(frozen=True)
class Scaffold:
    """What :func:`scaffold` wrote."""

    folder: Path
    distribution: str
    module: str
    files: tuple[str, ...]
    registers: str


def _pyproject(dist: str, module: str, kind: str, description: str) -> str:
    data = (
        "\n[tool.setuptools.package-data]\n# The locale pack built by `phony locale build`: "
        f'blobs have no extension.\n{module} = ["registry/**/*"]\n'
        if kind == "locale"
        else "\n[tool.setuptools.package-data]\n# The ready schemas, shipped with the package."
        f'\n{module} = ["schemas/*.toml"]\n'
        if kind == "schema"
        else ""
    )
    return f"""[build-system]
# setuptools 61 reads this file; `pip install --no-build-isolation` also needs `wheel`.
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "phony plugin: {description}"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["phony>=0.1,<2"]

# The only way phony finds the plugin: the `phony` entry point group.
[project.entry-points.phony]
{dist} = "{module}"

[tool.setuptools]
packages = ["{module}"]
{data}
[tool.pytest.ini_options]
testpaths = ["tests"]
"""


_GENERATOR = '''"""phony plugin {dist}: the ``{short}_code`` column type."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from phony_registry.generators import BuildContext, ColumnStream, GeneratorFactory, argument
from phony_registry.hookspecs import hookimpl


class CodeGenerator:
    """``ABC-1234``: a prefix and four digits, one raw value of the stream per row."""

    requires: Sequence[str] = ()

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def seek(self, stream: ColumnStream, row: int) -> bool:
        stream.advance(row)  # one raw value per row: row i starts i values in
        return True

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> list[str]:
        return [f"{{self.prefix}}-{{number:04d}}" for number in stream.below(n, 10_000).tolist()]


def build(args: Mapping[str, Any], context: BuildContext) -> CodeGenerator:
    """Check the column's arguments (a ValidationError names the field) and make the generator."""
    return CodeGenerator(argument(args, context, "prefix", str, "{upper}"))


@hookimpl
def phony_register_generators(register: Callable[[GeneratorFactory], None]) -> None:
    register(
        GeneratorFactory(
            name="{short}_code",
            description="codes such as {upper}-0042",
            build=build,
            arguments={{"prefix": "the text before the dash (default {upper})"}},
        )
    )
'''

_GENERATOR_TEST = """import {module}

from phony_registry.testing import PluginTester


def test_codes() -> None:
    codes = PluginTester({module}).check_generator("{short}_code", {{"prefix": "X"}})
    assert all(code.startswith("X-") and len(code) == 6 for code in codes)
"""

_FORMAT = '''"""phony plugin {dist}: the ``{short}`` output format (one JSON array per row)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import BinaryIO

from phony_registry.hookspecs import hookimpl
from phony_registry.outputs import OutputFormat, check_options


class RowsWriter:
    """A header line with the column names, then one JSON array per row."""

    def __init__(self, stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]) -> None:
        check_options("{short}", options, {{}})  # a UsageError names an unknown option
        self.stream = stream
        stream.write((json.dumps(list(names), ensure_ascii=False) + "\\n").encode())

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        lines = (json.dumps(list(row), ensure_ascii=False) + "\\n" for row in zip(*columns))
        self.stream.write("".join(lines).encode())

    def close(self) -> None:
        pass  # phony owns the stream: never close it


@hookimpl
def phony_register_formats(register: Callable[[OutputFormat], None]) -> None:
    register(
        OutputFormat(
            name="{short}",
            extension="{short}",
            description="a header line, then one JSON array per row",
            open=RowsWriter,
        )
    )
'''

_FORMAT_TEST = """import json

import {module}

from phony_registry.testing import PluginTester


def parse(data: bytes) -> list[dict[str, str]]:
    header, *rows = (json.loads(line) for line in data.decode().splitlines())
    return [dict(zip(header, row)) for row in rows]


def test_round_trip() -> None:
    PluginTester({module}).check_format("{short}", parse)
"""

_LOCALE = '''"""phony plugin {dist}: the ``{locale}`` locale pack and its ``person`` schema.

``registry/`` is built by ``phony locale build pack/pack.toml -o {module}/registry``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phony_registry.hookspecs import hookimpl
from phony_registry.plugins import LocaleSource, SchemaSource

REGISTRY = Path(__file__).resolve().parent / "registry"


@hookimpl
def phony_register_locales(register: Callable[[LocaleSource], None]) -> None:
    register(LocaleSource(locale="{locale}", path=REGISTRY, description="{dist}"))


@hookimpl
def phony_register_schemas(register: Callable[[SchemaSource], None]) -> None:
    for path in sorted((REGISTRY / "schemas").glob("*.toml")):
        register(SchemaSource(name=path.stem, path=path, locale="{locale}"))
'''

_LOCALE_TEST = """import {module}

from phony_registry.testing import PluginTester


def test_first_names() -> None:
    names = PluginTester({module}).check_generator("ngram", {{"model": "{locale}/first_names"}})
    assert all(name.strip() for name in names)


def test_person_schema() -> None:
    assert PluginTester({module}).plugins.schema("person", "{locale}") is not None
"""

_PACK = """locale = "{locale}"
version = "0.1.0"
description = "{dist}: first names"
license = "CC0-1.0"

[models.first_names]
values = "first_names.txt"        # one value per line (or a CSV file and `column = "..."`)
kind = "first_name"
description = "first names"
source = "where the values come from, and their licence"

[schemas.person]
path = "schemas/person.toml"
"""

_PERSON = """# A person of {locale}; bare model names are models of the {locale} pack.
description = "first name and a customer number"

[columns.first_name]
type = "ngram"
model = "first_names"

[columns.customer]
type = "sequence"
format = "C{{:06d}}"
"""

_SAMPLE_NAMES = """Ada Alma Amara Anouk Ayla Bela Cleo Dara Elin Emil Enzo Eske Fenna Ilse Ines
Ivo Jara Joris Juna Kaia Kiko Lars Lea Lina Lio Luca Mila Mira Nala Nico Noor Olle Oona Pia
Rafa Ren Rosa Runa Sami Sela Siv Tala Teo Tilde Uma Vida Yara Zeno Zora"""

_SCHEMA = '''"""phony plugin {dist}: the ready schema ``{short}``.

Each ``schemas/NAME.toml`` is the ready schema NAME, for every locale:
``phony generate --schema {short}``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phony_registry.hookspecs import SchemaSource, hookimpl

SCHEMAS = Path(__file__).resolve().parent / "schemas"


@hookimpl
def phony_register_schemas(register: Callable[[SchemaSource], None]) -> None:
    for path in sorted(SCHEMAS.glob("*.toml")):
        register(SchemaSource(name=path.stem, path=path, description="{dist}"))
'''

_SCHEMA_FILE = """# The ready schema {short}: `phony generate --schema {short}`. A bare model
# name (`model = "first_names"`) would be a model of the --locale given.
description = "orders: a number, a quantity and a status"

[columns.order_id]
type = "sequence"
format = "ORD-{{:06d}}"

[columns.quantity]
type = "integer"
min = 1
max = 12

[columns.status]
type = "choice"
values = ["paid", "shipped", "refunded"]
weights = [70, 25, 5]
"""

_SCHEMA_TEST = """import tomllib

import {module}

from phony_registry.testing import PluginTester


def test_{short}_schema() -> None:
    tester = PluginTester({module})
    source = tester.plugins.schema("{short}")
    assert source is not None
    columns = tomllib.loads(source.path.read_text(encoding="utf-8"))["columns"]
    assert tester.schema(columns).names == ["order_id", "quantity", "status"]
"""

_COMMAND = '''"""phony plugin {dist}: the ``phony {cmd}`` command."""

from __future__ import annotations

from typing import Any

from phony_registry.hookspecs import hookimpl


@hookimpl
def phony_register_commands(cli: Any) -> None:
    import click  # inside the hook: `phony --help` stays fast

    @click.command(name="{cmd}")
    @click.argument("who", default="world")
    def command(who: str) -> None:
        """Greet WHO."""
        click.echo(f"hello {{who}}")

    cli.add_command(command)
'''

_COMMAND_TEST = """import {module}

from phony_registry.testing import PluginTester


def test_greets() -> None:
    result = PluginTester({module}).run_command("{cmd}", "phony")
    assert (result.exit_code, result.output) == (0, "hello phony\\n")
"""

_README = """# {dist}

A [phony](https://github.com/) plugin: {description}.

Made with `phony plugins new {dist} --kind {kind}`; the plugin author's
guide is phony's `docs/plugins.md`.

```console
$ pip install -e .
$ phony plugins                         # lists {dist} and what it registers
{example}
$ python -m pytest                      # its tests, with phony's testing kit
```

Offline (no index to fetch setuptools from): `pip install
--no-build-isolation -e .`, which needs `setuptools>=61` and `wheel` in the
environment.
{extra}"""


def scaffold(name: str, kind: str, where: Path, *, locale: str = "xx_XX") -> Scaffold:
    """Write the plugin ``name`` of ``kind`` into ``where/name`` (which must not exist)."""
    from phony_registry.names import is_locale, normalize_locale

    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    if not _NAME.match(name):
        raise UsageError(f"{name!r} is not a distribution name (letters, digits, - _ .)")
    if kind == "locale":
        if not is_locale(locale):
            raise UsageError(f"{locale!r} is not a locale such as de_DE")
        locale = normalize_locale(locale)
    dist = name.lower().replace("_", "-").replace(".", "-")
    module = dist.replace("-", "_")
    if module in _OWN_NAMES:  # pip install -e would replace phony, or shadow its code
        raise UsageError(
            f"{name!r} is phony's own name (installing it would replace phony or shadow its "
            "code): choose another, such as phony-acme"
        )
    short = module.removeprefix("phony_") or module
    cmd = dist.removeprefix("phony-") or dist
    folder = where / dist
    if folder.exists():
        raise UsageError(f"{folder} already exists")
    descriptions = {
        "generator": f"the {short}_code column type",
        "format": f"the {short} output format",
        "locale": f"the {locale} locale pack",
        "schema": f"the ready schema {short}",
        "command": f"the phony {cmd} command",
    }
    examples = {
        "generator": f"$ phony generate --column code={short}_code:prefix=AB --count 3",
        "format": f"$ phony generate --column n=integer:max=9 --count 3 --format {short}",
        "locale": f"$ phony generate {locale}/first_names --count 3\n"
        f"$ phony generate --locale {locale} --schema person --count 3",
        "schema": f"$ phony generate --schema {short} --count 3 --format csv",
        "command": f"$ phony {cmd} you",
    }
    source = {"generator": _GENERATOR, "format": _FORMAT, "locale": _LOCALE, "schema": _SCHEMA,
              "command": _COMMAND}  # fmt: skip
    tests = {
        "generator": _GENERATOR_TEST,
        "format": _FORMAT_TEST,
        "locale": _LOCALE_TEST,
        "schema": _SCHEMA_TEST,
        "command": _COMMAND_TEST,
    }
    fill = {"dist": dist, "module": module, "short": short, "upper": short.upper()[:3],
            "locale": locale, "cmd": cmd}  # fmt: skip
    extra = (
        "\nThe pack is built from `pack/` (its `pack.toml`, the value files, the `person`\n"
        "schema) into `" + module + "/registry`, signed with the plugin's own key:\n\n"
        "```console\n$ phony locale build pack/pack.toml -o "
        + module
        + "/registry --key "
        + dist
        + "\n```\n\nThe key's private half stays in phony's config dir "
        "(`phony keys list`); keep it out of the repository.\n"
        if kind == "locale"
        else ""
    )
    files = {
        "pyproject.toml": _pyproject(dist, module, kind, descriptions[kind]),
        "README.md": _README.format(
            dist=dist,
            description=descriptions[kind],
            kind=kind,
            example=examples[kind],
            extra=extra,
        ),
        f"{module}/__init__.py": source[kind].format(**fill),
        f"tests/test_{short}.py": tests[kind].format(**fill),
    }
    if kind == "locale":
        files["pack/pack.toml"] = _PACK.format(**fill)
        files["pack/first_names.txt"] = "\n".join(_SAMPLE_NAMES.split()) + "\n"
        files["pack/schemas/person.toml"] = _PERSON.format(**fill)
    if kind == "schema":
        files[f"{module}/schemas/{short}.toml"] = _SCHEMA_FILE.format(**fill)
    for relative, text in files.items():
        write_atomic(folder / relative, text.encode("utf-8"))
    return Scaffold(folder, dist, module, tuple(files), descriptions[kind])
