"""Generation speed of phony against Faker and Mimesis, measured in the same run.

    .venv/bin/python benchmarks/generate.py [--count 2000000] [--peer-count 50000]

Every figure is values written to a file per second on one core (the
process is pinned to one CPU where the OS allows it). Also printed: the load
time of a large model (~100K n-grams) and the peak RSS of `phony generate`
writing 10M values to a file.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "tr_first_names.txt"


def pin_to_one_core() -> str:
    """Run on a single CPU (children inherit it); say which."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def timed_write(batches: Iterable[list[str]], path: Path) -> tuple[int, float]:
    """Write batches of values to ``path`` one per line; (values, seconds)."""
    count = 0
    started = time.perf_counter()
    with open(path, "wb") as out:
        for batch in batches:
            out.write("\n".join(batch).encode("utf-8"))
            out.write(b"\n")
            count += len(batch)
    return count, time.perf_counter() - started


def peer_batches(make: Callable[[], str], count: int, batch: int = 10_000) -> Iterable[list[str]]:
    """``count`` values from a peer's one-value function, in lists."""
    done = 0
    while done < count:
        n = min(batch, count - done)
        yield [make() for _ in range(n)]
        done += n


def bench_phony(count: int, tmp: Path) -> float:
    from phony_client.cli.generate import write_values

    from phony_registry.format import dump_model, load_model
    from phony_registry.ngram import read_values, train

    model = load_model(dump_model(train(read_values(SAMPLE), name="tr_first_names")))
    model.generate(1000, seed=0)  # build the sampling tables outside the timing
    started = time.perf_counter()
    with open(tmp / "phony.txt", "wb") as out:
        write_values(model, out, count=count, seed=42, format_name="txt")
    elapsed = time.perf_counter() - started
    lines = (tmp / "phony.txt").read_bytes().count(b"\n")
    assert lines == count, (lines, count)
    return count / elapsed


def bench_peers(count: int, tmp: Path) -> dict[str, float]:
    from faker import Faker
    from mimesis import Locale, Person

    Faker.seed(42)
    en, tr = Faker("en_US"), Faker("tr_TR")
    person = Person(Locale.TR, seed=42)
    peers = {
        "Faker('en_US').first_name()": en.first_name,
        "Faker('tr_TR').name()": tr.name,
        "Mimesis Person(Locale.TR).full_name()": person.full_name,
    }
    rates = {}
    for label, make in peers.items():
        n, seconds = timed_write(peer_batches(make, count), tmp / "peer.txt")
        rates[label] = n / seconds
    return rates


def large_model(tmp: Path) -> tuple[Path, int, int]:
    """Train an order-5 model on Faker street addresses until it has ~100K n-grams."""
    from faker import Faker

    from phony_registry.format import save_model
    from phony_registry.ngram import train

    fake = Faker("en_US")
    fake.seed_instance(7)
    values = [fake.street_address() for _ in range(60_000)]
    model = train(values, name="en_streets", order=5)
    path = tmp / "large.phony"
    save_model(model, path)
    return path, model.num_edges, model.num_states


def bench_load(path: Path, rounds: int = 15) -> float:
    from phony_registry.format import load_model

    data = path.read_bytes()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        load_model(data)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_memory(tmp: Path, count: int) -> tuple[float, float]:
    """Peak RSS (MiB) and values/s of `phony generate` writing ``count`` values to a file."""
    model = tmp / "names.phony"
    phony = [sys.executable, "-m", "phony_client"]
    subprocess.run(
        [*phony, "train", str(SAMPLE), "-o", str(model)], check=True, capture_output=True
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [
            *phony,
            "generate",
            str(model),
            "--count",
            str(count),
            "--seed",
            "1",
            "-o",
            str(tmp / "big.txt"),
        ],
        check=True,
    )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = (tmp / "big.txt").read_bytes().count(b"\n")
    assert lines == count, (lines, count)
    return max(peak, before) / 1024, count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2_000_000, help="phony values to write")
    parser.add_argument("--peer-count", type=int, default=50_000, help="values per peer")
    parser.add_argument(
        "--memory-count",
        type=int,
        default=10_000_000,
        help="values for the peak-RSS run (0 skips it)",
    )
    args = parser.parse_args()
    print(f"phony generation benchmark, Python {sys.version.split()[0]}, {pin_to_one_core()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        phony_rate = bench_phony(args.count, tmp)
        peers = bench_peers(args.peer_count, tmp)
        print()
        print(f"{'generator (values written to a file)':<42}{'values/s':>14}{'phony is':>12}")
        print(f"{'phony, tr_first_names.phony':<42}{phony_rate:>14,.0f}{'':>12}")
        for label, rate in peers.items():
            print(f"{label:<42}{rate:>14,.0f}{phony_rate / rate:>11.0f}x")
        target = "meets" if phony_rate >= 1_000_000 else "MISSES"
        print(f"\nphony wrote {args.count:,} values, Faker and Mimesis {args.peer_count:,} each")
        print(f"target >= 1,000,000 values/s: {target} ({phony_rate / 1e6:.2f}M/s)")

        path, edges, states = large_model(tmp)
        load = bench_load(path)
        print(
            f"\nlarge model: order 5 on 60,000 Faker en_US street addresses: {edges:,} n-grams, "
            f"{states:,} contexts, {path.stat().st_size:,} bytes"
        )
        print(f"load_model (median of 15): {load * 1000:.1f} ms (target <= 30 ms)")

        if args.memory_count:
            peak, rate = bench_memory(tmp, args.memory_count)
            print(
                f"\n`phony generate --count {args.memory_count:,} -o file`: peak RSS "
                f"{peak:.0f} MiB, {rate:,.0f} values/s including start-up"
            )


if __name__ == "__main__":
    main()
