"""Installing official locale packs: ``phony install tr_TR``.

A locale (``tr-TR``, ``tr_TR`` and ``tr_tr`` are one locale) names the
official pack of that locale; ``tr_TR/first_names`` names one of its models.
Installing is a verified pull (:func:`phony_client.pull.pull`) of the pack and
every member into the cache, tried against the registries in order
(:func:`registry_order`) until one has it:

1. ``--registry`` when given, and then nothing else (it is explicit);
2. otherwise ``PHONY_REGISTRY``, then the registries of ``config.toml`` in
   the order of its ``install_order`` list (``"official"`` names the bundled
   index), or, without that list, the default registry, the other named
   registries in file order, then the official index bundled with phony,
   which needs no network and no server; last, a locale pack that an
   installed plugin ships for that locale (``phony_register_locales``).
   Two plugins shipping a pack for the locale make the install fail with
   :class:`~phony_registry.errors.DuplicateRegistration`.

A registry that does not have the pack, cannot be reached, or is off-limits
under ``PHONY_OFFLINE`` is skipped with a note; an integrity failure
(a bad signature, digest, rollback...) stops the install at once, since
falling back past a tampered registry would hide the attack.

Whichever registry serves a locale pack, the pull accepts it only under the
official key (:mod:`phony_registry.trust`): a registry or mirror may carry the
official packs byte for byte, but one that signed its own ``tr_TR`` with its
own key stops the install with a :class:`SignatureError`. A plugin's pack
speaks for its own locale only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from phony_client.cache import Ref
from phony_client.config import Config, load_config, registry_id
from phony_client.locales import parse_locale
from phony_client.lookup import find_cached_model
from phony_client.pull import PullResult, official_location, pull
from phony_registry.errors import NotFound, OfflineError, RegistryError, UsageError
from phony_registry.index import parse_index
from phony_registry.layout import INDEX_DIR, manifest_path, to_local
from phony_registry.manifest import Manifest
from phony_registry.names import is_locale
from phony_registry.plugins import get_plugins

__all__ = [  # noqa: RUF022 - plain sorted(), the order tests/test_exported_members.py checks
    "Attempt",
    "Installed",
    "OFFICIAL",
    "Pack",
    "available_packs",
    "describe",
    "find_or_install",
    "find_or_install_model",
    "install",
    "parse_install_target",
    "registry_order",
]

#: Notices (INFO) and warnings for the person running phony; the CLI shows them.
logger = logging.getLogger(__name__)

#: The name ``install_order`` in config.toml uses for the bundled official index.
OFFICIAL = "official"


def parse_install_target(text: str) -> str:
    """``tr-tr`` -> ``tr_TR``; ``tr_tr/first_names@^1`` -> ``tr_TR/first_names@^1``.

    Only official names (a locale, or a locale and a model) can be installed;
    community models are pulled with ``phony models pull``.
    """
    name, at, spec = text.strip().partition("@")
    locale, slash, model = name.partition("/")
    if not is_locale(locale):
        raise UsageError(
            f"{text!r} is not a locale pack: `phony install` takes a locale such as tr_TR "
            "(or tr_TR/first_names); pull community models with `phony models pull`"
        )
    return f"{parse_locale(locale)}{slash}{model}{at}{spec}"


def _plugin_sources(locale: str | None) -> list[str]:
    """The static registry a plugin ships for ``locale`` (``phony_register_locales``), if any.

    Two plugins registering ``locale`` raise
    :class:`~phony_registry.errors.DuplicateRegistration`, as using any
    conflicting name does: installing either pack would take a side.
    """
    if locale is None:
        return []

    source = get_plugins().locale(locale)
    return [str(source.path)] if source is not None else []


def registry_order(
    option: str | None = None, config: Config | None = None, *, locale: str | None = None
) -> list[str]:
    """The registry locations to try, in order (see the module docstring).

    With ``locale``, a locale pack shipped by a plugin for it comes last.
    """
    if option:
        config = config if config is not None else load_config()
        entry = config.registries.get(option)
        return [entry.url if entry else option]
    config = config if config is not None else load_config()
    names: list[str] = []
    env = os.environ.get("PHONY_REGISTRY")
    if env:
        names.append(env)
    order = config.extra.get("install_order")
    if isinstance(order, list) and all(isinstance(item, str) for item in order):
        names += order
    else:
        if config.default_registry:
            names.append(config.default_registry)
        names += list(config.registries)
        names.append(OFFICIAL)
    names += _plugin_sources(locale)
    locations: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name == OFFICIAL:
            location = official_location()
        else:
            entry = config.registries.get(name)
            location = entry.url if entry else name
        rid = registry_id(location)
        if rid not in seen:
            seen.add(rid)
            locations.append(location)
    return locations


def describe(location: str) -> str:
    """A registry location as a user reads it (the bundled index gets its name)."""
    rid = registry_id(location)
    if rid == registry_id(official_location()):
        return "the bundled official index"

    plugins = get_plugins()
    for locale, source in plugins.locales.items():
        if registry_id(str(source.path)) == rid:
            owners = plugins.conflicts.get(("locales", locale))
            if owners:  # `phony install --list` must not take a side either
                both = " and ".join(repr(o) for o in owners)
                return f"the {locale} pack registered by both {both} (phony install refuses it)"
            return f"the {locale} pack of plugin {plugins.providers[('locales', locale)]}"
    return location


@dataclass(frozen=True)
class Attempt:
    """One registry tried, and why it could not serve the pack."""

    location: str
    reason: str


@dataclass
class Installed:
    """An installed pack (or model): the refs pulled, and where from."""

    target: str
    location: str
    result: PullResult
    skipped: list[Attempt] = field(default_factory=list)

    @property
    def refs(self) -> list[Ref]:
        """The pack's ref first, then its members' refs."""
        return self.result.refs


def install(
    target: str,
    *,
    registry: str | None = None,
    config: Config | None = None,
    pull_fn: Callable[..., PullResult] = pull,
) -> Installed:
    """Install one locale pack (or official model), trying each registry in order.

    Raises :class:`NotFound` listing every registry tried and why, and lets
    integrity errors through unchanged.
    """
    reference = parse_install_target(target)
    config = config if config is not None else load_config()
    skipped: list[Attempt] = []
    locale = reference.partition("/")[0].partition("@")[0]
    for location in registry_order(registry, config, locale=locale):
        try:
            result = pull_fn(reference, registry=location, config=config)
        except RegistryError as exc:  # not there, offline, unreachable: try the next one
            skipped.append(Attempt(location, str(exc)))
            continue
        return Installed(reference, location, result, skipped)
    tried = "; ".join(f"{describe(a.location)}: {a.reason}" for a in skipped)
    name = reference.partition("@")[0]
    locale, _, model = name.partition("/")
    if model:
        raise NotFound(f"locale {locale} has no model {model!r} ({reference}); tried {tried}")
    raise NotFound(f"no registry has the {locale} pack ({reference}); tried {tried}")


def find_or_install(locale: str, role: str) -> Path | None:
    """The file of ``<locale>/<role>``: from the cache, a plugin's locale pack, or installed.

    See :func:`find_or_install_model`.
    """
    return find_or_install_model(f"{locale}/{role}")


def find_or_install_model(reference: str) -> Path | None:
    """The file of the official model ``<locale>/<model>[@spec]``: from the cache, a
    plugin's locale pack, or installed.

    Installing pulls only that model, from the registries in
    :func:`registry_order` (so, by default, from the bundled official index,
    with no network), and says so (a notice). None when no source has the model.
    """
    try:
        found = get_plugins().manager.hook.phony_resolve_model(spec=reference)
    except (NotFound, OfflineError):
        found = None
    if found is not None:
        return Path(found)
    try:
        installed = install(reference)
    except NotFound:
        return None

    where = describe(installed.location)
    logger.info("installed %s from %s", installed.refs[0].ref, where)
    return find_cached_model(reference)


@dataclass(frozen=True)
class Pack:
    """A locale pack a local source offers: its name, version, models and where it is."""

    name: str
    version: str
    models: tuple[str, ...]
    location: str
    description: str = ""


def available_packs() -> list[Pack]:
    """The locale packs of the bundled official index and of plugins (no network).

    Read from each folder's index and manifests; verification happens when a
    pack is installed.
    """

    folders = [official_location(), *(str(s.path) for s in get_plugins().locales.values())]
    packs: list[Pack] = []
    for folder in folders:
        for index_file in sorted(to_local(folder, INDEX_DIR).glob("*.jsonl")):
            entries = [e for e in parse_index(index_file.read_bytes()) if not e.yanked]
            if not entries or entries[-1].kind != "pack":
                continue
            latest = entries[-1]
            raw = to_local(folder, manifest_path(latest.name, latest.version)).read_bytes()
            manifest = Manifest.from_bytes(raw)
            models = tuple(m.name.partition("/")[2] for m in manifest.members)
            packs.append(
                Pack(manifest.name, manifest.version, models, folder, manifest.description)
            )
    return sorted(packs, key=lambda pack: pack.name)
