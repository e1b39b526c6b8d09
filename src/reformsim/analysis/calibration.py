"""Fit constants to data: weighted least squares or a Gaussian likelihood, batched.

A global search (differential evolution, one simulate call per generation) is refined by
``scipy.optimize.least_squares`` whose Jacobian is one simulate call of D + 1 members.
Intervals: ``mcmc`` samples the likelihood (flat priors on the ranges) with emcee's
affine-invariant ensemble sampler, all walkers of a step in one simulate call, and reports
the 2.5th-97.5th percentiles; ``wald`` is the linearised covariance at the fit.
Error scales: ``wls`` takes sigma_s^2 = s^2 / w_s with s^2 = weighted SSE / (n - D);
``gaussian`` estimates each series' own sigma_s^2 = SSE_s / n_s (weights are ignored).

What is fitted: constants, and stocks' initial values (``initial``). A series of weight 0 is a
check: compared with the fit (its Theil statistics are reported) but not fitted to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.ir import fold_name
from ..scenarios.spec import Distribution
from .batch import Base, Progress, resolve_names, resolve_stocks, run_candidates
from .data import Observations
from .requests import RequestError
from .theil import theil

OBJECTIVES = ("wls", "gaussian")
INTERVALS = ("mcmc", "wald")
LEVEL = 0.95


@dataclass(frozen=True)
class Calibration:
    """Fitted constants (``params``) and stocks' initial values (``initial``), their
    intervals (by name), the fit's Theil statistics per series (checks included:
    ``weights`` 0), and the trajectories for a data-versus-fit plot (``band``: 5th and 95th
    percentiles over posterior draws, mcmc only)."""

    params: dict[str, float]
    initial: dict[str, float]
    weights: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    theil: dict[str, dict[str, float]]
    sigma: dict[str, float]
    objective: str
    interval_method: str
    evaluations: int
    observations: Observations
    times: np.ndarray
    fit: dict[str, np.ndarray]
    band: dict[str, np.ndarray] | None
    chain: np.ndarray | None
    base: Base

    @property
    def checks(self) -> tuple[str, ...]:
        """Series compared with the fit but not fitted to (weight 0)."""
        return tuple(n for n, w in self.weights.items() if w == 0)

    def document(self) -> dict[str, Any]:
        """The JSON document: params, intervals, theil (and initial, when stocks' initial
        values were fitted)."""
        return {"params": dict(self.params),
                **({"initial": dict(self.initial)} if self.initial else {}),
                "intervals": {n: [lo, hi] for n, (lo, hi) in self.intervals.items()},
                "theil": self.theil}


class _Problem:
    """Residuals of candidate constants against the data, one simulate call per batch."""

    def __init__(self, base: Base, names: list[str], stocks: list[str], data: Observations,
                 weights: dict[str, float], integrator: str) -> None:
        self.base, self.names, self.stocks, self.data = base, names, stocks, data
        self.integrator, self.weights = integrator, weights
        self.fitted = tuple(n for n in data.names if weights[n] > 0)
        self.evaluations = 0

    @property
    def points(self) -> int:
        """Data points fitted to (checks left out)."""
        return sum(len(self.data.values[n]) for n in self.fitted)

    def trajectories(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Save times, and each series' trajectory per candidate (C, T); ``x`` holds the
        constants, then the stocks' initial values."""
        columns = np.atleast_2d(x).T
        k = len(self.names)
        results = run_candidates(self.base, dict(zip(self.names, columns[:k])),
                                 list(self.data.names), self.integrator,
                                 initial=dict(zip(self.stocks, columns[k:])))
        self.evaluations += results.size
        return results.times, {n: results[n] for n in self.data.names}

    def predictions(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Each series at its data times per candidate (C, n_s); NaN where a member failed."""
        times, paths = self.trajectories(x)
        out = {}
        for name, values in paths.items():
            t = self.data.times[name]
            if t.min() < times[0] - 1e-9 or t.max() > times[-1] + 1e-9:
                raise RequestError(self.data.source, name, f"data from {t.min():g} to "
                                   f"{t.max():g} reach outside the run ({times[0]:g} to "
                                   f"{times[-1]:g})", hint="drop those rows, or start the "
                                   "run earlier (--start) or end it later (FINAL TIME)")
            i = np.clip(np.searchsorted(times, t), 1, len(times) - 1)
            w = (t - times[i - 1]) / (times[i] - times[i - 1])
            out[name] = values[:, i - 1] * (1 - w) + values[:, i] * w
        return out

    def errors(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Model minus data at the data times, per fitted series (C, n_s)."""
        return {n: p - self.data.values[n] for n, p in self.predictions(x).items()
                if n in self.fitted}

    def cost(self, x: np.ndarray, objective: str) -> np.ndarray:
        """(C,): weighted SSE, or the Gaussian negative log-likelihood with each series'
        sigma profiled out (sum of n_s / 2 log(SSE_s / n_s))."""
        errors = self.errors(x)
        if objective == "wls":
            total = sum(self.weights[n] * (e ** 2).sum(axis=1) for n, e in errors.items())
        else:
            total = sum(e.shape[1] / 2 * np.log(np.maximum((e ** 2).mean(axis=1), 1e-300))
                        for e in errors.values())
        return np.where(np.isfinite(total), total, np.inf)

    def scaled(self, x: np.ndarray, sigma: dict[str, float]) -> np.ndarray:
        """(C, n) errors divided by their series' sigma."""
        return np.hstack([e / sigma[n] for n, e in self.errors(x).items()])


def calibrate_to(base: Base, params: Sequence[Distribution], data: Observations, *,
                 initial: Sequence[Distribution] = (),
                 weights: Mapping[str, float] | None = None, objective: str = "wls",
                 intervals: str = "mcmc", steps: int = 1000, seed: int = 0,
                 integrator: str = "euler", progress: Progress | None = None) -> Calibration:
    """Fit ``params`` (uniform ranges of constants) and ``initial`` (uniform ranges of
    stocks' initial values) of ``base`` to ``data``."""
    if objective not in OBJECTIVES:
        raise RequestError("--objective", objective, f"expected one of {', '.join(OBJECTIVES)}")
    if intervals not in INTERVALS:
        raise RequestError("--intervals", intervals, f"expected one of {', '.join(INTERVALS)}")
    if not (params or initial) or any(d.kind != "uniform" for d in (*params, *initial)):
        raise RequestError("--param", "", "give the constants to fit as NAME=LOW:HIGH "
                           "(and stocks' initial values as --initial NAME=LOW:HIGH)")
    names = resolve_names(base, [d.name for d in params], "--param")
    stocks = resolve_stocks(base, [d.name for d in initial], "--initial")
    bounds = np.array([d.args for d in (*params, *initial)], dtype=float)
    problem = _Problem(base, names, stocks, data, _weights(data, weights or {}), integrator)
    if not problem.fitted:
        raise RequestError("--weight", "", "every series has weight 0: nothing to fit to",
                           hint="give at least one series a positive weight")
    if problem.points <= len(bounds):
        raise RequestError(data.source, "", f"{problem.points} data points cannot fit "
                           f"{len(bounds)} values")
    best = _search(problem, bounds, objective, seed)
    sigma = _sigma(problem, best, objective)
    best = _refine(problem, best, bounds, sigma)
    sigma = _sigma(problem, best, objective)
    chain = band = None
    if intervals == "mcmc":
        chain = _mcmc(problem, best, bounds, sigma, steps, seed, progress)
        found = np.percentile(chain, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2], axis=0).T
        draws = chain[np.random.default_rng(seed).choice(len(chain), min(200, len(chain)),
                                                         replace=False)]
        _, paths = problem.trajectories(draws)
        band = {n: np.nanpercentile(p, [5, 95], axis=0) for n, p in paths.items()}
    else:
        found = _wald(problem, best, bounds, sigma)
    times, fitted = problem.trajectories(best[None])
    predicted = problem.predictions(best[None])
    stats = {n: theil(predicted[n][0], data.values[n]) for n in data.names}
    k = len(names)
    return Calibration(dict(zip(names, map(float, best[:k]))),
                       dict(zip(stocks, map(float, best[k:]))), problem.weights,
                       {n: (float(lo), float(hi)) for n, (lo, hi) in zip(names + stocks, found)},
                       stats, sigma, objective, intervals, problem.evaluations, data, times,
                       {n: v[0] for n, v in fitted.items()}, band, chain, base)


