"""From scenario files to a run directory: the main job, as one library call.

The command line's ``run``, ``compare`` and ``plot`` are thin wrappers of
these functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

SCENARIO_SUFFIXES = (".yaml", ".yml", ".cin")


@dataclass(frozen=True)
class Run:
    """One model's scenarios, simulated: the Dataset and what made it."""

    model: Path
    scenario_files: tuple[Path, ...]
    dataset: Any                 # xarray.Dataset over (scenario, sample, time)
    variables: tuple[str, ...]   # what tables and figures show
    method: str
    time_step: float
    factorial: Any = None        # the scenario files' Factorial, if they combine packages
    findings: tuple[str, ...] = ()   # scenarios.checks.lint's warnings (notes left out)


class Stopwatch:
    """Where a run's time goes: named phases in order, each announced as it starts. A phase
    inside another (figures while files are written) counts for itself only."""

    def __init__(self, announce: Callable[[str], None] | None = None) -> None:
        self.announce = announce
        self.spent: dict[str, float] = {}
        self._inner: list[float] = []       # time spent in inner phases, per open phase

    @contextmanager
    def phase(self, name: str, note: str = "") -> Iterator[None]:
        if note and self.announce is not None:
            self.announce(note)
        started = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            inner = self._inner.pop()
            self.spent[name] = self.spent.get(name, 0.0) + elapsed - inner
            if self._inner:
                self._inner[-1] += elapsed

    def note(self, text: str) -> None:
        """Announce something that is not a phase of its own."""
        if self.announce is not None:
            self.announce(text)

    def summary(self) -> str:
        """``read and compile 1.02 s, simulate 0.31 s, ...; total 1.60 s``."""
        parts = [f"{name} {seconds:.2f} s" for name, seconds in self.spent.items()]
        return ", ".join(parts) + f"; total {sum(self.spent.values()):.2f} s"


def shipped_scenarios() -> list[Path]:
    """The scenario files that come with reformsim (its ``scenarios/`` folder)."""
    folder = Path(str(resources.files("reformsim") / "shipped" / "scenarios"))
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in SCENARIO_SUFFIXES)


EXAMPLE_SUFFIXES = (".mdl", ".xmile", ".stmx", ".yaml", ".yml", ".cin", ".csv", ".tab")


def shipped_files() -> dict[str, Path]:
    """The models and scenario files that come with reformsim, by their path relative to the
    shipped folder (``models/reform.mdl``, ``scenarios/reform_roadmaps.yaml``...)."""
    root = Path(str(resources.files("reformsim") / "shipped"))
    return {path.relative_to(root).as_posix(): path
            for folder in ("models", "scenarios") for path in sorted((root / folder).rglob("*"))
            if path.is_file() and path.suffix.lower() in EXAMPLE_SUFFIXES}


def copy_examples(target: Path) -> list[Path]:
    """Copy the shipped models and scenario files into ``target`` (keeping their folders, so
    the scenario files still find their models); nothing is copied if any file exists."""
    import shutil

    from .rundir import RunDirError

    files = {Path(target) / name: source for name, source in shipped_files().items()}
    present = [path for path in files if path.exists()]
    if present:
        raise RunDirError(f"{present[0]}: already exists; reformsim never overwrites a file"
                          f"{f' ({len(present)} would be)' if len(present) > 1 else ''}"
                          "\n  hint: copy the examples into an empty folder")
    for path, source in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
    return list(files)


def group_by_model(files: Sequence[Path], model: Path | None = None,
                   loaded: dict[Path, Any] | None = None, *,
                   allow_outside_data: bool = False) -> dict[Path, list[Path]]:
    """Scenario files keyed by the model they name (or ``model`` for all of them).

    Each file read is kept in ``loaded`` (path -> ScenarioSet) when given, so that
    ``simulate_scenarios`` need not read it again."""
    from ..scenarios.loading import load_scenarios
    from ..scenarios.spec import ScenarioError

    loaded = {} if loaded is None else loaded
    for p in map(Path, files):
        if p not in loaded:
            loaded[p] = load_scenarios([p], allow_outside_data=allow_outside_data)
    named = {Path(p): (model or loaded[Path(p)].model) for p in files}
    models = {Path(m).resolve() for m in named.values() if m is not None}
    groups: dict[Path, list[Path]] = {}
    for path, target in named.items():
        if target is None:  # a .cin file names no model: it goes with the one the others name
            if len(models) != 1:
                raise ScenarioError(path, "", "model", "the file names no model",
                                    hint="add 'model: path/to/model.mdl', pass --model, or give "
                                         "it with a YAML file that names one")
            target = next(iter(models))
        groups.setdefault(Path(target).resolve(), []).append(path)
    return groups


