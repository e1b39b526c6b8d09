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
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import ModelError, UnsupportedError
from . import ir

Dims = list[tuple[str, tuple[str, ...]]]   # (range name, its elements), in axis order
REDUCERS = {"sum", "prod", "vmin", "vmax"}
VECTOR = {"vector_select", "vector_sort_order", "vector_rank", "vector_reorder",
          "invert_matrix"}


def shape_model(model: ir.ModelIR) -> ir.ModelIR:
    """The model with every equation's subscripts resolved (scalar models are returned as they are)."""
    if model.shaped:
        return model
    if not model.subscripts.ranges and not any(e.dims for e in model.elements):
        return replace(model, shaped=True)
    shaper = _Shaper(model)
    return replace(model, elements=tuple(shaper.element(e) for e in model.elements), shaped=True)


def element_coords(model: ir.ModelIR, element: ir.Element) -> Dims:
    """An element's ranges with their elements (empty for a scalar)."""
    return [(d, model.subscripts.ranges[d]) for d in element.dims]


def cell_names(model: ir.ModelIR, element: ir.Element) -> list[str]:
    """``name[a1,b1]``... for each cell of an array, row-major, as Vensim writes them."""
    return cell_names_of(element.name, element_coords(model, element))


def cell_names_of(name: str, dims: Dims) -> list[str]:
    return [f"{name}[{','.join(cell)}]" for cell in itertools.product(*(c for _, c in dims))]