def _weights(data: Observations, given: Mapping[str, float]) -> dict[str, float]:
    by_fold = {fold_name(n): n for n in data.names}
    weights = dict.fromkeys(data.names, 1.0)
    for name, weight in given.items():
        if fold_name(name) not in by_fold:
            from ..errors import did_you_mean

            raise RequestError("--weight", name, "is not a series of the data",
                               hint=did_you_mean(name, data.names)
                               or "the series are " + ", ".join(data.names))
        if not weight >= 0:
            raise RequestError("--weight", name, f"weight {weight:g} must be positive (or 0: "
                               "a check, compared with the fit but not fitted to)")
        weights[by_fold[fold_name(name)]] = float(weight)
    return weights


def _search(problem: _Problem, bounds: np.ndarray, objective: str, seed: int) -> np.ndarray:
    from scipy.optimize import differential_evolution

    found = differential_evolution(lambda x: problem.cost(x.T, objective), bounds,
                                   vectorized=True, updating="deferred", popsize=15,
                                   maxiter=200, tol=1e-8, rng=seed, polish=False,
                                   init="sobol" if len(bounds) > 1 else "latinhypercube")
    if not np.isfinite(found.fun):
        raise RequestError(problem.data.source, "", "no parameter values within the ranges "
                           "gave a finite fit", hint="check the ranges")
    return np.asarray(found.x, float)


