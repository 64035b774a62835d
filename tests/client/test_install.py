"""``phony install``: locale packs from the bundled official index or configured registries."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from registry_sim import RegistrySim, cache_files, train_bytes

import phony_index
from phony_client.cli import main
from phony_client.config import Config, RegistryConfig
from phony_client.install import parse_install_target, registry_order
from phony_client.pull import official_location
from phony_registry.layout import blob_path, manifest_path
from phony_registry.manifest import PackMember

TR_MODELS = [
    "tr_TR/cities",
    "tr_TR/companies",
    "tr_TR/first_names",
    "tr_TR/first_names_female",
    "tr_TR/first_names_male",
    "tr_TR/last_names",
    "tr_TR/streets",
]


def phony(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def write_config(text: str) -> None:
    import os

    folder = Path(os.environ["PHONY_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text, encoding="utf-8")


def official_blob(name: str) -> bytes:
    manifest = json.loads((phony_index.ROOT / manifest_path(name, "1.0.0")).read_bytes())
    return (phony_index.ROOT / blob_path(manifest["digest"])).read_bytes()


@dataclass
class Mirror:
    """A team registry mirroring the official index: other location, the official key's bytes."""

    root: Path

    @property
    def location(self) -> str:
        return str(self.root)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def read(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()


@pytest.fixture
def team(tmp_path: Path) -> Mirror:
    """A team registry serving the official packs (a mirror of the bundled index)."""
    root = tmp_path / "team"
    for part in ("blobs", "index", "manifests", "keys"):
        shutil.copytree(phony_index.ROOT / part, root / part)
    shutil.copy(phony_index.ROOT / "snapshot.json", root / "snapshot.json")
    return Mirror(root)


@pytest.fixture
def own_pack(tmp_path: Path) -> RegistrySim:
    """A team registry with its own two-model tr_TR pack, signed by its own key only."""
    sim = RegistrySim(tmp_path / "own")
    first = sim.publish("tr_TR/first_names", "2.0.0", train_bytes(), snapshot=False)
    last = sim.publish("tr_TR/last_names", "2.0.0", train_bytes(["yilmaz", "kaya", "demir"]))
    members = [PackMember(m.name, m.version, m.digest or "") for m in (first, last)]
    sim.publish_pack("tr_TR", "2.0.0", members)
    return sim


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tr_TR", "tr_TR"),
        ("tr-TR", "tr_TR"),
        ("tr_tr", "tr_TR"),
        ("EN-us", "en_US"),
        ("tr-tr/first_names", "tr_TR/first_names"),
        ("tr_tr@^1", "tr_TR@^1"),
    ],
)
def test_locale_spellings(text: str, expected: str) -> None:
    assert parse_install_target(text) == expected


