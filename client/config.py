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

    [namespaces]
    alice = "team"                          # alice/... comes from this registry only
    "*" = "mirror"                          # optional: every other namespace from one registry

    [[trusted_keys]]
    key = "<base64 Ed25519 public key>"
    namespace = "alice"                     # or: registry = "team"
    comment = "Alice's release key"

Pins learnt on first use live in ``registries/``, and the registry each
namespace was first pulled from in ``namespaces.json`` (machine state, not
settings), written through a temporary file and ``os.replace``.
:func:`trust_policy` turns all of it into the core's
:class:`~phony_registry.trust.TrustPolicy`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phony_registry._fs import write_atomic
from phony_registry.errors import ConfigError, UsageError
from phony_registry.trust import ANY_NAMESPACE, CONFIGURED, Owner, TrustPolicy, registry_id

__all__ = [
    "CONFIG_FILE",
    "Config",
    "NamespaceSources",
    "RegistryConfig",
    "RegistryState",
    "TrustedKey",
    "config_dir",
    "is_offline",
    "iter_private_key_files",
    "keys_dir",
    "load_config",
    "registry_id",
    "registry_slug",
    "save_config",
    "trust_policy",
]

#: Notices (INFO) and warnings for the person running phony; the CLI shows them.
logger = logging.getLogger(__name__)

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


def registry_slug(registry: str, *, tail: int) -> str:
    """A file name for a registry id: its last ``tail`` characters made safe, and a hash.

    The hash keeps two registries apart; the readable tail is for people
    looking in the folder. The cache names its folders with ``tail=32`` and
    the per-registry state here with ``tail=40``: both are names already on
    users' disks, so each keeps its width.
    """
    digest = hashlib.sha256(registry.encode("utf-8")).hexdigest()[:16]
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", registry)[-tail:].strip("-") or "registry"
    return f"{slug}-{digest}"


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
    #: ``[namespaces]``: namespace -> registry name or location.
    namespaces: dict[str, str] = field(default_factory=dict)
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

    def location_of(self, name_or_location: str) -> str:
        """The location a registry name from ``[registries]`` stands for (a location as is)."""
        entry = self.registries.get(name_or_location)
        if entry:
            return entry.url
        if "://" not in name_or_location and Path(name_or_location).is_file():
            raise UsageError(
                f"{name_or_location} is a file, not a registry: a registry is a folder, "
                "a file:// or http(s):// URL, or a name from [registries] in config.toml"
            )
        return name_or_location

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
        if self.namespaces:
            data["namespaces"] = dict(sorted(self.namespaces.items()))
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

    from phony_registry._fs import loads_toml, read_toml_text

    path = config_dir() / CONFIG_FILE
    try:
        data = loads_toml(read_toml_text(path))
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
        for key in _unknown_keys(entry, _REGISTRY_KEYS):
            _warn_once(path, f"registries.{name}.{key}", _REGISTRY_KEYS)
    trusted = data.pop("trusted_keys", [])
    if not isinstance(trusted, list):
        raise ConfigError(f"{path}: trusted_keys must be an array of tables")
    for index, entry in enumerate(trusted):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: trusted_keys[{index}] must be a table")
        for key in _unknown_keys(entry, _TRUSTED_KEYS):
            _warn_once(path, f"trusted_keys[{index}].{key}", _TRUSTED_KEYS)
        config.trusted_keys.append(
            TrustedKey(
                key=_str(entry.get("key"), f"trusted_keys[{index}].key", path),
                namespace=entry.get("namespace"),
                registry=entry.get("registry"),
                comment=str(entry.get("comment", "")),
            )
        )
    namespaces = data.pop("namespaces", {})
    if not isinstance(namespaces, dict):
        raise ConfigError(f"{path}: [namespaces] must be a table")
    for namespace, target in namespaces.items():
        from phony_registry.errors import PhonyError
        from phony_registry.names import is_locale, parse_name

        try:
            if namespace != ANY_NAMESPACE:
                parse_name(f"{namespace}/x")
        except PhonyError as exc:
            raise ConfigError(f"{path}: [namespaces] {namespace!r}: {exc}") from None
        if is_locale(namespace):
            raise ConfigError(
                f"{path}: [namespaces] {namespace!r} is a locale: official names are "
                "accepted under the official key from any registry, they cannot be mapped"
            )
        config.namespaces[namespace] = _str(target, f"namespaces.{namespace}", path)
    if config.default_registry and config.default_registry not in config.registries:
        raise ConfigError(
            f"{path}: default_registry {config.default_registry!r} is not in [registries]"
        )
    _warn_unknown(path, data)
    config.extra = data
    return config


