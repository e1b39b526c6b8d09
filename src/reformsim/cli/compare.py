"""``reformsim compare``: scenarios side by side at chosen times, with deltas and targets."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import printable
from .app import main
from .options import (
    FORMATS,
    ExistingFile,
    allow_outside_data,
    run_variables,
    simulated,
    table_text,
)


@main.command()
@click.argument("sources", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--at", "years", multiple=True, type=float, metavar="TIME",
              help="Times to compare at (default: halfway and the end).")
@click.option("--baseline", help="Scenario the deltas are taken against (default: the run's).")
@click.option("-v", "--var", "variables", multiple=True, metavar="NAME",
              help="Variables to compare (default: the run's).")
@click.option("--target", "targets", multiple=True, metavar="NAME>=VALUE",
              help="Also report when each scenario first reaches a target (>= or <=).")
@click.option("--model", type=ExistingFile,
              help="Model for scenario files (default: the one each file names).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@allow_outside_data
def compare(sources: tuple[Path, ...], years: tuple[float, ...], baseline: str | None,
            variables: tuple[str, ...], targets: tuple[str, ...], model: Path | None,
            fmt: str, allow_outside_data: bool) -> None:
    """Compare scenarios at chosen times: a run directory, or scenario files run in memory."""
    from ..report.kpis import failure_note, kpi_table, model_variables, time_to_target
    from ..report.rundir import read_run
    from ..report.runs import default_years, group_by_model, simulate_scenarios

    directories = [p for p in sources if p.is_dir()]
    if directories and len(sources) > 1:
        raise click.ClickException(f"{directories[0]}: compare reads one run directory at a time "
                                   "(or scenario files, run together)")
    if directories:
        dataset, _ = read_run(sources[0])
        default = tuple(model_variables(dataset))
        if failure_note(dataset):
            click.echo(printable(f"warning: {failure_note(dataset)}"), err=True)
    else:
        groups = group_by_model(list(sources), model, allow_outside_data=allow_outside_data)
        if len(groups) > 1:
            raise click.ClickException("the scenario files name several models; compare them "
                                       "one model at a time")
        (model_path, files), = groups.items()
        result = simulated(simulate_scenarios, model_path, files,
                           allow_outside_data=allow_outside_data)
        dataset, default = result.dataset, result.variables
    chosen = run_variables(dataset, variables, default)
    kpis = kpi_table(dataset, chosen, list(years) or default_years(dataset), baseline)
    click.echo(table_text(kpis, fmt))
    for target in targets:
        name, direction, value = _target(target)
        name = run_variables(dataset, (name,), ())[0]
        sign = ">=" if direction == "above" else "<="
        click.echo(printable(f"\ntime to {name} {sign} {value:g}:"))
        click.echo(table_text(time_to_target(dataset, name, value, direction), fmt))


def _target(text: str) -> tuple[str, str, float]:
    for op, direction in ((">=", "above"), ("<=", "below")):
        name, sep, value = text.partition(op)
        if sep:
            try:
                return name.strip(), direction, float(value)
            except ValueError:
                break
    raise click.BadParameter(f"{text!r}: expected NAME>=VALUE or NAME<=VALUE",
                             param_hint="'--target'")
