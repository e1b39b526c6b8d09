"""The model's clock: control variables, and the time grid each group of members runs on."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ReformsimWarning, SimulationError
from ..model.ir import CONTROLS
from . import integrators
from .codegen import Emitter, namespace
from .compiled import CompiledModel
from .dependencies import references
from .memo import PerModel

_GRIDS: PerModel[list] = PerModel()
_SAVES: PerModel[np.ndarray] = PerModel()   # the save times of a kept grid
Clock = Callable[[float], tuple[float, float, float]]


def time_grids(model: CompiledModel, values: dict[str, Any]):
    """Save times (from member 0's init ``values``), and a function giving each group's grid."""
    # a grid of constant controls is the same for every run of the model: keep it for the model
    fixed = not any(model.slots[c] in model.dynamic for c in CONTROLS)

    def grid_of(controls: dict[str, float], clock) -> integrators.Grid:
        key = tuple(controls[c] for c in CONTROLS)
        make = lambda: integrators.time_grid(controls["initial_time"], clock, fixed)  # noqa: E731
        return _GRIDS.get(model, key, make) if fixed else make()

    # groups must agree with these save times (checked when each group runs)
    controls = {c: float(np.asarray(values[model.slots[c]], dtype=float).reshape(-1)[0])
                for c in CONTROLS}
    grid = grid_of(controls, make_clock(model, values, controls))
    if not fixed:
        return integrators.saved_times(grid), grid_of
    warn_about_saves(model, controls)
    times = _SAVES.get(model, tuple(controls.values()), lambda: integrators.saved_times(grid))
    return times.copy(), grid_of   # a copy: Results.times is the caller's


def warn_about_saves(model: CompiledModel, controls: dict[str, float]) -> None:
    """SAVEPER below TIME STEP, or not a multiple of it, saves other times than it says (the
    warning points at the caller of ``simulate``, two calls up)."""
    dt, saveper = controls["time_step"], controls["saveper"]
    ratio = saveper / dt
    if ratio < 1 - integrators.PREC:
        warnings.warn(f"{model.source.name}: SAVEPER ({saveper:g}) is less than TIME STEP "
                      f"({dt:g}): values are saved every TIME STEP", ReformsimWarning,
                      stacklevel=4)
    elif abs(ratio - round(ratio)) > integrators.PREC * max(1.0, ratio):
        every = _common_multiple(dt, saveper)
        where = f"every {every:g}" if every is not None else "at the initial time only"
        warnings.warn(f"{model.source.name}: SAVEPER ({saveper:g}) is not a multiple of TIME "
                      f"STEP ({dt:g}): values are saved where the two meet, {where}",
                      ReformsimWarning, stacklevel=4)


def _common_multiple(dt: float, saveper: float) -> float | None:
    """The first time both divide, within PySD's precision (None within 10,000 steps)."""
    for steps in range(1, 10_001):
        elapsed = steps * dt
        rest = elapsed % saveper
        if min(rest, saveper - rest) < dt * integrators.PREC:
            return elapsed
    return None


def make_clock(model: CompiledModel, values: dict, controls: dict[str, float]):
    """(dt, saveper, final) at time t: constants, or a generated function if they vary in time."""
    slots = [model.slots[c] for c in ("time_step", "saveper", "final_time")]
    if not any(s in model.dynamic for s in slots):
        fixed = (controls["time_step"], controls["saveper"], controls["final_time"])
        return lambda t: fixed
    needed = _needed(model, slots)
    if any(s.startswith("s") or s not in model.rate_order for s in needed if s in model.dynamic):
        raise SimulationError(f"{model.source.name}: a control variable depends on a stock; "
                              "reformsim needs TIME STEP, SAVEPER and FINAL TIME to depend on "
                              "Time and constants only")
    emitter = Emitter(model, phase="rate")
    body = [f"    {s} = {emitter.expr(model.nodes[s].expr)}"
            for s in model.rate_order if s in needed]
    emitter.used.update(slots)
    computed = {s for s in model.rate_order if s in needed}
    loads = [f"    {u} = C[{u!r}]" for u in sorted(emitter.used - computed)]
    source = "\n".join(["def clock(t, dt, C, K, n):"] + loads + body
                       + ["    return (" + ", ".join(slots) + ")"]) + "\n"
    names = namespace()
    emitter.bind(names)
    exec(compile(source, "<reformsim clock>", "exec"), names)  # noqa: S102 - slots only
    clock, dt = names["clock"], controls["time_step"]

    def evaluate(t: float) -> tuple[float, float, float]:
        found = clock(t, dt, values, None, 0)
        arrays = [np.asarray(v, dtype=float).reshape(-1) for v in found]
        if any(not np.all(a == a[0]) for a in arrays):
            raise SimulationError("members differ in a time-varying TIME STEP, SAVEPER or FINAL "
                                  "TIME; run them separately")
        return tuple(float(a[0]) for a in arrays)  # type: ignore[return-value]

    return evaluate


def _needed(model: CompiledModel, slots: list[str]) -> set[str]:
    needed, todo = set(), list(slots)
    while todo:
        slot = todo.pop()
        if slot in needed:
            continue
        needed.add(slot)
        if slot in model.nodes and slot in model.dynamic:
            todo += [r for r in references(model.nodes[slot].expr, "rate")
                     if r not in ("time", "dt")]
        elif slot.startswith("s"):
            needed.add(slot)
    return needed