#: Top-level keys of config.toml that some part of phony reads (the rest warn:
#: a misspelled key would otherwise be ignored without a word). A feature that
#: reads a new key through ``Config.extra`` adds it here.
KNOWN_KEYS = frozenset(
    {"default_registry", "registries", "trusted_keys", "namespaces", "install_order", "pull"}
)
_REGISTRY_KEYS = ("url", "key", "signing_key")
_TRUSTED_KEYS = ("key", "namespace", "registry", "comment")
_warned: set[str] = set()


def _warn_unknown(path: Path, rest: dict[str, Any]) -> None:
    for key in rest:
        if key not in KNOWN_KEYS:
            _warn_once(path, key, KNOWN_KEYS)


def _warn_once(path: Path, key: str, known: Iterable[str]) -> None:
    """A warning for an unknown key of config.toml (once per run), with a suggestion."""
    import difflib

    if key in _warned:
        return
    _warned.add(key)
    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    logger.warning("%s: unknown key %r%s; it is ignored", path, key, hint)


def _unknown_keys(entry: dict[str, Any], known: Iterable[str]) -> list[str]:
    return [key for key in entry if key not in known]


def save_config(config: Config) -> Path:
    """Write ``config.toml`` atomically (0600: it may name key files)."""
    import tomli_w

    path = config_dir() / CONFIG_FILE
    write_atomic(path, tomli_w.dumps(config.to_dict()).encode("utf-8"), mode=0o600)
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
        return config_dir() / "registries" / f"{registry_slug(registry, tail=40)}.json"

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
            write_atomic(path, json.dumps(body, indent=2).encode("utf-8") + b"\n", mode=0o644)

    def pin(self, key: str | None) -> None:
        """Replace the pinned key (None: learn it again on next use); keeps the version."""
        self.key = key
        self.save(replace_key=True)


def iter_private_key_files() -> Iterator[Path]:
    """Own private key files, sorted by name."""
    folder = keys_dir()
    if folder.is_dir():
        yield from sorted(folder.glob("*.pem"))


class NamespaceSources:
    """The registry each namespace was first pulled from (``<config>/namespaces.json``).

    A namespace is recorded once, by the first pull that verified one of its
    names, and never moved by a later pull; ``[namespaces]`` in config.toml
    overrides it.
    """

    FILE = "namespaces.json"

    @classmethod
    def path(cls) -> Path:
        """Where the record lives."""
        return config_dir() / cls.FILE

    @classmethod
    def load(cls) -> dict[str, Owner]:
        """Every recorded namespace."""
        path = cls.path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        found = {}
        for namespace, entry in (data if isinstance(data, dict) else {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("registry"), str):
                label = str(entry.get("location") or entry["registry"])
                found[namespace] = Owner(namespace, entry["registry"], label)
        return found

    @classmethod
    def record(cls, owners: Iterator[Owner] | list[Owner]) -> None:
        """Record ``owners`` for namespaces not recorded yet (the first pull wins)."""
        owners = list(owners)
        if not owners:
            return
        from filelock import FileLock

        path = cls.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=30):
            current = cls.load()
            for owner in owners:
                current.setdefault(owner.namespace, owner)
            body = {
                ns: {"registry": o.registry, "location": o.label}
                for ns, o in sorted(current.items())
            }
            write_atomic(path, json.dumps(body, indent=2).encode("utf-8") + b"\n", mode=0o644)


def trust_policy(config: Config | None = None) -> TrustPolicy:
    """The core's :class:`~phony_registry.trust.TrustPolicy` for this user.

    Owners of namespaces: ``[namespaces]`` first, then :class:`NamespaceSources`.
    Keys: ``[[trusted_keys]]`` for a namespace (required for it) or a registry
    (vouching with it). Locale packs registered by installed plugins speak
    for their locale.
    """
    from phony_registry.plugins import get_plugins
    from phony_registry.signing import PublicKey

    config = config if config is not None else load_config()
    owners = {
        namespace: Owner(namespace, registry_id(config.location_of(target)), target, CONFIGURED)
        for namespace, target in config.namespaces.items()
    }
    namespace_keys: dict[str, tuple[PublicKey, ...]] = {}
    registry_keys: dict[str, tuple[PublicKey, ...]] = {}
    for trusted in config.trusted_keys:
        key = PublicKey.parse(trusted.key)
        if trusted.namespace:
            namespace_keys[trusted.namespace] = (*namespace_keys.get(trusted.namespace, ()), key)
        elif trusted.registry:
            rid = registry_id(config.location_of(trusted.registry))
            registry_keys[rid] = (*registry_keys.get(rid, ()), key)
    plugins = get_plugins()
    # A locale two plugins register speaks for neither: which one loads first
    # must not decide whose pack a locale's name means.
    locales = {
        locale: registry_id(str(source.path))
        for locale, source in plugins.locales.items()
        if ("locales", locale) not in plugins.conflicts
    }
    policy = TrustPolicy(owners, namespace_keys, registry_keys, locales)
    return policy.with_owners(NamespaceSources.load().values())
