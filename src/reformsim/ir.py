"""reformsim's intermediate representation: plain, frozen data.

The translator turns PySD's AbstractModel into these objects; the compiler
reads them. Nothing here knows about PySD or numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Ref:
    """A reference to an element (by its identifier) or to ``time``."""

    ident: str


@dataclass(frozen=True)
class Op:
    """An operator applied to operands.

    ``op`` is one of ``+ - * / ^ neg = <> < <= > >= and or not``. Binary
    operators always have two operands: the translator has already folded
    Vensim's operator chains (left for ``+ - * /``, right for ``^``).
    """

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Call:
    """A builtin function call; ``func`` is PySD's lower-case name."""

    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Table:
    """A graphical function: points and what happens between and beyond them.

    ``mode`` is ``interpolate`` (Vensim: linear inside, hold beyond the
    ends), ``extrapolate`` (XMILE: linear beyond the ends too) or
    ``hold_backward`` (XMILE discrete).
    """

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    mode: str = "interpolate"


@dataclass(frozen=True)
class LookupCall:
    """A call of a lookup element ``table`` at ``arg``."""

    table: str
    arg: Expr


@dataclass(frozen=True)
class InlineLookup:
    """``WITH LOOKUP(arg, table)``."""

    arg: Expr
    table: Table


@dataclass(frozen=True)
class Input:
    """A value supplied with each run that varies in time (a schedule); ``key`` names its data."""

    key: str


@dataclass(frozen=True)
class Stateful:
    """A function with memory; the compiler lifts each into a state.

    ``kind`` and ``args`` (all expressions):

    - ``integ``: flow, initial (``nonneg``: XMILE non-negative stock)
    - ``delay``: input, delay time, initial, order (DELAY1/1I/3/3I)
    - ``delayn``: input, delay time, initial, order (DELAY N)
    - ``delay_fixed``: input, delay time, initial
    - ``smooth``: input, smoothing time, initial, order (SMOOTH*, SMOOTH N)
    - ``trend``: input, average time, initial trend
    - ``forecast``: input, average time, horizon, initial trend
    - ``sample_if_true``: condition, input, initial
    - ``initial``: value (INITIAL)
    """

    kind: str
    args: tuple[Expr, ...]
    nonneg: bool = False


Expr = Union[Num, Ref, Op, Call, LookupCall, InlineLookup, Input, Stateful]


@dataclass(frozen=True)
class Element:
    """One model variable.

    ``kind`` is ``aux`` (constants, auxiliaries, flows and stocks: a stock is
    an aux whose expression is an ``integ`` Stateful), ``lookup`` (a table)
    or ``control`` (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER).
    """

    name: str
    ident: str
    kind: str
    expr: Expr | Table
    units: str = ""
    documentation: str = ""
    limits: tuple[float | None, float | None] = (None, None)

    @property
    def is_stock(self) -> bool:
        return isinstance(self.expr, Stateful) and self.expr.kind == "integ"


# The control variables, in the order structure rows and messages use.
CONTROLS = ("initial_time", "time_step", "saveper", "final_time")


def fold_name(name: str) -> str:
    """A name as Vensim compares names: case, runs of spaces/underscores and quotes folded."""
    return " ".join(str(name).replace("_", " ").replace('"', "").split()).lower()


@dataclass(frozen=True)
class ModelIR:
    """A whole model: where it came from and its elements, in file order."""

    source: Path
    elements: tuple[Element, ...]
    warnings: tuple[str, ...] = field(default=())

    def by_ident(self) -> dict[str, Element]:
        return {e.ident: e for e in self.elements}
