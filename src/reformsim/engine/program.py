"""Rate-pass programs: one generated function per model structure.

A structure fixes what the state vector looks like: the order of every
DELAY/SMOOTH and the buffer length of every DELAY FIXED, plus the control
variables. Members of an ensemble that share a structure run together.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ReformsimWarning, SimulationError
from ..model.ir import CONTROLS
from .codegen import namespace
from .compiled import CompiledModel, State
from .memo import PerModel
from .rates import RateWriter
from .states import DISCRETE, STRUCTURAL_ARGS, rows_per_cell


@dataclass(frozen=True)
class Structure:
    """What members must share to be integrated together."""

    orders: tuple[int, ...]   # per state: delay/smooth order, DELAY FIXED length, else 0


def decode(model: CompiledModel, row: np.ndarray) -> tuple[
        dict[str, float], tuple[int, ...], dict[int, tuple[int, ...]]]:
    """A row of :func:`group_by_structure`: the controls, one order per state, and the
    states whose cells need different orders (state index -> order of each cell)."""
    controls, orders, per_cell = _DECODED.get(model, row.tobytes(), lambda: _decode(model, row))
    return dict(controls), orders, dict(per_cell)


def structural_names(model: CompiledModel) -> frozenset[str]:
    """The init pass's values :func:`group_by_structure` reads."""
    return _DECODED.get(model, "names", lambda: frozenset(
        [model.slots[c] for c in CONTROLS] +
        [f"a{s.index}_{k}" for s in model.states for k in STRUCTURAL_ARGS.get(s.kind, ())]))


def _decode(model: CompiledModel, row: np.ndarray) -> tuple:
    controls = dict(zip(CONTROLS, (float(x) for x in row[:4])))
    orders, per_cell, at = [], {}, 4
    for s in model.states:
        width = s.cells if s.kind in STRUCTURAL_ARGS and s.shape else 1
        cells = tuple(int(x) for x in row[at:at + width])
        at += width
        orders.append(cells[0])
        if len(set(cells)) > 1:
            per_cell[s.index] = cells
    return controls, tuple(orders), per_cell


_DECODED: PerModel[Any] = PerModel()


@dataclass
class Program:
    """A compiled rate pass for one structure, with its state layout.

    ``make(C, X, K)`` binds the run's constants ``C`` (the init pass's
    values), discrete states ``X`` and random keys ``K``, and returns
    ``rates(t, dt, Y, D, S, n)``, which evaluates every dynamic value from
    the states ``Y`` (K rows x E members) and ``X`` at time ``t`` (step n),
    writes derivatives into ``D``, writes the requested outputs that change
    in time into ``S`` (V x E) unless it is None, and returns the inputs of
    the discrete updates.
    """

    structure: Structure
    rows: dict[int, slice]            # state index -> its rows in Y
    discrete: tuple[int, ...]         # state indices held in X, in order
    nonneg_rows: tuple[int, ...]
    n_rows: int
    make: Callable[..., Callable[..., tuple]]
    source: str
    outputs: tuple[str, ...]


def structure_rows(model: CompiledModel, structure: Structure) -> tuple[dict[int, slice], int]:
    rows, at = {}, 0
    for s, order in zip(model.states, structure.orders):
        count = rows_per_cell(s.kind, order) * s.cells
        rows[s.index] = slice(at, at + count)
        at += count
    return rows, at


