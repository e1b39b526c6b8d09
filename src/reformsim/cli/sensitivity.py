"""``reformsim sensitivity``: which parameters matter (Sobol, Morris, FAST through SALib),
or, for a run directory, its sampled parameters ranked by rank correlation."""

from __future__ import annotations

from pathlib import Path

import click

from .analysis_options import (
    at_option,
    base_options,
    items,
    output_options,
    quiet_too,
    ranges,
    reserve,
    save,
    var_option,
)
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
@var_option("Output to explain.", required=True)
@at_option("A time, or a period START:END for its mean (default: the final time).")
@click.option("--method", type=click.Choice(["sobol", "morris", "fast"]), default="sobol",
              show_default=True)
@click.option("--samples", type=click.IntRange(min=2), metavar="N",
              help="Base sample size: Sobol N(D+2) members (a power of two, default 1024), "
                   "Morris N trajectories (64), FAST N per parameter (1024).")
@click.option("--second-order", is_flag=True, help="Sobol only: also pairwise indices S2.")
@base_options
@output_options
def sensitivity(source: Path, params: tuple[str, ...], uncertain: bool, levers: bool,
                variables: tuple[tuple[str, ...], ...], times: tuple[tuple[str, ...], ...],
                method: str,
                samples: int | None, second_order: bool, model: Path | None,
                scenario: str | None, integrator: str, seed: int, fmt: str,
                output: Path | None, quiet: bool) -> None:
    """Global sensitivity of outputs to parameters, on a model or a scenario file's scenario.

    SOURCE is a model, a scenario file (the study starts from --scenario), or a run
    directory, whose sampled parameters are then ranked by Spearman's rank correlation
    with each output, without rerunning. Writes the indices, bar charts, indices over
    time and a tornado chart of one-at-a-time swings to a run directory.
    """
    quiet = quiet_too(quiet)
    with reserve(output, "ranking" if source.is_dir() else "sensitivity") as staging:
        if source.is_dir():
            _rank(source, items(variables), items(times), fmt, staging, quiet)
            return
        from ..analysis.studies import sensitivity as study
        from ..report.analysis_output import format_records
        from ..report.analysis_runs import sensitivity_bundle
        from .analysis_options import source_files

        model_path, files = source_files(source, model)
        result = study(model_path, ranges(params, "--param"), var=items(variables),
                       at=items(times) or None, scenarios=files, scenario=scenario,
                       method=method, samples=samples, seed=seed, second_order=second_order,
                       uncertain=uncertain, levers=levers, integrator=integrator,
                       progress=Progress(quiet))
        click.echo(format_records(result.indices, fmt), nl=False)
        if not quiet:
            click.echo(f"{result.method}: {result.evaluations} members in one simulate call",
                       err=True)
        save(sensitivity_bundle(result, seed), staging, quiet, integrator)


def _rank(run_dir: Path, variables: tuple[str, ...], times: tuple[str, ...], fmt: str,
          staging: object, quiet: bool) -> None:
    from ..analysis.ranking import rank_parameters
    from ..analysis.studies import periods_of
    from ..report import analysis_figures as figures
    from ..report.analysis_output import format_records
    from ..report.analysis_runs import dataset_bundle
    from ..report.rundir import read_run, run_inputs

    dataset, manifest = read_run(run_dir)
    table = rank_parameters(dataset, variables, periods_of(list(times) or None))
    click.echo(format_records(table, fmt), nl=False)
    drawn = {f"ranking-{figures.slug(o)}-{figures.slug(str(t))}.png":
             figures.plot_ranking(table, o, t) for o, t in figures.first_key(table)}
    model, files = run_inputs(run_dir, manifest)
    bundle = dataset_bundle("ranking", dataset, table, drawn, {"source": str(run_dir.resolve())},
                            model=model, scenario_files=files, seed=manifest.get("seed"),
                            time_step=float(manifest.get("time_step", "nan")))
    save(bundle, staging, quiet, dataset.attrs.get("method", "euler"))