def test_install_offline_from_the_bundled_index(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHONY_OFFLINE", "1")
    code, out, err = phony(capsys, "install", "tr-tr")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "installed tr_TR@1.0.0 from the bundled official index: 7 models"
    assert [line.split()[0] for line in lines[1:8]] == [f"{m}@1.0.0" for m in TR_MODELS]
    assert lines[-1] == "try: phony generate tr_TR/first_names --count 5"
    code, out, err = phony(capsys, "generate", "tr_TR/first_names", "--count", "5", "--seed", "1")
    assert code == 0, err
    from phony_registry.format import load_model

    assert out.splitlines() == load_model(official_blob("tr_TR/first_names")).generate(5, 1)


def test_install_json_lists_pack_and_members(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = phony(capsys, "install", "en_US", "--json")
    assert code == 0
    [item] = json.loads(out)
    assert item["installed"] == "en_US"
    assert item["refs"][0] == {
        "name": "en_US", "version": "1.0.0", "type": "pack", "digest": None, "size": None,
    }  # fmt: skip
    assert len(item["refs"]) == 8


def test_missing_model_names_locale_and_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = phony(capsys, "install", "tr_TR/iban")
    assert code == 8
    assert out == ""
    assert "error: locale tr_TR has no model 'iban' (tr_TR/iban)" in err


def test_community_names_are_not_installed(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = phony(capsys, "install", "alice/names")
    assert code == 2
    assert "pull community models with `phony models pull`" in err


def test_default_order_is_env_then_config_then_the_bundled_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert registry_order(config=Config()) == [official_location()]
    config = Config(
        default_registry="b",
        registries={"a": RegistryConfig("a", "/srv/a"), "b": RegistryConfig("b", "/srv/b")},
    )
    monkeypatch.setenv("PHONY_REGISTRY", "http://127.0.0.1:8000")
    assert registry_order(config=config) == [
        "http://127.0.0.1:8000", "/srv/b", "/srv/a", official_location(),
    ]  # fmt: skip
    assert registry_order("a", config) == ["/srv/a"]


def test_install_order_in_config_is_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(
        default_registry="a",
        registries={"a": RegistryConfig("a", "/srv/a"), "b": RegistryConfig("b", "/srv/b")},
        extra={"install_order": ["official", "b"]},
    )
    assert registry_order(config=config) == [official_location(), "/srv/b"]


def test_configured_default_registry_is_tried_first(
    capsys: pytest.CaptureFixture[str], team: Mirror
) -> None:
    write_config(f'default_registry = "team"\n[registries.team]\nurl = "{team.location}"\n')
    code, out, err = phony(capsys, "install", "tr_TR")
    assert code == 0, err
    assert out.splitlines()[0] == f"installed tr_TR@1.0.0 from {team.location}: 7 models"


def test_official_names_signed_by_a_registry_key_are_refused(
    capsys: pytest.CaptureFixture[str], own_pack: RegistrySim
) -> None:
    # A registry may serve official names, but only the official key vouches for them.
    write_config(f'default_registry = "own"\n[registries.own]\nurl = "{own_pack.location}"\n')
    code, out, err = phony(capsys, "install", "tr_TR")
    assert code == 7  # no silent fallback to the bundled index either
    assert out == ""
    assert err.startswith(f"error: manifest of tr_TR@2.0.0 from {own_pack.location} is not")
    assert "not signed by the official key" in err
    assert not any(path.startswith("refs/") for path in cache_files())


def test_install_order_can_put_the_official_index_first(
    capsys: pytest.CaptureFixture[str], team: Mirror
) -> None:
    write_config(
        'install_order = ["official", "team"]\n'
        f'default_registry = "team"\n[registries.team]\nurl = "{team.location}"\n'
    )
    code, out, _ = phony(capsys, "install", "tr_TR")
    assert code == 0
    assert out.startswith("installed tr_TR@1.0.0 from the bundled official index")


def test_a_registry_without_the_pack_is_skipped_with_a_note(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PHONY_REGISTRY", str(tmp_path / "empty"))
    code, out, err = phony(capsys, "install", "en_US")
    assert code == 0
    assert f"phony: skipped {tmp_path / 'empty'}: snapshot.json not found" in err
    assert out.startswith("installed en_US@1.0.0 from the bundled official index")


def test_offline_skips_a_server_and_uses_the_bundled_index(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHONY_OFFLINE", "1")
    monkeypatch.setenv("PHONY_REGISTRY", "http://127.0.0.1:9")
    code, out, err = phony(capsys, "install", "tr_TR")
    assert code == 0
    assert "phony: skipped http://127.0.0.1:9: PHONY_OFFLINE is set" in err
    assert out.startswith("installed tr_TR@1.0.0 from the bundled official index")


def test_explicit_registry_is_the_only_one_tried(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = phony(capsys, "install", "tr_TR", "--registry", str(tmp_path / "none"))
    assert code == 8
    assert out == ""
    assert "no registry has the tr_TR pack" in err
    assert "bundled official index" not in err


def test_a_tampered_registry_stops_the_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, team: Mirror
) -> None:
    pack = json.loads(team.read(manifest_path("tr_TR", "1.0.0")))
    blob = team.path(blob_path(pack["members"][1]["digest"]))
    data = bytearray(blob.read_bytes())
    data[-5] ^= 0x01
    blob.write_bytes(bytes(data))
    monkeypatch.setenv("PHONY_REGISTRY", team.location)
    code, out, err = phony(capsys, "install", "tr_TR")
    assert code == 7  # an integrity error: no silent fallback to another registry
    assert out == ""
    assert "error: blob sha256:" in err
    assert not any(path.startswith("refs/") for path in cache_files())


def test_a_locale_pack_shipped_by_a_plugin_comes_after_the_registries(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from phony_registry.plugins import get_plugins

    monkeypatch.setenv("PHONY_LOAD_PLUGINS", "phony-locale-de-de")
    get_plugins.cache_clear()
    source = get_plugins().locales.get("de_DE")
    if source is None:
        pytest.skip("the first-party plugin phony-locale-de-de is not installed")
    assert registry_order(config=Config(), locale="de_DE") == [
        official_location(), str(source.path),
    ]  # fmt: skip
    code, out, err = phony(capsys, "install", "de-de")
    assert code == 0, err
    assert out.startswith("installed de_DE@1.1.0 from the de_DE pack of plugin phony-locale-de-de")
    assert "phony: skipped the bundled official index: de_DE is not in registry" in err


def test_list_shows_the_packs_available_offline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = phony(capsys, "install", "--list")
    assert code == 0
    assert out.splitlines() == [
        "en_US@1.0.0  the bundled official index",
        "  cities, companies, first_names, first_names_female, first_names_male, last_names, "
        "streets",
        "tr_TR@1.0.0  the bundled official index",
        "  cities, companies, first_names, first_names_female, first_names_male, last_names, "
        "streets",
    ]


def test_no_locale_is_a_usage_error_naming_the_available_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = phony(capsys, "install")
    assert code == 2
    assert out == ""
    assert "error: name a locale to install, e.g. phony install tr_TR (here: en_US, tr_TR)" in err
