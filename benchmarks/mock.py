"""``phony mock`` against json-server 0.17 serving the same 10,000 records, in one run.

What it measures:

- json-server 0.17, installed from npm into ``build/bench-mock/`` (node is on
  the machine; ``npm install --prefix DIR json-server@0.17``), serving a
  ``db.json`` that ``phony mock export`` wrote from the same schema and seed,
  so both serve byte-for-byte the same records;
- ``phony mock start person --locale en_US --count 10000`` with 1 and with 2
  uvicorn workers, and with 1 worker and ``--cache-mb 0`` (no cache of served
  blocks: every page is made from the models, as a random page of a
  collection far larger than the cache is);
- the same load generator for all three: a small asyncio HTTP/1.1 client
  (uvloop when installed), 32 keep-alive connections, for ``--seconds``
  each, on a page of 20 (``/people?_page=P&_limit=20``, P random over the 500
  pages) and on get-by-id (``/people/ID``, ID random over 10,000), the same
  random sequence for every server; requests/s and p50/p99 latency;
- a 10M-record collection: time from starting ``phony mock start`` to its
  first 200 on ``/people?_page=1`` (the median of three starts), its RSS
  then, the first and a second fetch of page 50,000
  (row 1,000,000: the first walks the models' chunks up to there once) and
  RSS after, then 200 random pages among its first 1,000,000 records, one at a
  time (cold: their blocks are not cached). json-server is not run at 10M: it
  reads db.json whole into memory (the size it would be is printed, from the
  10,000-record export).

The load average (1 minute) is printed beside every figure: the machine is
shared, and the figures move with it.

Run: ``.venv/bin/python benchmarks/mock.py [--seconds 5] [--skip-json-server]
[--skip-10m | --only-10m]``. It prints a verdict for each target (with one
worker, a page of 20 and get-by-id at least 3x json-server's requests/s
with p99 <= 20 ms; 10M records: first answer within 1 s, RSS <= 150 MiB)
and exits 1 if one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = ROOT / "build" / "bench-mock"
PHONY = str(Path(sys.executable).with_name("phony"))
CONNECTIONS = 32
RECORDS = 10_000
SEED = "7"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> float:
    """Seconds until ``url`` answers 200."""
    begin = time.perf_counter()
    with httpx.Client(timeout=5.0) as client:  # one client: making one costs ~20 ms
        while time.perf_counter() - begin < timeout:
            if process.poll() is not None:
                raise SystemExit(f"{process.args!r} exited with {process.returncode}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - begin
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), MiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


# --- the load generator -------------------------------------------------------------


async def _connection(
    host: str, port: int, paths: list[str], deadline: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
            begin = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                lowered = name.strip().lower()
                if lowered == b"content-length":
                    length = int(value)
                elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            if chunked:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"{path}: {head.splitlines()[0]!r}")
            latencies.append(time.perf_counter() - begin)
    finally:
        writer.close()


async def _load(url: str, paths: list[str], seconds: float) -> tuple[float, float, float]:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    begin = time.perf_counter()
    deadline = begin + seconds
    shift = len(paths) // CONNECTIONS
    await asyncio.gather(
        *(
            _connection(
                host, int(port), paths[c * shift :] + paths[: c * shift], deadline, latencies
            )
            for c in range(CONNECTIONS)
        )
    )
    elapsed = time.perf_counter() - begin
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return len(latencies) / elapsed, p50, p99


def load(url: str, paths: list[str], seconds: float) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) over ``seconds`` at 32 connections, after a short warm-up."""
    runner: Callable[[Coroutine[Any, Any, tuple[float, float, float]]], Any]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(_load(url, paths, 1.0))
    return runner(_load(url, paths, seconds))


def measured(url: str, paths: list[str], seconds: float) -> tuple[float, float, float, float]:
    """:func:`load`'s figures and the load average (1 minute) as it ended."""
    rate, p50, p99 = load(url, paths, seconds)
    return rate, p50, p99, os.getloadavg()[0]


def workloads() -> dict[str, list[str]]:
    """The page and get-by-id request sequences, the same for every server."""
    draw = random.Random(11)
    pages = [f"/people?_page={draw.randint(1, RECORDS // 20)}&_limit=20" for _ in range(20_000)]
    gets = [f"/people/{draw.randint(1, RECORDS)}" for _ in range(20_000)]
    return {"page of 20": pages, "get by id": gets}


# --- the servers --------------------------------------------------------------------


