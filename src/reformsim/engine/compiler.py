"""IR -> compiled model: lifted states, dependency orders, and generated numpy source.

The compiler lifts every function with memory (INTEG, SMOOTH*, DELAY*,
TREND, FORECAST, SAMPLE IF TRUE, INITIAL) into a numbered state, orders the
equations of the initialisation pass and of the rate pass with graphlib, and
classifies every value as constant for a run or dynamic. The generated source
names values only by slot (``v3``, ``s0``); model text never reaches it, only
numbers written with ``repr(float)``.
"""

from __future__ import annotations

import copyreg
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ModelError, SimulationError
from ..model import ir
from ..model.shapes import shape_model
from .codegen import namespace
from .compiled import CompiledModel, Node, State
from .dependencies import Graph
from .initpass import InitWriter
from .memo import PerModel


def compile_model(model: ir.ModelIR, inputs: frozenset[str] = frozenset(),
                  tables: frozenset[str] = frozenset()) -> CompiledModel:
    """Lift states, order both passes and generate the initialisation source.

    ``inputs`` are identifiers of constants whose value comes with each run as
    a time series; ``tables`` identifiers of lookups whose points come with
    each run (see :meth:`CompiledModel.variant`).
    """
    model = shape_model(model)
    for element in model.elements:
        if element.ident in tables and element.dims:  # its cells' tables are fixed in the code
            raise SimulationError(f"{model.source.name}: lookup {element.name!r} is subscripted; "
                                  "reformsim cannot replace its tables for a run yet")
    model = replace(model, elements=tuple(
        replace(e, expr=ir.Input(f"X{i}")) if e.ident in inputs else e
        for i, e in enumerate(model.elements)))
    lifter = _Lifter(model)
    nodes, states = lifter.run()
    slots = {e.ident: f"v{i}" for i, e in enumerate(model.elements) if e.kind != "lookup"}
    lookup_tables = {e.ident: e.expr for e in model.elements if e.kind == "lookup"}
    resolver = _Resolver(slots, lookup_tables, model.source)
    nodes = {slot: replace(node, expr=resolver.expr(node.expr, node.element.name))
             for slot, node in nodes.items()}
    states = tuple(replace(s, args=tuple(resolver.expr(a, s.owner) for a in s.args))
                   for s in states)
    graph = Graph(model.source, nodes, states)
    init_order = graph.order("init")
    dynamic = graph.dynamic()
    rate_order = tuple(s for s in graph.order("rate") if s in dynamic)
    compiled = CompiledModel(
        ir=model, nodes=nodes, states=states, tables=lookup_tables, init_order=init_order,
        rate_order=rate_order, dynamic=frozenset(dynamic), slots=slots,
        random_sites=resolver.random_sites, init_source="",
        table_keys={e.ident: f"Y{i}" for i, e in enumerate(model.elements) if e.kind == "lookup"},
        external_tables=frozenset(tables))
    writer = InitWriter(compiled)
    source = writer.source()
    names = namespace()
    writer.emitter.bind(names)
    exec(compile(source, "<reformsim init pass>", "exec"), names)  # noqa: S102
    return replace(compiled, init_source=source, init=names["init"])


def _reduce(model: CompiledModel) -> tuple[Callable[..., CompiledModel], tuple]:
    """A CompiledModel pickles as its IR and the inputs of its variant, and is compiled again
    when unpickled (a Dask worker's copy): the functions generated for it do not pickle, and
    caches beside it are rebuilt where it lands. Registered here rather than as
    ``CompiledModel.__reduce__``, as compiled.py cannot import the compiler (a cycle)."""
    inputs = frozenset(n.element.ident for n in model.nodes.values()
                       if isinstance(n.expr, ir.Input))
    return compile_model, (model.ir, inputs, model.external_tables)


copyreg.pickle(CompiledModel, _reduce)

_VARIANTS: PerModel[CompiledModel] = PerModel()


def variant(model: CompiledModel, inputs: frozenset[str], tables: frozenset[str]) -> CompiledModel:
    """The model with some constants fed as time series and some lookups fed per run.

    ``inputs``/``tables`` hold element identifiers. Compiled once per
    combination and kept as long as the model lives.
    """
    if not inputs and not tables:
        return model
    return _VARIANTS.get(model, (inputs, tables), lambda: compile_model(model.ir, inputs, tables))


_SPLITS: PerModel[CompiledModel] = PerModel()


