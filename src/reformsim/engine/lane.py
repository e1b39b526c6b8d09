"""A call that repeats with new numbers, prepared (:class:`Lane`): straight to its group."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.ir import CONTROLS
from . import integrators, settings
from .clock import make_clock, warn_about_saves
from .compiled import CompiledModel
from .groups import Group, Request, results, structures
from .inputs import Series
from .memo import PerModel
from .numba_direct import Direct
from .program import Structure, build_program, decode, structural_names
from .results import Failure, Results

Values = Mapping[str, Any]

_LANES: PerModel[Any] = PerModel()   # call shape -> its Lane, or None when it has none
_NONE_SUSPECT = np.zeros(0, dtype=np.bool_)   # a Direct's call: no member failed


def find_lane(model: CompiledModel, key: tuple | None) -> Lane | None:
    """The lane kept for a call shape (``Lane.key``), if one was."""
    return _LANES.get(model, key, lambda: None) if key is not None else None


def keep_lane(model: CompiledModel, key: tuple, lane: Lane | None) -> None:
    """Keep what :meth:`Lane.prepare` made of a call shape (None: it has no lane)."""
    _LANES.put(model, key, lane)


@dataclass(frozen=True, eq=False)
class Lane:
    """A call that repeats with new numbers, prepared: the second call of a shape (the same
    names set, outputs, method, ensemble size) finds out whether its members will always form
    one group, on one fixed time grid, run by the compiled init pass and kernel. If so, later
    calls of that shape go straight to the group with their numbers (a calibration's or the
    explorer's runs: a lone run of a small model is mostly the resolving it skips)."""

    model: CompiledModel
    request: Request                    # of the call that prepared it; overrides are per call
    targets: tuple[settings.Target, ...]
    plan: Any                           # the residual plan of these names (residual._Plan)
    program: Any
    grid: integrators.Grid
    controls: dict[str, float]          # INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER
    times: np.ndarray
    columns: int
    members: np.ndarray
    direct: Direct | None               # the group's compiled calls, bound (numba_direct)

    @staticmethod
    def key(params: Values | None, initial: Values | None, lookups: Values | None,
            outputs: Any, method: str, size: int | None, streams: Any, seed: int,
            chunk_size: int | None, tolerances: tuple[float, float],
            backend: str) -> tuple | None:
        """The shape of a call that a lane may take; None for one it never takes."""
        if not params or initial or lookups or size is not None or streams is not None \
                or chunk_size is not None:
            return None
        try:
            kept = outputs if outputs is None or isinstance(outputs, str) else tuple(outputs)
            key = (tuple(params), kept, method, seed, tolerances, backend)
            hash(key)
        except TypeError:
            return None
        return key

    @classmethod
    def prepare(cls, model: CompiledModel, request: Request, first: Any,
                grid_of: Callable[..., integrators.Grid], chunk: int, times: np.ndarray,
                params: Values) -> Lane | None:
        """The lane of a call just run the long way (``first``: its init-pass values), or None
        when the numbers of a later call could change what it decided."""
        if request.backend != "numba" or request.size > chunk or request.initial \
                or getattr(first, "deferred", None) is None or first.plan.data \
                or first.changed & structural_names(model) \
                or any(model.slots[c] in model.dynamic for c in CONTROLS):
            return None
        table, _ = structures(model, first, request.size)
        controls, orders, per_cell = decode(model, table[0])
        if len(table) != 1 or per_cell or any(isinstance(v, Series) for v in params.values()):
            return None
        program = build_program(model, Structure(orders), request.outputs)
        grid = grid_of(controls, make_clock(model, first, controls))
        columns = model.output_columns(request.outputs)
        width = columns[-1][0][1] if columns else 0
        return cls(model, request, tuple(settings.targets(model, tuple(params), "parameter")),
                   first.plan, program, grid, controls, times.copy(), width,
                   np.arange(request.size),
                   Direct.make(model, program, first, request.keys, grid, request.method,
                               request.outputs, (len(times), width, request.size)))

    def run(self, params: Values, progress: Callable[[int, int], None] | None) -> Results | None:
        """The call's Results; None when its numbers do not fit the lane (a schedule, another
        ensemble size, a value of the wrong shape), so that the long way runs it instead."""
        given, size = [], 1
        for target, value in zip(self.targets, params.values()):
            if isinstance(value, Series):
                return None
            array = settings.as_value(target, value)
            if len(array) != 1:
                if size != 1 and len(array) != size:
                    return None
                size = len(array)
            given.append((target, array))
        if size != self.request.size:
            return None
        overrides = settings.overrides(given)
        warn_about_saves(self.model, self.controls)   # as the long way does on every call
        found = self.direct(overrides) if self.direct is not None else None
        if found is not None:   # else a member failed: the way below finds how
            return self._results(overrides, found, {}, _NONE_SUSPECT, progress)
        failures: dict[int, Failure] = {}
        out = np.empty((len(self.times), self.columns, size))
        # no np.errstate (14 us of a 250 us call after a full collection): the compiled passes
        # raise no numpy warning, and the numpy work that can (the residual pass, the numpy
        # integrators taking a group over) ignores them itself
        values = self.plan(overrides, {}, self.request.keys, True)
        group = Group(self.model, self.request, values, self.members, 0, self.request.keys)
        suspects = group.integrate(self.program, self.grid, out, failures)
        return self._results(overrides, out, failures, suspects, progress)

    def _results(self, overrides: dict[str, Any], out: np.ndarray, failures: dict[int, Failure],
                 suspects: np.ndarray, progress: Callable[[int, int], None] | None) -> Results:
        size = out.shape[2]
        if progress is not None:
            progress(size, size)
        return results(self.model, self.request.outputs, overrides, out, self.times.copy(),
                       failures, suspects, self.request.method, self.request.backend,
                       stacklevel=5)
