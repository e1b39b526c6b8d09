"""The units of each builtin function and each function with memory, as the checker reads them.

Each rule takes the checker, the call's arguments (IR) and the units of the
left side, infers the arguments' units through the checker (which records any
problem) and returns the units of the call: a :class:`~reformsim.model.units.Units`,
``NUMBER`` (a bare number) or None (unknown). Functions not listed are unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from .units import DMNL, NUMBER, Inferred, Units

Checker = Any   # reformsim.model.unitcheck's checker (infer, same, times...); not imported here
Rule = Callable[[Checker, tuple, Units | None], Inferred]


def _args(c: Checker, args: tuple, lhs: Units | None) -> list[Inferred]:
    return [c.infer(a, lhs) for a in args]


def _first(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    return _args(c, args, lhs)[0]


def _agree(*positions: int, what: str = "combines") -> Rule:
    def rule(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
        values = _args(c, args, lhs)
        return c.same([values[k] for k in positions], what)
    return rule


def _dimensionless(name: str) -> Rule:
    def rule(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
        return c.dimensionless(_args(c, args, lhs)[0], name)
    return rule


def _times(*positions: int, result: Callable[[list[Inferred], Units | None], Inferred]) -> Rule:
    """Arguments that are times, and the units of the result from all the arguments."""
    def rule(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
        values = _args(c, args, lhs)
        for k in positions:
            c.time_like(values[k], "time argument")
        return result(values, c.time)
    return rule


def _per_time(value: Inferred, time: Units | None) -> Inferred:
    if value is None or time is None:
        return None
    return (DMNL if value is NUMBER else value) / time


def _sqrt(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    value = _first(c, args, lhs)
    return value if value is None or value is NUMBER else value ** Fraction(1, 2)


def _ratio(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    values = _args(c, args, lhs)
    quotient = c.times(values[0], values[1], divide=True)
    return c.same([quotient] + values[2:], "falls back to") if len(values) > 2 else quotient


def _if(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    values = _args(c, args, lhs)
    return c.same(values[1:], "chooses between")


def _log(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    values = _args(c, args, lhs)
    c.dimensionless(values[0], "LOG")
    return DMNL


def _power(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    return c.power(c.infer(args[0], lhs), args[1])


def _random(*positions: int) -> Rule:
    """RANDOM functions: the bounds (and mean, spread) agree; the seed is a number."""
    def rule(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
        values = _args(c, args, lhs)
        return c.same([values[k] for k in positions], "draws between") if positions else NUMBER
    return rule


CALLS: dict[str, Rule] = {
    "abs": _first, "integer": _first, "sum": _first, "vmin": _first, "vmax": _first,
    "vmin_xmile": _first, "vmax_xmile": _first, "vector_reorder": _first,
    "min": _agree(0, 1, what="takes the smaller of"), "max": _agree(0, 1, what="takes the "
                                                                             "larger of"),
    "quantum": _agree(0, 1, what="rounds"), "modulo": _agree(0, 1, what="divides"),
    "active_initial": _agree(0, 1, what="starts"),
    "if_then_else": _if, "xidz": _ratio, "zidz": _ratio, "sqrt": _sqrt, "power": _power,
    "exp": _dimensionless("EXP"), "ln": _dimensionless("LN"), "log": _log,
    **{f: _dimensionless(f.upper()) for f in ("sin", "cos", "tan", "arcsin", "arccos",
                                              "arctan", "sinh", "cosh", "tanh")},
    "pi": lambda c, args, lhs: NUMBER,
    "elmcount": lambda c, args, lhs: NUMBER,
    "vector_sort_order": lambda c, args, lhs: (_args(c, args, lhs), DMNL)[1],
    "vector_rank": lambda c, args, lhs: (_args(c, args, lhs), DMNL)[1],
    "step": _times(1, result=lambda v, t: v[0]),
    "ramp": _times(1, 2, result=lambda v, t: None if v[0] is None or t is None else
                   (DMNL if v[0] is NUMBER else v[0]) * t),
    "Xramp": _times(1, result=lambda v, t: None if v[0] is None or t is None else
                    (DMNL if v[0] is NUMBER else v[0]) * t),
    "pulse": _times(0, 1, result=lambda v, t: DMNL),
    "pulse_train": _times(0, 1, 2, 3, result=lambda v, t: DMNL),
    "Xpulse": _times(0, result=lambda v, t: _per_time(v[1], t)),
    "Xpulse_train": _times(0, 1, result=lambda v, t: _per_time(v[2], t)),
    "random_0_1": _random(),
    "random_uniform": _random(0, 1),
    "random_normal": _random(0, 1, 2, 3),
    "random_exponential": _random(0, 1, 2),
    "allocate_available": _agree(0, 2, what="allocates"),
    "allocate_by_priority": _agree(0, 4, what="allocates"),
}


def _delay(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    """DELAY*, SMOOTH*, DELAY FIXED: input, time, initial value (order): the input's units."""
    values = _args(c, args, lhs)
    c.time_like(values[1], "delay or smoothing time")
    return c.same([values[0], values[2]], "starts (initial value) and delays")


def _trend(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    values = _args(c, args, lhs)
    c.time_like(values[1], "average time")
    return None if c.time is None else c.time ** -1


def _forecast(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    values = _args(c, args, lhs)
    c.time_like(values[1], "average time")
    c.time_like(values[2], "horizon")
    return values[0]


def _sample(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    values = _args(c, args, lhs)
    return c.same(values[1:], "samples (initial value) and holds")


def _integ(c: Checker, args: tuple, lhs: Units | None) -> Inferred:
    """A stock inside an expression (macros): its initial value's units."""
    return _args(c, args, lhs)[1]


STATEFULS: dict[str, Callable[[Checker, Any, Units | None], Inferred]] = {
    "integ": _integ, "delay": _delay, "delayn": _delay, "delay_fixed": _delay,
    "smooth": _delay, "trend": _trend, "forecast": _forecast, "sample_if_true": _sample,
    "initial": _first,
}
