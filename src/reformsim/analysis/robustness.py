"""Robustness of roadmaps across sampled futures (Lempert, Popper and Bankes 2003): in each
future (sample) a roadmap's regret is how far it falls short of the best roadmap in that
future; a robust roadmap keeps its regret small everywhere, or meets a threshold in most
futures (satisficing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .requests import Period, RequestError
from .runs import periods_or_final, run_values, scenario_labels, variable_of


def robustness_table(dataset: Any, variables: Sequence[str], periods: Sequence[Period] = (),
                     *, maximize: bool = True, threshold: float | None = None) -> pd.DataFrame:
    """One row per scenario x output x time: ``mean``, ``p5``, ``p95`` of the output over
    futures, ``mean_regret`` and ``max_regret`` against the best scenario of each future
    (best = highest when ``maximize``), ``best_share`` (futures where it is the best), and
    ``meets`` (share of futures at or beyond ``threshold``) when one is given. Futures in
    which any scenario failed are left out."""
    if dataset.sizes["scenario"] < 2:
        raise RequestError("", "", "regret compares roadmaps: this run holds one scenario",
                           hint="run a scenario file with several roadmaps")
    rows = []
    for variable in (variable_of(dataset, v) for v in variables):
        for period in periods_or_final(dataset, periods):
            values = run_values(dataset, variable, period)           # (S, M)
            futures = np.isfinite(values).all(axis=0)
            if not futures.any():
                raise RequestError("", variable, "every future has a failed member")
            v = values[:, futures]
            best = v.max(axis=0) if maximize else v.min(axis=0)
            regret = (best - v) if maximize else (v - best)
            for s, (scenario, label) in enumerate(scenario_labels(dataset)):
                row = {"scenario": scenario, "label": label, "output": variable,
                       "time": period.jsonable(), "mean": float(v[s].mean()),
                       "p5": float(np.percentile(v[s], 5)),
                       "p95": float(np.percentile(v[s], 95)),
                       "mean_regret": float(regret[s].mean()),
                       "max_regret": float(regret[s].max()),
                       "best_share": float((regret[s] <= 1e-12).mean())}
                if threshold is not None:
                    meets = v[s] >= threshold if maximize else v[s] <= threshold
                    row["meets"] = float(meets.mean())
                rows.append(row)
    return pd.DataFrame(rows)
