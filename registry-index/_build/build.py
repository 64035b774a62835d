"""Build and check the official index (``registry-index/``), the bundled static registry.

``scripts/build-index`` runs :func:`main`. A build reads the training values
of every official model (:mod:`phony_index._build.data`), trains each
with :func:`phony_registry.ngram.train` (what ``phony train`` runs), and
publishes every model, then every locale pack, through the core's one
publisher (:class:`phony_registry.publisher.Publisher`, what ``phony models
push`` into a folder and the registry server run), signed with the official
key: the blobs, one manifest per model and per pack, one index file per name
and the signed snapshot are all written by it, with its checks (printable
text, a published version never changes). The build adds only the
registry's public key.

A rebuild publishes into a staging copy of the committed index and copies
the result back: a release already published is an idempotent no-op, so an
up-to-date index is left byte for byte as it is; other bytes or metadata
under a published version are refused (bump :data:`OFFICIAL_VERSION`).

Reproducible: every object carries the fixed :data:`BUILD_TIME` (the
publisher signs the snapshot at that time too), Ed25519 signatures are
deterministic, and training depends only on its input.

``--check`` publishes a fresh index into an empty folder and compares it
with the committed one (the snapshot's ``version`` aside: a fresh build
counts its own publishes), then verifies every signature with the committed
public key. With the private key it compares every byte; without it (CI has
no secret) it signs with a throw-away key and compares everything except
the signatures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import phony_index
from phony_index._build.data import OFFICIAL_LOCALES, SOURCES, ModelData, locale_models
from phony_registry._fs import write_atomic
from phony_registry.canonical import canonical_json, loads_object
from phony_registry.digests import digest_bytes
from phony_registry.errors import ConfigError, PhonyError
from phony_registry.index import parse_index
from phony_registry.layout import (
    BLOBS_DIR,
    INDEX_DIR,
    MANIFESTS_DIR,
    REGISTRY_KEY,
    SNAPSHOT,
    is_index_path,
    manifest_path,
    to_local,
)
from phony_registry.manifest import Manifest, PackMember, format_time, parse_time
from phony_registry.model import FORMAT_VERSION
from phony_registry.publisher import Publisher
from phony_registry.signing import PrivateKey, PublicKey, load_private_key, official_key
from phony_registry.storage import LocalStorage

__all__ = [
    "BUILD_TIME",
    "OFFICIAL_VERSION",
    "ORDERS",
    "SNAPSHOT_LIFETIME",
    "build_files",
    "check_index",
    "main",
    "order_of",
    "publish_official",
    "read_index",
    "rebuild",
    "train_blob",
    "verify_index",
    "write_index",
]

#: Version of every official model and pack in this index. Bump it whenever
#: the data or the trainer changes a blob: a published version never changes.
OFFICIAL_VERSION = "1.0.0"
#: The ``created`` time of every official object (fixed, for reproducibility).
BUILD_TIME = "2026-11-25T00:00:00Z"
#: The bundled snapshot cannot be refreshed once installed, so it lives long.
SNAPSHOT_LIFETIME = timedelta(days=3650)
#: N-gram order per model name: the highest order whose held-out novelty is at
#: least 50 % (see phony_index._build.quality and registry-index/README.md).
ORDERS: dict[tuple[str, str], int] = {
    ("en_US", "cities"): 4,
    ("en_US", "companies"): 5,
    ("en_US", "first_names"): 4,
    ("en_US", "first_names_female"): 4,
    ("en_US", "first_names_male"): 3,
    ("en_US", "last_names"): 4,
    ("en_US", "streets"): 6,
    ("tr_TR", "cities"): 3,
    ("tr_TR", "companies"): 7,
    ("tr_TR", "first_names"): 4,
    ("tr_TR", "first_names_female"): 3,
    ("tr_TR", "first_names_male"): 3,
    ("tr_TR", "last_names"): 3,
    ("tr_TR", "streets"): 4,
}
ENV_KEY = "PHONY_SIGNING_KEY"
# What a build owns inside the index folder (the rest, such as README.md and
# __init__.py, is left alone).
_OWNED = (BLOBS_DIR, INDEX_DIR, MANIFESTS_DIR, SNAPSHOT, REGISTRY_KEY)


def order_of(data: ModelData) -> int:
    """The N-gram order the official build uses for ``data`` (see :data:`ORDERS`)."""
    from phony_registry.ngram import DEFAULT_ORDER

    return ORDERS.get((data.locale, data.name), DEFAULT_ORDER)


def train_blob(data: ModelData, order: int | None = None) -> bytes:
    """Train one official model (at :func:`order_of` unless told) and return its file bytes."""
    from phony_registry.format import dump_model
    from phony_registry.ngram import train

    model = train(
        data.values,
        name=f"{data.locale}/{data.name}",
        order=order or order_of(data),
        locale=data.locale,
        kind=data.kind,
        license=data.license,
        source=data.source_text(),
        description=data.description,
        created=BUILD_TIME,
    )
    return dump_model(model)


def _citations(models: list[ModelData]) -> list[str]:
    keys = sorted({s.distribution for m in models for s in m.sources})
    return [source.citation() for source in SOURCES.values() if source.distribution in keys]


def _manifest(fields: dict[str, Any], key: PrivateKey) -> Manifest:
    return Manifest.from_dict(fields).signed(key)


def publish_official(root: Path, key: PrivateKey) -> None:
    """Publish every official model, then every locale pack, into the folder registry ``root``.

    Through the core's publisher, signed with ``key`` (the publisher's
    signature and the registry's: the official key is both). The folder gets
    ``key``'s public half as its registry key; one holding another key is
    refused. Raises what any publish raises: :class:`AlreadyExists` for other
    content under a published version, :class:`InvalidManifest` for text a
    registry refuses.
    """
    created = parse_time(BUILD_TIME)
    storage = LocalStorage(root)
    public = key.public_key.to_pem()
    if not storage.create(REGISTRY_KEY, public) and storage.read_bytes(REGISTRY_KEY) != public:
        raise ConfigError(f"{root} is the registry of another key ({REGISTRY_KEY} differs)")
    publisher = Publisher(storage, key, expires_in=SNAPSHOT_LIFETIME, clock=lambda: created)
    for locale in OFFICIAL_LOCALES:
        models = locale_models(locale)
        members = []
        for data in models:
            blob = train_blob(data)
            digest = digest_bytes(blob)
            name = f"{locale}/{data.name}"
            manifest = _manifest(
                {
                    "schema": 1, "type": "model", "name": name, "version": OFFICIAL_VERSION,
                    "digest": digest, "size": len(blob),
                    "format_version": FORMAT_VERSION, "kind": data.kind,
                    "locale": locale, "license": data.license, "description": data.description,
                    "created": format_time(created), "sources": list(data.origins),
                    "attribution": [s.citation() for s in data.sources],
                    "order": order_of(data),
                },
                key,
            )  # fmt: skip
            publisher.store_blob(digest, blob)
            publisher.publish(manifest)
            members.append(PackMember(name, OFFICIAL_VERSION, digest))
        pack = _manifest(
            {
                "schema": 1, "type": "pack", "kind": "pack", "name": locale,
                "version": OFFICIAL_VERSION, "members": [m.to_dict() for m in members],
                "locale": locale, "license": "MIT",
                "description": f"Official {locale} locale pack: "
                + ", ".join(m.name for m in models),
                "created": format_time(created), "attribution": _citations(models),
            },
            key,
        )  # fmt: skip
        publisher.publish(pack)


def build_files(key: PrivateKey) -> dict[str, bytes]:
    """Every file of a fresh official index, by layout path, signed with ``key``.

    Published into an empty temporary folder (:func:`publish_official`).
    """
    with tempfile.TemporaryDirectory(prefix="phony-index-") as folder:
        root = Path(folder) / "index"
        publish_official(root, key)
        return read_index(root)


def rebuild(root: Path, key: PrivateKey) -> int:
    """Publish the official releases into the index folder ``root``; the number of files changed.

    Published into a staging copy of ``root``'s index, which replaces it
    only when all went well and something changed: a failed build leaves the
    committed index as it was, and an up-to-date one is not touched.
    """
    committed = read_index(root)
    with tempfile.TemporaryDirectory(prefix="phony-index-") as folder:
        staging = Path(folder) / "index"
        for rel, data in committed.items():
            write_atomic(to_local(staging, rel), data, mode=0o644)
        publish_official(staging, key)
        files = read_index(staging)
    changed = sorted(p for p in set(files) | set(committed) if files.get(p) != committed.get(p))
    if changed:
        write_index(root, files)
    return len(changed)


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    for top in _OWNED:
        path = to_local(root, top)
        if path.is_file():
            yield top, path
        elif path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.is_file():
                    yield found.relative_to(root).as_posix(), found


def read_index(root: Path) -> dict[str, bytes]:
    """The files a build owns in the index folder ``root``, by layout path."""
    return {rel: path.read_bytes() for rel, path in _walk(root)}


def write_index(root: Path, files: Mapping[str, bytes]) -> None:
    """Replace the built part of the index folder ``root`` with ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    for top in _OWNED:
        path = to_local(root, top)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for rel, data in files.items():
        write_atomic(to_local(root, rel), data, mode=0o644)  # package data: world-readable


