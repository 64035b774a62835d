"""``phony generate --jobs N``: how one model's output scales with processes, the same bytes.

    .venv/bin/python benchmarks/jobs.py [--count 10000000] [--rounds 3]

Runs ``phony generate MODEL --count N -o FILE --jobs J`` as a subprocess for
J = 1 and 2 (not pinned: J processes need J cores), first names from a model
trained on ``examples/tr_first_names.txt`` at order 4, and prints the median
wall time, the CPU time of the command and its children, the rate, the
speed-up over one job and whether the files are identical. The load average
is printed before and after: on a shared machine the speed-up is bounded by
the cores the other jobs leave free.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PHONY = str(Path(sys.executable).with_name("phony"))


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (children included) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    from phony_registry.format import save_model
    from phony_registry.ngram import read_values, train

    print(
        f"phony generate --jobs, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; {args.count:,} first names to a file, "
        f"median of {args.rounds}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "names.phony"
        save_model(
            train(read_values(ROOT / "examples" / "tr_first_names.txt"), name="n", order=4),
            model,
        )
        results = {}
        digests = set()
        for jobs in args.jobs:
            out = Path(tmp) / f"out{jobs}.txt"
            cmd = [PHONY, "generate", str(model), "--count", str(args.count), "--seed", "1"]
            cmd += ["-o", str(out), "--jobs", str(jobs)]
            runs = [run(cmd) for _ in range(args.rounds)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            results[jobs] = wall
            digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
            print(
                f"  --jobs {jobs}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, "
                f"{args.count / wall:>12,.0f} values/s, "
                f"speed-up {results[args.jobs[0]] / wall:.2f}x"
            )
        print(f"identical output for every --jobs: {'yes' if len(digests) == 1 else 'NO'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
