"""The explorer's model side, with no web code: a model compiled once, the scenario file's
scenarios as presets, the levers, and one ``simulate`` call per move.

A move is a preset plus the levers moved away from it. Moving a lever sets it as a
constant; where the preset schedules that lever (a budget ramping up in 2025), the moved
value replaces the schedule from the start of the run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ReformsimError, did_you_mean
from ..model.ir import fold_name
from ..scenarios.ensemble import expand, run
from ..scenarios.spec import Changes, Scenario, ScenarioSet, resolve
from .levers import Lever, find_levers, lever_elements

if TYPE_CHECKING:
    import xarray as xr

    from ..engine.compiled import CompiledModel

DEFAULT_KPIS = 4      # charts shown at first: the file's first outputs (or the first stocks)


@dataclass(frozen=True)
class Curves:
    """One run as its charts show it: per KPI the median and the 5-95% range over the
    samples (the single run three times over, without uncertainty), each of shape (T,)."""

    time: np.ndarray
    median: dict[str, np.ndarray]
    low: dict[str, np.ndarray]
    high: dict[str, np.ndarray]
    members: int
    seconds: float = 0.0       # wall time of the expansion and the simulate call


@dataclass(frozen=True)
class Move:
    """What the page asks for: a preset, the levers moved from it, the KPIs, bands or not."""

    preset: str
    levers: Mapping[str, float] = field(default_factory=dict)
    kpis: tuple[str, ...] = ()
    bands: bool = False


class Explorer:
    """A model and a scenario file, ready for one run per slider move."""

    def __init__(self, model: CompiledModel, scenarios: ScenarioSet,
                 kpis: Sequence[str] = (), start: str | None = None) -> None:
        self.model, self.scenarios = model, scenarios
        self.presets: dict[str, Scenario] = {s.name: s for s in resolve(scenarios)}
        self.baseline = scenarios.baseline or next(iter(self.presets))
        self.start = self.baseline if start is None else self.preset_named(start)
        self.variables = _chartable(model, scenarios)
        self.default_kpis = self.check_kpis(kpis) if kpis else self.variables[:DEFAULT_KPIS]
        self.time_units = next((e.units.strip() for e in model.elements
                                if e.ident == "initial_time"), "")
        names = [e.name for e in lever_elements(model, scenarios)]
        # every preset once, to read its levers' values (a scheduled one's at the end)
        everyone = run(expand(replace(scenarios, uncertainty=None,
                                      outputs=tuple(names or self.variables[:1])), model), model)
        self._values = {str(s): {n: float(everyone[n].sel(scenario=s).values[0, -1])
                                 for n in names} for s in everyone["scenario"].values}
        clock = (self.time_units, float(everyone["time"][0]), float(everyone["time"][-1]))
        self.levers: tuple[Lever, ...] = find_levers(
            model, scenarios, {n: [v[n] for v in self._values.values()] for n in names}, clock)
        self._baselines: dict[tuple[tuple[str, ...], bool], Curves] = {}

    @property
    def samples(self) -> int:
        """Uncertainty samples a run with bands holds (1: the file has no uncertainty)."""
        return self.scenarios.uncertainty.samples if self.scenarios.uncertainty else 1

    def lever_values(self, preset: str) -> dict[str, float]:
        """Each lever's value under a preset (a scheduled one: where its schedule ends)."""
        return dict(self._values[self._preset(preset).name])

    def scheduled(self, preset: str) -> set[str]:
        """Levers the preset changes over time (moving one replaces its schedule)."""
        names = {fold_name(n) for n in self._preset(preset).changes.schedule}
        return {lever.name for lever in self.levers if fold_name(lever.name) in names}

    def curves(self, move: Move) -> Curves:
        """Simulate a move: one call, with only the KPIs as outputs."""
        scenario = with_levers(self._preset(move.preset), move.levers)
        return self._simulate(scenario, move.kpis or self.default_kpis, move.bands)

    def baseline_curves(self, kpis: Sequence[str], bands: bool) -> Curves:
        """The baseline scenario as the file defines it; simulated once per KPIs and bands."""
        key = (tuple(kpis), bands)
        if key not in self._baselines:
            self._baselines[key] = self._simulate(self.presets[self.baseline], kpis, bands)
        return self._baselines[key]

    def units(self, variable: str) -> str:
        """A variable's units as the model writes them."""
        return next((e.units for e in self.model.elements if e.name == variable), "")

    def check_kpis(self, names: Sequence[str]) -> tuple[str, ...]:
        """KPI names as the model spells them; an error with "did you mean" otherwise."""
        known = {fold_name(v): v for v in self.variables}
        out = []
        for name in names:
            if fold_name(name) not in known:
                hint = did_you_mean(name, self.variables)
                raise ReformsimError(f"{self.model.source.name}: {name!r} is not a variable to "
                                     "chart" + (f"; {hint}" if hint else ""))
            out.append(known[fold_name(name)])
        return tuple(dict.fromkeys(out))

    def preset_named(self, name: str) -> str:
        """The preset a scenario's name or label means; an error with the choices otherwise."""
        by_text = {fold_name(key): key for key in self.presets}
        by_text.update({fold_name(s.label): key for key, s in self.presets.items() if s.label})
        if fold_name(name) not in by_text:
            hint = did_you_mean(name, self.presets) or \
                "the scenarios are " + ", ".join(repr(k) for k in self.presets)
            raise ReformsimError(f"{name!r} is not a scenario of the file; {hint}")
        return by_text[fold_name(name)]

    def _preset(self, name: str) -> Scenario:
        return self.presets[self.preset_named(name)]

    def _simulate(self, scenario: Scenario, kpis: Sequence[str], bands: bool) -> Curves:
        alone = replace(self.scenarios, scenarios=(scenario,), packages=(), factorial=None,
                        baseline=None, outputs=tuple(kpis),
                        uncertainty=self.scenarios.uncertainty if bands else None)
        started = time.perf_counter()
        dataset = run(expand(alone, self.model), self.model)
        return _curves(dataset, kpis, time.perf_counter() - started)


