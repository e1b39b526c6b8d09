"""``reformsim report``: a run directory as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from .app import main
from .options import run_variables


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("variables", nargs=-1)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: RUN_DIR/report.html, which must not exist yet).")
@click.option("--at", "years", multiple=True, type=float, metavar="TIME",
              help="Times for the KPI tables (default: halfway and the end).")
@click.option("--baseline", help="Scenario the changes are taken against (default: the run's).")
@click.option("--title", help="Title of the page (default: the model and scenario files).")
def report(run_dir: Path, variables: tuple[str, ...], output: Path | None,
           years: tuple[float, ...], baseline: str | None, title: str | None) -> None:
    """Write an HTML report of RUN_DIR: what was run, KPI tables and interactive charts of
    VARIABLES (default: all the run holds).

    The page embeds its charts' JavaScript, so it opens without a network connection and
    can be sent as one file.
    """
    from ..report.html import REPORT, write_report
    from ..report.kpis import kpi_table, model_variables
    from ..report.rundir import read_run
    from ..report.runs import default_years

    target = output or run_dir / REPORT
    if output is None and target.exists():
        raise click.ClickException(f"{target}: already exists"
                                   "\n  hint: write the report elsewhere with -o FILE.html")
    dataset, manifest = read_run(run_dir)
    chosen = run_variables(dataset, variables, tuple(model_variables(dataset)))
    kpis = kpi_table(dataset, chosen, list(years) or default_years(dataset), baseline)
    written = write_report(target, dataset, manifest, kpis, chosen, title)
    click.echo(f"{written} ({written.stat().st_size / 1e6:.1f} MB)")
