"""``phony.lock``: the exact models a project uses, for reproducible pulls.

TOML, written by ``phony models pull ... --lock phony.lock`` and read by
``phony models pull --locked``::

    # Written by phony; pull exactly this with `phony models pull --locked`.
    lock_version = 1

    [[model]]
    name = "alice/names"
    version = "1.2.0"
    digest = "sha256:..."          # the blob (the manifest, for a pack)
    registry = "/srv/team-registry"

``--locked`` pulls each ``name@version`` from its registry and fails with
:class:`DigestMismatch` if what the registry serves is not the recorded digest.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from phony_client.cache import Ref
from phony_registry._fs import loads_toml, read_toml_text, write_atomic
from phony_registry.digests import is_digest
from phony_registry.errors import ConfigError, DigestMismatch, PhonyError
from phony_registry.names import parse_name
from phony_registry.versions import parse_version

__all__ = ["LOCK_VERSION", "LockEntry", "entry_for", "install_locked", "read_lock", "write_lock"]

LOCK_VERSION = 1
_HEADER = "# Written by phony; pull exactly this with `phony models pull --locked`.\n"


@dataclass(frozen=True)
class LockEntry:
    """One locked model."""

    name: str
    version: str
    digest: str
    registry: str

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"


def entry_for(ref: Ref) -> LockEntry:
    """The lock entry recording a pulled ref."""
    digest = ref.digest if ref.type != "pack" and ref.digest else ref.manifest
    return LockEntry(ref.name, ref.version, digest, ref.location)


def read_lock(path: str | Path) -> list[LockEntry]:
    """Parse a lockfile; :class:`ConfigError` names the file and the problem."""
    target = Path(path)
    try:
        data = loads_toml(read_toml_text(target))
    except FileNotFoundError:
        raise ConfigError(f"{target} does not exist (create it with `--lock {target}`)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {target}: {exc}") from None
    if data.get("lock_version") != LOCK_VERSION:
        raise ConfigError(f"{target}: lock_version must be {LOCK_VERSION}")
    entries = []
    for index, item in enumerate(data.get("model", [])):
        where = f"{target}: model[{index}]"
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("name", "version", "digest", "registry")
        ):
            raise ConfigError(f"{where} needs name, version, digest and registry strings")
        try:
            parse_name(item["name"])
            parse_version(item["version"])
        except PhonyError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if not is_digest(item["digest"]):
            raise ConfigError(f"{where}: digest must be sha256:<hex>")
        entries.append(LockEntry(item["name"], item["version"], item["digest"], item["registry"]))
    return entries


def write_lock(path: str | Path, entries: Iterable[LockEntry], *, merge: bool = True) -> Path:
    """Write the lockfile; with ``merge``, entries of other names already there are kept."""
    import tomli_w

    target = Path(path)
    by_name: dict[str, LockEntry] = {}
    if merge and target.exists():
        by_name = {parse_name(e.name).key: e for e in read_lock(target)}
    for entry in entries:
        by_name[parse_name(entry.name).key] = entry
    body = {
        "lock_version": LOCK_VERSION,
        "model": [vars(e) for _, e in sorted(by_name.items())],
    }
    write_atomic(target, (_HEADER + tomli_w.dumps(body)).encode("utf-8"))
    return target


def install_locked(path: str | Path) -> list[Ref]:
    """Pull every locked model exactly; :class:`DigestMismatch` if anything differs."""
    from phony_client.pull import pull

    pulled = []
    for entry in read_lock(path):
        # The lock's digest is verified with the rest, before anything is recorded.
        result = pull(entry.ref, registry=entry.registry, expect=entry.digest)
        got = entry_for(result.ref)
        if got.digest != entry.digest:
            raise DigestMismatch(
                f"{entry.ref} from {entry.registry} is {got.digest}, but {path} locks "
                f"{entry.digest}: refusing (if the change is intended, pull it again with --lock)"
            )
        pulled.extend(result.refs)
    return pulled
