"""An ensemble cut into chunks of members: each chunk one ``simulate`` call, reduced at once.

A chunk is ``simulate(model, <the chunk's slice of every per-member value>,
streams=<the chunk's global member streams>)``, so member i's random streams are those of
a single run of the whole ensemble, whatever the chunking and wherever the chunk runs.
:func:`run_chunk` is what a Dask worker executes: it returns only what the reductions need
(partial statistics per group, the per-member KPI values, failures) and, when asked, the
chunk's trajectories.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine import settings
from ..engine.inputs import Points
from ..engine.results import Failure
from ..errors import ReformsimWarning, SimulationError
from .reductions import Partial, Statistics

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel

CHUNK_BYTES = 128 * 2**20  # trajectories of one chunk (save times x variables x members x 8 B)
MAX_CHUNK = 32_768         # the engine's own fastest chunk for SIR (simulation.py)
MIN_CHUNK = 64


@dataclass(frozen=True)
class Job:
    """What every chunk of a stream shares (small: it travels with each task)."""

    method: str
    outputs: tuple[str, ...] | None
    seed: int
    tolerances: tuple[float, float]
    group_size: int                 # members per group: group g is members g*M .. g*M+M-1
    kpi_times: tuple[int, ...]      # save-time indices of the per-member KPI values
    kpi_columns: tuple[int, ...]    # their variables (columns of the results)
    statistics: Statistics | None   # None: no statistics (trajectories only)
    exact: bool                     # quantiles from the values themselves, not a sketch
    keep: bool                      # send the trajectories back (to be written to disk)


@dataclass(frozen=True)
class Chunk:
    """Members lo..hi of the ensemble and their inputs, sliced."""

    index: int
    lo: int
    hi: int
    params: dict[str, Any]
    initial: dict[str, Any]
    lookups: dict[str, Any]
    streams: np.ndarray


@dataclass
class ChunkResult:
    index: int
    lo: int
    hi: int
    partials: dict[int, Partial]
    kpis: np.ndarray                       # (members, kpi times, kpi variables)
    failures: dict[int, Failure]           # by global member index
    trajectories: np.ndarray | None        # (save times, variables, members) when kept
    seconds: float = 0.0
    where: str = field(default="")         # the worker that ran it


@dataclass(frozen=True)
class Inputs:
    """simulate()'s per-member arguments, every value with its member axis first."""

    size: int
    params: dict[str, Any]
    initial: dict[str, Any]
    lookups: dict[str, Any]
    streams: np.ndarray

    @classmethod
    def of(cls, model: CompiledModel, params: dict[str, Any], initial: dict[str, Any],
           lookups: dict[str, Any], size: int | None, streams: Any) -> Inputs:
        """Values normalised as simulate reads them (so slicing a chunk is unambiguous)."""
        def member_axis(name: str, what: str, value: Any) -> Any:
            if isinstance(value, Points):
                return value
            return settings.as_value(settings.find(model, name, what), value)

        params = {n: member_axis(n, "parameter", v) for n, v in params.items()}
        initial = {n: member_axis(n, "stock", v) for n, v in initial.items()}
        lookups = {n: v if isinstance(v, Points) else list(v) for n, v in lookups.items()}
        lengths = {_members(v) for v in [*params.values(), *initial.values(),
                                         *lookups.values()]} - {1}
        if streams is not None:
            streams = np.asarray(streams, dtype=np.int64).reshape(-1)
            lengths.add(len(streams))
        if size is not None:
            lengths.add(int(size))
        if len(lengths) > 1:
            raise SimulationError("every per-member value needs one value per member, but they "
                                  f"have {sorted(lengths)} members")
        n = lengths.pop() if lengths else 1
        if n < 1:
            raise SimulationError("an ensemble needs at least one member")
        streams = np.arange(n, dtype=np.int64) if streams is None else \
            np.broadcast_to(streams, (n,))
        return cls(n, params, initial, lookups, streams)

    def chunk(self, index: int, lo: int, hi: int) -> Chunk:
        def part(value: Any) -> Any:
            if _members(value) == 1 or self.size == 1:
                return value
            if isinstance(value, Points):
                return type(value)(*(a if a.shape[0] == 1 else a[lo:hi]
                                     for a in (value.xs, value.ys)))
            return value[lo:hi]

        return Chunk(index, lo, hi, {n: part(v) for n, v in self.params.items()},
                     {n: part(v) for n, v in self.initial.items()},
                     {n: part(v) for n, v in self.lookups.items()}, self.streams[lo:hi].copy())


def _members(value: Any) -> int:
    if isinstance(value, Points):
        return value.members
    if isinstance(value, list):
        return len(value)
    return int(np.shape(value)[0]) if np.ndim(value) else 1


def chunk_size(saves: int, columns: int, members: int, requested: int | None = None) -> int:
    """Members per chunk: ``requested``, else as many as keep a chunk's trajectories within
    CHUNK_BYTES (between MIN_CHUNK and MAX_CHUNK). It depends on the model and the request
    only, never on the workers: the statistics are then the same on any cluster."""
    if requested is not None:
        return max(1, min(int(requested), members))
    fit = CHUNK_BYTES // max(1, 8 * saves * max(columns, 1))
    return max(1, min(members, max(MIN_CHUNK, min(MAX_CHUNK, fit))))


def run_chunk(model: CompiledModel, job: Job, chunk: Chunk) -> ChunkResult:
    """Simulate one chunk and reduce it (on a worker, or in this process)."""
    from ..engine.simulation import simulate

    started = time.perf_counter()
    size = chunk.hi - chunk.lo
    with warnings.catch_warnings():   # failures are counted for the whole stream instead
        warnings.simplefilter("ignore", ReformsimWarning)
        results = simulate(model, chunk.params, chunk.initial, job.method, job.outputs,
                           lookups=chunk.lookups or None, size=size, streams=chunk.streams,
                           seed=job.seed, rtol=job.tolerances[0], atol=job.tolerances[1])
    cube = results.values.transpose(1, 2, 0)          # (T, V, n): the engine's own layout
    flat = cube.reshape(-1, size)
    ok = results.ok
    partials: dict[int, Partial] = {}
    if job.statistics is not None:
        m = job.group_size
        for group in range(chunk.lo // m, (chunk.hi - 1) // m + 1):
            a, b = max(chunk.lo, group * m) - chunk.lo, min(chunk.hi, (group + 1) * m) - chunk.lo
            values = flat[:, a:b] if ok[a:b].all() else flat[:, a:b][:, ok[a:b]]
            if values.shape[1]:
                partials[group] = Partial.of(values, job.statistics, job.exact, chunk.lo + a)
    kpis = np.ascontiguousarray(results.values[:, list(job.kpi_times), :][:, :, list(
        job.kpi_columns)])
    return ChunkResult(chunk.index, chunk.lo, chunk.hi, partials, kpis,
                       {chunk.lo + i: f for i, f in results.failures.items()},
                       np.ascontiguousarray(cube) if job.keep else None,
                       time.perf_counter() - started)
