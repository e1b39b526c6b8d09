"""One member's rate pass for the compiled backend: statements, states, saves, updates.

:class:`RatePass` writes the body that :mod:`numba_source` puts inside the integrators'
loops: every dynamic element in rate order, each state's output, derivative and (discrete
kinds) update by one rule per kind of state (the twins of ``rates.RateWriter``'s), and the
saves. Values of one member at one time are locals; arrays live in the work array ``W``.

State rows are the numpy backend's, reordered so that rows of a fixed size come first:
scalar one-row states (INTEG, TREND, FORECAST), which the body keeps in locals, then arrays
of them, then delays and smooths, whose rows start at ``RO[j]`` (their length is their
order, which arrives as data).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..model import ir
from .numba_codegen import Expressions, Store, Unsupported
from .states import KINDS, OUTPUT_ARGS

if TYPE_CHECKING:
    from .compiled import CompiledModel, State

ONE_ROW = tuple(k for k, kind in KINDS.items() if kind.rows == "one")      # a row per cell
BRANCHES = 24     # dynamic elements saved by a branch each; beyond, by one loop
BY_ORDER = tuple(k for k, kind in KINDS.items() if kind.rows == "order")   # and per stage
# Discrete kinds: the argument whose initial value fills a member's register, and whether the
# register holds a copy per stage (DELAY N's delay times, DELAY FIXED's ring buffer).
REGISTERS = {"delayn": (1, True), "delay_fixed": (2, True), "sample_if_true": (2, False)}


def cell(array: str, index: str, by_cell: bool) -> str:
    """Member i's cell ``index`` of a block's array (``by_cell``: cells x members)."""
    return f"{array}[{index}, i]" if by_cell else f"{array}[i, {index}]"


def fixed_rows(model: CompiledModel) -> tuple[dict[int, int], int]:
    """First rows of the one-row states (scalars first, then arrays) and their count."""
    rows, at = {}, 0
    for scalar in (True, False):
        for s in model.states:
            if s.kind in ONE_ROW and (not s.shape) == scalar:
                rows[s.index] = at
                at += s.cells
    return rows, at


class Constants(dict):
    """Stores of the values a rate pass reads but does not compute: columns of C, on first use."""

    def __init__(self, model: CompiledModel, by_cell: bool) -> None:
        super().__init__()
        self.model, self.by_cell = model, by_cell
        self.order: list[tuple[str, int, tuple[int, ...]]] = []
        self.used = 0

    def __missing__(self, name: str) -> Store:
        if name.startswith("v"):
            shape = self.model.shape_of(name)
        elif name.startswith("s") and name[1:].isdigit():
            shape = self.model.states[int(name[1:])].shape
        else:
            raise Unsupported(f"reads {name!r}, which neither pass computes")
        store = self[name] = Store(cell("Cb", "{}", self.by_cell), str(self.used),
                                   tuple(shape))
        self.order.append((name, self.used, tuple(shape)))
        self.used += math.prod(shape)
        return store


class RatePass:
    """The rate pass of one member for one integrator: statements in rate order,
    derivatives, saves, and (Euler) the step's updates.

    Size: one rule per kind of state for its output, derivative and update, and one per
    kind of statement, together as ``rates.RateWriter`` keeps the numpy backend's.
    """

    def __init__(self, model: CompiledModel, ex: Expressions, euler: bool,
                 by_cell: bool) -> None:
        self.model, self.ex, self.euler, self.by_cell = model, ex, euler, by_cell
        self.stores = ex.stores
        self.rows, self.fixed = fixed_rows(model)
        self.scalars: list[int] = []   # dynamic elements saved through Sb (by cell)
        self.save_table: tuple[int, int] | None = None   # TI offset and count (saved by a loop)
        self.Y = self._yb("{}") if euler else "ys[{}]"
        self.D = "D[{}]" if euler else "ks[stage, {}]"
        self.outputs: list[str] = []

    # --- where values live ------------------------------------------------------------------

    def _yb(self, index: str) -> str:
        return cell("Yb", index, self.by_cell)

    def _zb(self, index: str) -> str:
        return cell("Zb", index, self.by_cell)

    def _place(self, name: str, shape: tuple[int, ...]) -> Store:
        store = Store(None, name, ()) if not shape else \
            Store("W[{}]", str(self.ex.scratch(math.prod(shape))), tuple(shape))
        self.stores[name] = store
        return store

    def _local(self, s: State) -> bool:
        """A scalar one-row state: its row is read into a local, its derivative is one."""
        return s.kind in ONE_ROW and not s.shape

    def _start(self, s: State, stage: str = "") -> str:
        """Offset of (a stage of) a state's first cell in the member's state rows."""
        start = str(self.rows[s.index]) if s.index in self.rows else f"ro{s.index}"
        return f"{start} + ({stage})*{s.cells}" if stage else start

    def _y(self, s: State, f: str, stage: str = "") -> str:
        return self.Y.format(f"{self._start(s, stage)} + {f}" if f != "0" else
                             self._start(s, stage))

    def _d(self, s: State, f: str, stage: str = "") -> str:
        return self.D.format(f"{self._start(s, stage)} + {f}" if f != "0" else
                             self._start(s, stage))

    # --- the body ---------------------------------------------------------------------------

    def lines(self) -> list[str]:
        m = self.model
        body = ["key = K[e]"] if m.random_sites else []
        for s in m.states:
            if self._local(s):   # INTEG's value is its row; TREND and FORECAST read theirs
                name = s.slot if s.kind == "integ" else f"y{s.index}"
                body.append(f"{name} = {self.Y.format(self.rows[s.index])}")
        for slot in m.rate_order:
            if slot.startswith("v"):
                self._place(slot, m.shape_of(slot))
            else:
                self._place_state(m.states[int(slot[1:])])
        for slot in m.rate_order:
            if slot.startswith("v"):
                body += self._element(slot)
            else:
                s = m.states[int(slot[1:])]
                body += self.OUTPUTS[s.kind](self, s)
        for s in m.states:
            body += self.DERIVATIVES[s.kind](self, s)
        body += self._saves()
        if self.euler:
            body += self._commits()
        return body

    def _place_state(self, s: State) -> None:
        j = s.index
        if s.kind == "integ":
            self.stores[s.slot] = Store(None, s.slot, ()) if self._local(s) else \
                Store(self.Y, self._start(s), s.shape)
        elif s.kind == "smooth":
            self.stores[s.slot] = Store(self.Y, f"la{j}", s.shape)
        elif s.kind == "delay_fixed":   # the ring buffer's cells at the pointer
            self.stores[s.slot] = Store(self._zb("{}"), f"pt{j}", s.shape)
        else:
            self._place(s.slot, s.shape)
        for k in OUTPUT_ARGS[s.kind]:
            self._place(f"a{j}_{k}", s.shape)
        if s.kind in ("delayn", "delay_fixed"):
            self._place(f"q{j}", s.shape)   # the delay time now / the input, kept for the update

    def _element(self, slot: str) -> list[str]:
        expr = self.model.nodes[slot].expr
        store = self.stores[slot]
        if not store.shape:
            return self.ex.loops((), lambda idx, f: [f"{slot} = {self.ex.value(expr)}"])
        if not isinstance(expr, ir.Assemble):
            return self._fill(store, expr)
        size, parts = store.cells, expr.parts
        if len(parts) == 1 and parts[0].picks is None and parts[0].cells == tuple(range(size)):
            return self._fill(store, parts[0].expr)
        lines = []
        if len({c for p in parts for c in p.cells}) != size:   # cells no piece defines: NaN
            i = self.ex.fresh("i")
            lines += [f"for {i} in range({size}):", f"    {store.at(i)} = np.nan"]
        for part in parts:
            lines += self._part(store, part)
        return lines

    def _part(self, store: Store, part: ir.Part) -> list[str]:
        """One piece of an assembled array: its cells where they go (``picks``: some of them)."""
        cells, value = list(part.cells), part.expr
        if part.picks is not None:
            where = [-1] * math.prod(part.shape)
            for pick, cell in zip(part.picks, part.cells):
                where[pick] = cell
            k = self.ex.int_slot(where)
            return self.ex.loops(part.shape, lambda idx, f: [
                f"m = TI[{k} + {f}]", "if m >= 0:",
                f"    {store.at('m')} = {self.ex.value(value, idx)}"])
        if cells == list(range(cells[0], cells[0] + len(cells))):
            return self.ex.loops(part.shape, lambda idx, f: [
                f"{store.at(f'{cells[0]} + {f}' if cells[0] else f)} = "
                f"{self.ex.value(value, idx)}"])
        k = self.ex.int_slot(cells)
        return self.ex.loops(part.shape, lambda idx, f: [
            f"{store.at(f'TI[{k} + {f}]')} = {self.ex.value(value, idx)}"])

    def _fill(self, store: Store, expr: ir.Expr) -> list[str]:
        return self.ex.loops(store.shape, lambda idx, f: [
            f"{store.at(f)} = {self.ex.value(expr, idx)}"])

    def _cells(self, s: State, body) -> list[str]:
        """Loops over a state's cells; ``body(idx, flat)`` gives the lines for one cell."""
        return self.ex.loops(s.shape, body)

    def _args(self, s: State) -> list[str]:
        """The arguments the state's output needs, computed into their stores (a<j>_<k>)."""
        lines = []
        for k in OUTPUT_ARGS[s.kind]:
            store, arg = self.stores[f"a{s.index}_{k}"], s.args[k]
            lines += self._cells(s, lambda idx, f, st=store, a=arg: [
                f"{st.at(f)} = {self.ex.value(a, idx)}"])
        return lines

    def _arg(self, s: State, k: int, f: str) -> str:
        return self.stores[f"a{s.index}_{k}"].at(f)

    # --- outputs (rate order) ---------------------------------------------------------------

    def _no_lines(self, s: State) -> list[str]:
        return []

    def _out_delay(self, s: State) -> list[str]:
        out, last = self.stores[s.slot], f"la{s.index}"
        return self._args(s) + self._cells(s, lambda idx, f: [
            f"{out.at(f)} = {self.Y.format(f'{last} + {f}')} / {self._arg(s, 1, f)}"])

    def _out_delayn(self, s: State) -> list[str]:
        out, last = self.stores[s.slot], f"la{s.index}"
        return self._cells(s, lambda idx, f: [
            f"{out.at(f)} = {self.Y.format(f'{last} + {f}')} / {self._zb(f'zo{s.index} + {f}')}"])

    def _first(self, s: State, f: str) -> str:
        return f"y{s.index}" if self._local(s) else self._y(s, f)

    def _out_trend(self, s: State) -> list[str]:
        out = self.stores[s.slot]

        def cell(idx, f):
            a0, a1, y0 = self._arg(s, 0, f), self._arg(s, 1, f), self._first(s, f)
            if s.kind == "trend":
                return [f"{out.at(f)} = F.zidz({a0} - {y0}, {a1} * np.abs({y0}))"]
            return [f"{out.at(f)} = {a0} * (1 + F.zidz({a0} - {y0}, {a1} * {y0}) * "
                    f"{self._arg(s, 2, f)})"]

        return self._args(s) + self._cells(s, cell)

    def _out_sample(self, s: State) -> list[str]:
        out = self.stores[s.slot]
        return self._args(s) + self._cells(s, lambda idx, f: [
            f"{out.at(f)} = {self._arg(s, 1, f)} if {self._arg(s, 0, f)} != 0.0 "
            f"else {self._zb(f'zo{s.index} + {f}')}"])

    # --- derivatives ------------------------------------------------------------------------

    def _derivative(self, s: State, f: str) -> str:
        """Where a one-row state's derivative goes: a local (Euler, scalar) or its row."""
        return f"d{s.index}" if self.euler and self._local(s) else self._d(s, f)

    def _d_integ(self, s: State) -> list[str]:
        return self._cells(s, lambda idx, f: [
            f"{self._derivative(s, f)} = {self.ex.value(s.args[0], idx)}"])

    def _d_trend(self, s: State) -> list[str]:
        return self._cells(s, lambda idx, f: [
            f"{self._derivative(s, f)} = ({self._arg(s, 0, f)} - {self._first(s, f)}) / "
            f"{self._arg(s, 1, f)}"])

    def _d_delay(self, s: State) -> list[str]:
        """PySD's chain: ddt = (inflow - outflow) * order, outflow k = stage k / its delay time."""
        j, c = s.index, s.cells

        def cell(idx, f):
            lines = [f"prev = {self.ex.value(s.args[0], idx)}"]
            if s.kind == "delay":
                time = self._arg(s, 1, f)
            else:   # DELAY N: the delay time of each stage when it entered, in a register
                now = self.stores[f"q{j}"].at(f)
                lines.append(f"{now} = {self.ex.value(s.args[1], idx)}")
                time = f"({now} if k == 0 else {self._zb(f'zo{j} + (k - 1)*{c} + {f}')})"
            return lines + [f"for k in range(or{j}):",
                            f"    o = {self._y(s, f, 'k')} / {time}",
                            f"    {self._d(s, f, 'k')} = (prev - o) * of{j}",
                            "    prev = o"]

        return self._cells(s, cell)

    def _d_smooth(self, s: State) -> list[str]:
        j = s.index
        return self._cells(s, lambda idx, f: [
            f"time = {self.ex.value(s.args[1], idx)}",
            f"prev = {self.ex.value(s.args[0], idx)}",
            f"for k in range(or{j}):",
            f"    yk = {self._y(s, f, 'k')}",
            f"    {self._d(s, f, 'k')} = (prev - yk) * of{j} / time",
            "    prev = yk"])

    def _d_fixed(self, s: State) -> list[str]:
        keep = self.stores[f"q{s.index}"]
        return self._cells(s, lambda idx, f: [f"{keep.at(f)} = {self.ex.value(s.args[0], idx)}"])

    # --- saves, the watch, and the step's updates -------------------------------------------

    def _saves(self) -> list[str]:
        """At a save: every dynamic element's cells where OC says (-1: not kept). By cell
        (a model of scalars, its member loop run on several members at once), each element
        into its row of the block's ``Sb``, all of them, unconditionally, with no branch in
        the loop; after the members, the template copies the rows ``OC`` keeps into ``out``
        (see :meth:`prologue`). Else a few elements get a branch each; many are first put in
        W, next to the arrays, and one loop copies the kept ones, listed before the time loop
        (a long run of branches is slow for numba to compile). ``OBb[i]`` sums the member's
        saved values: not finite when one of them is not (or, rarely, when the sum
        overflows), so only such members' outputs need to be searched afterwards."""
        slots = [slot for slot in self.model.rate_order if slot.startswith("v")]
        self.outputs += slots
        if not slots:
            return []
        if self.by_cell:
            self.scalars = list(range(len(slots)))
            return ["if save:"] + [f"    Sb[{k}, i] = {slot}" for k, slot in enumerate(slots)]
        if len(slots) <= BRANCHES:
            lines = ["acc = 0.0"]
            for k, slot in enumerate(slots):   # oc<k> = OC[k], read once (prologue)
                store = self.stores[slot]
                lines.append(f"if oc{k} >= 0:")
                lines += [f"    out[saved, oc{k}, e] = {slot}", f"    acc += {slot}"] \
                    if not store.shape else [
                    f"    for j in range({store.cells}):",
                    f"        out[saved, oc{k} + j, e] = {store.at('j')}",
                    f"        acc += {store.at('j')}"]
            return ["if save:"] + ["    " + line for line in lines + ["OBb[i] += acc"]]
        sources, counts, lines = [], [], []
        for slot in slots:
            store = self.stores[slot]
            if not store.shape:
                store = Store("W[{}]", str(self.ex.scratch(1)), ())
                lines.append(f"{store.at()} = {slot}")
            sources.append(int(store.base))
            counts.append(store.cells)
        self.save_table = (self.ex.int_slot(sources + counts), len(sources))
        return ["if save:"] + ["    " + line for line in lines] + [   # kept ones: prologue
            "    acc = 0.0",
            "    for r in range(nk):",
            "        oc = KO[r]",
            "        source = KS[r]",
            "        for j in range(KN[r]):",
            "            out[saved, oc + j, e] = W[source + j]",
            "            acc += W[source + j]",
            "    OBb[i] += acc"]

    def prologue(self, saves: bool = True) -> list[str]:
        """Before the time loop: where the saved elements go (when saved by branches; when
        saved by a loop, the kept ones' columns, places in W and cells: KO, KS, KN; by cell,
        the block's Sb unless ``saves`` is False: numba_segments lays it out), where each
        delay's and smooth's rows start and end, its order, and where each discrete state's
        cells start (all fixed for the run)."""
        slots = [slot for slot in self.model.rate_order if slot.startswith("v")]
        lines = [f"oc{k} = OC[{k}]" for k in range(len(slots))] \
            if not self.by_cell and len(slots) <= BRANCHES else []
        if saves:   # saved scalars, by cell
            lines.append(f"Sb = np.empty(({len(self.scalars)}, width))")
        lines += [f"SR = np.empty({len(self.scalars)}, dtype=np.int64)",   # kept: row of Sb
                  f"SC = np.empty({len(self.scalars)}, dtype=np.int64)",   # and column of out
                  "kept = 0",
                  f"for r in range({len(self.scalars)}):",
                  "    oc = OC[r]",
                  "    if oc >= 0:",
                  "        SR[kept] = r",
                  "        SC[kept] = oc",
                  "        kept += 1"]
        if self.save_table:   # the elements kept, in order: where in out, in W, how many
            at, count = self.save_table
            lines += [f"KO = np.empty({count}, dtype=np.int64)", "KS = np.empty_like(KO)",
                      "KN = np.empty_like(KO)", "nk = 0",
                      f"for k in range({count}):",
                      "    if OC[k] >= 0:",
                      "        KO[nk] = OC[k]",
                      f"        KS[nk] = TI[{at} + k]",
                      f"        KN[nk] = TI[{at + count} + k]",
                      "        nk += 1"]
        for s in self.model.states:
            j, c = s.index, s.cells
            if s.kind in BY_ORDER:
                lines += [f"ro{j} = RO[{j}]", f"or{j} = OR[{j}]", f"of{j} = np.float64(or{j})",
                          f"la{j} = ro{j} + (or{j} - 1)*{c}"]
            if s.kind in ("delayn", "delay_fixed", "sample_if_true"):
                lines.append(f"zo{j} = ZO[{j}]")
        return lines

    def per_step(self) -> list[str]:
        """At each time, before the members: the cells of each DELAY FIXED at its pointer."""
        return [f"pt{s.index} = ZO[{s.index}] + PT[{s.index}]*{s.cells}"
                for s in self.model.states if s.kind == "delay_fixed"]

    def _commits(self) -> list[str]:
        """Euler's step: discrete updates, then every state row moves by dt x its derivative."""
        lines = [line for s in self.model.states if s.kind in self.UPDATES
                 for line in self.UPDATES[s.kind](self, s)]
        for s in self.model.states:
            if self._local(s):
                name = s.slot if s.kind == "integ" else f"y{s.index}"
                row = self.rows[s.index]
                y = self._yb(str(row))
                lines.append(f"{y} = {name} + d{s.index} * dt")
                if s.nonneg:
                    lines += [f"if {y} < 0.0:", f"    {y} = 0.0"]
        local = sum(1 for s in self.model.states if self._local(s))
        if any(s.kind in ONE_ROW + BY_ORDER and not self._local(s) for s in self.model.states):
            lines += [f"for k in range({local}, R):", f"    {self._yb('k')} += D[k] * dt"]
        for s in self.model.states:   # as numpy's euler: every cell of a non-negative array
            if s.kind == "integ" and s.nonneg and s.shape:
                row = self.rows[s.index]
                lines += [f"for k in range({row}, {row + s.cells}):",
                          f"    if {self._yb('k')} < 0.0:", f"        {self._yb('k')} = 0.0"]
        return ["if commit:"] + ["    " + line for line in lines] if lines else []

    def _c_delayn(self, s: State) -> list[str]:
        j, c = s.index, s.cells
        return self._cells(s, lambda idx, f: [
            f"for k in range(or{j} - 1, 0, -1):",
            f"    {self._zb(f'zo{j} + k*{c} + {f}')} = {self._zb(f'zo{j} + (k - 1)*{c} + {f}')}",
            f"{self._zb(f'zo{j} + {f}')} = {self.stores[f'q{j}'].at(f)}"])

    def _c_fixed(self, s: State) -> list[str]:
        return self._cells(s, lambda idx, f: [
            f"{self._zb(f'pt{s.index} + {f}')} = "
            f"{self.stores[f'q{s.index}'].at(f)}"])

    def _c_sample(self, s: State) -> list[str]:
        return self._cells(s, lambda idx, f: [
            f"{self._zb(f'zo{s.index} + {f}')} = {self.stores[s.slot].at(f)}"])


    # Rules by kind of state (states.KINDS): its output where the rate order reaches it, its
    # derivative, and (discrete kinds) its update after the step.
    OUTPUTS = {"integ": _no_lines, "smooth": _no_lines, "delay": _out_delay,
               "delayn": _out_delayn, "delay_fixed": _no_lines, "trend": _out_trend,
               "forecast": _out_trend, "sample_if_true": _out_sample, "initial": _no_lines}
    DERIVATIVES = {"integ": _d_integ, "trend": _d_trend, "forecast": _d_trend,
                   "delay": _d_delay, "delayn": _d_delay, "smooth": _d_smooth,
                   "delay_fixed": _d_fixed, "sample_if_true": _no_lines, "initial": _no_lines}
    UPDATES = {"delayn": _c_delayn, "delay_fixed": _c_fixed, "sample_if_true": _c_sample}
