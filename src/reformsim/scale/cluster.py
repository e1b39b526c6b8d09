"""Chunks as Dask tasks (dask.distributed): a LocalCluster of this machine's cores, or the
cluster at an address, or a Client the caller already has.

The model travels once: ``client.scatter(model, broadcast=True)`` sends it to every worker,
pickled as its IR (``engine/compiler.py`` registers how), and each worker compiles it again
when it arrives; every task then names that one copy, so the engine's caches (variants,
rate programs) fill once per worker. A worker that dies takes its running chunk with it: the
scheduler gives that chunk to another worker (up to ``distributed.scheduler.allowed-failures``
times, 3 by default), and as a chunk's result depends only on its members, the run's result
is the same. A restarted worker fetches the model from a worker that has it.

At most two chunks per worker are in flight, so neither the workers nor this process hold
more than a few chunks' results however big the ensemble.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import SimulationError
from .chunks import Chunk, ChunkResult, Job, run_chunk

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel

IN_FLIGHT_PER_WORKER = 2


def require_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SimulationError("running on a Dask cluster needs dask.distributed, which is not "
                              "installed\n  hint: pip install 'reformsim[cluster]'") from None
    return distributed


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not Linux
        return max(1, os.cpu_count() or 1)


def local_cluster(workers: int) -> Any:
    """A LocalCluster of ``workers`` single-threaded worker processes on the loopback address
    (nothing listens beyond this machine), quiet, with no dashboard (no fixed port taken)."""
    distributed = require_distributed()
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                                    scheduler_kwargs={"dashboard": False,
                                                      "dashboard_address": "127.0.0.1:0"},
                                    silence_logs=logging.ERROR)


def connect(client: Any = None, workers: int | None = None) -> tuple[Any, Callable[[], None]]:
    """A Client and how to let it go: ``client`` as given (left open), a Client of the
    scheduler at ``client`` when it is an address (``tcp://host:8786``), else a new
    LocalCluster of ``workers`` (closed afterwards)."""
    distributed = require_distributed()
    if client is not None and not isinstance(client, str):
        return client, lambda: None
    if isinstance(client, str):
        try:
            made = distributed.Client(client, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise SimulationError(f"cannot reach the Dask scheduler at {client}: {exc}"
                                  "\n  hint: start one with 'dask scheduler' and workers with "
                                  f"'dask worker {client}', or check the address") from None
        return made, made.close
    cluster = local_cluster(workers or default_workers())
    made = distributed.Client(cluster)

    def close() -> None:
        made.close()
        cluster.close()

    return made, close


def run_on_cluster(client: Any, model: CompiledModel, job: Job, chunks: Iterator[Chunk],
                   on_result: Callable[[ChunkResult], None]) -> int:
    """Run every chunk on the cluster, handing each result to ``on_result`` as it comes (in
    any order); returns the number of workers seen at the start."""
    distributed = require_distributed()
    workers = len(client.scheduler_info().get("workers", {}))
    if workers == 0:
        client.wait_for_workers(1, timeout=60)
        workers = len(client.scheduler_info().get("workers", {}))
    shared = client.scatter(model, broadcast=True, hash=False)
    run = uuid.uuid4().hex[:12]
    pending = distributed.as_completed()

    def submit() -> bool:
        chunk = next(chunks, None)
        if chunk is None:
            return False
        pending.add(client.submit(run_chunk, shared, job, chunk, pure=False,
                                  key=f"reformsim-chunk-{run}-{chunk.index}"))
        return True

    for _ in range(IN_FLIGHT_PER_WORKER * max(workers, 1)):
        if not submit():
            break
    try:
        for future in pending:
            result = future.result()
            future.release()
            on_result(result)
            submit()
    except BaseException:
        pending.clear()
        raise
    finally:
        client.cancel(shared)
    return workers
