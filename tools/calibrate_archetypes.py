"""Fit the reform model's country archetypes to data with ``reformsim.calibrate``, and write them
as scenario files.

Usage::

    PYTHONPATH=src python tools/calibrate_archetypes.py [ARCHETYPE...] [--write] [--figure PNG]

A thin script over ``reformsim.calibrate`` (docs/analysis.md, Calibration): for each archetype
(``ARCHETYPES`` below) it gathers the country's series from ``data/calibration/`` into one table
(digital coverage against the UN Online Service Index, the general adoption ceiling against the
Telecommunication Infrastructure Index, digital adoption against Eurostat's e-government use,
trust against Gallup's confidence in national government, 2005-2024), states the base (the
status-quo context, the archetype's first year, initial values taken from the data) and what
is fitted (constants and stocks' initial values, within the ranges the model documents), and
lets ``reformsim.calibrate`` fit them: differential evolution with one simulate call per
generation, then least squares (docs/analysis.md). Each series is weighted 1 / (n s^2), n its
points and s its spread (at least 0.05), so that every series counts the same whatever its
length and scale; a series of weight 0 is a check, compared with the fit but not fitted to.

The same fit from the command line, once a country's series are in one CSV file
(``year``, ``Digital coverage``, ``Adoption ceiling general``, ``Digital adoption``,
``Trust``)::

    reformsim calibrate scenarios/reform_roadmaps.yaml italy.csv --scenario "status quo" \\
        --start 2006 -p "ICT spending half saturation=0.001:0.1" ... \\
        --initial "Trust=0:1" --initial "Digital coverage=0:1" -w "Digital adoption=0" ...

It prints, per archetype, the fitted values and Theil's decomposition of each series' mean
squared error (Sterman 1984). With ``--write`` it rewrites ``scenarios/archetypes/<name>.yaml``
and the table between the markers in ``docs/model.md``; with ``--figure`` it draws the data and
the archetype files' runs (``--figure-only``: without fitting again).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

import reformsim
from reformsim.scenarios.spec import Changes, Scenario, ScenarioSet
from reformsim.scenarios.writing import scenario_yaml, with_values

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "reform.mdl"
DATA = ROOT / "data" / "calibration"
OUT = ROOT / "scenarios" / "archetypes"
DOCS = ROOT / "docs" / "model.md"
MARKS = ("<!-- archetype fit: begin (tools/calibrate_archetypes.py --write) -->",
         "<!-- archetype fit: end -->")

FIT_END, FINAL = 2024.0, 2045.0
SEED = 12
# The status-quo context every archetype runs under (as the shipped status quo).
CONTEXT = {"Demand growth": 0.02, "Expectation drift": 0.01}
SERIES = {"coverage": "Digital coverage", "access": "Adoption ceiling general",
          "adoption": "Digital adoption", "trust": "Trust"}
LABELS = {"coverage": "Digital coverage vs UN OSI", "access": "Access ceiling vs UN TII",
          "adoption": "Digital adoption vs Eurostat", "trust": "Trust vs Gallup"}
OUTPUTS = ["Digital coverage", "Digital adoption", "Trust", "Service quality", "Access",
           "Legitimacy"]


@dataclass(frozen=True)
class Archetype:
    """A country: its data's codes, what is fitted (``constants``; ``stocks``: initial
    values), what is set from the data (``initial``), its first year, and the series that
    are checks (compared, not fitted)."""

    name: str
    label: str
    description: str
    iso3: str
    eurostat: str | None
    constants: tuple[str, ...]
    stocks: tuple[str, ...] = ()
    start: float = 2006.0
    initial: dict[str, float] = field(default_factory=dict)
    checks: tuple[str, ...] = ()


COVERAGE = ("ICT spending half saturation", "Digital coverage up time")
TRUST = ("Reference trust", "Trust loss time")
ACCESS = ("Initial adoption ceiling general", "Digital skills growth")
ADOPTION = ("Relative digital skills of the vulnerable", "Normal disadoption rate")

ARCHETYPES = {
    "finland": Archetype(
        "finland", "Finland (fitted)",
        "A digital leader with high but falling trust: fitted to Finland's UN OSI and TII "
        "2010-2024, Eurostat e-government use 2013-2024 and Gallup confidence in government "
        "2006-2017.",
        "FIN", "Finland", COVERAGE + TRUST + ACCESS + ADOPTION, ("Digital coverage", "Trust")),
    "italy": Archetype(
        "italy", "Italy (fitted)",
        "A middle performer with low trust: fitted to Italy's UN OSI and TII 2010-2024 and "
        "Gallup confidence in government 2007-2017; Eurostat e-government use 2024 is a check.",
        "ITA", "Italy", COVERAGE + TRUST + ACCESS, ("Digital coverage", "Trust"),
        checks=("adoption",)),
    "rwanda": Archetype(
        "rwanda", "Rwanda (fitted)",
        "A fast digitaliser from a low base: fitted to Rwanda's UN OSI and TII 2010-2024 and "
        "Gallup confidence in government 2016 (starting at its 2006-2009 mean); no adoption "
        "survey. Starts in 2010 at its first OSI.",
        "RWA", None, COVERAGE + TRUST + ACCESS, start=2010.0,
        initial={"Digital coverage": 0.1746, "Trust": 0.947}),
}


# ------------------------------------------------------------------------------- the data

def observations(arch: Archetype) -> dict[str, pd.Series]:
    """Each series of an archetype as values by year (fractions), within the fit window."""
    un = pd.read_csv(DATA / "un_egov_indices.csv")
    un = un[un.iso3 == arch.iso3]
    trust = pd.read_csv(DATA / "gallup_trust.csv")
    out = {"coverage": un[un.indicator == "OSI"].set_index("year").value,
           "access": un[un.indicator == "TII"].set_index("year").value,
           "trust": trust[trust.iso3 == arch.iso3].set_index("year").confidence_share}
    if arch.eurostat:
        use = pd.read_csv(DATA / "eurostat_egov_use.csv")
        rows = use[(use.geo == arch.eurostat) & (use.year <= FIT_END)]
        out["adoption"] = rows.set_index("year").share_pct / 100
    return {k: v[(v.index >= arch.start) & (v.index <= FIT_END)].astype(float)
            for k, v in out.items()}


def data_table(data: dict[str, pd.Series]) -> pd.DataFrame:
    """The series as ``reformsim.calibrate`` reads them: a year column and one column per
    model variable, gaps empty."""
    frame = pd.DataFrame({SERIES[key]: series for key, series in data.items()})
    return frame.rename_axis("year").sort_index()


def weights(arch: Archetype, data: dict[str, pd.Series]) -> dict[str, float]:
    """1 / (n s^2) per series (s its spread, at least 0.05): every series counts the same;
    0 for a check."""
    return {SERIES[key]: 0.0 if key in arch.checks else
            1.0 / (len(obs) * max(float(obs.std(ddof=0)), 0.05) ** 2)
            for key, obs in data.items()}


def base(arch: Archetype) -> ScenarioSet:
    """The run the fit starts from: the status-quo context, the values set from data."""
    scenario = Scenario(arch.name, arch.label, arch.description,
                        Changes(set=dict(CONTEXT), initial=dict(arch.initial)))
    return ScenarioSet(scenarios=(scenario,), model=MODEL)


def ranges(model, names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """The range each fitted quantity's units field documents (a stock's for its initial
    value)."""
    limits = {e.name: e.limits for e in model.elements}
    return {name: (float(limits[name][0]), float(limits[name][1])) for name in names}


# ---------------------------------------------------------------------------- the fit

def fit(model, arch: Archetype):
    """``reformsim.calibrate`` of one archetype: the Calibration, with its data."""
    data = observations(arch)
    return reformsim.calibrate(
        model, data_table(data), ranges(model, arch.constants),
        initial=ranges(model, arch.stocks), weights=weights(arch, data),
        scenarios=base(arch), scenario=arch.name, start=arch.start, intervals="wald",
        seed=SEED)


def fitted(arch: Archetype, calibration) -> Scenario:
    """The archetype's scenario: the base with the fitted values, to six significant digits
    (as its file holds them)."""
    def rounded(values: dict[str, float]) -> dict[str, float]:
        return {k: 0.0 if abs(v) < 1e-9 else float(f"{v:.6g}") for k, v in values.items()}

    return with_values(base(arch).scenarios[0], rounded(calibration.params), arch.name,
                       arch.label, arch.description,
                       initial={**arch.initial, **rounded(calibration.initial)})


def statistics(model, arch: Archetype, scenario: Scenario) -> dict[str, dict[str, float]]:
    """Theil's statistics per series (by key), with the number of points ``n``, of the
    archetype's scenario run as its file runs."""
    from reformsim.analysis.theil import theil
    from reformsim.scenarios.ensemble import expand

    scenarios = ScenarioSet(scenarios=(scenario,), time={"INITIAL TIME": arch.start})
    ensemble = expand(scenarios, model)
    run = reformsim.simulate(model, params=ensemble.params, initial=ensemble.initial,
                             outputs=list(SERIES.values()))
    out = {}
    for key, obs in observations(arch).items():
        index = [int(np.argmin(np.abs(run.times - year))) for year in obs.index]
        out[key] = {"n": len(obs), **theil(run[SERIES[key]][0, index], obs.to_numpy())}
    return out