def _strip_signatures(path: str, data: bytes, *, keyless: bool) -> bytes:
    """What must match between two builds when signatures may differ.

    Always drops the snapshot's version and signatures. ``keyless`` (a rebuild
    signed with a throw-away key) also drops manifest signatures and every
    digest computed over signed bytes: index lines' ``manifest`` and the
    snapshot's file digests. :func:`verify_index` checks those separately.
    """
    if path == SNAPSHOT:
        obj = loads_object(data, path)
        obj.pop("signatures", None)
        obj.pop("version", None)
        if keyless:
            obj["files"] = sorted(obj.get("files", {}))
        return canonical_json(obj)
    if not keyless:
        return data
    if path.startswith(f"{MANIFESTS_DIR}/"):
        obj = loads_object(data, path)
        obj.pop("signatures", None)
        return canonical_json(obj)
    if is_index_path(path):
        lines = [{**e.to_dict(), "manifest": None} for e in parse_index(data)]
        return canonical_json(lines)
    return data


def verify_index(files: Mapping[str, bytes], public: PublicKey) -> list[str]:
    """Problems with the signatures and digests of a built index (empty when all verify).

    Read through the core's verified reader, with ``public`` as the official
    key (the snapshot's key and the only key official names accept).
    """
    from phony_registry.errors import NotFound
    from phony_registry.reader import MappingSource, VerifiedReader
    from phony_registry.trust import TrustPolicy

    problems: list[str] = []

    def report(path: str, exc: PhonyError) -> None:
        missing = isinstance(exc, NotFound) and path not in files
        problems.append(
            f"{path}: listed in the snapshot but missing" if missing else f"{path}: {exc}"
        )

    reader = VerifiedReader(
        MappingSource(files, "the official index"),
        policy=TrustPolicy(official_override=public),
        key=public,
    )
    try:
        listed = set(reader.snapshot().files)
    except (KeyError, PhonyError) as exc:
        return [f"{SNAPSHOT}: {exc}"]
    for _ in reader.walk(on_error=report):
        pass
    problems += [
        f"{path}: not listed in the snapshot"
        for path in sorted(files)
        if is_index_path(path) and path not in listed
    ]
    return problems


