"""The first-party plugins, found through their installed entry points (as users get them)."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from phony_registry.errors import UsageError
from phony_registry.plugins import get_plugins
from phony_registry.schema import load_schema, write_table

FIRST_PARTY = {
    "phony-format-sqlite": {"formats": ["sqlite"]},
    "phony-gen-tr-id": {"generators": ["tr_id"]},
    "phony-locale-de-de": {"locales": ["de_DE"], "schemas": ["de_DE/person"]},
}

SCHEMA = """
locale = "de_DE"

[columns.kimlik]
type = "tr_id"

[columns.vorname]
type = "ngram"
model = "first_names"

[columns.nachname]
type = "ngram"
model = "de_DE/last_names"

[columns.email]
type = "email"
from = ["vorname", "nachname"]
domains = ["beispiel.de"]
"""


@pytest.fixture
def all_first_party(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHONY_LOAD_PLUGINS", ",".join(FIRST_PARTY))
    get_plugins.cache_clear()


@pytest.mark.usefixtures("all_first_party")
def test_each_plugin_is_found_through_its_entry_point() -> None:
    loaded = get_plugins()
    assert loaded.failures == {}
    for name, registered in FIRST_PARTY.items():
        plugin = loaded.plugins[name]
        assert plugin.distribution == name
        assert plugin.version
        assert plugin.registered == registered
    assert loaded.provider("formats", "sqlite") == "phony-format-sqlite"


@pytest.mark.usefixtures("all_first_party")
def test_a_table_from_all_three_plugins(tmp_path: Path) -> None:
    from phony_gen_tr_id import is_valid_tr_id

    path = tmp_path / "kunden.toml"
    path.write_text(SCHEMA, encoding="utf-8")
    stream = io.BytesIO()
    options = {"table": "kunden"}
    write_table(load_schema(path), stream, count=500, seed=1, format_name="sqlite", options=options)
    database = tmp_path / "kunden.db"
    database.write_bytes(stream.getvalue())
    rows = sqlite3.connect(database).execute("SELECT * FROM kunden").fetchall()
    assert len(rows) == 500
    assert all(is_valid_tr_id(kimlik) for kimlik, *_ in rows)
    assert all(vorname and nachname for _, vorname, nachname, _ in rows)
    assert all(email.endswith("@beispiel.de") for *_, email in rows)


TYPED_SCHEMA = {"columns": {
    "id": {"type": "sequence"},
    "born": {"type": "date", "start": "2000-01-01", "end": "2001-01-01"},
    "at": {"type": "date", "start": "2000-01-01T00:00+03:00", "end": "2001-01-01T00:00+03:00"},
    "price": {"type": "number", "decimals": 2, "min": 1, "max": 9},
    "n": {"type": "integer", "min": -5, "max": 9},
    "code": {"type": "sequence", "format": "INV-{:04d}"},
}}  # fmt: skip


def _table(database: Path) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    """Declared column types, and every value with its typeof(), of the table ``data``."""
    connection = sqlite3.connect(database)
    try:
        declared = [(r[1], r[2]) for r in connection.execute("PRAGMA table_info(data)")]
        picks = ", ".join(f"{name}, typeof({name})" for name, _ in declared)
        return declared, connection.execute(f"SELECT {picks} FROM data").fetchall()  # noqa: S608 - the test's own columns
    finally:
        connection.close()


@pytest.mark.usefixtures("all_first_party")
def test_a_schema_in_sqlite_and_in_sqlite_sql_is_one_typed_table(tmp_path: Path) -> None:
    from phony_registry.schema import parse_schema

    schema = parse_schema(TYPED_SCHEMA)
    stream, script = io.BytesIO(), io.BytesIO()
    write_table(schema, stream, count=200, seed=1, format_name="sqlite")
    options = {"dialect": "sqlite", "create": "true"}
    write_table(schema, script, count=200, seed=1, format_name="sql", options=options)
    (tmp_path / "format.db").write_bytes(stream.getvalue())
    connection = sqlite3.connect(tmp_path / "script.db")
    connection.executescript(script.getvalue().decode("utf-8"))
    connection.close()
    declared, rows = _table(tmp_path / "format.db")
    assert (declared, rows) == _table(tmp_path / "script.db")
    assert declared == [("id", "INTEGER"), ("born", "DATE"), ("at", "DATETIME"),
                        ("price", "NUMERIC(3, 2)"), ("n", "INTEGER"), ("code", "TEXT")]  # fmt: skip
    kinds = {(name, row[2 * i + 1]) for row in rows for i, (name, _) in enumerate(declared)}
    assert kinds == {("id", "integer"), ("born", "text"), ("at", "text"), ("price", "real"),
                     ("price", "integer"), ("n", "integer"), ("code", "text")}  # fmt: skip


def test_only_the_listed_plugins_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHONY_LOAD_PLUGINS", "phony-gen-tr-id")
    loaded = get_plugins()
    # client, mock and registry: phony's own entry points, always loaded
    assert set(loaded.plugins) == {"phony", "client", "mock", "registry", "phony-gen-tr-id"}
    with pytest.raises(UsageError, match="unknown format 'sqlite'"):
        loaded.format("sqlite")


def test_loading_every_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from phony_registry.plugins import load_plugins\n"
        "loaded = load_plugins()\n"
        "assert not loaded.failures, loaded.failures\n"
        "print(sorted(m for m in ('numpy', 'sqlite3', 'httpx', 'rich', 'cryptography')"
        " if m in sys.modules))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PHONY_LOAD_PLUGINS": ",".join(FIRST_PARTY)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"


PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"


@pytest.mark.slow
@pytest.mark.parametrize("distribution", sorted(FIRST_PARTY))
def test_the_plugins_own_test_suite_passes(distribution: str) -> None:
    """Each plugin ships its own tests, as a third-party plugin would; run them here too."""
    folder = PLUGINS_DIR / distribution
    assert (folder / "pyproject.toml").is_file()
    assert (folder / "README.md").is_file()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
