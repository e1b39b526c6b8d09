"""The conformance suite: every model in ../shared/test-models against Vensim's (or Stella's) output.

Shared by ``tests/test_conformance.py`` and ``docs/write_conformance.py``.
A case is one model file next to an ``output.csv``/``output.tab``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared"
SUITE = SHARED / "test-models"
MODEL_SUFFIXES = {".mdl": "Vensim", ".xmile": "XMILE", ".stmx": "XMILE"}
RTOL = ATOL = 1e-5  # PySD's tolerance: |a - e| <= atol + rtol * |e|


@dataclass(frozen=True)
class Case:
    path: Path
    canonical: Path

    @property
    def id(self) -> str:
        return str(self.path.relative_to(SUITE))

    @property
    def language(self) -> str:
        return MODEL_SUFFIXES[self.path.suffix.lower()]


@dataclass(frozen=True)
class Outcome:
    status: str        # pass | fail | unsupported | error
    detail: str = ""


def cases() -> list[Case]:
    """Every model file of the suite that has a canonical output beside it."""
    if not SUITE.is_dir():
        return []
    found = []
    for folder in sorted(p for group in ("samples", "tests") for p in (SUITE / group).glob("*")
                         if p.is_dir()):
        canonical = next((folder / n for n in ("output.csv", "output.tab")
                          if (folder / n).is_file()), None)
        if canonical is None:
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in MODEL_SUFFIXES:
                found.append(Case(path, canonical))
    return found


def normal(name: str) -> str:
    return " ".join(str(name).replace("_", " ").replace('"', "").split()).lower()


def load_canonical(path: Path) -> pd.DataFrame:
    """Canonical output with time as a float index; constant columns filled down."""
    reader = pd.read_csv if path.suffix == ".csv" else pd.read_table
    frame = reader(path, index_col=0, encoding_errors="replace")
    if normal(frame.index.name or "") != "time":  # Vensim sometimes writes variables as rows
        frame = frame.T
    frame.index = pd.to_numeric(frame.index, errors="coerce")
    frame = frame[~np.isnan(frame.index.values.astype(float))]
    frame = frame.apply(pd.to_numeric, errors="coerce")
    for column in frame.columns:  # Vensim writes constants in the first row only
        values = frame[column]
        if values.notna().iloc[0] and values.iloc[1:].isna().all():
            frame[column] = values.iloc[0]
    return frame


def run(case: Case) -> Outcome:
    """Simulate one case with reformsim and compare it with the canonical output."""
    import reformsim

    try:
        model = reformsim.load_model(case.path)
    except reformsim.UnsupportedError as exc:
        return Outcome("unsupported", exc.problem)
    except reformsim.ReformsimError as exc:
        return Outcome("error", str(exc).splitlines()[0])
    expected = load_canonical(case.canonical)
    names = {normal(e.name): e.name for e in model.elements if e.kind != "lookup"}
    columns = [c for c in expected.columns if normal(c) in names]
    if not columns:
        return Outcome("error", "no canonical column names a model variable")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", reformsim.ReformsimWarning)
            results = reformsim.simulate(model, outputs=[names[normal(c)] for c in columns])
    except reformsim.ReformsimError as exc:
        return Outcome("error", str(exc).splitlines()[0])
    return compare(results, expected, columns)


def compare(results, expected: pd.DataFrame, columns: list[str]) -> Outcome:
    times = results.times
    rows = [int(np.argmin(np.abs(times - t))) for t in expected.index]
    # canonical files write times with 6 significant digits
    if any(abs(times[r] - t) > 1e-5 * max(1.0, abs(t)) for r, t in zip(rows, expected.index)):
        return Outcome("fail", f"save times differ: ours {times[:4]}..., Vensim "
                               f"{expected.index.values[:4]}...")
    actual = results.values[0][rows]
    worst, where = 0.0, ""
    for i, column in enumerate(columns):
        e, a = expected[column].to_numpy(dtype=float), actual[:, i]
        ok = (np.abs(a - e) <= ATOL + RTOL * np.abs(e)) | (np.isnan(a) & np.isnan(e))
        if not ok.all():
            k = int(np.argmax(~ok))
            excess = float(np.abs(a[k] - e[k]))
            if not where or excess > worst:
                worst, where = excess, (f"{column!r} at t={expected.index[k]:g}: "
                                        f"ours {a[k]:.6g}, expected {e[k]:.6g}")
    return Outcome("pass") if not where else Outcome("fail", where)
