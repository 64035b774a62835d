"""phony locale build writes only inside its output folder, whatever pack.toml names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from phony_registry.errors import InvalidName
from phony_registry.localepack import build_pack, read_pack_spec
from phony_registry.signing import PrivateKey

Run = Callable[..., CompletedProcess[str]]
SCHEMA = '[columns.name]\ntype = "ngram"\nmodel = "x"\n'


def _pack(folder: Path, schema_name: str, model_name: str = "x") -> Path:
    """``folder/p2/pack.toml`` with one model and one schema under the names given."""
    pack = folder / "p2"
    pack.mkdir(parents=True)
    (pack / "v.txt").write_text("ali\nveli\nayse\nfatma\nmehmet\n")
    (pack / "s.toml").write_text(SCHEMA)
    (pack / "pack.toml").write_text(
        'locale = "xx_XX"\nversion = "1.0.0"\n'
        f'[models."{model_name}"]\nvalues = "v.txt"\nkind = "first_name"\n'
        f'[schemas."{schema_name}"]\npath = "s.toml"\n'
    )
    return pack / "pack.toml"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.mark.parametrize(
    "name",
    ["../../evil", "../evil", "a/b", "/tmp/evil", "Person", ".hidden", "nul", ""],
    ids=["up-two", "up-one", "two-segments", "absolute", "uppercase", "dot", "device", "empty"],
)
def test_a_schema_name_follows_the_model_name_rules(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidName, match=r"^schemas\."):
        read_pack_spec(_pack(tmp_path, name))


def test_a_model_name_is_refused_when_the_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidName, match=r"^models\..*at most two segments"):
        read_pack_spec(_pack(tmp_path, "person", model_name="../x"))


def test_the_build_writes_nothing_outside_its_folder(tmp_path: Path, run_phony: Run) -> None:
    work = tmp_path / "w" / "a"
    pack = _pack(work, "../../evil")
    key = tmp_path / "key.pem"
    key.write_bytes(PrivateKey.generate().to_pem())
    before = _files(tmp_path)
    result = run_phony("locale", "build", str(pack), "-o", str(work / "r2"), "--key", str(key))
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith('error: schemas."../../evil": '), lines
    assert "Traceback" not in result.stderr
    assert _files(tmp_path) == before


def test_a_valid_schema_name_is_still_shipped(tmp_path: Path) -> None:
    built = build_pack(
        read_pack_spec(_pack(tmp_path, "person")), tmp_path / "out", PrivateKey.generate()
    )
    assert built.schemas == ("person",)
    assert (tmp_path / "out" / "schemas" / "person.toml").read_text() == SCHEMA
    assert not list(tmp_path.glob("*.toml"))


def test_a_spec_built_in_code_cannot_write_outside_either(tmp_path: Path) -> None:
    """The check at the write itself, for a PackSpec that never went through pack.toml."""
    spec = read_pack_spec(_pack(tmp_path / "w" / "a", "person"))
    schema = spec.schemas["person"]
    bad = type(spec)(spec.locale, spec.version, spec.models, schemas={"../../evil": schema})
    before = _files(tmp_path)
    with pytest.raises(InvalidName, match=r'^schemas\."\.\./\.\./evil": '):
        build_pack(bad, tmp_path / "w" / "a" / "r2", PrivateKey.generate())
    assert _files(tmp_path) == before
