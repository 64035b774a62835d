"""Publishing into a folder registry, and the keys publishing needs.

A folder registry is written through the core's one publisher
(:class:`phony_registry.publisher.Publisher`), the same code the registry
server runs: the blob and the manifest are immutable creates of complete
temporary files (a crash never leaves a truncated manifest blocking a
version), each index change is journalled and made with a compare-and-swap,
and the snapshot is re-signed with a compare-and-swap, so several pushes into
one folder (or a push while a server publishes into it) never lose a line.
Before signing, every index file the push did not change is checked against
the last signed snapshot: a file edited by someone without the key is named
and refused, never signed.

Pushing the same model to the same ``name@version`` again succeeds and
changes nothing (it also finishes a push that was interrupted after its
manifest was written); other bytes get :class:`AlreadyExists`.

Keys: the publisher key signs the manifest (``<config>/keys/default.pem``,
created by ``phony keys generate`` or on first push); the registry key signs
the snapshot and countersigns manifests. A new folder registry gets a new
registry key on its first push: public half in the folder
(``keys/registry.pub.pem``), private half in the pusher's config dir
(``keys/registry-<keyid>.pem``). Whoever pushes later must hold that private
key: ``--signing-key``, ``PHONY_SIGNING_KEY``, ``signing_key`` in the
registry's config.toml entry, or the same file in their own config dir.

Nothing is ever written inside an installed package: the bundled official
index is read-only (:func:`writable_folder`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import phony_index
from phony_client.config import (
    iter_private_key_files,
    keys_dir,
    load_config,
    registry_id,
)
from phony_registry import layout
from phony_registry._fs import write_atomic
from phony_registry.digests import digest_bytes
from phony_registry.errors import (
    AlreadyExists,
    ConfigError,
    Forbidden,
    NotFound,
    UsageError,
)
from phony_registry.index import DEFAULT_EXPIRY, Snapshot
from phony_registry.manifest import Manifest, check_new_manifest, check_printable
from phony_registry.names import split_reference
from phony_registry.publisher import Publisher
from phony_registry.signing import PrivateKey, PublicKey, load_private_key, save_private_key
from phony_registry.storage import LocalStorage
from phony_registry.trust import folder_path
from phony_registry.versions import ExactSpec, parse_spec

__all__ = [
    "DEFAULT_KEY_NAME",
    "PushResult",
    "build_manifest",
    "check_shown_text",
    "default_key_path",
    "find_private_key",
    "load_or_create_publisher_key",
    "push_to_folder",
    "registry_key_file",
    "registry_signing_key",
    "resign_folder",
    "writable_folder",
    "yank_in_folder",
]

#: Notices (INFO) and warnings for the person running phony; the CLI shows them.
logger = logging.getLogger(__name__)

#: File name (in ``<config>/keys``) of the default publisher key.
DEFAULT_KEY_NAME = "default"


@dataclass(frozen=True)
class PushResult:
    """What a push did, to a folder (:func:`push_to_folder`) or a server (``remote.push``)."""

    name: str
    version: str
    digest: str
    #: False when the same version with the same bytes was already published.
    created: bool
    registry: str
    #: The manifest's digest, where the push wrote it itself (a folder).
    manifest: str | None = None
    #: The snapshot version that lists the push (a folder; a server signs its own).
    snapshot_version: int | None = None
    #: False when the server already had the blob and it was not sent again (a server).
    uploaded_blob: bool | None = None
    #: The private registry key created by this push (a new registry), or None.
    new_registry_key: Path | None = None

    def to_dict(self) -> dict[str, object]:
        """What ``phony models push --json`` shows: the fields that apply to this push."""
        shown = {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "manifest": self.manifest,
            "created": self.created,
            "snapshot_version": self.snapshot_version,
        }
        return {key: value for key, value in shown.items() if value is not None}


def default_key_path() -> Path:
    """``<config>/keys/default.pem``."""
    return keys_dir() / f"{DEFAULT_KEY_NAME}.pem"


def load_or_create_publisher_key(path: str | Path | None = None) -> tuple[PrivateKey, bool]:
    """The publisher key (created if absent, 0600); returns ``(key, created)``."""
    target = Path(path) if path else default_key_path()
    if target.exists():
        return load_private_key(target), False
    if path:
        raise ConfigError(f"no key at {target}")
    key = PrivateKey.generate()
    try:
        save_private_key(target, key)
    except ConfigError:  # created by a concurrent push meanwhile
        return load_private_key(target), False
    return key, True


def find_private_key(keyid: str) -> PrivateKey | None:
    """An own private key (in ``<config>/keys``) whose public half has this key id."""
    for path in iter_private_key_files():
        try:
            key = load_private_key(path)
        except ConfigError:
            continue
        if key.keyid == keyid:
            return key
    return None


def registry_signing_key(
    root: Path, *, explicit: str | Path | None = None, create: bool = True
) -> tuple[PrivateKey, bool]:
    """The private key that signs ``root``'s snapshot; returns ``(key, created)``.

    A folder without ``keys/registry.pub.pem`` is a new registry: a key is
    generated (when ``create``), its private half saved in the config dir.
    Raises :class:`Forbidden` if the folder's key is not among this user's keys.
    """
    public_path = layout.to_local(root, layout.registry_key_path())
    candidates: list[str | Path] = []
    if explicit:
        candidates.append(explicit)
    if os.environ.get("PHONY_SIGNING_KEY"):
        candidates.append(os.environ["PHONY_SIGNING_KEY"])
    entry = load_config().registry(str(root))
    if entry is not None and entry.signing_key:
        candidates.append(entry.signing_key)
    if not public_path.exists():
        if not create:
            raise UsageError(f"{root} is not a registry (no {layout.registry_key_path()})")
        key = load_private_key(candidates[0]) if candidates else PrivateKey.generate()
        if not candidates:
            save_private_key(registry_key_file(key), key)
        write_atomic(public_path, key.public_key.to_pem(), mode=0o644)  # public tree
        return key, not candidates
    public = PublicKey.from_pem(public_path.read_bytes())
    for candidate in candidates:
        key = load_private_key(candidate)
        if key.keyid == public.keyid:
            return key, False
        raise Forbidden(
            f"{candidate} is not the signing key of registry {root} "
            f"(it signs with key {public.short_id})"
        )
    found = find_private_key(public.keyid)
    if found is None:
        raise Forbidden(
            f"cannot sign registry {root}: its key {public.short_id} is not in "
            f"{keys_dir()}. Ask its maintainer for the registry key and pass it with "
            "--signing-key or PHONY_SIGNING_KEY"
        )
    return found, False


def check_shown_text(field: str, text: str | None, origin: str = "") -> None:
    """Refuse (:class:`InvalidManifest`) a manifest ``field`` holding a control character.

    A description or licence is shown on every user's terminal by ``phony
    models search`` and ``info``: one line of printable text, nothing that
    could forge a line of its own. ``origin`` ends the message (where the
    text came from). The rule is the core's (:func:`check_printable`), the
    one every registry applies at publication.
    """
    check_printable(field, text, origin)


def build_manifest(
    model_path: Path,
    reference: str,
    *,
    description: str | None = None,
    license: str | None = None,
) -> tuple[Manifest, bytes]:
    """An unsigned manifest for ``model_path`` published as ``reference`` (name@version).

    The model is read (and so validated) first; kind, locale, licence and
    description default to its metadata. Text holding a control character is
    refused (:class:`InvalidManifest` naming the field), before anything is
    written or sent.
    """
    # The format module imports numpy: loaded to read a model, not with the
    # commands that only name push or yank (`phony models --help`).
    from phony_registry.format import load_model

    name, raw_spec = split_reference(reference)
    spec = parse_spec(raw_spec) if raw_spec else None
    if not isinstance(spec, ExactSpec):
        raise UsageError(f"{reference!r}: push needs an exact version, like {name}@1.0.0")
    data = model_path.read_bytes()
    model = load_model(data)
    meta = model.meta
    texts = {
        "description": (description, description if description is not None else meta.description),
        "license": (license, license if license is not None else meta.license),
    }
    for field, (given, text) in texts.items():
        origin = "" if given is not None else f" (from the model's metadata: pass --{field})"
        check_printable(field, text, origin)
    for field, text in (("kind", meta.kind), ("locale", meta.locale)):
        check_printable(field, text, " (from the model's metadata)")
    manifest = Manifest.model(
        str(name),
        str(spec.version),
        digest=digest_bytes(data),
        size=len(data),
        format_version=model.format_version,
        kind=meta.kind or "model",
        locale=meta.locale or name.locale,
        license=texts["license"][1],
        description=texts["description"][1] or "",
    )
    return check_new_manifest(manifest), data


def _publisher(
    root: Path, *, signing_key: str | Path | None, expires_in: timedelta, create: bool
) -> tuple[Publisher, bool]:
    key, created = registry_signing_key(root, explicit=signing_key, create=create)
    return Publisher(LocalStorage(root), key, expires_in=expires_in), created


def push_to_folder(
    model_path: str | Path,
    reference: str,
    registry: str | Path,
    *,
    publisher_key: PrivateKey | None = None,
    signing_key: str | Path | None = None,
    description: str | None = None,
    license: str | None = None,
    expires_in: timedelta = DEFAULT_EXPIRY,
) -> PushResult:
    """Publish ``model_path`` as ``reference`` into the folder registry ``registry``."""
    root = writable_folder(registry)
    source = Path(model_path)
    manifest, data = build_manifest(source, reference, description=description, license=license)
    if publisher_key is None:
        publisher_key, created = load_or_create_publisher_key()
        if created:
            short = publisher_key.public_key.short_id
            logger.info("created publisher key %s in %s", short, default_key_path())
    root.mkdir(parents=True, exist_ok=True)
    publisher, new_key = _publisher(
        root, signing_key=signing_key, expires_in=expires_in, create=True
    )
    manifest = manifest.signed(publisher_key)
    assert manifest.digest is not None
    publisher.check()  # a tampered registry: refuse before writing anything
    publisher.store_blob(manifest.digest, data)
    try:
        done = publisher.publish(manifest)
    except AlreadyExists as exc:
        where = f" is already published in {root} "
        raise AlreadyExists(str(exc).replace(" is already published ", where, 1)) from None
    return PushResult(
        name=done.manifest.name,
        version=done.manifest.version,
        digest=done.manifest.digest or "",
        manifest=done.manifest.manifest_digest,
        created=done.created,
        snapshot_version=done.snapshot.version,
        registry=registry_id(str(root)),
        new_registry_key=registry_key_file(publisher.key) if new_key else None,
    )


def registry_key_file(key: PrivateKey) -> Path:
    """Where a registry key created by a first push is kept (in the config dir)."""
    return keys_dir() / f"registry-{key.public_key.short_id}.pem"


def writable_folder(registry: str | Path) -> Path:
    """The folder registry ``registry`` names, refusing one inside phony's installed package.

    The bundled official index (``phony_index``) ships inside the package:
    writing there would change an installation (and needs the official key).
    """

    root = folder_path(str(registry)).resolve()
    bundled = Path(phony_index.ROOT).resolve()
    if root == bundled or bundled in root.parents:
        raise UsageError(
            f"{root} is the official index bundled with phony and is never written to; "
            "pass --registry PATH|URL, set PHONY_REGISTRY or default_registry in config.toml"
        )
    if (root / "public" / layout.SNAPSHOT).is_file() and (root / "private").is_dir():
        raise UsageError(
            f"{root} is a registry server's storage: publish through the server, or into "
            f"its public tree with --registry {root / 'public'} (with its registry key)"
        )
    return root


def yank_in_folder(
    reference: str,
    registry: str | Path,
    *,
    undo: bool = False,
    signing_key: str | Path | None = None,
    expires_in: timedelta = DEFAULT_EXPIRY,
) -> Snapshot:
    """Set (or, with ``undo``, clear) the ``yanked`` flag of ``name@version`` in a folder.

    Only the index line's flag changes, then a new snapshot is signed.
    Raises :class:`NotFound` if the version is not published there.
    """

    root = writable_folder(registry)
    name, raw_spec = split_reference(reference)
    spec = parse_spec(raw_spec) if raw_spec else None
    if not isinstance(spec, ExactSpec):
        raise UsageError(f"{reference!r}: yank needs an exact version, like {name}@1.0.0")
    publisher, _ = _publisher(root, signing_key=signing_key, expires_in=expires_in, create=False)
    publisher.check()  # a tampered registry: refuse before writing anything
    try:
        publisher.set_yanked(name, str(spec.version), not undo)
    except NotFound as exc:
        raise NotFound(f"{name}@{spec.version} is not published in {root} ({exc})") from None
    snapshot = publisher.snapshot()
    assert snapshot is not None
    return snapshot


def resign_folder(
    registry: str | Path,
    *,
    signing_key: str | Path | None = None,
    expires_in: timedelta = DEFAULT_EXPIRY,
    adopt: bool = False,
) -> Snapshot:
    """Sign a new snapshot of a folder registry (a new version and expiry, same content).

    What a maintainer runs before the snapshot expires when nothing was pushed.
    Every index file must still hold what the last snapshot lists. ``adopt``
    re-signs a snapshot signed by another key: the second step of rotating
    the registry key, after ``keys/registry.pub.pem`` was replaced.
    """
    root = writable_folder(registry)
    publisher, _ = _publisher(root, signing_key=signing_key, expires_in=expires_in, create=False)
    return publisher.sign_snapshot([], force=True, adopt=adopt)