def table(stats: dict[str, dict[str, dict[str, float]]]) -> str:
    """A markdown table of the statistics, one row per archetype and series."""
    lines = ["| Archetype | Series | n | MSE | RMSPE | U^M | U^S | U^C |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for arch, per in stats.items():
        for key, s in per.items():
            check = " (check, not fitted)" if key in ARCHETYPES[arch].checks else ""
            name = ARCHETYPES[arch].label.split(" (")[0]
            lines.append(f"| {name} | {LABELS[key]}{check} | {s['n']} | "
                         f"{s['MSE']:.4f} | {100 * s['RMSPE']:.1f}% | {s['UM']:.2f} | "
                         f"{s['US']:.2f} | {s['UC']:.2f} |")
    return "\n".join(lines)


def scenario_file(arch: Archetype, scenario: Scenario) -> str:
    """The archetype as a scenario file, from its start to 2045."""
    body = scenario_yaml(scenario, model=MODEL, folder=OUT,
                         time={"INITIAL TIME": arch.start, "FINAL TIME": FINAL})
    return (f"# {arch.label}: a country archetype fitted to data by "
            f"tools/calibrate_archetypes.py\n# (reformsim calibrate) on "
            f"{date.today().isoformat()}; docs/model.md, Calibration. Rerun the tool to refit.\n"
            f"# The history runs from {arch.start:g} under the status-quo context; from 2025 on "
            "it is the\n# country's status quo.\n"
            + body + f"outputs: [{', '.join(OUTPUTS)}]\n")


def write_docs(text: str) -> None:
    doc = DOCS.read_text(encoding="utf-8")
    head, rest = doc.split(MARKS[0])
    _, tail = rest.split(MARKS[1])
    DOCS.write_text(f"{head}{MARKS[0]}\n{text}\n{MARKS[1]}{tail}", encoding="utf-8")


def projection(model, name: str):
    """The archetype's file (scenarios/archetypes/<name>.yaml) run as a user runs it, to 2045:
    the series the fit compares, each (times,)."""
    from reformsim.scenarios.ensemble import expand

    ensemble = expand(reformsim.load_scenarios([OUT / f"{name}.yaml"]), model)
    return reformsim.simulate(model, params=ensemble.params, initial=ensemble.initial,
                              outputs=list(SERIES.values()))


def draw(model, names: list[str], path: Path) -> None:
    """Data and the archetype files' runs (to 2045): coverage, adoption with the access
    ceiling beside it, trust."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.8, 7.2), layout="constrained")
    axes = fig.subplots(len(names), 3, sharex=True, squeeze=False)
    for row, name in enumerate(names):
        arch, run = ARCHETYPES[name], projection(model, name)
        data = observations(arch)
        for col, key in enumerate(("coverage", "adoption", "trust")):
            ax = axes[row, col]
            ax.plot(run.times, run[SERIES[key]][0], color="#0072B2", label="model")
            if key == "adoption":   # the access ceiling beside adoption, with the TII fitted to
                ax.plot(run.times, run[SERIES["access"]][0], "--", color="#009E73",
                        label="access ceiling (model)")
                tii = data["access"]
                ax.plot(tii.index, tii.to_numpy(), "s", ms=4, color="#009E73", label="TII (data)")
            if key in data:
                obs = data[key]
                ax.plot(obs.index, obs.to_numpy(), "o", color="#D55E00", label="data")
            ax.axvspan(FIT_END, FINAL, color="0.93")
            ax.set_ylim(0, 1.05)
            ax.set_title(f"{arch.label.split(' (')[0]}: {SERIES[key].lower()}", fontsize=11)
    axes[0, 0].legend(frameon=False, loc="lower right")
    axes[0, 1].legend(frameon=False, loc="lower right", fontsize=9)
    fig.suptitle("Archetypes fitted to the UN OSI and TII, Eurostat e-government use and Gallup "
                 "trust (grey: projection)", fontsize=13)
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archetypes", nargs="*", default=list(ARCHETYPES))
    parser.add_argument("--write", action="store_true", help="rewrite scenario files and docs")
    parser.add_argument("--figure", type=Path, help="draw the data and the archetype files' "
                        "runs to this PNG")
    parser.add_argument("--figure-only", action="store_true",
                        help="draw the figure from the archetype files as they are, no fit")
    args = parser.parse_args(argv)
    model = reformsim.load_model(MODEL)
    if args.figure_only:
        draw(model, args.archetypes, args.figure or ROOT / "docs" / "figures" / "archetypes.png")
        return
    stats = {}
    for name in args.archetypes:
        arch = ARCHETYPES[name]
        started = time.perf_counter()
        calibration = fit(model, arch)
        scenario = fitted(arch, calibration)
        stats[name] = statistics(model, arch, scenario)
        values = {**calibration.params, **{f"initial {k}": v
                                          for k, v in calibration.initial.items()}}
        print(f"{arch.label} ({calibration.evaluations} members, "
              f"{time.perf_counter() - started:.0f} s): "
              + ", ".join(f"{k} = {v:.4g}" for k, v in values.items()))
        if args.write:
            OUT.mkdir(exist_ok=True)
            (OUT / f"{name}.yaml").write_text(scenario_file(arch, scenario), encoding="utf-8")
    text = table(stats)
    print(text)
    if args.write:
        write_docs(text)
    if args.figure:
        draw(model, args.archetypes, args.figure)


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
