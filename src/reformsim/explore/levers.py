"""The levers a facilitator moves: which constants get a slider, and over what range.

A lever is a scalar constant that the model documents as one (its documentation starts
with ``LEVER``) or that a scenario file sets or schedules; a model with neither offers all
its number constants. Its range is the model's documented one (Vensim's units field,
``~ Dmnl [0, 1, 0.05]``); where the model gives none, :func:`assumed_range` says what is
used instead, and the slider says it is assumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import ir
from ..model.ir import fold_name
from ..scenarios.spec import ScenarioSet

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel

MARK = "LEVER"                 # how a model's documentation marks a lever
DIMENSIONLESS = {"", "dmnl", "1", "dimensionless", "fraction", "share"}
STEPS_PER_RANGE = 100          # a slider's default resolution


@dataclass(frozen=True)
class Lever:
    """One slider: a constant, its range and step, and where the range comes from."""

    name: str
    units: str
    documentation: str
    low: float
    high: float
    step: float
    documented: bool           # the range is the model's own; else assumed (see assumed_range)


def find_levers(model: CompiledModel, scenarios: ScenarioSet,
                values: Mapping[str, Sequence[float]],
                clock: tuple[str, float, float]) -> tuple[Lever, ...]:
    """The model's levers in file order. ``values`` holds each constant's values under every
    preset (a range always holds them); ``clock`` is the run's time units, start and end."""
    return tuple(make_lever(e, values.get(e.name, ()), clock)
                 for e in lever_elements(model, scenarios))


def lever_elements(model: CompiledModel, scenarios: ScenarioSet) -> list[ir.Element]:
    """Scalar constants marked as levers or changed by the scenario file, else every number
    constant; never an uncertain parameter (its samples would override the slider)."""
    uncertain = {fold_name(p.name) for p in scenarios.uncertainty.parameters} \
        if scenarios.uncertainty else set()
    changed = {fold_name(n) for s in scenarios.scenarios for key in ("set", "schedule")
               for n in getattr(s.changes, key)}
    changed |= {fold_name(n) for p in scenarios.packages for key in ("set", "schedule")
                for n in getattr(p.changes, key)}
    constants = [e for e in model.constants()
                 if e.kind == "aux" and not e.dims and fold_name(e.name) not in uncertain]
    marked = [e for e in constants
              if e.documentation.lstrip().startswith(MARK) or fold_name(e.name) in changed]
    return marked or [e for e in constants if isinstance(model.nodes[model.slot_of(e)].expr,
                                                         ir.Num)]


def make_lever(element: ir.Element, values: Iterable[float],
               clock: tuple[str, float, float]) -> Lever:
    """A lever of ``element``: its documented range (a bound it lacks is assumed) widened to
    hold every value in ``values``; its documented step, or a round hundredth of the range."""
    values = [float(v) for v in values if math.isfinite(v)]
    low, high = element.limits
    documented = low is not None and high is not None
    if not documented:
        guess = assumed_range(element.units, values, clock)
        low = guess[0] if low is None else low
        high = guess[1] if high is None else high
    low, high = min([low, *values]), max([high, *values])
    if high <= low:
        high = low + 1.0
    step = element.increment or round_step((high - low) / STEPS_PER_RANGE)
    return Lever(element.name, element.units, " ".join(element.documentation.split()),
                 float(low), float(high), float(step), documented)


def assumed_range(units: str, values: Sequence[float],
                  clock: tuple[str, float, float]) -> tuple[float, float]:
    """A range for a constant whose model gives none.

    - dimensionless with every value in [0, 1], not all of them 1 (a share, a fraction, a
      switch): [0, 1];
    - in the model's time units with every value inside the run (a start year): the run;
    - otherwise from 0 to twice the largest value (from minus to plus twice, if any value is
      negative); [0, 1] when every value is 0.
    """
    time_units, start, final = clock
    if units.strip().lower() in DIMENSIONLESS and values and \
            all(0 <= v <= 1 for v in values) and min(values) < 1:   # all 1: a multiplier
        return 0.0, 1.0
    if units.strip() and units.strip() == time_units and values and \
            all(start <= v <= final for v in values):
        return start, final
    largest = max((abs(v) for v in values), default=0.0)
    if largest == 0:
        return 0.0, 1.0
    return (-2 * largest if min(values) < 0 else 0.0), 2 * largest


def round_step(width: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is at least ``width``."""
    if width <= 0 or not math.isfinite(width):
        return 1.0
    power = 10.0 ** math.floor(math.log10(width))
    return next(round(m * power, 12) for m in (1, 2, 5, 10) if m * power >= width * (1 - 1e-9))
