"""Pushing into a folder registry, publisher and registry keys, the lockfile."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_sim import train_bytes

from phony_client.config import Config, RegistryConfig, keys_dir, save_config
from phony_client.lockfile import install_locked, read_lock, write_lock
from phony_client.publish import push_to_folder, resign_folder, yank_in_folder
from phony_client.pull import pull
from phony_registry import layout
from phony_registry.errors import (
    AlreadyExists,
    DigestMismatch,
    Forbidden,
    RegistryUnavailable,
    SignatureError,
    UsageError,
)
from phony_registry.index import Snapshot, parse_index
from phony_registry.signing import PrivateKey, save_private_key


@pytest.fixture
def model_file(tmp_path: Path, model_v2: bytes) -> Path:
    path = tmp_path / "names.phony"
    path.write_bytes(model_v2)
    return path


@pytest.fixture
def other_file(tmp_path: Path) -> Path:
    path = tmp_path / "other.phony"
    path.write_bytes(train_bytes(["deniz", "umut", "ece"]))
    return path


def test_push_writes_blob_manifest_index_and_signed_snapshot(
    tmp_path: Path, model_file: Path
) -> None:
    registry = tmp_path / "team-registry"
    result = push_to_folder(model_file, "alice/names@1.2.0", registry)
    assert result.created
    assert result.snapshot_version == 1
    assert (registry / layout.blob_path(result.digest)).read_bytes() == model_file.read_bytes()
    [entry] = parse_index((registry / layout.index_path("alice/names")).read_bytes())
    assert (entry.version, entry.digest) == ("1.2.0", result.digest)
    snapshot = Snapshot.from_bytes((registry / "snapshot.json").read_bytes())
    assert layout.index_path("alice/names") in snapshot.files
    # The registry's private key stays in the pusher's config dir, 0600, never in the folder.
    assert not any(b"PRIVATE KEY" in p.read_bytes() for p in registry.rglob("*") if p.is_file())
    private = list(keys_dir().glob("registry-*.pem"))
    assert len(private) == 1
    if os.name == "posix":
        assert stat.S_IMODE(private[0].stat().st_mode) == 0o600
    assert pull("alice/names@^1", registry=str(registry)).ref.digest == result.digest


def test_same_bytes_again_is_idempotent_other_bytes_conflict(
    tmp_path: Path, model_file: Path, other_file: Path
) -> None:
    registry = tmp_path / "reg"
    first = push_to_folder(model_file, "alice/names@1.0.0", registry)
    again = push_to_folder(model_file, "alice/names@1.0.0", registry)
    assert not again.created
    assert again.snapshot_version == first.snapshot_version
    manifest = registry / layout.manifest_path("alice/names", "1.0.0")
    before = manifest.read_bytes()
    with pytest.raises(AlreadyExists, match=r"alice/names@1\.0\.0 is already published"):
        push_to_folder(other_file, "alice/names@1.0.0", registry)
    # Names differing only by - and _ are the same name.
    push_to_folder(model_file, "alice/my-names@1.0.0", registry)
    with pytest.raises(AlreadyExists):
        push_to_folder(other_file, "alice/my_names@1.0.0", registry)
    assert manifest.read_bytes() == before


def test_push_needs_an_exact_version(tmp_path: Path, model_file: Path) -> None:
    with pytest.raises(UsageError, match="exact version"):
        push_to_folder(model_file, "alice/names@^1", tmp_path / "reg")
    with pytest.raises(UsageError, match="exact version"):
        push_to_folder(model_file, "alice/names", tmp_path / "reg")


def test_push_without_the_registry_key_is_forbidden(
    tmp_path: Path, model_file: Path, other_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@1.0.0", registry)
    [maintainer_key] = keys_dir().glob("registry-*.pem")
    shared = tmp_path / "shared-registry-key.pem"
    shared.write_bytes(maintainer_key.read_bytes())
    # A teammate: another config dir, without the registry key.
    monkeypatch.setenv("PHONY_CONFIG_DIR", str(tmp_path / "teammate"))
    with pytest.raises(Forbidden, match="PHONY_SIGNING_KEY"):
        push_to_folder(other_file, "bob/cities@1.0.0", registry)
    wrong = tmp_path / "wrong.pem"
    save_private_key(wrong, PrivateKey.generate())
    with pytest.raises(Forbidden, match="is not the signing key"):
        push_to_folder(other_file, "bob/cities@1.0.0", registry, signing_key=wrong)
    monkeypatch.setenv("PHONY_SIGNING_KEY", str(shared))
    assert push_to_folder(other_file, "bob/cities@1.0.0", registry).snapshot_version == 2


def test_lockfile_round_trip_and_locked_install(
    tmp_path: Path, model_file: Path, other_file: Path
) -> None:
    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@1.0.0", registry)
    push_to_folder(other_file, "alice/names@1.1.0", registry)
    from phony_client.lockfile import entry_for

    ref = pull("alice/names@~1.0", registry=str(registry)).ref
    lock = tmp_path / "phony.lock"
    write_lock(lock, [entry_for(ref)])
    [entry] = read_lock(lock)
    assert (entry.name, entry.version, entry.registry) == ("alice/names", "1.0.0", str(registry))
    assert [r.version for r in install_locked(lock)] == ["1.0.0"]
    lock.write_text(lock.read_text().replace(entry.digest, "sha256:" + "0" * 64))
    with pytest.raises(DigestMismatch, match="locks"):
        install_locked(lock)


def test_yank_and_resign_a_folder_registry(
    tmp_path: Path, model_file: Path, other_file: Path
) -> None:
    from phony_client.publish import resign_folder, yank_in_folder

    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@1.0.0", registry)
    push_to_folder(other_file, "alice/names@1.1.0", registry)
    snapshot = yank_in_folder("alice/names@1.1.0", registry)
    assert snapshot.version == 3
    assert pull("alice/names@^1", registry=str(registry)).ref.version == "1.0.0"
    assert pull("alice/names@1.1.0", registry=str(registry)).ref.yanked
    yank_in_folder("alice/names@1.1.0", registry, undo=True)
    assert pull("alice/names@^1", registry=str(registry)).ref.version == "1.1.0"
    before = Snapshot.from_bytes((registry / "snapshot.json").read_bytes())
    after = resign_folder(registry)
    assert after.version == before.version + 1
    assert after.files == before.files
    with pytest.raises(UsageError, match="exact version"):
        yank_in_folder("alice/names@^1", registry)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def third_file(tmp_path: Path) -> Path:
    path = tmp_path / "third.phony"
    path.write_bytes(train_bytes(["kerem", "selin", "arda", "defne"]))
    return path


def test_an_index_edited_by_hand_is_never_signed_by_the_next_push(
    tmp_path: Path, model_file: Path, other_file: Path, third_file: Path
) -> None:
    """Write access to the folder without the key: the next push refuses, naming the file."""
    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@1.0.0", registry)
    push_to_folder(other_file, "alice/names@1.1.0", registry)
    yank_in_folder("alice/names@1.1.0", registry)
    index = registry / layout.index_path("alice/names")
    signed = (registry / "snapshot.json").read_bytes()
    # Someone who can write the folder drops the 1.0.0 line and un-yanks 1.1.0.
    lines = index.read_bytes().splitlines(keepends=True)
    edited = [line.replace(b'"yanked":true', b'"yanked":false') for line in lines[1:]]
    index.write_bytes(b"".join(edited))
    for attempt in (
        lambda: push_to_folder(third_file, "bob/cities@1.0.0", registry),
        lambda: yank_in_folder("alice/names@1.1.0", registry),
        lambda: resign_folder(registry),
    ):
        with pytest.raises(DigestMismatch, match=r"index/alice/names\.jsonl"):
            attempt()
        assert (registry / "snapshot.json").read_bytes() == signed
        assert index.read_bytes() == b"".join(edited)
    # Pulls keep refusing the edit: ^1 is still not the yanked 1.1.0.
    with pytest.raises(DigestMismatch):
        pull("alice/names@^1", registry=str(registry))
    # Restoring the signed content lets the key holder publish again.
    index.write_bytes(b"".join(lines))
    assert push_to_folder(third_file, "bob/cities@1.0.0", registry).created
    assert pull("alice/names@^1", registry=str(registry)).ref.version == "1.0.0"


def test_a_deleted_index_file_is_refused_too(
    tmp_path: Path, model_file: Path, third_file: Path
) -> None:
    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@1.0.0", registry)
    (registry / layout.index_path("alice/names")).unlink()
    with pytest.raises(DigestMismatch, match=r"index/alice/names\.jsonl"):
        push_to_folder(third_file, "bob/cities@1.0.0", registry)


def test_a_forged_snapshot_is_refused(tmp_path: Path, model_file: Path, third_file: Path) -> None:
    """Listing the edit in a snapshot of one's own does not help: it is not signed by the key."""
    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@1.0.0", registry)
    index = registry / layout.index_path("alice/names")
    index.write_bytes(b"")
    snapshot_file = registry / "snapshot.json"
    forged = Snapshot.from_bytes(snapshot_file.read_bytes()).with_file(
        layout.index_path("alice/names"), b""
    )
    snapshot_file.write_bytes(forged.signed(PrivateKey.generate()).to_bytes())
    with pytest.raises(SignatureError):
        push_to_folder(third_file, "bob/cities@1.0.0", registry)


