"""Pure functions of a results Dataset: values at chosen times, deltas, time-to-target, bands.

Every function takes the ``xarray.Dataset`` that ``ensemble.run`` produces: dims ``scenario``
(S), ``sample`` (M) and ``time`` (T); coords ``label``, ``description`` and ``change_start``
per scenario; one data variable per model variable over (scenario, sample, time) with
``units`` and ``description`` attrs; ``status`` over (scenario, sample), "ok" or a failure
text. Failed samples are left out of every median and quantile.
"""

from __future__ import annotations

import math
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
    """The baseline scenario: ``baseline`` (a scenario's name or its label), else
    ``ds.attrs["baseline"]``, else the first one."""
    names = [str(s) for s in ds["scenario"].values]
    if baseline is None:
        default = ds.attrs.get("baseline")
        return str(default) if default in names else names[0]
    return find_scenario(ds, baseline, "baseline")


def find_scenario(ds: xr.Dataset, wanted: str, role: str = "scenario") -> str:
    """The name of the scenario ``wanted`` names: its name, else its label (case and
    spacing aside); an error with "did you mean" otherwise."""
    return match_scenario([str(s) for s in ds["scenario"].values], scenario_labels(ds), wanted,
                          role)


def match_scenario(names: Sequence[str], labels: Sequence[str], wanted: str,
                   role: str = "scenario") -> str:
    """``find_scenario`` on lists of names and labels (before there is a Dataset)."""
    if wanted in names:
        return wanted
    folded = " ".join(wanted.split()).casefold()
    for candidates in (labels, names):
        matches = [names[i] for i, text in enumerate(candidates)
                   if " ".join(text.split()).casefold() == folded]
        if len(matches) == 1:
            return matches[0]
    hint = did_you_mean(wanted, list(names) + list(labels)) or f"the scenarios are {names}"
    raise AnalysisError(f"{role} {wanted!r} is not a scenario of this run; {hint}")


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


def quantiles(values: np.ndarray, qs: Sequence[float], axis: int = 1) -> np.ndarray:
    """Quantiles of ``values`` along ``axis`` (numpy's linear method), NaN left out.

    Shape (Q, *the other axes); NaN where every value along ``axis`` is NaN. One vectorised
    pass whatever the number of scenarios: ``np.nanquantile`` loops in Python over every
    slice that holds a NaN, which made a run with failed samples crawl.
    """
    values = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    qs = np.asarray(qs, dtype=float).reshape((-1,) + (1,) * (values.ndim - 1))
    missing = np.isnan(values)
    if not missing.any():
        return np.quantile(values, qs.reshape(-1), axis=-1)
    ordered = np.sort(values, axis=-1)                      # NaN sorts last
    count = values.shape[-1] - missing.sum(axis=-1)         # valid values per slice
    position = qs * np.maximum(count - 1, 0)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, np.maximum(count - 1, 0))
    pick = np.broadcast_to(ordered, (len(qs),) + ordered.shape)
    below = np.take_along_axis(pick, low[..., None], axis=-1)[..., 0]
    above = np.take_along_axis(pick, high[..., None], axis=-1)[..., 0]
    result = below + (above - below) * (position - low)
    return np.where(count > 0, result, np.nan)


