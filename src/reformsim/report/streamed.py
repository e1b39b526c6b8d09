"""A streamed run (``reformsim run --stats``): statistics instead of trajectories.

Its run directory holds ``stats.nc`` (each variable over scenario x statistic x time: mean,
std, min, max and the quantiles), ``members.nc`` (every member's values at the KPI times,
over scenario x sample x time, with its status and draws: what ``kpis.csv`` is computed
from, exactly), ``kpis.csv``, ``manifest.json`` (with a ``streamed`` section: statistics,
quantile method, chunks, workers), ``scenarios/`` and, with ``--trajectories``,
``trajectories.nc`` (every member over member x time, written as chunks finished; open it
lazily with ``reformsim.scale.open_trajectories``). No slides and no HTML report: they draw
samples, which a streamed run does not keep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .runs import Stopwatch, _count, label_dataset, prepare_ensemble, with_cells

STATS, MEMBERS, TRAJECTORIES = "stats.nc", "members.nc", "trajectories.nc"


@dataclass(frozen=True)
class StreamedRun:
    """One model's scenarios, streamed: the labelled statistics and KPI values, and how."""

    model: Path
    scenario_files: tuple[Path, ...]
    statistics: Any            # xarray.Dataset over (scenario, statistic, time)
    members: Any               # xarray.Dataset over (scenario, sample, time = KPI times)
    variables: tuple[str, ...]
    method: str
    time_step: float
    summary: Any               # scale.Summary
    scheduler: str
    findings: tuple[str, ...] = ()

    @property
    def dataset(self) -> Any:
        """The per-member Dataset (status, KPI values): what failure notes and tables read."""
        return self.members


def stream_scenarios(model_path: Path, files: Sequence[Path], folder: Path, *,
                     years: Sequence[float] | None, variables: Sequence[str] = (),
                     quantiles: Sequence[float] | None = None, trajectories: bool = False,
                     workers: int | None = None, scheduler: str | None = None,
                     method: str = "euler", samples: int | None = None, seed: int | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     models: dict[Path, Any] | None = None, stopwatch: Stopwatch | None = None,
                     loaded: dict[Path, Any] | None = None,
                     check: Callable[[Any], None] | None = None,
                     allow_outside_data: bool = False) -> StreamedRun:
    """Read and expand the files as ``simulate_scenarios`` does, then stream the ensemble:
    statistics per scenario, each member's values at ``years`` (default: halfway and the end)
    for ``variables`` (default: the files' outputs), on ``workers`` local processes or the
    Dask ``scheduler`` at an address, or in this process; trajectories into ``folder``."""
    from ..scale.reductions import QUANTILES, Statistics
    from ..scenarios.streamed import stream

    clock = Stopwatch() if stopwatch is None else stopwatch
    job = prepare_ensemble(model_path, files, samples=samples, seed=seed, models=models,
                           stopwatch=clock, loaded=loaded, check=check,
                           allow_outside_data=allow_outside_data)
    model, ensemble = job.model, job.ensemble
    times = _save_times(model, job.scenarios.time)
    kpi_years = list(years) if years else _default_years(times)
    where = scheduler or (f"a LocalCluster of {workers} workers" if workers else "this process")
    statistics = Statistics(tuple(QUANTILES if quantiles is None else quantiles))
    with clock.phase("simulate", f"streaming {_count(len(ensemble.scenarios), 'scenario')} x "
                                 f"{_count(ensemble.samples, 'sample')} "
                                 f"({_count(ensemble.size, 'member')}) "
                                 f"{'in' if where == 'this process' else 'on'} {where}"):
        done = stream(ensemble, model, method, statistics=statistics, kpi_times=kpi_years,
                      kpi_variables=list(variables) or None,
                      trajectories=folder / TRAJECTORIES if trajectories else None,
                      client=scheduler, workers=workers, progress=progress)
    for dataset in (done.statistics, done.members):
        label_dataset(dataset, model)
    names = with_cells(ensemble.outputs or [e.name for e in model.stocks],
                       [str(v) for v in done.members.data_vars])
    return StreamedRun(Path(model_path), tuple(files), done.statistics, done.members, names,
                       method, job.time_step, done.summary, where, job.findings)


def _save_times(model: Any, time: dict[str, float]) -> tuple[float, float]:
    """The run's first and last save times, from the model and the files' time settings."""
    import numpy as np

    from ..engine import settings

    overrides = settings.overrides([(settings.find(model, n, "constant"),
                                     settings.as_value(settings.find(model, n, "constant"), v))
                                    for n, v in time.items()])
    values = model.init(overrides, {}, np.zeros(1, dtype=np.uint64))
    read = {e.ident: float(np.asarray(values[model.slots[e.ident]]).reshape(-1)[0])
            for e in model.elements if e.ident in ("initial_time", "final_time")}
    return read["initial_time"], read["final_time"]


def _default_years(span: tuple[float, float]) -> list[float]:
    """Halfway and the end (the KPI table's default), before the run's save times exist."""
    first, last = span
    return [first + (last - first) / 2, last]


def write_streamed(run: StreamedRun, staging: Any, kpis: Any,
                   command: Sequence[str] | None = None) -> Path:
    """The run directory of a streamed run (reserved by ``rundir.prepare``)."""
    from .rundir import make_manifest
    from .runs import time_column
    from .tables import for_files

    summary = run.summary
    manifest = make_manifest(run.model, run.scenario_files, method=run.method,
                             time_step=run.time_step, seed=int(run.members.attrs.get("seed", -1)),
                             members=summary.size, directory=staging.target, command=command)
    manifest["streamed"] = {
        "statistics": summary.statistics, "quantile_method": summary.quantile_method,
        "kpi_times": [float(t) for t in summary.kpi_times], "chunk_size": summary.chunk_size,
        "chunks": summary.chunks, "workers": summary.workers, "ran_on": run.scheduler,
        "seconds": round(summary.seconds, 3), "failed_members": len(summary.failures),
        "files": {"statistics": STATS, "members": MEMBERS,
                  "trajectories": TRAJECTORIES if summary.trajectories else None}}
    return staging.write(None, for_files(kpis, time_column(run.members)), manifest,
                         inputs=run.scenario_files,
                         datasets={STATS: run.statistics, MEMBERS: run.members})
