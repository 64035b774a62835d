"""Calls per second of ``fake.first_name()``: phony's facade beside Faker and Mimesis.

    .venv/bin/python benchmarks/python_api.py [--calls 1000000] [--rounds 3]

Each contender is called ``--calls`` times in a plain loop, ``--rounds``
times, interleaved; the best round is printed (the least disturbed on a
shared machine) with the median beside it. phony's figures include
generating the values (its buffer refills as the loop goes), not only
handing them out. Before the loops, one call each warms up (model load,
Faker's locale data): the cost of a fresh instance's first call, what a
pytest fixture pays per test, is printed separately, as a median. The last
phony line is one instance shared by ``--threads`` threads (the calls of all
of them per second): what the refill lock costs when threads contend for it.

Target (issue 19): ``Phony(...).first_name()`` >= 1,000,000 calls/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from operator import methodcaller

import faker
import mimesis
from mimesis.locales import Locale

from phony_registry import Phony
from phony_registry.integrations.faker import PhonyProvider


def rate(obj: object, method: str, calls: int) -> float:
    """Calls per second of ``obj.method()`` called ``calls`` times in a plain loop."""
    call = methodcaller(method)  # the attribute lookup and the call, as `fake.first_name()`
    started = time.perf_counter()
    for _ in range(calls):
        call(obj)
    return calls / (time.perf_counter() - started)


def shared_rate(obj: object, method: str, calls: int, threads: int) -> float:
    """Calls per second of ``obj.method()`` from ``threads`` threads at once, ``calls`` in all."""
    each = calls // threads
    start = threading.Barrier(threads + 1)

    def work() -> None:
        call = methodcaller(method)
        start.wait()
        for _ in range(each):
            call(obj)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return each * threads / (time.perf_counter() - started)


def first_call_ms(make: Callable[[int], Callable[[], object]], runs: int) -> float:
    """Median milliseconds to build a fresh instance and make its first call."""
    times = []
    for seed in range(runs):
        started = time.perf_counter()
        make(seed)()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    # A private cache: the facade reads the bundled official index, as on a fresh machine.
    os.environ["PHONY_CACHE_DIR"] = tempfile.mkdtemp(prefix="phony-bench-")
    os.environ["PHONY_LOAD_PLUGINS"] = ""

    faker_tr, faker_en = faker.Faker("tr_TR"), faker.Faker("en_US")
    faker_tr.seed_instance(1)
    faker_en.seed_instance(1)
    bridged = faker.Faker("en_US")
    bridged.add_provider(PhonyProvider("tr_TR"))
    bridged.seed_instance(1)
    mimesis_tr = mimesis.Person(Locale.TR, seed=1)
    mimesis_en = mimesis.Person(Locale.EN, seed=1)
    phony_tr, phony_en = Phony("tr_TR", seed=1), Phony("en_US", seed=1)
    contenders: dict[str, tuple[object, str]] = {
        "phony tr_TR first_name()": (phony_tr, "first_name"),
        "phony en_US first_name()": (phony_en, "first_name"),
        "phony tr_TR email()": (phony_tr, "email"),
        "phony tr_TR name()": (phony_tr, "name"),
        "Faker tr_TR first_name()": (faker_tr, "first_name"),
        "Faker en_US first_name()": (faker_en, "first_name"),
        "Faker + PhonyProvider tr_TR first_name()": (bridged, "first_name"),
        "Mimesis tr first_name()": (mimesis_tr, "first_name"),
        "Mimesis en first_name()": (mimesis_en, "first_name"),
    }
    # One call each loads the models and the locale data before timing.
    for field in ("first_name", "email", "name"):
        Phony("tr_TR", seed=0).take(field, 1)
    Phony("en_US", seed=0).take("first_name", 1)
    for obj, method in contenders.values():
        if not isinstance(obj, Phony):
            getattr(obj, method)()

    shared = Phony("tr_TR", seed=1)
    shared.first_name()
    shared_name = f"phony tr_TR first_name(), {args.threads} threads"
    results: dict[str, list[float]] = {name: [] for name in contenders}
    results[shared_name] = []
    for _ in range(args.rounds):
        for name, (obj, method) in contenders.items():
            # The others are slower: a tenth of the calls gives a steady figure too.
            full = name.startswith("phony") and name.endswith("first_name()")
            calls = args.calls if full else max(args.calls // 10, 1000)
            results[name].append(rate(obj, method, calls))
        results[shared_name].append(shared_rate(shared, "first_name", args.calls, args.threads))

    faker_rate = max(results["Faker tr_TR first_name()"])
    print(f"Python {sys.version.split()[0]}, {args.calls:,} calls per phony round, "
          f"best and median of {args.rounds} rounds")  # fmt: skip
    print(f"{'':42} {'calls/s (best)':>15} {'median':>12} {'vs Faker tr_TR':>15}")
    for name, rates in results.items():
        best = max(rates)
        print(f"{name:42} {best:15,.0f} {statistics.median(rates):12,.0f} "
              f"{best / faker_rate:14.1f}x")  # fmt: skip

    print("\nfirst call of a fresh instance (what a per-test fixture pays), median of 20:")
    makers: dict[str, Callable[[int], Callable[[], object]]] = {
        "Phony('tr_TR', seed=s).first_name": lambda s: Phony("tr_TR", seed=s).first_name,
        "Faker('tr_TR').first_name": lambda s: faker.Faker("tr_TR").first_name,
    }
    for name, make in makers.items():
        print(f"  {name:40} {first_call_ms(make, 20):8.2f} ms")


if __name__ == "__main__":
    main()
