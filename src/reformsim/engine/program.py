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
from .codegen import Emitter, namespace
from .compiled import CompiledModel, State
from .memo import PerModel
from .states import OUTPUT_ARGS, STRUCTURAL_ARGS

ROWS = {"integ": 1, "trend": 1, "forecast": 1}  # delay, delayn, smooth: their order


@dataclass(frozen=True)
class Structure:
    """What members must share to be integrated together."""

    orders: tuple[int, ...]   # per state: delay/smooth order, DELAY FIXED length, else 0


@dataclass
class Program:
    """A compiled rate pass for one structure, with its state layout.

    ``make(C, X, K)`` binds the run's constants ``C`` (the init pass's
    values), discrete states ``X`` and random keys ``K``, and returns
    ``rates(t, dt, Y, D, S, n)``, which evaluates every dynamic value from
    the states ``Y`` (K rows x E members) and ``X`` at time ``t`` (step n), writes derivatives into ``D``, writes the requested outputs
    that change in time into ``S`` (V x E) unless it is None, and returns
    the inputs of the discrete updates.
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
        count = ROWS.get(s.kind, order if s.kind in ("delay", "delayn", "smooth") else 0)
        count *= s.cells
        rows[s.index] = slice(at, at + count)
        at += count
    return rows, at


def group_by_structure(model: CompiledModel, values: dict[str, Any],
                       size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort members by what shapes their states: control values, delay orders, buffer lengths.

    Returns the distinct rows (controls first, then one number per state)
    and, for each member, the index of its row.
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
        if s.shape:
            if np.any(sizes != sizes[:, :1]):
                raise SimulationError(
                    f"{model.source.name}: {s.owner!r}: the delay/smooth order or DELAY FIXED "
                    "length differs between the cells of the array; reformsim needs one per "
                    "equation")
            sizes = sizes[:, 0]
        columns.append(sizes)
    return np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)


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
                      f"STEP; order lowered to {int(reduced.min())}", ReformsimWarning, stacklevel=5)
    return reduced


def build_program(model: CompiledModel, structure: Structure, outputs: tuple[str, ...]) -> Program:
    """Generate (or fetch from the model's cache) the rate pass for a structure."""
    return _PROGRAMS.get(model, (structure, outputs), lambda: _build(model, structure, outputs))


_PROGRAMS: PerModel[Program] = PerModel()


def _build(model: CompiledModel, structure: Structure, outputs: tuple[str, ...]) -> Program:
    rows, n_rows = structure_rows(model, structure)
    discrete = tuple(s.index for s in model.states if s.kind in ("delay_fixed", "sample_if_true", "delayn"))
    writer = _RateWriter(model, structure, rows, discrete, outputs)
    source = writer.source()
    names = namespace()
    writer.emitter.bind(names)
    exec(compile(source, "<reformsim rate pass>", "exec"), names)  # noqa: S102 - slots only
    nonneg = tuple(rows[s.index].start for s in model.states if s.kind == "integ" and s.nonneg)
    return Program(structure, rows, discrete, nonneg, n_rows, names["make"], source, outputs)


class _RateWriter:
    def __init__(self, model: CompiledModel, structure: Structure, rows: dict[int, slice],
                 discrete: tuple[int, ...], outputs: tuple[str, ...]) -> None:
        self.model, self.structure, self.rows = model, structure, rows
        self.discrete = {j: m for m, j in enumerate(discrete)}
        self.outputs = outputs
        self.emitter = Emitter(model, phase="rate")

    def source(self) -> str:
        body: list[str] = []
        for slot in self.model.rate_order:
            if slot.startswith("v"):
                body.append(f"    {slot} = {self.emitter.expr(self.model.nodes[slot].expr)}")
            else:
                body += self._output(self.model.states[int(slot[1:])])
        updates: list[str] = []
        for s in self.model.states:
            body += self._derivative(s, updates)
        saved = [(cols, slot) for cols, slot in self.model.output_columns(self.outputs)
                 if slot in self.model.dynamic]
        if saved:  # constant outputs are written once for all save times, by the caller
            body.append("    if S is not None:")
            for (lo, hi), slot in saved:
                shape = self.model.shape_of(slot)
                body.append(f"        S[{lo}] = {slot}" if not shape else
                            f"        S[{lo}:{hi}] = F.rows({slot}, {shape})")
        body.append("    return (" + "".join(f"{u}, " for u in updates) + ")")
        computed = set(self.model.rate_order) | {f"a{s.index}_{k}" for s in self.model.states
                                                  for k in range(len(s.args))}
        loads = [f"    {name} = C[{name!r}]" for name in sorted(self.emitter.used - computed)]
        head = ["def make(C, X, K):"] + loads + ["    def rates(t, dt, Y, D, S, n):"]
        body = ["    " + line for line in body] + ["    return rates"]
        return "\n".join(head + body) + "\n"

    def _arg(self, s: State, k: int) -> str:
        return f"a{s.index}_{k}"

    def _stage(self, s: State, k: int, of: str = "Y") -> str:
        """Rows of stage k of a state (from the end when k < 0) in ``Y``, or in ``D``."""
        r, c = self.rows[s.index], s.cells
        at = r.start + k * c if k >= 0 else r.stop + k * c
        return f"{of}[{at}]" if not s.shape else f"{of}[{at}:{at + c}]"

    def _value(self, s: State, rows: str) -> str:
        """State rows turned into the state's value: (E,) scalars, (E, *sizes) arrays."""
        return rows if not s.shape else f"F.unrows({rows}, {s.shape})"

    def _as_rows(self, s: State, value: str) -> str:
        """A value in the layout of the state's rows (arrays: cells x E)."""
        return value if not s.shape else f"F.rows({value}, {s.shape})"

    def _output(self, s: State) -> list[str]:
        j = s.index
        lines = [f"    a{j}_{k} = {self.emitter.expr(s.args[k])}" for k in OUTPUT_ARGS[s.kind]]
        a = [self._arg(s, k) for k in range(len(s.args))]
        last, first, m = self._stage(s, -1), self._stage(s, 0), self.discrete.get(j)
        if s.kind in ("integ", "smooth"):
            output = self._value(s, last)
        elif s.kind == "delay":
            output = f"{self._value(s, last)} / {a[1]}"
        elif s.kind == "delayn":
            output = self._value(s, f"{last} / X[{m}][0]")
        elif s.kind == "delay_fixed":
            output = f"X[{m}]"
        elif s.kind == "trend":
            lines.append(f"    y{j} = {self._value(s, first)}")
            output = f"F.zidz({a[0]} - y{j}, {a[1]} * np.abs(y{j}))"
        elif s.kind == "forecast":
            lines.append(f"    y{j} = {self._value(s, first)}")
            output = f"{a[0]} * (1 + F.zidz({a[0]} - y{j}, {a[1]} * y{j}) * {a[2]})"
        else:  # sample_if_true
            output = f"np.where({self.emitter.expr(s.args[0], True)}, {a[1]}, X[{m}])"
        return lines + [f"    s{j} = {output}"]

    def _derivative(self, s: State, updates: list[str]) -> list[str]:
        j, n = s.index, self.structure.orders[s.index]
        e, rows = self.emitter.expr, (lambda value: self._as_rows(s, value))
        first = self._stage(s, 0)
        if s.kind == "integ":
            return [f"    {self._stage(s, 0, 'D')} = {rows(e(s.args[0]))}"]
        if s.kind in ("trend", "forecast"):
            return [f"    {self._stage(s, 0, 'D')} = ({rows(self._arg(s, 0))} - {first}) / "
                    f"{rows(self._arg(s, 1))}"]
        if s.kind == "delay":
            return self._chain(s, n, rows(e(s.args[0])), f"tm{j}",
                               [f"    tm{j} = {rows(self._arg(s, 1))}"])
        if s.kind == "delayn":
            m = self.discrete[j]
            lines = [f"    tn{j} = np.empty_like(X[{m}])", f"    tn{j}[0] = {rows(e(s.args[1]))}",
                     f"    tn{j}[1:] = X[{m}][:-1]"]
            updates.append(f"tn{j}")
            return self._chain(s, n, rows(e(s.args[0])), f"tn{j}", lines, per_stage=True)
        if s.kind == "smooth":
            time = f"sm{j}"
            lines = [f"    {time} = {rows(e(s.args[1]))}",
                     f"    {self._stage(s, 0, 'D')} = ({rows(e(s.args[0]))} - {first}) * {n} / {time}"]
            for k in range(1, n):
                lines.append(f"    {self._stage(s, k, 'D')} = ({self._stage(s, k - 1)} - "
                             f"{self._stage(s, k)}) * {n} / {time}")
            return lines
        if s.kind == "delay_fixed":
            updates.append(f"u{j}")
            return [f"    u{j} = {e(s.args[0])}"]
        if s.kind == "sample_if_true":
            updates.append(f"s{j}")
        return []

    def _chain(self, s: State, n: int, inflow: str, times: str, lines: list[str],
               per_stage: bool = False) -> list[str]:
        """PySD's delay chain: ddt = (inflows - outflows) * order, outflow k = stage k / time."""
        j, r = s.index, self.rows[s.index]
        if not s.shape:  # scalars: all stages in one slice (the form PySD is bit-compatible with)
            lines = lines + [f"    o{j} = Y[{r.start}:{r.stop}] / {times}",
                             f"    D[{r.start}] = ({inflow} - o{j}[0]) * {n}"]
            if n > 1:
                lines.append(f"    D[{r.start + 1}:{r.stop}] = (o{j}[:-1] - o{j}[1:]) * {n}")
            return lines
        lines = list(lines)
        for k in range(n):
            time = f"{times}[{k}]" if per_stage else times
            lines.append(f"    o{j}_{k} = {self._stage(s, k)} / {time}")
        lines.append(f"    {self._stage(s, 0, 'D')} = ({inflow} - o{j}_0) * {n}")
        for k in range(1, n):
            lines.append(f"    {self._stage(s, k, 'D')} = (o{j}_{k - 1} - o{j}_{k}) * {n}")
        return lines


def initial_states(model: CompiledModel, program: Program, values: dict[str, Any],
                   members: np.ndarray, size: int) -> tuple[np.ndarray, list[Any], list[Any]]:
    """State rows ``Y`` (K x E) and discrete states at t0, from the init pass's values.

    ``members`` picks this group's members out of the init pass's arrays
    (values whose ensemble axis has length 1 are shared). Returns
    ``(Y, X, pipes)`` where pipes holds DELAY FIXED ring buffers
    ``[buffer, pointer]`` (None elsewhere). Discrete states of arrays keep the
    array layout (E, *sizes), except DELAY N's register of delay times, which
    follows the state rows (order, cells, E).
    """
    def pick(value: Any, shape: tuple[int, ...] = ()) -> np.ndarray:
        """(E,) for a scalar, (E, *shape) for an array."""
        arr = np.asarray(value, dtype=np.float64)
        arr = arr.reshape((arr.size if arr.ndim else 1,)) if not shape else \
            arr.reshape(arr.shape or (1,) * (1 + len(shape)))
        return np.broadcast_to(arr if arr.shape[0] == 1 else arr[members], (size,) + shape)

    def rows(value: Any, shape: tuple[int, ...]) -> np.ndarray:
        """As state rows: (E,) for a scalar, (cells, E) for an array."""
        arr = pick(value, shape)
        return arr if not shape else arr.reshape(size, -1).T

    Y = np.empty((program.n_rows, size))
    X: list[Any] = []
    pipes: list[Any] = []
    for s in model.states:
        j, r, order = s.index, program.rows[s.index], program.structure.orders[s.index]
        shape, c = s.shape, s.cells
        stages = Y[r].reshape(-1, c, size) if shape else Y[r]   # a view: stage x cell x member
        if s.kind == "integ":
            Y[r] = rows(values[f"a{j}_1"], shape)
        elif s.kind in ("delay", "delayn"):
            stages[:] = rows(values[f"a{j}_2"] * values[f"a{j}_1"], shape)
        elif s.kind == "smooth":
            stages[:] = rows(values[f"a{j}_2"], shape)
        elif s.kind in ("trend", "forecast"):
            Y[r] = rows(values[f"av{j}"], shape)
        if s.kind == "delayn":
            X.append(np.tile(rows(values[f"a{j}_1"], shape), (order,) + (1,) * (2 if shape else 1)))
            pipes.append(None)
        elif s.kind == "delay_fixed":
            first = pick(values[f"a{j}_2"], shape).copy()
            X.append(first)
            pipes.append([np.tile(first, (order,) + (1,) * first.ndim), 0])
        elif s.kind == "sample_if_true":
            X.append(pick(values[f"a{j}_2"], shape).copy())
            pipes.append(None)
    return Y, X, pipes


def update_discrete(model: CompiledModel, program: Program, X: list[Any], pipes: list[Any],
                    updates: tuple) -> None:
    """Apply the discrete updates computed at t (after the continuous step)."""
    for m, (j, value) in enumerate(zip(program.discrete, updates)):
        kind = model.states[j].kind
        if kind == "delayn":
            X[m] = value
        elif kind == "sample_if_true":
            X[m] = X[m] * 0 + value
        else:
            buffer, pointer = pipes[m]
            buffer[pointer] = value
            pointer = (pointer + 1) % buffer.shape[0]
            pipes[m][1] = pointer
            X[m] = buffer[pointer].copy()
