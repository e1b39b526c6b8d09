"""Expressions for the compiled backend: one member's value of an IR node, one cell at a time.

The numpy backend evaluates a node for every member at once (arrays of shape
``(E, *sizes)``); here the generated code runs inside a loop over members, so
a node becomes scalar code for one cell of one member. An array's cells are
visited by loops the statement writer opens; ``idx`` holds, per subscript axis,
the code of the cell's index. Shape nodes (Take, Align, Lift) only map
indices; Reduce and VectorCall are computed whole, before the statement that
reads them ("hoisted"), into the work array ``W``.

Numbers never enter the source: literals are ``L[k]``, table points live in
``TB`` and integers that may change with a model's numbers (table lengths,
their offsets) in ``TI``. The source therefore depends only on the model's
structure, and one compilation serves every model that shares it.

Size: one rule per IR node type and per builtin, kept together as numpy's
Emitter keeps them (codegen.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..model import ir

if TYPE_CHECKING:
    from .compiled import CompiledModel

Idx = tuple[str, ...]
Shape = tuple[int, ...]

_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/"}
_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_NUMPY = {"abs": "np.abs", "sqrt": "np.sqrt", "exp": "np.exp", "ln": "np.log", "sin": "np.sin",
          "cos": "np.cos", "tan": "np.tan", "arcsin": "np.arcsin", "arccos": "np.arccos",
          "arctan": "np.arctan", "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh",
          "integer": "np.trunc", "min": "F.fmin", "max": "F.fmax", "quantum": "F.quantum",
          "modulo": "F.modulo", "xidz": "F.xidz", "zidz": "F.zidz", "log": "F.log"}
_TIMED = {"ramp": "F.ramp(t, ", "Xramp": "F.xramp(t, ", "step": "F.step(t, dt, ",
          "pulse": "F.pulse(t, dt, ", "pulse_train": "F.pulse_train(t, dt, ",
          "Xpulse": "F.xpulse(t, dt, ", "Xpulse_train": "F.xpulse_train(t, dt, "}
VECTOR_FUNCS = {"vector_sort_order", "vector_rank", "vector_reorder", "invert_matrix"}
CHAIN_INFIX = 500   # operands of a chain written out; Python's compiler recurses on longer ones
LOOKUP_MODES = {"interpolate": 0, "extrapolate": 1, "hold_backward": 2}
# A model of scalars (its block by cell) interpolates tables of up to so many points with the
# generated interp<n> (interpolation): their points as numbers, no branch, so that a loop
# over members runs on several at once (at most 14: Python calls with more than 30 arguments
# through a tuple, and numba does not inline such a call)
FIXED_POINTS = 14
DATA_MODES = {"interpolate": 0, "raw": 1, "hold_backward": 2, "look_forward": 3}


class Unsupported(Exception):
    """A construct the compiled backend does not compile; the numpy backend runs the model."""


class Store:
    """Where one member's value of a slot lives: a local (``array`` None), or cells of an
    array spelt by ``array`` (``"W[{}]"``, ``"C[e, {}]"``...) from offset ``base``."""

    def __init__(self, array: str | None, base: str, shape: Shape) -> None:
        self.array, self.base, self.shape = array, base, shape

    def at(self, flat: str = "0") -> str:
        if self.array is None:
            return self.base
        return self.array.format(self.base if flat == "0" else f"{self.base} + {flat}")

    @property
    def cells(self) -> int:
        return math.prod(self.shape)


class FlatCells(tuple):
    """The index of the cell one flat loop variable ``var`` visits in an array of ``shape``:
    per axis ``(var // stride) % size``; the cell's position in that array is ``var`` itself."""

    var: str
    shape: Shape

    def __new__(cls, var: str, shape: Shape) -> FlatCells:
        parts, stride = [], math.prod(shape)
        for axis, size in enumerate(shape):
            stride //= size
            code = var if stride == 1 else f"{var} // {stride}"
            parts.append("0" if size == 1 else code if axis == 0 else f"({code}) % {size}")
        cells = super().__new__(cls, parts)
        cells.var, cells.shape = var, tuple(shape)
        return cells


def flat(idx: Idx, shape: Shape) -> str:
    """Row-major position of the cell ``idx`` in an array of ``shape``."""
    if isinstance(idx, FlatCells) and idx.shape == tuple(shape):
        return idx.var
    terms, stride = [], 1
    for ix, size in reversed(list(zip(idx, shape))):
        if ix != "0":
            terms.append(ix if stride == 1 else f"({ix})*{stride}")
        stride *= size
    return " + ".join(reversed(terms)) or "0"


def broadcast(*shapes: Shape) -> Shape:
    ranked = [s for s in shapes if s]
    if not ranked:
        return ()
    if len({len(s) for s in ranked}) != 1:
        raise Unsupported("operands of different ranks")
    return tuple(max(sizes) for sizes in zip(*ranked))


class Expressions:
    """Scalar code for IR nodes (rule table by node type); collects the data the code reads.

    Size: one rule per IR node type, with the shapes they need and the whole-array nodes
    (Reduce, VectorCall) computed before a statement, as ``codegen.Emitter`` keeps numpy's.
    """

    def __init__(self, model: CompiledModel, stores: dict[str, Store]) -> None:
        self.model, self.stores = model, stores
        self.literals: dict[str, int] = {}     # float.hex() -> index in L (keeps -0.0 apart)
        self.tables: list[float] = []        # TB
        self.ints: list[int] = []            # TI
        self.per_run: list[str] = []          # keys of tables given with each run (RT rows)
        self.hoisted: list[str] = []          # lines computed before the current statement
        self.interpolations: set[int] = set()  # points of the tables interp<n> looks up
        self.work = 0                         # cells of W used so far
        self.names = 0
        self.depth = 0                        # loops over cells around the code being written
        self.phase = "rate"                   # "init": ACTIVE INITIAL takes its initial value
        self._shapes: dict[int, Shape] = {}
        self._keep: list[ir.Expr] = []        # nodes whose id() keys _shapes stay alive
        self.rules: dict[type, Callable[[ir.Expr, Idx], str]] = {
            ir.Num: self._num, ir.Ref: self._ref, ir.Op: self._op, ir.Chain: self._chain,
            ir.Call: self._call,
            ir.LookupCall: self._lookup_call, ir.InlineLookup: self._inline_lookup,
            ir.Input: self._input, ir.CellLookup: self._cell_lookup, ir.Data: self._data,
            ir.ArrayLit: self._array_lit, ir.Take: self._take, ir.Align: self._align,
            ir.Lift: self._lift, ir.Reduce: self._hoist, ir.VectorCall: self._hoist,
            ir.Cells: self._cells,
        }

    # --- data and names ---------------------------------------------------------------------

    def literal(self, value: float) -> str:
        index = self.literals.setdefault(float(value).hex(), len(self.literals))
        return f"L[{index}]"

    def int_slot(self, values: list[int]) -> int:
        self.ints.extend(values)
        return len(self.ints) - len(values)

    def table(self, xs: tuple[float, ...], ys: tuple[float, ...], points: int = 0) -> int:
        """TB offsets of xs and ys and the points of a table (of each row of a table array),
        in TI[k], TI[k+1], TI[k+2]; returns k."""
        at = len(self.tables)
        self.tables.extend(xs)
        self.tables.extend(ys)
        return self.int_slot([at, at + len(xs), points or len(xs)])

    def scratch(self, cells: int) -> int:
        self.work += cells
        return self.work - cells

    def fresh(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    # --- shapes (per member: the ensemble axis dropped) -----------------------------------

    def shape(self, e: ir.Expr) -> Shape:
        known = self._shapes.get(id(e))
        if known is None:
            known = self._shapes[id(e)] = self._shape(e)
            self._keep.append(e)
        return known

    def _shape(self, e: ir.Expr) -> Shape:
        if isinstance(e, ir.Ref):
            return () if e.ident == "time" else self.stores[e.ident].shape
        if isinstance(e, (ir.Num, ir.Input)):
            return ()
        if isinstance(e, (ir.ArrayLit, ir.Data)):
            return tuple(e.shape)
        if isinstance(e, ir.Take):
            arg = self.shape(e.arg)
            return tuple(len(i) if isinstance(i, tuple) else size
                         for i, size in zip(e.index, arg) if not isinstance(i, int))
        if isinstance(e, ir.Align):
            arg = self.shape(e.arg)
            kept = iter(arg[k] for k in e.order)
            return tuple(next(kept) if keep else 1 for keep in e.keep)
        if isinstance(e, ir.Lift):
            return (1,) * e.rank
        if isinstance(e, ir.Reduce):
            return tuple(s for k, s in enumerate(self.shape(e.arg)) if k not in e.axes)
        if isinstance(e, ir.CellLookup):
            return broadcast(self.shape(e.arg), tuple(e.table.shape[:-1]))
        if isinstance(e, (ir.LookupCall, ir.InlineLookup)):
            return self.shape(e.arg)
        if isinstance(e, ir.Call) and e.func.startswith("random_"):
            return tuple(e.shape) or broadcast(*(self.shape(a) for a in e.args[1:]))
        if isinstance(e, ir.Cells):
            return (len(e.cells),)
        if isinstance(e, (ir.Op, ir.Chain, ir.Call, ir.VectorCall)):
            return broadcast(*(self.shape(a) for a in e.args))
        raise Unsupported(f"{type(e).__name__} inside an expression")

    # --- values ---------------------------------------------------------------------------

    def value(self, e: ir.Expr, idx: Idx = ()) -> str:
        """Scalar code for the cell ``idx`` of ``e`` (idx may be longer for a broadcast scalar)."""
        shape = self.shape(e)
        if not shape:
            idx = ()
        elif len(idx) != len(shape):
            raise Unsupported("an array read with the wrong number of subscripts")
        elif any(size == 1 and ix != "0" for ix, size in zip(idx, shape)):
            idx = tuple("0" if size == 1 else ix for ix, size in zip(idx, shape))
        rule = self.rules.get(type(e))
        if rule is None:
            raise Unsupported(f"{type(e).__name__} inside an expression")
        if shape or not self.depth or isinstance(e, (ir.Num, ir.Ref)):
            return rule(e, idx)
        # a number inside loops over cells: the same for every cell, so computed before them
        depth, self.depth = self.depth, 0
        code = rule(e, idx)
        self.depth = depth
        name = self.fresh("h")
        self.hoisted.append(f"{name} = {code}")
        return name

    def cond(self, e: ir.Expr, idx: Idx = ()) -> str:
        """Code of a condition (numpy's truth: non-zero, NaN included)."""
        if isinstance(e, ir.Op) and (e.op in _COMPARE or e.op in ("and", "or", "not")):
            return self._boolean(e, self._sub_idx(e, idx))
        return f"({self.value(e, idx)} != 0.0)"

    def _sub_idx(self, e: ir.Expr, idx: Idx) -> Idx:
        shape = self.shape(e)
        return tuple("0" if size == 1 else ix for ix, size in zip(idx, shape)) if shape else ()

    def _num(self, e: ir.Num, idx: Idx) -> str:
        return self.literal(e.value)

    def _ref(self, e: ir.Ref, idx: Idx) -> str:
        if e.ident == "time":
            return "t"
        store = self.stores[e.ident]
        return store.at(flat(idx, store.shape) if store.shape else "0")

    def _op(self, e: ir.Op, idx: Idx) -> str:
        if e.op == "neg":
            return f"(-{self.value(e.args[0], idx)})"
        if e.op in _ARITH:
            left, right = (self.value(a, idx) for a in e.args)
            return f"({left} {_ARITH[e.op]} {right})"
        if e.op == "^":
            return f"F.power({', '.join(self.value(a, idx) for a in e.args)})"
        return f"(1.0 if {self._boolean(e, idx)} else 0.0)"

    def _chain(self, e: ir.Chain, idx: Idx) -> str:
        """``a + b - c ...`` left to right: Python's own order for an unparenthesised chain."""
        if len(e.args) > CHAIN_INFIX:
            raise Unsupported(f"a chain of {len(e.args)} operands (more than {CHAIN_INFIX})")
        args = [self.value(a, idx) for a in e.args]
        return "(" + args[0] + "".join(f" {op} {a}" for op, a in zip(e.ops, args[1:])) + ")"

    def _boolean(self, e: ir.Op, idx: Idx) -> str:
        if e.op == "not":
            return f"(not {self.cond(e.args[0], idx)})"
        if e.op in ("and", "or"):
            left, right = (self.cond(a, idx) for a in e.args)
            return f"({left} {e.op} {right})"
        left, right = (self.value(a, idx) for a in e.args)
        return f"({left} {_COMPARE[e.op]} {right})"

    def _call(self, e: ir.Call, idx: Idx) -> str:
        func = e.func
        if func == "pi":
            return "np.pi"
        if func in ("vmin_xmile", "vmax_xmile"):
            return self.value(e.args[0], idx)
        if func == "if_then_else":
            cond = self.cond(e.args[0], idx)
            return f"({self.value(e.args[1], idx)} if {cond} else {self.value(e.args[2], idx)})"
        if func == "active_initial":
            return self.value(e.args[1 if self.phase == "init" else 0], idx)
        if func.startswith("random_"):
            site = int(e.args[0].value)  # type: ignore[union-attr]  # numbered by the compiler
            args = [self.value(a, idx) for a in e.args[1:]]
            values, seed = (args[:-1], args[-1]) if func != "random_0_1" else ([], "0.0")
            draw = f"F.uniform01(key, {site}, n, {seed})" if not e.shape else \
                f"F.uniform01_cell(key, {site}, n, {seed}, {flat(idx, tuple(e.shape))})"
            return f"F.{func}({', '.join([draw] + values)})"
        args = [self.value(a, idx) for a in e.args]
        if func == "power":
            return f"F.power({args[0]}, {args[1]})"
        if func in _NUMPY:
            return f"{_NUMPY[func]}({', '.join(args)})"
        if func in _TIMED:
            return f"{_TIMED[func]}{', '.join(args)})"
        raise Unsupported(f"the builtin {func}")

    def _lookup_call(self, e: ir.LookupCall, idx: Idx) -> str:
        if e.table in self.model.external_tables:
            return self._per_run(self.model.table_keys[e.table], self.value(e.arg, idx))
        return self._static_lookup(self.model.tables[e.table], e.arg, idx)

    def _inline_lookup(self, e: ir.InlineLookup, idx: Idx) -> str:
        return self._static_lookup(e.table, e.arg, idx)

    def _static_lookup(self, table: ir.Table, arg: ir.Expr, idx: Idx) -> str:
        if not isinstance(table, ir.Table):
            raise Unsupported("a subscripted lookup called without its subscripts")
        at, count = len(self.tables), len(table.xs)
        k = self.table(table.xs, table.ys)
        if LOOKUP_MODES[table.mode] == 0 and 2 <= count <= FIXED_POINTS \
                and getattr(self.stores, "by_cell", False):
            self.interpolations.add(count)
            points = ", ".join(f"TB[{at + j}]" for j in range(2 * count))
            return f"interp{count}({self.value(arg, idx)}, {points})"
        return (f"F.lookup({self.value(arg, idx)}, TB, TI[{k}], TI[{k + 1}], TI[{k + 2}], "
                f"{LOOKUP_MODES[table.mode]})")

    def _per_run(self, key: str, x: str) -> str:
        if key not in self.per_run:
            self.per_run.append(key)
        k = 3 * self.per_run.index(key)
        return f"F.run_row({x}, RT, e, RI[{k}], RI[{k + 1}], RI[{k + 2}])"

    def _input(self, e: ir.Input, idx: Idx) -> str:
        return self._per_run(e.key, "t")

    def _cell_lookup(self, e: ir.CellLookup, idx: Idx) -> str:
        table = e.table
        k = self.table(table.xs, table.ys, table.shape[-1])
        sizes = tuple(table.shape[:-1])
        row = flat(tuple("0" if size == 1 else ix for ix, size in zip(idx, sizes)), sizes)
        start = f"({row})*TI[{k + 2}]"
        return (f"F.table_row({self.value(e.arg, idx)}, TB, TI[{k}] + {start}, "
                f"TI[{k + 1}] + {start}, TI[{k + 2}], {table.mode == 'hold_backward'})")

    def _data(self, e: ir.Data, idx: Idx) -> str:
        k = self.table(e.times, e.values)
        cells = math.prod(e.shape)
        return (f"F.data_value(t, TB, TI[{k}], TI[{k + 1}], TI[{k + 2}], {cells}, "
                f"{flat(idx, tuple(e.shape))}, {DATA_MODES[e.mode]})")

    def _array_lit(self, e: ir.ArrayLit, idx: Idx) -> str:
        at = len(self.tables)
        self.tables.extend(e.values)
        k = self.int_slot([at])
        return f"TB[TI[{k}] + {flat(idx, tuple(e.shape))}]"

    def _take(self, e: ir.Take, idx: Idx) -> str:
        result = iter(idx)
        arg_idx = []
        for index in e.index:
            if isinstance(index, int):
                arg_idx.append(str(index))
            elif index is None:
                arg_idx.append(next(result))
            else:
                k = self.int_slot(list(index))
                arg_idx.append(f"TI[{k} + {next(result)}]" if len(index) > 1 else f"TI[{k}]")
        return self.value(e.arg, tuple(arg_idx))

    def _align(self, e: ir.Align, idx: Idx) -> str:
        kept = [ix for ix, keep in zip(idx, e.keep) if keep]
        arg_idx = ["0"] * len(e.order)
        for position, axis in enumerate(e.order):
            arg_idx[axis] = kept[position]
        return self.value(e.arg, tuple(arg_idx))

    def _cells(self, e: ir.Cells, idx: Idx) -> str:
        """Cells of an array at flat positions, as one axis: each position unravelled."""
        k = self.int_slot(list(e.cells))
        at, stride, arg_idx = f"TI[{k} + {idx[0]}]", math.prod(e.shape), []
        for size in e.shape:
            stride //= size
            arg_idx.append("0" if size == 1 else f"(({at} // {stride}) % {size})")
        return self.value(e.arg, tuple(arg_idx))

    def _lift(self, e: ir.Lift, idx: Idx) -> str:
        return self.value(e.arg, ())

    # --- whole arrays computed before the statement -----------------------------------------

    def _hoist(self, e: ir.Reduce | ir.VectorCall, idx: Idx) -> str:
        shape = self.shape(e)
        lines = self._reduce(e) if isinstance(e, ir.Reduce) else self._vector(e)
        store = lines.pop()
        self.hoisted.extend(lines)
        if not shape:
            return store
        return f"W[{store} + {flat(idx, shape)}]" if flat(idx, shape) != "0" else f"W[{store}]"

    def loops(self, shape: Shape, body: Callable[[Idx, str], list[str]]) -> list[str]:
        """One loop over the cells of ``shape``; ``body(idx, flat)`` gives the lines for one cell
        (what they hoist lands before the loop)."""
        saved, self.hoisted = self.hoisted, []
        if not shape:
            inner = body((), "0")
        else:
            var = self.fresh("i")
            self.depth += 1
            inner = body(FlatCells(var, shape), var)
            self.depth -= 1
        hoisted, self.hoisted = self.hoisted, saved
        if not shape:
            return hoisted + inner
        return hoisted + [f"for {var} in range({math.prod(shape)}):"] + \
            ["    " + line for line in inner]

    def _reduce(self, e: ir.Reduce) -> list[str]:
        arg_shape = self.shape(e.arg)
        kept = [k for k in range(len(arg_shape)) if k not in e.axes]
        reduced = [arg_shape[k] for k in e.axes]
        count = math.prod(reduced)
        gather = self.scratch(count)
        result_shape = tuple(arg_shape[k] for k in kept)
        out = self.scratch(math.prod(result_shape)) if result_shape else None
        target = self.fresh("r")

        def cell(outer: Idx, outer_flat: str) -> list[str]:
            def gathered(inner: Idx, inner_flat: str) -> list[str]:
                arg_idx = [""] * len(arg_shape)
                for k, ix in zip(kept, outer):
                    arg_idx[k] = ix
                for k, ix in zip(e.axes, inner):
                    arg_idx[k] = ix
                return [f"W[{gather} + {inner_flat}] = {self.value(e.arg, tuple(arg_idx))}"]

            lines = self.loops(tuple(reduced), gathered)
            total = f"F.reduce_{e.func}(W, {gather}, {count})"
            if out is None:
                return lines + [f"{target} = {total}"]
            return lines + [f"W[{out} + {outer_flat}] = {total}"]

        lines = self.loops(result_shape, cell)
        return lines + [target if out is None else str(out)]

    def _vector(self, e: ir.VectorCall) -> list[str]:
        if e.func not in VECTOR_FUNCS:
            raise Unsupported(f"the array function {e.func}")
        shape = self.shape(e)
        if e.axis != len(shape) - 1:
            raise Unsupported("a VECTOR function along another axis than the last")
        cells = math.prod(shape)
        lines: list[str] = []
        sources = []
        for arg in e.args:
            at = self.scratch(cells)
            lines += self.loops(shape, lambda idx, f, a=arg, at=at:
                                [f"W[{at} + {f}] = {self.value(a, idx)}"])
            sources.append(at)
        out = self.scratch(cells)
        second = sources[1] if len(sources) > 1 else sources[0]
        n = shape[-1]
        lines.append(f"F.{e.func}(W, {sources[0]}, {second}, {out}, {cells // n}, {n})")
        return lines + [str(out)]


def literal_array(literals: dict[str, int]) -> np.ndarray:
    values = np.empty(len(literals))
    for value, index in literals.items():
        values[index] = float.fromhex(value)
    return values


def interpolation(count: int) -> str:
    """The source of ``interp<count>(x, xs..., ys...)`` (see :func:`interpolation_lines`),
    for the code that runs one member at a time (RK4's, the init pass's)."""
    points = [f"x{k}" for k in range(count)] + [f"y{k}" for k in range(count)]
    return "\n".join([f"@_jit\ndef interp{count}(x, {', '.join(points)}):"] +
                     ["    " + line for line in interpolation_lines(count, "x", points, "value")]
                     + ["    return value"])


def interpolation_lines(count: int, x: str, points: list[str], out: str) -> list[str]:
    """Lines that set ``out`` to numba_kernels.interp of ``x`` (a name) in a table of
    ``count`` points (2 or more; ``points``: its xs then its ys, names or loads), with no
    loop and no branch: every case is computed and one chosen, so that LLVM runs a loop over
    members that has them on several at once. Each case is interp's own operations on the
    same operands, so the result is the same number, bit for bit. Their other names start
    with ``out``, each set once (numba takes long over a name set in many places)."""
    xs, ys, last = points[:count], points[count:], count - 1
    name = f"{out}_".__add__
    lines = [f"{name('j')} = {' + '.join(f'({x} >= {p})' for p in xs)} - 1   # last point <= x",
             f"{name('a')} = {name('j')} if {name('j')} > 0 else 0",
             f"{name('at')} = {name('a')} if {name('a')} < {last} else {last}   # interp's j",
             f"{name('lo')} = {name('at')} if {name('at')} < {last - 1} else {last - 1}"]

    def pick(var: str, values: list[str], index: str, shift: int) -> list[str]:
        """var<k> = values[k] where index is k - shift, else var<k-1>: the last one is it."""
        return [f"{name(f'{var}{shift}')} = {values[shift]}"] + [
            f"{name(f'{var}{k}')} = {values[k]} if {name(index)} == {k - shift} else "
            f"{name(f'{var}{k - 1}')}" for k in range(shift + 1, count)]

    # the interval's first point (xa, ya), its second (xb, yb), the point at interp's j (xj,
    # yj), point by point: a run of comparisons of one index with 0, 1, 2... is a switch to
    # LLVM, which then does not vectorise the loop
    picks = [pick("xa", xs, "lo", 0), pick("ya", ys, "lo", 0), pick("xj", xs, "at", 0),
             pick("yj", ys, "at", 0), [""] + pick("xb", xs, "lo", 1),
             [""] + pick("yb", ys, "lo", 1)]
    lines += [line for k in range(count) for chain in picks if (line := chain[k])]
    xa, ya, xb, yb = (name(f"{p}{last}") for p in ("xa", "ya", "xb", "yb"))
    xj, yj = name(f"xj{last}"), name(f"yj{last}")
    return lines + [
        f"{name('slope')} = ({yb} - {ya}) / ({xb} - {xa})",
        f"{name('v1')} = {name('slope')} * ({x} - {xa}) + {ya}",
        f"{name('again')} = {name('slope')} * ({x} - {xb}) + {yb}",
        f"{name('fall')} = {ya} if ({name('again')} != {name('again')}) & ({ya} == {yb}) "
        f"else {name('again')}",
        f"{name('v2')} = {name('v1')} if {name('v1')} == {name('v1')} else {name('fall')}",
        f"{name('v3')} = {yj} if ({name('j')} == {last}) | ({xj} == {x}) else {name('v2')}",
        f"{name('v4')} = {ys[0]} if {x} < {xs[0]} else {name('v3')}",
        f"{name('v5')} = {ys[last]} if {x} > {xs[last]} else {name('v4')}",
        f"{out} = {x} if {x} != {x} else {name('v5')}"]
