"""What the decision-analysis commands share: the base (a model, or a scenario file and
``--scenario``), ``--var``/``--at``/``--seed``/``--integrator``/``--format``, ranges given as
``NAME=LO:HI``, a progress bar, and the study's run directory: reserved (and checked writable)
by ``rundir.prepare`` before anything is simulated, written like ``reformsim run``'s."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .options import FORMATS, CommaList, flat

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


def var_option(help_text: str, required: bool = False) -> Callable:
    """``--var NAME[,NAME...]`` (commas or repeats), as in ``run`` and ``compare``."""
    return click.option("--var", "variables", multiple=True, required=required,
                        type=CommaList(str, "NAME"), help=help_text + " Commas or repeats.")


def at_option(help_text: str) -> Callable:
    """``--at TIME|START:END[,...]`` (commas or repeats): times, or periods for a mean."""
    return click.option("--at", "times", multiple=True, type=CommaList(str, "TIME|START:END"),
                        help=help_text + " Commas or repeats: --at 2035,2045.")


def items(values: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """The items of a repeated comma-list option, in order, each once."""
    return flat(values)


def one(values: tuple[tuple[str, ...], ...], flag: str, what: str) -> str | None:
    """The single item of a comma-list option that takes one (an objective's variable)."""
    found = flat(values)
    if len(found) > 1:
        raise click.BadParameter(f"{', '.join(found)}: {what} is one, not {len(found)}",
                                 param_hint=f"'{flag}'")
    return found[0] if found else None


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


def quiet_too(quiet: bool) -> bool:
    """The command's -q, or reformsim's own (``reformsim -q sensitivity ...``)."""
    ctx = click.get_current_context(silent=True)
    return quiet or bool(ctx is not None and (ctx.find_root().obj or {}).get("quiet"))


def reserve(output: Path | None, command: str) -> Any:
    """The study's run directory, reserved and checked writable before anything is simulated
    (``rundir.prepare``: an existing, read-only or full target fails here); a context manager
    that removes the reservation if the study fails."""
    from ..report.rundir import prepare
    from ..report.runs import default_directory

    return prepare(output or default_directory(Path("runs"), command))


def save(bundle: dict[str, Any], staging: Any, quiet: bool, method: str) -> Path:
    """Write the study's run directory into its reservation and say where: results, table,
    manifest (paths relative to the run, the command line, the scenario files copied)."""
    from ..report.analysis_output import write_study

    keep = {k: bundle[k] for k in ("model", "scenario_files", "dataset", "table", "figures",
                                   "files", "analysis", "seed", "time_step")}
    command = click.get_current_context().meta.get("argv")
    directory = write_study(staging, method=method, command=command, **keep)
    if staging.moved:
        click.echo(f"warning: {staging.target} appeared during the study; it was written "
                   f"beside it, to {directory}", err=True)
    if not quiet:
        click.echo(f"run directory: {directory}", err=True)
    return directory
