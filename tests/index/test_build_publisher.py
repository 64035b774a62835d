"""The official index is published through the core's one publisher, as any registry is.

A rebuild is a push of every official release into the index: a release
already there is an idempotent no-op (an up-to-date index is left byte for
byte as it is), another blob or other metadata under a published version is
refused (bump ``OFFICIAL_VERSION``), and text a registry refuses is refused
here too. Signing with a throw-away key needs no secret.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import phony_index
from phony_index._build import build as official
from phony_index._build.build import build_files, publish_official, read_index, rebuild
from phony_index._build.data import ModelData
from phony_registry.errors import AlreadyExists, InvalidManifest
from phony_registry.index import Snapshot
from phony_registry.layout import SNAPSHOT
from phony_registry.signing import PrivateKey, load_private_key

pytest.importorskip("faker", reason="the official index is built from Faker data (dev extra)")
pytest.importorskip("mimesis", reason="the official index is built from Mimesis data (dev extra)")

OFFICIAL_KEY = Path(__file__).resolve().parents[3] / "shared/keys/official-index-signing.pem"


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def built(tmp_path: Path, key: PrivateKey) -> Path:
    """A fresh index published into an empty folder with a throw-away key."""
    root = tmp_path / "index"
    publish_official(root, key)
    return root


def test_a_fresh_build_is_what_build_files_returns(built: Path, key: PrivateKey) -> None:
    assert read_index(built) == build_files(key)
    assert not (built / ".journal").exists() or not any((built / ".journal").iterdir())


def test_publishing_again_changes_nothing(built: Path, key: PrivateKey) -> None:
    before = read_index(built)
    assert rebuild(built, key) == 0
    assert read_index(built) == before


def _changed(data: ModelData) -> ModelData:
    from dataclasses import replace

    if data.name != "cities" or data.locale != "tr_TR":
        return data
    return replace(data, values=(*data.values, "Yeniköy"))


def test_another_blob_under_a_published_version_is_refused(
    built: Path, key: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = read_index(built)
    real = official.locale_models
    monkeypatch.setattr(official, "locale_models", lambda loc: [_changed(m) for m in real(loc)])
    with pytest.raises(AlreadyExists, match=r"tr_TR/cities@1\.0\.0 is already published"):
        rebuild(built, key)
    assert read_index(built) == before


def test_text_a_registry_refuses_is_refused_by_the_build(
    tmp_path: Path, key: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    real = official.locale_models
    monkeypatch.setattr(
        official,
        "locale_models",
        lambda loc: [replace(m, description=m.description + "\nsigned by: x") for m in real(loc)],
    )
    root = tmp_path / "index"
    with pytest.raises(InvalidManifest, match=r"^description: holds a control character \(\\n\)"):
        rebuild(root, key)
    assert read_index(root) == {}


@pytest.mark.skipif(
    not OFFICIAL_KEY.exists(),
    reason=f"the official signing key {OFFICIAL_KEY} is not on this machine (maintainers only)",
)
def test_rebuilding_the_committed_index_leaves_it_byte_for_byte(tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(phony_index.ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert official.main(["--key", str(OFFICIAL_KEY), "--out", str(copy)]) == 0
    assert read_index(copy) == read_index(Path(phony_index.ROOT))
    assert Snapshot.from_bytes(read_index(copy)[SNAPSHOT]).verify(
        load_private_key(OFFICIAL_KEY).public_key
    )
