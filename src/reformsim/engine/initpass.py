"""The initialisation pass's source: every value at INITIAL TIME, and each state's start.

``init(O, I, K)`` takes overriding values ``O`` (slot -> value), initial values
of states ``I`` (state index -> value) and the members' random keys ``K``, and
returns a dict of every value it computed. How each kind of state starts is a
rule in :data:`INIT_OUTPUTS`, keyed by :data:`reformsim.engine.states.KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .codegen import Emitter
from .states import KINDS

if TYPE_CHECKING:
    from .compiled import CompiledModel, State


class InitWriter:
    """Writes the initialisation pass of one model."""

    def __init__(self, model: CompiledModel) -> None:
        self.model = model
        self.emitter = Emitter(model, phase="init")

    def source(self) -> str:
        """``init(O, I, K)``: every value at INITIAL TIME, and each state's arguments.

        ``O`` maps element slots to overriding values, ``I`` maps state
        indices to overriding initial values, ``K`` holds the member keys of
        the random streams. Returns a dict slot -> value.
        """
        m = self.model
        lines = ["def init(O, I, K):", "    n = -1", f"    t = {self.emitter.literal(0.0)}"]
        names: list[str] = list(m.input_keys())
        lines += [f"    {key} = O[{key!r}]" for key in names]
        time_slot = m.slots["initial_time"]
        dt_slot = m.slots["time_step"]
        for slot in m.init_order:
            if slot.startswith("v"):
                node = m.nodes[slot]
                code = self.emitter.expr(node.expr)
                lines.append(f"    {slot} = O[{slot!r}] if {slot!r} in O else {code}")
                if node.element.dims:  # cells of an array set one by one
                    lines.append(f"    if {slot + '@'!r} in O: {slot} = F.patch({slot}, "
                                 f"*O[{slot + '@'!r}])")
                if slot == time_slot:
                    lines.append(f"    t = {slot}")
                if slot == dt_slot:
                    lines.append(f"    dt = {slot}")
                names.append(slot)
            else:
                state = m.states[int(slot[1:])]
                lines += self._init_state(state, names)
        lines.append("    return {" + ", ".join(f"{n!r}: {n}" for n in names) + "}")
        return "\n".join(lines) + "\n"

    def _init_state(self, s: State, names: list[str]) -> list[str]:
        j, out, kind = s.index, [], KINDS[s.kind]
        for k in kind.init_args:
            code = self.emitter.expr(s.args[k])
            if k == kind.initial_arg:   # an initial value given for the run wins
                code = f"I[{j}] if {j} in I else {code}"
            out.append(f"    a{j}_{k} = {code}")
            names.append(f"a{j}_{k}")
        a = [f"a{j}_{k}" for k in range(len(s.args))]
        helpers, output = INIT_OUTPUTS[s.kind](a, j)
        for name, code in helpers:
            out.append(f"    {name} = {code}")
            names.append(name)
        out.append(f"    s{j} = {output}")
        names.append(f"s{j}")
        return out


# Each kind's output at the initial time, from its arguments ``a`` (names ``a<j>_<k>``):
# (helper values to keep for the state's initial rows, the output's source).
InitOutput = Callable[[list[str], int], tuple[list[tuple[str, str]], str]]


def _argument(k: int) -> InitOutput:
    return lambda a, j: ([], a[k])


INIT_OUTPUTS: dict[str, InitOutput] = {
    "integ": _argument(1), "smooth": _argument(2), "delay_fixed": _argument(2),
    "initial": _argument(0),
    # PySD keeps initial value x delay time in the stages and outputs stage / delay time
    "delay": lambda a, j: ([], f"({a[2]} * {a[1]}) / {a[1]}"),
    "delayn": lambda a, j: ([], f"({a[2]} * {a[1]}) / {a[1]}"),
    "sample_if_true": lambda a, j: ([], f"np.where({a[0]}, {a[1]}, {a[2]})"),
    "trend": lambda a, j: ([(f"av{j}", f"{a[0]} / (1 + {a[2]} * {a[1]})")],
                           f"F.zidz({a[0]} - av{j}, {a[1]} * np.abs(av{j}))"),
    "forecast": lambda a, j: ([(f"av{j}", f"{a[0]} / (1 + {a[3]})")],
                              f"{a[0]} * (1 + F.zidz({a[0]} - av{j}, {a[1]} * av{j}) * {a[2]})"),
}
