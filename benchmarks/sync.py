"""End-to-end `phony sync` into PostgreSQL: rows/s, peak memory, and the naive floor.

Starts a throwaway PostgreSQL server (Debian's initdb and pg_ctl, as the
sync tests do), then measures, each as a `phony sync` subprocess whose peak
RSS the kernel reports (wait4):

1. a six-column table (sequence key, two names from trained models, a date
   and a number from measured quantiles, a weighted city) at two sizes;
2. the sync tests' seven-table shop (foreign keys, a cycle, UNIQUE emails,
   CHECK enums, NULLs), planned from a real source and scaled to about
   1 M rows, and a quarter of that;
3. the floor: the same six-column rows written the naive way, one INSERT
   per row through psycopg in one transaction.

    .venv/bin/python benchmarks/sync.py [--rows 1000000] [--naive-rows 50000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sync.postgres import PostgresServer, find_bindir  # noqa: E402
from tests.sync.testdb import ROWS, build_source  # noqa: E402

PHONY = str(Path(sys.executable).with_name("phony"))

SIX_COLUMNS = """\
format = 1

[tables.people]
rows = {rows}
primary_key = ["id"]
sequences = ["id"]

[tables.people.columns.id]
sql_type = "bigint"
nullable = false
generate = {{ type = "sequence" }}

[tables.people.columns.first_name]
sql_type = "varchar(40)"
nullable = false
generate = {{ type = "ngram", model = "first.phony" }}

[tables.people.columns.last_name]
sql_type = "varchar(40)"
nullable = false
generate = {{ type = "ngram", model = "last.phony" }}

[tables.people.columns.born]
sql_type = "date"
nullable = true
null_ratio = 0.1
generate = {{ type = "histogram", quantiles = ["1940-01-01", "1985-01-01", "2005-12-31"] }}

[tables.people.columns.score]
sql_type = "numeric(8,2)"
nullable = false
generate = {{ type = "histogram", quantiles = [0, 12.5, 40, 75.25, 99.99], decimals = 2 }}

[tables.people.columns.city]
sql_type = "text"
nullable = false
generate = {{ type = "choice", values = ["İstanbul", "Berlin", "Köln"], weights = [5, 3, 1] }}
"""


def _train_names(folder: Path) -> None:
    from faker import Faker

    from phony_registry.format import save_model
    from phony_registry.ngram import train

    fake = Faker(["tr_TR", "de_DE"])
    fake.seed_instance(1)
    for name, draw in (("first", fake.first_name), ("last", fake.last_name)):
        values = [draw() for _ in range(5000)]
        save_model(
            train(values, name=name, order=4, exclude_originals=True), folder / f"{name}.phony"
        )


def _phony_sync(*args: str) -> tuple[float, float, int]:
    """Run `phony sync ARGS`; its wall seconds, CPU seconds and peak RSS in MiB."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([PHONY, "sync", *args], stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    if process.returncode:
        raise SystemExit(f"phony sync {' '.join(args)} failed:\n{text}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def _naive(url: str, folder: Path, rows: int) -> tuple[float, float]:
    """Rows/s of one INSERT per row (psycopg, one transaction), the same generated rows,
    wall and per CPU-second of this process (generation excluded)."""
    import psycopg

    from phony_client.sync import engine as gen
    from phony_client.sync import load_plan

    plan = load_plan(folder / "six.toml")
    plan.tables["people"].rows = rows
    run = gen.prepare(plan, ["people"])["people"]
    batches = [b for b, _ in gen.generate(run, 1, {})]
    started, cpu = time.perf_counter(), time.process_time()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE people")
        for batch in batches:
            for row in zip(*batch, strict=True):
                cur.execute(
                    "INSERT INTO people (id, first_name, last_name, born, score, city) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    row,
                )
    return rows / (time.perf_counter() - started), rows / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="largest table size")
    parser.add_argument("--naive-rows", type=int, default=50_000, help="rows of the naive floor")
    args = parser.parse_args()
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("needs PostgreSQL's initdb (apt-get install postgresql)")
    server = PostgresServer(bindir)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="phony-bench-sync-") as tmp:
            folder = Path(tmp)
            _train_names(folder)
            print(
                f"{'load':<44} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'per CPU-s':>10} "
                f"{'peak RSS':>9}"
            )
            for rows in (args.rows // 4, args.rows):
                (folder / "six.toml").write_text(SIX_COLUMNS.format(rows=rows), encoding="utf-8")
                url = server.database("six")
                seconds, cpu, rss = _phony_sync(
                    "--plan", str(folder / "six.toml"), "--target", url, "--seed", "1"
                )
                print(f"{'6-column table, COPY':<44} {rows:>10,} {seconds:>8.2f} "
                      f"{rows / seconds:>10,.0f} {rows / cpu:>10,.0f} {rss:>5} MiB")  # fmt: skip
            naive, naive_cpu = _naive(server.url("six"), folder, args.naive_rows)
            print(f"{'6-column table, one INSERT per row (floor)':<44} {args.naive_rows:>10,} "
                  f"{args.naive_rows / naive:>8.2f} {naive:>10,.0f} {naive_cpu:>10,.0f} "
                  f"{'-':>9}")  # fmt: skip

            import sqlalchemy as sa

            source = server.database("shop")
            engine = sa.create_engine(source.replace("postgresql://", "postgresql+psycopg://"))
            build_source(engine)
            engine.dispose()
            plan = folder / "shop.toml"
            subprocess.run(
                [PHONY, "sync", "plan", "--source", source, "-o", str(plan), "--order", "4"],
                check=True, capture_output=True,
            )  # fmt: skip
            base = sum(ROWS.values())
            for target_rows in (args.rows // 4, args.rows):
                scale = target_rows / base
                url = server.database("shop_copy")
                seconds, cpu, rss = _phony_sync(
                    "--plan", str(plan), "--target", url, "--seed", "1", "--scale", f"{scale:.4f}"
                )
                loaded = sum(round(r * scale) for r in ROWS.values())
                print(f"{'shop, 7 tables (FKs, cycle, UNIQUE, CHECK)':<44} {loaded:>10,} "
                      f"{seconds:>8.2f} {loaded / seconds:>10,.0f} {loaded / cpu:>10,.0f} "
                      f"{rss:>5} MiB")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
