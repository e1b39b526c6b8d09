"""``reformsim calibrate``: fit constants to data, with intervals and Theil statistics."""

from __future__ import annotations

from pathlib import Path

import click

from .analysis_options import (
    base_options,
    output_options,
    quiet_too,
    ranges,
    reserve,
    save,
    source_files,
    weights,
)
from .app import main
from .options import Progress


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=LO:HI",
              help="A constant to fit within LO and HI (repeat for several).")
@click.option("--initial", "initial", multiple=True, metavar="STOCK=LO:HI",
              help="A stock whose initial value is fitted within LO and HI (repeat).")
@click.option("-w", "--weight", "weight", multiple=True, metavar="SERIES=W",
              help="Weight of a data series in least squares (default 1; 0: a check, "
                   "compared with the fit but not fitted to).")
@click.option("--start", type=float, metavar="TIME",
              help="Start the run at TIME (INITIAL TIME; default: the model's or the file's).")
@click.option("--objective", type=click.Choice(["wls", "gaussian"]), default="wls",
              show_default=True, help="Weighted least squares, or a Gaussian likelihood with "
              "one error scale per series.")
@click.option("--intervals", type=click.Choice(["mcmc", "wald"]), default="mcmc",
              show_default=True, help="95% intervals: emcee posterior percentiles, or the "
              "linearised covariance.")
@click.option("--steps", type=click.IntRange(min=50), default=1000, show_default=True,
              help="MCMC steps (a third is burn-in).")
@base_options
@output_options
def calibrate(source: Path, data: Path, params: tuple[str, ...], initial: tuple[str, ...],
              weight: tuple[str, ...], start: float | None, objective: str, intervals: str,
              steps: int, model: Path | None,
              scenario: str | None, integrator: str, seed: int, fmt: str,
              output: Path | None, quiet: bool) -> None:
    """Fit constants and stocks' initial values of SOURCE (a model, or a scenario file's
    scenario) to DATA.

    DATA is a CSV or Excel file: a time column and columns named like model variables,
    gaps left empty (a CSV may open with '#' comment lines). Writes the fitted values as
    fitted.yaml (and the constants as fitted.cin), with a data-versus-fit plot, to a run
    directory.
    """
    from ..analysis.studies import calibrate as study
    from ..report.analysis_output import format_document
    from ..report.analysis_runs import calibration_bundle, theil_table

    quiet = quiet_too(quiet)
    with reserve(output, "calibrate") as staging:
        model_path, files = source_files(source, model)
        bar = Progress(quiet, "MCMC steps", minimum=1)
        result = study(model_path, data, ranges(params, "--param"),
                       initial=ranges(initial, "--initial"), weights=weights(weight),
                       objective=objective, intervals=intervals, steps=steps, scenarios=files,
                       scenario=scenario, start=start, seed=seed, integrator=integrator,
                       progress=bar)
        bar.finish()
        bundle = calibration_bundle(result, seed, staging.target)
        notes = [f"95% intervals: {'emcee posterior' if intervals == 'mcmc' else 'linearised'}; "
                 f"{result.evaluations} members simulated",
                 *([f"checks, not fitted to: {', '.join(result.checks)}"] if result.checks
                   else []),
                 "Theil (Sterman 1984): UM bias, US unequal variation, UC unequal covariation "
                 "(they sum to 1)"]
        click.echo(format_document(result.document(), [("Fitted constants", bundle["table"]),
                                                       ("Fit per series", theil_table(result))],
                                   fmt, notes), nl=False)
        save(bundle, staging, quiet, integrator)
