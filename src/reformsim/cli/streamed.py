"""``reformsim run --stats``: an ensemble streamed as statistics (see report/streamed.py).

``--workers N`` (or ``auto``: one per core) runs the chunks on a Dask LocalCluster started for
the run, ``--scheduler tcp://host:8786`` on an existing cluster; neither, in this process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import CommaList

stream_options = [
    click.option("--stats", is_flag=True,
                 help="Stream the ensemble chunk by chunk and keep statistics per scenario "
                      "(mean, std, min, max, quantiles per variable and save time) and each "
                      "member's values at the KPI times, not every trajectory: memory stays "
                      "flat in --samples. Writes stats.nc and members.nc; no slides."),
    click.option("--quantiles", type=CommaList(float, "Q"),
                 help="Quantiles kept with --stats (default 0.05,0.25,0.5,0.75,0.95)."),
    click.option("--workers", metavar="N|auto",
                 help="With --stats: run on a Dask LocalCluster of N worker processes (auto: "
                      "one per core). Needs reformsim[cluster]."),
    click.option("--scheduler", metavar="ADDRESS",
                 help="With --stats: run on the Dask cluster whose scheduler is at ADDRESS "
                      "(tcp://host:8786)."),
    click.option("--trajectories", is_flag=True,
                 help="With --stats: also write every member's trajectories to "
                      "trajectories.nc as chunks finish (netCDF-4; can be larger than memory)."),
]


def with_stream_options(command: Any) -> Any:
    for option in reversed(stream_options):
        command = option(command)
    return command


def stream_request(stats: bool, quantiles: tuple[float, ...] | None, workers: str | None,
                   scheduler: str | None, trajectories: bool) -> dict[str, Any] | None:
    """The streaming options checked (None without --stats)."""
    if not stats:
        given = [name for name, value in (("--quantiles", quantiles), ("--workers", workers),
                                          ("--scheduler", scheduler),
                                          ("--trajectories", trajectories)) if value]
        if given:
            raise click.UsageError(f"{given[0]} goes with --stats (a streamed run)")
        return None
    if workers is not None and scheduler is not None:
        raise click.UsageError("give --workers (a cluster started for this run) or --scheduler "
                               "(an existing one), not both")
    bad = [q for q in quantiles or () if not 0 <= q <= 1]
    if bad:
        raise click.BadParameter(f"{bad[0]:g}: a quantile is between 0 and 1 (0.05 for the "
                                 "5th percentile)", param_hint="'--quantiles'")
    count = None
    if workers is not None:
        from ..scale.cluster import default_workers

        text = workers.strip().lower()
        if text == "auto":
            count = default_workers()
        elif text.isdigit() and int(text) >= 1:
            count = int(text)
        else:
            raise click.BadParameter(f"{workers!r}: expected a number of workers (1 or more) or "
                                     "'auto'", param_hint="'--workers'")
    return {"quantiles": None if quantiles is None else tuple(dict.fromkeys(quantiles)),
            "workers": count, "scheduler": scheduler, "trajectories": trajectories}


def stream_one(model_path: Path, group: list[Path], staging: Any, options: dict[str, Any],
               request: dict[str, Any], models: dict[Path, Any], clock: Any,
               quiet: bool) -> tuple[Any, Path, Any]:
    """Stream one run, make its KPI table from every member's KPI values, write its
    directory."""
    from ..report.kpis import kpi_table
    from ..report.streamed import stream_scenarios, write_streamed
    from ..report.tables import rank
    from .options import Progress, simulated

    result = simulated(stream_scenarios, model_path, group, staging.folder,
                       years=list(options["years"]), variables=list(options["variables"]),
                       quantiles=request["quantiles"], trajectories=request["trajectories"],
                       workers=request["workers"], scheduler=request["scheduler"],
                       method=options["method"], samples=options["samples"],
                       seed=options["seed"], progress=Progress(quiet), models=models,
                       stopwatch=clock, loaded=options["loaded"], check=options["check"],
                       allow_outside_data=options["allow_outside_data"])
    with clock.phase("tables"):
        members = result.members
        chosen = [v for v in result.variables if v in members.data_vars]
        kpis = kpi_table(members, chosen, [float(t) for t in members["time"].values],
                         options["baseline"])
        if options["sort_by"]:
            kpis = rank(kpis, options["sort_by"], ascending=options["ascending"])
    with clock.phase("files", "writing the run directory"):
        directory = write_streamed(result, staging, kpis, options["argv"])
    return result, directory, kpis
