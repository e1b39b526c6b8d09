"""Commands on a model file: ``check``, ``describe``, ``simulate``, ``verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import printable
from .app import main
from .options import ExistingFile, at_option, flat, var_option


def echo(text: str = "", **kwargs: object) -> None:
    """click.echo of text that may hold a model's names: control characters stripped."""
    click.echo(printable(text), **kwargs)  # type: ignore[arg-type]

SCENARIO_SUFFIXES = (".yaml", ".yml", ".cin")
data_option = click.option(
    "--data", "data_files", multiple=True, type=ExistingFile, metavar="FILE",
    help="A .tab or .csv file (e.g. another model's output) that data variables with no "
         "equation (x :=) are read from; repeat for several, searched in order.")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=ExistingFile)
@click.option("--model", type=ExistingFile, help="Model for scenario files that name none.")
@data_option
def check(paths: tuple[Path, ...], model: Path | None, data_files: tuple[Path, ...]) -> None:
    """Read and compile each model; check each scenario file against its model.

    For a model (.mdl, .xmile): its stocks, and variables without units or
    documentation, constants nothing reads, stocks that do not start in
    equilibrium. For scenario files (.yaml, .cin): every name against the model,
    then shares of one whole (constants documented "Share of the ... spent on")
    that do not sum to 1, and schedule steps outside the run. A model that uses
    something reformsim cannot simulate is an error naming the element and the
    construct.
    """
    files = [p for p in paths if p.suffix.lower() in SCENARIO_SUFFIXES]
    models = [p for p in paths if p not in files]
    for path in models:
        _check_model(path, data_files)
    if files:
        _check_scenarios(files, model)


def _check_model(model: Path, data_files: tuple[Path, ...] = ()) -> None:
    from ..engine.loading import load_model
    from ..report.lint import lint

    compiled = load_model(model, data_files)
    elements = [e for e in compiled.elements if e.kind == "aux"]
    stocks = compiled.stocks
    lookups = sum(e.kind == "lookup" for e in compiled.elements)
    echo(f"{model.name}: {len(elements)} variables, {len(stocks)} stocks, "
               f"{lookups} lookups, {len(compiled.states) - len(stocks)} other states")
    for stock in stocks:
        echo(f"  {stock.name}" + (f" [{stock.units}]" if stock.units else ""))
    findings = lint(compiled)
    echo(f"{len(findings)} findings" + (":" if findings else ""))
    for finding in findings:
        echo(f"  {finding}")


def _check_scenarios(files: list[Path], model: Path | None) -> None:
    from ..engine.loading import load_model
    from ..report.runs import group_by_model
    from ..scenarios.checks import lint, validate
    from ..scenarios.loading import load_scenarios
    from ..scenarios.spec import scenario_names

    for model_path, group in group_by_model(files, model).items():
        scenarios, compiled = load_scenarios(group), load_model(model_path)
        validate(scenarios, compiled)
        findings = lint(scenarios, compiled)
        warnings = [f for f in findings if not f.note]
        notes = [f for f in findings if f.note]
        names = ", ".join(p.name for p in group)
        counts = f"{len(warnings)} warnings" + (f", {len(notes)} notes" if notes else "")
        echo(f"{names} on {model_path.name}: {len(scenario_names(scenarios))} scenarios, "
             f"{counts}" + (":" if findings else ""))
        for finding in warnings + notes:
            echo(f"  {'note: ' if finding.note else ''}{finding}")


@main.command()
@click.argument("model", type=ExistingFile)
@click.option("--levers", is_flag=True,
              help="Only the constants a scenario sets, as a table: value, units, range "
                   "(Vensim's units field [lo,hi]); those documented \"LEVER.\" when the "
                   "model marks some.")
@click.option("--filter", "text", metavar="TEXT",
              help="Only elements whose name or documentation holds TEXT (any case).")
@data_option
def describe(model: Path, levers: bool, text: str | None, data_files: tuple[Path, ...]) -> None:
    """List MODEL's stocks, flows, constants (with their values) and lookups."""
    from ..engine.loading import load_model
    from ..report.describe import constant_values, describe_model, lever_table

    compiled = load_model(model, data_files)
    if levers:
        echo(lever_table(compiled, constant_values(compiled), text))
        return
    echo(describe_model(compiled, constant_values(compiled), text), nl=False)


def _assignments(pairs: tuple[str, ...]) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            values[name.strip()] = [float(v) for v in text.split(",")]
        except ValueError:
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE or NAME=V1,V2,...",
                                     param_hint="'-p' / '--param'") from None
    return values


