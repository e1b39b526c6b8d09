"""The rate pass's source for one structure: every dynamic value, then each state's derivative.

``make(C, X, K)`` binds the run's constants ``C`` (the init pass's values),
discrete registers ``X`` and random keys ``K``, and returns
``rates(t, dt, Y, D, S, n)``. How each kind of state shows its value and moves
is a rule in :attr:`RateWriter.OUTPUTS` and :attr:`RateWriter.DERIVATIVES`,
keyed by :data:`reformsim.engine.states.KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .codegen import Emitter
from .states import OUTPUT_ARGS

if TYPE_CHECKING:
    from .compiled import CompiledModel, State


class RateWriter:
    """Writes the rate pass of ``model`` for one structure (delay orders, buffer lengths)."""

    def __init__(self, model: CompiledModel, orders: tuple[int, ...], rows: dict[int, slice],
                 discrete: tuple[int, ...], outputs: tuple[str, ...]) -> None:
        self.model, self.orders, self.rows = model, orders, rows
        self.discrete = {j: m for m, j in enumerate(discrete)}   # state index -> place in X
        self.outputs = outputs
        self.emitter = Emitter(model, phase="rate")

    def source(self) -> str:
        body: list[str] = []
        for slot in self.model.rate_order:
            if slot.startswith("v"):
                body.append(f"    {slot} = {self.emitter.expr(self.model.nodes[slot].expr)}")
            else:
                body += self._output(self.model.states[int(slot[1:])])
        updates: list[str] = []
        for s in self.model.states:
            body += self.DERIVATIVES[s.kind](self, s, updates)
        saved = [(cols, slot) for cols, slot in self.model.output_columns(self.outputs)
                 if slot in self.model.dynamic]
        if saved:  # constant outputs are written once for all save times, by the caller
            body.append("    if S is not None:")
            for (lo, hi), slot in saved:
                shape = self.model.shape_of(slot)
                body.append(f"        S[{lo}] = {slot}" if not shape else
                            f"        S[{lo}:{hi}] = F.rows({slot}, {shape})")
        body.append("    return (" + "".join(f"{u}, " for u in updates) + ")")
        computed = set(self.model.rate_order) | {f"a{s.index}_{k}" for s in self.model.states
                                                  for k in range(len(s.args))}
        loads = [f"    {name} = C[{name!r}]" for name in sorted(self.emitter.used - computed)]
        head = ["def make(C, X, K):"] + loads + ["    def rates(t, dt, Y, D, S, n):"]
        body = ["    " + line for line in body] + ["    return rates"]
        return "\n".join(head + body) + "\n"

    # --- rows of the state vector ----------------------------------------------------------

    @staticmethod
    def _arg(s: State, k: int) -> str:
        return f"a{s.index}_{k}"

    def _stage(self, s: State, k: int, of: str = "Y") -> str:
        """Rows of stage k of a state (from the end when k < 0) in ``Y``, or in ``D``."""
        r, c = self.rows[s.index], s.cells
        at = r.start + k * c if k >= 0 else r.stop + k * c
        return f"{of}[{at}]" if not s.shape else f"{of}[{at}:{at + c}]"

    @staticmethod
    def _value(s: State, rows: str) -> str:
        """State rows turned into the state's value: (E,) scalars, (E, *sizes) arrays."""
        return rows if not s.shape else f"F.unrows({rows}, {s.shape})"

    @staticmethod
    def _as_rows(s: State, value: str) -> str:
        """A value in the layout of the state's rows (arrays: cells x E)."""
        return value if not s.shape else f"F.rows({value}, {s.shape})"

    # --- each kind's output ----------------------------------------------------------------

    def _output(self, s: State) -> list[str]:
        j = s.index
        lines = [f"    a{j}_{k} = {self.emitter.expr(s.args[k])}" for k in OUTPUT_ARGS[s.kind]]
        helpers, output = self.OUTPUTS[s.kind](self, s)
        return lines + helpers + [f"    s{j} = {output}"]

    def _last_stage(self, s: State) -> tuple[list[str], str]:
        return [], self._value(s, self._stage(s, -1))

    def _delay_output(self, s: State) -> tuple[list[str], str]:
        return [], f"{self._value(s, self._stage(s, -1))} / {self._arg(s, 1)}"

    def _delayn_output(self, s: State) -> tuple[list[str], str]:
        return [], self._value(s, f"{self._stage(s, -1)} / X[{self.discrete[s.index]}][0]")

    def _register_output(self, s: State) -> tuple[list[str], str]:
        return [], f"X[{self.discrete[s.index]}]"

    def _trend_output(self, s: State) -> tuple[list[str], str]:
        j, a = s.index, [self._arg(s, k) for k in range(len(s.args))]
        return ([f"    y{j} = {self._value(s, self._stage(s, 0))}"],
                f"F.zidz({a[0]} - y{j}, {a[1]} * np.abs(y{j}))")

    def _forecast_output(self, s: State) -> tuple[list[str], str]:
        j, a = s.index, [self._arg(s, k) for k in range(len(s.args))]
        return ([f"    y{j} = {self._value(s, self._stage(s, 0))}"],
                f"{a[0]} * (1 + F.zidz({a[0]} - y{j}, {a[1]} * y{j}) * {a[2]})")

    def _sample_output(self, s: State) -> tuple[list[str], str]:
        condition = self.emitter.expr(s.args[0], True)
        return [], f"np.where({condition}, {self._arg(s, 1)}, X[{self.discrete[s.index]}])"

    OUTPUTS: dict[str, Callable[[RateWriter, State], tuple[list[str], str]]] = {
        "integ": _last_stage, "smooth": _last_stage, "delay": _delay_output,
        "delayn": _delayn_output, "delay_fixed": _register_output, "trend": _trend_output,
        "forecast": _forecast_output, "sample_if_true": _sample_output,
    }

    # --- each kind's derivative (and the discrete updates it hands back) ------------------

    def _integ(self, s: State, updates: list[str]) -> list[str]:
        return [f"    {self._stage(s, 0, 'D')} = {self._as_rows(s, self.emitter.expr(s.args[0]))}"]

    def _towards_input(self, s: State, updates: list[str]) -> list[str]:
        """TREND and FORECAST: their average moves toward the input over the average time."""
        return [f"    {self._stage(s, 0, 'D')} = ({self._as_rows(s, self._arg(s, 0))} - "
                f"{self._stage(s, 0)}) / {self._as_rows(s, self._arg(s, 1))}"]

    def _delay(self, s: State, updates: list[str]) -> list[str]:
        j, rows = s.index, (lambda value: self._as_rows(s, value))
        return self._chain(s, rows(self.emitter.expr(s.args[0])), f"tm{j}",
                           [f"    tm{j} = {rows(self._arg(s, 1))}"])

    def _delayn(self, s: State, updates: list[str]) -> list[str]:
        j, m, rows = s.index, self.discrete[s.index], (lambda value: self._as_rows(s, value))
        lines = [f"    tn{j} = np.empty_like(X[{m}])",
                 f"    tn{j}[0] = {rows(self.emitter.expr(s.args[1]))}",
                 f"    tn{j}[1:] = X[{m}][:-1]"]
        updates.append(f"tn{j}")
        return self._chain(s, rows(self.emitter.expr(s.args[0])), f"tn{j}", lines,
                           per_stage=True)

    def _smooth(self, s: State, updates: list[str]) -> list[str]:
        j, n, rows = s.index, self.orders[s.index], (lambda value: self._as_rows(s, value))
        time = f"sm{j}"
        lines = [f"    {time} = {rows(self.emitter.expr(s.args[1]))}",
                 f"    {self._stage(s, 0, 'D')} = ({rows(self.emitter.expr(s.args[0]))} - "
                 f"{self._stage(s, 0)}) * {n} / {time}"]
        for k in range(1, n):
            lines.append(f"    {self._stage(s, k, 'D')} = ({self._stage(s, k - 1)} - "
                         f"{self._stage(s, k)}) * {n} / {time}")
        return lines

    def _delay_fixed(self, s: State, updates: list[str]) -> list[str]:
        updates.append(f"u{s.index}")
        return [f"    u{s.index} = {self.emitter.expr(s.args[0])}"]

    def _sample_if_true(self, s: State, updates: list[str]) -> list[str]:
        updates.append(f"s{s.index}")
        return []

    def _fixed(self, s: State, updates: list[str]) -> list[str]:
        return []   # INITIAL: no rows, nothing moves

    DERIVATIVES: dict[str, Callable[[RateWriter, State, list[str]], list[str]]] = {
        "integ": _integ, "trend": _towards_input, "forecast": _towards_input, "delay": _delay,
        "delayn": _delayn, "smooth": _smooth, "delay_fixed": _delay_fixed,
        "sample_if_true": _sample_if_true, "initial": _fixed,
    }

    def _chain(self, s: State, inflow: str, times: str, lines: list[str],
               per_stage: bool = False) -> list[str]:
        """PySD's delay chain: ddt = (inflows - outflows) * order, outflow k = stage k / time."""
        j, r, n = s.index, self.rows[s.index], self.orders[s.index]
        if not s.shape:  # scalars: all stages in one slice (the form PySD is bit-compatible with)
            lines = lines + [f"    o{j} = Y[{r.start}:{r.stop}] / {times}",
                             f"    D[{r.start}] = ({inflow} - o{j}[0]) * {n}"]
            if n > 1:
                lines.append(f"    D[{r.start + 1}:{r.stop}] = (o{j}[:-1] - o{j}[1:]) * {n}")
            return lines
        lines = list(lines)
        for k in range(n):
            time = f"{times}[{k}]" if per_stage else times
            lines.append(f"    o{j}_{k} = {self._stage(s, k)} / {time}")
        lines.append(f"    {self._stage(s, 0, 'D')} = ({inflow} - o{j}_0) * {n}")
        for k in range(1, n):
            lines.append(f"    {self._stage(s, k, 'D')} = (o{j}_{k - 1} - o{j}_{k}) * {n}")
        return lines