def simulate_scenarios(model_path: Path, files: Sequence[Path], *, method: str = "euler",
                       samples: int | None = None, seed: int | None = None,
                       progress: Callable[[int, int], None] | None = None,
                       models: dict[Path, Any] | None = None,
                       stopwatch: Stopwatch | None = None,
                       loaded: dict[Path, Any] | None = None,
                       check: Callable[[Any], None] | None = None,
                       allow_outside_data: bool = False) -> Run:
    """Load the model (or take it from ``models``, a cache by path), expand every
    scenario x sample, simulate them in one pass. A single file already read by
    ``group_by_model`` is taken from ``loaded``; ``check`` sees the expanded Ensemble
    before anything is simulated (to refuse a request that names what it lacks).
    ``allow_outside_data``: the files' CSV series may be outside their folders."""
    from ..engine import numba_backend
    from ..engine.simulation import variant_for
    from ..scenarios.ensemble import run

    clock = Stopwatch() if stopwatch is None else stopwatch
    job = prepare_ensemble(model_path, files, samples=samples, seed=seed, models=models,
                           stopwatch=clock, loaded=loaded, check=check,
                           allow_outside_data=allow_outside_data)
    model, ensemble = job.model, job.ensemble
    if numba_backend.compiles_first(variant_for(model, ensemble.params, ensemble.lookups),
                                    method):
        clock.note(f"compiling {Path(model_path).name} to machine code (once: later runs load "
                   "it from the cache)")
    with clock.phase("simulate", f"simulating {_count(len(ensemble.scenarios), 'scenario')} x "
                                 f"{_count(ensemble.samples, 'sample')} "
                                 f"({_count(ensemble.size, 'member')})"):
        dataset = run(ensemble, model, method=method, progress=progress)
    label_dataset(dataset, model)
    variables = with_cells(ensemble.outputs or [e.name for e in model.stocks],
                           list(dataset.data_vars))
    return Run(Path(model_path), tuple(files), dataset, variables, method, job.time_step,
               job.scenarios.factorial, job.findings)


@dataclass(frozen=True)
class Prepared:
    """Scenario files read and expanded against their model, not yet simulated."""

    model: Any
    scenarios: Any          # the ScenarioSet, --samples and --seed applied
    ensemble: Any
    findings: tuple[str, ...]
    time_step: float


def prepare_ensemble(model_path: Path, files: Sequence[Path], *, samples: int | None = None,
                     seed: int | None = None, models: dict[Path, Any] | None = None,
                     stopwatch: Stopwatch | None = None, loaded: dict[Path, Any] | None = None,
                     check: Callable[[Any], None] | None = None,
                     allow_outside_data: bool = False) -> Prepared:
    """What ``simulate_scenarios`` (and a streamed run) do before simulating: the model read
    and compiled once, the files read, ``samples``/``seed`` applied, the ensemble expanded,
    linted and ``check``-ed."""
    from dataclasses import replace

    from ..engine.loading import load_model
    from ..scenarios.checks import lint
    from ..scenarios.ensemble import expand
    from ..scenarios.loading import load_scenarios

    clock = Stopwatch() if stopwatch is None else stopwatch
    models = {} if models is None else models
    if model_path not in models:
        with clock.phase("read and compile", f"reading {Path(model_path).name}"):
            models[model_path] = load_model(model_path)
    model = models[model_path]
    with clock.phase("scenarios"):
        single = len(files) == 1 and loaded is not None and Path(files[0]) in loaded
        scenario_set = loaded[Path(files[0])] if single else \
            load_scenarios(files, allow_outside_data=allow_outside_data)
        if scenario_set.uncertainty is not None and (samples is not None or seed is not None):
            uncertainty = replace(scenario_set.uncertainty,
                                  samples=samples or scenario_set.uncertainty.samples,
                                  seed=scenario_set.uncertainty.seed if seed is None else seed)
            scenario_set = replace(scenario_set, uncertainty=uncertainty)
        ensemble = expand(scenario_set, model)
        findings = tuple(str(f) for f in lint(scenario_set, model) if not f.note)
        if check is not None:
            check(ensemble)
    step = scenario_set.time.get("TIME STEP")
    return Prepared(model, scenario_set, ensemble, findings,
                    float(step) if step is not None else _time_step(model))


