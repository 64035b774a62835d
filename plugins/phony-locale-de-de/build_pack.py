"""Rebuild the de_DE pack in ``phony_locale_de_de/registry/`` from Faker's and Mimesis's data.

    .venv/bin/python plugins/phony-locale-de-de/build_pack.py [--key PRIVATE.pem]

Only *values* come from the libraries (both MIT, installed in phony's dev
environment): German first names, surnames, cities and streets. Each model
is trained by ``phony train``, run as a command, exactly as a user would;
the folder is then laid out as a static registry (:mod:`phony_registry.layout`):
blobs, one signed manifest per model and one for the pack, index files, the
public key, and a signed snapshot.

Reproducible: the training values are sorted and de-duplicated, ``--created``
is fixed, and Ed25519 signatures are deterministic, so with the same key
(``--key`` or ``PHONY_SIGNING_KEY``) two builds give identical bytes. Without a
key a fresh one is made and only its public half is kept (in the folder):
the trust root of a pack shipped inside a distribution is the installed
distribution itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from phony_client.official_data import SOURCES, normalise, read_origin
from phony_registry.digests import digest_bytes
from phony_registry.index import FileInfo, IndexEntry, Snapshot, render_index
from phony_registry.layout import (
    REGISTRY_KEY,
    SNAPSHOT,
    blob_path,
    index_path,
    is_index_path,
    manifest_path,
    to_local,
)
from phony_registry.manifest import Manifest, PackMember, format_time, parse_time
from phony_registry.model import FORMAT_VERSION
from phony_registry.signing import PrivateKey, load_private_key

LOCALE = "de_DE"
VERSION = "1.0.0"
CREATED = "2026-11-25T00:00:00Z"
HERE = Path(__file__).resolve().parent
TARGET = HERE / "phony_locale_de_de" / "registry"

# model name -> (kind, description, N-gram order, origins of its values)
RECIPES: dict[str, tuple[str, str, int, tuple[str, ...]]] = {
    "first_names": ("first_name", "German first names, female and male", 4, (
        "faker:person/de_DE first_names_female", "faker:person/de_DE first_names_male",
        "mimesis:de/person.json names.female", "mimesis:de/person.json names.male")),
    "last_names": ("last_name", "German surnames", 4, (
        "faker:person/de_DE last_names", "mimesis:de/person.json surnames")),
    "cities": ("city", "German towns and cities", 4, (
        "faker:address/de_DE cities", "mimesis:de/address.json city")),
    "streets": ("street", "German street names", 5, ("mimesis:de/address.json street.name",)),
}  # fmt: skip


def _phony() -> list[str]:
    script = Path(sys.executable).with_name("phony")
    return [str(script)] if script.exists() else [sys.executable, "-m", "phony_client"]


def _citations(origins: tuple[str, ...]) -> list[str]:
    libraries = sorted({origin.split(":", 1)[0] for origin in origins})
    return [SOURCES[library].citation() for library in libraries]


def train(name: str, kind: str, description: str, order: int, origins: tuple[str, ...],
          work: Path) -> bytes:  # fmt: skip
    """Train one model with ``phony train`` and return the file's bytes."""
    values = normalise(v for origin in origins for v in read_origin(origin))
    source = work / f"{name}.txt"
    source.write_text("\n".join(values) + "\n", encoding="utf-8")
    output = work / f"{name}.phony"
    subprocess.run(
        [*_phony(), "train", str(source), "-o", str(output), "--order", str(order),
         "--name", f"{LOCALE}/{name}", "--locale", LOCALE, "--kind", kind,
         "--license", "MIT", "--description", description, "--created", CREATED,
         "--source-description",
         f"values from {', '.join(origins)}. {'; '.join(_citations(origins))}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return output.read_bytes()


def build(key: PrivateKey) -> dict[str, bytes]:
    """Every file of the pack's static registry, by layout path."""
    created = parse_time(CREATED)
    files: dict[str, bytes] = {}
    members = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, description, order, origins) in RECIPES.items():
            blob = train(name, kind, description, order, origins, Path(tmp))
            digest = digest_bytes(blob)
            full = f"{LOCALE}/{name}"
            manifest = Manifest.from_dict(
                {
                    "schema": 1, "type": "model", "name": full, "version": VERSION,
                    "digest": digest, "size": len(blob), "format_version": FORMAT_VERSION,
                    "kind": kind, "locale": LOCALE, "license": "MIT",
                    "description": description, "created": CREATED,
                    "sources": list(origins), "attribution": _citations(origins),
                    "order": order,
                }
            ).signed(key)  # fmt: skip
            files[blob_path(digest)] = blob
            files[manifest_path(full, VERSION)] = manifest.to_bytes()
            files[index_path(full)] = render_index([IndexEntry.for_manifest(manifest)])
            members.append(PackMember(full, VERSION, digest))
    all_origins = tuple(o for recipe in RECIPES.values() for o in recipe[3])
    pack = Manifest.from_dict(
        {
            "schema": 1, "type": "pack", "kind": "pack", "name": LOCALE, "version": VERSION,
            "members": [m.to_dict() for m in members], "locale": LOCALE, "license": "MIT",
            "description": "German (de_DE) locale pack: " + ", ".join(RECIPES),
            "created": CREATED, "attribution": _citations(all_origins),
        }
    ).signed(key)  # fmt: skip
    files[manifest_path(LOCALE, VERSION)] = pack.to_bytes()
    files[index_path(LOCALE)] = render_index([IndexEntry.for_manifest(pack)])
    files[REGISTRY_KEY] = key.public_key.to_pem()
    listed = {path: FileInfo.of(data) for path, data in files.items() if is_index_path(path)}
    snapshot = Snapshot(
        version=1,
        created=CREATED,
        expires=format_time(created + timedelta(days=3650)),
        files=dict(sorted(listed.items())),
    ).signed(key)
    files[SNAPSHOT] = snapshot.to_bytes()
    return dict(sorted(files.items()))


def check() -> list[str]:
    """Differences between a fresh build and the committed folder, signatures aside.

    Blobs and index files must be identical; manifests identical once their
    signatures are removed (a check has no private key, so it signs with a
    throw-away one).
    """
    import json

    built = build(PrivateKey.generate())
    committed = {
        path.relative_to(TARGET).as_posix(): path.read_bytes()
        for path in sorted(TARGET.rglob("*"))
        if path.is_file()
    }
    problems = sorted(set(built).symmetric_difference(committed))
    for path in sorted(set(built) & set(committed)):
        if path.startswith("blobs/"):
            same = built[path] == committed[path]
        elif path.startswith("index/"):
            # Each line names its manifest's digest, which covers the signature.
            lines = [
                [{**json.loads(line), "manifest": None} for line in data.splitlines()]
                for data in (built[path], committed[path])
            ]
            same = lines[0] == lines[1]
        elif path.startswith("manifests/"):
            unsigned = [json.loads(data) for data in (built[path], committed[path])]
            for document in unsigned:
                document.pop("signatures", None)
            same = unsigned[0] == unsigned[1]
        else:
            same = True  # the key and the snapshot differ by construction
        if not same:
            problems.append(path)
    return problems


def main() -> int:
    """Build the pack into ``phony_locale_de_de/registry/`` (or ``--check`` it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare a fresh build with the committed folder"
    )
    parser.add_argument(
        "--key",
        default=os.environ.get("PHONY_SIGNING_KEY"),
        help="Ed25519 private key (PEM) to sign with [default: a fresh key]",
    )
    args = parser.parse_args()
    if args.check:
        problems = check()
        for path in problems:
            print(f"differs: {path}", file=sys.stderr)
        print("the committed pack matches its data" if not problems else "rebuild the pack")
        return 1 if problems else 0
    key = load_private_key(Path(args.key)) if args.key else PrivateKey.generate()
    files = build(key)
    if TARGET.exists():
        shutil.rmtree(TARGET)
    for path, data in files.items():
        target = to_local(TARGET, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    print(f"wrote {len(files)} files to {TARGET} (key {key.public_key.keyid})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
