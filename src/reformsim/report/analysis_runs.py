"""What each decision analysis puts in its run directory: the members it simulated as
results.nc (a Dataset like ``reformsim run``'s), its table as kpis.csv, its figures, and
its own files (a scenario file for an optimised roadmap, ``.cin`` and YAML for fitted
constants, the JSON document)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.batch import Base, run_candidates
from ..scenarios.ensemble import Ensemble, to_dataset
from ..scenarios.spec import TIME_KEYS, Scenario
from ..scenarios.writing import cin_text, scenario_yaml, with_values
from . import analysis_figures as figures
from .analysis_output import records, to_json


def _time_step(base: Base) -> float:
    return base.value("TIME STEP")


def _common(base: Base) -> dict[str, Any]:
    return {"model": base.model.source, "scenario_files": list(base.files),
            "time_step": _time_step(base)}


def _dataset(base: Base, scenarios: tuple[Scenario, ...], results: Any, samples: int,
             draws: dict[str, np.ndarray]) -> Any:
    ensemble = Ensemble(scenarios=scenarios, samples=samples, params={}, draws=draws,
                        change_start=(math.nan,) * len(scenarios), seed=base.ensemble.seed,
                        baseline=scenarios[0].name)
    return to_dataset(ensemble, results, base.model.source)


def sensitivity_bundle(study: Any, seed: int) -> dict[str, Any]:
    """Run-directory contents of a :class:`reformsim.analysis.sensitivity.Sensitivity`."""
    n = len(study.design)
    members = n * study.base.samples
    results = replace(study.results, values=study.results.values[:members],
                      failures={k: v for k, v in study.results.failures.items() if k < members})
    design = Scenario("design", f"{study.method} design", "The sensitivity design's members")
    names = [d.name for d in study.parameters]
    dataset = _dataset(study.base, (design,), results, members,
                       {name: np.repeat(study.design[:, j], study.base.samples)
                        for j, name in enumerate(names)})
    drawn: dict[str, Any] = {}
    for output, time in figures.first_key(study.indices):
        tag = f"{figures.slug(output)}-{figures.slug(str(time))}"
        drawn[f"indices-{tag}.png"] = figures.plot_indices(study.indices, output, time,
                                                           study.method)
        drawn[f"tornado-{tag}.png"] = figures.plot_tornado(study.swings, output, time)
    for output in study.outputs if len(study.over_time) else ():
        drawn[f"over-time-{figures.slug(output)}.png"] = figures.plot_indices_over_time(
            study.over_time, output, study.method)
    analysis = {"command": "sensitivity", "method": study.method,
                "scenario": study.base.scenario.name, "evaluations": study.evaluations,
                "parameters": [{"name": d.name, "distribution": d.kind, "args": list(d.args)}
                               for d in study.parameters]}
    return {**_common(study.base), "dataset": dataset, "table": study.indices,
            "figures": drawn, "analysis": analysis, "seed": seed,
            "files": {"indices.json": to_json(records(study.indices)),
                      "swings.csv": study.swings.assign(time=study.swings["time"].astype(str))
                      .to_csv(index=False)}}


def optimum_bundle(optimum: Any, seed: int, target: Path, name: str = "optimised"
                   ) -> dict[str, Any]:
    """Run-directory contents of an :class:`reformsim.analysis.optimisation.Optimum`: the
    base and the optimised roadmap side by side, and the roadmap as a scenario file."""
    base = optimum.base
    names = list(optimum.levers)
    values = {n: np.array([base.value(n), optimum.levers[n]]) for n in names}
    results = run_candidates(base, values, [optimum.variable])
    direction = "maximises" if optimum.maximize else "minimises"
    description = (f"Levers chosen by reformsim optimize: {direction} {optimum.variable} at "
                   f"{optimum.period.label()} ({optimum.robust} over {base.samples} samples), "
                   f"starting from {base.scenario.name!r}"
                   + ("; subject to " + "; ".join(c.text for c in optimum.constraints)
                      if optimum.constraints else "") + ".")
    winner = with_values(base.scenario, optimum.levers, name, "Optimised roadmap", description)
    dataset = _dataset(base, (base.scenario, winner), results, base.samples,
                       dict(base.ensemble.draws))
    levers = pd.DataFrame([{"lever": n, "value": v, "low": optimum.bounds[n][0],
                            "high": optimum.bounds[n][1], "base": base.value(n)}
                           for n, v in optimum.levers.items()])
    files = {f"{name}.yaml": "# " + description + "\n" + scenario_yaml(
        winner, model=base.model.source, folder=target, time=_time(base)),
        "optimum.json": to_json(optimum.document()),
        "convergence.csv": optimum.history.to_csv(index=False)}
    analysis = {"command": "optimize", "variable": optimum.variable,
                "at": optimum.period.jsonable(), "maximize": optimum.maximize,
                "robust": optimum.robust, "constraints": [c.text for c in optimum.constraints],
                "scenario": base.scenario.name, **optimum.document(),
                "converged": optimum.converged, "message": optimum.message}
    return {**_common(base), "dataset": dataset, "table": levers, "analysis": analysis,
            "figures": {"convergence.png": figures.plot_convergence(
                optimum.history, optimum.variable, optimum.maximize)},
            "files": files, "seed": seed, "winner": winner}


def calibration_bundle(calibration: Any, seed: int, target: Path, name: str = "fitted"
                       ) -> dict[str, Any]:
    """Run-directory contents of a :class:`reformsim.analysis.calibration.Calibration`: the
    fitted run, the fitted values as a scenario file (constants, stocks' initial values and
    the run's time) and as a Vensim changes file (constants only: a .cin cannot set a
    stock's initial value)."""
    base = calibration.base
    results = run_candidates(base, {n: np.array([v]) for n, v in calibration.params.items()},
                             list(calibration.observations.names),
                             initial={n: np.array([v]) for n, v in calibration.initial.items()})
    source = calibration.observations.source
    fitted = with_values(base.scenario, calibration.params, name, "Fitted",
                         f"Values fitted to {source.name} by reformsim calibrate "
                         f"({calibration.objective}).", initial=calibration.initial)
    dataset = _dataset(base, (fitted,), results, 1, {})
    table = pd.DataFrame([{"parameter": n, "value": v, "low": calibration.intervals[n][0],
                           "high": calibration.intervals[n][1]}
                          for n, v in {**calibration.params, **calibration.initial}.items()])
    comment = "fitted by reformsim calibrate to " + source.name + (
        "; the fitted initial values of " + ", ".join(calibration.initial) + " are in "
        f"{name}.yaml (a .cin file cannot set them)" if calibration.initial else "")
    files = {f"{name}.cin": cin_text(calibration.params, comment),
             f"{name}.yaml": scenario_yaml(fitted, model=base.model.source, folder=target,
                                           time=_time(base)),
             "calibration.json": to_json(calibration.document()),
             "theil.csv": theil_table(calibration).to_csv(index=False)}
    data = {"path": str(source.resolve()), "sha256": _sha(source)} if source.is_file() else \
        {"path": str(source)}
    analysis = {"command": "calibrate", "objective": calibration.objective,
                "intervals": calibration.interval_method, "evaluations": calibration.evaluations,
                "data": data, "weights": calibration.weights, "sigma": calibration.sigma,
                **calibration.document()}
    return {**_common(base), "dataset": dataset, "table": table, "analysis": analysis,
            "figures": {"fit.png": figures.plot_fit(calibration)}, "files": files,
            "seed": seed}


def _time(base: Base) -> dict[str, float]:
    """The base's control settings (INITIAL TIME...) a scenario file must repeat."""
    return {k: float(np.asarray(v).reshape(-1)[0]) for k, v in base.ensemble.params.items()
            if k in TIME_KEYS.values()}


def theil_table(calibration: Any) -> pd.DataFrame:
    """Theil's statistics per series, with its number of points and whether it was fitted."""
    return pd.DataFrame([{"series": n, "n": len(calibration.observations.values[n]),
                          "fitted": calibration.weights[n] > 0, **s}
                         for n, s in calibration.theil.items()])


def _sha(path: Path) -> str:
    from .rundir import sha256

    return sha256(path)


def dataset_bundle(command: str, dataset: Any, table: pd.DataFrame, drawn: dict[str, Any],
                   analysis: dict[str, Any], *, model: Path | None, scenario_files: list[Path],
                   seed: int | None, time_step: float = math.nan) -> dict[str, Any]:
    """Contents for a study of an existing run (ranking, factorial, robustness): the model and
    scenario files it was made from (``report.runfiles.run_inputs`` for a run directory)."""
    return {"model": model, "scenario_files": scenario_files, "dataset": dataset, "table": table,
            "figures": drawn, "files": {f"{command}.json": to_json(records(table))},
            "analysis": {"command": command, **analysis}, "seed": seed,
            "time_step": time_step}
