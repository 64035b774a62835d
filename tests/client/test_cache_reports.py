"""What ``phony cache verify`` counts, and names ``cache rm`` accepts (those ``pull`` does)."""

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


@pytest.mark.parametrize(
    "spelling", ["ALICE/R", "Alice/R@1.0.1", "alice/R@latest", "tr_TR/First_Names", "TR_tr/R"]
)
def test_cache_rm_refuses_capitals_with_the_line_pull_gives(
    one_blob_three_versions: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spelling: str,
) -> None:
    """Names are lowercase (a locale may be spelled in any case): rm reads them as pull does."""
    before = sorted(f"{r.name}@{r.version}" for r in Cache().iter_refs())
    registry = str(tmp_path / "team-registry")
    pulled = phony(capsys, "models", "pull", spelling, "--registry", registry)
    removed = phony(capsys, "cache", "rm", spelling)
    assert removed[1] == ""
    assert (removed[0], removed[2]) == (pulled[0], pulled[2])
    assert removed[0] == 3
    assert len(removed[2].splitlines()) == 1
    assert "names are lowercase" in removed[2]
    assert sorted(f"{r.name}@{r.version}" for r in Cache().iter_refs()) == before


def test_cache_rm_takes_a_locale_in_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    """``TR_tr`` names the locale ``tr_TR`` for pull and rm alike (the bundled official index)."""
    assert phony(capsys, "models", "pull", "TR_tr/first_names")[0] == 0
    code, out, err = phony(capsys, "cache", "rm", "TR_tr/first_names")
    assert code == 0, err
    assert out.splitlines()[0] == "removed tr_TR/first_names@1.0.0"


def test_cache_rm_still_refuses_what_is_no_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = phony(capsys, "cache", "rm", "alice/r!x")
    assert code == 3
    assert err.startswith("error: 'alice/r!x': ")
