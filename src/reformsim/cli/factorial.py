"""``reformsim factorial`` and ``reformsim robustness``: studies of a set of roadmaps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .analysis_options import at_option, items, quiet_too, reserve, save, var_option
from .app import main
from .options import FORMATS


@dataclass(frozen=True)
class _Source:
    """A study's run: its Dataset, the model and scenario files it came from, its seed and
    time step, and the scenario files read (None for a run directory whose files are gone)."""

    dataset: Any
    model: Path | None
    files: list[Path]
    scenarios: Any
    seed: int | None
    time_step: float


def _source(source: Path, model: Path | None, integrator: str) -> _Source:
    """A run directory read back, or a scenario file simulated in memory."""
    from ..scenarios.loading import load_scenarios

    if source.is_dir():
        from ..report.rundir import read_run, run_inputs

        dataset, manifest = read_run(source)
        model_path, files = run_inputs(source, manifest)
        return _Source(dataset, model_path, files, load_scenarios(files) if files else None,
                       manifest.get("seed"), float(manifest.get("time_step", math.nan)))
    from ..analysis.studies import simulate_files

    dataset, scenarios = simulate_files([source], model, integrator=integrator)
    return _Source(dataset, Path(model) if model else scenarios.model, [source], scenarios,
                   int(dataset.attrs.get("seed", -1)), float(dataset.attrs["time_step"]))


def _bundle(command: str, found: _Source, table: Any, drawn: dict[str, Any],
            analysis: dict[str, Any]) -> dict[str, Any]:
    from ..report.analysis_runs import dataset_bundle

    return dataset_bundle(command, found.dataset, table, drawn, analysis, model=found.model,
                          scenario_files=found.files, seed=found.seed,
                          time_step=found.time_step)


def _common(f):  # noqa: ANN001, ANN202
    for option in reversed((
        click.argument("source", type=click.Path(exists=True, path_type=Path)),
        var_option("Output to analyse (default: the file's outputs)."),
        at_option("A time, or a period START:END for its mean (default: the final time)."),
        click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Model for the scenario file (default: the one it names)."),
        click.option("--integrator", default="euler", show_default=True),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                     show_default=True),
        click.option("-o", "--output", type=click.Path(path_type=Path),
                     help="Run directory to write (default: runs/<command>-<date>-<time>)."),
        click.option("-q", "--quiet", is_flag=True, help="Print only the result."),
    )):
        f = option(f)
    return f


@main.command()
@_common
def factorial(source: Path, variables: tuple[tuple[str, ...], ...],
              times: tuple[tuple[str, ...], ...], model: Path | None, integrator: str,
              fmt: str, output: Path | None, quiet: bool) -> None:
    """Main effects and two-way interactions of a factorial scenario file's packages.

    SOURCE is the scenario file (run in memory) or the run directory of one. Also shows
    whether all packages together beat the sum of each alone (synergy).
    """
    from ..analysis.studies import factorial as study
    from ..report import analysis_figures as figures
    from ..report.analysis_output import format_records
    from ..report.effects import package_labels
    from ..report.labels import when

    quiet = quiet_too(quiet)
    with reserve(output, "factorial") as staging:
        found = _source(source, model, integrator)
        scenarios = found.scenarios
        chosen = list(items(variables)) or list((scenarios.outputs if scenarios else None)
                                                or [])
        result = study(found.dataset, var=chosen or _refuse(), at=list(items(times)) or None,
                       factorial=scenarios.factorial if scenarios else None)
        click.echo(format_records(result.effects, fmt), nl=False)
        if fmt != "json":
            click.echo("\nAll packages together against the sum of each alone:")
            click.echo(format_records(result.whole, fmt), nl=False)
        labels = package_labels(found.dataset, scenarios.factorial)
        drawn = {f"factorial-{figures.slug(o)}-{figures.slug(str(t))}.png":
                 figures.plot_factorial(result.effects, o, t, labels, result.whole,
                                        when(found.dataset, t) if not isinstance(t, list)
                                        else "")
                 for o, t in figures.first_key(result.effects)}
        bundle = _bundle("factorial", found, result.effects, drawn,
                         {"source": str(source.resolve())})
        bundle["files"]["whole.csv"] = result.whole.to_csv(index=False)
        save(bundle, staging, quiet, integrator)


def _refuse() -> list[str]:
    raise click.ClickException("name the outputs to analyse with --var")


@main.command()
@_common
@click.option("--maximize/--minimize", default=True, show_default=True,
              help="Whether more of the output is better.")
@click.option("--threshold", type=float, help="Also report the share of futures at or beyond it.")
def robustness(source: Path, variables: tuple[tuple[str, ...], ...],
               times: tuple[tuple[str, ...], ...], model: Path | None, integrator: str,
               fmt: str, output: Path | None, quiet: bool, maximize: bool,
               threshold: float | None) -> None:
    """Regret of each roadmap against the best one in each sampled future, and the share
    of futures meeting a threshold (robust decision making).

    SOURCE is a scenario file with an uncertainty section (run in memory) or a run
    directory.
    """
    from ..analysis.studies import robustness as study
    from ..report import analysis_figures as figures
    from ..report.analysis_output import format_records

    if not variables:
        raise click.ClickException("name the output to compare roadmaps on with --var")
    quiet = quiet_too(quiet)
    with reserve(output, "robustness") as staging:
        found = _source(source, model, integrator)
        table = study(found.dataset, var=items(variables), at=list(items(times)) or None,
                      maximize=maximize, threshold=threshold)
        click.echo(format_records(table, fmt), nl=False)
        drawn = {f"regret-{figures.slug(o)}-{figures.slug(str(t))}.png":
                 figures.plot_regret(table, o, t) for o, t in figures.first_key(table)}
        bundle = _bundle("robustness", found, table, drawn,
                         {"source": str(source.resolve()), "maximize": maximize,
                          "threshold": threshold})
        save(bundle, staging, quiet, integrator)