def group_by_structure(model: CompiledModel, values: dict[str, Any],
                       size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort members by what shapes their states: control values, delay orders, buffer lengths.

    Returns the distinct rows (controls first, then one number per state, or
    one per cell for a state of an array: :func:`decode` reads them) and, for
    each member, the index of its row.
    """
    def column(name: str, shape: tuple[int, ...] = ()) -> np.ndarray:
        value = np.asarray(values[name], float)
        if not shape:
            return np.broadcast_to(value.reshape(-1), (size,))
        cells = np.broadcast_to(value, (value.shape[0],) + shape).reshape(value.shape[0], -1)
        return np.broadcast_to(cells, (size, cells.shape[1]))

    columns = [column(model.slots[c]) for c in CONTROLS]
    dt = columns[1]
    for s in model.states:
        if s.kind not in STRUCTURAL_ARGS:
            columns.append(np.zeros(size))
            continue
        sizes = _state_size(model, s, dt[:, None] if s.shape else dt,
                            lambda k, j=s.index, shape=s.shape: column(f"a{j}_{k}", shape))
        columns.append(sizes)   # an array: one column per cell (they may differ)
    table = np.column_stack(columns)
    if size == 1 or (table == table[:1]).all():   # one structure, the common case: no sort
        return table[:1].copy(), np.zeros(size, dtype=np.intp)
    return np.unique(table, axis=0, return_inverse=True)


def _state_size(model: CompiledModel, s: State, dt: np.ndarray,
                arg: Callable[[int], np.ndarray]) -> np.ndarray:
    """Per member: a DELAY FIXED's buffer length, or a delay's or smooth's order."""
    if s.kind == "delay_fixed":
        size = np.round(np.maximum(arg(1) / dt, 1) + 1e-6)
    else:
        size = np.trunc(arg(3))
        if s.kind == "delayn":  # Vensim lowers DELAY N's order, not DELAY3's (docs/semantics.md)
            size = _reduce_order(model, s, size, arg(1), dt)
    if not np.all(np.isfinite(size)) or np.any(size < 1):
        raise SimulationError(f"{model.source.name}: {s.owner!r}: the delay/smooth order or "
                              "length is not a positive number at the initial time")
    return size


def _reduce_order(model: CompiledModel, s: State, order: np.ndarray, time: np.ndarray,
                  dt: np.ndarray) -> np.ndarray:
    # PySD and Vensim lower a delay's order until order * TIME STEP <= delay time.
    reduced = order.copy()
    while np.any(too_long := (reduced * dt > time) & (reduced > 0)):
        reduced = np.where(too_long, reduced - 1, reduced)
    if np.any(reduced != order):
        warnings.warn(f"{model.source.name}: {s.owner!r}: delay time shorter than order x TIME "
                      f"STEP; order lowered to {int(reduced.min())}", ReformsimWarning,
                      stacklevel=5)
    return reduced


def build_program(model: CompiledModel, structure: Structure, outputs: tuple[str, ...]) -> Program:
    """Generate (or fetch from the model's cache) the rate pass for a structure."""
    return _PROGRAMS.get(model, (structure, outputs), lambda: _build(model, structure, outputs))


_PROGRAMS: PerModel[Program] = PerModel()


def _build(model: CompiledModel, structure: Structure, outputs: tuple[str, ...]) -> Program:
    rows, n_rows = structure_rows(model, structure)
    discrete = tuple(s.index for s in model.states if s.kind in DISCRETE)
    writer = RateWriter(model, structure.orders, rows, discrete, outputs)
    source = writer.source()
    names = namespace()
    writer.emitter.bind(names)
    exec(compile(source, "<reformsim rate pass>", "exec"), names)  # noqa: S102 - slots only
    nonneg = tuple(row for s in model.states if s.kind == "integ" and s.nonneg
                   for row in range(rows[s.index].start, rows[s.index].stop))
    return Program(structure, rows, discrete, nonneg, n_rows, names["make"], source, outputs)


def initial_states(model: CompiledModel, program: Program, values: dict[str, Any],
                   members: np.ndarray, size: int) -> tuple[np.ndarray, list[Any], list[Any]]:
    """State rows ``Y`` (K x E) and discrete registers at t0, from the init pass's values.

    ``members`` picks this group's members out of the init pass's arrays
    (values whose ensemble axis has length 1 are shared). Returns
    ``(Y, X, pipes)`` where pipes holds DELAY FIXED ring buffers
    ``[buffer, pointer]`` (None elsewhere). Registers of arrays keep the
    array layout (E, *sizes), except DELAY N's register of delay times, which
    follows the state rows (order, cells, E).
    """
    start = _Start(values, members, size)
    Y = np.empty((program.n_rows, size))
    X: list[Any] = []
    pipes: list[Any] = []
    for s in model.states:
        r = program.rows[s.index]
        if s.kind in _STAGES:   # every stage starts at the same value: a view stage x cell x E
            stages = Y[r].reshape(-1, s.cells, size) if s.shape else Y[r]
            start.assign(stages, _STAGES[s.kind](values, s.index), s.shape)
        if s.kind in _REGISTERS:
            register, pipe = _REGISTERS[s.kind](start, s, program.structure.orders[s.index])
            X.append(register)
            pipes.append(pipe)
    return Y, X, pipes


class _Start:
    """The init pass's values for one group of members, in the layouts states need."""

    def __init__(self, values: dict[str, Any], members: np.ndarray, size: int) -> None:
        self.values, self.members, self.size = values, members, size

    def pick(self, value: Any, shape: tuple[int, ...] = ()) -> np.ndarray:
        """(E,) for a scalar, (E, *shape) for an array."""
        arr = np.asarray(value, dtype=np.float64)
        arr = arr.reshape((arr.size if arr.ndim else 1,)) if not shape else \
            arr.reshape(arr.shape or (1,) * (1 + len(shape)))
        return np.broadcast_to(arr if arr.shape[0] == 1 else arr[self.members],
                               (self.size,) + shape)

    def assign(self, stages: np.ndarray, value: Any, shape: tuple[int, ...]) -> None:
        """Set every stage's rows to the value (a scalar's without :meth:`pick`'s views)."""
        if shape:
            stages[:] = self.rows(value, shape)
            return
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
        stages[:] = arr if arr.shape[0] == 1 else arr[self.members]

    def rows(self, value: Any, shape: tuple[int, ...]) -> np.ndarray:
        """As state rows: (E,) for a scalar, (cells, E) for an array."""
        arr = self.pick(value, shape)
        return arr if not shape else arr.reshape(self.size, -1).T

    def arg(self, s: State, k: int) -> Any:
        return self.values[f"a{s.index}_{k}"]


# Each continuous kind's value in every stage at t0 (``a<j>_<k>``: the state's arguments there).
_STAGES: dict[str, Callable[[dict[str, Any], int], Any]] = {
    "integ": lambda v, j: v[f"a{j}_1"],
    # PySD keeps initial value x delay time in each stage
    "delay": lambda v, j: v[f"a{j}_2"] * v[f"a{j}_1"],
    "delayn": lambda v, j: v[f"a{j}_2"] * v[f"a{j}_1"],
    "smooth": lambda v, j: v[f"a{j}_2"],
    "trend": lambda v, j: v[f"av{j}"],
    "forecast": lambda v, j: v[f"av{j}"],
}


def _delay_times(start: _Start, s: State, order: int) -> tuple[np.ndarray, None]:
    """DELAY N: the delay time each stage entered with, all the initial one at t0."""
    first = start.rows(start.arg(s, 1), s.shape)
    return np.tile(first, (order,) + (1,) * (2 if s.shape else 1)), None


def _ring_buffer(start: _Start, s: State, order: int) -> tuple[np.ndarray, list[Any]]:
    """DELAY FIXED: the output, and a buffer of ``order`` values (its length in steps)."""
    first = start.pick(start.arg(s, 2), s.shape).copy()
    return first, [np.tile(first, (order,) + (1,) * first.ndim), 0]


def _held_value(start: _Start, s: State, order: int) -> tuple[np.ndarray, None]:
    """SAMPLE IF TRUE: the value held, its initial value at t0."""
    return start.pick(start.arg(s, 2), s.shape).copy(), None


_REGISTERS: dict[str, Callable[[_Start, State, int], tuple[np.ndarray, Any]]] = {
    "delayn": _delay_times, "delay_fixed": _ring_buffer, "sample_if_true": _held_value,
}


def update_discrete(model: CompiledModel, program: Program, X: list[Any], pipes: list[Any],
                    updates: tuple) -> None:
    """Apply the discrete updates computed at t (after the continuous step)."""
    for m, (j, value) in enumerate(zip(program.discrete, updates)):
        _UPDATES[model.states[j].kind](X, pipes, m, value)


def _replace(X: list[Any], pipes: list[Any], m: int, value: Any) -> None:
    X[m] = value


def _hold(X: list[Any], pipes: list[Any], m: int, value: Any) -> None:
    X[m] = X[m] * 0 + value   # keeps the register's shape when the value is shared


def _advance_ring(X: list[Any], pipes: list[Any], m: int, value: Any) -> None:
    buffer, pointer = pipes[m]
    buffer[pointer] = value
    pointer = (pointer + 1) % buffer.shape[0]
    pipes[m][1] = pointer
    X[m] = buffer[pointer].copy()


_UPDATES: dict[str, Callable[[list[Any], list[Any], int, Any], None]] = {
    "delayn": _replace, "sample_if_true": _hold, "delay_fixed": _advance_ring,
}
