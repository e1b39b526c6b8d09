#!/usr/bin/env python
"""What a factorial run's package-effects slides cost: a new figure per slide against one
reused layout, in ONE process, rounds alternating.

The shipped factorial (``scenarios/reform_factorial.yaml``, 64 combinations) is simulated once;
each round then writes its effects slide of every output variable as PNG twice:

  fresh    ``analysis_figures.plot_factorial`` per slide (a new figure each; what
           ``reformsim factorial`` draws and what ``run`` drew before)
  reused   one ``analysis_figures.EffectsSlide`` redrawn per slide (what ``run`` draws)

and prints the median of each over the rounds and their ratio (the machine is shared: read
the ratio, not the milliseconds). The first round of each is a warm-up and not counted.

Usage:  python benchmarks/bench_effects.py [--rounds 7] [--save NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reformsim.report import effects  # noqa: E402
from reformsim.report.analysis_figures import EffectsSlide  # noqa: E402
from reformsim.report.figures import save_figure  # noqa: E402
from reformsim.report.runs import simulate_scenarios  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--save", metavar="NAME", help="also write benchmarks/results/NAME")
    args = parser.parse_args()
    before = os.getloadavg()
    run = simulate_scenarios(ROOT / "models" / "reform.mdl",
                             [ROOT / "scenarios" / "reform_factorial.yaml"])
    ds, factorial, variables = run.dataset, run.factorial, list(run.variables)
    found = effects.effects_at(ds, factorial, variables, float(ds["time"].values[-1]))
    times: dict[str, list[float]] = {"fresh": [], "reused": []}
    with tempfile.TemporaryDirectory() as folder:
        def write(kind: str) -> float:
            start = time.perf_counter()
            drawn = EffectsSlide() if kind == "reused" else None
            for n, variable in enumerate(variables):
                save_figure(effects.slide(ds, factorial, variable, found, drawn),
                            Path(folder) / f"{kind}-{n}.png")
            return time.perf_counter() - start

        for round_ in range(args.rounds + 1):
            for kind in times:
                spent = write(kind)
                if round_:
                    times[kind].append(spent)
    fresh, reused = (statistics.median(times[k]) for k in ("fresh", "reused"))
    report = (f"{len(variables)} effects slides of {ds.sizes['scenario']} combinations, median "
              f"of {args.rounds} rounds: fresh {fresh * 1e3:.0f} ms, reused {reused * 1e3:.0f} "
              f"ms, ratio reused/fresh {reused / fresh:.2f}\n"
              f"fresh rounds (ms): {' '.join(f'{t * 1e3:.0f}' for t in times['fresh'])}\n"
              f"reused rounds (ms): {' '.join(f'{t * 1e3:.0f}' for t in times['reused'])}\n"
              f"load average before {before[0]:.2f}, after {os.getloadavg()[0]:.2f} "
              f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    print(report, end="")
    if args.save:
        (ROOT / "benchmarks" / "results" / args.save).write_text(report)


if __name__ == "__main__":
    main()
