"""Candidates on top of a base: one scenario (and its uncertainty samples) from which every
candidate of a study departs, run together in one ``simulate`` call.

Member ``c * M + m`` is candidate ``c`` under sample ``m`` of the base's uncertainty: every
candidate meets the same futures (common random numbers), as scenarios do in a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.compiled import CompiledModel
from ..engine.inputs import Series
from ..engine.results import Results
from ..model.ir import fold_name
from ..scenarios.ensemble import Ensemble, expand
from ..scenarios.spec import BASELINE, Scenario, ScenarioSet, resolve
from .requests import Period, RequestError, constant_name

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Base:
    """The model under one scenario, with M samples of its uncertainty (M = 1 without)."""

    model: CompiledModel
    ensemble: Ensemble
    files: tuple[Path, ...] = ()

    @property
    def scenario(self) -> Scenario:
        return self.ensemble.scenarios[0]

    @property
    def samples(self) -> int:
        return self.ensemble.samples

    @property
    def uncertain(self) -> tuple[str, ...]:
        """The constants drawn per sample."""
        return tuple(self.ensemble.draws)

    def value(self, name: str) -> float:
        """A scalar constant's value under the base scenario (its first sample; a scheduled
        constant's value at the start)."""
        from ..engine import settings

        target = settings.find(self.model, name, "constant")
        given = []
        for key, value in self.ensemble.params.items():
            if isinstance(value, Series):
                if fold_name(key) == fold_name(target.name):
                    return float(value.ys[0, 0])
                continue
            found = settings.find(self.model, key, "constant")
            array = np.asarray(value, dtype=float)
            given.append((found, settings.as_value(found, array[:1] if array.ndim else array)))
        with np.errstate(all="ignore"):
            values = self.model.init(settings.overrides(given), {},
                                     np.zeros(1, dtype=np.uint64))
        return float(settings.read(values, target, 1)[0])


def make_base(model: CompiledModel, scenarios: ScenarioSet | None = None,
              scenario: str | None = None, *, uncertain: bool = True,
              samples: int | None = None, time: Mapping[str, float] | None = None) -> Base:
    """The base of a study: ``scenario`` of ``scenarios`` (default: its baseline, else its
    first), with the file's uncertainty when ``uncertain`` (``samples`` of it, if given);
    the model as it is without a file. ``time`` overrides control variables (``INITIAL
    TIME``...) over the file's ``time`` section.
    """
    if scenarios is None:
        scenarios = ScenarioSet()
    flat = {s.name: s for s in resolve(scenarios)}
    name = scenario or scenarios.baseline or next(iter(flat))
    if name not in flat:
        source = scenarios.sources[0] if scenarios.sources else "--scenario"
        from ..scenarios.spec import suggest

        raise RequestError(source, name, "is not a scenario of the file",
                           hint=suggest(name, flat) or "the scenarios are "
                           + ", ".join(repr(n) for n in flat))
    chosen = replace(flat[name], extends=None, packages=())
    uncertainty = scenarios.uncertainty if uncertain else None
    if uncertainty is not None and samples is not None:
        uncertainty = replace(uncertainty, samples=int(samples))
    alone = replace(scenarios, scenarios=(chosen,), packages=(), factorial=None, baseline=None,
                    outputs=None, uncertainty=uncertainty,
                    time={**scenarios.time, **{k: float(v) for k, v in (time or {}).items()}})
    return Base(model, expand(alone, model), scenarios.sources)


def base_of(model: CompiledModel | str | Path,
            scenario_files: Sequence[str | Path] | ScenarioSet = (),
            scenario: str | None = None, *, uncertain: bool = True,
            samples: int | None = None, time: Mapping[str, float] | None = None) -> Base:
    """:func:`make_base` from paths: the model (or a compiled one) and scenario files (or
    scenarios already read or built: a ScenarioSet)."""
    from ..engine.loading import load_model
    from ..scenarios.loading import load_scenarios

    compiled = model if isinstance(model, CompiledModel) else load_model(Path(model))
    if isinstance(scenario_files, ScenarioSet):
        scenarios: ScenarioSet | None = scenario_files
    else:
        files = tuple(Path(p) for p in scenario_files)
        scenarios = load_scenarios(files) if files else None
    if scenarios is None and scenario not in (None, BASELINE):
        raise RequestError("--scenario", scenario, "needs a scenario file to come from",
                           hint="give a scenario file (.yaml or .cin) that defines it")
    return make_base(compiled, scenarios, scenario, uncertain=uncertain, samples=samples,
                     time=time)