def split_states(model: CompiledModel, per_cell: dict[int, tuple[int, ...]]) -> CompiledModel:
    """The model with each listed state of an array split by the order of its cells.

    ``per_cell`` maps a state index to the order (or DELAY FIXED length) of each of
    its cells. Cells that share one become a state of their own (:class:`ir.Cells`
    picks their arguments, :class:`ir.Assemble` puts the outputs back), so every
    state has one order again and the rest of the engine is unchanged. A member's
    run is the same whether it is split alone or in an ensemble: the split depends
    only on its own orders.
    """
    blocks = {j: tuple(tuple(c for c, o in enumerate(orders) if o == order)
                       for order in sorted(set(orders)))
              for j, orders in per_cell.items()}
    key = tuple(sorted(blocks.items()))
    return _SPLITS.get(model, key, lambda: compile_model(
        _split(model.ir, blocks), tables=model.external_tables))


def _split(model: ir.ModelIR, blocks: dict[int, tuple[tuple[int, ...], ...]]) -> ir.ModelIR:
    """The IR with the Statefuls numbered as :class:`_Lifter` numbers them split into blocks."""
    counter = [0]

    def visit(expr: ir.Expr) -> ir.Expr:
        if not isinstance(expr, ir.Stateful):
            return ir.map_children(expr, visit)
        expr = replace(expr, args=tuple(visit(a) for a in expr.args))
        j, counter[0] = counter[0], counter[0] + 1
        if j not in blocks:
            return expr
        parts = tuple(ir.Part(replace(expr, args=tuple(ir.Cells(a, expr.shape, cells)
                                                       for a in expr.args),
                                      shape=(len(cells),)), (len(cells),), cells, None)
                      for cells in blocks[j])
        return ir.Assemble(expr.shape, parts)

    return replace(model, elements=tuple(e if e.kind == "lookup" else replace(
        e, expr=visit(e.expr)) for e in model.elements))  # type: ignore[arg-type]


class _Lifter:
    """Replaces every Stateful in the element equations by a reference to a State."""

    def __init__(self, model: ir.ModelIR) -> None:
        self.model = model
        self.states: list[State] = []

    def run(self) -> tuple[dict[str, Node], tuple[State, ...]]:
        nodes: dict[str, Node] = {}
        for i, element in enumerate(self.model.elements):
            if element.kind == "lookup":
                continue
            expr = self._lift(element.expr, element.name)  # type: ignore[arg-type]
            nodes[f"v{i}"] = Node(element, f"v{i}", expr)
        return nodes, tuple(self.states)

    def _lift(self, expr: ir.Expr, owner: str) -> ir.Expr:
        if isinstance(expr, ir.Stateful):
            args = tuple(self._lift(a, owner) for a in expr.args)
            state = State(len(self.states), expr.kind, args, owner, expr.nonneg, expr.shape)
            self.states.append(state)
            return ir.StateRef(state.index)
        return ir.map_children(expr, lambda a: self._lift(a, owner))


class _Resolver:
    """Rewrites references from element identifiers to slots; numbers random call sites."""

    def __init__(self, slots: dict[str, str], tables: dict[str, ir.Table], source: Path) -> None:
        self.slots, self.tables, self.source = slots, tables, source
        self.random_sites = 0

    def expr(self, expr: ir.Expr, owner: str) -> ir.Expr:
        rule = self.RULES.get(type(expr))
        if rule is None:
            return ir.map_children(expr, lambda a: self.expr(a, owner))
        return rule(self, expr, owner)

    def _ref(self, expr: ir.Ref, owner: str) -> ir.Expr:
        if expr.ident == "time":
            return ir.Ref("time")
        if expr.ident in self.tables:
            raise ModelError(self.source, owner, f"uses the lookup {expr.ident!r} as a value",
                             hint="call it with an argument: name(x)")
        return ir.Ref(self.slots[expr.ident])

    def _state(self, expr: ir.StateRef, owner: str) -> ir.Expr:
        return ir.Ref(f"s{expr.index}")

    def _call(self, expr: ir.Call, owner: str) -> ir.Expr:
        args = tuple(self.expr(a, owner) for a in expr.args)
        if expr.func.startswith("random_"):
            args = (ir.Num(float(self.random_sites)),) + args
            self.random_sites += 1
        return replace(expr, args=args)

    # After resolution a Ref names a slot (``v3``, ``s0``) or ``time``: never model text.
    RULES: dict[type, Callable[[_Resolver, Any, str], ir.Expr]] = {
        ir.Ref: _ref, ir.StateRef: _state, ir.Call: _call,
    }