@main.command()
@click.argument("model", type=ExistingFile)
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE[,VALUE...]",
              help="Set a constant, a whole array (every cell) or one cell (NAME[a1,b2]); "
                   "several values make several members.")
@var_option("Variables to show (default: the stocks).")
@at_option("Times to show (default: start, quarters and end).")
@click.option("--method", default="euler", show_default=True,
              help="euler, rk4, or a scipy solve_ivp method (RK45, LSODA, ...).")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV instead of a table.")
@data_option
def simulate(model: Path, params: tuple[str, ...], variables: tuple[tuple[str, ...], ...],
             years: tuple[tuple[float, ...], ...], method: str, as_csv: bool,
             data_files: tuple[Path, ...]) -> None:
    """Simulate MODEL and print chosen variables at chosen times, one table per member."""
    import warnings

    import numpy as np

    from ..engine.loading import load_model
    from ..engine.settings import find
    from ..engine.simulation import simulate as run

    assigned = _assignments(params)
    compiled = load_model(model, data_files)
    names = list(flat(variables)) or [e.name for e in compiled.stocks]
    given = {}
    for name, values in assigned.items():  # values are per member
        target = find(compiled, name, "parameter")
        given[name] = values if target.scalar else \
            np.asarray(values, dtype=float).reshape((-1,) + (1,) * len(target.shape))
    with warnings.catch_warnings():  # failed members: one summary line below instead
        warnings.filterwarnings("ignore", message=r".*members went NaN/inf")
        results = run(compiled, params=given, method=method, outputs=names)
    times = flat(years)
    wanted = np.array(times) if times else np.quantile(results.times, [0, 0.25, 0.5, 0.75, 1])
    rows = [int(np.argmin(np.abs(results.times - t))) for t in wanted]
    time_units = next((e.units for e in compiled.elements if e.ident == "initial_time"), "")
    blocks = []
    for member in range(results.size):
        label = ", ".join(f"{name}={values[member if len(values) > 1 else 0]:g}"
                          for name, values in assigned.items() if len(values) > 1)
        frame = results.to_dataframe(member).iloc[rows]
        if as_csv:
            frame = frame.assign(member=label or "run") if results.size > 1 else frame
            blocks.append(frame.to_csv(header=member == 0))
        else:
            units = [results.units.get(c, "") for c in frame.columns]
            blocks.append((f"{label}\n" if label else "")
                          + _aligned(frame, units, time_units))
    echo(("" if as_csv else "\n\n").join(blocks), nl=not as_csv)
    failed = [f"member {m}: {results.status(m)}" for m in results.failures]
    if failed:
        echo(f"warning: {len(failed)} of {results.size} members went NaN/inf: "
             + "; ".join(failed[:3]) + (f"; and {len(failed) - 3} more" if len(failed) > 3
                                        else ""), err=True)


def _aligned(frame: Any, units: list[str], time_units: str) -> str:
    """A frame of values over time as aligned columns: names, then units, then numbers."""
    header = [["time"] + list(map(str, frame.columns)),
              [f"[{time_units}]" if time_units else ""] + [f"[{u}]" if u else "" for u in units]]
    body = [[f"{t:g}"] + [f"{v:.6g}" for v in row]
            for t, row in zip(frame.index, frame.to_numpy(dtype=float))]
    rows = header + body
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)).rstrip()
                      for row in rows)


@main.command()
@click.argument("model", type=ExistingFile)
@click.option("--against", "output", type=ExistingFile, required=True,
              help="Vensim's (or Stella's) own output: a .tab or .csv file.")
@data_option
def verify(model: Path, output: Path, data_files: tuple[Path, ...]) -> None:
    """Compare a run of MODEL with a reference output, at PySD's tolerance (1e-5)."""
    from ..engine.loading import load_model
    from ..report.verify import verify as compare

    report = compare(load_model(model, data_files), output)
    if report.problem:
        raise click.ClickException(f"{output.name}: {report.problem}")
    echo(f"{len(report.compared)} variables at {report.times} times compared"
               + (f"; {len(report.ignored)} columns not in the model" if report.ignored else ""))
    if report.ok:
        echo("all within |ours - expected| <= 1e-5 + 1e-5 |expected|")
        return
    for mismatch in report.mismatches:
        echo(f"  differs: {mismatch}")
    raise SystemExit(1)
