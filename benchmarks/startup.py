"""Start-up of the ``phony`` command: ``--help`` and ``generate NAME --count 10``.

    .venv/bin/python benchmarks/startup.py [--runs 21]

What it does, in a temporary cache and config dir, with every first-party
plugin installed (``scripts/bootstrap`` installs ``plugins/*``; the count of
loaded plugins is printed):

1. compiles the project's modules to bytecode, as ``pip install`` does (a
   shell with ``PYTHONDONTWRITEBYTECODE`` set would otherwise recompile
   every module on every run, about 35 ms);
2. installs ``tr_TR`` from the official index bundled with phony
   (``PHONY_OFFLINE=1``), so ``tr_TR/first_names`` is in the cache;
3. runs each command ``--runs`` times, interleaved, as a subprocess, and
   prints the median and minimum wall time and the median CPU time
   (user + sys, the steadier figure on a shared machine), with the
   interpreter (``python -c pass``) and ``import numpy`` as floors.

Targets: ``phony --help`` <= 120 ms and ``phony generate NAME --count 10``
<= 200 ms wall.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHONY = str(Path(sys.executable).with_name("phony"))


def compile_bytecode() -> None:
    """Write the .pyc files an installed package would have."""
    for folder in ("phony_registry", "client", "plugins", "server"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys) milliseconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    compile_bytecode()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {
            **os.environ,
            "PHONY_CACHE_DIR": str(tmp / "cache"),
            "PHONY_CONFIG_DIR": str(tmp / "config"),
            "PHONY_OFFLINE": "1",
        }
        env.pop("PHONY_LOAD_PLUGINS", None)  # every installed plugin loads, as for a user
        subprocess.run([PHONY, "install", "tr_TR"], env=env, check=True, capture_output=True)
        listing = subprocess.run(
            [PHONY, "plugins"], env=env, check=True, capture_output=True, text=True
        ).stdout
        plugins = [line.split()[0] for line in listing.splitlines() if line and line[0] != " "]
        model = tmp / "first_names.phony"
        subprocess.run(
            [PHONY, "train", str(ROOT / "examples" / "tr_first_names.txt"), "-o", str(model)],
            env=env,
            check=True,
            capture_output=True,
        )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import numpy'": [
                sys.executable,
                "-c",
                "import os; os.environ['OPENBLAS_NUM_THREADS'] = '1'; import numpy",
            ],
            "phony --help": [PHONY, "--help"],
            "phony generate tr_TR/first_names --count 10": [
                PHONY,
                "generate",
                "tr_TR/first_names",
                "--count",
                "10",
                "--seed",
                "1",
            ],
            "phony generate first_names.phony --count 10": [
                PHONY,
                "generate",
                str(model),
                "--count",
                "10",
                "--seed",
                "1",
            ],
        }
        for command in commands.values():
            run_once(command, env)  # warm the file system cache
        walls: dict[str, list[float]] = {label: [] for label in commands}
        cpus: dict[str, list[float]] = {label: [] for label in commands}
        load_before = os.getloadavg()[0]
        for _ in range(args.runs):
            for label, command in commands.items():
                wall, cpu = run_once(command, env)
                walls[label].append(wall)
                cpus[label].append(cpu)
        load_after = os.getloadavg()[0]
    print(
        f"phony start-up, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} -> {load_after:.2f}"
    )
    print(f"plugins loaded: {', '.join(plugins)}")
    print(f"\nmedian of {args.runs} runs, milliseconds        wall    (min)     CPU")
    for label in commands:
        print(
            f"  {label:<46}{statistics.median(walls[label]):6.0f}  "
            f"({min(walls[label]):4.0f})  {statistics.median(cpus[label]):6.0f}"
        )
    for label, target in (
        ("phony --help", 120),
        ("phony generate tr_TR/first_names --count 10", 200),
    ):
        wall = statistics.median(walls[label])
        verdict = "meets" if wall <= target else f"MISSES by {wall - target:.0f} ms"
        print(f"target {label} <= {target} ms wall: {verdict} ({wall:.0f} ms)")


if __name__ == "__main__":
    main()
