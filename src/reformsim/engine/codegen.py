"""Generated numpy source for the initialisation pass and the rate pass.

Values are named by slot only: ``v<i>`` for element i, ``s<j>`` for the
output of state j, ``a<j>_<k>`` for argument k of state j, ``L<n>`` for
number literals (bound in the namespace, never spelt in the source). No
text from the model file is ever written into the source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..model import ir
from . import builtins as functions

if TYPE_CHECKING:
    from .compiled import CompiledModel

CHAIN_INFIX = 100   # operands of a chain written infix; longer chains call F.chain
_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**"}
_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LOGIC = {"and": "np.logical_and", "or": "np.logical_or"}
_NUMPY = {"abs": "np.abs", "sqrt": "np.sqrt", "exp": "np.exp", "ln": "np.log", "sin": "np.sin",
          "cos": "np.cos", "tan": "np.tan", "arcsin": "np.arcsin", "arccos": "np.arccos",
          "arctan": "np.arctan", "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh",
          "power": "np.power", "min": "np.minimum", "max": "np.maximum"}
_LIBRARY = {"integer", "quantum", "modulo", "xidz", "zidz", "log", "Xramp", "ramp"}
_CLOCKED = {"step": "step", "pulse": "pulse", "pulse_train": "pulse_train",
            "Xpulse": "xpulse", "Xpulse_train": "xpulse_train"}


def _as_float(x: Any) -> Any:
    return np.asarray(x, dtype=np.float64)


def namespace() -> dict[str, Any]:
    """Globals every generated function runs with."""
    return {"np": np, "F": functions, "_f": _as_float, "__builtins__": {}}


class Emitter:
    """Writes the source of one model's passes; collects the literals it uses."""

    def __init__(self, model: CompiledModel, phase: str = "init") -> None:
        self.model, self.phase = model, phase
        self.literals: list[float] = []
        self.tables: list[tuple[np.ndarray, np.ndarray, str]] = []
        self.arrays: list[Any] = []     # constant arrays and index arrays, bound as A<i>
        self.used: set[str] = set()

    def bind(self, names: dict[str, Any]) -> None:
        """Add this emitter's literals, tables and constant arrays to a namespace."""
        names.update({f"L{i}": np.float64(v) for i, v in enumerate(self.literals)})
        for i, (xs, ys, mode) in enumerate(self.tables):
            names[f"TX{i}"], names[f"TY{i}"], names[f"TM{i}"] = xs, ys, mode
        names.update({f"A{i}": a for i, a in enumerate(self.arrays)})

    def _array(self, value: Any) -> str:
        self.arrays.append(value)
        return f"A{len(self.arrays) - 1}"

    # --- expressions -------------------------------------------------------------------------

    def expr(self, e: ir.Expr, want_bool: bool = False) -> str:
        """Python source computing ``e`` (a boolean array when ``want_bool`` and ``e`` is a
        test)."""
        rule = self.RULES.get(type(e))
        if rule is None:  # Statefuls are lifted and references resolved before code generation
            raise TypeError(f"cannot emit {type(e).__name__}")
        return rule(self, e, want_bool)

    def _num(self, e: ir.Num, want_bool: bool) -> str:
        return self.literal(e.value)

    def _ref(self, e: ir.Ref, want_bool: bool) -> str:
        if e.ident == "time":
            return "t"
        self.used.add(e.ident)
        return e.ident   # a slot: the compiler resolved every reference

    def _lookup_call(self, e: ir.LookupCall, want_bool: bool) -> str:
        if e.table in self.model.external_tables:
            key = self.model.table_keys[e.table]
            self.used.update((f"{key}x", f"{key}y"))
            return f"F.interpolate_rows({self.expr(e.arg)}, {key}x, {key}y)"
        return self._lookup(self.model.tables[e.table], e.arg)

    def _input(self, e: ir.Input, want_bool: bool) -> str:
        self.used.update((f"{e.key}t", f"{e.key}v"))
        return f"F.interpolate_rows(t, {e.key}t, {e.key}v)"

    def _inline_lookup(self, e: ir.InlineLookup, want_bool: bool) -> str:
        return self._lookup(e.table, e.arg)

    def _cell_lookup(self, e: ir.CellLookup, want_bool: bool) -> str:
        xs, ys = (self._constant(a, e.table.shape) for a in (e.table.xs, e.table.ys))
        return f"F.lookup_cells({self.expr(e.arg)}, {xs}, {ys}, {e.table.mode!r})"

    def _data(self, e: ir.Data, want_bool: bool) -> str:
        times = self._constant(e.times, (len(e.times),))
        values = self._constant(e.values, (len(e.times),) + e.shape)
        return f"F.data_series(t, {times}, {values}, {e.mode!r})"

    def _array_literal(self, e: ir.ArrayLit, want_bool: bool) -> str:
        return self._constant(e.values, (1,) + e.shape)

    def _align(self, e: ir.Align, want_bool: bool) -> str:
        code = self.expr(e.arg)
        if e.order != tuple(range(len(e.order))):
            code = f"np.transpose({code}, {(0,) + tuple(k + 1 for k in e.order)})"
        if not all(e.keep):
            code += "[:, " + ", ".join(":" if k else "None" for k in e.keep) + "]"
        return code

    def _lift(self, e: ir.Lift, want_bool: bool) -> str:
        return f"F.lift({self.expr(e.arg)}, {e.rank})"

    def _reduce(self, e: ir.Reduce, want_bool: bool) -> str:
        return f"F.reduce_{e.func}({self.expr(e.arg)}, {tuple(k + 1 for k in e.axes)})"

    def _vector_call(self, e: ir.VectorCall, want_bool: bool) -> str:
        args = ", ".join(self.expr(a) for a in e.args)
        return f"F.{e.func}({args}, axis={e.axis + 1})"

    def _constant(self, values: tuple[float, ...], shape: tuple[int, ...]) -> str:
        array = np.array(values, dtype=np.float64).reshape(shape)
        array.flags.writeable = False
        return self._array(array)

    def _take(self, e: ir.Take, want_bool: bool = False) -> str:
        # basic indexing first (elements drop their axes), then one np.take per subrange axis
        code = self.expr(e.arg)
        if any(isinstance(i, int) for i in e.index):
            code += "[:, " + ", ".join(str(i) if isinstance(i, int) else ":"
                                       for i in e.index) + "]"
        axis = 1
        for i in e.index:
            if isinstance(i, tuple):
                code = f"np.take({code}, {self._array(np.array(i, dtype=np.intp))}, axis={axis})"
            if not isinstance(i, int):
                axis += 1
        return code

    def _cells(self, e: ir.Cells, want_bool: bool = False) -> str:
        cells = self._array(np.array(e.cells, dtype=np.intp))
        return f"F.cells({self.expr(e.arg)}, {e.shape}, {cells})"

    def _assemble(self, e: ir.Assemble, want_bool: bool = False) -> str:
        size = int(np.prod(e.shape))
        if len(e.parts) == 1 and e.parts[0].picks is None and \
                e.parts[0].cells == tuple(range(size)):
            return f"F.full({self.expr(e.parts[0].expr)}, {e.shape})"
        values = ", ".join(self.expr(p.expr) for p in e.parts)
        layout = self._array(tuple((p.shape, np.array(p.cells, dtype=np.intp),
                                    None if p.picks is None else np.array(p.picks, dtype=np.intp))
                                   for p in e.parts))
        return f"F.assemble({e.shape}, ({values},), {layout})"

    def literal(self, value: float) -> str:
        self.literals.append(float(value))
        return f"L{len(self.literals) - 1}"

    def _op(self, e: ir.Op, want_bool: bool) -> str:
        if e.op == "neg":
            return f"(-{self.expr(e.args[0])})"
        if e.op in _ARITH:
            left, right = (self.expr(a) for a in e.args)
            return f"({left} {_ARITH[e.op]} {right})"
        if e.op == "not":
            code = f"np.logical_not({self.expr(e.args[0], True)})"
        elif e.op in _LOGIC:
            left, right = (self.expr(a, True) for a in e.args)
            code = f"{_LOGIC[e.op]}({left}, {right})"
        else:
            left, right = (self.expr(a) for a in e.args)
            code = f"({left} {_COMPARE[e.op]} {right})"
        return code if want_bool else f"_f({code})"

    def _chain(self, e: ir.Chain, want_bool: bool) -> str:
        """Left to right, as the nested binary operations would be: ``(a + b - c ...)``.

        Beyond :data:`CHAIN_INFIX` operands Python's compiler would recurse too
        deep on the flat expression, so the chain is folded by ``F.chain``.
        """
        args = [self.expr(a) for a in e.args]
        if len(args) <= CHAIN_INFIX:
            return "(" + args[0] + "".join(f" {_ARITH[op]} {a}" for op, a in
                                           zip(e.ops, args[1:])) + ")"
        return f"F.chain({''.join(e.ops)!r}, {', '.join(args)})"

    def _call(self, e: ir.Call, want_bool: bool = False) -> str:
        rule = self.CALLS.get(e.func) or self._family(e.func)
        if rule is None:
            raise TypeError(f"no rule for builtin {e.func}")  # the translator checked the names
        return rule(self, e)

    @staticmethod
    def _family(func: str) -> Callable[[Emitter, ir.Call], str] | None:
        if func in _NUMPY:
            return Emitter._numpy_call
        if func in _LIBRARY:
            return Emitter._library_call
        if func in _CLOCKED:
            return Emitter._clocked_call
        if func.startswith("random_"):
            return Emitter._random_call
        return None

    def _args(self, e: ir.Call) -> str:
        return ", ".join(self.expr(a) for a in e.args)

    def _numpy_call(self, e: ir.Call) -> str:
        return f"{_NUMPY[e.func]}({self._args(e)})"

    def _library_call(self, e: ir.Call) -> str:
        name = {"Xramp": "xramp"}.get(e.func, e.func)
        extra = "t, " if e.func in ("ramp", "Xramp") else ""
        return f"F.{name}({extra}{self._args(e)})"

    def _clocked_call(self, e: ir.Call) -> str:
        return f"F.{_CLOCKED[e.func]}(t, dt, {self._args(e)})"

    def _random_call(self, e: ir.Call) -> str:
        site = int(e.args[0].value)  # type: ignore[union-attr]  # numbered by the compiler
        args = [self.expr(a) for a in e.args]
        values, seed = ((args[1:-1], args[-1]) if e.func != "random_0_1"
                        else ([], self.literal(0.0)))
        cells = f", {e.shape}" if e.shape else ""   # an array: a stream per cell
        draw = f"F.uniform01(K, {site}, n, {seed}{cells})"
        return f"F.{e.func}({', '.join([draw] + values)})"

    def _if_then_else(self, e: ir.Call) -> str:
        cond = self.expr(e.args[0], True)
        return f"np.where({cond}, {self.expr(e.args[1])}, {self.expr(e.args[2])})"

    def _active_initial(self, e: ir.Call) -> str:
        return self.expr(e.args[1] if self.phase == "init" else e.args[0])

    CALLS: dict[str, Callable[[Emitter, ir.Call], str]] = {
        "pi": lambda self, e: "np.pi",
        "vmin_xmile": lambda self, e: self.expr(e.args[0]),  # of a scalar: the scalar itself
        "vmax_xmile": lambda self, e: self.expr(e.args[0]),
        "if_then_else": _if_then_else,
        "active_initial": _active_initial,
    }

    def _lookup(self, table: ir.Table, arg: ir.Expr) -> str:
        self.tables.append((np.asarray(table.xs), np.asarray(table.ys), table.mode))
        i = len(self.tables) - 1
        return f"F.lookup({self.expr(arg)}, TX{i}, TY{i}, TM{i})"

    RULES: dict[type, Callable[[Emitter, Any, bool], str]] = {
        ir.Num: _num, ir.Ref: _ref, ir.Op: _op, ir.Chain: _chain, ir.Call: _call,
        ir.LookupCall: _lookup_call, ir.Input: _input, ir.InlineLookup: _inline_lookup,
        ir.CellLookup: _cell_lookup, ir.Data: _data, ir.ArrayLit: _array_literal,
        ir.Take: _take, ir.Align: _align, ir.Lift: _lift, ir.Reduce: _reduce,
        ir.VectorCall: _vector_call, ir.Assemble: _assemble, ir.Cells: _cells,
    }
