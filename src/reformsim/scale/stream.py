"""simulate_stream(): an ensemble as statistics, chunk by chunk, here or on a Dask cluster.

Memory stays flat in the number of members N: one chunk's trajectories at a time per
worker, the running statistics of each group (mean, std, min, max and quantiles per variable
and save time), and per member only its KPI values (a few numbers) and, if it failed, where.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.results import STATUS, Failure, own_name
from ..errors import ReformsimWarning, SimulationError, did_you_mean
from .chunks import Chunk, ChunkResult, Inputs, Job, run_chunk
from .chunks import chunk_size as plan_chunk
from .memory import free_memory
from .reductions import Accumulator, Final, Statistics, finish

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel

MOMENTS = ("mean", "std", "min", "max")


def quantile_label(q: float) -> str:
    """``p5`` for 0.05, ``p50`` for the median, ``p2.5`` for 0.025 (as the KPI tables say)."""
    return f"p{round(100 * q, 10):g}"


@dataclass
class Summary:
    """A streamed ensemble: statistics per group of members, and KPI values per member.

    ``groups[g]`` holds group g's statistics over (columns = save times x variables);
    ``kpi_values`` (members, KPI times, KPI variables) each member's values at the save
    times nearest ``kpi_times``; ``failures`` the members that went NaN/inf (left out of
    every statistic, as in-memory runs leave them out of medians and bands).
    """

    times: np.ndarray
    names: tuple[str, ...]
    units: dict[str, str]
    docs: dict[str, str]
    size: int
    group_size: int
    quantiles: tuple[float, ...]
    quantile_method: str
    groups: list[Final]
    kpi_times: np.ndarray
    kpi_names: tuple[str, ...]
    kpi_values: np.ndarray
    failures: dict[int, Failure]
    chunk_size: int
    chunks: int
    workers: int
    seconds: float
    trajectories: Path | None = None
    method: str = "euler"
    info: dict[str, Any] = field(default_factory=dict)

    def statistic(self, group: int, name: str) -> np.ndarray:
        """One statistic (``mean``, ``std``, ``min``, ``max`` or ``p5``...) of a group, (T, V)."""
        final = self.groups[group]
        if name in MOMENTS:
            values = {"mean": final.mean, "std": final.std, "min": final.low,
                      "max": final.high}[name]
        else:
            labels = [quantile_label(q) for q in self.quantiles]
            if name not in labels:
                raise SimulationError(f"{name!r} is not a statistic of this stream; expected "
                                      f"one of {list(MOMENTS) + labels}")
            values = final.quantiles[labels.index(name)]
        return values.reshape(len(self.times), len(self.names))

    @property
    def statistics(self) -> list[str]:
        return list(MOMENTS) + [quantile_label(q) for q in self.quantiles]

    def to_xarray(self, group_dim: str = "group") -> Any:
        """Dataset: each variable over (group, statistic, time); ``count`` and ``failed`` per
        group; the coord ``quantile`` along ``statistic`` (NaN for the moments); and, where
        a sketch answered from a bucket that gathered lower keys, ``<variable> gathered``."""
        import xarray as xr

        shape = (len(self.groups), len(self.statistics), len(self.times), len(self.names))
        cube = np.empty(shape)
        gathered = np.zeros(shape, dtype=bool)
        for g, final in enumerate(self.groups):
            for s, name in enumerate(self.statistics):
                cube[g, s] = self.statistic(g, name)
            q = len(MOMENTS)
            gathered[g, q:] = final.gathered.reshape(-1, len(self.times), len(self.names))
        dims = (group_dim, "statistic", "time")
        data = {name: (dims, cube[..., v], {"units": self.units.get(name, ""),
                                             "description": self.docs.get(name, "")})
                for v, name in enumerate(self.names)}
        taken = set(data)
        for v, name in enumerate(self.names):
            if gathered[..., v].any():
                data[own_name(f"{name} gathered", taken)] = (dims, gathered[..., v])
        counts = np.array([f.count for f in self.groups])
        data[own_name("count", taken)] = ((group_dim,), counts)
        data[own_name("failed", taken)] = ((group_dim,), self._failed_per_group())
        coords = {group_dim: np.arange(len(self.groups)), "statistic": self.statistics,
                  "quantile": ("statistic", [np.nan] * len(MOMENTS) + list(self.quantiles)),
                  "time": self.times}
        attrs = {"members": self.size, "quantile_method": self.quantile_method,
                 "chunk_size": self.chunk_size, "method": self.method}
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def kpis_to_xarray(self) -> Any:
        """Each member's KPI values: variables over (member, time) at the KPI times, and the
        member's status ("ok" or where it went non-finite)."""
        import xarray as xr

        data = {name: (("member", "time"), self.kpi_values[:, :, k],
                       {"units": self.units.get(name, ""), "description": self.docs.get(name, "")})
                for k, name in enumerate(self.kpi_names)}
        status = own_name(STATUS, set(data))
        data[status] = ("member", self.status())
        return xr.Dataset(data, coords={"member": np.arange(self.size), "time": self.kpi_times},
                          attrs={"status_variable": status, "method": self.method})

    def status(self) -> np.ndarray:
        out = np.full(self.size, "ok", dtype=object)
        for member, failure in self.failures.items():
            out[member] = str(failure)
        return out.astype(str)

    def _failed_per_group(self) -> np.ndarray:
        failed = np.zeros(len(self.groups), dtype=int)
        for member in self.failures:
            failed[member // self.group_size] += 1
        return failed


def simulate_stream(model: CompiledModel, params: dict[str, Any] | None = None,
                    initial: dict[str, Any] | None = None, method: str = "euler",
                    outputs: Sequence[str] | None = None, *,
                    lookups: dict[str, Any] | None = None, size: int | None = None,
                    streams: Any = None, seed: int = 0, rtol: float = 1e-6, atol: float = 1e-9,
                    group_size: int | None = None, statistics: Statistics | None = Statistics(),
                    kpi_times: Sequence[float] = (), kpi_outputs: Sequence[str] | None = None,
                    trajectories: str | Path | None = None, client: Any = None,
                    workers: int | None = None, chunk_size: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> Summary:
    """Simulate an ensemble chunk by chunk and keep statistics instead of trajectories.

    Takes :func:`reformsim.simulate`'s arguments, and:

    group_size
        Members per group (default: all in one): statistics are kept per group of
        consecutive members (an ensemble's scenarios: ``group_size`` = its samples).
    statistics
        :class:`Statistics`: the quantiles, the sketch's accuracy and when quantiles are
        exact; None keeps no statistics (with ``trajectories``: a run written to disk).
    kpi_times, kpi_outputs
        Each member's values at the save times nearest ``kpi_times`` are kept, for the
        variables ``kpi_outputs`` (default: every output): one number per member each.
    trajectories
        A path: every member's trajectories are written there (netCDF-4) as chunks finish;
        open it with :func:`reformsim.scale.open_trajectories`.
    client, workers
        Run the chunks on Dask: ``client`` a ``distributed.Client`` or a scheduler's
        address (``tcp://host:8786``); ``workers=N`` starts a LocalCluster of N processes
        for this call. Neither: in this process.
    chunk_size
        Members per chunk (default: 128 MiB of trajectories each). Member i's values never
        depend on it; the mean and std do, in their last bits (see docs/scale.md).
    progress
        Called as ``progress(members done, members in all)`` as chunks finish.
    """
    started = time.perf_counter()
    inputs = Inputs.of(model, dict(params or {}), dict(initial or {}), dict(lookups or {}),
                       size, streams)
    n = inputs.size
    probe = _probe(model, inputs, method, outputs, seed, (rtol, atol))
    times, names = probe.times, probe.names
    group_size = n if group_size is None else int(group_size)
    if group_size < 1 or n % group_size:
        raise SimulationError(f"group_size {group_size} does not divide the {n} members")
    kpi_index = _time_indices(times, kpi_times)
    kpi_columns = _columns(names, kpi_outputs)
    columns = len(times) * len(names)
    per_chunk = plan_chunk(len(times), len(names), n, chunk_size)
    exact = statistics is not None and n * columns * 8 <= statistics.exact_bytes
    _check_memory(statistics, exact, n // group_size, columns, n, len(kpi_index),
                  len(kpi_columns))
    job = Job(method, None if outputs is None else tuple(outputs), seed, (rtol, atol),
              group_size, tuple(kpi_index), tuple(kpi_columns), statistics, exact,
              trajectories is not None)
    total = (n + per_chunk - 1) // per_chunk
    chunks = (inputs.chunk(i, lo, min(n, lo + per_chunk))
              for i, lo in enumerate(range(0, n, per_chunk)))
    collector = _Collector(n, len(kpi_index), len(kpi_columns), progress)
    store = None
    if trajectories is not None:
        from .store import TrajectoryFile

        store = TrajectoryFile(trajectories, times, names, probe.units, probe.docs, n)
        collector.store = store
    try:
        workers_seen = _execute(model, job, chunks, collector, client, workers)
    except BaseException:
        if store is not None:
            store.discard()
        raise
    if store is not None:
        store.close(collector.failures, {"method": method, "members": n})
    qs = statistics.quantiles if statistics is not None else ()
    finals = [finish(collector.accumulator.totals.get(g), columns, qs)
              for g in range(n // group_size)] if statistics is not None else []
    if collector.failures:
        first = min(collector.failures)
        warnings.warn(f"{len(collector.failures)} of {n} members went NaN/inf (first: member "
                      f"{first}, {collector.failures[first]}); they are left out of the "
                      "statistics; see Summary.failures", ReformsimWarning, stacklevel=2)
    how = "none" if statistics is None or not qs else "exact (linear)" if exact else \
        f"DDSketch (relative accuracy {statistics.accuracy:g}, {statistics.bins} bins)"
    return Summary(times, names, probe.units, probe.docs, n, group_size, qs, how, finals,
                   times[kpi_index], tuple(names[c] for c in kpi_columns), collector.kpis,
                   dict(sorted(collector.failures.items())), per_chunk, total, workers_seen,
                   time.perf_counter() - started,
                   None if trajectories is None else Path(trajectories), method)


class _Collector:
    """Takes chunk results in any order: statistics merged in chunk order, KPI values and
    trajectories put at their members, progress reported."""

    def __init__(self, size: int, kpi_times: int, kpi_columns: int,
                 progress: Callable[[int, int], None] | None) -> None:
        self.size, self.done, self.progress = size, 0, progress
        self.accumulator = Accumulator()
        self.kpis = np.full((size, kpi_times, kpi_columns), np.nan)
        self.failures: dict[int, Failure] = {}
        self.store: Any = None

    def __call__(self, result: ChunkResult) -> None:
        self.accumulator.add(result.index, result.partials)
        self.kpis[result.lo:result.hi] = result.kpis
        self.failures.update(result.failures)
        if self.store is not None and result.trajectories is not None:
            self.store.write(result.lo, result.trajectories)
        self.done += result.hi - result.lo
        if self.progress is not None:
            self.progress(self.done, self.size)


def _execute(model: CompiledModel, job: Job, chunks: Iterator[Chunk], collect: _Collector,
             client: Any, workers: int | None) -> int:
    if client is None and not workers:
        for chunk in chunks:
            collect(run_chunk(model, job, chunk))
        return 1
    from .cluster import connect, run_on_cluster

    made, close = connect(client, workers)
    try:
        return run_on_cluster(made, model, job, chunks, collect)
    finally:
        close()


def _probe(model: CompiledModel, inputs: Inputs, method: str, outputs: Any, seed: int,
           tolerances: tuple[float, float]) -> Any:
    """Member 0 alone: the save times and column names, and any error in the request, before
    a cluster is started or a file written."""
    from ..engine.simulation import simulate

    chunk = inputs.chunk(0, 0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReformsimWarning)
        return simulate(model, chunk.params, chunk.initial, method, outputs,
                        lookups=chunk.lookups or None, size=1, streams=chunk.streams, seed=seed,
                        rtol=tolerances[0], atol=tolerances[1])


def _time_indices(times: np.ndarray, wanted: Sequence[float]) -> list[int]:
    first, last = float(times[0]), float(times[-1])
    slack = 1e-9 * max(1.0, abs(first), abs(last))
    out = []
    for t in wanted:
        if not first - slack <= float(t) <= last + slack:
            raise SimulationError(f"KPI time {float(t):g} is outside the run ({first:g} to "
                                  f"{last:g})")
        out.append(int(np.argmin(np.abs(times - float(t)))))
    return list(dict.fromkeys(out))


def _columns(names: tuple[str, ...], wanted: Sequence[str] | None) -> list[int]:
    if wanted is None:
        return list(range(len(names)))
    out = []
    for name in wanted:
        cells = [i for i, n in enumerate(names) if n == name or n.startswith(f"{name}[")]
        if not cells:
            hint = did_you_mean(name, names) or f"the outputs are {list(names)}"
            raise SimulationError(f"KPI variable {name!r} is not among the outputs; {hint}")
        out += cells
    return list(dict.fromkeys(out))


def _check_memory(statistics: Statistics | None, exact: bool, groups: int, columns: int,
                  members: int, kpi_times: int, kpi_columns: int) -> None:
    """Refuse, before simulating, statistics that would not fit in the memory that is free."""
    need = 8 * members * (kpi_times * kpi_columns + 1)
    if statistics is not None:
        need += groups * columns * 8 * 6
        if statistics.quantiles and not exact:
            need += groups * columns * statistics.bins * 4 * 2
    free = free_memory()
    if free is not None and need > 0.6 * free:
        raise SimulationError(
            f"the statistics of {groups} group(s) x {columns} columns (save times x variables) "
            f"would need {need / 2**30:.1f} GiB but {free / 2**30:.1f} GiB are free"
            "\n  hint: keep fewer outputs, save less often (SAVEPER), or fewer bins")
