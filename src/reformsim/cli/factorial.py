"""``reformsim factorial`` and ``reformsim robustness``: studies of a set of roadmaps."""

from __future__ import annotations

from pathlib import Path

import click

from .analysis_options import refuse_existing, save
from .app import main
from .options import FORMATS


def _dataset(source: Path, model: Path | None, integrator: str):  # noqa: ANN202
    """(Dataset, manifest-like dict, ScenarioSet or None) of a run directory or scenario file."""
    if source.is_dir():
        from ..report.rundir import read_run

        dataset, manifest = read_run(source)
        return dataset, manifest, None
    from ..analysis.studies import simulate_files
    from ..report.rundir import sha256

    dataset, scenarios = simulate_files([source], model, integrator=integrator)
    model_path = Path(model) if model else scenarios.model
    manifest = {"model": {"path": str(model_path)}, "seed": int(dataset.attrs.get("seed", -1)),
                "scenario_files": [{"path": str(source.resolve()), "sha256": sha256(source)}]}
    return dataset, manifest, scenarios


def _common(f):  # noqa: ANN001, ANN202
    for option in reversed((
        click.argument("source", type=click.Path(exists=True, path_type=Path)),
        click.option("--var", "variables", multiple=True, metavar="NAME",
                     help="Output to analyse (repeat; default: the file's outputs)."),
        click.option("--at", "times", multiple=True, metavar="TIME|START:END",
                     help="A time, or a period for its mean (default: the final time)."),
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
def factorial(source: Path, variables: tuple[str, ...], times: tuple[str, ...],
              model: Path | None, integrator: str, fmt: str, output: Path | None,
              quiet: bool) -> None:
    """Main effects and two-way interactions of a factorial scenario file's packages.

    SOURCE is the scenario file (run in memory) or the run directory of one. Also shows
    whether all packages together beat the sum of each alone (synergy).
    """
    from ..analysis.studies import factorial as study
    from ..report import analysis_figures as figures
    from ..report.analysis_output import format_records
    from ..report.analysis_runs import dataset_bundle

    refuse_existing(output)
    dataset, manifest, scenarios = _dataset(source, model, integrator)
    if scenarios is None:
        from ..scenarios.loading import load_scenarios

        files = [Path(f["path"]) for f in manifest.get("scenario_files", [])]
        scenarios = load_scenarios(files) if files else None
    chosen = list(variables) or list((scenarios.outputs if scenarios else None) or [])
    result = study(dataset, var=chosen or _refuse(), at=list(times) or None,
                   factorial=scenarios.factorial if scenarios else None)
    click.echo(format_records(result.effects, fmt), nl=False)
    if fmt != "json":
        click.echo("\nAll packages together against the sum of each alone:")
        click.echo(format_records(result.whole, fmt), nl=False)
    drawn = {f"factorial-{figures.slug(o)}-{figures.slug(str(t))}.png":
             figures.plot_factorial(result.effects, o, t)
             for o, t in figures.first_key(result.effects)}
    bundle = dataset_bundle("factorial", dataset, result.effects, drawn, manifest,
                            {"source": str(source.resolve())})
    bundle["files"]["whole.csv"] = result.whole.to_csv(index=False)
    save(bundle, output, "factorial", quiet, integrator)


def _refuse() -> list[str]:
    raise click.ClickException("name the outputs to analyse with --var")


@main.command()
@_common
@click.option("--maximize/--minimize", default=True, show_default=True,
              help="Whether more of the output is better.")
@click.option("--threshold", type=float, help="Also report the share of futures at or beyond it.")
def robustness(source: Path, variables: tuple[str, ...], times: tuple[str, ...],
               model: Path | None, integrator: str, fmt: str, output: Path | None,
               quiet: bool, maximize: bool, threshold: float | None) -> None:
    """Regret of each roadmap against the best one in each sampled future, and the share
    of futures meeting a threshold (robust decision making).

    SOURCE is a scenario file with an uncertainty section (run in memory) or a run
    directory.
    """
    from ..analysis.studies import robustness as study
    from ..report import analysis_figures as figures
    from ..report.analysis_output import format_records
    from ..report.analysis_runs import dataset_bundle

    refuse_existing(output)
    if not variables:
        raise click.ClickException("name the output to compare roadmaps on with --var")
    dataset, manifest, _ = _dataset(source, model, integrator)
    table = study(dataset, var=variables, at=list(times) or None, maximize=maximize,
                  threshold=threshold)
    click.echo(format_records(table, fmt), nl=False)
    drawn = {f"regret-{figures.slug(o)}-{figures.slug(str(t))}.png":
             figures.plot_regret(table, o, t) for o, t in figures.first_key(table)}
    bundle = dataset_bundle("robustness", dataset, table, drawn, manifest,
                            {"source": str(source.resolve()), "maximize": maximize,
                             "threshold": threshold})
    save(bundle, output, "robustness", quiet, integrator)
