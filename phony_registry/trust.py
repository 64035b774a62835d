"""Who may speak for a name: the trust rules, in one place.

Every name has one source:

- An **official name** (no namespace: ``tr_TR``, ``en_US/first_names``) is
  accepted only under the official key (:func:`~phony_registry.signing.official_key`),
  whichever registry or mirror serves the bytes. The one exception is a locale
  pack that an installed plugin registers (``phony_register_locales``): its
  folder's key speaks for that one locale, because installing the plugin
  already trusted its code.
- A **namespace** (``alice/...``) belongs to one registry: the one
  ``[namespaces]`` in config.toml maps it to, else the one it was first
  pulled from (recorded). Another registry serving it is a
  :class:`~phony_registry.errors.SourceConflict` naming both, never a
  tie-break. The owning registry's key (and keys trusted for that registry)
  vouch for its namespaces only; a namespace with publisher keys trusted for
  it requires one of those keys (TUF's delegation).

:class:`TrustPolicy` holds what the user (or a server, for itself) trusts;
the verified reader (:mod:`phony_registry.reader`) asks it about every
manifest, the client's local lookup asks it about every cached ref (from what
the pull recorded, without re-verifying signatures), and the server's web
page asks it what a pull would accept. Nothing here does I/O.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from phony_registry.errors import SignatureError, SourceConflict

if TYPE_CHECKING:
    # Kept out of import time: the client's config imports this module on every command.
    from phony_registry.manifest import Manifest
    from phony_registry.names import ModelName
    from phony_registry.signing import PublicKey

__all__ = [
    "ANY_NAMESPACE",
    "CONFIGURED",
    "FIRST_PULLED",
    "Owner",
    "TrustPolicy",
    "folder_path",
    "registry_id",
]

#: The ``[namespaces]`` key that maps every namespace not listed by name.
ANY_NAMESPACE = "*"
#: How an :class:`Owner` was decided: ``[namespaces]`` in config.toml.
CONFIGURED = "configured"
#: How an :class:`Owner` was decided: the registry the namespace was first pulled from.
FIRST_PULLED = "first pulled"


def registry_id(location: str) -> str:
    """The identity of a registry: ``file:<absolute path>`` or its URL without trailing ``/``."""
    if re.match(r"^https?://", location, re.IGNORECASE):
        return location.rstrip("/")
    return "file:" + str(folder_path(location).resolve())


def folder_path(location: str | os.PathLike[str]) -> Path:
    """The folder a registry location names: a path, or a ``file://`` URL (percent-decoded).

    ``~`` is expanded; the path is not resolved (callers that compare folders do).
    """
    text = os.fspath(location)
    if text.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        text = unquote(urlsplit(text).path)
    return Path(text).expanduser()


@dataclass(frozen=True)
class Owner:
    """The registry a namespace belongs to, and why."""

    namespace: str
    registry: str
    label: str
    how: str = FIRST_PULLED


@dataclass(frozen=True)
class TrustPolicy:
    """What is trusted for which names (see the module docstring).

    ``owners`` maps a namespace to its :class:`Owner` (configured ones
    first: build it with :meth:`with_owners`); ``namespace_keys`` the
    publisher keys a namespace requires; ``registry_keys`` extra keys trusted
    for a registry's own namespaces; ``locale_sources`` a locale to the
    registry id of the plugin pack that speaks for it. ``own_namespaces``
    makes the registry being read the owner of every namespace it serves
    (a server judging itself, an operator importing a registry).
    """

    owners: Mapping[str, Owner] = field(default_factory=dict)
    namespace_keys: Mapping[str, tuple[PublicKey, ...]] = field(default_factory=dict)
    registry_keys: Mapping[str, tuple[PublicKey, ...]] = field(default_factory=dict)
    locale_sources: Mapping[str, str] = field(default_factory=dict)
    #: The key official names need (None: :func:`~phony_registry.signing.official_key`).
    official_override: PublicKey | None = None
    own_namespaces: bool = False

    @property
    def official(self) -> PublicKey:
        """The key official names need."""
        from phony_registry.signing import official_key

        return self.official_override or official_key()

    # -- where a name belongs ---------------------------------------------------------------

    def owner(self, namespace: str) -> Owner | None:
        """The registry ``namespace`` belongs to, if one is configured or recorded.

        A namespace configured by name wins; then a configured ``"*"`` (every
        namespace from one registry, as cargo's source replacement); then the
        registry it was first pulled from.
        """
        found = self.owners.get(namespace)
        if found is not None and found.how == CONFIGURED:
            return found
        everything = self.owners.get(ANY_NAMESPACE)
        if everything is not None:
            return Owner(namespace, everything.registry, everything.label, CONFIGURED)
        return found

    def check_source(self, name: ModelName, registry: str, label: str) -> Owner | None:
        """Raise :class:`SourceConflict` unless ``registry`` may serve ``name``.

        Returns the new :class:`Owner` to record when the namespace had none
        (this registry is then the one it is first pulled from), else None.
        """
        if name.official or self.own_namespaces:
            return None
        namespace = name.namespace
        assert namespace is not None
        owner = self.owner(namespace)
        if owner is None:
            return Owner(namespace, registry, label, FIRST_PULLED)
        if owner.registry == registry:
            return None
        if owner.how == CONFIGURED:
            why = "configured in [namespaces] of config.toml"
        else:
            why = "first pulled from there"
        raise SourceConflict(
            f"{name} is claimed by two registries: namespace {namespace} belongs to "
            f"{owner.label} ({why}), and {label} may not speak for it. If {label} is "
            f'its real home, map it in config.toml: [namespaces] {namespace} = "{label}"'
        )

    # -- which keys vouch for it ----------------------------------------------------------------

    def keys_for(
        self, name: ModelName, registry: str, registry_key: PublicKey | None
    ) -> list[PublicKey]:
        """The keys whose signature makes a manifest of ``name`` from ``registry`` acceptable.

        Assumes :meth:`check_source` passed for namespaced names.
        """
        if name.official:
            keys = [self.official]
            plugin = self.locale_sources.get(name.locale or "")
            if plugin is not None and plugin == registry and registry_key is not None:
                keys.append(registry_key)
            return keys
        required = self.namespace_keys.get(name.namespace or "", ())
        if required:
            return list(required)
        keys = [registry_key] if registry_key is not None else []
        return keys + list(self.registry_keys.get(registry, ()))

    def verify(
        self, manifest: Manifest, registry: str, label: str, registry_key: PublicKey | None
    ) -> tuple[list[str], Owner | None]:
        """Check that ``registry`` may speak for ``manifest`` and that a key that vouches signed it.

        Returns the key ids that validly signed it and the :class:`Owner`
        to record (see :meth:`check_source`). Raises
        :class:`SourceConflict` or :class:`SignatureError`.
        """
        from phony_registry.names import parse_name
        from phony_registry.signing import signatures_of, verify_signed

        name = parse_name(manifest.name)
        claim = self.check_source(name, registry, label)
        keys = self.keys_for(name, registry, registry_key)
        what = f"manifest of {manifest.ref}"
        try:
            return verify_signed(manifest.to_dict(), keys, what=what), claim
        except SignatureError as exc:
            signed_by = [s.keyid for s in signatures_of(manifest.to_dict())]
            if name.official and not {k.keyid for k in keys} & set(signed_by):
                others = ", ".join(k[:16] for k in signed_by) or "no key"
                raise SignatureError(
                    f"{what} from {label} is not signed by the official key "
                    f"{self.official.short_id} (signed by {others}): official names (no "
                    "namespace) are accepted only under phony's official key, whichever "
                    "registry serves them"
                ) from exc
            if self.namespace_keys.get(name.namespace or ""):
                raise SignatureError(
                    f"{what} is not signed by a key trusted for namespace {name.namespace} "
                    f"(trusted_keys in config.toml require one): {exc}"
                ) from exc
            raise

    # -- what a pull recorded -----------------------------------------------------------------

    def accepts_recorded(
        self, name: ModelName, registry: str, signers: Iterable[str] | None, *, official_index: str
    ) -> bool:
        """Whether a ref a pull recorded for ``name`` from ``registry`` still answers for it.

        ``signers`` are the key ids that verified its manifest (None for a ref
        recorded before they were kept: then only the bundled official index,
        ``official_index``, answers for official names). No signature is
        checked again: the pull did that.
        """
        if name.official:
            plugin = self.locale_sources.get(name.locale or "")
            if plugin is not None and plugin == registry:
                return True
            if signers is None:
                return registry == official_index
            return self.official.keyid in signers
        required = self.namespace_keys.get(name.namespace or "", ())
        if required and not {k.keyid for k in required} & set(signers or ()):
            return False
        owner = self.owner(name.namespace or "")
        return owner is None or owner.registry == registry

    def with_owners(self, owners: Iterable[Owner]) -> TrustPolicy:
        """A copy knowing ``owners`` too (those already known win: configured before recorded)."""
        merged = dict(self.owners)
        for owner in owners:
            merged.setdefault(owner.namespace, owner)
        return TrustPolicy(
            merged,
            self.namespace_keys,
            self.registry_keys,
            self.locale_sources,
            self.official_override,
            self.own_namespaces,
        )
