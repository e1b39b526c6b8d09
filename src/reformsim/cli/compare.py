"""``reformsim compare``: scenarios side by side at chosen times, with deltas and targets;
run directories against one another (before and after an edit to the model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import printable
from .app import main
from .options import (
    FORMATS,
    ExistingFile,
    allow_outside_data,
    at_option,
    flat,
    parse_target,
    run_variables,
    scenarios_option,
    simulated,
    sort_options,
    table_text,
    var_option,
)


@main.command()
@click.argument("sources", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@at_option("Times to compare at (default: halfway and the end).")
@click.option("--baseline", metavar="NAME",
              help="Scenario (name or label) the deltas are taken against (default: the run's).")
@var_option("Variables to compare (default: the run's).")
@scenarios_option()
@click.option("--target", "targets", multiple=True, metavar="NAME>=VALUE",
              help="Also report when each scenario first reaches a target (>= or <=); repeat "
                   "for several.")
@click.option("--model", type=ExistingFile,
              help="Model for scenario files (default: the one each file names).")
@sort_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="json prints one document; csv one table per file (several need -o DIR).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the CSV files (kpis.csv, and one per --target).")
@allow_outside_data
def compare(sources: tuple[Path, ...], years: tuple[tuple[float, ...], ...], baseline: str | None,
            variables: tuple[tuple[str, ...], ...], scenarios: tuple[str, ...],
            targets: tuple[str, ...], model: Path | None, sort_by: str | None, ascending: bool,
            show_all: bool, fmt: str, output: Path | None, allow_outside_data: bool) -> None:
    """Compare scenarios at chosen times.

    SOURCES are one run directory, or scenario files (run in memory; scenarios whose names
    collide across files are prefixed by their file's name), or several run directories:
    each scenario of the first run against the scenario of the same name in the others
    (the same model, or the model after an edit).
    """
    parsed = [parse_target(t) for t in targets]          # every option checked before any work
    if fmt == "csv" and parsed and output is None:
        raise click.UsageError("--format csv writes one table per file, and --target adds a "
                               "table per target\n  hint: give a folder with -o DIR, or use "
                               "--format json for one document")
    if output is not None and fmt != "csv":
        raise click.UsageError("-o DIR is where --format csv writes its files")
    directories = [p for p in sources if p.is_dir()]
    if directories and len(directories) != len(sources):
        raise click.UsageError("give run directories or scenario files, not both")
    if len(directories) > 1 and (parsed or baseline):
        raise click.UsageError("--target and --baseline work on one run; with several run "
                               "directories each scenario is compared with its namesake in "
                               "the first")
    from ..report.kpis import kpi_table, subset, time_to_target
    from ..report.tables import rank

    runs: dict[str, str] = {}
    if len(directories) > 1:
        kpis, dataset = _across_runs(directories, flat(years), flat(variables), scenarios)
        runs = kpis.attrs["runs"]
        targets_out: list[tuple[str, Any]] = []
    else:
        dataset, default = _dataset(sources, directories, model, allow_outside_data)
        dataset = subset(dataset, scenarios)
        chosen = run_variables(dataset, flat(variables), default)
        from ..report.runs import default_years

        kpis = kpi_table(dataset, chosen, list(flat(years)) or default_years(dataset), baseline)
        targets_out = [(f"{run_variables(dataset, (name,), ())[0]} "
                        f"{'>=' if direction == 'above' else '<='} {value:g}",
                        time_to_target(dataset, run_variables(dataset, (name,), ())[0], value,
                                       direction))
                       for name, direction, value in parsed]
    if sort_by:
        kpis = rank(kpis, sort_by, ascending=ascending)
    _print(kpis, targets_out, dataset, fmt, show_all, output, runs)


def _dataset(sources: tuple[Path, ...], directories: list[Path], model: Path | None,
             allow_outside_data: bool) -> tuple[Any, tuple[str, ...]]:
    from ..report.kpis import failure_note, model_variables
    from ..report.rundir import read_run
    from ..report.runs import group_by_model, simulate_apart, simulate_scenarios

    if directories:
        dataset, _ = read_run(directories[0])
        if failure_note(dataset):
            click.echo(printable(f"warning: {failure_note(dataset)}"), err=True)
        return dataset, tuple(model_variables(dataset))
    groups = group_by_model(list(sources), model, allow_outside_data=allow_outside_data)
    if len(groups) > 1:
        raise click.ClickException("the scenario files name several models; compare them "
                                   "one model at a time")
    (model_path, files), = groups.items()
    def either(*args: Any, **kwargs: Any) -> Any:   # apart when names collide, else together
        return simulate_apart(*args, **kwargs) or simulate_scenarios(*args, **kwargs)

    result = simulated(either, model_path, files, allow_outside_data=allow_outside_data)
    return result.dataset, result.variables


def _across_runs(directories: list[Path], years: tuple[float, ...], variables: tuple[str, ...],
                 scenarios: tuple[str, ...]) -> tuple[Any, Any]:
    from ..report.kpis import compare_runs, model_variables, subset
    from ..report.rundir import read_run
    from ..report.runs import default_years

    datasets = {}
    for directory in directories:
        dataset, _ = read_run(directory)
        datasets[str(directory)] = subset(dataset, scenarios) if scenarios else dataset
    first = next(iter(datasets.values()))
    common = [v for v in model_variables(first)
              if all(v in d.data_vars for d in datasets.values())]
    chosen = run_variables(first, variables, tuple(common))
    return compare_runs(datasets, chosen, list(years) or default_years(first)), first


def _print(kpis: Any, targets: list[tuple[str, Any]], dataset: Any, fmt: str, show_all: bool,
           output: Path | None, runs: dict[str, str]) -> None:
    from ..report.runs import time_column
    from ..report.tables import (
        SCREEN_LINES,
        for_files,
        format_table,
        ranked_if_many,
        summarise,
    )

    time_name = time_column(dataset)
    if fmt == "json":
        document = {"time_unit": time_name, **({"runs": runs} if runs else {}),
                    "kpis": json.loads(format_table(for_files(kpis, time_name), "json")),
                    "targets": [{"target": text, "rows": json.loads(format_table(t, "json"))}
                                for text, t in targets]}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        tables = {"kpis.csv": for_files(kpis, time_name)}
        tables.update({f"target-{n}.csv": t for n, (_, t) in enumerate(targets, start=1)})
        if output is None:
            click.echo(format_table(tables["kpis.csv"], "csv"), nl=False)
            return
        output.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            (output / name).write_text(format_table(table, "csv"), encoding="utf-8")
            click.echo(output / name)
        return
    shown, note = (kpis, "") if show_all else summarise(ranked_if_many(kpis))
    if runs:
        click.echo("".join(f"run {letter}: {path}\n" for letter, path in runs.items()))
    click.echo(table_text(shown, fmt, lines=None if show_all else SCREEN_LINES)
               + (f"\n{note}\n" if note else ""), nl=False)
    for text, table in targets:
        click.echo(printable(f"\ntime to {text}:"))
        click.echo(table_text(table, fmt), nl=False)