def start_phony(home: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    env = {**os.environ, "PHONY_CACHE_DIR": str(home / "cache"), "PHONY_LOAD_PLUGINS": ""}
    process = subprocess.Popen(
        [PHONY, "mock", "start", "person", "--locale", "en_US", "--seed", SEED,
         "--host", "127.0.0.1", "--port", str(port), *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    return process, url, wait_up(f"{url}/people?_page=1", process)


def install_json_server() -> Path:
    binary = PEER_DIR / "node_modules" / ".bin" / "json-server"
    if not binary.exists():
        PEER_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(PEER_DIR), "--no-audit", "--no-fund",
             "json-server@0.17"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return binary


def start_json_server(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = install_json_server()
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "--quiet", "--host", "127.0.0.1", "--port", str(port), str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=db.parent,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_up(f"{url}/people/1", process)
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--skip-json-server", action="store_true")
    parser.add_argument("--skip-10m", action="store_true")
    parser.add_argument("--only-10m", action="store_true", help="only the 10M start-up")
    args = parser.parse_args()
    loads = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"{now}: cpus {os.cpu_count()}, load average {loads}; "
        f"{CONNECTIONS} connections, {args.seconds:g} s per run"
    )
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="phony-bench-mock-") as tmp:
        home = Path(tmp)
        db = home / "db.json"
        env = {**os.environ, "PHONY_CACHE_DIR": str(home / "cache"), "PHONY_LOAD_PLUGINS": ""}
        subprocess.run(
            [PHONY, "mock", "export", "person", "--locale", "en_US", "--seed", SEED,
             "--count", str(RECORDS), "-o", str(db)],
            check=True, env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        per_record = db.stat().st_size / RECORDS
        rows: dict[str, dict[str, tuple[float, float, float, float]]] = {}
        servers: list[tuple[str, list[str]]] = [
            ("phony mock, 1 worker", ["--count", str(RECORDS)]),
            ("phony mock, 2 workers", ["--count", str(RECORDS), "--workers", "2"]),
            ("phony, 1 w., no cache", ["--count", str(RECORDS), "--cache-mb", "0"]),
        ]
        for label, extra in servers if not args.only_10m else []:
            process, url, _ = start_phony(home, *extra)
            try:
                rows[label] = {k: measured(url, v, args.seconds) for k, v in workloads().items()}
            finally:
                stop(process)
        if not args.skip_json_server and not args.only_10m and shutil.which("node"):
            process, url = start_json_server(db)
            try:
                rows["json-server 0.17"] = {
                    k: measured(url, v, args.seconds) for k, v in workloads().items()
                }
            finally:
                stop(process)
        print(f"\n{'server':<24}{'workload':<12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'load':>7}")
        for label, results in rows.items():
            for workload, (rate, p50, p99, loadavg) in results.items():
                print(
                    f"{label:<24}{workload:<12}{rate:>10,.0f}{p50:>9.1f}{p99:>9.1f}{loadavg:>7.1f}"
                )
        peer = rows.get("json-server 0.17")
        if peer:
            for label in [name for name in rows if name != "json-server 0.17"]:
                ratios = ", ".join(f"{w} {rows[label][w][0] / peer[w][0]:.1f}x" for w in peer)
                print(f"{label}: {ratios} json-server's req/s")
            one = rows.get("phony mock, 1 worker", {})
            for workload in peer if one else []:
                ratio, p99 = one[workload][0] / peer[workload][0], one[workload][2]
                verdict = "met" if ratio >= 3 and p99 <= 20 else "MISSED"
                if verdict != "met":
                    missed.append(workload)
                print(
                    f"target, {workload}, 1 worker: >= 3x json-server and p99 <= 20 ms: "
                    f"{ratio:.1f}x, p99 {p99:.1f} ms: {verdict}"
                )

        if not args.skip_10m:
            starts = []
            for _ in range(2):
                process, url, started = start_phony(home, "--count", "10000000")
                starts.append((started, rss_mib(process.pid)))
                stop(process)
            process, url, started = start_phony(home, "--count", "10000000")
            try:
                starts.append((started, rss_mib(process.pid)))
                started, rss_start = sorted(starts)[1]
                timings = []
                with httpx.Client(base_url=url, timeout=60) as client:
                    for page in (50_000, 50_000, 50_000, 50_000, 1, 1, 1):
                        begin = time.perf_counter()
                        answer = client.get("/people", params={"_page": page, "_limit": 20})
                        timings.append((time.perf_counter() - begin) * 1000)
                        assert answer.headers["x-total-count"] == "10000000"
                rss_after = rss_mib(process.pid)
                cold = []
                draw = random.Random(5)
                with httpx.Client(base_url=url, timeout=60) as client:
                    for _ in range(200):
                        params = {"_page": draw.randint(1, 50_000), "_limit": 20}
                        begin = time.perf_counter()
                        client.get("/people", params=params).raise_for_status()
                        cold.append((time.perf_counter() - begin) * 1000)
                cold.sort()
                rss_cold = rss_mib(process.pid)
            finally:
                stop(process)
            print(
                f"\n10,000,000 records: first 200 on page 1 {started:.2f} s after start "
                f"(median of {', '.join(f'{s:.2f}' for s, _ in starts)}), RSS "
                f"{rss_start:.0f} MiB; page 50,000 first {timings[0]:.0f} ms, then "
                f"{sorted(timings[1:4])[1]:.1f} ms (median of 3; page 1: "
                f"{sorted(timings[4:])[1]:.1f} ms); RSS after {rss_after:.0f} MiB"
            )
            start_ok = started <= 1.0 and rss_start <= 150
            if not start_ok:
                missed.append("10M start-up")
            print(
                f"target, 10M records: first answer <= 1 s, RSS <= 150 MiB: "
                f"{started:.2f} s, {rss_start:.0f} MiB: {'met' if start_ok else 'MISSED'}"
            )
            print(
                f"200 random pages among the first 1,000,000 records, one at a time (cold): "
                f"p50 {cold[100]:.1f} ms, p99 {cold[198]:.1f} ms; RSS then {rss_cold:.0f} MiB; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            print(
                f"json-server would read a {per_record * 10_000_000 / 2**30:.1f} GiB db.json "
                f"({per_record:.0f} bytes per record) whole into memory: not run"
            )
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if missed:
        print(f"missed: {', '.join(missed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
