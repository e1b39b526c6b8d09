"""Global sensitivity through SALib: Sobol (S1, ST, optional S2, bootstrap intervals),
Morris elementary effects and FAST, on top of a base scenario.

The whole design (plus the one-at-a-time swings of a tornado chart) is one simulate call.
SALib samples the unit hypercube; each column is mapped through its parameter's quantile
function, so uniform ranges and the scenario file's distributions are treated alike (the
indices are those of the inputs' own distributions).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..engine.results import Results
from ..scenarios.spec import Distribution
from .batch import Base, Progress, final_period, measure, resolve_names, run_candidates
from .requests import Period, RequestError, swing

_EDGE = 1e-12   # quantiles stay off 0 and 1, where unbounded distributions are infinite
MAX_TIMES = 41  # save times analysed for indices over time


@dataclass(frozen=True)
class Method:
    """A SALib method: its design over the unit cube and its estimator, per output."""

    design: Callable[[dict, int, int, bool], np.ndarray]
    analyze: Callable[[dict, np.ndarray, np.ndarray, int, bool], Mapping[str, Any]]
    columns: tuple[str, ...]
    default_samples: int
    evaluations: str        # how the design's size follows from N and D, for docs and errors


def _sobol_design(problem: dict, n: int, seed: int, second: bool) -> np.ndarray:
    from SALib.sample import sobol

    if n < 2 or n & (n - 1):
        raise RequestError("--samples", str(n), "Sobol's design needs a power of two",
                           hint=f"use {1 << max(1, (n - 1).bit_length())}")
    return sobol.sample(problem, n, calc_second_order=second, seed=seed)


def _sobol_analyze(problem: dict, x: np.ndarray, y: np.ndarray, seed: int,
                   second: bool) -> Mapping[str, Any]:
    from SALib.analyze import sobol

    return sobol.analyze(problem, y, calc_second_order=second, seed=seed)


def _morris_design(problem: dict, n: int, seed: int, second: bool) -> np.ndarray:
    from SALib.sample import morris

    return morris.sample(problem, n, num_levels=4, seed=seed)


def _morris_analyze(problem: dict, x: np.ndarray, y: np.ndarray, seed: int,
                    second: bool) -> Mapping[str, Any]:
    from SALib.analyze import morris

    return morris.analyze(problem, x, y, num_levels=4, seed=seed)


def _fast_design(problem: dict, n: int, seed: int, second: bool) -> np.ndarray:
    from SALib.sample import fast_sampler

    if n <= 64:   # SALib: N > 4 M^2 with the interference factor M = 4
        raise RequestError("--samples", str(n), "FAST needs more than 64 samples per parameter",
                           hint="use 1024, say")
    return fast_sampler.sample(problem, n, M=4, seed=seed)


def _fast_analyze(problem: dict, x: np.ndarray, y: np.ndarray, seed: int,
                  second: bool) -> Mapping[str, Any]:
    from SALib.analyze import fast

    with warnings.catch_warnings():  # its bootstrap intervals are indicative: docs/analysis.md
        warnings.filterwarnings("ignore", message="FAST confidence intervals")
        return fast.analyze(problem, y, M=4, seed=seed)


METHODS: dict[str, Method] = {
    "sobol": Method(_sobol_design, _sobol_analyze, ("S1", "S1_conf", "ST", "ST_conf"), 1024,
                    "N x (D + 2), or N x (2D + 2) with second order"),
    "morris": Method(_morris_design, _morris_analyze, ("mu_star", "mu_star_conf", "sigma", "mu"),
                     64, "N x (D + 1) (N trajectories)"),
    "fast": Method(_fast_design, _fast_analyze, ("S1", "S1_conf", "ST", "ST_conf"), 1024,
                   "N x D"),
}


@dataclass(frozen=True)
class Sensitivity:
    """A study's indices, swings and what it ran.

    ``indices``: one row per output x time x parameter with ``output``, ``time`` (a number,
    or ``[start, end]`` for a period mean), ``parameter`` and the method's columns (Sobol and
    FAST: S1, S1_conf, ST, ST_conf, and S2/S2_conf maps with second order; Morris: mu_star,
    mu_star_conf, sigma, mu). ``over_time``: the same at up to MAX_TIMES save times.
    ``swings``: each parameter alone at the low and high end of its swing, the others at
    the base scenario's values (a tornado chart).
    """

    method: str
    outputs: tuple[str, ...]
    parameters: tuple[Distribution, ...]
    indices: pd.DataFrame
    over_time: pd.DataFrame
    swings: pd.DataFrame
    evaluations: int
    results: Results              # the design's members (first) and the swings' (last 2D + 1)
    design: np.ndarray            # (members, D) parameter values of the design
    base: Base                    # what the study departed from

    def records(self) -> list[dict[str, Any]]:
        """``indices`` as JSON records (NaN -> None)."""
        return [{k: _plain(v) for k, v in row.items()} for row in self.indices.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value.item() if isinstance(value, np.generic) else value


def sensitivity_study(base: Base, parameters: Sequence[Distribution], outputs: Sequence[str],
                      periods: Sequence[Period], *, method: str = "sobol",
                      samples: int | None = None, seed: int = 0, second_order: bool = False,
                      over_time: bool = True, integrator: str = "euler",
                      progress: Progress | None = None) -> Sensitivity:
    """Sample, simulate in one call, and estimate the indices of ``outputs`` at ``periods``."""
    if method not in METHODS:
        raise RequestError("--method", method, "is not a sensitivity method",
                           hint=f"choose one of {', '.join(METHODS)}")
    if not parameters:
        raise RequestError("--param", "", "no parameters to study",
                           hint="give --param NAME=LOW:HIGH, or --uncertain or --levers")
    if second_order and method != "sobol":
        raise RequestError("--second-order", "", f"only Sobol has second-order indices, not "
                           f"{method}")
    names = resolve_names(base, [d.name for d in parameters], "--param")
    chosen = METHODS[method]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    unit = chosen.design(problem, samples or chosen.default_samples, seed, second_order)
    design = np.column_stack([np.asarray(d.ppf(np.clip(unit[:, j], _EDGE, 1 - _EDGE)), float)
                              for j, d in enumerate(parameters)])
    swings = _swing_values(base, parameters, names)
    values = np.vstack([design, swings])
    results = run_candidates(base, dict(zip(names, values.T)), outputs, integrator, progress)
    _refuse_failures(results, len(design) * base.samples)
    periods = list(periods) or [final_period(results)]
    estimate = _Estimator(chosen, problem, unit, seed, second_order, base.samples, len(design))
    indices = pd.DataFrame([row for output in outputs for period in periods
                            for row in estimate(output, period.jsonable(),
                                                measure(results, output, period))])
    over = pd.DataFrame([row for output in outputs for t in _time_points(results.times)
                         for row in estimate(output, float(t),
                                             measure(results, output, Period(t, t)))]
                        ) if over_time else pd.DataFrame()
    return Sensitivity(method, tuple(outputs), tuple(parameters), indices, over,
                       _swings(results, base, parameters, names, outputs, periods, len(design)),
                       int(len(design) * base.samples), results, design, base)


@dataclass(frozen=True)
class _Estimator:
    method: Method
    problem: dict
    unit: np.ndarray
    seed: int
    second: bool
    samples: int          # uncertainty samples of the base: the output is their mean
    size: int             # members of the design (the swings follow)

    def __call__(self, output: str, time: Any, values: np.ndarray) -> list[dict[str, Any]]:
        y = values[:self.size * self.samples].reshape(self.size, self.samples).mean(axis=1)
        names = self.problem["names"]
        if np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())):   # no variance: no index
            found: Mapping[str, Any] = {c: np.full(len(names), np.nan)
                                        for c in self.method.columns}
        else:
            found = self.method.analyze(self.problem, self.unit, y, self.seed, self.second)
        rows = []
        for j, name in enumerate(names):
            row = {"output": output, "time": time, "parameter": name}
            row.update({c: float(np.asarray(found[c])[j]) for c in self.method.columns})
            if self.second:
                row["S2"] = _pairs(found.get("S2"), names, j)
                row["S2_conf"] = _pairs(found.get("S2_conf"), names, j)
            rows.append(row)
        return rows


def _pairs(matrix: Any, names: Sequence[str], j: int) -> dict[str, float]:
    """Row j of SALib's upper-triangular S2 matrix, made symmetric: {other: value}."""
    if matrix is None:
        return {other: float("nan") for k, other in enumerate(names) if k != j}
    m = np.asarray(matrix, dtype=float)
    return {other: float(m[min(j, k), max(j, k)]) for k, other in enumerate(names) if k != j}


