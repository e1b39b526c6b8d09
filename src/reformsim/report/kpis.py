"""Pure functions of a results Dataset: values at chosen times, deltas, time-to-target, bands.

Every function takes the ``xarray.Dataset`` that ``ensemble.run`` produces: dims ``scenario``
(S), ``sample`` (M) and ``time`` (T); coords ``label``, ``description`` and ``change_start``
per scenario; one data variable per model variable over (scenario, sample, time) with
``units`` and ``description`` attrs; ``status`` over (scenario, sample), "ok" or a failure
text. Failed samples are left out of every median and quantile.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import ReformsimError, did_you_mean

DIRECTIONS = ("above", "below")
BAND_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class AnalysisError(ReformsimError):
    """An analysis request names something the results do not hold."""


def model_variables(ds: xr.Dataset) -> list[str]:
    """Names of the model variables held in ``ds``: the data variables over time (not
    ``status``, nor the sampled ``param:`` values)."""
    return [str(name) for name, var in ds.data_vars.items() if "time" in var.dims]


def resolve_baseline(ds: xr.Dataset, baseline: str | None = None) -> str:
    """The baseline scenario: ``baseline``, else ``ds.attrs["baseline"]``, else the first one."""
    names = [str(s) for s in ds["scenario"].values]
    if baseline is None:
        default = ds.attrs.get("baseline")
        return str(default) if default in names else names[0]
    if baseline not in names:
        hint = did_you_mean(baseline, names) or f"the scenarios are {sorted(names)}"
        raise AnalysisError(f"baseline {baseline!r} is not a scenario of this run; {hint}")
    return baseline


def sample_values(ds: xr.Dataset, variable: str) -> xr.DataArray:
    """One variable over (scenario, sample, time), NaN where a sample failed."""
    known = model_variables(ds)
    if variable not in known:
        hint = did_you_mean(variable, known) or f"the run holds {sorted(known)}"
        raise AnalysisError(f"variable {variable!r} is not in this run; {hint}")
    values = ds[variable].transpose("scenario", "sample", "time").astype(float)
    status = status_variable(ds)
    if status is not None:
        values = values.where(ds[status] == "ok")
    return values


def status_variable(ds: xr.Dataset) -> str | None:
    """Name of the per-member status in ``ds`` (``status``, unless a model variable has that
    name), or None when ``ds`` holds none."""
    name = str(ds.attrs.get("status_variable", "status"))
    return name if name in ds.data_vars and "time" not in ds[name].dims else None


def failed_members(ds: xr.DataArray | xr.Dataset) -> np.ndarray:
    """Number of failed members (NaN/inf) per scenario, shape (S,)."""
    status = status_variable(ds)
    if status is None:
        return np.zeros(ds.sizes["scenario"], dtype=int)
    return (ds[status] != "ok").transpose("scenario", "sample").values.sum(axis=1)


def failure_note(ds: xr.Dataset) -> str:
    """"" when every member finished; else how many failed and are left out of the statistics."""
    failed = failed_members(ds)
    if not failed.any():
        return ""
    samples = ds.sizes["sample"]
    worst = [f"{s!s} {n} of {samples}" for s, n in zip(ds["scenario"].values, failed) if n]
    return (f"{int(failed.sum())} of {failed.size * samples} members failed (went NaN/inf) and "
            "are left out of every median and percentile (" + ", ".join(worst[:5])
            + (", ..." if len(worst) > 5 else "") + "); see the 'failed' column and the run's "
            "status variable")


def _quantiles(values: xr.DataArray, quantiles: Sequence[float]) -> np.ndarray:
    """Quantiles over samples, shape (Q, S, T); NaN where every sample failed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN slices: NaN is the answer
        return np.nanquantile(values.values, list(quantiles), axis=1)


def _median(values: xr.DataArray) -> np.ndarray:
    """Median over samples, shape (S, T)."""
    return _quantiles(values, [0.5])[0]


def _time_units(ds: xr.Dataset) -> str:
    return str(ds["time"].attrs.get("units", ""))


def _time_indices(ds: xr.Dataset, years: Iterable[float]) -> list[int]:
    """Index of the nearest save time for each year; error for a year outside the run."""
    times = ds["time"].values.astype(float)
    first, last = times.min(), times.max()
    slack = 1e-9 * max(1.0, abs(first), abs(last))
    units = f" {_time_units(ds)}" if _time_units(ds) else ""
    indices = []
    for year in years:
        if not first - slack <= year <= last + slack:
            raise AnalysisError(f"time {year:g} is outside the run ({first:g} to {last:g}{units})")
        indices.append(int(np.argmin(np.abs(times - year))))
    return indices


