"""Commands on a model file: ``check``, ``describe``, ``simulate``, ``verify``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import printable
from .app import main
from .options import ExistingFile


def echo(text: str = "", **kwargs: object) -> None:
    """click.echo of text that may hold a model's names: control characters stripped."""
    click.echo(printable(text), **kwargs)  # type: ignore[arg-type]


@main.command()
@click.argument("model", type=ExistingFile)
def check(model: Path) -> None:
    """Read and compile MODEL; list its stocks and what deserves a look.

    Reports variables without units or documentation, constants nothing reads,
    and stocks that do not start in equilibrium. A model that uses something
    reformsim cannot simulate is an error naming the element and the construct.
    """
    from ..engine.loading import load_model
    from ..report.lint import lint

    compiled = load_model(model)
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


@main.command()
@click.argument("model", type=ExistingFile)
def describe(model: Path) -> None:
    """List MODEL's stocks, flows, constants (the levers a scenario sets) and lookups."""
    from ..engine.loading import load_model

    compiled = load_model(model)
    stocks, flows = compiled.stocks, compiled.flows()
    constants = [e for e in compiled.constants() if e.kind == "aux"]
    lookups = [e for e in compiled.elements if e.kind == "lookup"]
    for title, items in (("Stocks", stocks), ("Flows", flows), ("Constants", constants),
                         ("Lookups", lookups)):
        echo(f"{title} ({len(items)})")
        for e in items:
            units = f" [{e.units}]" if e.units else ""
            doc = " ".join(e.documentation.split())
            echo(f"  {e.name}{units}" + (f": {doc}" if doc else ""))


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
@click.option("-v", "--var", "variables", multiple=True, metavar="NAME",
              help="Variable to show (default: the stocks).")
@click.option("--at", "times", multiple=True, type=float, metavar="TIME",
              help="Times to show (default: start, quarters and end).")
@click.option("--method", default="euler", show_default=True,
              help="euler, rk4, or a scipy solve_ivp method (RK45, LSODA, ...).")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV instead of a table.")
def simulate(model: Path, params: tuple[str, ...], variables: tuple[str, ...],
             times: tuple[float, ...], method: str, as_csv: bool) -> None:
    """Simulate MODEL and print chosen variables at chosen times."""
    import warnings

    import numpy as np
    import pandas as pd

    from ..engine.loading import load_model
    from ..engine.settings import find
    from ..engine.simulation import simulate as run

    compiled = load_model(model)
    names = list(variables) or [e.name for e in compiled.stocks]
    given = {}
    for name, values in _assignments(params).items():  # values are per member
        target = find(compiled, name, "parameter")
        given[name] = values if target.scalar else \
            np.asarray(values, dtype=float).reshape((-1,) + (1,) * len(target.shape))
    with warnings.catch_warnings():  # failed members: one summary line below instead
        warnings.filterwarnings("ignore", message=r".*members went NaN/inf")
        results = run(compiled, params=given, method=method, outputs=names)
    wanted = np.array(times) if times else np.quantile(results.times, [0, 0.25, 0.5, 0.75, 1])
    rows = [int(np.argmin(np.abs(results.times - t))) for t in wanted]
    assigned = _assignments(params)
    frames = {}
    for member in range(results.size):
        label = ", ".join(f"{name}={values[member if len(values) > 1 else 0]:g}"
                          for name, values in assigned.items() if len(values) > 1)
        frames[label or "run"] = results.to_dataframe(member).iloc[rows]
    table = pd.concat(frames, axis=1) if results.size > 1 else frames["run"]
    echo(table.to_csv() if as_csv else table.to_string(float_format=lambda x: f"{x:.6g}"))
    failed = [f"member {m}: {results.status(m)}" for m in results.failures]
    if failed:
        echo(f"warning: {len(failed)} of {results.size} members went NaN/inf: "
             + "; ".join(failed[:3]) + (f"; and {len(failed) - 3} more" if len(failed) > 3
                                        else ""), err=True)


@main.command()
@click.argument("model", type=ExistingFile)
@click.option("--against", "output", type=ExistingFile, required=True,
              help="Vensim's (or Stella's) own output: a .tab or .csv file.")
def verify(model: Path, output: Path) -> None:
    """Compare a run of MODEL with a reference output, at PySD's tolerance (1e-5)."""
    from ..engine.loading import load_model
    from ..report.verify import verify as compare

    report = compare(load_model(model), output)
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