class _Shaper:
    def __init__(self, model: ir.ModelIR) -> None:
        self.source: Path = model.source
        self.subs = model.subscripts
        self.ranges = model.subscripts.ranges
        self.dims = {e.ident: element_coords(model, e) for e in model.elements}
        self.elements = {e.ident: e for e in model.elements}
        self.all_elements = [x for xs in self.ranges.values() for x in xs]
        self.positions = self._subscript_positions()
        self.owner = ""
        self.tables: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}

    # --- errors ----------------------------------------------------------------------------

    def _error(self, problem: str, hint: str = "") -> ModelError:
        return ModelError(self.source, self.owner, problem, hint=hint)

    def _unsupported(self, construct: str) -> UnsupportedError:
        return UnsupportedError(self.source, self.owner,
                                f"uses {construct}, which reformsim does not simulate yet",
                                "see docs/supported.md for what reformsim simulates")

    # --- elements --------------------------------------------------------------------------

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
        full = self.dims[element.ident]
        shape = tuple(len(c) for _, c in full)
        parts = []
        taken: set[int] = set()
        for piece in element.expr.pieces:
            target = self.coord_dict(piece.subs)
            value = self.piece_value(piece.expr, target)  # type: ignore[arg-type]
            cells, picks = self._placement(full, target, piece.excepts)
            if taken & set(cells):
                raise self._error("defines some of its cells twice",
                                  hint="check the subscripts (and :EXCEPT:) of its equations")
            taken |= set(cells)
            parts.append(ir.Part(value, tuple(len(c) for _, c in target), cells, picks))
        covered = [set().union(*(self.coord_dict(p.subs)[k][1] for p in element.expr.pieces))
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
        return self.conform(value, dims, target)

    def _placement(self, full: Dims, target: Dims,
                   excepts: tuple[tuple[str, ...], ...]) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        axes = []
        for (name, coords), (full_name, full_coords) in zip(target, full):
            missing = [c for c in coords if c not in full_coords]
            if missing:
                raise self._error(f"the subscript {missing[0]!r} is not an element of "
                                  f"{full_name!r}")
            axes.append([full_coords.index(c) for c in coords])
        sizes = [len(c) for _, c in full]
        cells = [int(np.ravel_multi_index(cell, sizes)) for cell in itertools.product(*axes)]
        if not excepts:
            return tuple(cells), None
        left_out: set[tuple[str, ...]] = set()
        for block in excepts:
            coords = self.coord_dict(list(block))
            left_out |= set(itertools.product(*(c for _, c in coords)))
        kept = [k for k, cell in enumerate(itertools.product(*(c for _, c in target)))
                if cell not in left_out]
        return tuple(cells[k] for k in kept), tuple(kept)

    # --- ranges ----------------------------------------------------------------------------

    def coord_dict(self, subs: list[str] | tuple[str, ...]) -> Dims:
        """PySD's make_coord_dict: an element names the first range holding it not yet used."""
        coords: Dims = []
        for sub in subs:
            if sub in self.all_elements:
                used = set(subs) | {n for n, _ in coords}
                name = next((r for r, xs in self.ranges.items() if sub in xs and r not in used),
                            None)
                if name is None:
                    raise self._unsupported(f"the element {sub!r} twice in one reference")
                coords.append((name, (sub,)))
            elif sub.endswith("!") and sub[:-1] in self.ranges:
                coords.append((sub, self.ranges[sub[:-1]]))
            elif sub in self.ranges:
                coords.append((sub, self.ranges[sub]))
            else:
                raise self._error(f"uses the subscript {sub!r}, which no range defines")
        return coords

    def _subscript_positions(self) -> dict[str, tuple[str, np.ndarray]]:
        """PySD's subscript2num: a range's or element's 1-based positions in its main range."""
        out: dict[str, tuple[str, np.ndarray]] = {}
        for name, family in self.subs.families.items():
            if family != name:
                continue
            main = self.ranges[name]
            for i, x in enumerate(main, start=1):
                out[x] = ("", np.array(float(i)))
        for name, family in self.subs.families.items():
            main = self.ranges[family]
            out[name] = (name, np.array([main.index(x) + 1.0 for x in self.ranges[name]]))
        return out

    # --- expressions -----------------------------------------------------------------------

    def expr(self, e: ir.Expr, target: Dims) -> tuple[ir.Expr, Dims]:
        """The rewritten expression and the ranges its value spans."""
        if isinstance(e, (ir.Num, ir.Input)):
            return e, []
        if isinstance(e, ir.Data):  # read from a file for the cells of its left side
            return e, list(target) if e.shape else []
        if isinstance(e, ir.Ref):
            return self.reference(e, target)
        if isinstance(e, ir.SubscriptValue):
            name, values = self.positions[e.name]
            if not name:
                return ir.Num(float(values)), []
            return ir.ArrayLit(tuple(values.tolist()), (len(values),)), [(name, self.ranges[name])]
        if isinstance(e, ir.ArrayLit):
            raise self._error("uses a table of numbers inside an expression",
                              hint="give the numbers their own constant")
        if isinstance(e, ir.Op):
            return self.combine(e, list(e.args), target)
        if isinstance(e, ir.Call):
            return self.call(e, target)
        if isinstance(e, ir.LookupCall):
            return self.lookup_call(e, target)
        if isinstance(e, ir.InlineLookup):
            arg, dims = self.expr(e.arg, target)
            return replace(e, arg=arg), dims
        if isinstance(e, ir.Stateful):
            args = tuple(self.conform(*self.expr(a, target), target) for a in e.args)
            return replace(e, args=args, shape=tuple(len(c) for _, c in target)), list(target)
        raise TypeError(f"shape pass: no rule for {type(e).__name__}")

    def reference(self, e: ir.Ref, target: Dims) -> tuple[ir.Expr, Dims]:
        if e.ident == "time" or e.ident not in self.dims:
            if e.subs:
                raise self._error(f"gives subscripts to {e.ident!r}, which has none")
            return e, []
        index, dims = self._selection(e.ident, e.subs, target)
        if index is None:
            return e, []
        plain = ir.Ref(e.ident)
        if all(i is None for i in index):
            return plain, dims
        return ir.Take(plain, tuple(index)), dims

    def _selection(self, ident: str, subs: tuple[str, ...],
                   target: Dims) -> tuple[list[int | tuple[int, ...] | None] | None, Dims]:
        """The cells a reference names (per axis: an index, positions or all) and their ranges.

        The index is None for an element that has no subscripts.
        """
        original, name = self.dims[ident], self.elements[ident].name
        if not original:
            if subs:
                raise self._error(f"gives subscripts to {name!r}, which has none")
            return None, []
        named = list(subs) or [n for n, _ in original]
        if len(named) != len(original):
            raise self._error(f"refers to {name!r} with {len(named)} subscripts; it has "
                              f"{len(original)}")
        index, dims = self._select(self.coord_dict(named), original, ident)
        return index, self._map(dims, target)

    def _select(self, coords: Dims, original: Dims,
                ident: str) -> tuple[list[int | tuple[int, ...] | None], Dims]:
        index: list[int | tuple[int, ...] | None] = []
        dims: Dims = []
        for (name, cs), (_, own) in zip(coords, original):
            if len(cs) == 1:
                if cs[0] not in own:
                    if len(own) != 1:
                        raise self._error(f"refers to {self.elements[ident].name!r} at "
                                          f"{cs[0]!r}, which is not one of its elements")
                    index.append(0)
                else:
                    index.append(own.index(cs[0]))
                continue
            if all(c in own for c in cs):
                positions = tuple(own.index(c) for c in cs)
                index.append(None if positions == tuple(range(len(own))) else positions)
            elif len(cs) == len(own):  # a range mapped onto the array's own, by position
                index.append(None)
            else:
                raise self._error(f"refers to {self.elements[ident].name!r} over {name!r}, "
                                  "whose elements it does not have")
            dims.append((name, cs))
        return index, dims

    def _map(self, dims: Dims, target: Dims) -> Dims:
        """Ranges the left side does not name take the left side's range they map to."""
        names = {n for n, _ in target}
        used = {n for n, _ in dims}
        out: Dims = []
        for name, coords in dims:
            if name not in names and not name.endswith("!"):
                for mapped in self.subs.mapping.get(name, ()):
                    if mapped in names and mapped not in used:
                        mapped_coords = dict(target)[mapped]
                        if len(mapped_coords) != len(coords):
                            raise self._error(f"maps {name!r} onto {mapped!r}, which has "
                                              "another number of elements")
                        name, coords = mapped, mapped_coords
                        break
            out.append((name, coords))
        return out

    def union(self, *spans: Dims) -> Dims:
        """The ranges of operands put side by side, in order of first appearance."""
        union: dict[str, tuple[str, ...]] = {}
        for dims in spans:
            for name, coords in dims:
                if name in union and union[name] != coords:
                    raise self._error(f"combines two different selections of {name!r}")
                union[name] = coords
        return list(union.items())

    def combine(self, e: ir.Op | ir.Call, args: list[ir.Expr],
                target: Dims) -> tuple[ir.Expr, Dims]:
        """Element-wise operation: operands aligned on the union of their ranges."""
        shaped = [self.expr(a, target) for a in args]
        final = self.union(*(dims for _, dims in shaped))
        new_args = tuple(self.align(x, dims, final) for x, dims in shaped)
        return replace(e, args=new_args), final  # type: ignore[arg-type]

    def align(self, x: ir.Expr, dims: Dims, final: Dims) -> ir.Expr:
        """``x`` (over ``dims``) laid out over ``final``, a superset in some order."""
        if not final:
            return x
        if not dims:
            return x if isinstance(x, ir.Num) else ir.Lift(x, len(final))
        names = [n for n, _ in dims]
        order = tuple(names.index(n) for n, _ in final if n in names)
        keep = tuple(n in names for n, _ in final)
        if order == tuple(range(len(names))) and all(keep):
            return x
        return ir.Align(x, order, keep)

    def conform(self, x: ir.Expr, dims: Dims, target: Dims) -> ir.Expr:
        """``x`` laid out over the left side's ranges (it may not have others)."""
        names = {n for n, _ in target}
        extra = [n for n, _ in dims if n not in names]
        if extra:
            raise self._error(f"has {extra[0]!r} on the right of its equation but not on the "
                              "left", hint=f"add {extra[0]} to its subscripts, or SUM over "
                              f"{extra[0]}!")
        if not target:
            return x
        if not dims:
            return ir.Lift(x, len(target))
        return self.align(x, dims, target)

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
            if not isinstance(arg, ir.SubscriptValue) or arg.name not in self.ranges:
                raise self._error("ELMCOUNT needs a subscript range")
            return ir.Num(float(len(self.ranges[arg.name]))), []
        if e.func in VECTOR:
            return self.vector(e, target)
        if e.func.startswith("random_") and target:
            raise self._unsupported("a RANDOM function in a subscripted equation")
        return self.combine(e, list(e.args), target)

    def vector(self, e: ir.Call, target: Dims) -> tuple[ir.Expr, Dims]:
        """VECTOR SORT ORDER/RANK/REORDER and INVERT MATRIX act along the left side's last range."""
        if e.func == "vector_select" or not target:
            raise self._unsupported(e.func.upper().replace("_", " ")
                                    + ("" if target else " in a scalar equation"))
        args = e.args[:1] if e.func == "invert_matrix" else e.args  # the size is implied
        shaped = tuple(self.conform(*self.expr(a, target), target) for a in args)
        return ir.VectorCall(e.func, shaped, len(target) - 1, len(target)), list(target)

    def lookup_call(self, e: ir.LookupCall, target: Dims) -> tuple[ir.Expr, Dims]:
        arg, dims = self.expr(e.arg, target)
        index, table_dims = self._selection(e.table, e.subs, target)
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
        final = self.union(table_dims, dims)
        names = [n for n, _ in table_dims]
        order = [names.index(n) for n, _ in final if n in names] + [len(names)]
        shape = [len(c) if n in names else 1 for n, c in final] + [xs.shape[-1]]
        xs, ys = (np.transpose(a, order).reshape(shape) for a in (xs, ys))
        table = ir.TableArray(tuple(xs.reshape(-1).tolist()), tuple(ys.reshape(-1).tolist()),
                              tuple(shape), mode)
        return ir.CellLookup(self.align(arg, dims, final), table), final

    def cell_tables(self, ident: str) -> tuple[np.ndarray, np.ndarray, str]:
        """A subscripted lookup's tables stacked: xs and ys of shape (*sizes, points)."""
        if ident in self.tables:
            return self.tables[ident]
        owner, self.owner = self.owner, self.elements[ident].name
        full = self.dims[ident]
        size = int(np.prod([len(c) for _, c in full]))
        parts, modes = [], set()
        for piece in self.elements[ident].expr.pieces:  # type: ignore[union-attr]
            target = self.coord_dict(piece.subs)
            cells, picks = self._placement(full, target, piece.excepts)
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
