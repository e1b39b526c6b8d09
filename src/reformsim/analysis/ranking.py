"""Rank a run's sampled parameters by their effect on an output, without rerunning:
Spearman's rank correlation between each parameter's draws and the output across samples,
per scenario (the draws of a Latin hypercube are independent, so each correlation stands
alone)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .requests import Period, RequestError
from .runs import periods_or_final, run_values, sampled_parameters, scenario_labels, variable_of


def rank_parameters(dataset: Any, variables: Sequence[str],
                    periods: Sequence[Period] = ()) -> pd.DataFrame:
    """One row per scenario x output x time x parameter: ``rho`` (Spearman) and ``p_value``,
    strongest first within each scenario, output and time; ``samples`` counts the finite
    members used."""
    from scipy.stats import spearmanr

    draws = sampled_parameters(dataset)
    if not draws:
        raise RequestError("", "", "this run has no sampled parameters to rank",
                           hint="run a scenario file with an 'uncertainty' section, or study "
                                "a model with --param NAME=LOW:HIGH")
    if dataset.sizes["sample"] < 3:
        raise RequestError("", "", f"this run has {dataset.sizes['sample']} samples; ranking "
                           "needs at least 3")
    rows = []
    for variable in (variable_of(dataset, v) for v in variables):
        for period in periods_or_final(dataset, periods):
            values = run_values(dataset, variable, period)
            for s, (scenario, label) in enumerate(scenario_labels(dataset)):
                ok = np.isfinite(values[s])
                found = []
                for name, x in draws.items():
                    if ok.sum() < 3 or np.ptp(values[s][ok]) == 0:
                        rho, p = np.nan, np.nan
                    else:
                        rho, p = spearmanr(x[ok], values[s][ok])
                    found.append({"scenario": scenario, "label": label, "output": variable,
                                  "time": period.jsonable(), "parameter": name,
                                  "rho": float(rho), "p_value": float(p),
                                  "samples": int(ok.sum())})
                rows += sorted(found, key=lambda r: -abs(r["rho"]) if np.isfinite(r["rho"])
                               else 0.0)
    return pd.DataFrame(rows)
