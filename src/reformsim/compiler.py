"""IR -> compiled model: lifted states, dependency orders, and generated numpy source.

The compiler lifts every function with memory (INTEG, SMOOTH*, DELAY*,
TREND, FORECAST, SAMPLE IF TRUE, INITIAL) into a numbered state, orders the
equations of the initialisation pass and of the rate pass with graphlib, and
classifies every value as constant for a run or dynamic. The generated source
names values only by slot (``v3``, ``s0``); model text never reaches it, only
numbers written with ``repr(float)``.
"""

from __future__ import annotations

import functools
import graphlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import ir
from .codegen import Emitter, namespace
from .errors import ModelError, SimulationError
from .shapes import shape_model

# Which arguments each kind of state needs at initialisation (for its state and
# its first output), and which its output needs in the rate pass.
INIT_ARGS = {
    "integ": (1,), "delay": (1, 2, 3), "delayn": (1, 2, 3), "delay_fixed": (1, 2),
    "smooth": (2, 3), "trend": (0, 1, 2), "forecast": (0, 1, 2, 3),
    "sample_if_true": (0, 1, 2), "initial": (0,),
}
OUTPUT_ARGS = {
    "integ": (), "delay": (1,), "delayn": (), "delay_fixed": (), "smooth": (),
    "trend": (0, 1), "forecast": (0, 1, 2), "sample_if_true": (0, 1), "initial": (),
}
# Arguments fixed at t0 that shape the state (orders, buffer lengths).
STRUCTURAL_ARGS = {"delay": (1, 3), "delayn": (1, 3), "delay_fixed": (1,), "smooth": (3,)}
DISCRETE = {"delay_fixed", "sample_if_true"}


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


