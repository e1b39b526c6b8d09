"""Data to calibrate against: a CSV or Excel sheet with a time column and one column per
model variable (named as in the model), gaps left empty."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import did_you_mean
from ..model.ir import fold_name
from .requests import RequestError

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel

TIME_NAMES = ("time", "year", "date", "t")
SUFFIXES = (".csv", ".xlsx", ".xls")


@dataclass(frozen=True)
class Observations:
    """One series per model variable: ``times[name]`` and ``values[name]``, gaps dropped."""

    source: Path
    times: dict[str, np.ndarray]
    values: dict[str, np.ndarray]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.values)

    @property
    def points(self) -> int:
        return sum(len(v) for v in self.values.values())


def read_data(path: Path, model: CompiledModel) -> Observations:
    """Read ``path``; every column but time must name a model variable."""
    import pandas as pd

    from ..scenarios.checks import model_names

    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise RequestError(path, "", f"cannot read {path.suffix or 'a file without suffix'}",
                           hint="give a .csv or .xlsx file")
    try:
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_excel(path)
    except (OSError, ValueError, ImportError) as exc:
        raise RequestError(path, "", f"cannot read the data: {exc}") from None
    if frame.shape[1] < 2:
        raise RequestError(path, "", "expected a time column and at least one data column")
    columns = [str(c) for c in frame.columns]
    time = next((c for c in columns if c.strip().casefold() in TIME_NAMES), columns[0])
    times = _numbers(path, frame[time], time)
    if np.isnan(times).any():
        raise RequestError(path, time, "has empty time cells", hint="give every row a time")
    variables = model_names(model).variables
    series_times, series_values = {}, {}
    for column in (c for c in columns if c != time):
        name = variables.get(fold_name(column))
        if name is None:
            hint = did_you_mean(column, variables.values())
            raise RequestError(path, column, "names no variable of " + model.source.name,
                               hint=hint or "name each data column after a model variable")
        values = _numbers(path, frame[column], column)
        kept = np.isfinite(values)
        if not kept.any():
            raise RequestError(path, column, "has no data")
        series_times[name], series_values[name] = times[kept], values[kept]
    return Observations(path, series_times, series_values)


def _numbers(path: Path, column: object, name: str) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce")   # type: ignore[call-overload]
    text = column.astype(str).str.strip()               # type: ignore[attr-defined]
    bad = values.isna() & ~column.isna() & (text != "")  # type: ignore[attr-defined]
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise RequestError(path, name, f"row {row + 2}: {text.iloc[row]!r} is not a number",
                           hint="leave a gap empty")
    return values.to_numpy(dtype=float)
