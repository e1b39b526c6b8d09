"""``reformsim run``: scenario files in, a run directory and a KPI table out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .app import main
from .options import (
    FIGURE_FORMATS,
    FORMATS,
    CommaList,
    ExistingFile,
    Progress,
    allow_outside_data,
    at_option,
    flat,
    simulated,
    sort_options,
    table_text,
    var_option,
)
from .streamed import stream_one, stream_request, with_stream_options


@main.command()
@click.argument("scenario_files", nargs=-1, type=ExistingFile)
@click.option("--model", type=ExistingFile, help="Model to run (default: the one each file names).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Run directory to write (default: runs/<model>-<date>-<time>); when the files "
                   "name several models, a directory holding one run per model.")
@click.option("--method", default="euler", show_default=True,
              help="euler, rk4, or a scipy solve_ivp method (RK45, LSODA, ...).")
@click.option("--samples", type=click.IntRange(min=1), help="Override the files' sample count.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1),
              help="Override the files' random seed (0 to 2^63-1).")
@at_option("Times for the KPI table (default: halfway and the end).")
@var_option("Variables for the KPI table (default: the files' outputs).")
@click.option("--baseline", metavar="NAME", help="Scenario (name or label) the deltas are "
                                                 "taken against.")
@sort_options
@click.option("--figures", "figure_formats", default="png", show_default=True,
              type=CommaList(str, "FORMAT"),
              help="Formats of the run directory's slides: png, svg, pdf (commas), or none.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="json prints one document for all the files; csv one table with a 'run' "
                   "column.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the table.")
@click.option("-v", "--verbose", is_flag=True, help="Also print where the time went.")
@allow_outside_data
@with_stream_options
@click.pass_context
def run(ctx: click.Context, scenario_files: tuple[Path, ...], model: Path | None,
        output: Path | None, method: str, samples: int | None, seed: int | None,
        years: tuple[tuple[float, ...], ...], variables: tuple[tuple[str, ...], ...],
        baseline: str | None, sort_by: str | None, ascending: bool, show_all: bool,
        figure_formats: tuple[str, ...], fmt: str, quiet: bool, verbose: bool,
        allow_outside_data: bool, stats: bool, quantiles: tuple[float, ...] | None,
        workers: str | None, scheduler: str | None, trajectories: bool) -> None:
    """Run scenario files (default: each shipped one) and write a run directory.

    Files naming the same model run together: every scenario and sample in one
    vectorised pass. A run directory holds results.nc, kpis.csv, manifest.json
    scenarios/ (copies of the files) and figures/ (16:9 slides: an overview and one
    per variable, or with many scenarios a ranking per variable); it is reserved
    before anything is simulated, so an output that cannot be written fails at once.
    The table shows what fits a screen; --all shows everything.

    With --stats the ensemble is streamed: statistics instead of trajectories, in this
    process or on a Dask cluster (--workers, --scheduler); see docs/scale.md.
    """
    from contextlib import ExitStack
    from functools import partial

    from ..report import background, lean
    from ..report.rundir import prepare
    from ..report.runs import Stopwatch, default_directory

    quiet = quiet or ctx.obj.get("quiet", False)
    verbose = (verbose or ctx.obj.get("verbose", False)) and not quiet
    formats = _figure_formats(figure_formats)
    streaming = stream_request(stats, quantiles, workers, scheduler, trajectories)
    if output is not None and output.exists():  # say so before the work, not after
        raise click.ClickException(f"{output}: already exists; reformsim never overwrites a run"
                                   "\n  hint: choose another output directory with -o")
    background.quick_exit()
    # the HTML reports are written by a second process, which imports Bokeh meanwhile
    worker = background.start() if streaming is None else None
    loaded: dict[Path, Any] = {}  # each scenario file is read once
    jobs = _jobs(list(scenario_files), model, loaded, allow_outside_data)
    models: dict[Path, Any] = {}  # each model is read and compiled once
    documents: list[dict[str, Any]] = []
    unfinished: list[Callable[[], None]] = []   # runs whose files are still being written
    with ExitStack() as stack:
        freeze: Callable[[], None] | None = None
        # every run directory is reserved (and checked writable) before anything is simulated;
        # with several runs, -o DIR holds one run directory per run: DIR/<name>
        stagings = [stack.enter_context(prepare(
            output if len(jobs) == 1 and output is not None else
            output / name if output is not None else default_directory(Path("runs"), name)))
            for name, _, _ in jobs]
        try:
            for (name, model_path, group), staging in zip(jobs, stagings):
                label = ", ".join(p.name for p in group)
                clock = Stopwatch(None if quiet else lambda note, f=label: _note(f"{f}: {note}"))
                if not quiet:
                    _note(f"running {label} on {model_path.name}")
                if freeze is None:          # what every run needs, imported at once
                    with clock.phase("imports"):
                        freeze = stack.enter_context(
                            lean.spare_collector(_modules(formats)))
                        if streaming is None:   # numpy trajectories: no dask array here
                            stack.enter_context(lean.no_dask_arrays())
                options = dict(method=method, samples=samples, seed=seed, years=flat(years),
                               variables=flat(variables), baseline=baseline, sort_by=sort_by,
                               ascending=ascending, loaded=loaded,
                               allow_outside_data=allow_outside_data,
                               argv=ctx.meta.get("argv"))
                if streaming is None:   # its results and report may still be being written
                    result, kpis, effects = _run_one(model_path, group, staging, options,
                                                     formats, models, clock, quiet, worker,
                                                     freeze)
                    finish = staging.finish
                else:           # streamed statistics keep no members to take effects from
                    options["check"] = lambda e, o=options: _check(e, o)
                    result, directory, kpis = stream_one(model_path, group, staging, options,
                                                         streaming, models, clock, quiet)
                    finish, effects = (lambda d=directory: d), None
                _finish(unfinished)      # the previous run was written meanwhile
                if result.findings and not quiet:
                    more = len(result.findings) - 1
                    _note(f"warning: {result.findings[0]}" + (
                        f"\n  and {more} more: 'reformsim check "
                        f"{' '.join(str(p) for p in group)}' lists them" if more else ""))
                document = _show(kpis, result.dataset, fmt, show_all, several=len(jobs) > 1,
                                 name=name, effects=effects)
                if document is not None:
                    document |= {"name": name, "model": str(model_path),
                                 "scenario_files": [str(p) for p in group]}
                unfinished.append(partial(_finished, finish, clock, label, staging,
                                          output is not None, verbose, quiet, documents,
                                          document))
        finally:   # a run that failed leaves the ones before it whole
            _finish(unfinished)
    _print_documents(documents, fmt)


def _modules(formats: tuple[str, ...]) -> list[str]:
    """What the runs will import (``lean.spare_collector`` imports it at once): the
    engine, the tables, and matplotlib for slides (scipy.stats only when drawing samples,
    which a file run before has in the cache: scenarios.sampling)."""
    modules = ["reformsim.engine.loading", "reformsim.engine.simulation",
               "reformsim.engine.numba_backend", "numba", "reformsim.scenarios.ensemble",
               "reformsim.report.runs", "reformsim.report.kpis", "reformsim.report.tables"]
    if formats:
        modules.append("reformsim.report.figures")
    return modules


def _finish(unfinished: list[Callable[[], None]]) -> None:
    while unfinished:
        unfinished.pop(0)()


def _finished(finish: Callable[[], Path], clock: Any, label: str, staging: Any, named: bool,
              verbose: bool, quiet: bool, documents: list[dict[str, Any]],
              document: dict[str, Any] | None) -> None:
    """A run's files written (by the worker too): its directory moved into place and said."""
    with clock.phase("files"):
        directory = finish()
    if document is not None:
        documents.append(document | {"directory": str(directory)})
    if staging.moved and named:  # a default name simply takes the next
        _note(f"warning: {staging.target} appeared during the run; the run was "
              f"written beside it, to {directory}")
    if verbose:
        elsewhere = ", ".join(f"{name} {seconds:.2f} s" for name, seconds
                              in getattr(staging, "elsewhere", {}).items())
        _note(f"{label}: {clock.summary()}"
              + (f" (meanwhile, a second process wrote {elsewhere})" if elsewhere else ""))
    if not quiet:
        _note(f"run directory: {directory}")