def values_at(ds: xr.Dataset, variables: Sequence[str], years: Sequence[float]) -> pd.DataFrame:
    """Median of each variable at each chosen time (nearest save time), per scenario.

    Long form: one row per scenario x variable x year with columns scenario, label,
    variable, units, year, value, and p5, p95 when there is more than one sample, and
    ``failed`` (members of the scenario left out because they went NaN/inf) when any failed.
    """
    years = list(dict.fromkeys(float(y) for y in years))      # a repeat would double rows
    indices = _time_indices(ds, years)
    uncertain = ds.sizes["sample"] > 1
    failed = failed_members(ds)
    labels = ds["label"].values if "label" in ds.coords else ds["scenario"].values
    rows = []
    for variable in dict.fromkeys(variables):
        values = sample_values(ds, variable).isel(time=indices)
        p5, median, p95 = _quantiles(values, [0.05, 0.5, 0.95])
        units = str(ds[variable].attrs.get("units", ""))
        for s, (scenario, label) in enumerate(zip(ds["scenario"].values, labels)):
            for t, year in enumerate(years):
                row = {"scenario": str(scenario), "label": str(label), "variable": variable,
                       "units": units, "year": float(year), "value": float(median[s, t])}
                if uncertain:
                    row |= {"p5": float(p5[s, t]), "p95": float(p95[s, t])}
                if failed.any():
                    row["failed"] = int(failed[s])
                rows.append(row)
    columns = ["scenario", "label", "variable", "units", "year", "value"]
    return pd.DataFrame(rows, columns=columns + (["p5", "p95"] if uncertain else [])
                        + (["failed"] if failed.any() else []))


def kpi_table(ds: xr.Dataset, variables: Sequence[str], years: Sequence[float],
              baseline: str | None = None) -> pd.DataFrame:
    """``values_at`` plus differences from the baseline scenario at the same year.

    ``delta`` = value - baseline value; ``delta_pct`` = 100 * delta / |baseline value|
    (NaN when the baseline value is 0); ``baseline`` names the scenario compared against.
    """
    base = resolve_baseline(ds, baseline)
    table = values_at(ds, variables, years)
    reference = table[table["scenario"] == base].set_index(["variable", "year"])["value"]
    base_values = reference.reindex(pd.MultiIndex.from_frame(table[["variable", "year"]])).values
    delta = table["value"].values - base_values
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base_values == 0, np.nan, 100.0 * delta / np.abs(base_values))
    return table.assign(delta=delta, delta_pct=pct, baseline=base)


def _first_crossing(times: np.ndarray, values: np.ndarray, target: float, above: bool) -> float:
    """First time the series reaches ``target``, linearly interpolated; NaN if never."""
    reached = values >= target if above else values <= target
    if not reached.any():
        return math.nan
    i = int(np.argmax(reached))
    if i == 0 or not np.isfinite(values[i - 1]):
        return float(times[i])
    fraction = (target - values[i - 1]) / (values[i] - values[i - 1])
    return float(times[i - 1] + fraction * (times[i] - times[i - 1]))


def time_to_target(ds: xr.Dataset, variable: str, target: float,
                   direction: str = "above") -> pd.DataFrame:
    """First time each scenario's median is at or "above" (or "below") ``target``.

    Columns scenario, label, variable, units, target, direction, time; time is NaN when
    the target is never reached, and the first save time when it is reached from the start.
    """
    if direction not in DIRECTIONS:
        raise AnalysisError(f"direction {direction!r} is not one of {sorted(DIRECTIONS)}")
    median = _median(sample_values(ds, variable))
    times = ds["time"].values.astype(float)
    labels = ds["label"].values if "label" in ds.coords else ds["scenario"].values
    units = str(ds[variable].attrs.get("units", ""))
    rows = [{"scenario": str(scenario), "label": str(label), "variable": variable, "units": units,
             "target": float(target), "direction": direction,
             "time": _first_crossing(times, median[s], target, direction == "above")}
            for s, (scenario, label) in enumerate(zip(ds["scenario"].values, labels))]
    return pd.DataFrame(rows)


def bands(ds: xr.Dataset, variable: str,
          quantiles: Sequence[float] = BAND_QUANTILES) -> xr.DataArray:
    """Quantiles over samples of one variable, dims (scenario, quantile, time).

    Keeps the scenario coords (label, change_start, ...) and the variable's attrs.
    """
    values = sample_values(ds, variable)
    result = np.moveaxis(_quantiles(values, quantiles), 0, 1)
    scenario_coords = {name: coord for name, coord in values.coords.items()
                       if coord.dims in ((), ("scenario",)) or name == "time"}
    return xr.DataArray(result, dims=("scenario", "quantile", "time"),
                        coords=scenario_coords | {"quantile": list(quantiles)},
                        name=variable, attrs=dict(ds[variable].attrs))