def check_index(
    root: Path, key: PrivateKey | None = None, *, fresh: Mapping[str, bytes] | None = None
) -> list[str]:
    """Compare ``root`` with a fresh build and verify its signatures; return the problems.

    With ``key`` every byte must match except the snapshot's version (a fresh
    build counts its own publishes) and signature; without it, a throw-away
    key signs the rebuild and signatures are left out of the comparison
    (they are verified against the official public key instead). ``fresh``
    is a build made beforehand with a throw-away key (tests reuse one).
    """
    committed = read_index(root)
    if fresh is None or key is not None:
        fresh = build_files(key or PrivateKey.generate())
    fresh = dict(fresh)
    problems = []
    public = official_key()
    if committed.get(REGISTRY_KEY) != public.to_pem():
        problems.append(f"{REGISTRY_KEY}: is not the official public key")
    fresh[REGISTRY_KEY] = public.to_pem()
    for path in sorted(set(committed) | set(fresh)):
        if path not in committed:
            problems.append(f"{path}: missing from the committed index (rebuild it)")
        elif path not in fresh:
            problems.append(f"{path}: not produced by the build (stale file?)")
        else:
            old = _strip_signatures(path, committed[path], keyless=key is None)
            new = _strip_signatures(path, fresh[path], keyless=key is None)
            if old != new:
                problems.append(f"{path}: differs from a fresh build")
    if problems:
        problems += _source_drift(committed)
    return problems + verify_index(committed, public)


