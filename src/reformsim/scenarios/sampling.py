"""Draws of uncertain constants: Latin hypercube, Sobol or plain random, through scipy."""

from __future__ import annotations

import warnings

import numpy as np

from .spec import Uncertainty

# Quantiles are kept off 0 and 1, where unbounded distributions are infinite.
_EDGE = 1e-12


def unit_sample(method: str, samples: int, dimensions: int, seed: int) -> np.ndarray:
    """Points in the unit hypercube, shape (M, D), reproducible from ``seed``.

    ``lhs`` puts exactly one point in each of the M strata of every
    dimension; ``sobol`` is scrambled Sobol (best balanced for M a power of
    two); ``random`` is independent uniform draws.
    """
    from scipy.stats import qmc

    if method == "lhs":
        return qmc.LatinHypercube(d=dimensions, rng=seed).random(samples)
    if method == "sobol":
        with warnings.catch_warnings():   # balance needs M = 2^k; any M still samples well
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            return qmc.Sobol(d=dimensions, scramble=True, rng=seed).random(samples)
    if method == "random":
        return np.random.default_rng(seed).random((samples, dimensions))
    raise ValueError(f"unknown sampling method {method!r}")


def sample(uncertainty: Uncertainty | None) -> dict[str, np.ndarray]:
    """One array of M draws per uncertain constant (empty without uncertainty)."""
    if uncertainty is None:
        return {}
    parameters = uncertainty.parameters
    unit = unit_sample(uncertainty.method, uncertainty.samples, len(parameters), uncertainty.seed)
    unit = np.clip(unit, _EDGE, 1 - _EDGE)
    return {d.name: np.asarray(d.ppf(unit[:, j]), dtype=float)
            for j, d in enumerate(parameters)}
