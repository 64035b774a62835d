"""The model commands as a user runs them: the `phony` executable in a subprocess."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


@pytest.fixture
def names(tmp_path: Path, run_phony: Run) -> Path:
    out = tmp_path / "names.phony"
    run_phony(
        "train",
        str(SAMPLE),
        "--locale",
        "tr_TR",
        "--kind",
        "first_name",
        "--order",
        "3",
        "-o",
        str(out),
        check=True,
    )
    return out


def _no_traceback(result: CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1


def test_train_reports_and_writes_a_model(tmp_path: Path, run_phony: Run) -> None:
    out = tmp_path / "m.phony"
    result = run_phony("train", str(SAMPLE), "--locale", "tr_TR", "-o", str(out), check=True)
    assert result.stderr.startswith(f"wrote {out}: order ")
    assert ", 1,497 values, " in result.stderr
    assert "sha256:" in result.stderr
    assert out.read_bytes()[:2] == b"\x1f\x8b"


def test_training_twice_gives_identical_bytes(tmp_path: Path, run_phony: Run) -> None:
    a, b = tmp_path / "a.phony", tmp_path / "b.phony"
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    run_phony("train", str(SAMPLE), "--name", "n", "-o", str(a), env=env, check=True)
    run_phony("train", str(SAMPLE), "--name", "n", "-o", str(b), env=env, check=True)
    assert a.read_bytes() == b.read_bytes()
    info = json.loads(run_phony("info", str(a), "--json", check=True).stdout)
    assert info["created"] == "2023-11-14T22:13:20Z"


def test_info_text_and_json(names: Path, run_phony: Run) -> None:
    text = run_phony("info", str(names), check=True).stdout
    assert "name:              tr_first_names\n" in text
    assert "locale:            tr_TR\n" in text
    assert "format version:    2\n" in text
    info = json.loads(run_phony("info", str(names), "--json", check=True).stdout)
    assert info["digest"] == "sha256:" + hashlib.sha256(names.read_bytes()).hexdigest()
    assert info["order"] == 3
    assert info["kind"] == "first_name"
    assert info["size"] == names.stat().st_size


def test_generate_is_deterministic_and_pinned(names: Path, run_phony: Run) -> None:
    first = run_phony("generate", str(names), "--count", "5", "--seed", "42", check=True)
    assert first.stdout == "Ömürkalih\nÖzper\nZemsem\nFed\nİlbeyhan\n"
    again = run_phony("generate", str(names), "--count", "5", "--seed", "42", check=True)
    assert again.stdout == first.stdout


def test_generate_formats(names: Path, run_phony: Run) -> None:
    csv = run_phony(
        "generate", str(names), "-n", "3", "--seed", "42", "--format", "csv", check=True
    ).stdout
    assert csv == "first_name\nÖmürkalih\nÖzper\nZemsem\n"
    jsonl = run_phony(
        "generate", str(names), "-n", "2", "--seed", "42", "-f", "jsonl", check=True
    ).stdout
    assert [json.loads(line) for line in jsonl.splitlines()] == [
        {"first_name": "Ömürkalih"},
        {"first_name": "Özper"},
    ]


def test_generate_to_a_file_and_unknown_format(names: Path, tmp_path: Path, run_phony: Run) -> None:
    out = tmp_path / "out.txt"
    run_phony("generate", str(names), "-n", "100000", "--seed", "1", "-o", str(out), check=True)
    assert len(out.read_text("utf-8").splitlines()) == 100_000
    bad = run_phony(
        "generate",
        str(names),
        "-n",
        "1",
        "--seed",
        "1",
        "-f",
        "yaml",
        "-o",
        str(tmp_path / "y.txt"),
    )
    assert bad.returncode == 2
    assert "unknown format 'yaml'" in bad.stderr
    assert not (tmp_path / "y.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.phony", "out.txt"]


def test_generate_without_seed_prints_the_seed(names: Path, run_phony: Run) -> None:
    result = run_phony("generate", str(names), "-n", "3", check=True)
    seed = result.stderr.split("--seed ")[1].split()[0]
    again = run_phony("generate", str(names), "-n", "3", "--seed", seed, check=True)
    assert again.stdout == result.stdout


def test_unique_too_many_fails_clearly(tmp_path: Path, run_phony: Run) -> None:
    src = tmp_path / "two.txt"
    src.write_text("ab\nac\n", "utf-8")
    model = tmp_path / "two.phony"
    # order 3 without smoothing: the model can say "ab" and "ac" and nothing else
    run_phony("train", str(src), "--order", "3", "-o", str(model), check=True)
    ok = run_phony("generate", str(model), "-n", "2", "--seed", "0", "--unique", check=True)
    assert sorted(ok.stdout.split()) == ["ab", "ac"]
    result = run_phony("generate", str(model), "-n", "3", "--seed", "0", "--unique")
    assert result.returncode == 6
    assert "can produce at most 2 distinct values, fewer than the 3 requested" in result.stderr
    _no_traceback(result)


def test_exclude_originals(tmp_path: Path, run_phony: Run) -> None:
    model = tmp_path / "x.phony"
    run_phony(
        "train", str(SAMPLE), "--order", "3", "--exclude-originals", "-o", str(model), check=True
    )
    out = run_phony("generate", str(model), "-n", "20000", "--seed", "3", check=True).stdout
    originals = set(SAMPLE.read_text("utf-8").split())
    assert not set(out.split()) & originals


def test_train_from_a_csv_column(tmp_path: Path, run_phony: Run) -> None:
    src = tmp_path / "people.csv"
    src.write_text("\ufeffid,first_name\n1,Ayşe\n2,Ali\n3,Ayla\n", "utf-8")
    model = tmp_path / "p.phony"
    run_phony(
        "train", str(src), "--column", "first_name", "--order", "3", "-o", str(model), check=True
    )
    out = run_phony("generate", str(model), "-n", "50", "--seed", "1", check=True).stdout
    assert set("".join(out.split())) == set("Ayşelia")  # the column only, not the ids
    missing = run_phony("train", str(src), "--column", "name", "-o", str(model))
    assert missing.returncode == 5
    assert "no column 'name' (columns: id, first_name)" in missing.stderr
    _no_traceback(missing)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "nothing to train on"),
        (b"\n  \n", "nothing to train on"),
        (b"\x7fELF\x02\x01\x01\x00\x00", "not a text file"),
        (b"caf\xe9\n", "not UTF-8 text"),
    ],
)
def test_train_bad_input(tmp_path: Path, run_phony: Run, content: bytes, message: str) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(content)
    result = run_phony("train", str(src), "-o", str(tmp_path / "o.phony"))
    assert result.returncode == 5
    assert message in result.stderr
    _no_traceback(result)
    assert not (tmp_path / "o.phony").exists()


def _corrupt_files(good: bytes) -> dict[str, bytes]:
    doc = json.loads(gzip.decompress(good))
    future = dict(doc, format_version=99)
    wrong = json.loads(json.dumps(doc))
    wrong["model"]["order"] = "four"
    return {
        "random": b"hello, not a model",
        "truncated": good[: len(good) // 3],
        "json": gzip.compress(b'{"format_version": 2, "meta": '),
        "future": gzip.compress(json.dumps(future).encode()),
        "wrong-type": gzip.compress(json.dumps(wrong).encode()),
    }


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("random", "not gzip"),
        ("truncated", "truncated"),
        ("json", "invalid JSON"),
        ("future", "format version 99 is newer than this phony supports (up to 3); upgrade phony"),
        ("wrong-type", "model.order: must be an integer, not a string"),
    ],
)
@pytest.mark.parametrize("command", ["info", "generate", "stats", "migrate"])
def test_bad_model_files_give_one_line(
    names: Path, tmp_path: Path, run_phony: Run, kind: str, message: str, command: str
) -> None:
    bad = tmp_path / f"{kind}.phony"
    bad.write_bytes(_corrupt_files(names.read_bytes())[kind])
    extra = ["-o", str(tmp_path / "new.phony")] if command == "migrate" else []
    result = run_phony(command, str(bad), *extra)
    assert result.returncode == 4
    assert message in result.stderr
    _no_traceback(result)


def test_gzip_bomb_is_refused(tmp_path: Path, run_phony: Run) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * (1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(1024)) + compressor.flush()
    path = tmp_path / "bomb.phony"
    path.write_bytes(bomb)
    result = run_phony("info", str(path), timeout=30)
    assert result.returncode == 4
    assert "inflates past the 67108864 byte limit" in result.stderr
    _no_traceback(result)


def test_validate_lists_every_problem(names: Path, tmp_path: Path, run_phony: Run) -> None:
    ok = run_phony("validate", str(names))
    assert ok.returncode == 0
    assert ok.stdout == f"{names}: ok (format version 2)\n"
    doc: dict[str, Any] = json.loads(gzip.decompress(names.read_bytes()))
    doc["meta"]["name"] = ""
    doc["model"]["start"] = 10**6
    doc["training"]["values"] = -1
    bad = tmp_path / "bad.phony"
    bad.write_bytes(gzip.compress(json.dumps(doc).encode()))
    result = run_phony("validate", str(names), str(bad))
    assert result.returncode == 4
    lines = result.stdout.splitlines()
    assert lines[0] == f"{names}: ok (format version 2)"
    assert lines[1] == f"{bad}: meta.name: must not be empty"
    assert lines[2].startswith(f"{bad}: model.start: must be a state id below ")
    assert lines[3].startswith(f"{bad}: training.values: must be from 0 to ")
    assert result.stderr == "error: 1 of 2 models invalid\n"


def test_stats_text_and_json(names: Path, run_phony: Run) -> None:
    text = run_phony("stats", str(names), "--training", str(SAMPLE), check=True).stdout
    assert "n-grams:      3,299 n-grams over 779 contexts, an alphabet of 64 characters" in text
    assert "bits per character" in text
    assert "possible:     " in text
    assert "of the sample values are not training values" in text
    figures = json.loads(
        run_phony("stats", str(names), "--json", "--sample", "500", check=True).stdout
    )
    assert figures["ngrams"] == 3299
    assert isinstance(figures["distinct_values"], int)
    assert figures["distinct_values"] > 1497
    assert figures["sample"]["size"] == 500
    assert figures["sample"]["novelty"] is None


def test_migrate_a_v1_file(tmp_path: Path, run_phony: Run) -> None:
    v1 = {
        "format_version": 1,
        "name": "old",
        "tokens": ["a", "b"],
        "ngrams": {"2": {"\u0002": {"a": 3}, "a": {"b": 1, "\u0003": 2}, "b": {"\u0003": 1}}},
    }
    old = tmp_path / "old.phony"
    old.write_bytes(gzip.compress(json.dumps(v1).encode()))
    info = json.loads(run_phony("info", str(old), "--json", check=True).stdout)
    assert info["format_version"] == 1
    new = tmp_path / "new.phony"
    result = run_phony("migrate", str(old), "-o", str(new), check=True)
    assert "format version 1 -> 2" in result.stderr
    assert (
        json.loads(run_phony("info", str(new), "--json", check=True).stdout)["format_version"] == 2
    )
    assert run_phony("validate", str(new)).returncode == 0
    a = run_phony("generate", str(old), "-n", "20", "--seed", "5", check=True).stdout
    b = run_phony("generate", str(new), "-n", "20", "--seed", "5", check=True).stdout
    assert a == b
    assert set(a.split()) == {"a", "ab"}


def test_missing_files(tmp_path: Path, run_phony: Run) -> None:
    result = run_phony("generate", str(tmp_path / "nope.phony"), "-n", "1")
    assert result.returncode == 2
    assert "nope.phony: no such model file" in result.stderr
    _no_traceback(result)


def test_train_with_smoothing(tmp_path: Path, run_phony: Run) -> None:
    plain, smooth = tmp_path / "plain.phony", tmp_path / "smooth.phony"
    run_phony("train", str(SAMPLE), "--order", "5", "-o", str(plain), check=True)
    run_phony(
        "train",
        str(SAMPLE),
        "--order",
        "5",
        "--smoothing",
        "witten-bell",
        "-o",
        str(smooth),
        check=True,
    )
    sizes = [
        json.loads(run_phony("info", str(p), "--json", check=True).stdout)["ngrams"]
        for p in (plain, smooth)
    ]
    assert sizes[1] > sizes[0]
    bad = run_phony("train", str(SAMPLE), "--smoothing", "laplace", "-o", str(plain))
    assert bad.returncode == 2
    assert "'laplace' is not one of 'none', 'witten-bell'" in bad.stderr


def test_generate_by_name_looks_in_the_cache(run_phony: Run) -> None:
    result = run_phony("generate", "alice/nothing", "-n", "3", "--seed", "1")
    assert result.returncode == 8
    assert "alice/nothing" in result.stderr
    assert "not in the cache" in result.stderr
    _no_traceback(result)


def test_command_modules_do_not_import_numpy_until_run() -> None:
    # `phony --help` lists these commands; importing numpy there would slow it down.
    code = (
        "import sys, phony_registry, phony_client.cli.modelfile, phony_client.cli.generate; "
        "print('numpy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "False\n"


def test_train_from_stdin(tmp_path: Path, run_phony: Run) -> None:
    model = tmp_path / "s.phony"
    run_phony("train", "-", "--order", "2", "-o", str(model), input="Ayşe\nAli\n", check=True)
    info = json.loads(run_phony("info", str(model), "--json", check=True).stdout)
    assert info["name"] == "stdin"
    assert info["training"]["values"] == 2
    bad = run_phony("train", "-", "-o", str(model), input="caf\x00\n")
    assert bad.returncode == 5
    assert bad.stderr == "error: stdin is not a text file (it contains NUL bytes)\n"
