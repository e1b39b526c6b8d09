"""What an expression reads, and the dependency graphs of the two passes."""

from __future__ import annotations

import graphlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelError
from ..model import ir
from .states import INIT_ARGS, OUTPUT_ARGS, STRUCTURAL_ARGS

if TYPE_CHECKING:
    from .compiled import Node, State

# Builtins that read the clock: they depend on ``time`` and on the time step ``dt``.
CLOCK_FUNCS = {"step", "ramp", "Xramp", "pulse", "Xpulse", "pulse_train", "Xpulse_train"}


def references(expr: ir.Expr, phase: str) -> set[str]:
    """Slots an expression reads in a phase (``init`` or ``rate``), plus ``time`` and ``dt``."""
    rule = _READS.get(type(expr))
    if rule is not None:
        return rule(expr, phase)
    return set().union(set(), *(references(a, phase) for a in ir.children(expr)))


def _call_reads(expr: ir.Call, phase: str) -> set[str]:
    if expr.func == "active_initial":   # its initial value at init, its equation after
        return references(expr.args[1] if phase == "init" else expr.args[0], phase)
    found = set().union(set(), *(references(a, phase) for a in expr.args))
    return found | {"time", "dt"} if expr.func in CLOCK_FUNCS else found


_READS: dict[type, Callable[[Any, str], set[str]]] = {
    ir.Ref: lambda expr, phase: {expr.ident},
    ir.Input: lambda expr, phase: {"time"},
    ir.Data: lambda expr, phase: {"time"},
    ir.Call: _call_reads,
}


def is_volatile(expr: ir.Expr) -> bool:
    """True if the expression must be re-evaluated every step whatever it reads."""
    if isinstance(expr, ir.Call) and (expr.func.startswith("random_")
                                      or expr.func == "active_initial"):
        return True
    return any(is_volatile(a) for a in ir.children(expr))


class Graph:
    """The dependency graphs of the two passes."""

    def __init__(self, source: Path, nodes: dict[str, Node], states: tuple[State, ...]) -> None:
        self.source, self.nodes, self.states = source, nodes, states
        self.names = {slot: n.element.name for slot, n in nodes.items()}
        self.names.update({s.slot: s.owner for s in states})

    def deps(self, phase: str) -> dict[str, set[str]]:
        graph = {slot: references(n.expr, phase) for slot, n in self.nodes.items()}
        wanted = INIT_ARGS if phase == "init" else OUTPUT_ARGS
        for s in self.states:
            graph[s.slot] = set().union(set(), *(references(s.args[i], phase)
                                                 for i in wanted[s.kind]))
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
        # sorted reads: a set's order changes from process to process (string hashing), and
        # the order must not, or the compiled backend's source would (and compile again)
        graph = {slot: sorted(deps) for slot, deps in self.deps(phase).items()}
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
