"""An Ensemble streamed (scale/): statistics per scenario instead of every trajectory.

Each scenario is a group of consecutive members (member ``s * M + m`` is scenario s under
sample m, as in ``ensemble.run``), sample m uses random stream m in every scenario, so a
streamed run and an in-memory run of the same files give every member the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.results import Results
from ..scale.reductions import Statistics
from .ensemble import Ensemble, to_dataset

if TYPE_CHECKING:
    import xarray as xr

    from ..engine.compiled import CompiledModel
    from ..scale.stream import Summary


@dataclass(frozen=True)
class Streamed:
    """A streamed ensemble, labelled: ``statistics`` over (scenario, statistic, time) and
    ``members`` (each member's values at the KPI times) over (scenario, sample, time), the
    Dataset ``ensemble.to_dataset`` makes, so ``report.kpis`` reads it as it reads a run."""

    statistics: xr.Dataset
    members: xr.Dataset
    summary: Summary


def stream(ensemble: Ensemble, model: CompiledModel, method: str = "euler", *,
           statistics: Statistics | None = Statistics(), kpi_times: Sequence[float] = (),
           kpi_variables: Sequence[str] | None = None, trajectories: str | Path | None = None,
           client: Any = None, workers: int | None = None, chunk_size: int | None = None,
           progress: Callable[[int, int], None] | None = None) -> Streamed:
    """Stream every scenario x sample member (see :func:`reformsim.scale.simulate_stream`)."""
    from ..scale.stream import simulate_stream

    streams = np.tile(np.arange(ensemble.samples), len(ensemble.scenarios))
    summary = simulate_stream(
        model, ensemble.params, ensemble.initial, method, ensemble.outputs,
        lookups=ensemble.lookups or None, streams=streams, seed=max(ensemble.seed, 0),
        group_size=ensemble.samples, statistics=statistics, kpi_times=kpi_times,
        kpi_outputs=kpi_variables, trajectories=trajectories, client=client, workers=workers,
        chunk_size=chunk_size, progress=progress)
    at_kpi_times = Results(values=summary.kpi_values, times=summary.kpi_times,
                           names=summary.kpi_names, units=summary.units, docs=summary.docs,
                           failures=summary.failures, method=method)
    members = to_dataset(ensemble, at_kpi_times, model.source)
    stats = summary.to_xarray("scenario") if statistics is not None else None
    if stats is not None:
        labels = {name: members[name] for name in ("label", "description", "change_start")}
        stats = stats.assign_coords(scenario=members["scenario"].values, **labels)
        stats.attrs.update({k: v for k, v in members.attrs.items() if k != "status_variable"})
    return Streamed(stats, members, summary)
