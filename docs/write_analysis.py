"""Regenerate the decision-analysis study of the shipped reform model (docs/analysis.md).

    PYTHONPATH=src python docs/write_analysis.py

Writes docs/analysis-results.md (every number the study quotes, and how long each part took)
and docs/figures/analysis-*.png. Rerun it after models/reform.mdl or its scenario files change:
nothing in it is typed by hand. About ten minutes of computing on a laptop core; the
optimisations are most of it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import reformsim  # noqa: E402
from reformsim.analysis.studies import simulate_files  # noqa: E402
from reformsim.report import analysis_figures as figures  # noqa: E402
from reformsim.report.analysis_output import flat  # noqa: E402
from reformsim.report.effects import package_labels  # noqa: E402
from reformsim.report.figures import save_figure  # noqa: E402
from reformsim.scenarios.ensemble import expand, run  # noqa: E402
from reformsim.scenarios.spec import Changes, Scenario, Schedule, Step  # noqa: E402

MODEL = ROOT / "models" / "reform.mdl"
ROADMAPS = ROOT / "scenarios" / "reform_roadmaps.yaml"
FACTORIAL = ROOT / "scenarios" / "reform_factorial.yaml"
OUT = ROOT / "docs" / "figures"
SHARES = ["Institutional share", "Leadership share", "Process share", "Engagement share",
          "Knowledge share", "ICT share"]
TIME_LEVERS = {"Extra improvement time": (0.0, 0.25), "Protected improvement time": (0.0, 1.0)}
BUDGET = " + ".join(SHARES) + " <= 1"
OUTPUTS = ["Composite outcome", "Trust"]
AT = [2035.0, 2045.0]
OBJECTIVE, OBJECTIVE_AT = "Composite outcome", "2030:2045"   # the mean of the last 15 years
POPULATION, GENERATIONS = 15, 300
SEED = 11
# The status quo's money per strategy: the reference budget 0.3 at the status-quo shares. Every
# shipped roadmap that raises the budget keeps it and adds to it; so does the optimiser under the
# equal budget (the lower end of each share's range, the budget being 1).
KEPT = dict(zip(SHARES, (0.045, 0.045, 0.06, 0.03, 0.03, 0.09)))
EQUAL = "equal budget"


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
    count = len(study.parameters)
    out.append(f"### Sobol indices of the {count} assumptions, holistic roadmap\n\n"
               f"{study.evaluations} members in one simulate call (N = 1024, N (D + 2)); the "
               f"study, indices over time and tornado included, took {seconds:.0f} s.\n\n")
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
    levers = {**{s: (0.0, 1.0) for s in SHARES}, **TIME_LEVERS}
    started = time.perf_counter()
    screening = reformsim.sensitivity(MODEL, levers, var="Composite outcome", at=2045,
                                      scenarios=[ROADMAPS], scenario="holistic",
                                      method="morris", samples=64, seed=SEED, over_time=False)
    out.append("\n### Morris screening of the levers, holistic roadmap (composite, 2045)\n\n"
               f"{screening.evaluations} members; {time.perf_counter() - started:.0f} s. Each "
               "share moves over 0-1 on its own; when the shares add up to more than 1 the "
               "model scales them all down (the budget is spent, never exceeded), so a share's "
               "effect here is that of moving money to it from the others.\n\n")
    out.append(table(screening.indices.sort_values("mu_star", ascending=False), 4))
    image(out, figures.plot_indices(screening.indices, "Composite outcome", 2045.0, "morris"),
          "morris-levers", "Morris")


def factorial_section(out: list[str]) -> None:
    started = time.perf_counter()
    dataset, scenarios = simulate_files([FACTORIAL])
    found = reformsim.factorial(dataset, var=OUTPUTS, at=2045, factorial=scenarios.factorial)
    labels = package_labels(dataset, scenarios.factorial)
    out.append("### Factorial: main effects and two-way interactions (2045)\n\n"
               f"{dataset.sizes['scenario']} combinations in one simulate call; "
               f"{time.perf_counter() - started:.0f} s.\n\n")
    effects = found.effects.copy()
    out.append(table(effects.sort_values(["output", "kind", "value"],
                                         ascending=[True, False, False]), 4))
    out.append("\nAll six packages together against the sum of each alone on the base:\n\n")
    out.append(table(found.whole, 4))
    for output in OUTPUTS:
        image(out, figures.plot_factorial(found.effects, output, 2045.0, labels, found.whole,
                                          "in 2045"),
              "factorial-" + figures.slug(output), f"Factorial {output}")


def with_equal_budget(scenarios):
    """The roadmap file with one more scenario: the status quo, its budget raised to 1 over
    2025 as every full-programme roadmap raises it, its shares left to the optimiser."""
    equal = Scenario(EQUAL, "Equal budget", "The status quo with the budget of the full "
                     "programmes: 1 from 2025, reached over a year.",
                     Changes(schedule={"Reform budget": Schedule((Step(2025.0, 1.0, 1.0),))}),
                     extends="status quo")
    return replace(scenarios, scenarios=(*scenarios.scenarios, equal))


# Levers that cost no reform money, for a wider search under the status-quo budget: when extra
# improvement time phases in, how hard staff may be pushed (overtime: paid from payroll, outside
# the reform budget), offline closure and devolution.
FREE_LEVERS = {"Improvement ramp years": (0.0, 10.0), "Maximum work intensity": (1.0, 2.0),
               "Digital by default": (0.0, 1.0), "Offline cut fraction": (0.0, 1.0),
               "Devolved share": (0.0, 1.0)}
HOLISTIC = {**dict(zip(SHARES, (0.18, 0.18, 0.18, 0.1, 0.1, 0.26))),
            "Extra improvement time": 0.05, "Protected improvement time": 1.0}
STATUS_QUO = {**dict(zip(SHARES, (0.15, 0.15, 0.2, 0.1, 0.1, 0.3))),
              "Improvement ramp years": 0.0, "Maximum work intensity": 1.35,
              "Offline cut fraction": 0.6}


def optimise(scenarios, base: str, levers: dict[str, tuple[float, float]], generations: int):
    started = time.perf_counter()
    found = reformsim.optimize(MODEL, levers, var=OBJECTIVE, at=OBJECTIVE_AT,
                               constraints=[BUDGET], scenarios=scenarios, scenario=base,
                               population=POPULATION, generations=generations, seed=SEED)
    return found, time.perf_counter() - started


def optimisation_section(out: list[str]) -> None:
    scenarios = with_equal_budget(reformsim.load_scenarios([ROADMAPS]))
    model = reformsim.load_model(MODEL)
    free = {s: (0.0, 1.0) for s in SHARES}
    cases = [("status-quo budget", "status quo", "the status-quo budget (0.3 every year)",
              {**free, **TIME_LEVERS}, GENERATIONS),
             ("equal budget", EQUAL, "the full programmes' budget (0.3 rising to 1 over "
              "2025), each strategy keeping at least its status-quo money",
              {**{s: (KEPT[s], 1.0) for s in SHARES}, **TIME_LEVERS}, GENERATIONS),
             ("status-quo budget, every free lever", "status quo", "the status-quo budget, "
              "with every lever that costs no reform money", {**free, **TIME_LEVERS,
                                                              **FREE_LEVERS},
              GENERATIONS)]
    winners, optima = [], []
    for tag, base, label, levers, generations in cases:
        found, seconds = optimise(scenarios, base, levers, generations)
        optima.append(found)
        name = f"optimised, {tag}"
        winners.append(Scenario(name, name.capitalize(), f"reformsim optimize under {label}",
                                Changes(set=dict(found.levers)), extends=base))
        spans = ", ".join(f"{n} {lo:g}-{hi:g}" for n, (lo, hi) in levers.items())
        out.append(f"\n### Optimised roadmap under {label}\n\n"
                   f"Levers and ranges: {spans}; the six shares' sum at most 1. Objective: "
                   f"mean of the composite over {OBJECTIVE_AT}, averaged over the scenario "
                   f"file's {found.base.samples} futures (the same draws as the shipped "
                   f"roadmaps). Differential evolution, {POPULATION} x {len(levers)} candidates "
                   f"a generation, at most {generations} generations: {found.evaluations} "
                   f"members in {len(found.history)} simulate calls, {seconds:.0f} s "
                   f"({found.message}).\n\n")
        rows = [{"lever": n, "optimised": v, "status quo": STATUS_QUO.get(n, 0.0),
                 "holistic roadmap": HOLISTIC.get(n, STATUS_QUO.get(n, 0.0))}
                for n, v in found.levers.items()]
        out.append(table(pd.DataFrame(rows)))
        best = found.history["best"]
        last = min(100, len(best) - 1)
        out.append(f"\nOptimised composite (mean {OBJECTIVE_AT}, mean over the futures): "
                   f"**{found.objective:.4f}**; the best improved by "
                   f"{best.iloc[-1] - best.iloc[-1 - last]:.5f} over the last {last} "
                   "generations.\n")
        image(out, figures.plot_convergence(found.history, OBJECTIVE, True),
              "convergence-" + figures.slug(tag), "Convergence")
    compare = replace(scenarios, scenarios=(*scenarios.scenarios, *winners))
    started = time.perf_counter()
    dataset = run(expand(compare, model), model)
    regret = reformsim.robustness(dataset, var=OBJECTIVE, at=OBJECTIVE_AT)
    regret = regret[regret["scenario"] != EQUAL]
    in_2045 = reformsim.robustness(dataset, var=OBJECTIVE, at=2045).set_index("scenario")
    shown = regret.assign(**{"mean 2045": regret["scenario"].map(in_2045["mean"])})
    shown = shown.sort_values("mean", ascending=False)[
        ["label", "mean", "p5", "p95", "mean 2045", "mean_regret", "max_regret", "best_share"]]
    out.append("\n### The optimised roadmaps beside the shipped ones\n\n"
               f"Every roadmap under the same {dataset.sizes['sample']} futures "
               f"({time.perf_counter() - started:.0f} s): the composite's mean over "
               f"{OBJECTIVE_AT} (mean, 5th and 95th percentile over the futures), its mean in "
               "2045, and the regret against the best roadmap of each future (robustness).\n\n")
    out.append(table(shown.rename(columns={"mean": f"mean {OBJECTIVE_AT}"}), 4))
    shipped = regret[~regret["scenario"].str.startswith("optimised")].set_index("label")["mean"]
    for winner in winners:
        value = float(regret.set_index("scenario").loc[winner.name, "mean"])
        beaten = [label for label, v in shipped.items() if v >= value]
        out.append(f"\n{winner.label}: beats every shipped roadmap: **{not beaten}**"
                   + (f" (not: {', '.join(beaten)})" if beaten else "") + ".\n")
    image(out, figures.plot_regret(regret, OBJECTIVE, [2030.0, 2045.0]), "regret-composite",
          "Regret")
    worth_section(out, scenarios, optima[1].levers)


def worth_section(out: list[str], scenarios, winner: dict[str, float]) -> None:
    """What each choice of the equal-budget optimum is worth: the optimum with one choice
    undone, under the same futures, and how many of them abandon the programme."""
    from reformsim.analysis.batch import base_of, measure, run_candidates
    from reformsim.analysis.requests import parse_period

    base = base_of(MODEL, scenarios, EQUAL)
    shares = {s: HOLISTIC[s] for s in SHARES}
    process = HOLISTIC["Process share"] - winner["Process share"]
    variants = {
        "the optimum": winner,
        "its extra improvement time protected": {**winner, "Protected improvement time": 1.0},
        "no extra improvement time": {**winner, "Extra improvement time": 0.0},
        "the holistic roadmap's improvement time (0.05, protected)":
            {**winner, "Extra improvement time": 0.05, "Protected improvement time": 1.0},
        "the holistic roadmap's shares": {**winner, **shares},
        "process back to the holistic 0.18, from institutions":
            {**winner, "Process share": HOLISTIC["Process share"],
             "Institutional share": winner["Institutional share"] - process},
        "the holistic roadmap's shares and improvement time, no sequencing":
            {**winner, **{k: HOLISTIC[k] for k in winner}},
        "the status quo's shares at the full budget":
            {**winner, **{s: STATUS_QUO[s] for s in SHARES},
             "Extra improvement time": 0.0, "Protected improvement time": 0.0},
    }
    names = list(winner)
    results = run_candidates(base, {n: np.array([v[n] for v in variants.values()])
                                    for n in names}, [OBJECTIVE, "Programme cancelled"])
    value = measure(results, OBJECTIVE, parse_period(OBJECTIVE_AT)).reshape(-1, base.samples)
    cancelled = (results["Programme cancelled"][:, -1] > 0.5).reshape(-1, base.samples)
    rows = [{"variant": name, f"composite {OBJECTIVE_AT}": float(value[k].mean()),
             "change": float(value[k].mean() - value[0].mean()),
             "futures abandoning it": int(cancelled[k].sum())}
            for k, name in enumerate(variants)]
    out.append("\n### What each choice of the equal-budget optimum is worth\n\n"
               "The optimum with one choice undone (all under the full programmes' budget, "
               f"every strategy starting in 2025, the same {base.samples} futures); the last "
               "column counts the futures in which the programme is abandoned in its dip "
               "(Programme cancelled in 2045).\n\n")
    out.append(table(pd.DataFrame(rows), 4))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    out: list[str] = []
    for section in (sensitivity_section, factorial_section, optimisation_section):
        section(out)
        out.append("\n")
    head = ["# Decision analysis of the reform model: results\n\n",
            "Written by `docs/write_analysis.py` on the current `models/reform.mdl`; do not "
            "edit by hand. Methods and reading guide: [analysis.md](analysis.md). The whole "
            f"study took {time.perf_counter() - started:.0f} s.\n\n"]
    (ROOT / "docs" / "analysis-results.md").write_text("".join(head + out), encoding="utf-8")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