def resolve_names(base: Base, names: Sequence[str], where: str) -> list[str]:
    """Constants a study sets, spelled as in the model; none may be drawn per sample."""
    spelled = [constant_name(base.model, n, where) for n in names]
    drawn = {fold_name(n) for n in base.uncertain}
    for name in spelled:
        if fold_name(name) in drawn:
            raise RequestError(where, name, "is drawn by the scenario file's uncertainty, so a "
                               "study cannot also set it",
                               hint="remove it from 'uncertainty', or study it without "
                                    "--uncertain")
    if len({fold_name(n) for n in spelled}) < len(spelled):
        raise RequestError(where, "", "a constant is named twice")
    return spelled


def resolve_stocks(base: Base, names: Sequence[str], where: str) -> list[str]:
    """Stocks whose initial values a study sets, spelled as in the model."""
    from ..scenarios.checks import model_names

    known = model_names(base.model)
    spelled = []
    for name in names:
        folded = fold_name(name)
        if folded not in known.stocks:
            from ..scenarios.spec import suggest

            kind = known.kinds.get(folded)
            raise RequestError(where, name, f"is {kind} of {base.model.source.name}, not a stock"
                               if kind else f"is not a stock of {base.model.source.name}",
                               hint=suggest(name, known.stocks.values())
                               or "only a stock has an initial value to set")
        spelled.append(known.stocks[folded])
    if len({fold_name(n) for n in spelled}) < len(spelled):
        raise RequestError(where, "", "a stock is named twice")
    return spelled


def run_candidates(base: Base, values: Mapping[str, np.ndarray], outputs: Sequence[str],
                   method: str = "euler", progress: Progress | None = None,
                   initial: Mapping[str, np.ndarray] | None = None) -> Results:
    """Every candidate (row c of ``values``' arrays, (C,) each: constants; of ``initial``'s:
    stocks' initial values) under every sample of the base, in one simulate call: C x M
    members, member ``c * M + m``."""
    from ..engine.simulation import simulate

    ensemble, m = base.ensemble, base.samples
    initial = initial or {}
    sizes = {len(np.atleast_1d(v)) for v in (*values.values(), *initial.values())}
    if len(sizes) > 1:
        raise RequestError("", "", f"candidates differ in length: {sorted(sizes)}")
    count = sizes.pop() if sizes else 1

    def merged(given: Mapping[str, Any], chosen: Mapping[str, np.ndarray]) -> dict[str, Any]:
        names = {fold_name(n) for n in chosen}
        out = {name: _tile(value, count) for name, value in given.items()
               if fold_name(name) not in names}
        out.update({name: np.repeat(np.asarray(v, dtype=float).reshape(-1), m)
                    for name, v in chosen.items()})
        return out

    extra: dict[str, Any] = {}
    if ensemble.lookups:
        extra["lookups"] = {n: (v * count if isinstance(v, list) else v)
                            for n, v in ensemble.lookups.items()}
    return simulate(base.model, params=merged(ensemble.params, values),
                    initial=merged(ensemble.initial, initial),
                    method=method, outputs=list(outputs), progress=progress,
                    streams=np.tile(np.arange(m), count), seed=max(ensemble.seed, 0), **extra)


def _tile(value: Any, count: int) -> Any:
    """A base value for ``count`` candidates: per-sample arrays and schedules repeat."""
    if isinstance(value, Series):
        return Series(np.tile(value.xs, (count, 1)) if value.xs.shape[0] > 1 else value.xs,
                      np.tile(value.ys, (count, 1)) if value.ys.shape[0] > 1 else value.ys)
    array = np.asarray(value, dtype=float)
    if array.ndim == 0 or array.shape[0] == 1:
        return value
    return np.tile(array, (count,) + (1,) * (array.ndim - 1))


def measure(results: Results, variable: str, period: Period) -> np.ndarray:
    """One number per member: ``variable`` at a save time, or its time-average over a
    period. Shape (N,)."""
    return at_period(results.times, results[variable], period)


def at_period(times: np.ndarray, values: np.ndarray, period: Period) -> np.ndarray:
    """``values`` (..., T) at the save time nearest ``period.start``, or their time-average
    (trapezoid) over the save times within the period; shape (...)."""
    first, last = float(times[0]), float(times[-1])
    slack = 1e-9 * max(1.0, abs(first), abs(last))
    if period.start < first - slack or period.end > last + slack:
        raise RequestError("--at", period.label(), f"is outside the run ({first:g} to {last:g})")
    if period.is_point:
        return values[..., int(np.argmin(np.abs(times - period.start)))]
    inside = (times >= period.start - slack) & (times <= period.end + slack)
    if inside.sum() < 2:
        raise RequestError("--at", period.label(), "holds fewer than two save times",
                           hint="widen the period or save more often (SAVEPER)")
    span = times[inside][-1] - times[inside][0]
    return np.trapezoid(values[..., inside], times[inside], axis=-1) / span


def final_period(results: Results) -> Period:
    """The last save time, the default of ``--at``."""
    return Period(float(results.times[-1]), float(results.times[-1]))
