"""The official index in registry-index/: reproducible, matching its build, signed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import phony_index
from phony_index._build.build import BUILD_TIME, build_files, check_index, main, read_index
from phony_registry.index import Snapshot
from phony_registry.layout import SNAPSHOT, blob_path, manifest_path
from phony_registry.manifest import Manifest
from phony_registry.signing import PrivateKey, load_private_key, official_key

pytest.importorskip("faker", reason="the official index is built from Faker data (dev extra)")
pytest.importorskip("mimesis", reason="the official index is built from Mimesis data (dev extra)")

# The maintainers' secret lives beside the repository (../shared/keys), never inside it.
OFFICIAL_KEY = Path(__file__).resolve().parents[3] / "shared/keys/official-index-signing.pem"


def test_committed_index_matches_its_build_and_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0
    out = capsys.readouterr()
    assert "0 problem(s)" in out.out, out.err


@pytest.mark.skipif(
    not OFFICIAL_KEY.exists(),
    reason=f"the official signing key {OFFICIAL_KEY} is not on this machine (maintainers only)",
)
def test_committed_index_matches_byte_for_byte_with_the_official_key() -> None:
    assert check_index(phony_index.ROOT, load_private_key(OFFICIAL_KEY)) == []


def test_two_builds_are_byte_identical() -> None:
    key = PrivateKey.generate()
    first = build_files(key)
    second = build_files(key)
    assert first == second
    snapshot = Snapshot.from_bytes(first[SNAPSHOT])
    assert snapshot.created == BUILD_TIME
    assert snapshot.verify(key.public_key)


def test_committed_snapshot_and_manifests_are_signed_by_the_official_key() -> None:
    files = read_index(phony_index.ROOT)
    snapshot = Snapshot.from_bytes(files[SNAPSHOT])
    assert snapshot.verify(official_key())
    pack = Manifest.from_bytes(files[manifest_path("tr_TR", "1.0.0")])
    assert pack.is_pack
    assert pack.verify([official_key()])
    members = {m.name for m in pack.members}
    assert {"tr_TR/first_names", "tr_TR/last_names", "tr_TR/cities", "tr_TR/streets"} <= members
    assert any("Daniele Faraglia" in line for line in pack.extra["attribution"])
    for member in pack.members:
        assert blob_path(member.digest) in files


def test_private_key_is_not_in_the_repository() -> None:
    repo = Path(__file__).resolve().parents[2]
    # Built at run time, so that neither this file nor a scan of the repository
    # for PEM private keys finds the marker (a literal, even split into two
    # implicitly joined strings, is joined back by the formatter).
    pem_marker = b" ".join((b"BEGIN", b"PRIVATE", b"KEY"))
    secret = OFFICIAL_KEY.read_bytes() if OFFICIAL_KEY.exists() else pem_marker
    marker = secret.strip().splitlines()[1] if OFFICIAL_KEY.exists() else secret
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, check=True
    ).stdout
    tracked = [repo / name for name in listed.decode().split("\0") if name]
    assert len(tracked) > 100  # the whole repository, not an empty listing
    for path in tracked:
        if path.is_file():
            assert marker not in path.read_bytes(), path
            assert pem_marker not in path.read_bytes(), path


@pytest.fixture(scope="module")
def keyless_build() -> dict[str, bytes]:
    """One build signed with a throw-away key, shared by the tamper tests (a build takes ~1 s)."""
    return build_files(PrivateKey.generate())


@pytest.fixture
def copy_of_index(tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(phony_index.ROOT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_check_reports_a_tampered_blob(
    copy_of_index: Path, keyless_build: dict[str, bytes]
) -> None:
    files = read_index(copy_of_index)
    pack = Manifest.from_bytes(files[manifest_path("tr_TR", "1.0.0")])
    path = copy_of_index / blob_path(pack.members[0].digest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    problems = check_index(copy_of_index, fresh=keyless_build)
    assert any(blob_path(pack.members[0].digest) in p and "differs" in p for p in problems)
    assert any("blob of" in p and "expected sha256:" in p for p in problems)


def test_check_reports_an_edited_manifest(
    copy_of_index: Path, keyless_build: dict[str, bytes]
) -> None:
    path = copy_of_index / manifest_path("en_US/cities", "1.0.0")
    path.write_bytes(path.read_bytes().replace(b"US city names", b"US town names"))
    problems = check_index(copy_of_index, fresh=keyless_build)
    assert any("manifests/en_us/cities/1.0.0.json: differs" in p for p in problems)
    assert any("does not match the registry's index" in p for p in problems)


def test_check_reports_a_stale_file(copy_of_index: Path, keyless_build: dict[str, bytes]) -> None:
    stale = copy_of_index / "blobs" / "sha256" / "00" / ("0" * 64)
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"left over")
    problems = check_index(copy_of_index, fresh=keyless_build)
    assert any("not produced by the build" in p for p in problems)


def test_building_without_a_key_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", "/nonexistent-phony-index"]) != 0
    assert "no signing key: pass --key PATH or set PHONY_SIGNING_KEY" in capsys.readouterr().err


def test_a_key_other_than_the_official_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(PrivateKey.generate().to_pem())
    assert main(["--key", str(other), "--out", str(tmp_path / "out")]) != 0
    assert "is not the official index key" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_check_names_a_changed_data_library(
    copy_of_index: Path, monkeypatch: pytest.MonkeyPatch, keyless_build: dict[str, bytes]
) -> None:
    from phony_index._build import build as official
    from phony_index._build.data import SOURCES, DataSource

    class Newer(DataSource):
        @property
        def version(self) -> str:
            return "99.0.0"

    faker = SOURCES["faker"]
    newer = Newer(faker.name, faker.distribution, faker.license, faker.copyright, faker.url)
    monkeypatch.setattr(official, "SOURCES", {**SOURCES, "faker": newer})
    path = copy_of_index / manifest_path("tr_TR/cities", "1.0.0")
    path.write_bytes(path.read_bytes().replace(b"Turkish cities", b"Turkish towns"))
    problems = check_index(copy_of_index, fresh=keyless_build)
    hint = [p for p in problems if p.startswith("data sources:")]
    assert hint, problems
    assert f"built from Faker {faker.version}" in hint[0]
    assert "this machine has Faker 99.0.0" in hint[0]


def test_official_models_are_what_phony_train_writes(tmp_path: Path) -> None:
    """The build trains through the same code as the command line, byte for byte."""
    from phony_client.cli import main as phony
    from phony_index._build.build import order_of, train_blob
    from phony_index._build.data import locale_models

    data = next(m for m in locale_models("tr_TR") if m.name == "last_names")
    values = tmp_path / "last_names.txt"
    values.write_text("\n".join(data.values) + "\n", encoding="utf-8")
    out = tmp_path / "last_names.phony"
    code = phony([
        "train", str(values), "-o", str(out), "--order", str(order_of(data)),
        "--name", "tr_TR/last_names", "--locale", "tr_TR", "--kind", data.kind,
        "--license", data.license, "--description", data.description,
        "--source-description", data.source_text(), "--created", BUILD_TIME,
    ])  # fmt: skip
    assert code == 0
    assert out.read_bytes() == train_blob(data)
