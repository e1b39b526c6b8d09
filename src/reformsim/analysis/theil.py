"""Theil's inequality statistics of a fit (Sterman 1984, "Appropriate summary statistics for
evaluating the historical fit of system dynamics models", Dynamica 10(2): 51-66).

MSE = mean((S - A)^2) splits into bias U^M = (mean S - mean A)^2 / MSE, unequal variation
U^S = (s_S - s_A)^2 / MSE and unequal covariation U^C = 2 (1 - r) s_S s_A / MSE, with
population standard deviations s and correlation r, so that U^M + U^S + U^C = 1. RMSPE is
the root mean square of the errors relative to the data (points where the data are 0 are
left out).
"""

from __future__ import annotations

import numpy as np


def theil(simulated: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """MSE, RMSPE, UM, US, UC of one series (1-D arrays of the same length, no NaN)."""
    s, a = np.asarray(simulated, float), np.asarray(actual, float)
    error = s - a
    mse = float(np.mean(error ** 2))
    nonzero = a != 0
    rmspe = float(np.sqrt(np.mean((error[nonzero] / a[nonzero]) ** 2))) if nonzero.any() \
        else float("nan")
    if mse == 0.0:
        return {"MSE": 0.0, "RMSPE": rmspe, "UM": 0.0, "US": 0.0, "UC": 0.0}
    sd_s, sd_a = float(s.std()), float(a.std())
    r = float(np.corrcoef(s, a)[0, 1]) if sd_s > 0 and sd_a > 0 else 0.0
    return {"MSE": mse, "RMSPE": rmspe,
            "UM": float((s.mean() - a.mean()) ** 2 / mse),
            "US": float((sd_s - sd_a) ** 2 / mse),
            "UC": float(2 * (1 - r) * sd_s * sd_a / mse)}
