"""Studies of a run that is already simulated: the xarray Dataset of ``reformsim run``
(dims scenario x sample x time; ``param:<name>`` per sample; ``status`` per member)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .batch import at_period
from .requests import Period, RequestError

PARAM = "param:"


def run_values(dataset: Any, variable: str, period: Period | None) -> np.ndarray:
    """``variable`` over (scenario, sample) at a period (default: the final time); NaN
    where a member failed."""
    variable = variable_of(dataset, variable)
    values = dataset[variable].transpose("scenario", "sample", "time").values.astype(float)
    times = dataset["time"].values.astype(float)
    chosen = at_period(times, values, period or Period(times[-1], times[-1]))
    if "status" in dataset:
        chosen = np.where(dataset["status"].transpose("scenario", "sample").values == "ok",
                          chosen, np.nan)
    return chosen


def variable_of(dataset: Any, variable: str) -> str:
    """The run's spelling of a variable."""
    known = [str(n) for n, v in dataset.data_vars.items() if "time" in v.dims]
    by_fold = {" ".join(k.replace("_", " ").split()).casefold(): k for k in known}
    key = " ".join(variable.replace("_", " ").split()).casefold()
    if key in by_fold:
        return by_fold[key]
    from ..errors import did_you_mean

    raise RequestError("--var", variable, "is not in this run",
                       hint=did_you_mean(variable, known) or "the run holds " + ", ".join(known))


def sampled_parameters(dataset: Any) -> dict[str, np.ndarray]:
    """The run's sampled constants: name -> (M,) values."""
    return {str(n)[len(PARAM):]: dataset[n].values.astype(float)
            for n in dataset.data_vars if str(n).startswith(PARAM)}


def scenario_labels(dataset: Any) -> list[tuple[str, str]]:
    """(name, label) of each scenario of a run."""
    names = [str(s) for s in dataset["scenario"].values]
    labels = [str(x) for x in dataset["label"].values] if "label" in dataset.coords else names
    return list(zip(names, labels))


def periods_or_final(dataset: Any, periods: Sequence[Period]) -> list[Period]:
    times = dataset["time"].values.astype(float)
    return list(periods) or [Period(float(times[-1]), float(times[-1]))]