@dataclass
class CompiledModel:
    """A model compiled once, ready to be simulated any number of times.

    Holds the IR, the lifted states, the orders of both passes, the
    classification of values, and the generated initialisation source.
    Rate-pass programs are generated per structure (delay orders, buffer
    lengths) by :mod:`reformsim.program` and cached here.
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
    variants: dict = field(default_factory=dict, repr=False)
    programs: dict = field(default_factory=dict, repr=False)   # (structure, outputs) -> Program
    grids: dict = field(default_factory=dict, repr=False)      # control values -> time grid

    @property
    def source(self) -> Path:
        return self.ir.source

    @property
    def elements(self) -> tuple[ir.Element, ...]:
        return self.ir.elements

    @property
    def stocks(self) -> tuple[ir.Element, ...]:
        return tuple(e for e in self.ir.elements if e.is_stock)

    def variant(self, inputs: frozenset[str], tables: frozenset[str]) -> CompiledModel:
        """This model with some constants fed as time series and some lookups fed per run.

        ``inputs``/``tables`` hold element identifiers. Compiled once per
        combination and kept.
        """
        if not inputs and not tables:
            return self
        key = (inputs, tables)
        if key not in self.variants:
            self.variants[key] = compile_model(self.ir, inputs, tables)
        return self.variants[key]

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
        found, at = [], 0
        for slot in outputs:
            width = int(np.prod(self.shape_of(slot)))
            found.append(((at, at + width), slot))
            at += width
        return found

    def column_names(self, outputs: tuple[str, ...]) -> list[str]:
        """Names of those columns: ``name`` for a scalar, ``name[a1,b2]`` per cell of an array."""
        from .shapes import cell_names

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
        return tuple(n.element for n in self.nodes.values()
                     if n.slot not in self.dynamic and not _is_stateful_alias(n))


def state_indices(node: Node) -> tuple[int, ...]:
    """The states an element merely shows (a stock: its INTEG, one per piece of an array); else ()."""
    exprs = [p.expr for p in node.expr.parts] if isinstance(node.expr, ir.Assemble) else [node.expr]
    if all(isinstance(e, ir.Ref) and e.ident[:1] == "s" and e.ident[1:].isdigit() for e in exprs):
        return tuple(int(e.ident[1:]) for e in exprs)  # type: ignore[union-attr]
    return ()


def _is_stateful_alias(node: Node) -> bool:
    return bool(state_indices(node))


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
    graph = _Graph(model.source, nodes, states)
    init_order = graph.order("init")
    dynamic = graph.dynamic()
    rate_order = tuple(s for s in graph.order("rate") if s in dynamic)
    compiled = CompiledModel(
        ir=model, nodes=nodes, states=states, tables=lookup_tables, init_order=init_order,
        rate_order=rate_order, dynamic=frozenset(dynamic), slots=slots,
        random_sites=resolver.random_sites, init_source="",
        table_keys={e.ident: f"Y{i}" for i, e in enumerate(model.elements) if e.kind == "lookup"},
        external_tables=frozenset(tables))
    emitter = Emitter(compiled)
    compiled.init_source = emitter.init_source()
    names = namespace()
    emitter.bind(names)
    exec(compile(compiled.init_source, "<reformsim init pass>", "exec"), names)  # noqa: S102
    compiled.init = names["init"]
    return compiled


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
            return ir.Ref(f"__{state.slot}")
        return ir.map_children(expr, lambda a: self._lift(a, owner))


class _Resolver:
    """Rewrites references from element identifiers to slots; numbers random call sites."""

    def __init__(self, slots: dict[str, str], tables: dict[str, ir.Table], source: Path) -> None:
        self.slots, self.tables, self.source = slots, tables, source
        self.random_sites = 0

    def expr(self, expr: ir.Expr, owner: str) -> ir.Expr:
        if isinstance(expr, ir.Ref):
            if expr.ident == "time":
                return ir.Ref("time")
            if expr.ident.startswith("__s"):
                return ir.Ref(expr.ident[2:])
            if expr.ident in self.tables:
                raise ModelError(self.source, owner,
                                 f"uses the lookup {expr.ident!r} as a value",
                                 hint="call it with an argument: name(x)")
            return ir.Ref(self.slots[expr.ident])
        if isinstance(expr, ir.Call):
            args = tuple(self.expr(a, owner) for a in expr.args)
            if expr.func.startswith("random_"):
                args = (ir.Num(float(self.random_sites)),) + args
                self.random_sites += 1
            return ir.Call(expr.func, args)
        return ir.map_children(expr, lambda a: self.expr(a, owner))


# Builtins that read the clock: they depend on ``time`` and on the time step ``dt``.
CLOCK_FUNCS = {"step", "ramp", "Xramp", "pulse", "Xpulse", "pulse_train", "Xpulse_train"}


def references(expr: ir.Expr, phase: str) -> set[str]:
    """Slots an expression reads in a phase (``init`` or ``rate``), plus ``time`` and ``dt``."""
    if isinstance(expr, ir.Ref):
        return {expr.ident}
    if isinstance(expr, ir.Call) and expr.func == "active_initial":
        chosen = expr.args[1] if phase == "init" else expr.args[0]
        return references(chosen, phase)
    if isinstance(expr, (ir.Input, ir.Data)):
        return {"time"}
    found: set[str] = set().union(*(references(a, phase) for a in ir.children(expr)))
    if isinstance(expr, ir.Call) and expr.func in CLOCK_FUNCS:
        found |= {"time", "dt"}
    return found


def is_volatile(expr: ir.Expr) -> bool:
    """True if the expression must be re-evaluated every step whatever it reads."""
    if isinstance(expr, ir.Call) and (expr.func.startswith("random_")
                                      or expr.func == "active_initial"):
        return True
    return any(is_volatile(a) for a in ir.children(expr))


class _Graph:
    """The dependency graphs of the two passes."""

    def __init__(self, source: Path, nodes: dict[str, Node], states: tuple[State, ...]) -> None:
        self.source, self.nodes, self.states = source, nodes, states
        self.names = {slot: n.element.name for slot, n in nodes.items()}
        self.names.update({s.slot: s.owner for s in states})

    def deps(self, phase: str) -> dict[str, set[str]]:
        graph = {slot: references(n.expr, phase) for slot, n in self.nodes.items()}
        wanted = INIT_ARGS if phase == "init" else OUTPUT_ARGS
        for s in self.states:
            graph[s.slot] = set().union(set(), *(references(s.args[i], phase) for i in wanted[s.kind]))
            if phase == "init" and s.kind in STRUCTURAL_ARGS:
                graph[s.slot].add(self._time_step_slot())
        # In the rate pass time and dt are the loop's; at initialisation they are the
        # INITIAL TIME and TIME STEP elements.
        clock = {"time": self.control_slot("initial_time"), "dt": self.control_slot("time_step")}
        for slot, deps in graph.items():
            read = deps & set(clock)
            deps -= read
            if phase == "init" and slot != clock["time"]:  # INITIAL TIME sees Time = 0
                deps |= {clock[r] for r in read}
        return graph

    def control_slot(self, ident: str) -> str:
        for slot, node in self.nodes.items():
            if node.element.ident == ident:
                return slot
        raise AssertionError(ident)  # the translator guarantees the control variables

    def _time_step_slot(self) -> str:
        return self.control_slot("time_step")

    def order(self, phase: str) -> tuple[str, ...]:
        graph = self.deps(phase)
        try:
            return tuple(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as exc:
            cycle = [self.names.get(s, s) for s in exc.args[1]]
            what = "initial values" if phase == "init" else "equations"
            raise ModelError(self.source, cycle[0],
                             f"circular definition in {what}: " + " -> ".join(cycle),
                             hint="break the loop with a stock or an INITIAL") from None

    def dynamic(self) -> set[str]:
        """Slots that change during a run (read time, a state, a random draw...)."""
        graph = self.deps("rate")
        dynamic = {s.slot for s in self.states if s.kind != "initial"}
        dynamic |= {slot for slot, n in self.nodes.items()
                    if "time" in references(n.expr, "rate") or is_volatile(n.expr)}
        changed = True
        while changed:
            changed = False
            for slot, deps in graph.items():
                if slot not in dynamic and deps & dynamic:
                    dynamic.add(slot)
                    changed = True
        return dynamic
