"""Members that went non-finite: where each first did, from the states and the saved values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .compiled import CompiledModel
from .results import Failure

_total = np.add.reduce   # without ndarray.sum's Python wrapper: this runs at every save


class Watch:
    """At every save: which members' states went non-finite first, and where."""

    def __init__(self, size: int) -> None:
        self.save = np.empty(size, dtype=np.int64)
        self.save.fill(-1)
        self.row = np.zeros(size, dtype=np.int64)
        self.outputs: np.ndarray | None = None   # members whose outputs may be non-finite
        self.flagged = True    # False: the compiled kernel found no member to look at

    def suspects(self, model: CompiledModel, outputs: tuple[str, ...],
                 out: np.ndarray) -> np.ndarray:
        """Members whose saved values must be searched for non-finite ones: all of them,
        unless the compiled backend said which (``outputs``); then those, and members with a
        non-finite constant among the outputs (written once for all times: row 0 shows it)."""
        if self.outputs is None:
            return np.ones(out.shape[2], dtype=bool)
        constants = [c for (lo, hi), slot in model.output_columns(outputs)
                     if slot not in model.dynamic for c in range(lo, hi)]
        if not constants:
            return self.outputs
        return self.outputs | ~np.isfinite(out[0, constants, :]).all(axis=0)

    def __call__(self, i: int, Y: np.ndarray, members: np.ndarray | None = None) -> None:
        # a sum is cheaper than isfinite().all(); it can overflow, so confirm before acting
        if math.isfinite(_total(Y, None)) or np.isfinite(Y).all():
            return
        members = np.arange(Y.shape[1]) if members is None else members
        bad = ~np.isfinite(Y)
        fresh = bad.any(axis=0) & (self.save[members] < 0)
        self.save[members[fresh]] = i
        self.row[members[fresh]] = np.argmax(bad[:, fresh], axis=0)

    def first_failures(self) -> dict[int, tuple[int, int]]:
        """member -> (save index, state row)."""
        if not self.flagged:
            return {}
        return {int(k): (int(self.save[k]), int(self.row[k]))
                for k in (self.save >= 0).nonzero()[0]}


def row_owner(model: CompiledModel, program: Any, row: int) -> str:
    for j, rows in program.rows.items():
        if rows.start <= row < rows.stop:
            return model.states[j].owner
    return "?"


def find_failures(out: np.ndarray, times: np.ndarray, names: tuple[str, ...],
                  failures: dict[int, Failure], suspects: np.ndarray) -> None:
    """Earliest non-finite output of each member (out is T x V x N), if earlier than its
    states'; only ``suspects`` (N booleans) can have one."""
    members = suspects.nonzero()[0]
    if out.size == 0 or not len(members):
        return
    part = out if len(members) == out.shape[2] else out[:, :, members]
    if np.isfinite(part).all():
        return
    bad = ~np.isfinite(part)
    for k in np.flatnonzero(bad.any(axis=(0, 1))):
        member = members[k]
        t_index = int(np.argmax(bad[:, :, k].any(axis=1)))
        variable = names[int(np.argmax(bad[t_index, :, k]))]
        earlier = failures.get(int(member))
        if earlier is None or (not earlier.reason and times[t_index] <= earlier.time):
            failures[int(member)] = Failure(variable, float(times[t_index]))
