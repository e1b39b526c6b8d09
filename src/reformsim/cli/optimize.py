"""``reformsim optimize``: the best lever values under bounds and linear constraints."""

from __future__ import annotations

from pathlib import Path

import click

from .analysis_options import (
    base_options,
    one,
    output_options,
    quiet_too,
    ranges,
    reserve,
    save,
    source_files,
)
from .app import main
from .options import CommaList, Progress


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-l", "--lever", "levers", multiple=True, required=True, metavar="NAME=LO:HI",
              help="A constant to choose between LO and HI (repeat for several).")
@click.option("--var", "variable", required=True, multiple=True, type=CommaList(str, "NAME"),
              help="The objective's variable (one).")
@click.option("--at", "time", multiple=True, type=CommaList(str, "TIME|START:END"),
              help="The objective at a time, or its mean over a period START:END (one; "
                   "default: the final time).")
@click.option("--maximize/--minimize", default=True, show_default=True)
@click.option("-c", "--constraint", "constraints", multiple=True, metavar="TEXT",
              help='A linear constraint on levers, e.g. "ICT share + Leadership share <= 1".')
@click.option("--robust", default="mean", show_default=True, metavar="mean|pNN",
              help="Over the scenario file's uncertainty samples: their mean, or a percentile "
                   "(p10: the 10th).")
@click.option("--samples", type=click.IntRange(min=1),
              help="Uncertainty samples per candidate (default: the file's).")
@click.option("--certain", is_flag=True, help="Ignore the file's uncertainty section.")
@click.option("--population", type=click.IntRange(min=4), default=15, show_default=True,
              help="Candidates per generation, per lever.")
@click.option("--generations", type=click.IntRange(min=1), default=200, show_default=True,
              help="Most generations to run.")
@base_options
@output_options
def optimize(source: Path, levers: tuple[str, ...], variable: tuple[tuple[str, ...], ...],
             time: tuple[tuple[str, ...], ...],
             maximize: bool, constraints: tuple[str, ...], robust: str, samples: int | None,
             certain: bool, population: int, generations: int, model: Path | None,
             scenario: str | None, integrator: str, seed: int, fmt: str, output: Path | None,
             quiet: bool) -> None:
    """Choose levers to maximise (or minimise) an objective, on a model or a scenario file's
    scenario; each generation of the differential evolution is one simulate call.

    Writes the winner as a scenario file (optimised.yaml) that 'reformsim run' accepts,
    with a convergence plot, to a run directory.
    """
    from ..analysis.studies import optimize as study
    from ..report.analysis_output import format_document
    from ..report.analysis_runs import optimum_bundle

    quiet = quiet_too(quiet)
    objective = one(variable, "--var", "an objective's variable")
    period = one(time, "--at", "an objective's time or period")
    with reserve(output, "optimize") as staging:
        model_path, files = source_files(source, model)
        steps = Progress(quiet, "generations", minimum=1)
        result = study(model_path, ranges(levers, "--lever"), var=objective, at=period,
                       maximize=maximize, constraints=constraints, scenarios=files,
                       scenario=scenario, robust=robust, uncertain=not certain,
                       samples=samples, population=population, generations=generations,
                       seed=seed, integrator=integrator, progress=steps)
        steps.finish()
        bundle = optimum_bundle(result, seed, staging.target)
        notes = [f"objective ({result.robust} of {result.variable} at "
                 f"{result.period.label()}): {result.objective:.6g}",
                 f"evaluations: {result.evaluations} members ({result.candidates} candidates x "
                 f"{result.base.samples} samples) in {len(result.history)} simulate calls",
                 f"stopped: {result.message}"]
        click.echo(format_document(result.document(), [("Levers", bundle["table"])], fmt,
                                   notes), nl=False)
        save(bundle, staging, quiet, integrator)
