#!/usr/bin/env python
"""What a run's report costs as scenarios grow: KPI table, bands, screen table, slides.

For S = 100 .. 20,000 synthetic scenarios (M samples, T save times, V variables; a tenth of
the samples failed, so quantiles see NaN), in ONE process run, the best of --repeat runs of:

  kpi_table      ``report.kpis.kpi_table`` at two times (bands of every variable, vectorised)
  screen table   ``rank`` + ``summarise`` + ``format_table(lines=50)``: what ``run`` prints
  slides         ``figures.Deck("ranking")``: one PNG slide per variable, written to a temp dir
  nanquantile    numpy's ``np.nanquantile`` over samples (what the bands used before), against
  quantiles      ``report.kpis.quantiles`` on the same array

and each stage's time per scenario relative to the smallest S: a column near 1 all the way
down means the cost is linear in S (these machines are shared and noisy: read the ratios).

Usage:  python benchmarks/bench_report.py [--sizes 100 1000 20000] [--samples 5] [--save NAME]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from reformsim.report.figures import Deck  # noqa: E402
from reformsim.report.kpis import kpi_table, quantiles  # noqa: E402
from reformsim.report.tables import format_table, rank, summarise  # noqa: E402


def dataset(scenarios: int, samples: int, times: int = 81, variables: int = 4) -> xr.Dataset:
    rng = np.random.default_rng(0)
    time_axis = np.linspace(2025, 2045, times)
    growth = rng.uniform(0, 1, (scenarios, 1, 1)) + rng.normal(0, 0.05, (1, samples, 1))
    status = np.full((scenarios, samples), "ok", dtype=object)
    status[:, : max(1, samples // 10)] = "Backlog went NaN at t=2030"
    data = {f"Outcome {v}": (("scenario", "sample", "time"),
                             1 + growth * (time_axis - 2025) / 20 * (v + 1), {"units": "Dmnl"})
            for v in range(variables)}
    data["status"] = (("scenario", "sample"), status)
    names = [f"s{i}" for i in range(scenarios)]
    return xr.Dataset(data, coords={
        "scenario": names, "label": ("scenario", [f"Package mix number {i}" for i in names]),
        "change_start": ("scenario", np.full(scenarios, np.nan)), "sample": np.arange(samples),
        "time": time_axis}, attrs={"baseline": "s0"})


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(scenarios: int, samples: int, repeat: int, folder: Path) -> dict[str, float]:
    ds = dataset(scenarios, samples)
    variables = [v for v in ds.data_vars if v != "status"]
    kpis = kpi_table(ds, variables, [2035, 2045])
    values = ds[variables[0]].where(ds["status"] == "ok").values

    def slides() -> None:
        deck = Deck(ds, "ranking")
        for n, variable in enumerate(variables):
            deck.save(variable, folder / f"{scenarios}-{n}.png")

    def nanquantile() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            np.nanquantile(values, [0.05, 0.5, 0.95], axis=1)

    return {
        "kpi_table": best(lambda: kpi_table(ds, variables, [2035, 2045]), repeat),
        "screen table": best(lambda: format_table(summarise(rank(kpis))[0], "table", lines=50),
                             repeat),
        "slides": best(slides, repeat),
        "nanquantile": best(nanquantile, repeat),
        "quantiles": best(lambda: quantiles(values, [0.05, 0.5, 0.95], axis=1), repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 20000])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--save", metavar="NAME", help="also write benchmarks/results/NAME")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = {s: measure(s, args.samples, args.repeat, Path(folder)) for s in args.sizes}
    stages = list(next(iter(results.values())))
    first = args.sizes[0]
    lines = [f"report stage, seconds (best of {args.repeat}); M = {args.samples} samples, "
             f"T = 81, V = 4, a tenth of the samples failed",
             "S".rjust(7) + "".join(f"{stage:>14}" for stage in stages)]
    for s, row in results.items():
        lines.append(f"{s:>7,}" + "".join(f"{row[stage]:14.4f}" for stage in stages))
    lines.append("time per scenario relative to S = " + f"{first:,} (1 = linear)")
    for s, row in results.items():
        lines.append(f"{s:>7,}" + "".join(
            f"{row[stage] / s / (results[first][stage] / first):14.2f}" for stage in stages))
    lines.append("nanquantile / quantiles at each S: "
                 + ", ".join(f"{s:,}: {row['nanquantile'] / row['quantiles']:.0f}x"
                             for s, row in results.items()))
    text = "\n".join(lines)
    print(text)
    if args.save:
        (Path(__file__).parent / "results" / args.save).write_text(text + "\n")


if __name__ == "__main__":
    main()
