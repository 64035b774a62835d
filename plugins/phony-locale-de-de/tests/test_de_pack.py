"""The de_DE pack: a valid, signed static registry whose models phony finds by name."""

from __future__ import annotations

from pathlib import Path

import phony_locale_de_de
import pytest

from phony_registry.digests import digest_bytes
from phony_registry.format import load_model
from phony_registry.index import Snapshot, parse_index
from phony_registry.layout import REGISTRY_KEY, SNAPSHOT, blob_path, manifest_path, to_local
from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey, PublicKey, save_private_key
from phony_registry.testing import PluginTester, run_phony

ROOT = phony_locale_de_de.REGISTRY
MODELS = ["first_names", "last_names", "cities", "streets"]


def _read(path: str) -> bytes:
    return to_local(ROOT, path).read_bytes()


def test_snapshot_and_pack_manifest_verify() -> None:
    key = PublicKey.from_pem(_read(REGISTRY_KEY))
    snapshot = Snapshot.from_bytes(_read(SNAPSHOT))
    assert snapshot.verify(key) == [key.keyid]  # raises SignatureError when it does not verify
    for path in snapshot.files:
        snapshot.check_file(path, _read(path))
    pack = Manifest.from_bytes(_read(manifest_path("de_DE", "1.1.0")))
    assert pack.verify([key]) == [key.keyid]
    assert sorted(m.name for m in pack.members) == sorted(f"de_DE/{m}" for m in MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_each_model_is_intact_and_generates(model: str) -> None:
    (entry,) = parse_index(_read(f"index/de_de/{model}.jsonl"))
    assert entry.digest is not None
    blob = _read(blob_path(entry.digest))
    assert digest_bytes(blob) == entry.digest
    loaded = load_model(blob)
    assert loaded.meta.locale == "de_DE"
    assert "MIT" in (loaded.meta.license or "")
    values = loaded.generate(50, seed=1)
    assert len(values) == 50
    assert all(v.strip() for v in values)


def test_phony_finds_the_models_by_name() -> None:
    names = PluginTester(phony_locale_de_de).check_generator(
        "ngram", {"model": "de_DE/first_names"}, valid=str.strip
    )
    assert len(set(names)) > 100


def test_the_committed_models_are_what_phony_locale_build_makes(tmp_path: Path) -> None:
    """Rebuilt with the public command (and a throw-away key), the models are the same bytes."""
    key = tmp_path / "throwaway.pem"
    save_private_key(key, PrivateKey.generate())
    pack = Path(__file__).resolve().parents[1] / "pack" / "pack.toml"
    result = run_phony("locale", "build", str(pack), "-o", str(tmp_path / "out"), "--key", str(key))
    assert result.returncode == 0, result.stderr
    rebuilt = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")
    )
    committed = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*"))
    assert rebuilt == committed
    for path in rebuilt:
        if path.startswith(("blobs/", "schemas/")) and (ROOT / path).is_file():
            assert (tmp_path / "out" / path).read_bytes() == (ROOT / path).read_bytes(), path


def test_the_german_person_schema_replaces_the_generic_one() -> None:
    tester = PluginTester(phony_locale_de_de)
    assert tester.registered["schemas"] == ["de_DE/person"]
    assert tester.plugins.schema("person", "de_DE").path == ROOT / "schemas" / "person.toml"
    assert tester.plugins.schema("person", "tr_TR").path.parent.name == "schemas"
    assert tester.plugins.schema("person", "tr_TR").locale is None
