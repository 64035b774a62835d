"""Format 1 written by phony, read by real PHP and Node readers (examples/readers/).

The readers load a file exactly as docs/format.md shows (``gzdecode`` +
``json_decode``; ``gunzipSync`` + ``JSON.parse``) and walk ``ngrams[order]``
with their own seeded random generator, so their values are not phony's;
what must match is what the model allows: only its tokens, and the same
length distribution as phony's own generation from the same model. The
length check is a two-sample Kolmogorov-Smirnov test at a false-alarm rate
of one in a million (and the seeds are fixed, so each run gives the same
figures); a control shows the same check refuses another model's lengths.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
READERS = ROOT / "examples" / "readers"
SAMPLE = ROOT / "examples" / "tr_first_names.txt"
TURKISH = set("çğıİöşüÇĞÖŞÜ")
COUNT = 4000
Run = Callable[..., subprocess.CompletedProcess[str]]

_READERS = {
    "php": (["php", str(READERS / "reader.php")], "php-cli (scripts/test installs it)"),
    "node": (["node", str(READERS / "reader.mjs")], "node"),
}


@pytest.fixture(params=sorted(_READERS), ids=sorted(_READERS))
def reader(request: pytest.FixtureRequest) -> list[str]:
    """The command of one reader; skipped only when its interpreter is not installed."""
    command, package = _READERS[request.param]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed (needs {package})")
    return command


def _read(reader: list[str], model: Path, count: int = COUNT, seed: int = 1) -> list[str]:
    done = subprocess.run(
        [*reader, str(model), str(count), str(seed)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    values = done.stdout.split("\n")
    assert values.pop() == ""
    return values


def _phony_values(run_phony: Run, model: str, count: int = COUNT, seed: int = 1) -> list[str]:
    done = run_phony("generate", model, "--count", str(count), "--seed", str(seed), check=True)
    return done.stdout.splitlines()


def _ks_distance(a: list[int], b: list[int]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: largest gap between the two CDFs."""
    gap = 0.0
    for x in sorted(set(a) | set(b)):
        gap = max(gap, abs(sum(v <= x for v in a) / len(a) - sum(v <= x for v in b) / len(b)))
    return gap


def _ks_limit(n: int, m: int, alpha: float = 1e-6) -> float:
    """The distance two samples of one distribution exceed with probability below ``alpha``
    (asymptotic; conservative for lengths, which are discrete)."""
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


def _v1(path: Path) -> dict[str, Any]:
    doc = json.loads(gzip.decompress(path.read_bytes()))
    assert doc["format_version"] == 1
    return doc


def _assert_same_model(values: list[str], reference: list[str], tokens: list[str]) -> None:
    assert len(values) == COUNT
    assert set("".join(values)) <= set(tokens)
    assert all(values)
    lengths = [len(v) for v in values]
    expected = [len(v) for v in reference]
    assert _ks_distance(lengths, expected) < _ks_limit(len(lengths), len(expected))


@pytest.mark.parametrize(
    "options",
    [["--order", "4"], ["--order", "3", "--smoothing", "modified-kneser-ney"]],
    ids=["counts", "modified-kneser-ney"],
)
def test_a_model_trained_here_reads_in_php_and_node(
    reader: list[str], options: list[str], run_phony: Run, tmp_path: Path
) -> None:
    model, v1 = tmp_path / "names.phony", tmp_path / "names.v1.phony"
    run_phony("train", str(SAMPLE), *options, "-o", str(model), check=True)
    done = run_phony("migrate", str(model), "--to", "1", "-o", str(v1), check=True)
    derived = "sha256:" + hashlib.sha256(v1.read_bytes()).hexdigest()
    assert f"format version 2 -> 1, {derived}" in done.stderr
    doc = _v1(v1)
    order = int(options[1])
    # every order, for readers that back off
    assert sorted(doc["ngrams"], key=int) == [str(n) for n in range(2, order + 1)]
    values = _read(reader, v1)
    _assert_same_model(values, _phony_values(run_phony, str(model)), doc["tokens"])
    assert _read(reader, v1) == values  # the reader's seed fixes its values
    assert _read(reader, v1, seed=2) != values


