"""config.toml: named registries, the default one, trusted keys, up-front pins; PHONY_REGISTRY."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from registry_sim import RegistrySim

from phony_client.config import (
    Config,
    RegistryConfig,
    TrustedKey,
    config_dir,
    load_config,
    registry_id,
    save_config,
)
from phony_client.pull import official_location, pull, registry_location
from phony_registry.errors import ConfigError, KeyChangedError
from phony_registry.names import parse_name
from phony_registry.signing import PrivateKey


def test_round_trip_and_private_mode(tmp_path: Path) -> None:
    config = Config(
        default_registry="team",
        registries={"team": RegistryConfig("team", str(tmp_path / "reg"))},
        trusted_keys=[TrustedKey(PrivateKey.generate().public_key.to_base64(), namespace="alice")],
    )
    path = save_config(config)
    assert path == config_dir() / "config.toml"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_config()
    assert again.default_registry == "team"
    assert again.registries["team"].url == str(tmp_path / "reg")
    assert again.trusted_for("alice", "file:/x") == [config.trusted_keys[0].key]
    assert again.trusted_for("bob", "file:/x") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("default_registry = 'nope'", "not in \\[registries\\]"),
        ("[registries.team]\nurl = 3", "registries.team.url"),
        ("this is not toml", "not valid TOML"),
        ("trusted_keys = 'x'", "trusted_keys"),
    ],
    ids=["unknown-default", "bad-url", "not-toml", "bad-trusted"],
)
def test_bad_config_names_the_file_and_the_problem(text: str, message: str) -> None:
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config()


def test_registry_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert registry_location(None, Config()) == official_location()
    config = Config(
        default_registry="team", registries={"team": RegistryConfig("team", "/srv/team")}
    )
    assert registry_location(None, config) == "/srv/team"
    monkeypatch.setenv("PHONY_REGISTRY", "https://models.example.org")
    assert registry_location(None, config) == "https://models.example.org"
    assert registry_location("team", config) == "/srv/team"
    assert registry_location("./elsewhere", config) == "./elsewhere"


def test_registry_ids() -> None:
    assert registry_id("https://Models.example.org/") == "https://Models.example.org"
    assert registry_id("file:///srv/x") == "file:/srv/x"
    assert registry_id("/srv/x/../x") == "file:/srv/x"


def test_named_registry_with_an_up_front_pin(sim: RegistrySim, model_v2: bytes) -> None:
    sim.publish("alice/names", "1.0.0", model_v2)
    pinned = PrivateKey.generate().public_key.to_base64()
    save_config(Config(registries={"team": RegistryConfig("team", sim.location, key=pinned)}))
    with pytest.raises(KeyChangedError, match="is pinned"):
        pull("alice/names", registry="team")
    save_config(
        Config(
            default_registry="team",
            registries={
                "team": RegistryConfig("team", sim.location, key=sim.key.public_key.to_base64())
            },
        )
    )
    assert pull("alice/names").ref.location == sim.location


def test_namespaces_table_round_trips_and_refuses_locales() -> None:
    config = Config(
        registries={"team": RegistryConfig("team", "/srv/team")},
        namespaces={"alice": "team", "*": "http://mirror.example"},
    )
    save_config(config)
    again = load_config()
    assert again.namespaces == {"alice": "team", "*": "http://mirror.example"}
    assert registry_location(config=again, name=parse_name("alice/names")) == "/srv/team"
    assert registry_location(config=again, name=parse_name("bob/x")) == "http://mirror.example"
    assert registry_location(config=again, name=parse_name("tr_TR/x")) == official_location()
    for bad, message in (("tr_TR", "is a locale"), ("Bad Name", "namespaces")):
        (config_dir() / "config.toml").write_text(f'[namespaces]\n"{bad}" = "team"\n')
        with pytest.raises(ConfigError, match=message):
            load_config()


def test_a_locale_two_plugins_register_speaks_for_neither_in_the_trust_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pathlib import Path
    from types import SimpleNamespace

    from phony_client import config as config_module
    from phony_registry import plugins as plugins_module

    sources = {"de_DE": SimpleNamespace(path=Path("/a")), "tr_TR": SimpleNamespace(path=Path("/b"))}
    fake = SimpleNamespace(
        locales=sources, conflicts={("locales", "de_DE"): ["loc-clash", "phony-locale-de-de"]}
    )
    monkeypatch.setattr(plugins_module, "get_plugins", lambda: fake)
    policy = config_module.trust_policy(config_module.Config())
    assert set(policy.locale_sources) == {"tr_TR"}
