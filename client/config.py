"""Client configuration: ``config.toml``, own keys, trusted keys, registry pins.

Everything lives in the config dir: ``PHONY_CONFIG_DIR``, else
``platformdirs.user_config_dir("phony")`` (``~/.config/phony`` on Linux)::

    config.toml                 named registries, the default one, trusted keys
    keys/<name>.pem             own Ed25519 private keys (0600): publisher and registry keys
    registries/<id>.json        per registry: the pinned key and the highest snapshot version seen

``config.toml``, read with tomllib and written with tomli-w::

    default_registry = "team"

    [registries.team]
    url = "/srv/shared/team-registry"       # a folder, file://..., or http(s)://...
    key = "<base64>"                        # optional: pin this registry key up front
    signing_key = "/path/to/registry.pem"   # optional: the folder's snapshot key, for pushing

    [[trusted_keys]]
    key = "<base64 Ed25519 public key>"
    namespace = "alice"                     # or: registry = "team"
    comment = "Alice's release key"

Pins learnt on first use live in ``registries/`` (machine state, not
settings), written through a temporary file and ``os.replace``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phony_registry.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "Config",
    "RegistryConfig",
    "RegistryState",
    "TrustedKey",
    "atomic_write",
    "config_dir",
    "is_offline",
    "iter_private_key_files",
    "keys_dir",
    "load_config",
    "registry_id",
    "save_config",
]

CONFIG_FILE = "config.toml"


def config_dir() -> Path:
    """phony's config dir: ``PHONY_CONFIG_DIR`` or the platform's user config dir."""
    override = os.environ.get("PHONY_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("phony"))


def keys_dir() -> Path:
    """Where own private keys live (``<config>/keys``)."""
    return config_dir() / "keys"


def is_offline() -> bool:
    """True when ``PHONY_OFFLINE`` asks for no network at all."""
    return os.environ.get("PHONY_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    from phony_registry._fs import write_atomic

    write_atomic(path, data, mode=mode)


def registry_id(location: str) -> str:
    """The identity of a registry: ``file:<absolute path>`` or its URL without trailing ``/``."""
    if re.match(r"^https?://", location, re.IGNORECASE):
        return location.rstrip("/")
    if location.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        location = unquote(urlsplit(location).path)
    return "file:" + str(Path(location).expanduser().resolve())


@dataclass(frozen=True)
class RegistryConfig:
    """A named registry from ``config.toml``."""

    name: str
    url: str
    key: str | None = None
    signing_key: str | None = None


@dataclass(frozen=True)
class TrustedKey:
    """A public key trusted to sign manifests of one namespace, or of one registry."""

    key: str
    namespace: str | None = None
    registry: str | None = None
    comment: str = ""

    def to_dict(self) -> dict[str, str]:
        """The TOML table."""
        data = {"key": self.key}
        if self.namespace:
            data["namespace"] = self.namespace
        if self.registry:
            data["registry"] = self.registry
        if self.comment:
            data["comment"] = self.comment
        return data


@dataclass
class Config:
    """The parsed ``config.toml`` (missing file = empty config)."""

    default_registry: str | None = None
    registries: dict[str, RegistryConfig] = field(default_factory=dict)
    trusted_keys: list[TrustedKey] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def registry(self, name_or_location: str) -> RegistryConfig | None:
        """A named registry, or the configured one whose URL is this location."""
        if name_or_location in self.registries:
            return self.registries[name_or_location]
        wanted = registry_id(name_or_location)
        for entry in self.registries.values():
            if registry_id(entry.url) == wanted:
                return entry
        return None

    def trusted_for(self, namespace: str | None, registry: str) -> list[str]:
        """Base64 keys trusted for ``namespace`` or for the registry with id ``registry``."""
        found = []
        for trusted in self.trusted_keys:
            if namespace and trusted.namespace == namespace:
                found.append(trusted.key)
            elif trusted.registry:
                entry = self.registries.get(trusted.registry)
                location = entry.url if entry else trusted.registry
                if registry_id(location) == registry:
                    found.append(trusted.key)
        return found

    def to_dict(self) -> dict[str, Any]:
        """The TOML document."""
        data: dict[str, Any] = dict(self.extra)
        if self.default_registry:
            data["default_registry"] = self.default_registry
        if self.registries:
            data["registries"] = {
                name: {k: v for k, v in vars(entry).items() if v is not None and k != "name"}
                for name, entry in sorted(self.registries.items())
            }
        if self.trusted_keys:
            data["trusted_keys"] = [t.to_dict() for t in self.trusted_keys]
        return data


def _str(value: object, where: str, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}: {where} must be a non-empty string")
    return value


def load_config() -> Config:
    """Read ``config.toml``; :class:`ConfigError` names the file and the problem."""
    import tomllib

    path = config_dir() / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    config = Config()
    default = data.pop("default_registry", None)
    config.default_registry = _str(default, "default_registry", path) if default else None
    registries = data.pop("registries", {})
    if not isinstance(registries, dict):
        raise ConfigError(f"{path}: [registries] must be a table")
    for name, entry in registries.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: [registries.{name}] must be a table")
        config.registries[name] = RegistryConfig(
            name=name,
            url=_str(entry.get("url"), f"registries.{name}.url", path),
            key=entry.get("key"),
            signing_key=entry.get("signing_key"),
        )
    trusted = data.pop("trusted_keys", [])
    if not isinstance(trusted, list):
        raise ConfigError(f"{path}: trusted_keys must be an array of tables")
    for index, entry in enumerate(trusted):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: trusted_keys[{index}] must be a table")
        config.trusted_keys.append(
            TrustedKey(
                key=_str(entry.get("key"), f"trusted_keys[{index}].key", path),
                namespace=entry.get("namespace"),
                registry=entry.get("registry"),
                comment=str(entry.get("comment", "")),
            )
        )
    if config.default_registry and config.default_registry not in config.registries:
        raise ConfigError(
            f"{path}: default_registry {config.default_registry!r} is not in [registries]"
        )
    config.extra = data
    return config


def save_config(config: Config) -> Path:
    """Write ``config.toml`` atomically (0600: it may name key files)."""
    import tomli_w

    path = config_dir() / CONFIG_FILE
    atomic_write(path, tomli_w.dumps(config.to_dict()).encode("utf-8"), mode=0o600)
    return path


@dataclass
class RegistryState:
    """What this machine remembers about one registry: pinned key, highest snapshot version."""

    registry: str
    key: str | None = None
    snapshot_version: int = 0

    @staticmethod
    def path_for(registry: str) -> Path:
        """``<config>/registries/<slug>-<hash>.json``."""
        digest = hashlib.sha256(registry.encode("utf-8")).hexdigest()[:16]
        slug = re.sub(r"[^a-zA-Z0-9]+", "-", registry)[-40:].strip("-") or "registry"
        return config_dir() / "registries" / f"{slug}-{digest}.json"

    @classmethod
    def load(cls, registry: str) -> RegistryState:
        """The remembered state (empty if this registry was never used)."""
        path = cls.path_for(registry)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(registry)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        version = data.get("snapshot_version", 0)
        return cls(registry, data.get("key"), version if isinstance(version, int) else 0)

    def save(self, *, replace_key: bool = False) -> None:
        """Record the state, never lowering a snapshot version another process recorded.

        A key pinned by another process stands unless ``replace_key`` (an
        explicit ``phony keys trust --registry``).
        """
        from filelock import FileLock

        path = self.path_for(self.registry)
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=30):
            current = RegistryState.load(self.registry)
            self.snapshot_version = max(self.snapshot_version, current.snapshot_version)
            if current.key and self.key != current.key and not replace_key:
                # Another process pinned first; its pin stands (a change needs `keys trust`).
                self.key = current.key
            body = {
                "key": self.key,
                "registry": self.registry,
                "snapshot_version": self.snapshot_version,
            }
            atomic_write(path, json.dumps(body, indent=2).encode("utf-8") + b"\n")

    def pin(self, key: str | None) -> None:
        """Replace the pinned key (None: learn it again on next use); keeps the version."""
        self.key = key
        self.save(replace_key=True)


def iter_private_key_files() -> Iterator[Path]:
    """Own private key files, sorted by name."""
    folder = keys_dir()
    if folder.is_dir():
        yield from sorted(folder.glob("*.pem"))
