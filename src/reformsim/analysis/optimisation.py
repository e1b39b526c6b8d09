"""Choose levers within bounds and linear constraints to maximise or minimise an objective,
with scipy's differential evolution: each generation (population x uncertainty samples) is
one simulate call.

Equality constraints are eliminated before the search (a lever per equality is written as
an affine function of the others, and its bounds become inequalities on them), since a
random search almost never lands on a hyperplane. A robust objective is the mean, or a
percentile, of the objective over the base scenario's uncertainty samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..scenarios.spec import Distribution
from .batch import Base, Progress, measure, resolve_names, run_candidates
from .constraints import Constraint, lever_resolver, matrix, parse_constraint
from .requests import Period, RequestError


@dataclass(frozen=True)
class Optimum:
    """The best levers found and how the search went.

    ``objective`` is the robust objective (mean or percentile over samples) of the best
    levers; ``evaluations`` counts simulated members (candidates x samples); ``history``
    has one row per generation: generation, evaluations (so far), best (so far),
    median (of the generation's feasible candidates).
    """

    levers: dict[str, float]
    objective: float
    evaluations: int
    candidates: int
    history: pd.DataFrame
    converged: bool
    message: str
    variable: str
    period: Period
    maximize: bool
    robust: str
    constraints: tuple[Constraint, ...]
    bounds: dict[str, tuple[float, float]]
    base: Base

    def document(self) -> dict[str, Any]:
        """The JSON document: levers, objective, evaluations."""
        return {"levers": dict(self.levers), "objective": float(self.objective),
                "evaluations": int(self.evaluations)}


def robust_statistic(robust: str) -> Any:
    """``mean`` or ``pNN`` (a percentile, 0-100) over samples -> a function of (C, M)."""
    if robust == "mean":
        return lambda v: v.mean(axis=1)
    if robust.startswith("p"):
        try:
            q = float(robust[1:])
        except ValueError:
            q = -1.0
        if 0 <= q <= 100:
            return lambda v: np.percentile(v, q, axis=1)
    raise RequestError("--robust", robust, "is not 'mean' or a percentile 'p0'...'p100'",
                       hint="e.g. --robust p10: the 10th percentile over the futures")


def optimise(base: Base, levers: Sequence[Distribution], variable: str, period: Period, *,
             maximize: bool = True, constraints: Sequence[str] = (), robust: str = "mean",
             population: int = 15, generations: int = 200, tol: float = 1e-6, seed: int = 0,
             integrator: str = "euler", progress: Progress | None = None) -> Optimum:
    """Search the levers' box (``uniform`` distributions give the bounds) under the
    constraints for the best ``variable`` at ``period``."""
    from scipy.optimize import LinearConstraint, differential_evolution

    if not levers:
        raise RequestError("--lever", "", "no levers to optimise",
                           hint='give --lever "NAME=LOW:HIGH"')
    if any(d.kind != "uniform" for d in levers):
        raise RequestError("--lever", "", "levers take ranges (NAME=LOW:HIGH)")
    names = resolve_names(base, [d.name for d in levers], "--lever")
    bounds = np.array([d.args for d in levers], dtype=float)
    parsed = tuple(parse_constraint(c, lever_resolver(names)) for c in constraints)
    a, low, high = matrix(parsed, names)
    _check_feasible(a, low, high, bounds, parsed)
    space = _Space.of(a, low, high, bounds)
    statistic = robust_statistic(robust)
    sign = -1.0 if maximize else 1.0
    track = _Track(maximize)

    def objective(z: np.ndarray) -> np.ndarray:
        x = space.levers(z.reshape(space.dimensions, -1))            # (D, S)
        if x.shape[1] == 0:                  # a generation without a feasible candidate
            return np.empty(0)
        results = run_candidates(base, dict(zip(names, x)), [variable], integrator)
        values = measure(results, variable, period).reshape(x.shape[1], base.samples)
        values = np.where(np.isfinite(values), values, np.nan)
        score = statistic(values)
        track(score, x, x.shape[1] * base.samples)
        if progress is not None:
            progress(len(track.rows), generations + 1)
        return np.where(np.isfinite(score), sign * score, np.inf)

    linear = [LinearConstraint(space.a, space.low, space.high)] if len(space.a) else []
    found = differential_evolution(objective, space.bounds, constraints=linear,
                                   vectorized=True, updating="deferred", popsize=population,
                                   maxiter=generations, tol=tol, rng=seed, polish=False,
                                   init=space.initial(population * space.dimensions, seed))
    if track.best_x is None:
        raise RequestError("", variable, "no candidate gave a finite objective",
                           hint="check the lever ranges: the model may not run there")
    best = np.clip(track.best_x, bounds[:, 0], bounds[:, 1])
    return Optimum(dict(zip(names, map(float, best))), float(track.best), track.evaluations,
                   track.candidates, pd.DataFrame(track.rows), bool(found.success),
                   str(found.message), variable, period, maximize, robust, parsed,
                   {n: (float(lo), float(hi)) for n, (lo, hi) in zip(names, bounds)}, base)


class _Track:
    """Best feasible candidate so far, and one history row per objective call (generation)."""

    def __init__(self, maximize: bool) -> None:
        self.maximize, self.rows = maximize, []
        self.best, self.best_x = (-np.inf if maximize else np.inf), None
        self.evaluations = self.candidates = 0

    def __call__(self, score: np.ndarray, x: np.ndarray, members: int) -> None:
        self.evaluations += members
        self.candidates += len(score)
        finite = np.isfinite(score)
        if finite.any():
            k = int(np.nanargmax(score) if self.maximize else np.nanargmin(score))
            if (score[k] > self.best) if self.maximize else (score[k] < self.best):
                self.best, self.best_x = float(score[k]), x[:, k].copy()
        median = float(np.median(score[finite])) if finite.any() else np.nan
        self.rows.append({"generation": len(self.rows), "evaluations": self.evaluations,
                          "best": self.best, "median": median})


@dataclass(frozen=True)
class _Space:
    """The search space after eliminating equalities: levers x = T z + t."""

    t_matrix: np.ndarray       # (D, D')
    offset: np.ndarray         # (D,)
    bounds: np.ndarray         # (D', 2)
    a: np.ndarray              # inequality rows on z
    low: np.ndarray
    high: np.ndarray

    @property
    def dimensions(self) -> int:
        return self.bounds.shape[0]

    def levers(self, z: np.ndarray) -> np.ndarray:
        return self.t_matrix @ z + self.offset[:, None]

    def initial(self, count: int, seed: int) -> np.ndarray:
        """A feasible first generation: Latin hypercube points of the box, each infeasible
        one pulled along the line to a feasible centre until it satisfies every constraint
        (a random first generation of a small feasible region, e.g. a budget simplex, would
        be almost all infeasible)."""
        from scipy.optimize import linprog
        from scipy.stats import qmc

        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        z = lo + qmc.LatinHypercube(d=self.dimensions, rng=seed).random(max(count, 5)) * (hi - lo)
        if not len(self.a):
            return z
        rows = np.vstack([self.a[np.isfinite(self.high)], -self.a[np.isfinite(self.low)]])
        limits = np.concatenate([self.high[np.isfinite(self.high)],
                                 -self.low[np.isfinite(self.low)]])
        # the centre: the point of the box with the largest slack on every constraint
        norms = np.linalg.norm(rows, axis=1)
        found = linprog(np.r_[np.zeros(self.dimensions), -1.0],
                        A_ub=np.column_stack([rows, norms]), b_ub=limits,
                        bounds=[*zip(lo, hi), (0, None)], method="highs")
        centre = found.x[:-1] if found.status == 0 else (lo + hi) / 2
        step = (z - centre) @ rows.T                                 # (P, R)
        room = limits - centre @ rows.T                              # (R,) >= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(step > room, room / step, 1.0).min(axis=1)
        return centre + np.clip(t, 0, 1)[:, None] * (z - centre)

    @classmethod
    def of(cls, a: np.ndarray, low: np.ndarray, high: np.ndarray, bounds: np.ndarray) -> _Space:
        from scipy.linalg import qr

        d = bounds.shape[0]
        equal = low == high
        a_eq, b_eq = a[equal], low[equal]
        if not len(a_eq):
            return cls(np.eye(d), np.zeros(d), bounds, a, low, high)
        _, r, order = qr(a_eq, pivoting=True)
        rank = int((np.abs(np.diag(r)) > 1e-10 * np.abs(r).max()).sum())
        pivots, free = np.sort(order[:rank]), np.sort(order[rank:])
        # x_P = solve(A_P, b - A_F x_F): least squares on the independent rows
        solve = np.linalg.pinv(a_eq[:, pivots])
        t_matrix = np.zeros((d, len(free)))
        t_matrix[free, np.arange(len(free))] = 1.0
        t_matrix[pivots] = -solve @ a_eq[:, free]
        offset = np.zeros(d)
        offset[pivots] = solve @ b_eq
        rows = [a[~equal] @ t_matrix, t_matrix[pivots]]
        lows = [low[~equal] - a[~equal] @ offset, bounds[pivots, 0] - offset[pivots]]
        highs = [high[~equal] - a[~equal] @ offset, bounds[pivots, 1] - offset[pivots]]
        return cls(t_matrix, offset, bounds[free], np.vstack(rows), np.concatenate(lows),
                   np.concatenate(highs))


def _check_feasible(a: np.ndarray, low: np.ndarray, high: np.ndarray, bounds: np.ndarray,
                    constraints: Sequence[Constraint]) -> None:
    """An error naming each constraint's reach when no lever values satisfy them all."""
    if not len(a):
        return
    from scipy.optimize import linprog

    upper = np.isfinite(high)
    lower = np.isfinite(low) & (low != high)
    equal = low == high
    found = linprog(np.zeros(a.shape[1]),
                    A_ub=np.vstack([a[upper & ~equal], -a[lower]]) if (upper & ~equal).any()
                    or lower.any() else None,
                    b_ub=np.concatenate([high[upper & ~equal], -low[lower]])
                    if (upper & ~equal).any() or lower.any() else None,
                    A_eq=a[equal] if equal.any() else None, b_eq=low[equal] if equal.any()
                    else None, bounds=bounds.tolist(), method="highs")
    if found.status != 2:
        return
    reach = []
    for c, row in zip(constraints, a):
        lo = float(np.where(row > 0, bounds[:, 0], bounds[:, 1]) @ row)
        hi = float(np.where(row > 0, bounds[:, 1], bounds[:, 0]) @ row)
        reach.append(f"{c.text!r}: its levers reach {lo:g} to {hi:g}")
    raise RequestError("--constraint", "", "no lever values within the ranges satisfy every "
                       "constraint", hint="; ".join(reach))
