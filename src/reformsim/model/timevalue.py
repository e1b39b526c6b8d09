"""GET TIME VALUE(relativeto, offset, measure) rewritten as plain arithmetic on Time.

Vensim's reference: relativeto 0 is the current simulation time, 1 the initial
time, 2 the computer's clock; measure 0 is "units of Time in the model" (only
for relativeto 0 and 1). So GET TIME VALUE(0, offset, 0) is ``Time + offset``
and GET TIME VALUE(1, offset, 0) is ``INITIAL TIME + offset``. The other
measures (year, month, day of week...) count calendar dates from the time
labels set in Vensim's Model > Settings, which a model file does not hold, and
the clock (relativeto 2) would make a run impossible to repeat: both are refused.
"""

from __future__ import annotations

from . import ir

_HINT = "see docs/supported.md for what reformsim simulates"


def time_value(args: tuple[ir.Expr, ...]) -> ir.Expr | str:
    """The arithmetic GET TIME VALUE stands for, or why it cannot be simulated."""
    relative, offset, measure = args
    if not isinstance(relative, ir.Num) or not isinstance(measure, ir.Num):
        return "GET TIME VALUE whose 'relativeto' or 'measure' is not a number"
    if relative.value == 2:
        return "GET TIME VALUE of the computer's clock (relativeto 2: no run could be repeated)"
    if measure.value != 0:
        return (f"GET TIME VALUE with measure {measure.value:g} (a calendar measure: it needs "
                "Vensim's time labels, from Model > Settings, not held in the model file)")
    if relative.value not in (0, 1):
        return f"GET TIME VALUE with relativeto {relative.value:g} (expected 0, 1 or 2)"
    base = ir.Ref("time") if relative.value == 0 else ir.Ref("initial_time")
    return ir.Op("+", (base, offset))
