"""Finding a pulled model in the cache by name, for ``phony generate NAME``.

:func:`find_cached_model` never touches the network: it resolves
``name[@spec]`` against the refs in the cache (yanked versions skipped by
ranges, as for a pull), checks the blob's digest, and returns its path (the
migrated copy when the original is in an older format). A blob found
corrupted is discarded and pulled again from the registry it came from, when
that is possible without breaking ``PHONY_OFFLINE``.
"""

from __future__ import annotations

from pathlib import Path

from phony_client._net import is_http_url
from phony_client._progress import notice
from phony_client.cache import Cache, Ref
from phony_client.config import is_offline, trust_policy
from phony_client.refs import accepts_ref, official_location
from phony_registry.errors import (
    DigestMismatch,
    InvalidName,
    NotFound,
    OfflineError,
    SourceConflict,
    UsageError,
)
from phony_registry.names import parse_name, split_reference
from phony_registry.versions import parse_spec, select

# accepts_ref and official_location live in phony_client.refs; named here for callers.
__all__ = [
    "accepts_ref",
    "cached_model_names",
    "find_cached_model",
    "find_cached_ref",
    "official_location",
]


def find_cached_ref(spec: str, cache: Cache | None = None) -> Ref:
    """The ref in the cache that ``name[@spec]`` selects, from where the name belongs.

    Only refs the trust rules accept count (:func:`phony_client.refs.accepts_ref`:
    an official name under the official key; a namespace from the registry it
    belongs to). A namespace with no recorded source whose refs come from two
    registries is a :class:`SourceConflict` naming both, never a tie-break.
    Raises :class:`NotFound` (or :class:`OfflineError` when ``PHONY_OFFLINE``
    is set) with the command that would fetch it.
    """
    cache = cache or Cache()
    name, raw = split_reference(spec)
    wanted = parse_spec(raw)
    policy = trust_policy()
    refs = [r for r in cache.iter_refs(name.key) if accepts_ref(policy, name, r)]
    sources = sorted({r.registry: r.location for r in refs}.values())
    if name.namespace and len(sources) > 1:
        raise SourceConflict(
            f"{name} is claimed by two registries in the cache: {sources[0]} and {sources[1]}; "
            f'say which one it belongs to in config.toml: [namespaces] {name.namespace} = "..."'
        )
    found = select(wanted, refs, digest_fields=("digest", "manifest", "derived"))
    if found is not None:
        return found
    have = ", ".join(sorted({r.version for r in refs})) or "none"
    hint = f"run `phony models pull {spec}`"
    if name.official:
        hint += f" or `phony install {name.locale}`"
    if is_offline():
        raise OfflineError(
            f"PHONY_OFFLINE is set and {name}@{wanted} is not in the cache "
            f"(cached versions: {have}); {hint} while online"
        )
    raise NotFound(f"{name}@{wanted} is not in the cache (cached versions: {have}); {hint}")


def cached_model_names(locale: str, cache: Cache | None = None) -> list[str]:
    """The official models of ``locale`` the cache can answer for (``tr_TR/cities``...), sorted.

    Those with a version that is not yanked, from a ref the trust rules accept
    (as :func:`find_cached_ref` reads them); packs are not models.
    """
    cache = cache or Cache()
    policy = trust_policy()
    found: set[str] = set()
    for ref in cache.iter_refs():
        if ref.type != "model" or ref.yanked or ref.name in found:
            continue
        try:
            name = parse_name(ref.name)
        except InvalidName:
            continue  # a ref no pull of this phony would write
        if name.official and name.locale == locale and accepts_ref(policy, name, ref):
            found.add(str(name))
    return sorted(found)


def _intact(path: Path, digest: str) -> bool:
    from phony_registry.digests import digest_file

    try:
        return digest_file(path)[0] == digest
    except FileNotFoundError:
        return False


def _repair(cache: Cache, ref: Ref) -> None:
    """Fetch a discarded blob again (and re-derive a migrated copy)."""
    # Only a damaged cache needs the pull and its verified reader; importing them
    # up front would cost every `phony generate NAME` from the cache.
    from phony_client.pull import pull

    pull(ref.ref, registry=ref.location, refresh=True, cache=cache)


def find_cached_model(spec: str) -> Path:
    """The path of the cached model file that ``name[@spec]`` names (no network).

    Raises :class:`NotFound` / :class:`OfflineError` when the cache does not
    hold it, :class:`UsageError` for a pack (name one of its models).
    """
    cache = Cache()
    ref = find_cached_ref(spec, cache)
    if ref.type == "pack":
        members = ", ".join(m.rsplit("@", 1)[0] for m in ref.members)
        raise UsageError(f"{ref.name} is a pack; name one of its models: {members}")
    digest = ref.usable_digest
    if digest is None:
        raise NotFound(f"{ref.ref} has no blob in the cache")
    path = cache.blob_path(digest)
    if _intact(path, digest):
        return path
    # Corrupted or missing on use: discard and fetch again (a registry folder
    # needs no network; a server does, and offline mode forbids it).
    missing = not path.exists()
    cache.discard_blob(digest)
    if ref.derived and ref.digest and not _intact(cache.blob_path(ref.digest), ref.digest):
        cache.discard_blob(ref.digest)
    if is_offline() and is_http_url(ref.location):
        what = "is missing" if missing else "was damaged and has been discarded"
        raise OfflineError(
            f"the cached file of {ref.ref} {what}; PHONY_OFFLINE is set, "
            f"so it cannot be fetched again from {ref.location}"
        )
    state = "missing" if missing else "damaged"
    notice(f"the cached file of {ref.ref} is {state}; downloading it again from {ref.location}")
    _repair(cache, ref)
    fresh = find_cached_ref(f"{ref.name}@{ref.version}", cache)
    digest = fresh.usable_digest
    if digest is None or not _intact(cache.blob_path(digest), digest):
        raise DigestMismatch(f"the cached blob of {ref.ref} is corrupted and could not be repaired")
    return cache.blob_path(digest)
