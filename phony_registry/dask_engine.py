"""``--engine dask``: a dataset's partitions generated and written on a Dask cluster.

Each partition is one Dask task, ``write_partition(schema, destination,
count, seed, parts, index)`` (see :mod:`phony_registry.dataset`): the
worker generates rows ``index*count//parts`` onwards from the seed and
writes ``part-PPPPP.EXT`` itself, through fsspec, so no rows travel back to
the client. The schema, with its models loaded, is sent once to every
worker (``scatter``), so workers need phony and pyarrow installed but not
the client's model cache. Task keys name the run (a random id) and the
partition index; Dask retries a failed task (``retries``) and a retried
partition rewrites the same temporary file with the same bytes, so no row
is ever written twice. When every partition is written, one more task
renames them into place and removes the earlier dataset's leftover parts
(:func:`phony_registry.dataset.commit`); a failed run's temporary files are
removed by a task too (:func:`phony_registry.dataset.discard`), so only the
workers need access to the destination. The dataset is byte-identical
whatever the cluster, the number of workers or the order partitions finish
in, and so is the default number of partitions.

A scheduler address is checked before anything is sent: its form first
(``tcp://HOST:PORT``, ``tls://...``, the protocols distributed knows: a
usage error otherwise), then whether a Dask scheduler answers there within
:data:`CONNECT_TIMEOUT` seconds (a refused port, a port that never answers
and one answering something else are all "cannot reach", never a hang).
A task that fails for good ends the run with one error naming its
partition (:func:`phony_registry.dataset.partition_error`).

Without a scheduler address a ``LocalCluster`` of one single-threaded worker
process per core runs on this machine. Its workers ignore SIGINT (a Ctrl-C
in the terminal reaches the whole process group): this process answers it,
killing them and removing the run's temporary files at once. Their logs are
silenced, since the client reports a failure itself. Dask and distributed
are imported only here, only when the engine runs (the ``[dask]`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from phony_registry.errors import PhonyError, UsageError

if TYPE_CHECKING:
    from phony_registry.schema import Schema

__all__ = ["CONNECT_TIMEOUT", "DaskRun", "check_scheduler_address", "run_on_dask"]

#: How many times Dask retries a failed partition before the run fails.
RETRIES = 3

#: Seconds a scheduler has to accept the connection and answer as one.
CONNECT_TIMEOUT = 5.0

#: Seconds a failed or interrupted run spends removing its temporary files.
_CLEANUP_TIMEOUT = 5.0

#: ``HOST:PORT``, the host a name, an IPv4 address or a bracketed IPv6 one.
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")


@dataclass(frozen=True)
class DaskRun:
    """What a run wrote: file names and row counts in partition order, and the cluster's size."""

    files: tuple[tuple[str, int], ...]
    workers: int
    dashboard: str | None

    @property
    def rows(self) -> int:
        """Rows written in all."""
        return sum(rows for _, rows in self.files)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise UsageError(
            "--engine dask needs dask and distributed: pip install 'phony[dask]'"
        ) from exc
    return distributed


def check_scheduler_address(address: str) -> tuple[str, str, int]:
    """``address`` as (scheme, host, port): ``SCHEME://HOST:PORT`` with a protocol
    distributed can connect over, or ``HOST:PORT`` (tcp); a usage error otherwise."""
    _distributed()
    text = address.strip()
    example = "give tcp://HOST:PORT (a dask scheduler listens on 8786)"
    if not text:
        raise UsageError(f"--scheduler needs an address: {example}")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    from distributed.comm.registry import backends

    known = sorted(name for name in backends if name != "inproc")  # inproc: this process only
    if scheme not in known:
        raise UsageError(
            f"--scheduler {address}: {scheme}:// is not a protocol Dask schedulers listen on "
            f"({', '.join(f'{name}://' for name in known)}); {example}"
        )
    found = _HOST_PORT.fullmatch(rest.rstrip("/"))
    if found is None or not 1 <= int(found[2]) <= 65535:
        raise UsageError(f"--scheduler {address}: not an address of a Dask scheduler; {example}")
    return scheme, found[1].strip("[]"), int(found[2])


def _unreachable(address: str, reason: str) -> PhonyError:
    return PhonyError(f"cannot reach the Dask scheduler at {address}: {reason}")