def _quantiles(values: xr.DataArray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles over samples, shape (Q, S, T); NaN where every sample failed."""
    return quantiles(values.values, qs, axis=1)


def _median(values: xr.DataArray) -> np.ndarray:
    """Median over samples, shape (S, T)."""
    return _quantiles(values, [0.5])[0]


def _time_units(ds: xr.Dataset) -> str:
    return str(ds["time"].attrs.get("units", ""))


def time_indices(ds: xr.Dataset, years: Iterable[float]) -> list[int]:
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


def scenario_labels(ds: xr.Dataset) -> list[str]:
    """Each scenario's label (its name where the run has no labels)."""
    return [str(x) for x in (ds["label"] if "label" in ds.coords else ds["scenario"]).values]


def values_at(ds: xr.Dataset, variables: Sequence[str], years: Sequence[float]) -> pd.DataFrame:
    """Median of each variable at each chosen time (nearest save time), per scenario.

    Long form: one row per scenario x variable x year with columns scenario, label,
    variable, units, year, value, and p5, p95 when there is more than one sample, and
    ``failed`` (members of the scenario left out because they went NaN/inf) when any failed.
    Built column by column (no Python loop over rows), so it keeps pace with big runs.
    """
    years = list(dict.fromkeys(float(y) for y in years))      # a repeat would double rows
    indices = time_indices(ds, years)
    variables = list(dict.fromkeys(variables))
    uncertain = ds.sizes["sample"] > 1
    n_scenarios, n_years = ds.sizes["scenario"], len(years)
    stats = np.stack([_quantiles(sample_values(ds, v).isel(time=indices), [0.05, 0.5, 0.95])
                      for v in variables])                   # (V, 3, S, Y)
    per_variable = n_scenarios * n_years
    columns: dict[str, object] = {
        "scenario": np.tile(np.repeat(ds["scenario"].values.astype(str), n_years), len(variables)),
        "label": np.tile(np.repeat(np.array(scenario_labels(ds), dtype=object), n_years),
                         len(variables)),
        "variable": np.repeat(np.array(variables, dtype=object), per_variable),
        "units": np.repeat(np.array([str(ds[v].attrs.get("units", "")) for v in variables],
                                    dtype=object), per_variable),
        "year": np.tile(np.array(years, dtype=float), n_scenarios * len(variables)),
        "value": stats[:, 1].reshape(-1)}
    if uncertain:
        columns |= {"p5": stats[:, 0].reshape(-1), "p95": stats[:, 2].reshape(-1)}
    failed = failed_members(ds)
    if failed.any():
        columns["failed"] = np.tile(np.repeat(failed.astype(int), n_years), len(variables))
    frame = pd.DataFrame(columns)
    frame["scenario"] = frame["scenario"].astype(object)
    return frame


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
    labels = scenario_labels(ds)
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


def find_scenarios(ds: xr.Dataset, items: Sequence[str]) -> list[str]:
    """The scenarios ``items`` name, in order, each once. An item is a comma-separated list
    of names or labels; as a label may hold a comma, the longest run of parts that names a
    scenario is taken first ("surge,Surge, fast hiring" is two scenarios)."""
    found = []
    for item in items:
        parts = item.split(",")
        start = 0
        while start < len(parts):
            for end in range(len(parts), start, -1):
                text = ",".join(parts[start:end]).strip()
                try:
                    found.append(find_scenario(ds, text, "scenario"))
                    break
                except AnalysisError:
                    if end == start + 1:
                        raise
            start = end
    return list(dict.fromkeys(found))


def subset(ds: xr.Dataset, scenarios: Sequence[str] = (), start: float | None = None,
           end: float | None = None) -> xr.Dataset:
    """``ds`` cut to some scenarios (by name or label, in the order given) and to the save
    times from ``start`` to ``end``; the baseline attribute kept when it is among them."""
    out = ds
    if scenarios:
        out = out.sel(scenario=find_scenarios(ds, scenarios))
    if start is not None or end is not None:
        times = ds["time"].values.astype(float)
        low = times[0] if start is None else start
        high = times[-1] if end is None else end
        if low >= high or high < times[0] or low > times[-1]:
            units = f" {_time_units(ds)}" if _time_units(ds) else ""
            raise AnalysisError(f"no time between {low:g} and {high:g} in the run "
                                f"({times[0]:g} to {times[-1]:g}{units})")
        out = out.isel(time=np.flatnonzero((times >= low) & (times <= high)))
    return out


def compare_runs(datasets: dict[str, xr.Dataset], variables: Sequence[str],
                 years: Sequence[float]) -> pd.DataFrame:
    """Each run's scenarios against the scenario of the same name in the first run.

    A KPI frame (``kpi_table``'s columns) with a ``run`` column: runs are lettered A, B...
    (``runs`` in the frame's attrs maps letters to the keys of ``datasets``), rows come
    scenario by scenario, and ``delta`` is the value minus the first run's value of the same
    scenario, variable and time (NaN where the first run has no such scenario).
    """
    letters = {chr(ord("A") + i): key for i, key in enumerate(datasets)}
    frames = []
    for letter, key in letters.items():
        table = values_at(datasets[key], variables, years)
        frames.append(table.assign(run=letter))
    table = pd.concat(frames, ignore_index=True)
    first = table[table["run"] == "A"].set_index(["scenario", "variable", "year"])["value"]
    index = pd.MultiIndex.from_frame(table[["scenario", "variable", "year"]])
    base_values = first.reindex(index).values
    delta = table["value"].values - base_values
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base_values == 0, np.nan, 100.0 * delta / np.abs(base_values))
    order = {s: i for i, s in enumerate(dict.fromkeys(table["scenario"]))}
    table = table.assign(delta=delta, delta_pct=pct, baseline="A:" + table["scenario"],
                         label=table["label"] + " (" + table["run"] + ")",
                         scenario=table["run"] + ":" + table["scenario"],
                         _order=table["scenario"].map(order))
    table = table.sort_values(["variable", "_order", "run"], kind="stable",
                              key=lambda c: c.map({v: i for i, v in enumerate(
                                  dict.fromkeys(variables))}) if c.name == "variable" else c)
    table = table.drop(columns="_order").reset_index(drop=True)
    table.attrs["runs"] = letters
    columns = [c for c in table.columns if c != "run"]
    return table[["run"] + columns]
