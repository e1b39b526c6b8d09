"""Fit the reform model's country archetypes to data, and write them as scenario files.

Usage::

    PYTHONPATH=src python tools/calibrate_archetypes.py [ARCHETYPE...] [--write] [--figure PNG]

For each archetype (``ARCHETYPES`` below) the model runs from 2006 under the status-quo context
and a few country parameters are fitted by least squares (``scipy.optimize.least_squares``) to
three series in ``data/calibration/``: digital coverage to the UN Online Service Index
(2010-2024), digital adoption to Eurostat's share of people using public authorities' websites,
and trust to Gallup's confidence in national government (2005-2017, the series the OECD's
Government at a Glance reports). Every evaluation batch is one ensemble: a Latin-hypercube
search for the starting point (64 members), then each Jacobian of the fit (one member per
parameter, forward differences). Each series is weighted by its spread and its number of points,
so that every series counts the same whatever its length.

It prints, per archetype and series, the fitted values and Theil's decomposition of the mean
squared error (Sterman 1984): MSE, RMSPE, and the shares of bias (U^M), unequal variation (U^S)
and unequal covariation (U^C). With ``--write`` it rewrites ``scenarios/archetypes/<name>.yaml``
and the table between the markers in ``docs/model.md``; with ``--figure`` it draws data and fits.
The issue's ``reformsim calibrate`` command will replace this script once it lands.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.stats import qmc

import reformsim

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "reform.mdl"
DATA = ROOT / "data" / "calibration"
OUT = ROOT / "scenarios" / "archetypes"
DOCS = ROOT / "docs" / "model.md"
MARKS = ("<!-- archetype fit: begin (tools/calibrate_archetypes.py --write) -->",
         "<!-- archetype fit: end -->")

FIT_END, FINAL = 2024.0, 2045.0
# The status-quo context every archetype runs under (as the shipped status quo).
CONTEXT = {"Demand growth": 0.02, "Expectation drift": 0.01}
SERIES = {"coverage": "Digital coverage", "access": "Adoption ceiling general",
          "adoption": "Digital adoption", "trust": "Trust"}
LABELS = {"coverage": "Digital coverage vs UN OSI", "access": "Access ceiling vs UN TII",
          "adoption": "Digital adoption vs Eurostat", "trust": "Trust vs Gallup"}


@dataclass(frozen=True)
class Fitted:
    """A fitted quantity: a constant (``set``) or a stock's initial value (``initial``), within
    the range its units field documents in the model."""

    name: str
    kind: str = "set"


@dataclass(frozen=True)
class Archetype:
    name: str
    label: str
    description: str
    iso3: str
    eurostat: str | None
    fitted: tuple[Fitted, ...]
    fixed: dict[str, float] = field(default_factory=dict)
    start: float = 2006.0
    initial: dict[str, float] = field(default_factory=dict)   # stocks set from the data
    checks: tuple[str, ...] = ()     # series compared with the fit but not fitted to


COVERAGE = (Fitted("ICT spending half saturation"),
            Fitted("Digital coverage up time"))
TRUST = (Fitted("Trust", "initial"),
         Fitted("Reference trust"),
         Fitted("Trust loss time"))
COMMON = COVERAGE + (Fitted("Digital coverage", "initial"),) + TRUST
ACCESS = (Fitted("Initial adoption ceiling general"),
          Fitted("Digital skills growth"))
ADOPTION = (Fitted("Relative digital skills of the vulnerable"), Fitted("Normal disadoption rate"))

ARCHETYPES = {
    "finland": Archetype(
        "finland", "Finland (fitted)",
        "A digital leader with high but falling trust: fitted to Finland's UN OSI and TII "
        "2010-2024, Eurostat e-government use 2013-2024 and Gallup confidence in government "
        "2006-2017.",
        "FIN", "Finland", COMMON + ACCESS + ADOPTION),
    "italy": Archetype(
        "italy", "Italy (fitted)",
        "A middle performer with low trust: fitted to Italy's UN OSI and TII 2010-2024 and "
        "Gallup confidence in government 2007-2017; Eurostat e-government use 2024 is a check.",
        "ITA", "Italy", COMMON + ACCESS, checks=("adoption",)),
    "rwanda": Archetype(
        "rwanda", "Rwanda (fitted)",
        "A fast digitaliser from a low base: fitted to Rwanda's UN OSI and TII 2010-2024 and "
        "Gallup confidence in government 2016 (starting at its 2006-2009 mean); no adoption "
        "survey. Starts in 2010 at its first OSI.",
        "RWA", None, COVERAGE + TRUST[1:] + ACCESS, start=2010.0,
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


# ------------------------------------------------------------------------- the simulation

class Runner:
    """Simulates one archetype for many parameter vectors at once (one ensemble)."""

    def __init__(self, model, arch: Archetype, data: dict[str, pd.Series], final: float = FIT_END):
        self.model, self.arch, self.data, self.final = model, arch, data, final

    def settings(self, x: np.ndarray) -> tuple[dict, dict]:
        """(params, initial) for a batch of parameter vectors x (members x parameters)."""
        n = x.shape[0]
        params = {"INITIAL TIME": self.arch.start, "FINAL TIME": self.final, "SAVEPER": 0.25,
                  **CONTEXT, **self.arch.fixed}
        initial = {k: np.full(n, v) for k, v in self.arch.initial.items()}
        for j, f in enumerate(self.arch.fitted):
            (params if f.kind == "set" else initial)[f.name] = x[:, j].copy()
        return params, initial

    def simulate(self, x: np.ndarray):
        params, initial = self.settings(np.atleast_2d(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return reformsim.simulate(self.model, params=params, initial=initial,
                                      outputs=list(SERIES.values()))

    def at_data(self, results) -> dict[str, np.ndarray]:
        """Simulated values at the observation years: series -> (members x points)."""
        out = {}
        for key, obs in self.data.items():
            idx = [int(np.argmin(np.abs(results.times - year))) for year in obs.index]
            out[key] = results[SERIES[key]][:, idx]
        return out

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Weighted residuals (members x all points): every series weighs the same."""
        sim = self.at_data(self.simulate(x))
        parts = []
        for key, obs in self.data.items():
            if key in self.arch.checks:
                continue
            scale = max(float(obs.std(ddof=0)), 0.05) * np.sqrt(len(obs))
            parts.append((sim[key] - obs.to_numpy()) / scale)
        return np.concatenate(parts, axis=1)


