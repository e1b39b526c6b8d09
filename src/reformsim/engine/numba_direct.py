"""A lone group's compiled init pass and kernel with everything bound but a call's numbers
(:class:`Direct`): what a lane (engine/lane.py) runs for a repeated call.

A lone run of a small model costs a few tens of microseconds in its compiled code; the way
there (the residual pass's values, the group, the watch, the plan's lookups) cost four times
that once a garbage collection had emptied the caches. A Direct keeps every array the two
compiled calls read that no call changes, so a call is: its settings into ``OP``, the init
pass, the kernel, the saved values back. A call in which a member fails (a state or a saved
value not finite) returns None: the lane's general way runs it again and finds the failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .compiled import CompiledModel
from .numba_backend import block_size, grid_arrays, kernel, module, plan_of, reason_not_compiled
from .numba_init import Columns, columns_of, operands


@dataclass(frozen=True, eq=False)
class Direct:
    """The two compiled calls of one group, their fixed arguments bound (see the module)."""

    model: CompiledModel
    initial: Any                # the compiled init pass
    step: Any                   # the compiled integrator (serial: one block holds the group)
    columns: Columns            # where the settings go in OP
    shapes: tuple[tuple[int, int], ...]     # Y, Z, C: members x (rows, registers, constants)
    out_shape: tuple[int, int, int]         # times x saved columns x members
    init_head: tuple            # the init pass's arguments between OP and C
    init_tail: tuple            # ... after Z
    step_head: tuple            # the integrator's between C and the saved values
    step_tail: tuple            # ... between the saved values and FS
    work: np.ndarray            # the integrator's scratch (its last argument)

    @classmethod
    def make(cls, model: CompiledModel, program: Any, values: Any, keys: np.ndarray,
             grid: Any, method: str, outputs: tuple[str, ...],
             out_shape: tuple[int, int, int]) -> Direct | None:
        """The Direct of a group whose call ran compiled (``values``: its init-pass values,
        deferred to the compiled init pass), or None where a call could need more: per-run
        tables, a saved constant (written from the residual pass's values), initial values,
        several blocks."""
        found = kernel(model)
        settings = getattr(values, "deferred", None)
        if isinstance(found, str) or found.per_run or settings is None or settings.initial \
                or any(slot not in model.dynamic for _, slot in model.output_columns(outputs)):
            return None
        names = settings.names or (frozenset(settings.overrides), frozenset(settings.initial))
        where = columns_of(model, found, *names)
        plan = plan_of(model, found, program.structure, program.rows, outputs, method)
        width, ZO, FX = plan.discrete
        rows, size = len(plan.order), len(keys)
        if where is None or block_size(found, rows, width, 0, size) < size:
            return None
        code = module(found)
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        RT, RI = plan.no_per_run
        tables = (found.literals, found.tables, found.ints, RT, RI)
        return cls(model, code.initial, getattr(code, method), where,
                   ((size, rows), (size, width), (size, max(found.columns, 1))), out_shape,
                   (where.OX, where.IX, found.defaults, found.default_columns, keys),
                   (*tables, plan.starts, plan.orders, ZO, found.init_work),
                   (*tables, keys, *grid_arrays(grid)),
                   (plan.columns, plan.starts, plan.orders, ZO, plan.pointers, FX, plan.where),
                   found.work)

    def __call__(self, overrides: dict[str, Any]) -> np.ndarray | None:
        """The saved values (times x columns x members) of a call setting ``overrides`` (by
        slot, as ``settings.overrides`` makes them); None when a member failed, or when the
        model no longer runs compiled (numba refused its code since)."""
        if reason_not_compiled(self.model):
            return None
        size = self.out_shape[2]
        OP = operands(self.columns, overrides, {}, size)
        rows, registers, constants = self.shapes
        Y, Z, C = np.empty(rows), np.empty(registers), np.empty(constants)
        self.initial(0, size, OP, *self.init_head, C, Y, Z, *self.init_tail)
        out = np.empty(self.out_shape)
        FS = np.empty(size, dtype=np.int64)
        FS.fill(-1)
        FR = np.zeros(size, dtype=np.int64)
        flagged = self.step(0, size, Y, Z, C, *self.step_head, out, *self.step_tail, FS, FR,
                            np.zeros(size), self.work)
        return None if flagged else out
