"""Issue 18 as a user sees it: the chosen model in info and stats, --temperature, --jobs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


@pytest.fixture(scope="module")
def chosen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("sel") / "names.phony"
    subprocess.run(
        [sys.executable, "-m", "phony_client", "train", str(SAMPLE), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def test_train_info_and_stats_show_the_choice(chosen: Path, run_phony: Run) -> None:
    info = run_phony("info", str(chosen), check=True).stdout
    assert "format version:    3" in info
    assert "selection:         order 4, modified-kneser-ney: 3.3850 bits per held-out" in info
    assert "  * order 4  modified-kneser-ney  3.3850  novelty 93.9%" in info
    assert "exclude originals: no" in info  # 94 % new already: nothing to exclude
    record = json.loads(run_phony("info", str(chosen), "--json", check=True).stdout)
    assert record["selection"]["order"] == 4
    assert record["selection"]["min_novelty"] == 0.9
    assert (record["exclude_originals"], record["excluded_values"]) == (False, None)
    assert len(record["selection"]["candidates"]) >= 8
    stats = run_phony("stats", str(chosen), "--sample", "1000", check=True).stdout
    assert "selection:    order 4, modified-kneser-ney" in stats
    figures = json.loads(run_phony("stats", str(chosen), "--json", check=True).stdout)
    assert figures["selection"] == record["selection"]


def test_a_copying_choice_excludes_a_share_of_the_names(tmp_path: Path, run_phony: Run) -> None:
    from faker.providers.person.sv_SE import Provider  # MIT

    names = sorted(set(Provider.first_names_female) | set(Provider.first_names_male))
    source = tmp_path / "sv.txt"
    source.write_text("\n".join(names) + "\n", encoding="utf-8")
    out = tmp_path / "sv.phony"
    run_phony("train", str(source), "-o", str(out), check=True)
    record = json.loads(run_phony("info", str(out), "--json", check=True).stdout)
    excluded = record["excluded_values"]
    assert record["exclude_originals"] is False
    assert 0 < excluded < len(names)
    info = run_phony("info", str(out), check=True).stdout
    assert (
        f"exclude originals: {excluded:,} of {len(names):,} training values, "
        "so that 90% of the values are new"
    ) in info
    plain = run_phony("stats", str(out), check=True).stdout
    assert "novelty:      at least 90% expected (training excluded some of its" in plain
    stats = run_phony("stats", str(out), "--training", str(source), check=True).stdout
    new = float(stats.split("novelty:")[1].split("%")[0])
    assert new >= 88.5  # 90 % expected; a 10,000-draw sample
    assert "of the draws were excluded training values, dropped)" in stats
    values = run_phony("generate", str(out), "--count", "5000", check=True).stdout.split()
    assert sum(v not in set(names) for v in values) / 5000 >= 0.885
    kept = tmp_path / "kept.phony"
    run_phony("train", str(source), "--keep-originals", "-o", str(kept), check=True)
    assert "exclude originals: no" in run_phony("info", str(kept), check=True).stdout


def test_an_explicit_order_has_no_selection(tmp_path: Path, run_phony: Run) -> None:
    out = tmp_path / "fixed.phony"
    made = run_phony("train", str(SAMPLE), "--order", "4", "-o", str(out), check=True)
    assert "chosen by" not in made.stderr
    info = run_phony("info", str(out), check=True).stdout
    assert "format version:    2" in info
    assert "selection:         none (order and smoothing given at training)" in info


def test_temperature_changes_the_values_deterministically(chosen: Path, run_phony: Run) -> None:
    def values(*extra: str) -> list[str]:
        args = ("generate", str(chosen), "--count", "2000", "--seed", "4", *extra)
        return run_phony(*args, check=True).stdout.split()

    cool = values("--temperature", "0.5")
    assert cool == values("--temperature", "0.5")
    assert len(set(cool)) < len(set(values())) < len(set(values("--temperature", "2")))
    bad = run_phony("generate", str(chosen), "--temperature", "50")
    assert bad.returncode != 0
    assert bad.stderr.startswith("error: temperature must be from 0.1 to 10.0")


def test_jobs_give_the_same_file(chosen: Path, tmp_path: Path, run_phony: Run) -> None:
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.csv"
        run_phony(
            "generate", str(chosen), "--count", "150000", "--seed", "8", "--format", "csv",
            "--jobs", jobs, "-o", str(out), check=True,
        )  # fmt: skip
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == 150_001
