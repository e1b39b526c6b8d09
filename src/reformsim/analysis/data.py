"""Data to calibrate against: a CSV or Excel sheet (or a DataFrame) with a time column and one
column per model variable (named as in the model), gaps left empty."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import did_you_mean
from ..model.ir import fold_name
from .requests import RequestError

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel

TIME_NAMES = ("time", "year", "month", "week", "day", "date", "t")
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


def read_data(source: Path | Any, model: CompiledModel, name: str = "") -> Observations:
    """Read ``source`` (a CSV or Excel file, or a pandas DataFrame called ``name`` in errors);
    every column but time must name a model variable. A CSV file may open with comment lines
    starting ``#`` (where the data come from)."""
    import pandas as pd

    from ..scenarios.checks import model_names

    if isinstance(source, pd.DataFrame):
        path = Path(name or "<data>")
        frame = source.reset_index() if source.index.name is not None else source
    else:
        path = Path(source)
        frame = _read(path)
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


def _read(path: Path) -> Any:
    """A data file as a DataFrame; a CSV file's leading ``#`` lines are comments."""
    import io

    import pandas as pd

    if path.suffix.lower() not in SUFFIXES:
        raise RequestError(path, "", f"cannot read {path.suffix or 'a file without suffix'}",
                           hint="give a .csv or .xlsx file")
    try:
        if path.suffix.lower() != ".csv":
            return pd.read_excel(path)
        lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        while lines and lines[0].lstrip().startswith("#"):
            lines.pop(0)
        return pd.read_csv(io.StringIO("".join(lines)))
    except (OSError, ValueError, ImportError) as exc:
        raise RequestError(path, "", f"cannot read the data: {exc}") from None


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
