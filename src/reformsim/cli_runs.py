"""``reformsim run``, ``compare`` and ``plot``: scenario files in, tables and figures out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from .cli import ExistingFile, main

# The registries live in analysis.FORMATS and plots.KINDS; they are spelled out here so that
# --help does not import pandas and matplotlib (tests/test_cli.py checks they agree).
FORMATS = ("table", "csv", "json", "markdown")
KINDS = ("lines", "fan", "grid")
BIG_ENSEMBLE = 20_000  # members from which a progress bar is worth showing


class _Progress:
    """simulate()'s progress callback: a bar on stderr for big ensembles, nothing otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar, self.done = quiet, None, 0

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or total < BIG_ENSEMBLE:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="simulating",
                                         file=click.get_text_stream("stderr"))
        self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.bar.render_finish()


def _variables(dataset: Any, wanted: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    from .analysis import model_variables
    from .errors import ReformsimError, did_you_mean
    from .ir import fold_name

    from .runs import with_cells

    known = {fold_name(v): v for v in model_variables(dataset)}
    chosen = []
    for name in with_cells(wanted or default, list(known.values())):
        if fold_name(name) not in known:
            hint = did_you_mean(name, known.values())
            raise ReformsimError(f"{name!r} is not in this run" + (f"; {hint}" if hint else "")
                                 + "\n  hint: the run holds " + ", ".join(known.values()))
        chosen.append(known[fold_name(name)])
    return tuple(chosen)


@main.command()
@click.argument("scenario_files", nargs=-1, type=ExistingFile)
@click.option("--model", type=ExistingFile, help="Model to run (default: the one each file names).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Run directory to write (default: runs/<model>-<date>-<time>); when the files "
                   "name several models, a directory holding one run per model.")
@click.option("--method", default="euler", show_default=True,
              help="euler, rk4, or a scipy solve_ivp method (RK45, LSODA, ...).")
@click.option("--samples", type=click.IntRange(min=1), help="Override the files' sample count.")
@click.option("--seed", type=int, help="Override the files' random seed.")
@click.option("--at", "years", multiple=True, type=float, metavar="TIME",
              help="Times for the KPI table (default: halfway and the end).")
@click.option("--baseline", help="Scenario the deltas are taken against.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Print only the table.")
@click.option("-v", "--verbose", is_flag=True, help="Also print what takes how long.")
@click.pass_context
def run(ctx: click.Context, scenario_files: tuple[Path, ...], model: Path | None,
        output: Path | None, method: str, samples: int | None, seed: int | None,
        years: tuple[float, ...], baseline: str | None, fmt: str, quiet: bool,
        verbose: bool) -> None:
    """Run scenario files (default: each shipped one) and write a run directory.

    Files naming the same model run together: every scenario and sample in one
    vectorised pass. A run directory holds results.nc, kpis.csv, manifest.json
    and figures/.
    """
    from .analysis import format_table, kpi_table
    from .runs import default_directory, default_years, simulate_scenarios, write

    quiet = quiet or ctx.obj.get("quiet", False)
    verbose = (verbose or ctx.obj.get("verbose", False)) and not quiet
    if output is not None and output.exists():  # say so before the work, not after
        raise click.ClickException(f"{output}: already exists; reformsim never overwrites a run"
                                   "\n  hint: choose another output directory with -o")
    jobs = _jobs(list(scenario_files), model)
    models: dict[Path, Any] = {}  # each model is read and compiled once
    for name, model_path, group in jobs:
        # with several runs, -o DIR holds one run directory per run: DIR/<name>
        target = output if len(jobs) == 1 or output is None else output / name
        if not quiet:
            click.echo(f"running {', '.join(p.name for p in group)} on {model_path.name}",
                       err=True)
        started = time.perf_counter()
        result = simulate_scenarios(model_path, group, method=method, samples=samples, seed=seed,
                                    progress=_Progress(quiet), models=models)
        simulated = time.perf_counter()
        kpis = kpi_table(result.dataset, result.variables,
                         list(years) or default_years(result.dataset), baseline)
        directory = write(result, target or default_directory(Path("runs"), name), kpis,
                          int(result.dataset.attrs.get("seed", -1)))
        if verbose:
            members = result.dataset.sizes["scenario"] * result.dataset.sizes["sample"]
            click.echo(f"read, compiled and simulated {members} members in "
                       f"{simulated - started:.2f} s; tables, figures and files in "
                       f"{time.perf_counter() - simulated:.2f} s", err=True)
        click.echo(format_table(kpis, fmt))
        if not quiet:
            click.echo(f"run directory: {directory}", err=True)


def _jobs(files: list[Path], model: Path | None) -> list[tuple[str, Path, list[Path]]]:
    """(name, model, files) of each run: the files given, one run per model they name; or,
    with none given, each shipped file as a run of its own."""
    from .runs import group_by_model, shipped_scenarios

    if files:
        return [(m.stem, m, group) for m, group in group_by_model(files, model).items()]
    shipped = shipped_scenarios()
    if not shipped:
        raise click.ClickException("no scenario files given, and none are shipped")
    return [(path.stem, m, group) for path in shipped
            for m, group in group_by_model([path], model).items()]


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
def compare(sources: tuple[Path, ...], years: tuple[float, ...], baseline: str | None,
            variables: tuple[str, ...], targets: tuple[str, ...], model: Path | None,
            fmt: str) -> None:
    """Compare scenarios at chosen times: a run directory, or scenario files run in memory."""
    from .analysis import format_table, kpi_table, model_variables, time_to_target
    from .rundir import read_run
    from .runs import default_years, group_by_model, simulate_scenarios

    directories = [p for p in sources if p.is_dir()]
    if directories and len(sources) > 1:
        raise click.ClickException(f"{directories[0]}: compare reads one run directory at a time "
                                   "(or scenario files, run together)")
    if directories:
        dataset, _ = read_run(sources[0])
        default = tuple(model_variables(dataset))
    else:
        groups = group_by_model(list(sources), model)
        if len(groups) > 1:
            raise click.ClickException("the scenario files name several models; compare them "
                                       "one model at a time")
        (model_path, files), = groups.items()
        result = simulate_scenarios(model_path, files)
        dataset, default = result.dataset, result.variables
    chosen = _variables(dataset, variables, default)
    kpis = kpi_table(dataset, chosen, list(years) or default_years(dataset), baseline)
    click.echo(format_table(kpis, fmt))
    for target in targets:
        name, direction, value = _target(target)
        name = _variables(dataset, (name,), ())[0]
        click.echo(f"\ntime to {name} {'>=' if direction == 'above' else '<='} {value:g}:")
        click.echo(format_table(time_to_target(dataset, name, value, direction), fmt))


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


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("variables", nargs=-1)
@click.option("--kind", type=click.Choice(KINDS), default="lines", show_default=True,
              help="lines: one panel per variable; fan: with 50%/90% bands; grid: a panel per "
                   "scenario and variable.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Image to write, .png or .svg (default: RUN_DIR/figures/<kind>.png, or "
                   "<kind>-2.png... if that exists).")
def plot(run_dir: Path, variables: tuple[str, ...], kind: str, output: Path | None) -> None:
    """Plot VARIABLES (default: all) of a run directory."""
    from .analysis import model_variables
    from .plots import draw, save_figure
    from .rundir import FIGURES, read_run

    dataset, _ = read_run(run_dir)
    chosen = _variables(dataset, variables, tuple(model_variables(dataset)))
    figure = draw(kind, dataset, chosen)
    target = output or _unused(run_dir / FIGURES / f"{kind}.png")
    click.echo(save_figure(figure, target))


def _unused(path: Path) -> Path:
    """``path``, or ``name-2.png``, ``name-3.png``... : the first that does not exist yet."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
