"""ScenarioSet -> Ensemble (scenario x sample members) -> one simulate call -> xarray Dataset.

Member ``s * M + m`` is scenario ``s`` under uncertainty sample ``m``: every
scenario sees the same draws (common random numbers), and the same random
streams for the model's RANDOM functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine import settings
from ..engine.compiled import state_indices
from ..engine.results import STATUS, own_name
from ..model.ir import fold_name
from ..scale.memory import free_memory
from .checks import ModelNames, model_names, validate
from .sampling import sample
from .spec import Scenario, ScenarioError, ScenarioSet, resolve

if TYPE_CHECKING:
    import xarray as xr

    from ..engine.compiled import CompiledModel
    from ..engine.results import Results

__all__ = ["Ensemble", "expand", "run", "to_dataset", "validate"]


@dataclass(frozen=True)
class Ensemble:
    """N = S x M members ready for :func:`reformsim.simulate`, with their labels.

    ``params``, ``initial`` and ``lookups`` are simulate's arguments (names
    as written in the model; arrays of shape (N,), Series with (N, P) rows,
    or one Table per member); ``draws`` holds the sampled values, (M,) each.
    """

    scenarios: tuple[Scenario, ...]
    samples: int
    params: dict[str, Any]
    initial: dict[str, Any] = field(default_factory=dict)
    lookups: dict[str, Any] = field(default_factory=dict)
    draws: dict[str, np.ndarray] = field(default_factory=dict)
    change_start: tuple[float, ...] = ()
    outputs: tuple[str, ...] | None = None
    seed: int = -1
    baseline: str = ""

    @property
    def size(self) -> int:
        """Number of members N."""
        return len(self.scenarios) * self.samples

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def expand(scenarios: ScenarioSet, model: CompiledModel) -> Ensemble:
    """Check ``scenarios`` against ``model`` and lay out every scenario x sample member.

    Raises :class:`reformsim.scenarios.ScenarioError` naming the file, the
    scenario and the key of anything the model does not have or allow.
    """
    validate(scenarios, model)
    names = model_names(model)
    flat = tuple(_canonical(s, names) for s in resolve(scenarios))
    _check_memory(scenarios, len(flat), model)
    draws = {names.constants[fold_name(n)]: v for n, v in sample(scenarios.uncertainty).items()}
    samples = scenarios.uncertainty.samples if scenarios.uncertainty else 1
    touched = {n for s in flat for key in ("set", "initial", "schedule")
               for n in getattr(s.changes, key)}
    values = [_scenario_values(model, s, draws, scenarios.time, samples, touched) for s in flat]
    baseline = scenarios.baseline or flat[0].name
    b = [s.name for s in flat].index(baseline)
    t0 = float(values[0][_control(model, "initial_time")][0])
    params = {**scenarios.time, **_stacked(flat, values, "set", draws)}
    params.update(_series(flat, values, samples, t0))
    outputs = None if scenarios.outputs is None else \
        tuple(names.variables[fold_name(n)] for n in scenarios.outputs)
    return Ensemble(
        scenarios=flat, samples=samples, params=params,
        initial=_stacked(flat, values, "initial", {}), lookups=_tables(model, flat, samples),
        draws=draws, change_start=tuple(_change_start(s, v, flat[b], values[b], t0)
                                        for s, v in zip(flat, values)),
        outputs=outputs, seed=scenarios.uncertainty.seed if scenarios.uncertainty else -1,
        baseline=baseline)


def _check_memory(scenarios: ScenarioSet, count: int, model: CompiledModel) -> None:
    """Refuse, before numpy allocates anything, an ensemble whose laying out alone (draws and
    one value of every element per member) would not fit in the memory that is free."""
    uncertainty = scenarios.uncertainty
    if uncertainty is None:
        return
    members = count * uncertainty.samples
    need = 8 * 2 * members * (len(model.elements) + len(uncertainty.parameters))
    free = free_memory()
    if free is not None and need > 0.8 * free:
        raise ScenarioError(uncertainty.source, "", "uncertainty",
                            f"'samples': {uncertainty.samples:,} samples x {count} scenarios "
                            f"would need {need / 2**30:,.1f} GiB to lay out, but "
                            f"{free / 2**30:,.1f} GiB are free",
                            hint="use fewer samples (--samples N overrides the file)")


def _canonical(scenario: Scenario, names: ModelNames) -> Scenario:
    """The scenario with every name spelled as in the model (so members line up)."""
    changes = scenario.changes
    spelled = {key: {getattr(names, table)[fold_name(n)]: v
                     for n, v in getattr(changes, key).items()}
               for key, table in (("set", "constants"), ("initial", "stocks"),
                                  ("lookups", "lookups"), ("schedule", "constants"))}
    return replace(scenario, changes=replace(changes, **spelled))


def _scenario_values(model: CompiledModel, scenario: Scenario, draws: dict[str, np.ndarray],
                     time: dict[str, float], samples: int,
                     touched: set[str]) -> dict[str, np.ndarray]:
    """The model's initialisation pass under one scenario: every scalar value and every name
    some scenario sets (``touched``), (M,) each, or (M, *shape) for a whole array.

    Constants a scenario leaves alone keep the value the model computes from
    the scenario's own settings and draws.
    """
    given = {**time, **scenario.changes.set, **draws}
    targets = {n: settings.find(model, n, "constant") for n in given}
    overrides = settings.overrides([(targets[n], settings.as_value(targets[n], v))
                                    for n, v in given.items()])
    states = {_state_index(model, settings.find(model, n, "stock").element):
              np.atleast_1d(float(v)) for n, v in scenario.changes.initial.items()}
    keys = np.arange(samples, dtype=np.uint64)
    with np.errstate(all="ignore"):
        computed = model.init(overrides, states, keys)
    wanted = set(targets) | touched | {e.name for e in model.elements
                                       if e.kind != "lookup" and not e.dims}
    return {name: settings.read(computed, settings.find(model, name, "variable"), samples)
            for name in wanted}


def _control(model: CompiledModel, ident: str) -> str:
    return next(e.name for e in model.elements if e.ident == ident)


def _state_index(model: CompiledModel, stock: Any) -> int:
    return state_indices(model.nodes[model.slot_of(stock)])[0]


def _stacked(flat: tuple[Scenario, ...], values: list[dict[str, np.ndarray]], key: str,
             draws: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every name some scenario changes under ``key`` (or a drawn one): (N,) per-member values."""
    touched = dict.fromkeys([n for s in flat for n in getattr(s.changes, key)] + list(draws))
    scheduled = {n for s in flat for n in s.changes.schedule}
    return {name: np.concatenate([v[name] for v in values])
            for name in touched if name not in scheduled}