def _probe(address: str, scheme: str, host: str, port: int, timeout: float) -> None:
    """Fail unless a Dask scheduler at ``address`` answers within ``timeout`` seconds.

    distributed waits 30 s for a refused port, forever for one that accepts
    and never answers, and reads a non-Dask answer as a frame length (an
    allocation of exabytes): hence a plain connection first, then one
    ``identity`` call in a thread of its own, bounded by the timeout.
    """
    if scheme in ("tcp", "tls", "ws", "wss"):
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except TimeoutError:
            raise _unreachable(address, f"no answer within {timeout:g} s") from None
        except OSError as exc:
            raise _unreachable(address, exc.strerror or str(exc)) from None
    answer: dict[str, Any] = {}

    def ask() -> None:
        import asyncio

        distributed = _distributed()

        async def identity() -> Any:
            remote = distributed.core.rpc(
                address,
                timeout=timeout,
                connection_args=distributed.security.Security().get_connection_args("client"),
            )
            try:
                return await remote.identity()
            finally:
                await remote.close_rpc()

        try:
            answer["identity"] = asyncio.run(asyncio.wait_for(identity(), timeout))
        except (Exception, MemoryError) as exc:  # what a non-scheduler makes distributed raise
            answer["error"] = exc

    asker = threading.Thread(target=ask, name="phony-dask-probe", daemon=True)
    asker.start()
    asker.join(timeout + 1)
    identity = answer.get("identity")
    if isinstance(identity, dict) and identity.get("type") == "Scheduler":
        return
    if asker.is_alive() or isinstance(answer.get("error"), TimeoutError):
        raise _unreachable(address, f"no answer within {timeout:g} s")
    raise _unreachable(address, "what answers there is not a Dask scheduler")


@contextlib.contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Processes started inside ignore SIGINT (an ignored signal stays ignored across
    exec); a Ctrl-C meanwhile is held back, then delivered to this process."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):  # (Windows has neither process groups nor signal masks)
        yield
        return
    from multiprocessing import resource_tracker

    # Started first: starting it unblocks SIGINT in the thread that does, and a
    # signal that thread took while ignored would be lost.
    resource_tracker.ensure_running()
    # Blocked, an ignored signal stays pending (Linux) instead of being lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Let a clean-up run to its end: further Ctrl-Cs (or the CLI's repeats of the
    first) wait until it is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _local_cluster(distributed: Any, workers: int | None) -> Any:
    return distributed.LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        # A port of its own: a busy 8787 (another cluster) would print a warning.
        dashboard_address="127.0.0.1:0",
        # The client reports a failed partition in one line; the workers'
        # "Compute Failed" tracebacks (one per retry) would bury it.
        silence_logs=logging.CRITICAL,
    )


def _kill_workers(cluster: Any) -> None:
    """End the local cluster's worker processes at once (an interrupted run)."""
    pids = [getattr(getattr(n, "process", None), "pid", None) for n in cluster.workers.values()]
    for pid in filter(None, pids):
        with contextlib.suppress(OSError):
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    for pid in filter(None, pids):
        # Reaped here, so that no zombie outlives this process (distributed's own
        # watcher may reap it first).
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)


