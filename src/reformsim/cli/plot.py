"""``reformsim plot``: slides of a run directory."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import printable
from .app import main
from .options import KINDS, run_variables, scenarios_option


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("variables", nargs=-1)
@click.option("--kind", type=click.Choice(KINDS), default="lines", show_default=True,
              help="lines: medians; fan: with 50%/90% bands; grid: a panel per scenario and "
                   "variable; ranking: every scenario at one time (--at), for many scenarios.")
@scenarios_option()
@click.option("--from", "start", type=float, metavar="TIME", help="First time shown.")
@click.option("--to", "end", type=float, metavar="TIME", help="Last time shown.")
@click.option("--at", "at", type=float, metavar="TIME",
              help="Time a ranking is taken at (default: the last one shown).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Image to write: .png, .svg or .pdf (default: RUN_DIR/figures/<kind>.png, "
                   "or <kind>-2.png... if that exists). A request that needs several slides "
                   "writes NAME.png, NAME-2.png...")
@click.option("--force", is_flag=True, help="Let -o replace an existing file.")
def plot(run_dir: Path, variables: tuple[str, ...], kind: str,
         scenarios: tuple[str, ...], start: float | None, end: float | None,
         at: float | None, output: Path | None, force: bool) -> None:
    """Slides (16:9) of VARIABLES (default: all) of a run directory: one variable with a
    takeaway, or up to six side by side; more make several slides."""
    if at is not None and kind != "ranking":
        raise click.UsageError("--at is the time of a ranking: use it with --kind ranking "
                               "(--from and --to choose the years of the other kinds)")
    from ..report.figures import check_suffix, pages, save_figure
    from ..report.kpis import model_variables, subset
    from ..report.rundir import FIGURES, read_run

    if output is not None:
        check_suffix(output)                 # before any work
        if output.exists() and not force:
            raise click.ClickException(f"{output}: already exists\n  hint: choose another "
                                       "file, or pass --force to replace it")
    dataset, _ = read_run(run_dir)
    dataset = subset(dataset, scenarios, start, end)
    chosen = run_variables(dataset, variables, tuple(model_variables(dataset)))
    figures = pages(kind, dataset, chosen, **({"at": at} if kind == "ranking" else {}))
    first = output or _unused(run_dir / FIGURES / f"{kind}.png")
    for n, figure in enumerate(figures, start=1):
        target = first if n == 1 else _unused(first.with_name(f"{first.stem}-{n}{first.suffix}"))
        click.echo(printable(save_figure(figure, target)))


def _unused(path: Path) -> Path:
    """``path``, or ``name-2.png``, ``name-3.png``... : the first that does not exist yet."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
