"""From scenario files to a run directory: the main job, as one library call.

The command line's ``run``, ``compare`` and ``plot`` are thin wrappers of
these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def shipped_scenarios() -> list[Path]:
    """The scenario files that come with reformsim (its ``scenarios/`` folder)."""
    folder = Path(str(resources.files("reformsim") / "shipped" / "scenarios"))
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in SCENARIO_SUFFIXES)


def group_by_model(files: Sequence[Path], model: Path | None = None, *,
                   allow_outside_data: bool = False) -> dict[Path, list[Path]]:
    """Scenario files keyed by the model they name (or ``model`` for all of them)."""
    from ..scenarios.loading import load_scenarios
    from ..scenarios.spec import ScenarioError

    named = {Path(p): (model or load_scenarios([p], allow_outside_data=allow_outside_data).model)
             for p in files}
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
                       allow_outside_data: bool = False) -> Run:
    """Load the model (or take it from ``models``, a cache by path), expand every
    scenario x sample, simulate them in one pass. ``allow_outside_data``: the
    files' CSV series may be outside their folders."""
    from dataclasses import replace

    from ..engine.loading import load_model
    from ..scenarios.ensemble import expand, run
    from ..scenarios.loading import load_scenarios

    models = {} if models is None else models
    if model_path not in models:
        models[model_path] = load_model(model_path)
    model = models[model_path]
    scenario_set = load_scenarios(files, allow_outside_data=allow_outside_data)
    if scenario_set.uncertainty is not None and (samples is not None or seed is not None):
        uncertainty = replace(scenario_set.uncertainty,
                              samples=samples or scenario_set.uncertainty.samples,
                              seed=scenario_set.uncertainty.seed if seed is None else seed)
        scenario_set = replace(scenario_set, uncertainty=uncertainty)
    ensemble = expand(scenario_set, model)
    dataset = run(ensemble, model, method=method, progress=progress)
    clock = {e.ident: e for e in model.elements if e.kind == "control"}
    dataset.time.attrs["units"] = clock["initial_time"].units
    variables = with_cells(ensemble.outputs or [e.name for e in model.stocks],
                           list(dataset.data_vars))
    step = scenario_set.time.get("TIME STEP")
    return Run(Path(model_path), tuple(files), dataset, variables, method,
               float(step) if step is not None else _time_step(model))


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


def figures_for(run_: Run) -> dict[str, Callable[[Path], object]]:
    """The figures a run directory holds, as writers: lines always, fans when there is
    uncertainty."""
    from .figures import plot_fans, plot_lines, save_figure

    lines = plot_lines(run_.dataset, run_.variables)
    figures = {"lines.png": lines, "lines.svg": lines}
    if run_.dataset.sizes["sample"] > 1:
        figures["fan.png"] = plot_fans(run_.dataset, run_.variables)
    return {name: (lambda path, f=figure: save_figure(f, path)) for name, figure in figures.items()}


def default_directory(root: Path, name: str) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>`` (a counter is added if that exists)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{name}-{stamp}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = root / f"{name}-{stamp}-{n}"
    return candidate


def write(run_: Run, staging: Any, kpis: Any, seed: int | None,
          command: Sequence[str] | None = None) -> Path:
    """Write a simulated run into the run directory reserved by ``rundir.prepare``."""
    from .rundir import make_manifest

    manifest = make_manifest(run_.model, run_.scenario_files, method=run_.method,
                             time_step=run_.time_step, seed=seed,
                             members=int(run_.dataset.sizes["scenario"]
                                         * run_.dataset.sizes["sample"]),
                             directory=staging.target, command=command)
    return staging.write(run_.dataset, kpis, manifest, figures_for(run_), run_.scenario_files)