def _source_drift(committed: Mapping[str, bytes]) -> list[str]:
    """A hint when the installed Faker or Mimesis is not the version the index was built from."""
    recorded: set[str] = set()
    for locale in OFFICIAL_LOCALES:
        raw = committed.get(manifest_path(locale, OFFICIAL_VERSION))
        if raw is not None:
            recorded.update(Manifest.from_bytes(raw).extra.get("attribution", []))
    current = {source.citation() for source in SOURCES.values()}
    if not recorded or recorded <= current:
        return []
    return [
        "data sources: the index was built from "
        + "; ".join(sorted(recorded - current))
        + ", but this machine has "
        + "; ".join(sorted(current - recorded))
        + " (install those versions, or rebuild and bump OFFICIAL_VERSION)"
    ]


def _load_key(path: str | None) -> PrivateKey | None:
    chosen = path or os.environ.get(ENV_KEY)
    if not chosen:
        return None
    key = load_private_key(chosen)
    if key.public_key != official_key():
        raise ConfigError(f"{chosen} is not the official index key (key id {key.keyid[:16]})")
    return key


def main(argv: list[str] | None = None) -> int:
    """``scripts/build-index [--check] [--key PATH] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="build-index", description=__doc__.split("\n\n")[0])
    parser.add_argument("--key", help=f"official private key (PEM); default ${ENV_KEY}")
    parser.add_argument("--out", type=Path, default=phony_index.ROOT, help="index folder")
    parser.add_argument("--check", action="store_true", help="compare with a fresh build")
    parser.add_argument(
        "--quality", action="store_true", help="print novelty/plausibility by order (Markdown)"
    )
    args = parser.parse_args(argv)
    try:
        if args.quality:
            from phony_index._build.quality import quality_table

            models = [m for locale in OFFICIAL_LOCALES for m in locale_models(locale)]
            print(quality_table(models, {(m.locale, m.name): order_of(m) for m in models}))
            return 0
        key = _load_key(args.key)
        if args.check:
            problems = check_index(args.out, key)
            for problem in problems:
                print(f"build-index: {problem}", file=sys.stderr)
            mode = "byte for byte" if key else "content (no key: signatures verified only)"
            print(f"build-index --check: {len(problems)} problem(s), compared {mode}")
            return 1 if problems else 0
        if key is None:
            raise ConfigError(f"no signing key: pass --key PATH or set {ENV_KEY}")
        changed = rebuild(args.out, key)
        if changed:
            print(f"build-index: published into {args.out}: {changed} file(s) changed")
        else:
            print(f"build-index: {args.out} is up to date: every release was already published")
        return 0
    except PhonyError as exc:
        print(f"build-index: error: {exc}", file=sys.stderr)
        return exc.exit_code
