"""Compare a model's run with Vensim's (or Stella's) own output file."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.compiled import CompiledModel
from ..engine.simulation import simulate
from ..errors import ModelError, ReformsimWarning
from ..model.ir import fold_name as normal

RTOL = ATOL = 1e-5  # PySD's tolerance: |ours - expected| <= ATOL + RTOL * |expected|


@dataclass(frozen=True)
class Mismatch:
    """The worst point of one variable that is outside the tolerance."""

    variable: str
    time: float
    ours: float
    expected: float

    def __str__(self) -> str:
        return (f"{self.variable!r} at t={self.time:g}: ours {self.ours:.6g}, "
                f"expected {self.expected:.6g}")


@dataclass(frozen=True)
class Verification:
    """Outcome of comparing a run with a reference output."""

    compared: tuple[str, ...]        # variables compared
    ignored: tuple[str, ...]         # reference columns the model does not define
    times: int                       # reference rows compared
    mismatches: tuple[Mismatch, ...]
    problem: str = ""                # set when the two could not be lined up

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.problem


def read_output(path: str | Path) -> Any:
    """A Vensim .tab/.csv (or Stella .csv) output as a DataFrame indexed by time.

    Constants that Vensim writes in the first row only are filled down.
    """
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() not in (".csv", ".tab"):
        raise ModelError(path, path.name, "unsupported output file type",
                         hint="export the run from Vensim as .tab or .csv")
    if not path.is_file():
        raise ModelError(path, path.name, "no such file")
    reader = pd.read_csv if path.suffix.lower() == ".csv" else pd.read_table
    frame = reader(path, index_col=0, encoding=_encoding(path), encoding_errors="replace")
    if normal(frame.index.name or "") != "time":  # Vensim may write variables as rows
        frame = frame.T
    frame.index = pd.to_numeric(frame.index, errors="coerce")
    frame = frame[~np.isnan(frame.index.values.astype(float))]
    frame = frame.apply(pd.to_numeric, errors="coerce")
    for column in frame.columns:
        values = frame[column]
        if len(values) > 1 and values.notna().iloc[0] and values.iloc[1:].isna().all():
            frame[column] = values.iloc[0]
    return frame


def _encoding(path: Path) -> str:
    """UTF-8, or Windows-1252 for a file that is not UTF-8 (Vensim writes the system's code
    page: names with accents would not match the model's otherwise)."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _owners(model: CompiledModel, slots: tuple[str, ...]) -> list[str]:
    """The slot of each output column (one per cell of an array)."""
    return [slot for (lo, hi), slot in model.output_columns(slots) for _ in range(lo, hi)]


def verify(model: CompiledModel, output: str | Path, rtol: float = RTOL,
           atol: float = ATOL) -> Verification:
    """Run ``model`` and compare every variable it shares with a reference output file."""
    expected = read_output(output)
    every = tuple(model.slot_of(e) for e in model.elements if e.kind != "lookup")
    owners = {}   # column name as compared -> element name (cells of arrays too)
    for column, slot in zip(model.column_names(every), _owners(model, every)):
        owners[normal(column)] = model.nodes[slot].element.name
    columns = [c for c in expected.columns if normal(c) in owners]
    ignored = tuple(c for c in expected.columns if normal(c) not in owners)
    if not columns:
        return Verification((), ignored, 0, (), "no column of the output names a model variable")
    wanted = list(dict.fromkeys(owners[normal(c)] for c in columns))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReformsimWarning)
        results = simulate(model, outputs=wanted)
    position = {normal(name): i for i, name in enumerate(results.names)}
    times = results.times
    rows = [int(np.argmin(np.abs(times - t))) for t in expected.index]
    # output files write times with about 6 significant digits
    if any(abs(times[r] - t) > 1e-5 * max(1.0, abs(t)) for r, t in zip(rows, expected.index)):
        return Verification(tuple(columns), ignored, 0, (),
                            "the output's save times are not on the model's time grid")
    actual = results.values[0][rows][:, [position[normal(c)] for c in columns]]
    mismatches = []
    for i, column in enumerate(columns):
        e, a = expected[column].to_numpy(dtype=float), actual[:, i]
        ok = (np.abs(a - e) <= atol + rtol * np.abs(e)) | (np.isnan(a) & np.isnan(e))
        if not ok.all():
            k = int(np.argmax(np.where(ok, -1.0, np.nan_to_num(np.abs(a - e), nan=np.inf))))
            mismatches.append(Mismatch(column, float(expected.index[k]), float(a[k]), float(e[k])))
    return Verification(tuple(columns), ignored, len(rows), tuple(mismatches))
