"""How long ``phony install`` takes from a cold cache, as one ``phony`` process.

Measures, each as the wall time of one ``phony`` subprocess with a fresh,
empty cache and config dir:

- ``phony install tr_TR`` from the official index bundled with phony
  (offline: ``PHONY_OFFLINE=1``);
- ``phony install tr_TR --registry http://127.0.0.1:PORT`` from a local
  registry server (``phony registry serve`` on a folder into which
  ``phony registry import`` loaded the official index);
- as the floor both stand on, ``phony --version`` (interpreter and CLI start-up).

Target: under one second each. Run: ``.venv/bin/python benchmarks/install.py``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _servers import start_server

ROOT = Path(__file__).resolve().parents[1]
PHONY = str(Path(sys.executable).with_name("phony"))
RUNS = 7
TARGET = 1.0


def fresh_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with nothing in the cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHONY_")}
    shutil.rmtree(home, ignore_errors=True)
    env.update(PHONY_CACHE_DIR=str(home / "cache"), PHONY_CONFIG_DIR=str(home / "config"))
    env.update(extra)
    return env


def timed(args: list[str], env: dict[str, str]) -> float:
    """Wall time of one ``phony`` process; fails loudly if it fails."""
    start = time.perf_counter()
    result = subprocess.run([PHONY, *args], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"phony {' '.join(args)} failed:\n{result.stderr}")
    return elapsed


def measure(label: str, args: list[str], home: Path, **extra: str) -> float:
    """Median of :data:`RUNS` cold runs; prints one line."""
    times = [timed(args, fresh_env(home, **extra)) for _ in range(RUNS)]
    median = statistics.median(times)
    print(f"{label:<56} {median * 1000:7.0f} ms  (min {min(times) * 1000:.0f} ms)")
    return median


def main() -> None:
    """Run the measurements and print them with the target."""
    import phony_index

    with tempfile.TemporaryDirectory(prefix="phony-bench-install-") as tmp:
        work = Path(tmp)
        home = work / "home"
        print(f"cold-cache wall time, median of {RUNS} runs, one phony process each")
        floor = measure("phony --version (start-up floor)", ["--version"], home)
        bundled = measure(
            "phony install tr_TR (bundled official index, offline)",
            ["install", "tr_TR"], home, PHONY_OFFLINE="1",
        )  # fmt: skip
        storage = work / "registry-data"
        server_env = fresh_env(work / "server-home")
        subprocess.run(
            [PHONY, "registry", "import", str(phony_index.ROOT), "--storage", str(storage)],
            env=server_env, capture_output=True, check=True,
        )  # fmt: skip
        process, url = start_server(storage, server_env)
        try:
            served = measure(
                "phony install tr_TR --registry http://127.0.0.1:PORT",
                ["install", "tr_TR", "--registry", url], home,
            )  # fmt: skip
        finally:
            process.terminate()
            process.wait(timeout=10)
    print()
    for label, value in (("bundled index", bundled), ("local server", served)):
        verdict = "meets" if value < TARGET else "MISSES"
        print(f"target < {TARGET:.0f} s from the {label}: {verdict} ({value:.2f} s; "
              f"start-up floor {floor:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