def _run_one(model_path: Path, group: list[Path], staging: Any, options: dict[str, Any],
             formats: tuple[str, ...], models: dict[Path, Any], clock: Any,
             quiet: bool, worker: Any = None,
             simulated_: Callable[[], None] = lambda: None) -> tuple[Any, Any, Any]:
    """Simulate one run, make its KPI table (checking --var, --at, --sort, --baseline) and,
    for a factorial, the summary of its package effects, and begin writing its directory
    (reserved by ``rundir.prepare``; ``staging.finish()`` moves it into place once
    ``worker`` has written its results and report). ``simulated_`` is called once the
    run is simulated (``lean.spare_collector``'s ``gc.freeze``: the model and results
    live on)."""
    from ..report.kpis import kpi_table
    from ..report.runs import begin_write, default_years, simulate_scenarios
    from ..report.tables import rank
    from .options import run_variables

    result = simulated(simulate_scenarios, model_path, group, method=options["method"],
                       samples=options["samples"], seed=options["seed"],
                       progress=Progress(quiet), models=models, stopwatch=clock,
                       loaded=options["loaded"], check=lambda e: _check(e, options),
                       allow_outside_data=options["allow_outside_data"])
    simulated_()
    with clock.phase("tables"):
        dataset = result.dataset
        chosen = run_variables(dataset, options["variables"], result.variables)
        years = list(options["years"]) or default_years(dataset)
        kpis = kpi_table(dataset, chosen, years, options["baseline"])
        if options["sort_by"]:
            kpis = rank(kpis, options["sort_by"], ascending=options["ascending"])
    effects = None
    if result.factorial is not None:
        with clock.phase("factorial effects"):
            effects = _effects(result, kpis, options["sort_by"] or chosen[0], years)
    slides = len(result.variables) * len(formats)
    with clock.phase("files", f"writing the run directory ({slides} slides)" if slides
                     else "writing the run directory"):
        begin_write(result, staging, kpis, int(dataset.attrs.get("seed", -1)), formats, clock,
                    options["argv"], worker)
    return result, kpis, effects


