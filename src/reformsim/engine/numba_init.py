"""The compiled init pass: each member's values at INITIAL TIME, written where the kernel reads.

The numpy init pass (:mod:`initpass`, :mod:`residual`) computes every value at the initial
time, and the compiled backend then copies those the rate pass reads into its arrays. For a
call that sets a few constants, most of that time is numpy's per-array overhead (the reform
model: ~280 of its 520 values depend on one setting, ~0.25 ms, against ~0.08 ms for the
whole time loop). Here the init pass is generated as one more function of the kernel's module,
``initial``: for each member it computes, in the init order and by the rate pass's rules for
expressions and arrays (:class:`numba_rates.RatePass`), the values the kernel's data need, and
writes the kernel's constants ``C``, state rows ``Y`` and discrete registers ``Z`` directly.

Like the rate pass, its source holds no numbers, and no names of settings either: which
constants and initial values a call sets arrives as data (``OX``: per settable constant, its
first column in ``OP``, the call's values; ``IX``: per state, likewise for an initial value),
so one compilation serves every call. A call whose settings it cannot take (a cell of an
array set alone) keeps the numpy init pass; so does a model whose init pass it cannot write.
Everything else the Python side reads (the clock, the structure, saved constants) stays with
the numpy pass, which computes what they need on demand (:class:`residual.Values`).

Numba's time to compile grows with every statement (~3 ms per operation), so the source is
kept small: constants given as numbers come from data (``S``) in one loop, no name is
assigned twice (numba's SSA pass), and values nothing of the kernel's data reads are left out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..model import ir
from .dependencies import Graph
from .memo import PerModel
from .numba_codegen import Expressions, Store, Unsupported
from .numba_rates import REGISTERS, RatePass
from .states import KINDS

if TYPE_CHECKING:
    from .compiled import CompiledModel, State

_LAYOUTS: PerModel[Any] = PerModel()

# Each kind's output at the initial time from its arguments (initpass.INIT_OUTPUTS's twins,
# one cell at a time): one of them (_PLAIN), or (helper ``av<j>`` or None, the output), with
# ``a(k)`` argument k's cell.
_PLAIN = {"integ": 1, "smooth": 2, "delay_fixed": 2, "initial": 0}   # output: this argument
_OUTPUTS = {
    "delay": lambda a, av: (None, f"({a(2)} * {a(1)}) / {a(1)}"),
    "delayn": lambda a, av: (None, f"({a(2)} * {a(1)}) / {a(1)}"),
    "sample_if_true": lambda a, av: (None, f"({a(1)} if {a(0)} != 0.0 else {a(2)})"),
    "trend": lambda a, av: (f"{a(0)} / (1 + {a(2)} * {a(1)})",
                            f"F.zidz({a(0)} - {av}, {a(1)} * np.abs({av}))"),
    "forecast": lambda a, av: (f"{a(0)} / (1 + {a(3)})",
                               f"{a(0)} * (1 + F.zidz({a(0)} - {av}, {a(1)} * {av}) * {a(2)})"),
}
_LITERAL = re.compile(r"\bL\[(\d+)\]")   # how Expressions reads a literal
_AVERAGED = ("trend", "forecast")   # kinds whose output needs the helper ``av<j>``
# Each continuous kind's value in every one of its rows at t0 (program._STAGES's twins).
_ROWS = {
    "integ": lambda a, av: a(1), "smooth": lambda a, av: a(2), "trend": lambda a, av: av,
    "forecast": lambda a, av: av,
    "delay": lambda a, av: f"{a(2)} * {a(1)}", "delayn": lambda a, av: f"{a(2)} * {a(1)}",
}


class _Computed(dict):
    """Stores of the values the init pass has computed so far; reading any other is a bug in
    the order, or a value the compiled init pass does not know."""

    def __missing__(self, name: str) -> Store:
        raise Unsupported(f"an init value read before it is computed ({name!r})")


class InitPass(RatePass):
    """One member's init pass: the init order's statements, then the kernel's data.

    It is a :class:`RatePass` for the statements of elements (arrays, assembled pieces) and
    the loops over a state's cells, which are written the same way in both passes. Numba's
    time to compile grows with every statement, so what can be data is: constants given as
    numbers (most of a model's) are not statements but a loop over ``S`` (their numbers) and
    the call's settings into ``V``, and rows of C, Y and Z are indexed as rows (``c[k]``:
    a third of ``C[e, k]``'s time to compile).
    """

    def __init__(self, model: CompiledModel, ex: Expressions,
                 constants: tuple[tuple[str, int, tuple[int, ...]], ...]) -> None:
        ex.stores, ex.work, ex.phase = _Computed(), 0, "init"
        super().__init__(model, ex, euler=True, by_cell=False)
        self.constants = constants
        settable = {model.slot_of(e) for e in model.constants()}
        ordered = [s for s in model.init_order if s in settable]
        numbers = [s for s in ordered if isinstance(model.nodes[s].expr, ir.Num)]
        self.settable = tuple(numbers + [s for s in ordered if s not in numbers])
        columns = {name: col for name, col, _ in constants}
        self.numbers = numbers
        self.defaults = np.array([model.nodes[s].expr.value for s in numbers],  # type: ignore
                                 dtype=np.float64)
        self.default_columns = np.array([columns.get(s, -1) for s in numbers], dtype=np.int64)
        self.needed = _needed(model, set(columns))

    def lines(self) -> list[str]:
        m, ex = self.model, self.ex
        body = ["c = C[e]", "op = OP[e]", "y = Y[e]", "z = Z[e]"]
        body += ["key = K[e]"] if m.random_sites else []
        body += ["for k in range(S.shape[0]):   # constants given as numbers: S, or the call's",
                 "    col = OX[k]", "    x = op[col] if col >= 0 else S[k]", "    V[k] = x",
                 "    if SC[k] >= 0:", "        c[SC[k]] = x"]
        body.append(f"t = {ex.literal(0.0)}")   # INITIAL TIME sees Time = 0
        sites = {slot: k for k, slot in enumerate(self.settable)}
        for slot in m.init_order:
            if slot not in self.needed:
                continue
            if slot.startswith("v"):
                if slot in self.numbers:   # read once, here (a read costs an operation)
                    store = self.stores[slot] = Store(None, f"p{sites[slot]}", ())
                    body.append(f"{store.at()} = V[{sites[slot]}]")
                else:
                    store = self._place(slot, m.shape_of(slot))
                    computed = self._element(slot)
                    body += self._setting(slot, f"OX[{sites[slot]}]", computed) \
                        if slot in sites else computed
                if slot == m.slots["initial_time"]:
                    body.append(f"t = {store.at()}")
                if slot == m.slots["time_step"]:
                    body.append(f"dt = {store.at()}")
            else:
                body += self._state(m.states[int(slot[1:])])
        return body + self._constants() + self._rows() + self._registers()

    def source(self) -> tuple[list[str], list[str]]:
        """The lines before the loop over members (each literal read once, into ``l<k>``)
        and the loop's body (:meth:`lines`, reading those)."""
        body = [_LITERAL.sub(lambda m: f"l{m.group(1)}", line) for line in self.lines()]
        used = sorted({int(k) for line in body for k in re.findall(r"\bl(\d+)\b", line)})
        return [f"l{k} = L[{k}]" for k in used], body

    def _setting(self, name: str, column: str, computed: list[str]) -> list[str]:
        """The value a call sets (its cells from ``op``), or else the value computed: one
        assignment each (a name numba sees assigned twice costs it time in its SSA pass)."""
        store = self.stores[name]
        if not store.shape:   # the computed value's last line: ``<name> = <code>``
            *hoisted, last = computed
            code = last[len(f"{store.at()} = "):]
            return hoisted + [f"{store.at()} = F.setting({code}, op, {column})"]
        col, i = self.ex.fresh("ox"), self.ex.fresh("i")
        return computed + [f"{col} = {column}", f"for {i} in range({store.cells}):",
                           f"    {store.at(i)} = F.setting_cell({store.at(i)}, op, {col}, {i})"]

    def _state(self, s: State) -> list[str]:
        j, kind, lines = s.index, KINDS[s.kind], []
        for k in kind.init_args:
            store = self._place(f"a{j}_{k}", s.shape)
            computed = self._cells(s, lambda idx, f, st=store, arg=s.args[k]: [
                f"{st.at(f)} = {self.ex.value(arg, idx)}"])
            lines += self._setting(f"a{j}_{k}", f"IX[{j}]", computed) \
                if k == kind.initial_arg else computed
        if s.kind in _PLAIN:   # the output is that argument: one store for both
            self.stores[s.slot] = self.stores[f"a{j}_{_PLAIN[s.kind]}"]
            return lines
        if s.kind in _AVERAGED:
            self._place(f"av{j}", s.shape)
        out = self._place(s.slot, s.shape)

        def cell(idx, f):
            av = self.stores[f"av{j}"].at(f) if s.kind in _AVERAGED else ""
            first, value = _OUTPUTS[s.kind](lambda k: self._arg(s, k, f), av)
            return ([f"{av} = {first}"] if first is not None else []) + [f"{out.at(f)} = {value}"]

        return lines + self._cells(s, cell)

    def _constants(self) -> list[str]:
        """The kernel's constants (but those given as numbers): each one's cells into its
        columns of C."""
        lines = []
        for name, col, shape in self.constants:
            if name not in self.numbers:
                store = self.stores[name]
                lines += self.ex.loops(shape, lambda idx, f, st=store, c=col: [
                    f"c[{c} + {f}] = {st.at(f)}" if f != "0" else f"c[{c}] = {st.at()}"])
        return lines

    def _rows(self) -> list[str]:
        """Each state's rows: a one-row state's at RO[j]; a delay's or smooth's, its every
        stage (OR[j] of them, the member group's order) the same value."""
        lines = []
        for s in self.model.states:
            if s.kind not in _ROWS:
                continue
            j, c, staged = s.index, s.cells, KINDS[s.kind].rows == "order"

            def cell(idx, f, s=s, j=j, c=c, staged=staged):
                av = self.stores[f"av{j}"].at(f) if s.kind in _AVERAGED else ""
                value = _ROWS[s.kind](lambda k: self._arg(s, k, f), av)
                at = f"RO[{j}]" if f == "0" else f"RO[{j}] + {f}"
                if not staged:
                    return [f"y[{at}] = {value}"]
                v, k = self.ex.fresh("y"), self.ex.fresh("k")
                return [f"{v} = {value}", f"for {k} in range(OR[{j}]):",
                        f"    y[{at} + {k}*{c}] = {v}"]

            lines += self._cells(s, cell)
        return lines

    def _registers(self) -> list[str]:
        """Discrete registers: their argument's value, in each stage's copy where staged."""
        lines = []
        for s in self.model.states:
            if s.kind not in REGISTERS:
                continue
            (first, staged), j, c = REGISTERS[s.kind], s.index, s.cells
            copies = f"OR[{j}]" if staged else "1"
            lines += self._cells(s, lambda idx, f, s=s, j=j, c=c, first=first, n=copies: [
                f"for {(k := self.ex.fresh('k'))} in range({n}):",
                f"    z[ZO[{j}] + {k}*{c} + {f}] = {self._arg(s, first, f)}"])
        return lines


def _needed(model: CompiledModel, constants: set[str]) -> set[str]:
    """The init pass's values the kernel's data need: its constants and the states (their
    rows and registers), with what they read, transitively (an element's value at the
    initial time that nothing of them reads, most dynamic ones, is not computed)."""
    graph = Graph(model.source, model.nodes, model.states).deps("init")
    needed, todo = set(), list(constants) + [s.slot for s in model.states]
    while todo:
        slot = todo.pop()
        if slot not in needed:
            needed.add(slot)
            todo += graph.get(slot, ())
    return needed


def write(model: CompiledModel, ex: Expressions,
          constants: tuple[tuple[str, int, tuple[int, ...]], ...]) -> InitPass:
    """The writer of ``initial`` after the rate passes wrote theirs with ``ex``: its
    ``lines()`` are one member's body (raising :class:`Unsupported` with the reason), its
    ``settable`` the constants in the order of ``OX``, ``defaults`` and
    ``default_columns`` the numbers of the first of them and their columns of C."""
    return InitPass(model, ex, constants)


# --- a call's settings, as the compiled init pass reads them -----------------------------------

@dataclass(frozen=True)
class Settings:
    """What one call sets for the members of a chunk (or of a group: :meth:`pick`): the init
    pass's ``O`` and ``I`` (values (1,) shared, or one per member) and ``K``."""

    overrides: dict[str, Any]
    initial: dict[int, Any]
    keys: np.ndarray
    names: tuple[frozenset, frozenset] | None = None   # the names set, when known (the plan's)

    def pick(self, members: np.ndarray) -> Settings:
        """The settings of some members only."""
        size = len(self.keys)

        def part(v: Any) -> Any:
            if isinstance(v, tuple):   # cells of an array: (cells, values)
                return v[0], [part(x) for x in v[1]]
            return v[members] if np.ndim(v) >= 1 and np.shape(v)[0] == size > 1 else v

        return Settings({k: part(v) for k, v in self.overrides.items()},
                        {j: part(v) for j, v in self.initial.items()}, self.keys[members],
                        self.names)


@dataclass(frozen=True)
class Columns:
    """Where a call's settings go in ``OP``: (key, first column, shape) each, and OX, IX."""

    settings: tuple[tuple[Any, int, tuple[int, ...]], ...]
    width: int
    OX: np.ndarray
    IX: np.ndarray


def accepts(model: CompiledModel, found: Any, o_keys: frozenset, i_keys: frozenset) -> bool:
    """True when the compiled init pass can take a call that sets these names."""
    return columns_of(model, found, o_keys, i_keys) is not None


def columns_of(model: CompiledModel, found: Any, o_keys: frozenset,
               i_keys: frozenset) -> Columns | None:
    """Where a call setting these names puts its settings, or None when the pass cannot take
    them (a cell set alone, or not a constant)."""
    def make() -> Columns | None:
        if not found.settable:
            return None
        sites = {slot: k for k, slot in enumerate(found.settable)}
        data = set(model.input_keys())    # schedules and tables: read from RT, as the kernel's
        OX = np.full(len(sites), -1, dtype=np.int64)
        IX = np.full(max(len(model.states), 1), -1, dtype=np.int64)
        settings, at = [], 0
        for key in sorted(o_keys - data):
            if key not in sites:           # a cell set alone (``slot@``), or not a constant
                return None
            shape = model.shape_of(key)
            OX[sites[key]], at = at, at + math.prod(shape)
            settings.append((key, int(OX[sites[key]]), shape))
        for j in sorted(i_keys):
            shape = model.states[j].shape
            IX[j], at = at, at + math.prod(shape)
            settings.append((j, int(IX[j]), shape))
        return Columns(tuple(settings), at, OX, IX)

    return _LAYOUTS.get(model, ("columns", found.digest, o_keys, i_keys), make)


def registers(model: CompiledModel, orders: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """The discrete registers' layout for a structure: Z's width, each state's first cell in
    it (ZO), and the DELAY FIXED states (FX)."""
    def make() -> tuple[int, np.ndarray, np.ndarray]:
        offsets, fixed, at = np.zeros(len(model.states), dtype=np.int64), [], 0
        for s, order in zip(model.states, orders):
            if s.kind not in REGISTERS:
                continue
            offsets[s.index] = at
            at += (int(order) if REGISTERS[s.kind][1] else 1) * s.cells
            if s.kind == "delay_fixed":
                fixed.append(s.index)
        return at, offsets, np.array(fixed, dtype=np.int64)

    return _LAYOUTS.get(model, ("registers", orders.tobytes()), make)


def start(model: CompiledModel, found: Any, code: Any, settings: Settings, rows: int,
          RT: np.ndarray, RI: np.ndarray, RO: np.ndarray, OR: np.ndarray,
          discrete: tuple[int, np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """The group's kernel data at t0 by the compiled init pass: ``Y`` (E x state rows in the
    kernel's order), ``Z`` (E x register cells), ``C`` (E x constant cells); ``discrete`` is
    the structure's :func:`registers`."""
    keys, size = settings.keys, len(settings.keys)
    names = settings.names or (frozenset(settings.overrides), frozenset(settings.initial))
    columns = columns_of(model, found, *names)
    assert columns is not None   # residual defers to this pass only when it accepts the call
    OP = operands(columns, settings.overrides, settings.initial, size)
    width, ZO, _ = discrete
    Y = np.empty((size, rows))
    Z = np.empty((size, width))
    C = np.empty((size, max(found.columns, 1)))
    code.initial(0, size, OP, columns.OX, columns.IX, found.defaults, found.default_columns,
                 np.ascontiguousarray(keys, dtype=np.uint64), C, Y, Z, found.literals,
                 found.tables, found.ints, RT, RI, RO, OR, ZO, found.init_work)
    return Y, Z, C


def operands(columns: Columns, overrides: dict[str, Any], initial: dict[int, Any],
             size: int) -> np.ndarray:
    """OP (members x setting cells): a call's settings where the init pass reads them."""
    OP = np.empty((size, max(columns.width, 1)))
    for key, col, shape in columns.settings:
        value = (overrides if isinstance(key, str) else initial)[key]
        if shape:
            OP[:, col:col + math.prod(shape)] = cells(value, shape, size)
        else:   # (1,) or (E,)
            OP[:, col] = value
    return OP


def cells(value: Any, shape: tuple[int, ...], size: int) -> np.ndarray:
    """A value of the init pass as (members, cells): (1,)/(E,) scalars, (1|E, *shape) arrays."""
    array = np.asarray(value, dtype=np.float64)
    lead = array.shape[0] if array.ndim else 1
    array = np.broadcast_to(array.reshape((lead,) + array.shape[1:]), (lead,) + shape)
    return np.broadcast_to(array.reshape(lead, -1), (size, math.prod(shape)))
