"""The public functions: a model (path or compiled), scenario files and plain values in, a
study out. ``reformsim.sensitivity``, ``optimize``, ``calibrate``, ``robustness`` and
``factorial`` are these; the command line calls them too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..model.ir import fold_name
from ..scenarios.spec import ScenarioSet
from .batch import Base, Progress, base_of
from .requests import (
    Period,
    RequestError,
    as_distribution,
    lever_ranges,
    parse_period,
    variable_name,
)

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel
    from ..scenarios.spec import Distribution
    from .calibration import Calibration
    from .factorial import FactorialEffects
    from .optimisation import Optimum
    from .sensitivity import Sensitivity

def periods_of(at: Any) -> list[Period]:
    """``--at`` values: a time, ``"START:END"``, or several; none means the final time."""
    if at is None:
        return []
    if isinstance(at, str | float | int | Period):
        at = [at]
    return [parse_period(a) for a in at]


def _names(values: str | Sequence[str]) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def _distributions(params: Mapping[str, Any] | None, extra: Sequence[Distribution]
                   ) -> list[Distribution]:
    """Explicit ranges first, then the others not already named (the first naming wins)."""
    found: dict[str, Distribution] = {}
    for d in [as_distribution(n, v) for n, v in (params or {}).items()] + list(extra):
        found.setdefault(fold_name(d.name), d)
    return list(found.values())


def sensitivity(model: CompiledModel | str | Path, params: Mapping[str, Any] | None = None, *,
                var: str | Sequence[str], at: Any = None, scenarios: Any = (),
                scenario: str | None = None, method: str = "sobol", samples: int | None = None,
                seed: int = 0, second_order: bool = False, over_time: bool = True,
                uncertain: bool = False, levers: bool = False, integrator: str = "euler",
                progress: Progress | None = None) -> Sensitivity:
    """Which parameters matter for ``var``: Sobol, Morris or FAST indices, through SALib.

    Parameters
    ----------
    model
        A model file or a compiled model: the base, under ``scenario`` of ``scenarios``
        (scenario files, or a ScenarioSet read or built in Python).
    params
        ``name -> (low, high)`` (uniform), ``"low:high"`` or a scenario Distribution.
    uncertain, levers
        Also study the scenario files' ``uncertainty`` parameters (their distributions),
        and the model's constants whose units declare a range (``[lo, hi]``).
    at
        A time, ``"start:end"`` (the time-average over that period), or several; default:
        the final time. ``over_time`` also gives the indices at up to 41 save times.
    samples
        SALib's base sample size N: Sobol N (D + 2) members (a power of two), Morris N
        trajectories of D + 1, FAST N D; default 1024, 64, 1024.
    """
    from .sensitivity import sensitivity_study

    base = base_of(model, scenarios, scenario, uncertain=False)
    extra: list[Distribution] = []
    if uncertain:
        from ..scenarios.loading import load_scenarios

        loaded = scenarios if isinstance(scenarios, ScenarioSet) else \
            load_scenarios(list(scenarios)) if scenarios else None
        extra += list(loaded.uncertainty.parameters) if loaded and loaded.uncertainty else []
    if levers:
        extra += list(lever_ranges(base.model))
    outputs = [variable_name(base.model, v) for v in _names(var)]
    return sensitivity_study(base, _distributions(params, extra), outputs, periods_of(at),
                             method=method, samples=samples, seed=seed,
                             second_order=second_order, over_time=over_time,
                             integrator=integrator, progress=progress)


def _final_period(base: Base, variable: str) -> Period:
    from .batch import run_candidates

    times = run_candidates(base, {}, [variable]).times
    return Period(float(times[-1]), float(times[-1]))


def optimize(model: CompiledModel | str | Path, levers: Mapping[str, Any], *,
             var: str, at: Any = None, maximize: bool = True, constraints: Sequence[str] = (),
             scenarios: Any = (), scenario: str | None = None,
             robust: str = "mean", uncertain: bool = True, samples: int | None = None,
             population: int = 15,
             generations: int = 200, seed: int = 0, integrator: str = "euler",
             progress: Progress | None = None) -> Optimum:
    """The best lever values for ``var`` (at a time, or its mean over ``"start:end"``).

    ``levers`` maps names to ``(low, high)``; ``constraints`` are linear texts such as
    ``"ICT share + Leadership share <= 1"``. With ``uncertain`` (and a scenario file with
    an ``uncertainty`` section) every candidate runs under every sample (``samples`` of
    them, default the file's) and is scored by
    ``robust``: ``mean`` or a percentile ``pNN`` over them. Each generation of the
    differential evolution (``population`` x levers candidates) is one simulate call.
    """
    from .optimisation import optimise

    base = base_of(model, scenarios, scenario, uncertain=uncertain, samples=samples)
    variable = variable_name(base.model, var)
    periods = periods_of(at)
    if len(periods) > 1:
        raise RequestError("--at", "", "an objective is one time or one period")
    period = periods[0] if periods else _final_period(base, variable)
    return optimise(base, [as_distribution(n, v) for n, v in levers.items()], variable, period,
                    maximize=maximize, constraints=constraints, robust=robust,
                    population=population, generations=generations, seed=seed,
                    integrator=integrator, progress=progress)


def calibrate(model: CompiledModel | str | Path, data: Any, params: Mapping[str, Any] | None,
              *, initial: Mapping[str, Any] | None = None,
              weights: Mapping[str, float] | None = None, objective: str = "wls",
              intervals: str = "mcmc", steps: int = 1000, scenarios: Any = (),
              scenario: str | None = None, start: float | None = None, seed: int = 0,
              integrator: str = "euler", progress: Progress | None = None) -> Calibration:
    """Fit constants and stocks' initial values to data series.

    Parameters
    ----------
    data
        A CSV or Excel file (a time column and columns named like model variables; gaps left
        empty; a CSV may open with ``#`` comment lines), or a pandas DataFrame of that shape.
    params, initial
        ``name -> (low, high)``: constants, and stocks whose initial values are fitted.
    weights
        ``series -> w`` for weighted least squares (default 1 each); 0 makes a series a
        check: compared with the fit (its Theil statistics reported), not fitted to.
    objective, intervals
        ``wls`` or ``gaussian`` (one sigma per series; weights then only tell checks
        apart); 95% intervals from emcee (``mcmc``) or the linearised covariance (``wald``).
    scenarios, scenario
        The base: scenario files (or a ScenarioSet) and the scenario the fit starts from.
    start
        The run's INITIAL TIME (the data's first year, say), over the model's and the file's.
    """
    from .calibration import calibrate_to
    from .data import read_data

    time = {"INITIAL TIME": float(start)} if start is not None else None
    base = base_of(model, scenarios, scenario, uncertain=False, time=time)
    observations = read_data(data if not isinstance(data, str) else Path(data), base.model)
    return calibrate_to(base, [as_distribution(n, v) for n, v in (params or {}).items()],
                        observations,
                        initial=[as_distribution(n, v) for n, v in (initial or {}).items()],
                        weights=weights, objective=objective, intervals=intervals,
                        steps=steps, seed=seed, integrator=integrator, progress=progress)


def simulate_files(scenario_files: Sequence[str | Path], model: str | Path | None = None, *,
                   integrator: str = "euler", progress: Progress | None = None) -> Any:
    """Scenario files run in memory, as ``reformsim run`` would: the labelled Dataset (its
    ``time_step`` attribute the run's TIME STEP) and the ScenarioSet."""
    from ..engine.loading import load_model
    from ..scenarios.ensemble import expand, run
    from ..scenarios.loading import load_scenarios

    scenarios = load_scenarios([Path(p) for p in scenario_files])
    path = Path(model) if model is not None else scenarios.model
    if path is None:
        raise RequestError(Path(scenario_files[0]), "model", "the file names no model",
                           hint="add 'model: path/to/model.mdl' or pass the model")
    compiled = load_model(path)
    ensemble = expand(scenarios, compiled)
    dataset = run(ensemble, compiled, integrator, progress)
    step = ensemble.params.get("TIME STEP")
    dataset.attrs["time_step"] = float(np.asarray(step).reshape(-1)[0]) if step is not None \
        else _time_step(compiled)
    return dataset, scenarios


def _time_step(model: CompiledModel) -> float:
    """The model's own TIME STEP."""
    from ..engine import settings

    values = model.init({}, {}, np.zeros(1, dtype=np.uint64))
    return float(settings.read(values, settings.find(model, "TIME STEP", "constant"), 1)[0])


def factorial(source: Any, *, var: str | Sequence[str] | None = None, at: Any = None,
              model: str | Path | None = None, factorial: Any = None) -> FactorialEffects:
    """Main effects and two-way interactions of a factorial scenario file's packages.

    ``source`` is the scenario file (or files), run in memory, or an already simulated
    Dataset together with ``factorial`` (its ``reformsim.scenarios.spec.Factorial``).
    ``var`` defaults to the file's ``outputs``.
    """
    from .factorial import factorial_effects

    if isinstance(source, str | Path) or (isinstance(source, Sequence) and source and
                                          isinstance(source[0], str | Path)):
        files = [source] if isinstance(source, str | Path) else list(source)
        dataset, scenarios = simulate_files(files, model)
        factorial = scenarios.factorial
        default = scenarios.outputs
    else:
        dataset, default = source, None
    if factorial is None:
        raise RequestError("", "factorial", "the scenario file has no 'factorial' section",
                           hint="see scenarios/reform_factorial.yaml for one")
    names = _names(var) if var is not None else list(default or [])
    if not names:
        raise RequestError("--var", "", "name the outputs to analyse")
    return factorial_effects(dataset, factorial, names, periods_of(at))


def robustness(source: Any, *, var: str | Sequence[str], at: Any = None,
               maximize: bool = True, threshold: float | None = None,
               model: str | Path | None = None) -> Any:
    """Regret of each roadmap against the best in each sampled future, and the share of
    futures meeting ``threshold`` (a DataFrame; see
    :func:`reformsim.analysis.robustness.robustness_table`). ``source``: scenario files
    (run in memory) or a simulated Dataset."""
    from .robustness import robustness_table

    if isinstance(source, str | Path) or (isinstance(source, Sequence) and source and
                                          isinstance(source[0], str | Path)):
        files = [source] if isinstance(source, str | Path) else list(source)
        source, _ = simulate_files(files, model)
    return robustness_table(source, _names(var), periods_of(at), maximize=maximize,
                            threshold=threshold)
