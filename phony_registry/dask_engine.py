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

Without a scheduler address a ``LocalCluster`` of one single-threaded worker
process per core runs on this machine. Dask and distributed are imported
only here, only when the engine runs (the ``[dask]`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from phony_registry.errors import UsageError

if TYPE_CHECKING:
    from phony_registry.schema import Schema

__all__ = ["DaskRun", "run_on_dask"]

#: How many times Dask retries a failed partition before the run fails.
RETRIES = 3


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
    progress: Callable[[int, int], None] | None = None,
    started: Callable[[int, int, str | None], None] | None = None,
) -> DaskRun:
    """Generate the dataset on the cluster at ``scheduler`` (else a local one).

    ``parts`` defaults to :func:`phony_registry.dataset.default_partitions`
    (from the count alone); ``workers`` sizes the local cluster (default:
    the CPU count). ``started(partitions, workers, dashboard_link)`` is
    called once the tasks are submitted, ``progress(done, total)`` as
    partitions finish.
    """
    from phony_registry.dataset import (
        commit,
        default_partitions,
        discard,
        new_run,
        partitions,
        write_partition,
    )

    distributed = _distributed()
    options = dict(options or {})
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,  # logging.ERROR: the client shows progress itself
        )
    try:
        with distributed.Client(cluster if cluster is not None else scheduler) as client:
            size = len(client.scheduler_info(n_workers=-1)["workers"]) or 1
            parts = parts or default_partitions(count)
            plan = partitions(count, parts)  # checks the range
            run = new_run()
            shared = client.scatter(schema, broadcast=True)
            futures = [
                client.submit(
                    write_partition,
                    shared,
                    destination,
                    count=count,
                    seed=seed,
                    parts=parts,
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
            dashboard = None if cluster is not None else client.dashboard_link
            if started is not None:
                started(len(futures), size, dashboard)
            for done, _ in enumerate(distributed.as_completed(futures), 1):
                if progress is not None:
                    progress(done, len(futures))
            try:
                results = client.gather(futures)
                names = [name for name, _ in results]
                client.submit(commit, destination, names, run, key=f"phony-commit-{run}").result()
            except BaseException:
                client.submit(discard, destination, run, key=f"phony-discard-{run}").result()
                raise
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc
    finally:
        if cluster is not None:
            cluster.close()
    return DaskRun(files=tuple(results), workers=size, dashboard=dashboard)
