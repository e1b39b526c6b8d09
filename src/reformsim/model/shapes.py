"""The shape pass: subscripted equations -> explicit array operations, decided at compile time.

Every value of an array has shape ``(E, *sizes)``: the ensemble axis first
(length 1 when all members share the value), then one axis per subscript
range of the array, in the array's order. This pass walks each equation with
the ranges its left side names (the *piece's* ranges) and rewrites it so that
code generation never has to think about subscripts:

- a reference ``x[a, b1, sub]`` becomes a :class:`ir.Take` of the cells it names
  (an element drops its axis; a subrange picks positions), after which its
  axes are named by the ranges written in the reference, or by the range of
  the left side they map to (``DimC -> DimB``, positionally);
- operands are aligned by range name (:class:`ir.Align`: transposition and
  up-dimensioning), scalars lifted (:class:`ir.Lift`);
- ``SUM(x[a!])`` and friends reduce the axes marked ``!``;
- each piece is conformed to its left side, and the pieces of an array are put
  together by flat cell positions (:class:`ir.Assemble`), ``:EXCEPT:`` included.

The rules are PySD's (``ReferenceBuilder``, ``visit_loc``, ``make_merge_list``),
so reformsim and PySD agree on what an equation means.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import ModelError, UnsupportedError
from . import arraycalls, ir
from .subscripts import Dims, RangeSpace, element_coords

REDUCERS = {"sum", "prod", "vmin", "vmax"}
VECTOR = {"vector_sort_order", "vector_rank", "vector_reorder", "invert_matrix"}


def shape_model(model: ir.ModelIR) -> ir.ModelIR:
    """The model with every equation's subscripts resolved (scalar models are returned as they
    are)."""
    if model.shaped:
        return model
    if not model.subscripts.ranges and not any(e.dims for e in model.elements):
        return replace(model, shaped=True)
    shaper = _Shaper(model)
    return replace(model, elements=tuple(shaper.element(e) for e in model.elements), shaped=True)


def cell_names(model: ir.ModelIR, element: ir.Element) -> list[str]:
    """``name[a1,b1]``... for each cell of an array, row-major, as Vensim writes them."""
    return cell_names_of(element.name, element_coords(model, element))


def cell_names_of(name: str, dims: Dims) -> list[str]:
    return [f"{name}[{','.join(cell)}]" for cell in itertools.product(*(c for _, c in dims))]


class _Shaper:
    """Rewrites each element's equation over its ranges; one rule per kind of expression."""

    def __init__(self, model: ir.ModelIR) -> None:
        self.space = RangeSpace(model)
        self.elements = self.space.elements
        self.tables: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}

    @property
    def owner(self) -> str:
        return self.space.owner

    @owner.setter
    def owner(self, name: str) -> None:
        self.space.owner = name

    def _error(self, problem: str, hint: str = "") -> ModelError:
        return self.space.error(problem, hint)

    def _unsupported(self, construct: str) -> UnsupportedError:
        return self.space.unsupported(construct)

    def element(self, element: ir.Element) -> ir.Element:
        self.owner = element.name
        if element.kind == "lookup":
            return element   # subscripted lookups are resolved where they are called
        if not isinstance(element.expr, ir.Pieces):
            expr, dims = self.expr(element.expr, [])  # type: ignore[arg-type]
            if dims:
                raise self._error("is a scalar but its equation gives an array over "
                                  + ", ".join(d for d, _ in dims),
                                  hint="add the subscripts to its name, or SUM over them")
            return replace(element, expr=expr)
        full = self.space.dims[element.ident]
        shape = tuple(len(c) for _, c in full)
        parts = []
        taken: set[int] = set()
        for piece in element.expr.pieces:
            target = self.space.coord_dict(piece.subs)
            value = self.piece_value(piece.expr, target)  # type: ignore[arg-type]
            cells, picks = self.space._placement(full, target, piece.excepts)
            if taken & set(cells):
                raise self._error("defines some of its cells twice",
                                  hint="check the subscripts (and :EXCEPT:) of its equations")
            taken |= set(cells)
            parts.append(ir.Part(value, tuple(len(c) for _, c in target), cells, picks))
        covered = [set().union(*(self.space.coord_dict(p.subs)[k][1] for p in element.expr.pieces))
                   for k in range(len(full))]
        partial = any(c != set(coords) for c, (_, coords) in zip(covered, full))
        # A range only partly defined (x[dim, female] with dim2: female, male) leaves the other
        # cells NaN, as in PySD; cells left out of fully named ranges are a mistake.
        if len(taken) != int(np.prod(shape)) and not partial:
            missing = int(np.prod(shape)) - len(taken)
            raise self._error(f"leaves {missing} of its cells undefined",
                              hint="give every subscript combination an equation")
        return replace(element, expr=ir.Assemble(shape, tuple(parts)))

    def piece_value(self, expr: ir.Expr, target: Dims) -> ir.Expr:
        """One equation's value conformed to its left side's ranges."""
        if isinstance(expr, ir.ArrayLit):
            sizes = tuple(len(c) for _, c in target)
            if int(np.prod(sizes)) != len(expr.values):
                raise self._error(f"gives {len(expr.values)} numbers for "
                                  f"{int(np.prod(sizes))} cells",
                                  hint="one number per cell of " + " x ".join(
                                      f"{n} ({len(c)})" for n, c in target))
            return ir.ArrayLit(expr.values, sizes)
        value, dims = self.expr(expr, target)
        return self.space.conform(value, dims, target)

    def expr(self, e: ir.Expr, target: Dims) -> tuple[ir.Expr, Dims]:
        """The rewritten expression and the ranges its value spans."""
        rule = self.RULES.get(type(e))
        if rule is None:
            raise TypeError(f"shape pass: no rule for {type(e).__name__}")
        return rule(self, e, target)

    def _leaf(self, e: ir.Num | ir.Input, target: Dims) -> tuple[ir.Expr, Dims]:
        return e, []

    def _data(self, e: ir.Data, target: Dims) -> tuple[ir.Expr, Dims]:
        return e, list(target) if e.shape else []  # read from a file for its left side's cells

    def _subscript_value(self, e: ir.SubscriptValue, target: Dims) -> tuple[ir.Expr, Dims]:
        name, values = self.space.positions[e.name]
        if not name:
            return ir.Num(float(values)), []
        return (ir.ArrayLit(tuple(values.tolist()), (len(values),)),
                [(name, self.space.ranges[name])])

    def _array_literal(self, e: ir.ArrayLit, target: Dims) -> tuple[ir.Expr, Dims]:
        raise self._error("uses a table of numbers inside an expression",
                          hint="give the numbers their own constant")

    def _elementwise(self, e: ir.Op | ir.Chain, target: Dims) -> tuple[ir.Expr, Dims]:
        return self.combine(e, list(e.args), target)

    def _inline_lookup(self, e: ir.InlineLookup, target: Dims) -> tuple[ir.Expr, Dims]:
        arg, dims = self.expr(e.arg, target)
        return replace(e, arg=arg), dims

    def _stateful(self, e: ir.Stateful, target: Dims) -> tuple[ir.Expr, Dims]:
        args = tuple(self.space.conform(*self.expr(a, target), target) for a in e.args)
        return replace(e, args=args, shape=tuple(len(c) for _, c in target)), list(target)

    def reference(self, e: ir.Ref, target: Dims) -> tuple[ir.Expr, Dims]:
        if e.ident == "time" or e.ident not in self.space.dims:
            if e.subs:
                raise self._error(f"gives subscripts to {e.ident!r}, which has none")
            return e, []
        index, dims = self.space._selection(e.ident, e.subs, target)
        if index is None:
            return e, []
        plain = ir.Ref(e.ident)
        if all(i is None for i in index):
            return plain, dims
        return ir.Take(plain, tuple(index)), dims

    def combine(self, e: ir.Op | ir.Chain | ir.Call, args: list[ir.Expr],
                target: Dims) -> tuple[ir.Expr, Dims]:
        """Element-wise operation: operands aligned on the union of their ranges."""
        shaped = [self.expr(a, target) for a in args]
        final = self.space.union(*(dims for _, dims in shaped))
        new_args = tuple(self.space.align(x, dims, final) for x, dims in shaped)
        return replace(e, args=new_args), final  # type: ignore[arg-type]

    def call(self, e: ir.Call, target: Dims) -> tuple[ir.Expr, Dims]:
        if e.func in ("vmin_xmile", "vmax_xmile"):  # XMILE's one-argument MIN/MAX of an array
            arg, dims = self.expr(e.args[0], target)
            if not dims:
                return replace(e, args=(arg,)), []
            return ir.Reduce(e.func[:4], arg, tuple(range(len(dims)))), []
        if e.func in REDUCERS:
            arg, dims = self.expr(e.args[0], target)
            axes = tuple(i for i, (n, _) in enumerate(dims) if n.endswith("!"))
            if not axes:  # PySD reduces every axis when none is marked
                axes = tuple(range(len(dims)))
            if not dims:
                return arg, []
            return (ir.Reduce(e.func, arg, axes),
                    [d for i, d in enumerate(dims) if i not in axes])
        if e.func == "elmcount":
            arg = e.args[0]
            if not isinstance(arg, ir.SubscriptValue) or arg.name not in self.space.ranges:
                raise self._error("ELMCOUNT needs a subscript range")
            return ir.Num(float(len(self.space.ranges[arg.name]))), []
        if e.func in arraycalls.RULES:
            return arraycalls.RULES[e.func](self, e, target)
        if e.func in VECTOR:
            return self.vector(e, target)
        if e.func.startswith("random_") and target:   # a draw of its own in every cell
            args = tuple(self.space.conform(*self.expr(a, target), target) for a in e.args)
            return replace(e, args=args, shape=tuple(len(c) for _, c in target)), list(target)
        return self.combine(e, list(e.args), target)

    def vector(self, e: ir.Call, target: Dims) -> tuple[ir.Expr, Dims]:
        """VECTOR SORT ORDER/RANK/REORDER and INVERT MATRIX act along the left side's last range."""
        if not target:
            raise self._unsupported(e.func.upper().replace("_", " ") + " in a scalar equation")
        args = e.args[:1] if e.func == "invert_matrix" else e.args  # the size is implied
        shaped = tuple(self.space.conform(*self.expr(a, target), target) for a in args)
        return ir.VectorCall(e.func, shaped, len(target) - 1, len(target)), list(target)

    def lookup_call(self, e: ir.LookupCall, target: Dims) -> tuple[ir.Expr, Dims]:
        arg, dims = self.expr(e.arg, target)
        index, table_dims = self.space._selection(e.table, e.subs, target)
        if index is None:
            return replace(e, arg=arg), dims
        # A subscripted lookup: which table each cell uses is decided here, once.
        xs, ys, mode = self.cell_tables(e.table)
        axis = 0
        for i in index:   # the cells the call names; an element drops its axis
            if i is not None:
                xs, ys = (np.take(a, i if isinstance(i, int) else list(i), axis=axis)
                          for a in (xs, ys))
            axis += not isinstance(i, int)
        final = self.space.union(table_dims, dims)
        names = [n for n, _ in table_dims]
        order = [names.index(n) for n, _ in final if n in names] + [len(names)]
        shape = [len(c) if n in names else 1 for n, c in final] + [xs.shape[-1]]
        xs, ys = (np.transpose(a, order).reshape(shape) for a in (xs, ys))
        table = ir.TableArray(tuple(xs.reshape(-1).tolist()), tuple(ys.reshape(-1).tolist()),
                              tuple(shape), mode)
        return ir.CellLookup(self.space.align(arg, dims, final), table), final

    def cell_tables(self, ident: str) -> tuple[np.ndarray, np.ndarray, str]:
        """A subscripted lookup's tables stacked: xs and ys of shape (*sizes, points)."""
        if ident in self.tables:
            return self.tables[ident]
        owner, self.owner = self.owner, self.elements[ident].name
        full = self.space.dims[ident]
        size = int(np.prod([len(c) for _, c in full]))
        parts, modes = [], set()
        for piece in self.elements[ident].expr.pieces:  # type: ignore[union-attr]
            target = self.space.coord_dict(piece.subs)
            cells, picks = self.space._placement(full, target, piece.excepts)
            table = piece.expr
            count = int(np.prod([len(c) for _, c in target]))
            xs, ys = (np.array(a, dtype=float).reshape(count if isinstance(table, ir.TableArray)
                                                       else 1, -1)
                      for a in (table.xs, table.ys))  # type: ignore[union-attr]
            xs, ys = (np.broadcast_to(a, (count, a.shape[1])) for a in (xs, ys))
            if picks is not None:
                xs, ys = xs[list(picks)], ys[list(picks)]
            parts.append((cells, xs, ys))
            modes.add(table.mode)  # type: ignore[union-attr]
        if len(modes) != 1 or "extrapolate" in modes:
            raise self._unsupported("a subscripted lookup mixing interpolation modes"
                                    if len(modes) != 1 else "a subscripted extrapolating lookup")
        points = max(xs.shape[1] for _, xs, _ in parts)
        stacked_x, stacked_y = np.empty((size, points)), np.empty((size, points))
        for cells, xs, ys in parts:   # shorter tables repeat their last point
            pad = ((0, 0), (0, points - xs.shape[1]))
            stacked_x[list(cells)] = np.pad(xs, pad, mode="edge")
            stacked_y[list(cells)] = np.pad(ys, pad, mode="edge")
        shape = tuple(len(c) for _, c in full) + (points,)
        self.owner = owner
        self.tables[ident] = (stacked_x.reshape(shape), stacked_y.reshape(shape), modes.pop())
        return self.tables[ident]

    RULES: dict[type, Callable[[_Shaper, Any, Dims], tuple[ir.Expr, Dims]]] = {
        ir.Num: _leaf, ir.Input: _leaf, ir.Data: _data, ir.Ref: reference,
        ir.SubscriptValue: _subscript_value, ir.ArrayLit: _array_literal,
        ir.Op: _elementwise, ir.Chain: _elementwise, ir.Call: call,
        ir.LookupCall: lookup_call, ir.InlineLookup: _inline_lookup, ir.Stateful: _stateful,
    }
