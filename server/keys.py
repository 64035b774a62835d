"""The registry's own signing key, and the publishers' registered keys.

**Registry key.** The server signs its snapshot (and countersigns every
manifest it accepts) with one Ed25519 key. With ``--key-file`` (or
``PHONY_SERVER_KEY``) it is read from that PEM file, generated there (mode
0600) on first start if missing. Without it, the key lives in the storage's
private area (``registry-key.pem`` there: ``DIR/private/`` on a folder, the
private prefix or bucket on S3, never the public tree), created once with an
exclusive write by whichever replica starts first, so every replica on one
bucket signs with the same key. Either way its public half is published at
``keys/registry.pub.pem`` for clients to pin on first use, and the server
refuses to start with any other key than the one published there.

**Publisher keys.** A publisher signs each manifest with their own key
(``phony keys generate``). The server accepts a manifest only if one of its
signatures is by a key registered for the name's namespace. A key is
registered with a token valid for that namespace (``PUT /v1/keys``, which
``phony login`` and ``phony models push`` call for the user's key), or by the
operator at token creation (``phony registry token create --key``). Keys of
official names are registered with an operator token.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import time
from pathlib import Path

from phony_registry.errors import ConfigError, NotFound, SignatureError
from phony_registry.layout import registry_key_path
from phony_registry.names import canonical_key
from phony_registry.signing import PrivateKey, PublicKey, save_private_key
from phony_server.storage import LocalStorage, RegistryStorage, Storage, WriteConflict

__all__ = [
    "OFFICIAL",
    "PublisherKeys",
    "load_registry_key",
    "open_registry_key",
]

#: The pseudo-namespace under which keys for official names are registered.
OFFICIAL = "_official"
_STORED_KEY = "registry-key.pem"
log = logging.getLogger("phony_server")


def load_registry_key(storage: RegistryStorage, key_file: Path | None) -> PrivateKey:
    """The registry's signing key (created on first use); publishes its public half.

    Refuses (ConfigError) to start with a key other than the one whose public
    half the storage already publishes: clients pinned that key, and a silent
    change would look to them exactly like an attack.
    """
    return open_registry_key(storage, key_file)[0]


def open_registry_key(storage: RegistryStorage, key_file: Path | None) -> tuple[PrivateKey, bool]:
    """:func:`load_registry_key`, and whether this call made a new key the registry's.

    True means a deliberate rotation or a new registry: the operator removed
    the published public key and the private key (or pointed ``--key-file``
    at a new file), which nobody with write access to the public tree alone
    can do.
    """
    public, private = storage.public, storage.private
    published = public.stat(registry_key_path())
    created = False
    if key_file is not None:
        path = Path(key_file)
        if isinstance(public, LocalStorage) and path.resolve().is_relative_to(public.root):
            # A static host serves the whole public folder (docs/deploy.md).
            raise ConfigError(
                f"--key-file {path} is inside the public tree {public.root}, which is "
                "served to anyone: keep the registry key outside it"
            )
        if not path.exists():
            if published is not None:
                raise ConfigError(
                    f"no registry key at {path}, and {storage.description} already publishes "
                    f"one ({registry_key_path()}) that clients pinned: pass the file "
                    "holding its private half"
                )
            # If another worker creates it first, save refuses and we use theirs.
            with contextlib.suppress(ConfigError):
                save_private_key(path, PrivateKey.generate())
                created = True
        try:
            key = PrivateKey.from_pem(path.read_bytes(), source=str(path))
        except OSError as exc:
            raise ConfigError(f"cannot read registry key {path}: {exc.strerror}") from None
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise ConfigError(f"registry key {path} is readable by others; chmod 600 it")
    else:
        if published is not None and private.stat(_STORED_KEY) is None:
            raise ConfigError(
                f"{public.description} already publishes a registry key "
                f"({registry_key_path()}) but {private.description} does not hold its "
                "private half; start the server with --key-file PEM (a folder registry's "
                "key is in its first pusher's config dir, keys/registry-<id>.pem)"
            )
        created = private.create(_STORED_KEY, PrivateKey.generate().to_pem())
        key = PrivateKey.from_pem(
            private.read_bytes(_STORED_KEY), source=f"{_STORED_KEY} in {private.description}"
        )
    if published is None:
        public.create(registry_key_path(), key.public_key.to_pem())
    current = PublicKey.from_pem(public.read_bytes(registry_key_path()))
    if current.keyid != key.keyid:
        raise ConfigError(
            f"the registry key {key.public_key.short_id} is not the key this registry "
            f"publishes ({current.short_id}, {registry_key_path()}); clients pinned that "
            "one. To rotate on purpose, delete the old public key file first"
        )
    return key, created


class PublisherKeys:
    """Publisher keys registered per namespace, in the private area (``publishers/``)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @staticmethod
    def _key(namespace: str | None) -> str:
        scope = OFFICIAL if namespace is None else canonical_key(namespace)
        return f"publishers/{scope}.json"

    def list(self, namespace: str | None) -> builtins.list[PublicKey]:
        """Keys registered for ``namespace`` (None: the official names).

        A key registered before phony refused it (one of small order, under
        which a forged signature verifies) is left out, and logged: it vouches
        for nothing, and the namespace's other keys keep working.
        """
        entries, _tag = self._entries(namespace)
        keys = []
        for entry in entries:
            try:
                keys.append(PublicKey.from_base64(entry["public_key"]))
            except SignatureError as exc:
                log.warning("publisher key of %s ignored: %s", namespace or OFFICIAL, exc)
        return keys

    def _entries(self, namespace: str | None) -> tuple[builtins.list[dict[str, str]], str | None]:
        try:
            data, tag = self.storage.read(self._key(namespace))
        except NotFound:
            return [], None
        entries: builtins.list[dict[str, str]] = json.loads(data).get("keys", [])
        return entries, tag

    def register(self, namespace: str | None, key: PublicKey, by: str) -> bool:
        """Add ``key`` for ``namespace`` (``by`` is the token id); False if already there."""
        while True:
            entries, tag = self._entries(namespace)
            if any(entry["keyid"] == key.keyid for entry in entries):
                return False
            entries.append(
                {
                    "keyid": key.keyid,
                    "public_key": key.to_base64(),
                    "added": str(int(time.time())),
                    "token": by,
                }
            )
            body = json.dumps({"keys": entries}, sort_keys=True, indent=1).encode()
            try:
                self.storage.write(self._key(namespace), body, if_match=tag)
            except WriteConflict:
                continue
            return True
