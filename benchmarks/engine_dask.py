"""``--engine dask``: rows/s of the ``person`` schema to Parquet on 1 and 2 local workers.

    .venv/bin/python benchmarks/engine_dask.py [--count 2000000] [--partitions 8]

Writes the ready ``person`` schema (en_US: first name, last name, email,
city) as a Parquet dataset of ``--partitions`` files to a local folder:
once in this process (``phony_registry.dataset.write_dataset``), then on a
Dask ``LocalCluster`` of 1 and of 2 single-threaded worker processes
(cluster start-up excluded, timed separately). Prints rows/s, the speed-up
over one worker, whether every run wrote the same bytes, and the load
average, which bounds what 2 workers can gain on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# (This file is not named dask.py: a script's folder comes first on sys.path.)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()
    import distributed

    from phony_client.locale_schemas import load_locale_schema
    from phony_registry.dask_engine import run_on_dask
    from phony_registry.dataset import write_dataset

    schema = load_locale_schema("person", "en_US").schema
    common = {"count": args.count, "seed": 1, "format_name": "parquet"}
    print(
        f"--engine dask, person schema (en_US) to Parquet, {args.count:,} rows in "
        f"{args.partitions} partitions; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    digests = set()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_dataset(schema, f"{tmp}/one", parts=args.partitions, **common)
        one = time.perf_counter() - started
        digests.add(digest(Path(tmp) / "one"))
        print(f"  one process (no Dask):  {args.count / one:>12,.0f} rows/s ({one:.1f} s)")
        base = None
        for workers in (1, 2):
            booted = time.perf_counter()
            with distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                boot = time.perf_counter() - booted
                started = time.perf_counter()
                run_on_dask(
                    schema,
                    f"{tmp}/dask{workers}",
                    parts=args.partitions,
                    scheduler=cluster.scheduler_address,
                    **common,
                )
                took = time.perf_counter() - started
            base = base or took
            digests.add(digest(Path(tmp) / f"dask{workers}"))
            print(
                f"  Dask, {workers} worker{'s' * (workers > 1)}:         "
                f"{args.count / took:>12,.0f} rows/s ({took:.1f} s; cluster start {boot:.1f} s), "
                f"speed-up {base / took:.2f}x"
            )
    print(f"same bytes in every run: {'yes' if len(digests) == 1 else 'NO'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
