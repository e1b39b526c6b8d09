"""What the decision-analysis commands share: the base (a model, or a scenario file and
``--scenario``), ``--var``/``--at``/``--seed``/``--integrator``/``--format``, ranges given as
``NAME=LO:HI``, a progress bar, and writing the study's run directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .options import FORMATS

SCENARIO_SUFFIXES = (".yaml", ".yml", ".cin")


def base_options(f: Callable) -> Callable:
    """SOURCE's companions: --model, --scenario, --integrator."""
    for option in reversed((
        click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Model for a scenario file (default: the one it names)."),
        click.option("--scenario", help="Scenario of the file the study starts from "
                     "(default: its baseline, else its first)."),
        click.option("--integrator", default="euler", show_default=True,
                     help="euler, rk4, or a scipy solve_ivp method (RK45, LSODA, ...)."),
    )):
        f = option(f)
    return f


def output_options(f: Callable) -> Callable:
    """--seed, --format, -o, -q."""
    for option in reversed((
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of the design, optimiser or sampler."),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                     show_default=True),
        click.option("-o", "--output", type=click.Path(path_type=Path),
                     help="Run directory to write (default: runs/<command>-<date>-<time>)."),
        click.option("-q", "--quiet", is_flag=True, help="Print only the result."),
    )):
        f = option(f)
    return f


def source_files(source: Path, model: Path | None) -> tuple[Path, list[Path]]:
    """(model, scenario files) of a study's SOURCE: a model file, or a scenario file."""
    if source.suffix.lower() not in SCENARIO_SUFFIXES:
        return source, []
    if model is not None:
        return model, [source]
    from ..scenarios.loading import load_scenarios

    named = load_scenarios([source]).model
    if named is None:
        raise click.ClickException(f"{source.name}: the file names no model\n"
                                   "  hint: pass --model MODEL")
    return named, [source]


def ranges(values: tuple[str, ...], flag: str) -> dict[str, tuple[float, float]]:
    from ..analysis.requests import parse_range

    found = {}
    for text in values:
        name, lo, hi = parse_range(text, flag)
        found[name] = (lo, hi)
    return found


def weights(values: tuple[str, ...]) -> dict[str, float]:
    found = {}
    for text in values:
        name, sep, value = text.rpartition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            found[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"{text!r}: expected NAME=WEIGHT",
                                     param_hint="'--weight'") from None
    return found


class Steps:
    """A progress bar on stderr counting generations, steps or members."""

    def __init__(self, quiet: bool, label: str, minimum: int = 1) -> None:
        self.quiet, self.label, self.minimum = quiet, label, minimum
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or total < self.minimum:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label,
                                         file=click.get_text_stream("stderr"))
        self.bar.update(max(0, min(done, total) - self.done))
        self.done = min(done, total)
        if done >= total:
            self.finish()

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None


def save(bundle: dict[str, Any], output: Path | None, command: str, quiet: bool,
         method: str) -> Path:
    """Write the study's run directory and say where."""
    from ..report.analysis_output import write_study
    from ..report.runs import default_directory

    target = output or default_directory(Path("runs"), command)
    keep = {k: bundle[k] for k in ("model", "scenario_files", "dataset", "table", "figures",
                                   "files", "analysis", "seed", "time_step")}
    directory = write_study(target, method=method, **keep)
    if not quiet:
        click.echo(f"run directory: {directory}", err=True)
    return directory


def refuse_existing(output: Path | None) -> None:
    if output is not None and output.exists():
        raise click.ClickException(f"{output}: already exists; reformsim never overwrites a run"
                                   "\n  hint: choose another output directory with -o")
