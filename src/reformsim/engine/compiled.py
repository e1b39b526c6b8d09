"""The compiled model: frozen data the engine runs from.

What :func:`reformsim.engine.compiler.compile_model` produces: the IR, the
lifted states, the orders of both passes, the classification of values, and
the generated initialisation pass. Caches that fill while a model is used
(variants, rate-pass programs, time grids) belong to the modules that fill them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..model import ir
from ..model.shapes import cell_names
from .dependencies import references
from .memo import PerModel

_COLUMNS: PerModel[list] = PerModel()   # output columns per model and outputs
_CONSTANTS: PerModel[tuple] = PerModel()
_LABELS: PerModel[tuple] = PerModel()


@dataclass(frozen=True)
class State:
    """One lifted function with memory.

    ``owner`` is the element whose equation holds it; ``args`` are its
    arguments with nested states already replaced by references.
    """

    index: int
    kind: str
    args: tuple[ir.Expr, ...]
    owner: str
    nonneg: bool = False
    shape: tuple[int, ...] = ()      # cells of a state of an array; () for a scalar

    @property
    def slot(self) -> str:
        return f"s{self.index}"

    @property
    def cells(self) -> int:
        """Rows per stage: 1 for a scalar, the number of cells for an array."""
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass(frozen=True)
class Node:
    """An element's equation after lifting (lookups are kept apart)."""

    element: ir.Element
    slot: str
    expr: ir.Expr


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """A model compiled once, ready to be simulated any number of times.

    Holds the IR, the lifted states, the orders of both passes, the
    classification of values, and the generated initialisation source. It is
    frozen: two threads may simulate one model. What is made from it later
    (variants with inputs, rate-pass programs per structure, time grids) is
    cached by the module that makes it, keyed by the model's identity.
    """

    ir: ir.ModelIR
    nodes: dict[str, Node]                 # slot -> node, elements only
    states: tuple[State, ...]
    tables: dict[str, ir.Table]             # element ident -> table
    init_order: tuple[str, ...]             # slots, states included
    rate_order: tuple[str, ...]             # dynamic slots in evaluation order
    dynamic: frozenset[str]
    slots: dict[str, str]                   # element ident -> slot
    random_sites: int
    init_source: str
    table_keys: dict[str, str] = field(default_factory=dict)   # lookup ident -> data key
    external_tables: frozenset[str] = frozenset()               # lookups given per run
    init: Callable[..., dict] = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def source(self) -> Path:
        return self.ir.source

    @property
    def elements(self) -> tuple[ir.Element, ...]:
        return self.ir.elements

    @property
    def stocks(self) -> tuple[ir.Element, ...]:
        return tuple(e for e in self.ir.elements if e.is_stock)

    def input_keys(self) -> tuple[str, ...]:
        """Names of the per-run data the generated code reads (series and tables)."""
        keys = [n.expr.key for n in self.nodes.values() if isinstance(n.expr, ir.Input)]
        series = [f"{k}{part}" for k in keys for part in ("t", "v")]
        return tuple(series + [f"{self.table_keys[i]}{part}" for i in sorted(self.external_tables)
                               for part in ("x", "y")])

    def slot_of(self, element: ir.Element) -> str:
        return self.slots[element.ident]

    @functools.cached_property
    def slots_by_name(self) -> dict[str, str]:
        """Element slots by name as Vensim compares names (:func:`ir.fold_name`)."""
        return {ir.fold_name(n.element.name): slot for slot, n in self.nodes.items()}

    def shape_of(self, slot: str) -> tuple[int, ...]:
        """An element's array shape (cells per subscript range); () for a scalar."""
        expr = self.nodes[slot].expr
        return expr.shape if isinstance(expr, ir.Assemble) else ()

    def output_columns(self, outputs: tuple[str, ...]) -> list[tuple[tuple[int, int], str]]:
        """Columns of the saved values for these element slots: an array takes one per cell."""
        def make() -> list[tuple[tuple[int, int], str]]:
            found, at = [], 0
            for slot in outputs:
                width = math.prod(self.shape_of(slot))
                found.append(((at, at + width), slot))
                at += width
            return found

        return list(_COLUMNS.get(self, tuple(outputs), make))

    def labels(self, outputs: tuple[str, ...]) -> tuple:
        """Names, units, docs and array ranges of the saved columns (kept per outputs)."""
        def make() -> tuple:
            names = tuple(self.column_names(outputs))
            owners = [self.nodes[slot].element for (lo, hi), slot in
                      self.output_columns(outputs) for _ in range(lo, hi)]
            arrays = {e.name: (e.dims, tuple(self.ir.subscripts.ranges[d] for d in e.dims))
                      for e in owners if e.dims}
            return (names, {n: e.units for n, e in zip(names, owners)},
                    {n: e.documentation for n, e in zip(names, owners)}, arrays)

        return _LABELS.get(self, tuple(outputs), make)

    def column_names(self, outputs: tuple[str, ...]) -> list[str]:
        """Names of those columns: ``name`` for a scalar, ``name[a1,b2]`` per cell of an array."""
        names: list[str] = []
        for slot in outputs:
            element = self.nodes[slot].element
            names += cell_names(self.ir, element) if element.dims else [element.name]
        return names

    def flows(self) -> tuple[ir.Element, ...]:
        """Variables a stock's INTEG reads directly (its inflows and outflows)."""
        read: set[str] = set()
        for state in self.states:
            if state.kind == "integ":
                read |= references(state.args[0], "rate")
        return tuple(n.element for slot, n in self.nodes.items()
                     if slot in read and not _is_stateful_alias(n))

    def constants(self) -> tuple[ir.Element, ...]:
        """Elements that may be set per member: values fixed for a whole run."""
        return _CONSTANTS.get(self, "constants", lambda: tuple(
            n.element for n in self.nodes.values()
            if n.slot not in self.dynamic and not _is_stateful_alias(n)))


def write_constants(model: CompiledModel, outputs: tuple[str, ...], values: dict[str, Any],
                     out: np.ndarray) -> None:
    """Saved columns of constants: written once for all times (numbers shared by every member
    in one go)."""
    size, shared, numbers = out.shape[2], [], []
    for (lo, hi), slot in model.output_columns(outputs):
        if slot in model.dynamic:
            continue
        value = np.asarray(values[slot], float)
        if hi - lo == 1 and value.size == 1:
            shared.append(lo)
            numbers.append(value.reshape(-1)[0])
            continue
        out[:, lo:hi, :] = np.broadcast_to(value.reshape(value.shape[0] if value.ndim
                                                         else 1, -1).T, (hi - lo, size))
    if shared:
        out[:, shared, :] = np.array(numbers).reshape(1, -1, 1)


def state_indices(node: Node) -> tuple[int, ...]:
    """The states an element merely shows (a stock: its INTEG, one per piece of an array);
    else ()."""
    exprs = [p.expr for p in node.expr.parts] if isinstance(node.expr, ir.Assemble) else [node.expr]
    if all(isinstance(e, ir.Ref) and e.ident[:1] == "s" and e.ident[1:].isdigit() for e in exprs):
        return tuple(int(e.ident[1:]) for e in exprs)  # type: ignore[union-attr]
    return ()


def _is_stateful_alias(node: Node) -> bool:
    return bool(state_indices(node))