def run_on_dask(
    schema: Schema,
    destination: str,
    *,
    count: int,
    seed: int,
    parts: int | None,
    format_name: str,
    options: Mapping[str, str] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
    started: Callable[[int, int, str | None], None] | None = None,
) -> DaskRun:
    """Generate the dataset on the cluster at ``scheduler`` (else a local one).

    ``parts`` defaults to :func:`phony_registry.dataset.default_partitions`
    (from the count alone); ``workers`` sizes the local cluster (default:
    the CPU count). ``started(partitions, workers, dashboard_link)`` is
    called once the tasks are submitted, ``progress(done, total)`` as
    partitions finish. A scheduler that does not answer as one within
    ``connect_timeout`` seconds is a :class:`~phony_registry.errors.PhonyError`
    ("cannot reach the Dask scheduler at ..."); a partition that fails is
    reported by :func:`phony_registry.dataset.partition_error`.
    """
    from phony_registry.dataset import default_partitions, discard, hold, new_run, partitions

    distributed = _distributed()
    where = scheduler
    if scheduler is not None:
        scheme, host, port = check_scheduler_address(scheduler)
        where = scheduler.strip()
        _probe(where, scheme, host, port, connect_timeout)
    parts = parts or default_partitions(count)
    plan = partitions(count, parts)  # checks the range before a cluster starts
    run = new_run()
    cluster = client = None
    # Workers of phony's own cluster write this machine's files: hold a local
    # destination against a second run (a remote cluster's workers write theirs).
    with hold(destination) if scheduler is None else contextlib.nullcontext():
        try:
            if scheduler is None:
                with _children_ignore_sigint():  # a Ctrl-C meanwhile arrives once cluster is set
                    cluster = _local_cluster(distributed, workers)
            try:
                client = distributed.Client(
                    cluster if cluster is not None else where, timeout=connect_timeout
                )
            except (OSError, TimeoutError) as exc:
                raise _unreachable(str(where), str(exc) or type(exc).__name__) from exc
            size = len(client.scheduler_info(n_workers=-1)["workers"]) or 1
            dashboard = None if cluster is not None else client.dashboard_link
            files = _run_tasks(
                distributed,
                client,
                schema,
                destination,
                plan=plan,
                run=run,
                count=count,
                seed=seed,
                format_name=format_name,
                options=dict(options or {}),
                progress=progress,
                started=lambda total: started(total, size, dashboard) if started else None,
                remote=cluster is None,
            )
        except BaseException as exc:
            with _sigint_ignored():
                if cluster is not None:
                    # The run is over: its workers' unfinished partitions are of no use.
                    _kill_workers(cluster)
                    _close(client, cluster)
                    client = cluster = None
                    discard(destination, run)  # the workers wrote where this process can
                elif client is not None and isinstance(exc, KeyboardInterrupt):
                    # Its workers may all be busy writing: the clean-up runs when one is
                    # free, after this process has gone.
                    with contextlib.suppress(Exception):
                        distributed.fire_and_forget(
                            client.submit(discard, destination, run, key=f"phony-discard-{run}")
                        )
            if isinstance(exc, distributed.comm.CommClosedError):
                raise PhonyError(f"lost the Dask scheduler at {where}: {exc}") from exc
            raise
        finally:
            _close(client, cluster)
    return DaskRun(files=files, workers=size, dashboard=dashboard)


def _run_tasks(
    distributed: Any,
    client: Any,
    schema: Schema,
    destination: str,
    *,
    plan: list[Any],
    run: str,
    count: int,
    seed: int,
    format_name: str,
    options: dict[str, str],
    progress: Callable[[int, int], None] | None,
    started: Callable[[int], None],
    remote: bool,
) -> tuple[tuple[str, int], ...]:
    """Submit one task per partition, wait for them all, then commit: the files written.

    On a failure a ``remote`` cluster's workers remove the run's temporary files
    (a local cluster's are removed by this process, once its workers are gone).
    """
    from phony_registry.dataset import commit, partition_error, write_partition

    shared = client.scatter(schema, broadcast=True)
    futures = [
        client.submit(
            write_partition,
            shared,
            destination,
            count=count,
            seed=seed,
            parts=len(plan),
            index=part.index,
            format_name=format_name,
            options=options,
            run=run,
            key=f"phony-partition-{run}-{part.index:05d}",
            retries=RETRIES,
            pure=False,
        )
        for part in plan
    ]
    started(len(futures))
    index = {future.key: part.index for future, part in zip(futures, plan, strict=True)}
    for done, future in enumerate(distributed.as_completed(futures), 1):
        if future.status == "error":
            failure = future.exception()
            client.cancel(futures)
            if remote:
                _discard_on(client, destination, run)
            reported = partition_error(failure, index[future.key], destination)
            raise reported from None
        if progress is not None:
            progress(done, len(futures))
    results = client.gather(futures)
    names = [name for name, _ in results]
    try:
        client.submit(commit, destination, names, run, key=f"phony-commit-{run}").result()
    except Exception:
        if remote:
            _discard_on(client, destination, run)
        raise
    return tuple(results)


def _discard_on(client: Any, destination: str, run: str) -> None:
    """Remove the run's temporary files where the workers wrote them; best effort."""
    from phony_registry.dataset import discard

    with contextlib.suppress(Exception):
        task = client.submit(discard, destination, run, key=f"phony-discard-{run}", pure=False)
        task.result(timeout=_CLEANUP_TIMEOUT)


def _close(client: Any, cluster: Any) -> None:
    """Close the client, then the local cluster, quietly (both may be None)."""
    if client is not None:
        with contextlib.suppress(Exception):
            client.close(timeout=_CLEANUP_TIMEOUT)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=_CLEANUP_TIMEOUT)