def label_dataset(dataset: Any, model: Any) -> None:
    """The time's units and each variable's documented range, from the model."""
    elements = {e.ident: e for e in model.elements}
    dataset.time.attrs["units"] = elements["initial_time"].units
    _add_ranges(dataset, model)


def simulate_apart(model_path: Path, files: Sequence[Path], **options: Any) -> Run | None:
    """Scenario files whose scenario names collide, each simulated on its own and put side by
    side, every scenario's name and label prefixed by its file's name (``mine: holistic``);
    None when no name collides (then the files run together, as ``run`` runs them)."""
    from ..scenarios.loading import load_scenarios
    from ..scenarios.spec import scenario_names

    seen: set[str] = set()
    collide = False
    for names in (set(scenario_names(load_scenarios(
            [f], allow_outside_data=options.get("allow_outside_data", False)))) for f in files):
        collide, seen = collide or bool(seen & names), seen | names
    if not collide:
        return None
    models = options.pop("models", None) or {}
    runs = [simulate_scenarios(model_path, [f], models=models, **options) for f in files]
    return Run(Path(model_path), tuple(files),
               side_by_side({Path(f).stem: r.dataset for f, r in zip(files, runs)}),
               tuple(dict.fromkeys(v for r in runs for v in r.variables)),
               runs[0].method, runs[0].time_step)


def side_by_side(datasets: dict[str, Any]) -> Any:
    """Datasets of the same model and time grid as one, along ``scenario``, names and labels
    prefixed by their key; the first one's baseline is the baseline."""
    import numpy as np
    import xarray as xr

    from .rundir import RunDirError

    first_key, first = next(iter(datasets.items()))
    parts = []
    for key, ds in datasets.items():
        if ds.sizes["sample"] != first.sizes["sample"] or \
                not np.array_equal(ds["time"].values, first["time"].values):
            raise RunDirError(f"{key}: its samples or save times differ from {first_key}'s, so "
                              "they cannot be shown side by side\n  hint: give the files the "
                              "same 'time' and 'uncertainty', or compare them one at a time")
        labels = ds["label"].values if "label" in ds.coords else ds["scenario"].values
        parts.append(ds.assign_coords(
            scenario=[f"{key}: {s}" for s in ds["scenario"].values],
            label=("scenario", [f"{key}: {label}" for label in labels])))
    combined = xr.concat(parts, dim="scenario", data_vars="minimal", coords="minimal",
                         compat="override", join="outer")
    base = first.attrs.get("baseline") or str(first["scenario"].values[0])
    combined.attrs["baseline"] = f"{first_key}: {base}"
    return combined


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _add_ranges(dataset: Any, model: Any) -> None:
    """Each variable's documented range (Vensim's units field ``[lo,hi]``) as a ``range``
    attribute (NaN for an open end), for units in words (``index 0-1``)."""
    import numpy as np

    by_name = {e.name: e for e in model.elements}
    for name, variable in dataset.data_vars.items():
        element = by_name.get(str(name).split("[")[0])
        if element is not None and any(v is not None for v in element.limits):
            variable.attrs["range"] = np.array([np.nan if v is None else v
                                                for v in element.limits], dtype=float)


def with_cells(names: Any, known: list[str]) -> tuple[str, ...]:
    """Names of a run's variables, an array's name standing for each of its cells
    (a run keeps the cells of an array as variables of their own, ``x[a1,b2]``)."""
    out: list[str] = []
    for name in names:
        cells = [k for k in known if k.startswith(f"{name}[")]
        out += [name] if name in known or not cells else cells
    return tuple(dict.fromkeys(out))


def _time_step(model: Any) -> float:
    """The model's own TIME STEP (at the initial time)."""
    import numpy as np

    values = model.init({}, {}, np.zeros(1, dtype=np.uint64))
    return float(np.asarray(values[model.slots["time_step"]], dtype=float).reshape(-1)[0])


def default_years(dataset: Any, count: int = 2) -> list[float]:
    """Evenly spaced save times after the start, ending at the end: halfway and the end by
    default (two columns of a KPI table fit a 100-character terminal)."""
    import numpy as np

    times = dataset.time.values
    wanted = np.linspace(times[0], times[-1], count + 1)[1:]
    return [float(times[int(np.argmin(np.abs(times - w)))]) for w in wanted]


FIGURE_FORMATS = ("png", "svg", "pdf")