def _effects(result: Any, kpis: Any, variable: str, years: list[float]) -> dict[str, Any]:
    """A factorial's package effects on the table's first (or sorting) variable at its last
    year: the text printed under the table and the record of --format json."""
    from ..report import effects
    from ..report.kpis import time_indices
    from .options import run_variables

    dataset = result.dataset
    variable = run_variables(dataset, (variable,), ())[0]
    time = float(dataset["time"].values[time_indices(dataset, [max(years)])[0]])
    return {"text": effects.summary(dataset, result.factorial, variable, time),
            "document": effects.document(dataset, result.factorial, variable, time)}


def _check(ensemble: Any, options: dict[str, Any]) -> None:
    """--baseline, --var and --sort against the scenarios and outputs, before simulating."""
    from ..errors import ReformsimError, did_you_mean
    from ..model.ir import fold_name
    from ..report.kpis import match_scenario

    if options["baseline"] is not None:
        match_scenario(ensemble.names, [s.title for s in ensemble.scenarios],
                       options["baseline"], "baseline")
    if ensemble.outputs is None:
        return                                  # every variable is kept: any name will do
    known = {fold_name(n.split("[")[0]) for n in ensemble.outputs} | {
        fold_name(n) for n in ensemble.outputs}
    for name in [*options["variables"], *([options["sort_by"]] if options["sort_by"] else [])]:
        if fold_name(name) not in known and fold_name(name.split("[")[0]) not in known:
            hint = did_you_mean(name, ensemble.outputs)
            raise ReformsimError(f"{name!r} is not among the files' outputs"
                                 + (f"; {hint}" if hint else "")
                                 + "\n  hint: the outputs are " + ", ".join(ensemble.outputs))


