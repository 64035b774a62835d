"""phony_registry.localepack: pack.toml checked by field; the build signed, whole or absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from phony_registry.errors import TrainingError, UsageError, ValidationError
from phony_registry.localepack import build_pack, read_pack_spec
from phony_registry.reader import FolderSource, VerifiedReader
from phony_registry.signing import PrivateKey
from phony_registry.trust import TrustPolicy

NAMES = "\n".join(["Ada", "Alma", "Bela", "Cleo", "Dara", "Elin", "Emil", "Enzo", "Ines", "Ivo"])


def _pack(tmp_path: Path, extra: str = "", schema: str | None = None) -> Path:
    (tmp_path / "names.txt").write_text(NAMES + "\n")
    text = (
        'locale = "xx_XX"\nversion = "1.0.0"\ncreated = 2026-01-01T00:00:00Z\n'
        '[models.first_names]\nvalues = "names.txt"\norder = 2\n' + extra
    )
    if schema is not None:
        (tmp_path / "person.toml").write_text(schema)
        text += '[schemas.person]\npath = "person.toml"\n'
    path = tmp_path / "pack.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('version = "1.0.0"\n[models.a]\nvalues = "a.txt"\n', r"^locale: expected a locale"),
        ('locale = "xx_XX"\n[models.a]\nvalues = "a.txt"\n', r"^version: is required"),
        ('locale = "xx_XX"\nversion = "1.0.0"\n', r"^models: a pack needs at least one"),
        ('locale = "xx_XX"\nversion = "1"\nnope = 1\n', r"^nope: unknown key"),
        (
            'locale = "xx_XX"\nversion = "1.0.0"\n[models.a]\nvalues = "a.txt"\norder = 12\n',
            r"^models\.a\.order: expected 1 to 8",
        ),
        (
            'locale = "xx_XX"\nversion = "1.0.0"\n[models.a]\nkind = "x"\n',
            r"^models\.a\.values: is required",
        ),
    ],
    ids=["no-locale", "no-version", "no-models", "unknown-key", "bad-order", "no-values"],
)
def test_a_bad_pack_file_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pack.toml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=message):
        read_pack_spec(path)


def test_the_build_is_a_verified_registry_of_the_pack(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    built = build_pack(read_pack_spec(_pack(tmp_path)), tmp_path / "registry", key)
    assert built.keyid == key.public_key.keyid
    assert set(built.models) == {"first_names"}
    names = sorted(
        p.relative_to(tmp_path / "registry").as_posix()
        for p in (tmp_path / "registry").rglob("*")
        if p.is_file()
    )
    assert "snapshot.json" in names
    assert not [n for n in names if n.startswith((".journal", ".locks"))]
    from phony_registry.names import parse_name

    reader = VerifiedReader(
        FolderSource(tmp_path / "registry"),
        policy=TrustPolicy(locale_sources={"xx_XX": FolderSource(tmp_path / "registry").id}),
    )
    (entry,) = reader.index(parse_name("xx_XX"))
    pack = reader.manifest(entry)
    assert [m.name for m in pack.members] == ["xx_XX/first_names"]


def test_another_key_is_refused_and_the_pack_kept(tmp_path: Path) -> None:
    spec = read_pack_spec(_pack(tmp_path))
    build_pack(spec, tmp_path / "registry", PrivateKey.generate())
    before = (tmp_path / "registry" / "snapshot.json").read_bytes()
    with pytest.raises(UsageError, match=r"is signed by key .*, not by the key given"):
        build_pack(spec, tmp_path / "registry", PrivateKey.generate())
    assert (tmp_path / "registry" / "snapshot.json").read_bytes() == before


def test_a_failed_build_leaves_the_previous_pack(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    build_pack(read_pack_spec(_pack(tmp_path)), tmp_path / "registry", key)
    before = sorted(p.name for p in (tmp_path / "registry").rglob("*"))
    (tmp_path / "names.txt").write_bytes(b"\xff\xfe not text")
    with pytest.raises(TrainingError):
        build_pack(read_pack_spec(tmp_path / "pack.toml"), tmp_path / "registry", key)
    assert sorted(p.name for p in (tmp_path / "registry").rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".registry")] == []


def test_a_schema_naming_a_model_the_pack_lacks_is_refused(tmp_path: Path) -> None:
    schema = '[columns.city]\ntype = "ngram"\nmodel = "cities"\n'
    spec = read_pack_spec(_pack(tmp_path, schema=schema))
    with pytest.raises(ValidationError, match="model 'cities' is not a model of the xx_XX pack"):
        build_pack(spec, tmp_path / "registry", PrivateKey.generate())
    assert not (tmp_path / "registry").exists()


def test_a_schema_is_shipped_beside_the_registry(tmp_path: Path) -> None:
    schema = '[columns.name]\ntype = "ngram"\nmodel = "first_names"\n'
    built = build_pack(
        read_pack_spec(_pack(tmp_path, schema=schema)), tmp_path / "out", PrivateKey.generate()
    )
    assert built.schemas == ("person",)
    assert (tmp_path / "out" / "schemas" / "person.toml").read_text() == schema
