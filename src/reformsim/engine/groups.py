"""One group of members (members that share a structure) integrated, compiled or by numpy,
and a call's Results from what its groups saved."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ReformsimWarning, SimulationError
from . import integrators, numba_backend, residual
from .clock import make_clock
from .compiled import CompiledModel, write_constants
from .failures import Watch, find_failures, row_owner
from .memo import PerModel
from .program import (
    Structure,
    build_program,
    decode,
    group_by_structure,
    initial_states,
    structural_names,
    update_discrete,
)
from .results import Failure, Results

_TABLES: PerModel[np.ndarray] = PerModel()      # structure rows of calls that cannot change them


@dataclass(frozen=True)
class Request:
    """A simulate() call with its names resolved to slots and its values to arrays."""

    size: int
    overrides: dict[str, np.ndarray]        # element slot -> (1,) or (N,)
    initial: dict[int, np.ndarray]          # state index -> (1,) or (N,)
    outputs: tuple[str, ...]                # element slots
    keys: np.ndarray                        # (N,) uint64 random stream keys
    method: str
    options: integrators.Options            # rtol, atol of the solve_ivp methods
    backend: str = "numpy"                  # numba | numpy, as chosen for this model and method


def structures(model: CompiledModel, values: dict[str, Any],
                size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`group_by_structure`, kept for calls whose overrides cannot change a structure
    (no control value, delay order or buffer length among the values the call computed)."""
    plan = getattr(values, "plan", None)
    if plan is None or values.changed & structural_names(model):
        return group_by_structure(model, values, size)
    table = _TABLES.get(model, plan, lambda: group_by_structure(model, values, 1)[0])
    return table, np.zeros(size, dtype=np.intp)


@dataclass
class Group:
    """Members that share a structure, with their init-pass values (C)."""

    model: CompiledModel
    request: Request
    values: dict[str, Any]
    members: np.ndarray       # indices within the chunk
    lo: int                   # the chunk's first member
    keys: np.ndarray          # the members' random-stream keys

    def run(self, row: np.ndarray, out: np.ndarray, grid_of: Callable[..., integrators.Grid],
            failures: dict[int, Failure]) -> np.ndarray:
        """Integrate into ``out`` (T x V x members); record members that went non-finite.
        Returns the members whose outputs may hold a non-finite value."""
        controls, orders, _ = decode(self.model, row)
        program = build_program(self.model, Structure(orders), self.request.outputs)
        grid = grid_of(controls, make_clock(self.model, self.values, controls))
        if grid.saves != out.shape[0]:
            raise SimulationError("members differ in INITIAL TIME, FINAL TIME or SAVEPER; "
                                  "run them separately")
        return self.integrate(program, grid, out, failures)

    def integrate(self, program: Any, grid: integrators.Grid, out: np.ndarray,
                  failures: dict[int, Failure]) -> np.ndarray:
        """:meth:`run` once the group's rate pass and grid are known."""
        model, request, size = self.model, self.request, len(self.members)
        deferred = getattr(self.values, "deferred", None) is not None   # to the kernel
        Y, X, pipes = (None, [], []) if deferred else \
            initial_states(model, program, self.values, np.arange(size), size)
        keys = self.keys

        def system(members: np.ndarray | None) -> integrators.System:
            if members is None:
                after = (lambda updates: update_discrete(model, program, X, pipes, updates)) \
                    if X else None
                return integrators.System(program.make(self.values, X, keys), after,
                                          program.nonneg_rows)
            # some members alone (methods that solve members one by one carry no registers)
            values = group_constants(self.values, members, size)
            return integrators.System(program.make(values, [], keys[members]))

        watch = Watch(size)
        unsolved: dict[int, str] = {}
        if request.backend != "numba" or not numba_backend.run_group(
                model, program, Y, self.values, keys, grid, out, watch, request):
            if deferred:
                Y, X, pipes = initial_states(model, program, self.values, np.arange(size), size)
            integrator = integrators.INTEGRATORS[request.method]
            with np.errstate(all="ignore"):   # a lane's call comes here without simulate's
                unsolved = integrator(integrators.Problem(grid, Y, system), out, watch,
                                      request.options)
        write_constants(model, request.outputs, self.values, out)
        suspects = watch.suspects(model, request.outputs, out)
        failed = watch.first_failures()
        if not failed and not unsolved:
            return suspects
        times = integrators.saved_times(grid)
        for k, (i, state_row) in failed.items():
            failures[self.lo + int(self.members[k])] = Failure(
                row_owner(model, program, state_row), float(times[i]))
        for k, reason in unsolved.items():
            reached = np.flatnonzero(np.isnan(out[:, 0, k])) if out.shape[1] else []
            when = float(times[reached[0]]) if len(reached) else float(times[-1])
            failures[self.lo + int(self.members[k])] = Failure("", when, reason)
        return suspects



def group_constants(values: residual.Values, members: np.ndarray,
                     chunk_size: int) -> residual.Values:
    """The init pass's values restricted to one group's members (shared values stay (1,))."""
    return values if len(members) == chunk_size else values.pick(members, chunk_size)


def results(model: CompiledModel, outputs: tuple[str, ...], overrides: dict[str, Any],
             out: np.ndarray, times: np.ndarray, failures: dict[int, Failure],
             suspects: np.ndarray, method: str, backend: str, stacklevel: int = 3) -> Results:
    """The call's Results from its saved values (T x V x N) and the failures the integrators
    saw, with each member's first non-finite output added (only ``suspects`` can have one)."""
    names, units, docs, arrays = model.labels(outputs)
    find_failures(out, times, names, failures, suspects)
    if failures:
        warnings.warn(f"{len(failures)} of {out.shape[2]} members went NaN/inf "
                      f"(first: member {min(failures)}, {failures[min(failures)]}); "
                      "see Results.failures", ReformsimWarning, stacklevel=stacklevel)
    return Results(values=out.transpose(2, 0, 1), times=times, names=names,
                   units=dict(units), docs=dict(docs), arrays=dict(arrays),
                   failures=dict(sorted(failures.items())),
                   params={model.nodes[s].element.name: v for s, v in overrides.items()
                           if s in model.nodes},
                   method=method, backend=numba_backend.ran_on(model, backend))