def _series(flat: tuple[Scenario, ...], values: list[dict[str, np.ndarray]], samples: int,
            t0: float) -> dict[str, Any]:
    """Scheduled constants as Series with one row per member, rows padded to one length."""
    from ..engine.inputs import Series

    out: dict[str, Any] = {}
    for name in dict.fromkeys(n for s in flat for n in s.changes.schedule):
        rows = [_trajectory(s, name, float(v[name][0]), t0) for s, v in zip(flat, values)]
        width = max(len(t) for t, _ in rows)
        padded = [(t + t[-1:] * (width - len(t)), y + y[-1:] * (width - len(y))) for t, y in rows]
        times = np.repeat(np.array([t for t, _ in padded]), samples, axis=0)
        levels = np.repeat(np.array([y for _, y in padded]), samples, axis=0)
        out[name] = Series(times, levels)
    return out


def _trajectory(scenario: Scenario, name: str, base: float,
                t0: float) -> tuple[list[float], list[float]]:
    """Breakpoints of a constant under a scenario; one point (held) when it is not scheduled."""
    schedule = scenario.changes.schedule.get(name)
    return schedule.trajectory(base) if schedule else ([t0], [base])


def _tables(model: CompiledModel, flat: tuple[Scenario, ...], samples: int) -> dict[str, Any]:
    """Replaced lookups: one Table, or one per member when scenarios differ."""
    from ..engine.inputs import Table

    out: dict[str, Any] = {}
    by_name = {e.name: e for e in model.elements if e.kind == "lookup"}
    for name in dict.fromkeys(n for s in flat for n in s.changes.lookups):
        own = model.tables[by_name[name].ident]
        chosen = [s.changes.lookups.get(name, own) for s in flat]
        if all(c == chosen[0] for c in chosen):
            out[name] = Table(chosen[0].xs, chosen[0].ys)
        else:
            out[name] = [Table(c.xs, c.ys) for c in chosen for _ in range(samples)]
    return out


def _change_start(scenario: Scenario, ours: dict[str, np.ndarray], base: Scenario,
                  theirs: dict[str, np.ndarray], t0: float) -> float:
    """Earliest time a schedule of ``scenario`` departs from ``base``'s value; NaN if never."""
    earliest = math.inf
    for name in dict.fromkeys([*scenario.changes.schedule, *base.changes.schedule]):
        earliest = min(earliest, _departure(_trajectory(scenario, name, float(ours[name][0]), t0),
                                            _trajectory(base, name, float(theirs[name][0]), t0),
                                            t0))
    return earliest if math.isfinite(earliest) else math.nan


