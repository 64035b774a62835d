"""Generation speed of phony against Faker and Mimesis, measured in the same run.

    .venv/bin/python benchmarks/generate.py [--count 2000000] [--peer-count 50000] [--rounds 5]

Every figure is values written to a file per second on one core (the
process is pinned to one CPU where the OS allows it): the median of
``--rounds`` runs, by wall clock and per CPU-second of the process (the
steadier figure when other jobs share the machine). Three phony models: first
names at order 4 (short values), the same names trained with `phony train`'s
defaults, and Faker street addresses (long values). Also printed:
the load time of a large model (~100K n-grams) and the peak RSS of
`phony generate` writing 10M values to a file.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from startup import compile_bytecode

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


def machine() -> str:
    """CPU count, CPU model and load average, for the figures' context."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), load average {os.getloadavg()[0]:.2f}"


def phony_model(values: list[str], name: str, order: int = 4) -> object:
    """A model trained on ``values`` and reloaded from its bytes, tables built."""
    from phony_registry.format import dump_model, load_model
    from phony_registry.ngram import train

    model = load_model(dump_model(train(values, name=name, order=order)))
    model.generate(1000, seed=0)  # build the sampling tables outside the timing
    return model


def bench_phony(model: object, count: int, tmp: Path, rounds: int) -> tuple[float, float]:
    """Median values/s of ``rounds`` runs: by wall clock and per CPU-second."""
    from phony_client.cli.generate import write_values

    walls, cpus = [], []
    for _ in range(rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        with open(tmp / "phony.txt", "wb") as out:
            write_values(model, out, count=count, seed=42, format_name="txt")  # type: ignore[arg-type]
        walls.append(count / (time.perf_counter() - started))
        cpus.append(count / (time.process_time() - cpu_started))
        lines = (tmp / "phony.txt").read_bytes().count(b"\n")
        assert lines == count, (lines, count)
    return statistics.median(walls), statistics.median(cpus)


def trained_by_default(tmp: Path) -> tuple[object, str]:
    """The names model `phony train` makes with its defaults (also the peak-RSS run's), and
    a label saying what training chose."""
    from phony_registry.format import load_model

    model = tmp / "names.phony"
    subprocess.run(
        [sys.executable, "-m", "phony_client", "train", str(SAMPLE), "-o", str(model)],
        check=True,
        capture_output=True,
    )
    loaded = load_model(model)
    loaded.generate(1000, seed=0)  # build the sampling tables outside the timing
    label = f"phony, default-trained ({loaded.num_edges // 1000}K n-grams)"
    return loaded, label


def bench_peers(count: int, tmp: Path) -> dict[str, float]:
    from faker import Faker
    from mimesis import Address, Locale, Person

    Faker.seed(42)
    en, tr = Faker("en_US"), Faker("tr_TR")
    person = Person(Locale.TR, seed=42)
    address = Address(Locale.EN, seed=42)
    peers = {
        "Faker('en_US').first_name()": en.first_name,
        "Faker('tr_TR').name()": tr.name,
        "Mimesis Person(Locale.TR).full_name()": person.full_name,
        "Faker('en_US').street_address()": en.street_address,
        "Mimesis Address(Locale.EN).address()": address.address,
    }
    rates = {}
    for label, make in peers.items():
        n, seconds = timed_write(peer_batches(make, count), tmp / "peer.txt")
        rates[label] = n / seconds
    return rates


def street_addresses(count: int = 60_000) -> list[str]:
    """Seeded Faker en_US street addresses (the long values of both benchmarks here)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(7)
    return [fake.street_address() for _ in range(count)]


def large_model(tmp: Path, values: list[str]) -> tuple[Path, int, int, int]:
    """An order-5 model of street addresses: ~100K n-grams, ~1.8 MB of JSON inflated."""
    from phony_registry.format import dump_document, model_to_document, save_model
    from phony_registry.ngram import train

    model = train(values, name="en_streets", order=5)
    path = tmp / "large.phony"
    save_model(model, path)
    inflated = len(gzip.decompress(dump_document(model_to_document(model))))
    return path, model.num_edges, model.num_states, inflated


def bench_load(path: Path, rounds: int = 15) -> tuple[float, float]:
    """Median seconds of ``load_model`` on the file's bytes: wall clock and CPU."""
    from phony_registry.format import load_model

    data = path.read_bytes()
    walls, cpus = [], []
    for _ in range(rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        load_model(data)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    return statistics.median(walls), statistics.median(cpus)


# A small parent runs the child and reports the child's peak RSS: measured
# from this process, a fork of a large parent can count the parent's pages.
_PEAK_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def bench_memory(tmp: Path, count: int) -> tuple[float, float]:
    """Peak RSS (MiB) and values/s of `phony generate` writing ``count`` values to a file."""
    model = tmp / "names.phony"
    phony = [sys.executable, "-m", "phony_client"]
    if not model.exists():
        subprocess.run(
            [*phony, "train", str(SAMPLE), "-o", str(model)], check=True, capture_output=True
        )
    command = [*phony, "generate", str(model), "--count", str(count), "--seed", "1"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *command, "-o", str(tmp / "big.txt")],
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    lines = (tmp / "big.txt").read_bytes().count(b"\n")
    assert lines == count, (lines, count)
    return int(done.stdout.split()[-1]) / 1024, count / elapsed


def main() -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2_000_000, help="phony values to write")
    parser.add_argument("--peer-count", type=int, default=50_000, help="values per peer")
    parser.add_argument("--rounds", type=int, default=5, help="phony runs (the median is kept)")
    parser.add_argument(
        "--memory-count",
        type=int,
        default=10_000_000,
        help="values for the peak-RSS run (0 skips it)",
    )
    args = parser.parse_args()
    compile_bytecode()  # as installed: no module recompiled at each start
    from phony_registry.ngram import read_values

    print(f"phony generation benchmark, Python {sys.version.split()[0]}, {pin_to_one_core()}")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        streets = street_addresses()
        names_model = phony_model(read_values(SAMPLE), "tr_first_names")
        streets_model = phony_model(streets, "en_streets")
        default_model, default_label = trained_by_default(tmp)
        print(f"load average before the phony runs: {os.getloadavg()[0]:.2f}")
        names_rate, names_cpu = bench_phony(names_model, args.count, tmp, args.rounds)
        default_rate, default_cpu = bench_phony(default_model, args.count, tmp, args.rounds)
        streets_rate, streets_cpu = bench_phony(streets_model, args.count // 4, tmp, args.rounds)
        peers = bench_peers(args.peer_count, tmp)
        print(f"\nmedian of {args.rounds} phony runs; load average now {os.getloadavg()[0]:.2f}")
        print(
            f"{'generator (values written to a file)':<42}{'values/s':>14}"
            f"{'per CPU-s':>14}{'phony is':>10}"
        )
        print(
            f"{'phony, tr_first_names.phony (order 4)':<42}{names_rate:>14,.0f}{names_cpu:>14,.0f}"
        )
        for label, rate in list(peers.items())[:3]:
            print(f"{label:<42}{rate:>14,.0f}{'':>14}{names_rate / rate:>9.0f}x")
        print(f"{default_label:<42}{default_rate:>14,.0f}{default_cpu:>14,.0f}")
        print(
            f"{'phony, en_streets.phony (order 4)':<42}{streets_rate:>14,.0f}{streets_cpu:>14,.0f}"
        )
        for label, rate in list(peers.items())[3:]:
            print(f"{label:<42}{rate:>14,.0f}{'':>14}{streets_rate / rate:>9.0f}x")
        print(
            f"\nphony wrote {args.count:,} first names (each model) and "
            f"{args.count // 4:,} street addresses"
        )
        print(f"per run, Faker and Mimesis {args.peer_count:,} each")
        missed = names_rate < 6_000_000  # by wall clock, as the verdicts below say
        for goal, issue in ((2_000_000, "issue 7"), (6_000_000, "issue 18")):
            wall_verdict = "meets" if names_rate >= goal else "MISSES"
            cpu_verdict = "meets" if names_cpu >= goal else "MISSES"
            print(
                f"target >= {goal:,} values/s on one core (first names, {issue}): "
                f"{wall_verdict} by wall clock ({names_rate / 1e6:.2f}M/s), "
                f"{cpu_verdict} per CPU-second ({names_cpu / 1e6:.2f}M)"
            )
        print(
            f"  the same names with the model `phony train` makes by default: "
            f"{'meets' if default_rate >= 6e6 else 'MISSES'} by wall clock "
            f"({default_rate / 1e6:.2f}M/s), {'meets' if default_cpu >= 6e6 else 'MISSES'} "
            f"per CPU-second ({default_cpu / 1e6:.2f}M)"
        )

        path, edges, states, inflated = large_model(tmp, streets)
        load, load_cpu = bench_load(path)
        print(
            f"\nlarge model: order 5 on 60,000 Faker en_US street addresses: {edges:,} n-grams, "
            f"{states:,} contexts, {path.stat().st_size:,} bytes ({inflated:,} inflated)"
        )
        print(
            f"load_model (median of 15): {load * 1000:.1f} ms wall, {load_cpu * 1000:.1f} ms CPU "
            f"(target <= 30 ms)"
        )

        if args.memory_count:
            print("\n`phony generate --count N -o file` (start-up included):")
            for count in (args.memory_count // 10, args.memory_count):
                peak, rate = bench_memory(tmp, count)
                print(f"  N = {count:>10,}: peak RSS {peak:.0f} MiB, {rate:,.0f} values/s")
    return missed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)  # 1: a target missed (benchmarks/run reports it)