def _time_points(times: np.ndarray) -> np.ndarray:
    if len(times) <= MAX_TIMES:
        return times
    return times[np.unique(np.linspace(0, len(times) - 1, MAX_TIMES).round().astype(int))]


def _swing_values(base: Base, parameters: Sequence[Distribution],
                  names: Sequence[str]) -> np.ndarray:
    """2D + 1 rows: the base values, then each parameter at its low, then its high end."""
    centre = np.array([base.value(n) for n in names])
    rows = [centre]
    for end in (0, 1):
        for j, d in enumerate(parameters):
            row = centre.copy()
            row[j] = swing(d)[end]
            rows.append(row)
    return np.array(rows)


def _swings(results: Results, base: Base, parameters: Sequence[Distribution],
            names: Sequence[str], outputs: Sequence[str], periods: Sequence[Period],
            size: int) -> pd.DataFrame:
    d, m = len(names), base.samples
    rows = []
    for output in outputs:
        for period in periods:
            y = measure(results, output, period)[size * m:].reshape(2 * d + 1, m).mean(axis=1)
            for j, (name, dist) in enumerate(zip(names, parameters)):
                low, high = swing(dist)
                rows.append({"output": output, "time": period.jsonable(), "parameter": name,
                             "low": low, "high": high, "base_value": base.value(name),
                             "at_low": y[1 + j], "at_high": y[1 + d + j], "base": y[0]})
    return pd.DataFrame(rows)


def _refuse_failures(results: Results, design_members: int) -> None:
    failed = [k for k in results.failures if k < design_members]
    if failed:
        first = failed[0]
        raise RequestError("", "", f"{len(failed)} of {design_members} members went NaN/inf "
                           f"(first: member {first}, {results.failures[first]}); the indices "
                           "need every member",
                           hint="narrow the parameter ranges to values the model can run")