def bounds(model, fitted: tuple[Fitted, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The documented range of each fitted quantity (a stock's range for its initial value)."""
    limits = {e.name: e.limits for e in model.elements}
    low, high = zip(*(limits[f.name] for f in fitted))
    return np.array(low, dtype=float), np.array(high, dtype=float)


def fit(runner: Runner, samples: int = 64, seed: int = 12) -> np.ndarray:
    """Latin-hypercube search for a start, then bounded least squares from it."""
    low, high = bounds(runner.model, runner.arch.fitted)
    design = qmc.scale(qmc.LatinHypercube(d=len(low), seed=seed).random(samples), low, high)
    cost = np.sum(runner.residuals(design) ** 2, axis=1)
    start = design[int(np.nanargmin(cost))]
    step = 1e-4 * (high - low)

    def fun(x):
        return runner.residuals(x)[0]

    def jac(x):
        x = np.clip(x, low, high - step)
        batch = np.vstack([x, x + np.diag(step)])
        r = runner.residuals(batch)
        return ((r[1:] - r[0]) / step[:, None]).T

    result = least_squares(fun, start, jac=jac, bounds=(low, high), x_scale=high - low,
                           max_nfev=200)
    return result.x


# ------------------------------------------------------------------------------ reporting

def theil(sim: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """Theil's inequality statistics (Sterman 1984): MSE and its bias, variance and
    covariance shares; RMSPE is the root mean square percentage error."""
    err = sim - obs
    mse = float(np.mean(err ** 2))
    s_sim, s_obs = float(np.std(sim)), float(np.std(obs))
    r = float(np.corrcoef(sim, obs)[0, 1]) if len(obs) > 2 and s_sim > 0 and s_obs > 0 else 0.0
    if mse == 0:
        return {"n": len(obs), "MSE": 0.0, "RMSPE": 0.0, "UM": 0.0, "US": 0.0, "UC": 0.0, "r": r}
    return {"n": len(obs), "MSE": mse, "RMSPE": float(np.sqrt(np.mean((err / obs) ** 2))),
            "UM": (sim.mean() - obs.mean()) ** 2 / mse, "US": (s_sim - s_obs) ** 2 / mse,
            "UC": 2 * (1 - r) * s_sim * s_obs / mse, "r": r}


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


def scenario_file(arch: Archetype, runner: Runner, x: np.ndarray) -> str:
    params, initial = runner.settings(np.atleast_2d(x))
    sets = {k: v for k, v in params.items() if k not in ("INITIAL TIME", "FINAL TIME", "SAVEPER")}
    sets = {k: float(np.atleast_1d(v)[0]) for k, v in sets.items()}
    inits = {k: float(np.atleast_1d(v)[0]) for k, v in initial.items()}

    def mapping(d):
        return "{" + ", ".join(f"{k}: {v if abs(v) > 1e-9 else 0:.6g}" for k, v in d.items()) + "}"

    return (f"# {arch.label}: a country archetype fitted to data by tools/calibrate_archetypes.py"
            f" on {date.today().isoformat()}\n# (docs/model.md, Calibration); rerun the tool to "
            "refit.\n"
            f"# The history runs from {arch.start:g} under the status-quo context; from 2025 on "
            "it is the country's status quo.\n"
            "model: ../../models/reform.mdl\n"
            f"time: {{initial: {arch.start:g}, final: {FINAL:g}}}\n"
            "scenarios:\n"
            f"  {arch.name}:\n"
            f"    label: {json.dumps(arch.label)}\n"
            f"    description: {json.dumps(arch.description)}\n"
            f"    set: {mapping(sets)}\n"
            f"    initial: {mapping(inits)}\n"
            "outputs: [Digital coverage, Digital adoption, Trust, Service quality, Access, "
            "Legitimacy]\n")


def write_docs(text: str) -> None:
    doc = DOCS.read_text(encoding="utf-8")
    head, rest = doc.split(MARKS[0])
    _, tail = rest.split(MARKS[1])
    DOCS.write_text(f"{head}{MARKS[0]}\n{text}\n{MARKS[1]}{tail}", encoding="utf-8")


def draw(fits: dict[str, tuple[Runner, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.8, 7.2), layout="constrained")
    axes = fig.subplots(len(fits), 3, sharex=True, squeeze=False)
    for row, (name, (runner, x)) in enumerate(fits.items()):
        long = Runner(runner.model, runner.arch, runner.data, final=FINAL)
        res = long.simulate(x)
        for col, key in enumerate(("coverage", "adoption", "trust")):
            ax = axes[row, col]
            ax.plot(res.times, res[SERIES[key]][0], color="#0072B2", label="model")
            if key == "adoption":   # the access ceiling beside adoption, with the TII fitted to
                ax.plot(res.times, res[SERIES["access"]][0], "--", color="#009E73",
                        label="access ceiling (model)")
                tii = runner.data["access"]
                ax.plot(tii.index, tii.to_numpy(), "s", ms=4, color="#009E73", label="TII (data)")
            if key in runner.data:
                obs = runner.data[key]
                ax.plot(obs.index, obs.to_numpy(), "o", color="#D55E00", label="data")
            ax.axvspan(FIT_END, FINAL, color="0.93")
            ax.set_ylim(0, 1.05)
            ax.set_title(f"{runner.arch.label.split(' (')[0]}: {SERIES[key].lower()}", fontsize=11)
    axes[0, 0].legend(frameon=False, loc="lower right")
    axes[0, 1].legend(frameon=False, loc="lower right", fontsize=9)
    fig.suptitle("Archetypes fitted to the UN OSI and TII, Eurostat e-government use and Gallup "
                 "trust (grey: projection)", fontsize=13)
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archetypes", nargs="*", default=list(ARCHETYPES))
    parser.add_argument("--write", action="store_true", help="rewrite scenario files and docs")
    parser.add_argument("--figure", type=Path, help="draw data and fits to this PNG")
    args = parser.parse_args(argv)
    model = reformsim.load_model(MODEL)
    stats, fits = {}, {}
    for name in args.archetypes:
        arch = ARCHETYPES[name]
        runner = Runner(model, arch, observations(arch))
        x = fit(runner)
        fits[name] = (runner, x)
        sim = runner.at_data(runner.simulate(x))
        stats[name] = {k: theil(sim[k][0], obs.to_numpy()) for k, obs in runner.data.items()}
        print(f"{arch.label}: " + ", ".join(f"{f.name} = {v:.4g}" for f, v in zip(arch.fitted, x)))
        if args.write:
            OUT.mkdir(exist_ok=True)
            (OUT / f"{name}.yaml").write_text(scenario_file(arch, runner, x), encoding="utf-8")
    text = table(stats)
    print(text)
    if args.write:
        write_docs(text)
    if args.figure:
        draw(fits, args.figure)


if __name__ == "__main__":
    sys.exit(main())