Points = tuple[list[float], list[float]]


def _departure(a: Points, b: Points, t0: float) -> float:
    """First time two piecewise-linear functions (with jumps) differ; inf if they never do."""
    times = sorted({t for t in a[0] + b[0] if t > t0} | {t0})
    for k, t in enumerate(times):
        if k and not _same(_left(a, t), _left(b, t)):
            return times[k - 1]
        if not _same(_right(a, t), _right(b, t)):
            return t
    return math.inf


def _same(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12)


def _right(points: Points, t: float) -> float:
    """Value from ``t`` on (after any jump at ``t``)."""
    xs, ys = points
    i = int(np.searchsorted(xs, t, side="right"))
    if i == 0 or i == len(xs):
        return ys[0] if i == 0 else ys[-1]
    if xs[i - 1] == t:
        return ys[i - 1]
    return float(np.interp(t, xs[i - 1:i + 1], ys[i - 1:i + 1]))


def _left(points: Points, t: float) -> float:
    """Value just before ``t`` (before any jump at ``t``)."""
    xs, ys = points
    i = int(np.searchsorted(xs, t, side="left"))
    if i == 0 or i == len(xs):
        return ys[0] if i == 0 else ys[-1]
    if xs[i] == t:
        return ys[i]
    return float(np.interp(t, xs[i - 1:i + 1], ys[i - 1:i + 1]))


def run(ensemble: Ensemble, model: CompiledModel, method: str = "euler",
        progress: Any = None) -> xr.Dataset:
    """Simulate every member in one call and label the results (see :func:`to_dataset`).

    ``progress(done, total)`` is called after each chunk of members.
    """
    from ..engine.simulation import simulate

    extra = {"lookups": ensemble.lookups} if ensemble.lookups else {}
    if progress is not None:
        extra["progress"] = progress
    streams = np.tile(np.arange(ensemble.samples), len(ensemble.scenarios))
    results = simulate(model, params=ensemble.params, initial=ensemble.initial, method=method,
                       outputs=ensemble.outputs, streams=streams,
                       seed=max(ensemble.seed, 0), **extra)
    return to_dataset(ensemble, results, model.source)


def to_dataset(ensemble: Ensemble, results: Results, model: Path | str = "") -> xr.Dataset:
    """Results of an ensemble as a Dataset over (scenario, sample, time).

    One variable per kept model variable (attrs ``units``, ``description``),
    ``status`` per member ("ok" or where it went non-finite), ``param:<name>``
    per uncertain constant (sample,); coords ``label``, ``description`` and
    ``change_start`` per scenario; attrs ``model``, ``method``, ``seed`` (-1
    without uncertainty), ``baseline``, ``uncertain_parameters``,
    ``status_variable``. Model variables keep their names: should one be
    named ``status`` (or ``param:x``), the run's own becomes ``status (run)``,
    as ``status_variable`` says.
    """
    import xarray as xr

    shape = (len(ensemble.scenarios), ensemble.samples)
    dims = ("scenario", "sample", "time")
    cube = results.values.reshape(shape + results.values.shape[1:])
    data: dict[str, Any] = {
        name: (dims, cube[:, :, :, i], {"units": results.units.get(name, ""),
                                         "description": results.docs.get(name, "")})
        for i, name in enumerate(results.names)}
    taken = set(data) | {"scenario", "label", "description", "change_start", "sample", "time"}
    status = own_name(STATUS, taken)   # a model variable named "status" keeps its name
    data[status] = (("scenario", "sample"),
                    np.array([results.status(i) for i in range(ensemble.size)]).reshape(shape))
    for name, values in ensemble.draws.items():
        data[own_name(f"param:{name}", set(data) | taken)] = (("sample",), values)
    coords = {
        "scenario": np.array(ensemble.names, dtype=str),
        "label": ("scenario", np.array([s.title for s in ensemble.scenarios], dtype=str)),
        "description": ("scenario", np.array([s.description for s in ensemble.scenarios],
                                             dtype=str)),
        "change_start": ("scenario", np.array(ensemble.change_start, dtype=float)),
        "sample": np.arange(ensemble.samples), "time": results.times}
    attrs = {"model": str(model), "method": results.method, "seed": int(ensemble.seed),
             "baseline": ensemble.baseline, "uncertain_parameters": ",".join(ensemble.draws),
             "status_variable": status}
    return xr.Dataset(data, coords=coords, attrs=attrs)