def figures_for(run_: Run, formats: Sequence[str] = ("png",),
                stopwatch: Stopwatch | None = None) -> dict[str, Callable[[Path], object]]:
    """The slides a run directory holds, as writers (file name -> write it at this path):
    an overview of up to six variables and a slide per variable (its fan, or with more
    scenarios than a chart keeps apart, its ranking at the end), in each of ``formats``.

    Each slide is drawn only when written, on one reused layout (``figures.Deck``).
    """
    from .figures import MAX_PANELS, Deck, plot_fans, save_figure
    from .labels import slug
    from .style import MAX_LINES

    ds, variables = run_.dataset, list(run_.variables)
    clock = Stopwatch() if stopwatch is None else stopwatch
    many = ds.sizes["scenario"] > MAX_LINES
    decks: dict[str, Any] = {}

    def deck() -> Any:
        if "deck" not in decks:
            decks["deck"] = Deck(ds, "ranking" if many else "fan")
        return decks["deck"]

    def slide(variable: str) -> Callable[[Path], object]:
        def write(path: Path) -> object:
            with clock.phase("figures"):
                return deck().save(variable, path)
        return write

    def overview(path: Path) -> object:
        with clock.phase("figures"):
            if "overview" not in decks:
                decks["overview"] = plot_fans(ds, variables[:MAX_PANELS])
            return save_figure(decks["overview"], path)

    writers: dict[str, Callable[[Path], object]] = {}
    names = _unique([slug(v) for v in variables])
    for fmt in formats:
        if not many and len(variables) > 1:
            writers[f"overview.{fmt}"] = overview
        for n, (variable, name) in enumerate(zip(variables, names), start=1):
            writers[f"{n:02d}-{name}.{fmt}"] = slide(variable)
        writers.update(factorial_figures(run_, fmt, clock))
    return writers


def factorial_figures(run_: Run, fmt: str, stopwatch: Stopwatch | None = None
                      ) -> dict[str, Callable[[Path], object]]:
    """Slides of a factorial run's package effects (file name -> writer), one per variable
    beside its ranking (``01-composite-outcome-effects.png``): main effects and two-way
    interactions at the end of the run (``report.effects``). None for other runs."""
    if run_.factorial is None:
        return {}
    from .effects import slides
    from .labels import slug

    names = _unique([slug(v) for v in run_.variables])
    files = [f"{n:02d}-{name}-effects.{fmt}" for n, name in enumerate(names, start=1)]
    return slides(run_.dataset, run_.factorial, run_.variables, files,
                  Stopwatch() if stopwatch is None else stopwatch)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out


def default_directory(root: Path, name: str) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>`` (a counter is added if that exists)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{name}-{stamp}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = root / f"{name}-{stamp}-{n}"
    return candidate


def begin_write(run_: Run, staging: Any, kpis: Any, seed: int | None,
                formats: Sequence[str] = ("png",), stopwatch: Stopwatch | None = None,
                command: Sequence[str] | None = None, worker: Any = None) -> None:
    """Write a simulated run into the run directory reserved by ``rundir.prepare``: results,
    ``kpis`` (as files read it: the time column named by the model's time unit, float noise
    rounded away), manifest, the scenario files, the slides and the HTML report; then
    ``staging.finish()`` moves it into place and returns where it went. With a ``worker``
    (a ``background.start()``) results and report are written by it while this process
    draws the slides (and, until ``finish``, simulates the next run)."""
    from .rundir import make_manifest
    from .tables import for_files

    manifest = make_manifest(run_.model, run_.scenario_files, method=run_.method,
                             time_step=run_.time_step, seed=seed,
                             members=int(run_.dataset.sizes["scenario"]
                                         * run_.dataset.sizes["sample"]),
                             directory=staging.target, command=command)
    staging.begin(run_.dataset, for_files(kpis, time_column(run_.dataset)), manifest,
                  figures_for(run_, formats, stopwatch), run_.scenario_files,
                  files=files_for(run_, manifest, kpis, worker), worker=worker)


def files_for(run_: Run, manifest: Any, kpis: Any,
              worker: Any = None) -> dict[str, Callable[[Path], object]]:
    """The files beside the results: the HTML report (written by ``worker`` if given)."""
    from .background import hand_over
    from .html import REPORT, write_report

    return {REPORT: lambda path: hand_over(worker, write_report, path, run_.dataset, manifest,
                                           kpis, run_.variables)}


def time_column(dataset: Any) -> str:
    """The name of a table's time column: the model's time unit in lower case (``year``,
    ``month``), or ``time`` when the model gives none."""
    units = " ".join(str(dataset["time"].attrs.get("units", "")).split()).casefold()
    return units or "time"
