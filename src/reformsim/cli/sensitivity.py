"""``reformsim sensitivity``: which parameters matter (Sobol, Morris, FAST through SALib),
or, for a run directory, its sampled parameters ranked by rank correlation."""

from __future__ import annotations

from pathlib import Path

import click

from .analysis_options import base_options, output_options, ranges, refuse_existing, save
from .app import main
from .options import Progress


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=LO:HI",
              help="A constant to vary uniformly between LO and HI (repeat for several).")
@click.option("--uncertain", is_flag=True,
              help="Also vary the scenario file's 'uncertainty' parameters (their distributions).")
@click.option("--levers", is_flag=True,
              help="Also vary every constant whose units declare a range [LO, HI].")
@click.option("--var", "variables", multiple=True, required=True, metavar="NAME",
              help="Output to explain (repeat for several).")
@click.option("--at", "times", multiple=True, metavar="TIME|START:END",
              help="A time, or a period for its mean (default: the final time).")
@click.option("--method", type=click.Choice(["sobol", "morris", "fast"]), default="sobol",
              show_default=True)
@click.option("--samples", type=click.IntRange(min=2), metavar="N",
              help="Base sample size: Sobol N(D+2) members (a power of two, default 1024), "
                   "Morris N trajectories (64), FAST N per parameter (1024).")
@click.option("--second-order", is_flag=True, help="Sobol only: also pairwise indices S2.")
@base_options
@output_options
def sensitivity(source: Path, params: tuple[str, ...], uncertain: bool, levers: bool,
                variables: tuple[str, ...], times: tuple[str, ...], method: str,
                samples: int | None, second_order: bool, model: Path | None,
                scenario: str | None, integrator: str, seed: int, fmt: str,
                output: Path | None, quiet: bool) -> None:
    """Global sensitivity of outputs to parameters, on a model or a scenario file's scenario.

    SOURCE is a model, a scenario file (the study starts from --scenario), or a run
    directory, whose sampled parameters are then ranked by Spearman's rank correlation
    with each output, without rerunning. Writes the indices, bar charts, indices over
    time and a tornado chart of one-at-a-time swings to a run directory.
    """
    refuse_existing(output)
    if source.is_dir():
        _rank(source, variables, times, fmt, output, quiet)
        return
    from ..analysis.studies import sensitivity as study
    from ..report.analysis_output import format_records
    from ..report.analysis_runs import sensitivity_bundle
    from .analysis_options import source_files

    model_path, files = source_files(source, model)
    result = study(model_path, ranges(params, "--param"), var=variables, at=times or None,
                   scenarios=files, scenario=scenario, method=method, samples=samples,
                   seed=seed, second_order=second_order, uncertain=uncertain, levers=levers,
                   integrator=integrator, progress=Progress(quiet))
    click.echo(format_records(result.indices, fmt), nl=False)
    if not quiet:
        click.echo(f"{result.method}: {result.evaluations} members in one simulate call",
                   err=True)
    save(sensitivity_bundle(result, seed), output, "sensitivity", quiet, integrator)


def _rank(run_dir: Path, variables: tuple[str, ...], times: tuple[str, ...], fmt: str,
          output: Path | None, quiet: bool) -> None:
    from ..analysis.ranking import rank_parameters
    from ..analysis.studies import periods_of
    from ..report import analysis_figures as figures
    from ..report.analysis_output import format_records
    from ..report.analysis_runs import dataset_bundle
    from ..report.rundir import read_run

    dataset, manifest = read_run(run_dir)
    table = rank_parameters(dataset, variables, periods_of(list(times) or None))
    click.echo(format_records(table, fmt), nl=False)
    drawn = {f"ranking-{figures.slug(o)}-{figures.slug(str(t))}.png":
             figures.plot_ranking(table, o, t) for o, t in figures.first_key(table)}
    bundle = dataset_bundle("ranking", dataset, table, drawn, manifest,
                            {"source": str(run_dir.resolve())})
    save(bundle, output, "ranking", quiet, dataset.attrs.get("method", "euler"))
