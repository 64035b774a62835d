"""A repository simulator, in the spirit of python-tuf's: build a registry folder, tamper with it.

:class:`RegistrySim` writes the static layout directly with the core objects
(not through ``phony_client.publish``), so a test can produce any registry a
broken or malicious server could serve: unsigned manifests, swapped
signatures, stale or expired snapshots, index files from two snapshots.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from phony_registry import layout
from phony_registry.digests import digest_bytes
from phony_registry.index import FileInfo, IndexEntry, Snapshot, add_entry, set_yanked
from phony_registry.manifest import Manifest, PackMember
from phony_registry.signing import PrivateKey

NAMES = ["ayşe", "fatma", "zeynep", "elif", "emine", "hatice", "merve", "özlem", "şule"]


def train_bytes(values: Iterable[str] = NAMES, *, name: str = "names", v1: bool = False) -> bytes:
    """A real .phony file (current format, or the version-1 layout)."""
    from phony_registry.format import dump_model
    from phony_registry.migrate import model_to_v1
    from phony_registry.ngram import train

    model = train(
        list(values),
        name=name,
        order=4,  # a fixed order: a version-2 file, as registries hold today
        locale="tr_TR",
        kind="first_names",
        license="CC0-1.0",
    )
    if v1:
        return gzip.compress(json.dumps(model_to_v1(model)).encode("utf-8"), mtime=0)
    return dump_model(model)


@dataclass
class RegistrySim:
    """A folder registry under construction."""

    root: Path
    key: PrivateKey = field(default_factory=PrivateKey.generate)
    version: int = 0

    def __post_init__(self) -> None:
        self.write(layout.registry_key_path(), self.key.public_key.to_pem())

    @property
    def location(self) -> str:
        return str(self.root)

    def path(self, relative: str) -> Path:
        return layout.to_local(self.root, relative)

    def read(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()

    def write(self, relative: str, data: bytes) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def publish(
        self,
        name: str,
        version: str,
        data: bytes,
        *,
        signers: Iterable[PrivateKey] | None = None,
        snapshot: bool = True,
    ) -> Manifest:
        """Publish a model version (signed by the registry key unless ``signers`` say otherwise)."""
        from phony_registry.format import load_model

        manifest = Manifest.model(
            name,
            version,
            digest=digest_bytes(data),
            size=len(data),
            format_version=load_model(data).format_version,
            kind="first_names",
            locale="tr_TR",
        )
        return self.add_manifest(manifest, data, signers=signers, snapshot=snapshot)

    def publish_pack(self, name: str, version: str, members: list[PackMember]) -> Manifest:
        """Publish a pack of already published members."""
        return self.add_manifest(Manifest.pack(name, version, members, locale="tr_TR"), None)

    def add_manifest(
        self,
        manifest: Manifest,
        data: bytes | None,
        *,
        signers: Iterable[PrivateKey] | None = None,
        snapshot: bool = True,
    ) -> Manifest:
        """Write blob, manifest and index line as given (no checks: tests tamper on purpose)."""
        for signer in [self.key] if signers is None else signers:
            manifest = manifest.signed(signer)
        if data is not None:
            assert manifest.digest is not None
            self.write(layout.blob_path(manifest.digest), data)
        self.write(layout.manifest_path(manifest.name, manifest.version), manifest.to_bytes())
        index = layout.index_path(manifest.name)
        old = self.read(index) if self.path(index).exists() else b""
        new, _ = add_entry(old, IndexEntry.for_manifest(manifest))
        self.write(index, new)
        if snapshot:
            self.snapshot()
        return manifest

    def yank(self, name: str, version: str) -> None:
        index = layout.index_path(name)
        self.write(index, set_yanked(self.read(index), version, True))
        self.snapshot()

    def snapshot(
        self,
        *,
        version: int | None = None,
        key: PrivateKey | None = None,
        now: datetime | None = None,
        expires_in: timedelta = timedelta(days=30),
    ) -> Snapshot:
        """Sign a snapshot of the index files as they are now."""
        self.version = version if version is not None else self.version + 1
        files = {
            p.relative_to(self.root).as_posix(): FileInfo.of(p.read_bytes())
            for p in sorted(self.path("index").rglob("*.jsonl"))
        }
        snap = Snapshot.new(
            files, version=self.version, now=now or datetime.now(UTC), expires_in=expires_in
        ).signed(key or self.key)
        self.write(layout.snapshot_path(), snap.to_bytes())
        return snap


def cache_files() -> set[str]:
    """Every blob, ref and cached manifest file in the test's cache (for "nothing new" checks)."""
    from phony_client.cache import Cache

    root = Cache().root
    if not root.exists():
        return set()
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.parts[len(root.parts)] in ("blobs", "refs", "registries")
    }


@dataclass
class FolderOverHttp:
    """Serve a registry folder to httpx as a static host would, with ETags; counts requests."""

    root: Path
    requests: list[httpx.Request] = field(default_factory=list)
    mangle: Callable[[str, bytes], bytes] | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        relative = request.url.path.lstrip("/")
        try:
            target = layout.to_local(self.root, relative)
            data = target.read_bytes()
        except (ValueError, FileNotFoundError, IsADirectoryError):
            return httpx.Response(404, json={"error": "not_found", "detail": relative})
        etag = '"' + digest_bytes(data).split(":")[1][:32] + '"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        if self.mangle is not None:
            data = self.mangle(relative, data)
        return httpx.Response(200, content=data, headers={"ETag": etag})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]
