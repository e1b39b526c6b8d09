"""``reformsim examples DIR``: the shipped models and scenario files, copied out to work on."""

from __future__ import annotations

from pathlib import Path

import click

from .app import main


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def examples(directory: Path) -> None:
    """Copy the shipped models and scenario files into DIRECTORY (models/, scenarios/).

    Every command of the README and docs/ runs from there as written, e.g.
    'reformsim run models/examples/service_backlog.yaml'. Nothing is overwritten.
    """
    from ..report.runs import copy_examples

    copied = copy_examples(directory)
    click.echo(f"{len(copied)} files copied into {directory}:")
    for path in copied:
        click.echo(f"  {path.relative_to(directory).as_posix()}")
