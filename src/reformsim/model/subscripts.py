"""The model's subscript ranges as the shape pass reads them: PySD's rules for which cells
and ranges a subscripted reference names, and how operands are laid out over ranges."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ..errors import ModelError, UnsupportedError
from . import ir

Dims = list[tuple[str, tuple[str, ...]]]   # (range name, its elements), in axis order


def element_coords(model: ir.ModelIR, element: ir.Element) -> Dims:
    """An element's ranges with their elements (empty for a scalar)."""
    return [(d, model.subscripts.ranges[d]) for d in element.dims]


class RangeSpace:
    """What the model's subscripts mean: ranges, positions, and the cells a reference names.

    PySD's rules (``make_coord_dict``, ``visit_loc``, mappings); ``owner`` is the
    element being shaped, named in errors.
    """

    def __init__(self, model: ir.ModelIR) -> None:
        self.source: Path = model.source
        self.subs = model.subscripts
        self.ranges = model.subscripts.ranges
        self.dims = {e.ident: element_coords(model, e) for e in model.elements}
        self.elements = {e.ident: e for e in model.elements}
        self.all_elements = [x for xs in self.ranges.values() for x in xs]
        self.positions = self._subscript_positions()
        self.owner = ""

    def error(self, problem: str, hint: str = "") -> ModelError:
        return ModelError(self.source, self.owner, problem, hint=hint)

    def unsupported(self, construct: str) -> UnsupportedError:
        return UnsupportedError(self.source, self.owner,
                                f"uses {construct}, which reformsim does not simulate yet",
                                "see docs/supported.md for what reformsim simulates")

    def _placement(self, full: Dims, target: Dims, excepts: tuple[tuple[str, ...], ...]
                   ) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        axes = []
        for (name, coords), (full_name, full_coords) in zip(target, full):
            missing = [c for c in coords if c not in full_coords]
            if missing:
                raise self.error(f"the subscript {missing[0]!r} is not an element of "
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

    def coord_dict(self, subs: list[str] | tuple[str, ...]) -> Dims:
        """PySD's make_coord_dict: an element names the first range holding it not yet used."""
        coords: Dims = []
        for sub in subs:
            if sub in self.all_elements:
                used = set(subs) | {n for n, _ in coords}
                name = next((r for r, xs in self.ranges.items() if sub in xs and r not in used),
                            None)
                if name is None:
                    raise self.unsupported(f"the element {sub!r} twice in one reference")
                coords.append((name, (sub,)))
            elif sub.endswith("!") and sub[:-1] in self.ranges:
                coords.append((sub, self.ranges[sub[:-1]]))
            elif sub in self.ranges:
                coords.append((sub, self.ranges[sub]))
            else:
                raise self.error(f"uses the subscript {sub!r}, which no range defines")
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

    def _selection(self, ident: str, subs: tuple[str, ...],
                   target: Dims) -> tuple[list[int | tuple[int, ...] | None] | None, Dims]:
        """The cells a reference names (per axis: an index, positions or all) and their ranges.

        The index is None for an element that has no subscripts.
        """
        original, name = self.dims[ident], self.elements[ident].name
        if not original:
            if subs:
                raise self.error(f"gives subscripts to {name!r}, which has none")
            return None, []
        named = list(subs) or [n for n, _ in original]
        if len(named) != len(original):
            raise self.error(f"refers to {name!r} with {len(named)} subscripts; it has "
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
                        raise self.error(f"refers to {self.elements[ident].name!r} at "
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
                raise self.error(f"refers to {self.elements[ident].name!r} over {name!r}, "
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
                            raise self.error(f"maps {name!r} onto {mapped!r}, which has "
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
                    raise self.error(f"combines two different selections of {name!r}")
                union[name] = coords
        return list(union.items())

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
            raise self.error(f"has {extra[0]!r} on the right of its equation but not on the "
                              "left", hint=f"add {extra[0]} to its subscripts, or SUM over "
                              f"{extra[0]}!")
        if not target:
            return x
        if not dims:
            return ir.Lift(x, len(target))
        return self.align(x, dims, target)
