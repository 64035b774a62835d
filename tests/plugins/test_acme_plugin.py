"""phony-acme, a plugin written as an outside author would, installed and run as users run it.

The plugin (tests/plugins/acme) is copied, its xx_XX locale pack built with
the public ``phony locale build`` and a key made for the test, and installed
offline with ``pip install --no-build-isolation --target`` into a folder of
its own: it reaches the ``phony`` subprocesses below through PYTHONPATH and
``PHONY_LOAD_PLUGINS=phony-acme``, and nothing else in the test run sees it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from phony_registry.signing import PrivateKey, save_private_key
from tests.conftest import phony_command, pip_install_offline

pytestmark = pytest.mark.e2e

SOURCE = Path(__file__).resolve().parent / "acme"
Run = Callable[..., subprocess.CompletedProcess[str]]


def _is_valid_iban(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return iban.startswith("DE") and int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site folder phony-acme is installed into (its pack built with the public command)."""
    root = tmp_path_factory.mktemp("acme")
    project = root / "phony-acme"
    shutil.copytree(SOURCE, project, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    key = root / "keys" / "acme.pem"  # the plugin's private key: never inside the project
    key.parent.mkdir()
    save_private_key(key, PrivateKey.generate())
    env = {
        **os.environ,
        "PHONY_LOAD_PLUGINS": "",
        "PHONY_CONFIG_DIR": str(root / "config"),
        "PHONY_CACHE_DIR": str(root / "cache"),
    }
    pack = project / "phony_acme" / "pack" / "pack.toml"
    registry = project / "phony_acme" / "registry"
    built = subprocess.run(
        [*phony_command(), "locale", "build", str(pack), "-o", str(registry), "--key", str(key)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "built xx_XX@1.0.0" in built.stdout
    shipped = "".join(p.read_text(errors="replace") for p in registry.rglob("*") if p.is_file())
    assert "PRIVATE KEY" not in shipped  # only the public half goes into the plugin
    site = root / "site"
    pip_install_offline(project, site)
    return site


@pytest.fixture
def acme_run(run_phony: Run, acme: Path) -> Run:
    """``phony ...`` with phony-acme (only) loaded."""

    def run(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> object:
        merged = {"PYTHONPATH": str(acme), "PHONY_LOAD_PLUGINS": "phony-acme", **(env or {})}
        return run_phony(*args, env=merged, **kwargs)

    return run  # type: ignore[return-value]


def _site_copy(acme: Path, tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(acme, site)
    return site


@pytest.mark.parametrize("damage", ["deleted", "truncated", "edited", "resigned"])
def test_a_damaged_snapshot_stops_the_pack(
    run_phony: Run, acme: Path, tmp_path: Path, damage: str
) -> None:
    site = _site_copy(acme, tmp_path)
    snapshot = site / "phony_acme" / "registry" / "snapshot.json"
    if damage == "deleted":
        snapshot.unlink()
    elif damage == "truncated":
        snapshot.write_bytes(snapshot.read_bytes()[:100])
    elif damage == "edited":  # a longer expiry, the signature left as it was
        text = snapshot.read_text()
        edited = text.replace('"expires":"20', '"expires":"21')
        assert edited != text
        snapshot.write_text(edited)
    else:  # a valid snapshot signed by another key
        from phony_registry.index import Snapshot

        other = Snapshot.from_bytes(snapshot.read_bytes())
        snapshot.write_bytes(
            Snapshot(other.version, other.created, other.expires, other.files)
            .signed(PrivateKey.generate())
            .to_bytes()
        )
    env = {"PYTHONPATH": str(site), "PHONY_LOAD_PLUGINS": "phony-acme"}
    result = run_phony("generate", "xx_XX/first_names", "-n", "3", "--seed", "1", env=env)
    assert result.returncode in (3, 7), result.stderr  # unreadable (3) or untrue (7)
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: the xx_XX pack of plugin phony-acme 0.1.0: ")
    assert "snapshot" in errors[0]
    assert "Traceback" not in result.stderr


def test_phony_plugins_lists_what_acme_registered(acme_run: Run) -> None:
    listing = json.loads(acme_run("plugins", "--json", check=True).stdout)
    (plugin,) = [p for p in listing["plugins"] if p["name"] == "phony-acme"]
    assert plugin["version"] == "0.1.0"
    assert plugin["registered"] == {
        "commands": ["acme"],
        "formats": ["xml"],
        "generators": ["acme_iban"],
        "locales": ["xx_XX"],
        "schemas": ["xx_XX/person"],
    }
    assert listing["failures"] == []


def test_an_inline_column_of_the_generator(acme_run: Run) -> None:
    result = acme_run(
        "generate", "--column", "iban=acme_iban:bank_code=37040044", "-n", "5", "--seed", "1",
        check=True,
    )  # fmt: skip
    ibans = result.stdout.split()
    assert len(ibans) == 5
    assert all(_is_valid_iban(i) and i[4:12] == "37040044" for i in ibans)
    again = acme_run("generate", "--column", "iban=acme_iban:bank_code=37040044", "-n", "5",
                     "--seed", "1", "--format", "csv", check=True)  # fmt: skip
    assert again.stdout.split()[1:] == ibans


def test_a_schema_on_stdin_written_as_xml(acme_run: Run) -> None:
    schema = (
        '[columns.name]\ntype = "ngram"\nmodel = "xx_XX/first_names"\n\n'
        '[columns.iban]\ntype = "acme_iban"\n'
    )
    result = acme_run(
        "generate", "--schema", "-", "-n", "20", "--seed", "3", "--format", "xml",
        "--option", "root=people", input=schema, check=True,
    )  # fmt: skip
    root = ET.fromstring(result.stdout)  # noqa: S314 - phony's own output
    assert root.tag == "people"
    rows = [{cell.tag: cell.text for cell in row} for row in root]
    assert len(rows) == 20
    assert all(row["name"] and _is_valid_iban(row["iban"] or "") for row in rows)


def test_the_locale_pack_installs_lists_and_serves_its_schema(acme_run: Run) -> None:
    listed = acme_run("install", "--list", check=True).stdout
    assert "xx_XX@1.0.0" in listed
    assert "first_names" in listed
    installed = acme_run("install", "xx_XX", check=True).stdout
    assert "installed xx_XX@1.0.0 from the xx_XX pack of plugin phony-acme" in installed
    names = acme_run("generate", "xx_XX/first_names", "-n", "5", "--seed", "1", check=True)
    assert len(names.stdout.split()) == 5
    own = acme_run("generate", "--locale", "xx_XX", "--schema", "person", "-n", "3",
                   "--seed", "1", "--format", "csv", check=True)  # fmt: skip
    rows = list(csv.reader(io.StringIO(own.stdout)))
    assert rows[0] == ["first_name", "iban", "greeting"]  # xx_XX's own person schema
    assert all(row[2] == f"Hallo {row[0]}" and _is_valid_iban(row[1]) for row in rows[1:])
    generic = acme_run("generate", "--locale", "en_US", "--schema", "person", "-n", "1",
                       "--seed", "1", "--format", "csv", check=True)  # fmt: skip
    assert generic.stdout.splitlines()[0] == "first_name,last_name,email,city"


def test_the_plugin_command(acme_run: Run) -> None:
    result = acme_run("acme", "iban-check", "DE89370400440532013000", "DE00370400440532013000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "DE89370400440532013000 valid",
        "DE00370400440532013000 INVALID",
    ]


def test_a_bad_argument_is_a_validation_error_naming_the_field(acme_run: Run) -> None:
    result = acme_run("generate", "--column", "iban=acme_iban:bank_code=1234567x", "-n", "1")
    assert result.returncode == 3
    assert result.stderr.strip() == "error: columns.iban.bank_code: expected 8 digits"


IBAN_XML = ("generate", "--column", "iban=acme_iban", "-n", "50", "--seed", "1", "-f", "xml")
FAULTS = [
    # (fault, command, exit code, the error line's text)
    ("import", ("generate", "--column", "iban=acme_iban", "-n", "2"), 3,
     "error: columns.iban.type: unknown generator 'acme_iban' (available: ",
     "; plugin phony-acme 0.1.0 failed to load: RuntimeError: acme: injected fault at import"),
    ("hook", ("generate", "--column", "iban=acme_iban", "-n", "2"), 3,
     "error: columns.iban.type: unknown generator 'acme_iban' (available: ",
     "; plugin phony-acme 0.1.0 failed to load: phony_register_generators raised LookupError: "
     "acme: injected fault in a hook"),
    ("build", ("generate", "--column", "iban=acme_iban", "-n", "2"), 14,
     "error: plugin phony-acme 0.1.0: generator 'acme_iban' (build) failed: ValueError: "
     "acme: injected fault in build", ""),
    ("generate", ("generate", "--column", "iban=acme_iban", "-n", "2"), 14,
     "error: plugin phony-acme 0.1.0: generator 'acme_iban' (generate) failed: ArithmeticError: "
     "acme: injected fault in generate", ""),
    ("write", IBAN_XML, 14,
     "error: plugin phony-acme 0.1.0: format 'xml' (write) failed: RuntimeError: "
     "acme: injected fault in write", "(stdout already holds 46 bytes of incomplete output)"),
    ("command", ("acme", "iban-check", "DE89370400440532013000"), 14,
     "error: plugin phony-acme 0.1.0: command 'iban-check' failed: KeyError: "
     "'acme: injected fault in a command'", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "args", "code", "start", "end"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_a_fault_in_the_plugin_is_one_error_naming_it(
    acme_run: Run, fault: str, args: tuple[str, ...], code: int, start: str, end: str
) -> None:
    result = acme_run(*args, env={"PHONY_ACME_FAULT": fault})
    assert result.returncode == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(start), errors[0]
    assert end in errors[0], errors[0]
    assert "Traceback" not in result.stderr
    debug = acme_run(*args, env={"PHONY_ACME_FAULT": fault, "PHONY_DEBUG": "1"})
    assert debug.returncode == code
    assert "Traceback (most recent call last)" in debug.stderr
    assert "injected fault" in debug.stderr


def test_a_fault_while_writing_a_file_leaves_no_file(acme_run: Run, tmp_path: Path) -> None:
    target = tmp_path / "ibans.xml"
    result = acme_run(*IBAN_XML, "-o", str(target), env={"PHONY_ACME_FAULT": "write"})
    assert result.returncode == 14
    assert "format 'xml' (write) failed" in result.stderr
    assert "stdout" not in result.stderr
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_phony_plugins_fails_when_the_plugin_does_not_load(acme_run: Run) -> None:
    result = acme_run("plugins", env={"PHONY_ACME_FAULT": "import"})
    assert result.returncode == 11
    assert "phony-acme FAILED: RuntimeError: acme: injected fault at import" in result.stdout
    assert result.stderr.splitlines()[-1] == (
        "error: 1 plugin failed to load: phony-acme; phony --traceback plugins shows the traceback"
    )
    shown = acme_run("--traceback", "plugins", env={"PHONY_ACME_FAULT": "import"})
    assert shown.returncode == 11
    assert 'raise RuntimeError("acme: injected fault at import")' in shown.stderr


def test_a_misspelt_plugin_name_is_a_warning_with_the_right_one(acme_run: Run) -> None:
    result = acme_run("formats", env={"PHONY_LOAD_PLUGINS": "phony-acmee"})
    assert result.returncode == 0
    assert (
        "warning: PHONY_LOAD_PLUGINS names 'phony-acmee', which is not an installed plugin "
        "(did you mean 'phony-acme'?)"
    ) in result.stderr
    assert "xml" not in result.stdout


@pytest.mark.slow  # the CLI starts its own LocalCluster: about 10 s
def test_a_dataset_of_the_plugin_generator_on_dask_is_the_one_made_here(
    acme_run: Run, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    args = ("generate", "--column", "iban=acme_iban:bank_code=37040044", "-n", "2000",
            "--seed", "3", "--format", "csv", "--partitions", "3")  # fmt: skip
    acme_run(*args, "-o", f"{tmp_path}/here/", check=True)
    result = acme_run(*args, "--engine", "dask", "-o", f"{tmp_path}/dask/")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    made = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert made == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    for name in made:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
