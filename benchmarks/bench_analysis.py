"""A 10,240-evaluation Sobol study of the reform model: reformsim (one simulate call) against
the same members run one by one through PySD (a sample of them, extrapolated).

    PYTHONPATH=src python benchmarks/bench_analysis.py [--pysd-members 12] [--repeat 3]

Base: the status-quo roadmap of scenarios/reform_roadmaps.yaml; parameters: its seven
uncertainty parameters plus the improvement-time target (D = 8), Sobol N = 1024, so
N (D + 2) = 10,240 members. reformsim's time is the whole study (design, simulation, SALib's
estimates with bootstrap intervals); PySD's is simulation alone, so the ratio favours PySD.
Both run in this one process, after both have loaded the model; the first PySD member is
checked against reformsim's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import reformsim  # noqa: E402
from reformsim.analysis.batch import base_of  # noqa: E402
from reformsim.analysis.requests import Period, uniform  # noqa: E402
from reformsim.analysis.sensitivity import sensitivity_study  # noqa: E402
from reformsim.scenarios.loading import load_scenarios  # noqa: E402

MODEL = ROOT / "models" / "reform.mdl"
ROADMAPS = ROOT / "scenarios" / "reform_roadmaps.yaml"
OUTPUTS = ["Composite outcome", "Trust"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pysd-members", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    model = reformsim.load_model(MODEL)
    base = base_of(model, [ROADMAPS], "status quo", uncertain=False)
    parameters = list(load_scenarios([ROADMAPS]).uncertainty.parameters)
    parameters.append(uniform("Improvement time target", 0.05, 0.15))
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        study = sensitivity_study(base, parameters, OUTPUTS, [Period(2045, 2045)],
                                  samples=1024, seed=1, over_time=False)
        times.append(time.perf_counter() - started)
    ours = min(times)
    members = study.evaluations
    import pysd

    with tempfile.TemporaryDirectory() as work, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copy = Path(work) / MODEL.name
        shutil.copyfile(MODEL, copy)
        pysd_model = pysd.read_vensim(str(copy))
        fixed = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in base.ensemble.params.items()}
        names = [d.name for d in parameters]
        rows = np.linspace(0, len(study.design) - 1, args.pysd_members).round().astype(int)
        started = time.perf_counter()
        first = None
        for k in rows:
            params = {**fixed, **dict(zip(names, map(float, study.design[k])))}
            frame = pysd_model.run(params=params, return_columns=OUTPUTS)
            first = frame if first is None else first
        theirs = (time.perf_counter() - started) / len(rows)
    ours_first = study.results["Composite outcome"][rows[0], -1]
    gap = abs(float(first["Composite outcome"].iloc[-1]) - float(ours_first))
    lines = [
        f"Sobol study of {MODEL.name}: D = {len(parameters)}, N = 1024, {members} members",
        f"reformsim, whole study (best of {args.repeat}): {ours:.2f} s",
        f"PySD, {len(rows)} members one by one: {theirs:.3f} s per member -> "
        f"{theirs * members:.0f} s for {members} (extrapolated)",
        f"ratio PySD / reformsim: {theirs * members / ours:.0f}x",
        f"check: member {rows[0]}'s composite at 2045 differs by {gap:.2e} between the two",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
