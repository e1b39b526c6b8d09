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

from .codegen import Emitter, namespace
from .compiler import OUTPUT_ARGS, STRUCTURAL_ARGS, CompiledModel, State
from .errors import ReformsimWarning, SimulationError
from .ir import CONTROLS

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
        rows[s.index] = slice(at, at + count)
        at += count
    return rows, at


def group_by_structure(model: CompiledModel, values: dict[str, Any],
                       size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort members by what shapes their states: control values, delay orders, buffer lengths.

    Returns the distinct rows (controls first, then one number per state)
    and, for each member, the index of its row.
    """
    def column(name: str) -> np.ndarray:
        return np.broadcast_to(np.asarray(values[name], float).reshape(-1), (size,))

    columns = [column(model.slots[c]) for c in CONTROLS]
    dt = columns[1]
    for s in model.states:
        columns.append(_state_size(model, s, dt, lambda k, j=s.index: column(f"a{j}_{k}"))
                       if s.kind in STRUCTURAL_ARGS else np.zeros(size))
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
    key = (structure, outputs)
    if key in model.programs:
        return model.programs[key]
    rows, n_rows = structure_rows(model, structure)
    discrete = tuple(s.index for s in model.states if s.kind in ("delay_fixed", "sample_if_true", "delayn"))
    writer = _RateWriter(model, structure, rows, discrete, outputs)
    source = writer.source()
    names = namespace()
    writer.emitter.bind(names)
    exec(compile(source, "<reformsim rate pass>", "exec"), names)  # noqa: S102 - slots only
    nonneg = tuple(rows[s.index].start for s in model.states if s.kind == "integ" and s.nonneg)
    program = Program(structure, rows, discrete, nonneg, n_rows, names["make"], source, outputs)
    model.programs[key] = program
    return program


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
        saved = [(col, slot) for col, slot in enumerate(self.outputs) if slot in self.model.dynamic]
        if saved:  # constant outputs are written once for all save times, by the caller
            body.append("    if S is not None:")
            body += [f"        S[{col}] = {slot}" for col, slot in saved]
        body.append("    return (" + "".join(f"{u}, " for u in updates) + ")")
        computed = set(self.model.rate_order) | {f"a{s.index}_{k}" for s in self.model.states
                                                  for k in range(len(s.args))}
        loads = [f"    {name} = C[{name!r}]" for name in sorted(self.emitter.used - computed)]
        head = ["def make(C, X, K):"] + loads + ["    def rates(t, dt, Y, D, S, n):"]
        body = ["    " + line for line in body] + ["    return rates"]
        return "\n".join(head + body) + "\n"

    def _arg(self, s: State, k: int) -> str:
        return f"a{s.index}_{k}"

    def _output(self, s: State) -> list[str]:
        j, r = s.index, self.rows[s.index]
        lines = [f"    a{j}_{k} = {self.emitter.expr(s.args[k])}" for k in OUTPUT_ARGS[s.kind]]
        a = [self._arg(s, k) for k in range(len(s.args))]
        last, first, m = f"Y[{r.stop - 1}]", f"Y[{r.start}]", self.discrete.get(j)
        if s.kind in ("integ", "smooth"):
            output = last
        elif s.kind == "delay":
            output = f"{last} / {a[1]}"
        elif s.kind == "delayn":
            output = f"{last} / X[{m}][0]"
        elif s.kind == "delay_fixed":
            output = f"X[{m}]"
        elif s.kind == "trend":
            output = f"F.zidz({a[0]} - {first}, {a[1]} * np.abs({first}))"
        elif s.kind == "forecast":
            output = f"{a[0]} * (1 + F.zidz({a[0]} - {first}, {a[1]} * {first}) * {a[2]})"
        else:  # sample_if_true
            output = f"np.where({self.emitter.expr(s.args[0], True)}, {a[1]}, X[{m}])"
        return lines + [f"    s{j} = {output}"]

    def _derivative(self, s: State, updates: list[str]) -> list[str]:
        j, r, n = s.index, self.rows[s.index], self.structure.orders[s.index]
        e = self.emitter.expr
        if s.kind == "integ":
            return [f"    D[{r.start}] = {e(s.args[0])}"]
        if s.kind in ("trend", "forecast"):
            return [f"    D[{r.start}] = ({self._arg(s, 0)} - Y[{r.start}]) / {self._arg(s, 1)}"]
        if s.kind == "delay":
            return self._chain(r, n, e(s.args[0]), f"Y[{r.start}:{r.stop}] / {self._arg(s, 1)}", j)
        if s.kind == "delayn":
            m = self.discrete[j]
            lines = [f"    tn{j} = np.empty_like(X[{m}])", f"    tn{j}[0] = {e(s.args[1])}",
                     f"    tn{j}[1:] = X[{m}][:-1]"]
            updates.append(f"tn{j}")
            return lines + self._chain(r, n, e(s.args[0]), f"Y[{r.start}:{r.stop}] / tn{j}", j)
        if s.kind == "smooth":
            time = f"sm{j}"
            lines = [f"    {time} = {e(s.args[1])}",
                     f"    D[{r.start}] = ({e(s.args[0])} - Y[{r.start}]) * {n} / {time}"]
            if n > 1:
                lines.append(f"    D[{r.start + 1}:{r.stop}] = (Y[{r.start}:{r.stop - 1}] - "
                             f"Y[{r.start + 1}:{r.stop}]) * {n} / {time}")
            return lines
        if s.kind == "delay_fixed":
            updates.append(f"u{j}")
            return [f"    u{j} = {e(s.args[0])}"]
        if s.kind == "sample_if_true":
            updates.append(f"s{j}")
        return []

    @staticmethod
    def _chain(r: slice, n: int, inflow: str, outflows: str, j: int) -> list[str]:
        # PySD: ddt = (inflows - outflows) * order, inflows = outflows shifted, inflows[0] = input
        lines = [f"    o{j} = {outflows}", f"    D[{r.start}] = ({inflow} - o{j}[0]) * {n}"]
        if n > 1:
            lines.append(f"    D[{r.start + 1}:{r.stop}] = (o{j}[:-1] - o{j}[1:]) * {n}")
        return lines


def initial_states(model: CompiledModel, program: Program, values: dict[str, Any],
                   members: np.ndarray, size: int) -> tuple[np.ndarray, list[Any], list[Any]]:
    """State rows ``Y`` (K x E) and discrete states at t0, from the init pass's values.

    ``members`` picks this group's members out of the init pass's arrays
    (values of shape (1,) are shared). Returns ``(Y, X, pipes)`` where pipes
    holds DELAY FIXED ring buffers ``[buffer, pointer]`` (None elsewhere).
    """
    def pick(value: Any) -> np.ndarray:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
        return np.broadcast_to(arr if arr.shape[0] == 1 else arr[members], (size,))

    Y = np.empty((program.n_rows, size))
    X: list[Any] = []
    pipes: list[Any] = []
    for s in model.states:
        j, r, order = s.index, program.rows[s.index], program.structure.orders[s.index]
        if s.kind == "integ":
            Y[r.start] = pick(values[f"a{j}_1"])
        elif s.kind in ("delay", "delayn"):
            Y[r] = pick(values[f"a{j}_2"] * values[f"a{j}_1"])
        elif s.kind == "smooth":
            Y[r] = pick(values[f"a{j}_2"])
        elif s.kind in ("trend", "forecast"):
            Y[r.start] = pick(values[f"av{j}"])
        if s.kind == "delayn":
            X.append(np.tile(pick(values[f"a{j}_1"]), (order, 1)))
            pipes.append(None)
        elif s.kind == "delay_fixed":
            first = pick(values[f"a{j}_2"]).copy()
            X.append(first)
            pipes.append([np.tile(first, (order, 1)), 0])
        elif s.kind == "sample_if_true":
            X.append(pick(values[f"a{j}_2"]).copy())
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
