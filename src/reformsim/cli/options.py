"""What the commands share: parameter types, the formats and kinds they offer, progress,
and how a variable named on the command line is found in a run.

Conventions every command follows: lists take commas and may also be repeated
(``--at 30,60`` is ``--at 30 --at 60``); ``-v`` is ``--verbose`` everywhere and variables are
chosen with ``--var`` (no short form); a scenario is named by its key or its label.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

ExistingFile = click.Path(exists=True, dir_okay=False, path_type=Path)

# The registries live in report.tables.FORMATS, report.figures.KINDS and
# report.runs.FIGURE_FORMATS; they are spelled out here so that --help does not import pandas
# and matplotlib (tests/test_cli_runs.py checks they agree).
FORMATS = ("table", "csv", "json", "markdown")
KINDS = ("lines", "fan", "grid", "ranking")
FIGURE_FORMATS = ("png", "svg", "pdf")
BIG_ENSEMBLE = 20_000  # members from which a progress bar is worth showing

allow_outside_data = click.option(
    "--allow-outside-data", is_flag=True,
    help="Let scenario files read CSV series outside their own folder (only for files you "
         "trust).")


class Progress:
    """A progress callback ``(done, total)``: a bar on stderr once ``total`` reaches
    ``minimum`` (simulate()'s members of big ensembles; an optimiser's generations, MCMC
    steps), nothing when quiet or small."""

    def __init__(self, quiet: bool, label: str = "simulating", minimum: int = BIG_ENSEMBLE
                 ) -> None:
        self.quiet, self.label, self.minimum = quiet, label, minimum
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or total < self.minimum:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label,
                                         file=sys.stderr)   # click 8.5 deprecates get_text_stream
        self.bar.update(max(0, min(done, total) - self.done))
        self.done = min(done, total)
        if done >= total:
            self.finish()

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None


def table_text(df: Any, fmt: str, **options: Any) -> str:
    """``format_table(df, fmt)`` for a terminal: control characters stripped from every text
    cell first (so that columns line up), and from what is left around them."""
    from ..errors import printable
    from ..report.tables import format_table

    text = {c: df[c].map(lambda v: printable(v) if isinstance(v, str) else v)
            for c in df.columns if df[c].dtype == object or str(df[c].dtype).startswith("str")}
    return printable(format_table(df.assign(**text), fmt, **options))


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


def split_commas(text: str) -> list[str]:
    """``a,b`` -> ``[a, b]``, keeping the commas of an array cell's subscripts
    (``Population[north,young],Trust`` is two items)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char == "[") - (char == "]")
        if char == "," and depth <= 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


class CommaList(click.ParamType):
    """``a,b,c`` as a tuple of stripped texts (of ``item`` when given: float...); commas
    inside an array cell's brackets do not split."""

    name = "list"

    def __init__(self, item: type = str, metavar: str = "NAME") -> None:
        self.item, self.metavar = item, metavar

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[Any, ...]:
        if isinstance(value, tuple):
            return value
        parts = [part.strip() for part in split_commas(str(value))]
        if any(not part for part in parts):
            self.fail(f"{value!r}: an empty item in a comma-separated list", param, ctx)
        try:
            return tuple(self.item(part) for part in parts)
        except ValueError:
            self.fail(f"{value!r}: expected {self.metavar}[,{self.metavar}...]", param, ctx)

    def get_metavar(self, param: Any, ctx: Any = None) -> str:  # click 8.1 and 8.2
        return f"{self.metavar}[,{self.metavar}...]"


def flat(values: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    """The items of a repeated comma-list option, in order, each once."""
    return tuple(dict.fromkeys(item for group in values for item in group))


def at_option(help_text: str) -> Any:
    return click.option("--at", "years", multiple=True, type=CommaList(float, "TIME"),
                        help=help_text + " Commas or repeats: --at 2030,2040.")


def var_option(help_text: str) -> Any:
    return click.option("--var", "variables", multiple=True, type=CommaList(str, "NAME"),
                        help=help_text + " Commas or repeats; an array's name stands for its "
                                         "cells.")


def scenarios_option() -> Any:
    # kept whole here: a label may hold a comma (report.kpis.find_scenarios splits the rest)
    return click.option("--scenarios", "scenarios", multiple=True, metavar="NAME[,NAME...]",
                        help="Only these scenarios, by name or label (commas or repeats).")


def run_variables(dataset: Any, wanted: tuple[str, ...],
                  default: tuple[str, ...]) -> tuple[str, ...]:
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


def parse_target(text: str) -> tuple[str, str, float]:
    """``NAME>=VALUE`` or ``NAME<=VALUE`` as (name, "above" or "below", value)."""
    for op, direction in ((">=", "above"), ("<=", "below")):
        name, sep, value = text.partition(op)
        if sep and name.strip():
            try:
                return name.strip(), direction, float(value)
            except ValueError:
                break
    raise click.BadParameter(f"{text!r}: expected NAME>=VALUE or NAME<=VALUE",
                             param_hint="'--target'")


def sort_options(command: Any) -> Any:
    """``--sort NAME``, ``--ascending`` and ``--all``, shared by ``run`` and ``compare``."""
    command = click.option("--all", "show_all", is_flag=True,
                           help="Print every variable and every scenario (default: what fits "
                                "a screen; with many scenarios, the baseline and the 10 first "
                                "by --sort).")(command)
    command = click.option("--ascending", is_flag=True,
                           help="With --sort: lowest first (for a cost, say).")(command)
    return click.option("--sort", "sort_by", metavar="NAME",
                        help="Order scenarios by this variable's median at the last time shown, "
                             "highest first; the baseline stays first.")(command)
