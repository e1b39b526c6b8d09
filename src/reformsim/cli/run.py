"""``reformsim run``: scenario files in, a run directory and a KPI table out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from .app import main
from .options import (
    FORMATS,
    ExistingFile,
    Progress,
    allow_outside_data,
    simulated,
    table_text,
)


@main.command()
@click.argument("scenario_files", nargs=-1, type=ExistingFile)
@click.option("--model", type=ExistingFile, help="Model to run (default: the one each file names).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Run directory to write (default: runs/<model>-<date>-<time>); when the files "
                   "name several models, a directory holding one run per model.")
@click.option("--method", default="euler", show_default=True,
              help="euler, rk4, or a scipy solve_ivp method (RK45, LSODA, ...).")
@click.option("--samples", type=click.IntRange(min=1), help="Override the files' sample count.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1),
              help="Override the files' random seed (0 to 2^63-1).")
@click.option("--at", "years", multiple=True, type=float, metavar="TIME",
              help="Times for the KPI table (default: halfway and the end).")
@click.option("--baseline", help="Scenario the deltas are taken against.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Print only the table.")
@click.option("-v", "--verbose", is_flag=True, help="Also print what takes how long.")
@allow_outside_data
@click.pass_context
def run(ctx: click.Context, scenario_files: tuple[Path, ...], model: Path | None,
        output: Path | None, method: str, samples: int | None, seed: int | None,
        years: tuple[float, ...], baseline: str | None, fmt: str, quiet: bool,
        verbose: bool, allow_outside_data: bool) -> None:
    """Run scenario files (default: each shipped one) and write a run directory.

    Files naming the same model run together: every scenario and sample in one
    vectorised pass. A run directory holds results.nc, kpis.csv, manifest.json,
    scenarios/ (copies of the files) and figures/; it is reserved before anything
    is simulated, so an output that cannot be written fails at once.
    """
    from contextlib import ExitStack

    from ..report.kpis import kpi_table
    from ..report.rundir import prepare
    from ..report.runs import default_directory, default_years, simulate_scenarios, write

    quiet = quiet or ctx.obj.get("quiet", False)
    verbose = (verbose or ctx.obj.get("verbose", False)) and not quiet
    if output is not None and output.exists():  # say so before the work, not after
        raise click.ClickException(f"{output}: already exists; reformsim never overwrites a run"
                                   "\n  hint: choose another output directory with -o")
    jobs = _jobs(list(scenario_files), model, allow_outside_data)
    models: dict[Path, Any] = {}  # each model is read and compiled once
    with ExitStack() as stack:
        # every run directory is reserved (and checked writable) before anything is simulated;
        # with several runs, -o DIR holds one run directory per run: DIR/<name>
        stagings = [stack.enter_context(prepare(
            output if len(jobs) == 1 and output is not None else
            output / name if output is not None else default_directory(Path("runs"), name)))
            for name, _, _ in jobs]
        for (name, model_path, group), staging in zip(jobs, stagings):
            if not quiet:
                click.echo(f"running {', '.join(p.name for p in group)} on {model_path.name}",
                           err=True)
            started = time.perf_counter()
            result = simulated(simulate_scenarios, model_path, group, method=method,
                               samples=samples, seed=seed, progress=Progress(quiet),
                               models=models, allow_outside_data=allow_outside_data)
            finished = time.perf_counter()
            kpis = kpi_table(result.dataset, result.variables,
                             list(years) or default_years(result.dataset), baseline)
            directory = write(result, staging, kpis, int(result.dataset.attrs.get("seed", -1)),
                              ctx.meta.get("argv"))
            if verbose:
                members = result.dataset.sizes["scenario"] * result.dataset.sizes["sample"]
                click.echo(f"read, compiled and simulated {members} members in "
                           f"{finished - started:.2f} s; tables, figures and files in "
                           f"{time.perf_counter() - finished:.2f} s", err=True)
            click.echo(table_text(kpis, fmt))
            if staging.moved and output is not None:  # a default name simply takes the next
                click.echo(f"warning: {staging.target} appeared during the run; the run was "
                           f"written beside it, to {directory}", err=True)
            if not quiet:
                click.echo(f"run directory: {directory}", err=True)


def _jobs(files: list[Path], model: Path | None,
          allow_outside_data: bool = False) -> list[tuple[str, Path, list[Path]]]:
    """(name, model, files) of each run: the files given, one run per model they name; or,
    with none given, each shipped file as a run of its own."""
    from ..report.runs import group_by_model, shipped_scenarios

    if files:
        return [(m.stem, m, group) for m, group in
                group_by_model(files, model, allow_outside_data=allow_outside_data).items()]
    shipped = shipped_scenarios()
    if not shipped:
        raise click.ClickException("no scenario files given, and none are shipped")
    return [(path.stem, m, group) for path in shipped
            for m, group in group_by_model([path], model).items()]
