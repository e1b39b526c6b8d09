"""Write models/examples/service_backlog_data.csv: synthetic observations of the example office,
for the calibration example of the README and docs/analysis.md.

Usage::

    PYTHONPATH=src python tools/write_example_data.py

The data are made, not measured: models/examples/service_backlog.mdl is run under its own
demand surge (20% more requests from month 12) with known values that differ from the model's
(``TRUTH``: hiring takes 6 months, not 9; standards erode in 4 months, not 6; the office starts
with 13 officials, not the 14.3 its demand needs), and Staff and Delivery time are read every
three months to month 48, each with 3% multiplicative noise (lognormal, seed 2026) and a gap.
``reformsim calibrate`` should recover the known values within its intervals;
tests/test_docs.py checks that the file is what this script writes and that it does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

import reformsim

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "examples" / "service_backlog.mdl"
OUT = ROOT / "models" / "examples" / "service_backlog_data.csv"
TRUTH = {"Time to hire": 6.0, "Time to erode standard": 4.0}
INITIAL = {"Staff": 13.0}
SERIES = ("Staff", "Delivery time")
MONTHS = np.arange(0, 49, 3)
NOISE, SEED = 0.03, 2026
GAPS = {"Staff": 33, "Delivery time": 21}    # a month each series misses


def observations() -> pd.DataFrame:
    """The synthetic data: a ``month`` column and one column per series, gaps empty."""
    run = reformsim.simulate(reformsim.load_model(MODEL), params=TRUTH, initial=INITIAL,
                             outputs=list(SERIES))
    index = [int(np.argmin(np.abs(run.times - m))) for m in MONTHS]
    rng = np.random.default_rng(SEED)
    frame = pd.DataFrame({"month": MONTHS})
    for name in SERIES:
        noisy = run[name][0, index] * np.exp(rng.normal(0.0, NOISE, len(index)))
        frame[name] = np.where(MONTHS == GAPS[name], np.nan, noisy)
    return frame


def text() -> str:
    truth = ", ".join(f"{k} = {v:g}" for k, v in {**TRUTH, **INITIAL}.items())
    header = (f"# Synthetic data, not measurements: {MODEL.name} run with {truth} (initial),\n"
              f"# read every 3 months with {NOISE:.0%} lognormal noise (seed {SEED}); written by "
              "tools/write_example_data.py\n")
    return header + observations().to_csv(index=False, float_format="%.4g")


def main() -> None:
    OUT.write_text(text(), encoding="utf-8")
    print(OUT.read_text(encoding="utf-8"))


if __name__ == "__main__":
    sys.exit(main())
