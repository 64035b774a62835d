"""What ``phony cache verify`` counts, and names ``cache rm`` accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phony_client.cache import Cache
from phony_client.cli import main


def phony(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def one_blob_three_versions(
    tmp_path: Path, model_v2: bytes, capsys: pytest.CaptureFixture[str]
) -> str:
    """alice/r@1.0.0, 1.0.1 and 1.0.2 pulled into the cache, all three the same blob."""
    model = tmp_path / "r.phony"
    model.write_bytes(model_v2)
    registry = str(tmp_path / "team-registry")
    for version in ("1.0.0", "1.0.1", "1.0.2"):
        ref = f"alice/r@{version}"
        code, _, err = phony(capsys, "models", "push", str(model), ref, "--registry", registry)
        assert code == 0, err
        code, _, err = phony(capsys, "models", "pull", ref, "--registry", registry)
        assert code == 0, err
    (digest,) = {r.digest for r in Cache().iter_refs()}
    assert digest is not None
    return digest


def test_verify_counts_a_missing_blob_once(
    one_blob_three_versions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = one_blob_three_versions
    code, out, _ = phony(capsys, "cache", "verify")
    assert code == 0
    assert out == "checked 1 blob: 1 ok, 0 corrupt, 0 missing\n"
    Cache().blob_path(digest).unlink()
    code, out, err = phony(capsys, "cache", "verify")
    assert code == 7
    assert out.splitlines() == [
        "checked 1 blob: 0 ok, 0 corrupt, 1 missing (needed by 3 models)",
        f"missing: {digest} of alice/r@1.0.0, alice/r@1.0.1, alice/r@1.0.2",
    ]
    assert err.startswith("error: the cache has 0 corrupt and 1 missing blob(s);")
    code, out, _ = phony(capsys, "cache", "verify", "--json")
    assert code == 7
    report = json.loads(out)
    assert report["missing"] == [
        {"digest": digest, "models": ["alice/r@1.0.0", "alice/r@1.0.1", "alice/r@1.0.2"]}
    ]
    assert report["blobs"] == []
    assert report["ok"] is False


def test_verify_counts_present_and_missing_blobs(
    one_blob_three_versions: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from registry_sim import train_bytes

    other = tmp_path / "other.phony"
    other.write_bytes(train_bytes(["deniz", "umut", "ece"]))
    registry = str(tmp_path / "team-registry")
    assert phony(capsys, "models", "push", str(other), "alice/o@1.0.0", "-r", registry)[0] == 0
    assert phony(capsys, "models", "pull", "alice/o@1.0.0", "-r", registry)[0] == 0
    Cache().blob_path(one_blob_three_versions).unlink()
    code, out, _ = phony(capsys, "cache", "verify")
    assert code == 7
    assert out.splitlines()[0] == "checked 2 blobs: 1 ok, 0 corrupt, 1 missing (needed by 3 models)"


@pytest.mark.parametrize("spelling", ["ALICE/R", "Alice/R@1.0.1", "alice/R@latest"])
def test_cache_rm_takes_any_case_of_a_name(
    one_blob_three_versions: str, capsys: pytest.CaptureFixture[str], spelling: str
) -> None:
    code, out, err = phony(capsys, "cache", "rm", spelling)
    assert code == 0, err
    removed = [line for line in out.splitlines() if line.startswith("removed ")]
    expected = {
        "ALICE/R": ["alice/r@1.0.0", "alice/r@1.0.1", "alice/r@1.0.2"],
        "Alice/R@1.0.1": ["alice/r@1.0.1"],
        "alice/R@latest": ["alice/r@1.0.2"],
    }[spelling]
    assert removed == [f"removed {ref}" for ref in expected]
    left = sorted(f"{r.name}@{r.version}" for r in Cache().iter_refs())
    assert not set(left) & set(expected)


def test_cache_rm_still_refuses_what_is_no_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = phony(capsys, "cache", "rm", "alice/r!x")
    assert code == 3
    assert err.startswith("error: 'alice/r!x': ")