def _show(kpis: Any, dataset: Any, fmt: str, show_all: bool, *, several: bool,
          name: str, effects: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Print one run's table (table, markdown), and a factorial's package effects under it;
    or return them for the one document printed at the end (json, csv)."""
    from ..errors import printable
    from ..report.runs import time_column
    from ..report.tables import SCREEN_LINES, for_files, ranked_if_many, summarise

    if fmt in ("json", "csv"):
        return {"time_unit": time_column(dataset), "kpis": for_files(kpis, time_column(dataset)),
                **({"factorial_effects": effects["document"]} if effects else {})}
    shown, note = (kpis, "") if show_all else summarise(ranked_if_many(kpis))
    below = printable(effects["text"]) + "\n" if effects else ""
    budget = SCREEN_LINES - below.count("\n") - 1    # the table and the effects: one screen
    text = table_text(shown, fmt, lines=None if show_all else budget)
    heading = (f"{'## ' * (fmt == 'markdown')}{name}\n\n") if several else ""
    click.echo(heading + text + (f"\n{note}\n" if note else ""))
    if below:
        click.echo(below)
    return None


def _print_documents(documents: list[dict[str, Any]], fmt: str) -> None:
    """json: one document, ``{"runs": [...]}``, whatever the number of files; csv: one table,
    its first column naming the run."""
    if not documents:
        return
    import json

    import pandas as pd

    from ..report.tables import format_table

    if fmt == "csv":
        table = pd.concat([d["kpis"].rename(columns={d["time_unit"]: "time"})
                           .assign(time_unit=d["time_unit"]).pipe(_first, "run", d["name"])
                           for d in documents], ignore_index=True)
        click.echo(format_table(table, "csv"), nl=False)
        return
    runs = [{key: value for key, value in d.items() if key != "kpis"}
            | {"kpis": json.loads(format_table(d["kpis"], "json"))} for d in documents]
    click.echo(json.dumps({"runs": runs}, indent=2, ensure_ascii=False))


def _first(frame: Any, column: str, value: str) -> Any:
    frame.insert(0, column, value)
    return frame


def _figure_formats(requested: tuple[str, ...]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(f.lower().lstrip(".") for f in requested))
    if wanted == ("none",):
        return ()
    unknown = [f for f in wanted if f not in FIGURE_FORMATS]
    if unknown:
        raise click.BadParameter(f"{unknown[0]!r}: expected png, svg, pdf (commas) or none",
                                 param_hint="'--figures'")
    return wanted


def _note(text: str) -> None:
    click.echo(text, err=True)


def _jobs(files: list[Path], model: Path | None, loaded: dict[Path, Any],
          allow_outside_data: bool = False) -> list[tuple[str, Path, list[Path]]]:
    """(name, model, files) of each run: the files given, one run per model they name; or,
    with none given, each shipped file as a run of its own, files that combine packages
    factorially last (the roadmaps' table comes first)."""
    from ..report.runs import group_by_model, shipped_scenarios

    if files:
        return [(m.stem, m, group) for m, group in group_by_model(
            files, model, loaded, allow_outside_data=allow_outside_data).items()]
    shipped = shipped_scenarios()
    if not shipped:
        raise click.ClickException("no scenario files given, and none are shipped")
    jobs = [(path.stem, m, group) for path in shipped
            for m, group in group_by_model([path], model, loaded,
                                           allow_outside_data=allow_outside_data).items()]
    return sorted(jobs, key=lambda job: (loaded[job[2][0]].factorial is not None, job[0]))