def _sigma(problem: _Problem, x: np.ndarray, objective: str) -> dict[str, float]:
    errors = {n: e[0] for n, e in problem.errors(x[None]).items()}
    if objective == "gaussian":
        return {n: float(max(np.sqrt((e ** 2).mean()), 1e-12)) for n, e in errors.items()}
    dof = max(1, problem.points - len(x))
    s2 = sum(problem.weights[n] * (e ** 2).sum() for n, e in errors.items()) / dof
    return {n: float(max(np.sqrt(s2 / problem.weights[n]), 1e-12)) for n in errors}


def _jacobian(problem: _Problem, x: np.ndarray, bounds: np.ndarray,
              sigma: dict[str, float]) -> np.ndarray:
    """Forward differences in one simulate call of D + 1 members; steps point inwards."""
    step = np.sqrt(np.finfo(float).eps) * np.maximum(np.abs(x), bounds[:, 1] - bounds[:, 0])
    step = np.where(x + step > bounds[:, 1], -step, step)
    points = np.vstack([x, x + np.diag(step)])
    r = problem.scaled(points, sigma)
    return ((r[1:] - r[0]) / step[:, None]).T


def _refine(problem: _Problem, x: np.ndarray, bounds: np.ndarray,
            sigma: dict[str, float]) -> np.ndarray:
    from scipy.optimize import least_squares

    found = least_squares(lambda v: problem.scaled(v[None], sigma)[0], x,
                          jac=lambda v: _jacobian(problem, v, bounds, sigma),
                          bounds=(bounds[:, 0], bounds[:, 1]), method="trf", x_scale="jac")
    return np.clip(found.x, bounds[:, 0], bounds[:, 1])


def _wald(problem: _Problem, x: np.ndarray, bounds: np.ndarray,
          sigma: dict[str, float]) -> np.ndarray:
    from scipy.stats import norm

    j = _jacobian(problem, x, bounds, sigma)
    covariance = np.linalg.pinv(j.T @ j)
    half = norm.ppf((1 + LEVEL) / 2) * np.sqrt(np.maximum(np.diag(covariance), 0))
    return np.column_stack([x - half, x + half])


def _mcmc(problem: _Problem, x: np.ndarray, bounds: np.ndarray, sigma: dict[str, float],
          steps: int, seed: int, progress: Progress | None) -> np.ndarray:
    """Posterior draws (flat priors on the ranges), burn-in (a third) dropped; (draws, D)."""
    import emcee

    d = len(x)
    walkers = max(16, 4 * d + (4 * d) % 2)

    def log_probability(theta: np.ndarray) -> np.ndarray:
        inside = np.all((theta >= bounds[:, 0]) & (theta <= bounds[:, 1]), axis=1)
        out = np.full(len(theta), -np.inf)
        if inside.any():
            r = problem.scaled(theta[inside], sigma)
            out[inside] = np.where(np.isfinite(r).all(axis=1), -0.5 * (r ** 2).sum(axis=1),
                                   -np.inf)
        return out

    rng = np.random.default_rng(seed)
    spread = 1e-3 * (bounds[:, 1] - bounds[:, 0])
    start = np.clip(x + spread * rng.standard_normal((walkers, d)), bounds[:, 0], bounds[:, 1])
    sampler = emcee.EnsembleSampler(walkers, d, log_probability, vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()
    for k, _ in enumerate(sampler.sample(start, iterations=steps), start=1):
        if progress is not None:
            progress(k, steps)
    return sampler.get_chain(discard=steps // 3, flat=True)
