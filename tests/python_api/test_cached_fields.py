"""Fields of models only in the local cache: what `phony models pull` and `phony install` add."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from phony_client.cli import main
from phony_registry import Phony
from phony_registry.builtins import model_in_folder
from phony_registry.digests import digest_bytes
from phony_registry.errors import NotFound, PluginFault
from phony_registry.facade import _phony, _sources
from phony_registry.format import load_model
from phony_registry.generators import column_seed
from phony_registry.hookspecs import hookimpl
from phony_registry.index import FileInfo, IndexEntry, Snapshot, render_index
from phony_registry.layout import (
    blob_path,
    index_path,
    manifest_path,
    registry_key_path,
    snapshot_path,
    to_local,
)
from phony_registry.manifest import Manifest, format_time
from phony_registry.plugins import load_plugins
from phony_registry.signing import PrivateKey

RunPhony = Callable[..., Any]


def _registry(folder: Path, key: PrivateKey, names: list[str]) -> Path:
    """A signed static registry holding ``names`` (each the bundled tr_TR cities model's bytes)."""
    blob = model_in_folder(_sources.bundled_root(), "tr_TR/cities")
    assert blob is not None
    data = blob.read_bytes()
    fmt = json.loads(
        to_local(_sources.bundled_root(), index_path("tr_TR/cities")).read_text().splitlines()[0]
    )["format_version"]
    files: dict[str, bytes] = {registry_key_path(): key.public_key.to_pem()}
    for name in names:
        manifest = Manifest.model(
            name, "1.0.0", digest=digest_bytes(data), size=len(data),
            format_version=fmt, kind="city", locale=name.partition("/")[0],
        ).signed(key)  # fmt: skip
        files[blob_path(manifest.digest or "")] = data
        files[manifest_path(name, "1.0.0")] = manifest.to_bytes()
        files[index_path(name)] = render_index([IndexEntry.for_manifest(manifest)])
    now = datetime.now(UTC)
    snapshot = Snapshot(
        version=1,
        created=format_time(now),
        expires=format_time(now + timedelta(days=30)),
        files={p: FileInfo.of(b) for p, b in files.items() if p.startswith("index/")},
    ).signed(key)
    files[snapshot_path()] = snapshot.to_bytes()
    for path, content in files.items():
        target = to_local(folder, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return folder


@pytest.fixture
def official_key(monkeypatch: pytest.MonkeyPatch) -> PrivateKey:
    """A key standing in for the official one, so a test registry may serve official names."""
    key = PrivateKey.generate()
    monkeypatch.setattr("phony_registry.signing.OFFICIAL_REGISTRY_KEY", key.public_key.to_base64())
    return key


def _pull(*args: str) -> None:
    assert main(["models", "pull", *args]) == 0


def test_an_official_model_pulled_into_the_cache_is_a_field_of_its_locale(
    tmp_path: Path, official_key: PrivateKey
) -> None:
    registry = _registry(tmp_path / "mirror", official_key, ["tr_TR/dog_names", "fr_FR/cat_names"])
    before = Phony("tr_TR", seed=3)
    assert "dog_name" not in before.fields()
    _pull("tr_TR/dog_names", "--registry", str(registry))
    _pull("fr_FR/cat_names", "--registry", str(registry))
    # An instance looks its fields up once: a model pulled later is the next one's.
    assert "dog_name" not in before.fields()
    fake = Phony("tr_TR", seed=3)
    # Listed, completed and drawn as the pack's own models are.
    assert fake.fields() == sorted([*_phony._DECLARED, "dog_name"])
    assert "dog_name" in dir(fake)
    model = load_model(model_in_folder(registry, "tr_TR/dog_names"))
    expected = model.generate(5, seed=column_seed(3, "dog_name"))
    assert [fake.dog_name() for _ in range(5)] == expected
    assert fake.value("dog_names") == model.generate(1, seed=3)[0]
    # Its method pickles as the pack's do, going on from where it was.
    twin = pickle.loads(pickle.dumps(fake.dog_name))  # noqa: S301 - pickled just above
    sixth = model.generate(6, seed=column_seed(3, "dog_name"))[5]
    assert twin() == fake.dog_name() == sixth
    # Another locale's cached model is that locale's field, not this one's.
    assert "cat_name" not in fake.fields()
    assert Phony(["fr_FR"], seed=3).fields() == ["cat_name"]
    assert "cat_name" in Phony(["tr_TR", "fr_FR"], seed=3).fields()


def test_a_model_that_cannot_be_found_is_looked_for_again_at_the_next_call(
    tmp_path: Path, official_key: PrivateKey
) -> None:
    # A failed look-up leaves the stream as it was, not ended: once the model
    # is pulled, the same instance draws its first values.
    registry = _registry(tmp_path / "mirror", official_key, ["fr_FR/cat_names"])
    fake = Phony(["fr_FR"], seed=2)
    for _ in range(2):
        with pytest.raises(NotFound):
            fake.value("fr_FR/cat_names")
    _pull("fr_FR/cat_names", "--registry", str(registry))
    model = load_model(model_in_folder(registry, "fr_FR/cat_names"))
    assert [fake.value("fr_FR/cat_names") for _ in range(3)] == model.generate(3, seed=2)


def test_a_community_model_in_the_cache_is_a_value_not_a_field(
    tmp_path: Path, run_phony: RunPhony
) -> None:
    # alice/names has a namespace, not a locale: its name would clash with
    # name(), and bob/names with it; fake.value("alice/names") draws it.
    names = tmp_path / "names.txt"
    names.write_text("deniz\numut\nece\nada\nilker\n")
    model = tmp_path / "names.phony"
    registry = tmp_path / "team-registry"
    run_phony("train", str(names), "-o", str(model), "--locale", "tr_TR", check=True)
    run_phony("models", "push", str(model), "alice/names@1.0.0", "--registry", str(registry),
              check=True)  # fmt: skip
    run_phony("models", "pull", "alice/names", "--registry", str(registry), check=True)
    fake = Phony("tr_TR", seed=1)
    assert fake.fields() == sorted(_phony._DECLARED)
    assert fake.value("alice/names")


class _Lister:
    """A plugin naming models through phony_list_models, answering ``answer``."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    @hookimpl
    def phony_list_models(self, locale: str) -> object:
        return self.answer if locale == "tr_TR" else None


def test_a_plugin_names_models_of_a_locale_that_become_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Names of other locales, with a version, or no identifier are left out.
    answer = ["tr_TR/plate_numbers", "en_US/zip_codes", "tr_TR/x-y", "tr_TR/_hidden", "de"]
    plugins = load_plugins(extra={"lister": _Lister(answer)})
    monkeypatch.setattr("phony_registry.plugins.get_plugins", lambda: plugins)
    assert Phony("tr_TR").fields() == sorted([*_phony._DECLARED, "plate_number"])
    assert Phony("en_US").fields() == sorted(_phony._DECLARED)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [("tr_TR/cities", "not a list of model names"), ([3], "3 among the model names")],
    ids=["a string", "a number"],
)
def test_a_plugin_naming_models_wrongly_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, answer: object, problem: str
) -> None:
    plugins = load_plugins(extra={"lister": _Lister(answer)})
    monkeypatch.setattr("phony_registry.plugins.get_plugins", lambda: plugins)
    with pytest.raises(PluginFault, match=rf"^plugin lister: hook phony_list_models .*{problem}"):
        Phony("tr_TR").fields()