def test_the_tr_TR_pack_exported_as_format_1_gives_turkish_names(
    reader: list[str], run_phony: Run, tmp_path: Path
) -> None:
    out = tmp_path / "v1"
    done = run_phony("install", "tr_TR", "--format-version", "1", "--export", str(out), check=True)
    first = out / "tr_TR" / "first_names.phony"
    digest = "sha256:" + hashlib.sha256(first.read_bytes()).hexdigest()
    assert f"to {first}: format version 1, {digest} (derived from the verified sha256:" in (
        done.stdout
    )
    assert "format version 1 does not keep" in done.stderr
    doc = _v1(first)
    assert sorted(doc["ngrams"], key=int) == [str(n) for n in range(2, doc["order"] + 1)]
    values = _read(reader, first)
    _assert_same_model(values, _phony_values(run_phony, "tr_TR/first_names"), doc["tokens"])
    with_turkish = [v for v in values if TURKISH & set(v)]
    assert len(with_turkish) > COUNT // 10, values[:20]
    # The control: the same check tells first names from street names.
    streets = [len(v) for v in _phony_values(run_phony, "tr_TR/streets")]
    lengths = [len(v) for v in values]
    assert _ks_distance(lengths, streets) > _ks_limit(len(lengths), len(streets))


def test_the_derived_digest_is_reproducible(run_phony: Run, tmp_path: Path) -> None:
    """What a reader of the printed digest does: pull the signed original, derive, compare."""
    a, b = tmp_path / "a", tmp_path / "b"
    pulled = run_phony(
        "models", "pull", "tr_TR/cities", "--format-version", "1", "-o", str(a), "--json",
        check=True,
    )  # fmt: skip
    (record,) = json.loads(pulled.stdout)["exported"]
    assert record["original_digest"] == json.loads(pulled.stdout)["pulled"][0]["digest"]
    assert (
        record["digest"]
        == "sha256:" + hashlib.sha256(Path(record["path"]).read_bytes()).hexdigest()
    )
    assert "the creation time" in record["lost"]
    run_phony("install", "tr_TR/cities", "--format-version", "1", "--export", str(b), check=True)
    exported = (a / "tr_TR" / "cities.phony").read_bytes()
    assert exported == (b / "tr_TR" / "cities.phony").read_bytes()
    assert exported[:8] == bytes.fromhex("1f8b080000000000")  # no name, no time
    again = tmp_path / "again.phony"
    run_phony("migrate", "tr_TR/cities", "--to", "1", "-o", str(again), check=True)
    assert again.read_bytes() == exported
    # The cache keeps the signed original, and phony generates the same values from both.
    same = _phony_values(run_phony, str(again), count=200)
    assert same == _phony_values(run_phony, "tr_TR/cities", count=200)


def test_format_version_without_a_folder_is_a_usage_error(run_phony: Run) -> None:
    done = run_phony("models", "pull", "tr_TR/cities", "--format-version", "1")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --format-version N writes copies: give -o DIR (the cache keeps the originals)"
    )


def test_a_model_format_1_cannot_hold_is_refused_in_one_line(
    run_phony: Run, tmp_path: Path
) -> None:
    model, v1 = tmp_path / "mkn.phony", tmp_path / "mkn.v1.phony"
    run_phony(
        "train", str(SAMPLE), "--order", "4", "--smoothing", "modified-kneser-ney",
        "-o", str(model), check=True,
    )  # fmt: skip
    done = run_phony("migrate", str(model), "--to", "1", "-o", str(v1))
    assert done.returncode == 4
    assert done.stderr.startswith("error: format version 1 cannot hold this model")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not v1.exists()


def test_cat_shows_the_arrays_decoded(run_phony: Run, tmp_path: Path) -> None:
    run_phony("install", "tr_TR/cities", check=True)
    doc = json.loads(run_phony("cat", "tr_TR/cities", check=True).stdout)
    info = json.loads(run_phony("info", "tr_TR/cities", "--json", check=True).stdout)
    model = doc["model"]
    assert len(model["tokens"]) == len(model["weights"]) == info["ngrams"]
    assert len(model["offsets"]) == info["contexts"] + 1
    assert all(isinstance(t, int) for t in model["tokens"])
    v1 = json.loads(run_phony("cat", "tr_TR/cities", "--to", "1", check=True).stdout)
    assert v1["format_version"] == 1
    assert sum(len(row) for row in v1["ngrams"][str(v1["order"])].values()) == info["ngrams"]