def with_levers(scenario: Scenario, levers: Mapping[str, float]) -> Scenario:
    """``scenario`` with ``levers`` set as constants (replacing any schedule of theirs)."""
    if not levers:
        return scenario
    moved = {fold_name(n) for n in levers}
    changes = scenario.changes.then(Changes(set=dict(levers)))
    schedule = {n: s for n, s in changes.schedule.items() if fold_name(n) not in moved}
    return replace(scenario, changes=replace(changes, schedule=schedule))


def _curves(dataset: xr.Dataset, kpis: Sequence[str], seconds: float) -> Curves:
    """Median and 5-95% over the samples that finished (NaN if none did), in numpy: the
    xarray route costs more than a one-member simulation."""
    finished = dataset["status"].values[0] == "ok"                     # (M,)
    spread = {}
    for kpi in kpis:
        values = dataset[kpi].values[0][finished]                      # (M ok, T)
        if len(values) == 0:
            spread[kpi] = np.full((3, dataset.sizes["time"]), np.nan)
        else:
            spread[kpi] = np.quantile(values, (0.05, 0.5, 0.95), axis=0)
    return Curves(time=dataset["time"].values.astype(float),
                  median={k: q[1] for k, q in spread.items()},
                  low={k: q[0] for k, q in spread.items()},
                  high={k: q[2] for k, q in spread.items()},
                  members=int(dataset.sizes["sample"]), seconds=seconds)


def _chartable(model: CompiledModel, scenarios: ScenarioSet) -> tuple[str, ...]:
    """Variables a chart may show: the file's outputs, the stocks, then every other scalar
    variable that changes during the run, in model order."""
    dynamic = [n.element.name for slot, n in model.nodes.items()
               if slot in model.dynamic and not n.element.dims]
    first = list(scenarios.outputs or ()) + [e.name for e in model.stocks if not e.dims]
    known = {fold_name(n): n for n in dynamic + first}
    return tuple(dict.fromkeys(known[fold_name(n)] for n in first + dynamic
                               if fold_name(n) in known))