def test_yank_without_a_registry_never_writes_into_the_installed_package(
    capsys: pytest.CaptureFixture[str], model_file: Path
) -> None:
    """With no registry configured, yank and push refuse in one line, touching nothing."""
    import phony_index
    from phony_client.cli import main

    root = Path(phony_index.ROOT)
    before = _tree(root)
    for args in (
        ["models", "yank", "tr_TR@1.0.0"],
        ["models", "yank", "tr_TR/first_names@1.0.0", "--undo"],
        ["models", "yank", "tr_TR@1.0.0", "--registry", str(root)],
        ["models", "yank", "tr_TR@1.0.0", "--registry", f"file://{root}"],
        ["models", "push", str(model_file), "tr_TR/first_names@9.0.0"],
        ["models", "push", str(model_file), "tr_TR/first_names@9.0.0", "--registry", str(root)],
    ):
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        lines = [line for line in err.splitlines() if line]
        assert len(lines) == 1, err
        assert lines[0].startswith("error: "), err
        assert "--registry" in lines[0]
    assert _tree(root) == before
    assert not (root / ".phony-publish.lock").exists()


def test_a_push_failing_mid_manifest_leaves_nothing_that_blocks_the_version(
    tmp_path: Path, model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up half-way through the manifest: the version stays free, a retry works."""
    import errno
    import io

    real_fdopen = os.fdopen

    class HalfWriter(io.RawIOBase):
        def __init__(self, handle: io.BufferedWriter) -> None:
            self.handle = handle

        def write(self, data: bytes) -> int:  # type: ignore[override]
            if b'"signatures"' in data:  # a manifest: half of it reaches the disk
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.handle.write(data)

        def __getattr__(self, name: str) -> object:
            return getattr(self.handle, name)

        def __enter__(self) -> HalfWriter:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    def fdopen(fd: int, mode: str = "r", *args: object, **kwargs: object) -> object:
        handle = real_fdopen(fd, mode, *args, **kwargs)  # type: ignore[call-overload]
        return HalfWriter(handle) if "w" in mode else handle

    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@0.9.0", registry)  # the registry exists
    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(RegistryUnavailable, match="No space left"):
        push_to_folder(model_file, "alice/names@1.0.0", registry)
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    manifest = registry / layout.manifest_path("alice/names", "1.0.0")
    assert not manifest.exists()  # nothing visible, not even a truncated file
    assert push_to_folder(model_file, "alice/names@1.0.0", registry).created
    assert pull("alice/names@1.0.0", registry=str(registry)).ref.version == "1.0.0"


def test_a_manifest_planted_ahead_of_a_push_is_never_indexed(
    tmp_path: Path, model_file: Path
) -> None:
    """Someone without the key writes manifests/.../1.0.0.json before the key holder pushes it."""
    from phony_client.publish import build_manifest

    registry = tmp_path / "reg"
    push_to_folder(model_file, "alice/names@0.9.0", registry)
    planted, _ = build_manifest(model_file, "alice/names@1.0.0", description="not the real one")
    target = registry / layout.manifest_path("alice/names", "1.0.0")
    target.write_bytes(planted.signed(PrivateKey.generate()).to_bytes())
    with pytest.raises(SignatureError, match=r"manifests/alice/names/1\.0\.0\.json exists"):
        push_to_folder(model_file, "alice/names@1.0.0", registry)
    assert [
        e.version for e in parse_index((registry / layout.index_path("alice/names")).read_bytes())
    ] == ["0.9.0"]


def test_a_folder_push_and_the_server_write_one_public_tree(
    tmp_path: Path, model_file: Path
) -> None:
    """The same publisher on both sides: a key holder's push and the server's yank interleave."""
    from phony_registry.names import parse_name
    from phony_server.app import create_app
    from phony_server.settings import Settings

    storage = tmp_path / "data"
    registry = create_app(Settings(storage_dir=storage)).state.registry
    with pytest.raises(UsageError, match="a registry server's storage"):
        push_to_folder(model_file, "alice/names@1.0.0", storage)
    key = storage / "private" / "registry-key.pem"
    push_to_folder(model_file, "alice/names@1.0.0", storage / "public", signing_key=key)
    assert registry.resolve(parse_name("alice/names"), "^1").version == "1.0.0"
    registry.set_yanked(parse_name("alice/names"), "1.0.0", True)
    assert pull("alice/names@1.0.0", registry=str(storage / "public")).ref.yanked
    assert sorted(p.name for p in storage.iterdir()) == ["private", "public"]


def test_push_follows_the_namespaces_table_as_pull_does(
    tmp_path: Path, model_file: Path, run_cli: Callable[..., None]
) -> None:
    """A namespace's registry is the same for push and pull: [namespaces] in config.toml."""
    team, elsewhere = tmp_path / "team-registry", tmp_path / "default-registry"
    save_config(
        Config(
            registries={
                "team": RegistryConfig("team", str(team)),
                "other": RegistryConfig("other", str(elsewhere)),
            },
            default_registry="other",
            namespaces={"alice": "team"},
        )
    )
    run_cli("models", "push", str(model_file), "alice/names@1.0.0")
    assert (team / layout.index_path("alice/names")).is_file()
    assert not elsewhere.exists()
    assert pull("alice/names@1.0.0").ref.location == str(team)
    # A namespace the table does not name goes to the default registry, as its pull would.
    run_cli("models", "push", str(model_file), "bob/names@1.0.0")
    assert (elsewhere / layout.index_path("bob/names")).is_file()
