"""Regenerate the decision-analysis study of the shipped reform model (docs/analysis.md).

    PYTHONPATH=src python docs/write_analysis.py

Writes docs/analysis-results.md (every number the study quotes) and docs/figures/analysis-*.png.
Rerun it after models/reform.mdl or its scenario files change: nothing in it is typed by hand.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import reformsim  # noqa: E402
from reformsim.report import analysis_figures as figures  # noqa: E402
from reformsim.report.analysis_output import flat  # noqa: E402
from reformsim.report.figures import save_figure  # noqa: E402

MODEL = ROOT / "models" / "reform.mdl"
ROADMAPS = ROOT / "scenarios" / "reform_roadmaps.yaml"
FACTORIAL = ROOT / "scenarios" / "reform_factorial.yaml"
OUT = ROOT / "docs" / "figures"
SHARES = ["Institutional share", "Leadership share", "Process share", "Engagement share",
          "Knowledge share", "ICT share"]
LEVERS = {**{s: (0.0, 1.0) for s in SHARES}, "Extra improvement time": (0.0, 0.25)}
BUDGET = " + ".join(SHARES) + " <= 1"
OUTPUTS = ["Composite outcome", "Trust"]
AT = [2035.0, 2045.0]
OBJECTIVE_AT = "2030:2045"   # the composite's mean over the last 15 years
SEED = 11


def table(df: pd.DataFrame, digits: int = 3) -> str:
    df = flat(df)
    cells = [[f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
             for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---"
                            for c in df.columns) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells]) + "\n"


def image(out: list[str], fig, name: str, alt: str) -> None:
    """Save ``fig`` as docs/figures/analysis-<name>.png and link it."""
    save_figure(fig, OUT / f"analysis-{name}.png")
    out.append(f"\n![{alt}](figures/analysis-{name}.png)\n")


def sensitivity_section(out: list[str]) -> None:
    started = time.perf_counter()
    study = reformsim.sensitivity(MODEL, var=OUTPUTS, at=AT, scenarios=[ROADMAPS],
                                  scenario="holistic", uncertain=True, samples=1024, seed=SEED)
    seconds = time.perf_counter() - started
    out.append(f"### Sobol indices of the assumptions, holistic roadmap\n\n{study.evaluations} "
               f"members in one simulate call; the whole study took {seconds:.1f} s.\n\n")
    out.append(table(study.indices.sort_values(["output", "time", "ST"],
                                               ascending=[True, True, False])))
    for output in OUTPUTS:
        slug = figures.slug(output)
        image(out, figures.plot_indices(study.indices, output, 2045.0, "sobol"),
              f"sobol-{slug}", f"Sobol indices of {output}")
        image(out, figures.plot_indices_over_time(study.over_time, output, "sobol"),
              f"over-time-{slug}", "Indices over time")
        image(out, figures.plot_tornado(study.swings, output, 2045.0), f"tornado-{slug}",
              "Tornado")
    levers = reformsim.sensitivity(MODEL, LEVERS, var="Composite outcome", at=2045,
                                   scenarios=[ROADMAPS], scenario="holistic", method="morris",
                                   samples=64, seed=SEED, over_time=False)
    out.append("\n### Morris screening of the levers, holistic roadmap (composite, 2045)\n\n")
    out.append(table(levers.indices.sort_values("mu_star", ascending=False), 4))
    image(out, figures.plot_indices(levers.indices, "Composite outcome", 2045.0, "morris"),
          "morris-levers", "Morris")


def factorial_section(out: list[str]) -> None:
    found = reformsim.factorial(FACTORIAL, var=OUTPUTS, at=2045)
    out.append("### Factorial: main effects and two-way interactions (2045)\n\n")
    effects = found.effects.copy()
    out.append(table(effects.sort_values(["output", "kind", "value"],
                                         ascending=[True, False, False]), 4))
    out.append("\nAll six packages together against the sum of each alone on the base:\n\n")
    out.append(table(found.whole, 4))
    for output in OUTPUTS:
        image(out, figures.plot_factorial(found.effects, output, 2045.0),
              "factorial-" + figures.slug(output), f"Factorial {output}")


def optimisation_section(out: list[str]) -> None:
    roadmaps = reformsim.robustness(ROADMAPS, var="Composite outcome", at=OBJECTIVE_AT)
    for base, label in (("status quo", "the status-quo budget (0.3)"),
                        ("holistic", "the holistic roadmap's budget (0.3 rising to 1 in 2025-26)")):
        best = reformsim.optimize(MODEL, LEVERS, var="Composite outcome", at=OBJECTIVE_AT,
                                  constraints=[BUDGET], scenarios=[ROADMAPS], scenario=base,
                                  samples=10, population=15, generations=150, seed=SEED)
        shipped = roadmaps.set_index("label")["mean"].sort_values(ascending=False)
        out.append(f"\n### Optimised allocation under {label}\n\n")
        out.append(f"Objective: mean of the composite over {OBJECTIVE_AT}, averaged over 10 "
                   f"sampled futures; {best.evaluations} members simulated in "
                   f"{len(best.history)} simulate calls ({best.message}).\n\n")
        levers = pd.DataFrame([{"lever": n, "optimised": v} for n, v in best.levers.items()])
        out.append(table(levers))
        out.append(f"\nOptimised composite: **{best.objective:.4f}**. Shipped roadmaps on the "
                   "same measure (mean over the 30 futures of the scenario file):\n\n")
        out.append(table(shipped.reset_index().rename(columns={"mean": "composite"}), 4))
        out.append(f"\nBeats every shipped roadmap: **{bool(best.objective > shipped.max())}**"
                   f" (best shipped: {shipped.index[0]}, {shipped.iloc[0]:.4f}).\n")
        slug = figures.slug(base)
        image(out, figures.plot_convergence(best.history, "Composite outcome", True),
              "convergence-" + slug, "Convergence")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    out = ["# Decision analysis of the reform model: results\n\n",
           "Written by `docs/write_analysis.py` on the current `models/reform.mdl`; do not "
           "edit by hand. Methods and reading guide: [analysis.md](analysis.md).\n\n"]
    for section in (sensitivity_section, factorial_section, optimisation_section):
        section(out)
        out.append("\n")
    (ROOT / "docs" / "analysis-results.md").write_text("".join(out), encoding="utf-8")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
