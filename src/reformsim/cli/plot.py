"""``reformsim plot``: figures of a run directory."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import printable
from .app import main
from .options import KINDS, run_variables


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("variables", nargs=-1)
@click.option("--kind", type=click.Choice(KINDS), default="lines", show_default=True,
              help="lines: one panel per variable; fan: with 50%/90% bands; grid: a panel per "
                   "scenario and variable.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Image to write, .png or .svg (default: RUN_DIR/figures/<kind>.png, or "
                   "<kind>-2.png... if that exists).")
@click.option("--force", is_flag=True, help="Let -o replace an existing file.")
def plot(run_dir: Path, variables: tuple[str, ...], kind: str, output: Path | None,
         force: bool) -> None:
    """Plot VARIABLES (default: all) of a run directory."""
    from ..report.figures import draw, save_figure
    from ..report.kpis import model_variables
    from ..report.rundir import FIGURES, read_run

    if output is not None and output.exists() and not force:  # before reading and drawing
        raise click.ClickException(f"{output}: already exists\n  hint: choose another file, "
                                   "or pass --force to replace it")
    dataset, _ = read_run(run_dir)
    chosen = run_variables(dataset, variables, tuple(model_variables(dataset)))
    figure = draw(kind, dataset, chosen)
    target = output or _unused(run_dir / FIGURES / f"{kind}.png")
    click.echo(printable(save_figure(figure, target)))


def _unused(path: Path) -> Path:
    """``path``, or ``name-2.png``, ``name-3.png``... : the first that does not exist yet."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
