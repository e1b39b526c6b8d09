"""What the commands share: parameter types, the formats and kinds they offer, progress,
and how a variable named on the command line is found in a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

ExistingFile = click.Path(exists=True, dir_okay=False, path_type=Path)

# The registries live in report.tables.FORMATS and report.figures.KINDS; they are spelled out
# here so that --help does not import pandas and matplotlib (tests/test_cli_runs.py checks
# they agree).
FORMATS = ("table", "csv", "json", "markdown")
KINDS = ("lines", "fan", "grid")
BIG_ENSEMBLE = 20_000  # members from which a progress bar is worth showing

allow_outside_data = click.option(
    "--allow-outside-data", is_flag=True,
    help="Let scenario files read CSV series outside their own folder (only for files you "
         "trust).")


class Progress:
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


def table_text(df: Any, fmt: str) -> str:
    """``format_table(df, fmt)`` for a terminal: control characters stripped from every text
    cell first (so that columns line up), and from what is left around them."""
    from ..errors import printable
    from ..report.tables import format_table

    text = {c: df[c].map(lambda v: printable(v) if isinstance(v, str) else v)
            for c in df.columns if df[c].dtype == object or str(df[c].dtype).startswith("str")}
    return printable(format_table(df.assign(**text), fmt))


def simulated(simulate: Any, *args: Any, **kwargs: Any) -> Any:
    """``simulate(*args, **kwargs)`` (report.runs.simulate_scenarios), its dataset's failed
    members summarised in one warning line instead of the engine's own warning."""
    import warnings

    from ..errors import printable
    from ..report.kpis import failure_note

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*members went NaN/inf")
        result = simulate(*args, **kwargs)
    note = failure_note(result.dataset)
    if note:
        click.echo(printable(f"warning: {note}"), err=True)
    return result


def run_variables(dataset: Any, wanted: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    from ..errors import ReformsimError, did_you_mean
    from ..model.ir import fold_name
    from ..report.kpis import model_variables
    from ..report.runs import with_cells

    known = {fold_name(v): v for v in model_variables(dataset)}
    chosen = []
    for name in with_cells(wanted or default, list(known.values())):
        if fold_name(name) not in known:
            hint = did_you_mean(name, known.values())
            raise ReformsimError(f"{name!r} is not in this run" + (f"; {hint}" if hint else "")
                                 + "\n  hint: the run holds " + ", ".join(known.values()))
        chosen.append(known[fold_name(name)])
    return tuple(chosen)
