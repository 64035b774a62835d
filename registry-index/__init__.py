"""The official phony index, bundled with the package.

This folder is a static registry (index files, signed snapshot, manifests and
blobs) holding the official locale packs. It is installed as the
``phony_index`` package so ``phony install tr_TR`` works with no network and
no server; ``scripts/build-index`` rebuilds it from Faker's and Mimesis's
data (see README.md here for the sources and their licences).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PUBLIC_KEY_FILE", "ROOT"]

#: The folder holding the official static registry.
ROOT: Path = Path(__file__).resolve().parent

#: The official index's Ed25519 public key (PEM); the same key is pinned in the client.
PUBLIC_KEY_FILE: Path = ROOT / "keys" / "registry.pub.pem"
