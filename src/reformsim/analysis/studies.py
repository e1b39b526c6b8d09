"""The public functions: a model (path or compiled), scenario files and plain values in, a
study out. ``reformsim.sensitivity``, ``optimize``, ``calibrate``, ``robustness`` and
``factorial`` are these; the command line calls them too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.ir import fold_name
from .batch import Progress, base_of
from .requests import Period, as_distribution, lever_ranges, parse_period, variable_name

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel
    from ..scenarios.spec import Distribution
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
                var: str | Sequence[str], at: Any = None, scenarios: Sequence[str | Path] = (),
                scenario: str | None = None, method: str = "sobol", samples: int | None = None,
                seed: int = 0, second_order: bool = False, over_time: bool = True,
                uncertain: bool = False, levers: bool = False, integrator: str = "euler",
                progress: Progress | None = None) -> Sensitivity:
    """Which parameters matter for ``var``: Sobol, Morris or FAST indices, through SALib.

    Parameters
    ----------
    model
        A model file or a compiled model: the base, under ``scenario`` of ``scenarios``.
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

        loaded = load_scenarios(list(scenarios)) if scenarios else None
        extra += list(loaded.uncertainty.parameters) if loaded and loaded.uncertainty else []
    if levers:
        extra += list(lever_ranges(base.model))
    outputs = [variable_name(base.model, v) for v in _names(var)]
    return sensitivity_study(base, _distributions(params, extra), outputs, periods_of(at),
                             method=method, samples=samples, seed=seed,
                             second_order=second_order, over_time=over_time,
                             integrator=integrator, progress=progress)
