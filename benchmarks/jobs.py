"""``phony generate --jobs N``: how one model's output scales with processes, the same bytes.

    .venv/bin/python benchmarks/jobs.py [--count 10000000] [--rounds 3]

Runs ``phony generate MODEL --count N -o FILE --jobs J`` as a subprocess for
J = 1 and 2 (not pinned: J processes need J cores), first names from a model
trained on ``examples/tr_first_names.txt`` at order 4, rounds interleaved
(1, 2, 1, 2, ...) so both see the same load, and prints the median wall
time, the CPU time of the command and its workers (user and system), the
rate by wall clock and per CPU-second, the speed-up over one job and whether
the files are identical. The load average (``uptime``) is printed before
each round: on a shared machine the wall speed-up is bounded by the cores
the other jobs leave free. "CPU bound" is the speed-up the CPU figures
allow on J free cores: J x CPU(1 job) / CPU(J jobs).
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

from startup import compile_bytecode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PHONY = str(Path(sys.executable).with_name("phony"))


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Wall, user CPU and system CPU seconds (children included) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def run_pair(cmds: list[list[str]]) -> tuple[float, float]:
    """Wall and CPU seconds of commands started together (the machine's own parallelism now)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    procs = [subprocess.Popen(cmd, stderr=subprocess.DEVNULL) for cmd in cmds]
    for proc in procs:
        if proc.wait():
            raise SystemExit(f"{proc.args} failed")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    compile_bytecode()  # as installed: no module recompiled at each start
    from phony_registry.format import save_model
    from phony_registry.ngram import read_values, train

    print(
        f"phony generate --jobs, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {_load()}; {args.count:,} first names to a file, "
        f"median of {args.rounds} interleaved rounds"
    )
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "names.phony"
        save_model(
            train(read_values(ROOT / "examples" / "tr_first_names.txt"), name="n", order=4),
            model,
        )
        runs: dict[int, list[tuple[float, float, float]]] = {jobs: [] for jobs in args.jobs}
        digests = set()
        pairs = []
        for round_ in range(args.rounds):
            print(f"  round {round_ + 1}: load average {_load()}")
            for jobs in args.jobs:
                out = Path(tmp) / f"out{jobs}.txt"
                cmd = [PHONY, "generate", str(model), "--count", str(args.count), "--seed", "1"]
                cmd += ["-o", str(out), "--jobs", str(jobs)]
                # Not timed: replacing the previous round's file (freeing its
                # pages, some 50 ms for 70 MB) is the kernel's, not generation's.
                out.unlink(missing_ok=True)
                runs[jobs].append(run(cmd))
                digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
            # The peer for the speed-up: two independent one-job processes of half
            # the count each, started together, against one of the whole count.
            half = [PHONY, "generate", str(model), "--count", str(args.count // 2), "--seed"]
            for i in (1, 2):
                (Path(tmp) / f"h{i}").unlink(missing_ok=True)
            pairs.append(
                run_pair([[*half, str(i), "-o", str(Path(tmp) / f"h{i}")] for i in (1, 2)])
            )
        first = args.jobs[0]
        wall_1 = statistics.median(w for w, _, _ in runs[first])
        cpu_1 = statistics.median(u + s for _, u, s in runs[first])
        print(
            f"\n{'':10}{'wall s':>8}{'user s':>8}{'sys s':>7}{'values/s':>13}"
            f"{'per CPU-s':>12}{'speed-up':>10}{'CPU bound':>11}"
        )
        for jobs in args.jobs:
            wall = statistics.median(w for w, _, _ in runs[jobs])
            user = statistics.median(u for _, u, _ in runs[jobs])
            system = statistics.median(s for _, _, s in runs[jobs])
            bound = jobs / first * cpu_1 / (user + system)
            print(
                f"--jobs {jobs:<3}{wall:8.2f}{user:8.2f}{system:7.2f}{args.count / wall:13,.0f}"
                f"{args.count / (user + system):12,.0f}{wall_1 / wall:9.2f}x{bound:10.2f}x"
            )
        pair = statistics.median(w for w, _ in pairs)
        pair_cpu = statistics.median(c for _, c in pairs)
        print(
            f"two one-job processes of {args.count // 2:,} each, started together: "
            f"{pair:.2f} s wall ({pair_cpu:.2f} s CPU), {wall_1 / pair:.2f}x one job of "
            f"{args.count:,} (what this machine gives two processes now)"
        )
        if 2 in runs and first == 1:
            wall_2 = statistics.median(w for w, _, _ in runs[2])
            print(
                f"--jobs 2 got {wall_1 / wall_2:.2f}x where two independent processes got "
                f"{wall_1 / pair:.2f}x: {(wall_1 / wall_2) / (wall_1 / pair):.0%} of it"
            )
        print(f"identical output for every --jobs: {'yes' if len(digests) == 1 else 'NO'}")
        missed = len(digests) != 1
        if 2 in runs and first == 1:
            wall_2 = statistics.median(w for w, _, _ in runs[2])
            verdict = "meets" if wall_1 / wall_2 >= 1.7 else "MISSES"
            print(f"target --jobs 2 >= 1.7x one job (wall): {verdict} ({wall_1 / wall_2:.2f}x)")
            missed = missed or wall_1 / wall_2 < 1.7
    print(f"load average after: {_load()}")
    return missed


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(1 if main() else 0)  # 1: a target missed or outputs differ
