"""reformsim's intermediate representation: plain, frozen data.

The translator turns PySD's AbstractModel into these objects; the compiler
reads them. Nothing here knows about PySD or numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Ref:
    """A reference to an element (by its identifier) or to ``time``.

    ``subs`` are the subscripts written after an array's name, as written:
    element names, range names, or range names marked ``!`` for a reduction.
    """

    ident: str
    subs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArrayLit:
    """A table of numbers given for a whole array (``x[a, b] = 1, 2; 3, 4``), row-major."""

    values: tuple[float, ...]
    shape: tuple[int, ...]


@dataclass(frozen=True)
class SubscriptValue:
    """A subscript range or element used as a number: its 1-based position in its range."""

    name: str


@dataclass(frozen=True)
class Op:
    """An operator applied to operands.

    ``op`` is one of ``+ - * / ^ neg = <> < <= > >= and or not``. Binary
    operators always have two operands: the translator has already folded
    Vensim's operator chains (right for ``^``; three or more operands of
    ``+ - * /`` make a :class:`Chain`).
    """

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Chain:
    """A chain of ``+ -`` or of ``* /`` evaluated left to right: ``a + b - c ...``.

    ``ops[i]`` joins ``args[i]`` and ``args[i + 1]``. The translator makes a
    chain of three or more operands one node, so a 250-term sum is not a tree
    250 levels deep; the result is the same as the left-nested binary ``Op``s.
    """

    ops: tuple[str, ...]
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Call:
    """A builtin function call; ``func`` is PySD's lower-case name.

    ``shape`` is set (by the shape pass) on a RANDOM call in a subscripted
    equation: the cells of its left side, each drawing from its own stream.
    """

    func: str
    args: tuple[Expr, ...]
    shape: tuple[int, ...] = ()


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
    """A call of a lookup element ``table`` at ``arg`` (``subs``: the lookup's subscripts)."""

    table: str
    arg: Expr
    subs: tuple[str, ...] = ()


@dataclass(frozen=True)
class InlineLookup:
    """``WITH LOOKUP(arg, table)``."""

    arg: Expr
    table: Table


@dataclass(frozen=True)
class TableArray:
    """One graphical function per cell of an array (a subscripted lookup, or a piece of one).

    ``xs`` and ``ys`` hold ``shape`` numbers row-major: the cells' sizes, then the
    points of each cell's table (shorter tables padded by repeating their last point).
    """

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    shape: tuple[int, ...]
    mode: str = "interpolate"


@dataclass(frozen=True)
class CellLookup:
    """A subscripted lookup called at ``arg``: each cell evaluates its own table.

    Made by the shape pass; ``arg`` and ``table`` (without its point axis) are
    laid out over the same ranges, with length-1 axes where one lacks a range.
    """

    arg: Expr
    table: TableArray


@dataclass(frozen=True)
class Data:
    """A time series read from a data file (GET XLS/DIRECT DATA), one per cell.

    ``values`` holds ``len(times)`` rows of ``shape`` cells, row-major;
    ``mode`` is how it is read between its times: ``interpolate``, ``raw``,
    ``hold_backward`` or ``look_forward`` (Vensim's keywords, as PySD reads them).
    """

    times: tuple[float, ...]
    values: tuple[float, ...]
    shape: tuple[int, ...]
    mode: str = "interpolate"


@dataclass(frozen=True)
class Input:
    """A value supplied with each run that varies in time (a schedule); ``key`` names its data."""

    key: str


@dataclass(frozen=True)
class StateRef:
    """A lifted state's output, made by the compiler where a ``Stateful`` stood.

    A node of its own, so that no model name (``__s0`` included) can be
    mistaken for it.
    """

    index: int


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
    shape: tuple[int, ...] = ()     # the cells it holds, for a state of an array


# --- shape operations ---------------------------------------------------------------------
# The compiler's shape pass (reformsim.shapes) rewrites array equations with these nodes, so
# every shape decision is made at compile time and code generation only spells them out.
# An array value has shape (E, *sizes): the ensemble axis first, of length 1 when shared.


@dataclass(frozen=True)
class Take:
    """Pick cells of an array: per subscript axis an index (dropped axis), positions, or None
    (all)."""

    arg: Expr
    index: tuple[int | tuple[int, ...] | None, ...]


@dataclass(frozen=True)
class Align:
    """Reorder an array's subscript axes (``order``) and insert length-1 axes where ``keep`` is
    False."""

    arg: Expr
    order: tuple[int, ...]
    keep: tuple[bool, ...]


@dataclass(frozen=True)
class Lift:
    """A scalar made an array of ``rank`` length-1 subscript axes, ready to broadcast."""

    arg: Expr
    rank: int


@dataclass(frozen=True)
class Reduce:
    """SUM, PROD, VMIN or VMAX over subscript axes (0-based, ensemble axis excluded)."""

    func: str
    arg: Expr
    axes: tuple[int, ...]


@dataclass(frozen=True)
class VectorCall:
    """A VECTOR function or INVERT MATRIX along subscript axis ``axis`` (see functions.py)."""

    func: str
    args: tuple[Expr, ...]
    axis: int
    rank: int


@dataclass(frozen=True)
class Cells:
    """Some cells of an array (``shape`` cells, flat positions ``cells``) as one axis.

    Made when the cells of one delay or smooth need different orders: each
    group of cells that share one becomes a state of its own (see
    :func:`reformsim.engine.compiler.split_states`).
    """

    arg: Expr
    shape: tuple[int, ...]
    cells: tuple[int, ...]


@dataclass(frozen=True)
class Part:
    """One piece of an assembled array: its value of ``shape`` cells, and where they go.

    ``cells`` are flat positions in the array; ``picks`` the flat positions in
    the piece that go there (None: all, in order).
    """

    expr: Expr
    shape: tuple[int, ...]
    cells: tuple[int, ...]
    picks: tuple[int, ...] | None


@dataclass(frozen=True)
class Assemble:
    """An array of ``shape`` put together from its pieces."""

    shape: tuple[int, ...]
    parts: tuple[Part, ...]


Expr = Union[Num, Ref, ArrayLit, SubscriptValue, Op, Chain, Call, LookupCall, InlineLookup,
             Input, CellLookup, Data, Stateful, StateRef, Take, Align, Lift, Reduce, VectorCall,
             Assemble, Cells]


@dataclass(frozen=True)
class Piece:
    """One equation of an array: the cells it defines and their expression (or table).

    ``subs`` has one entry per dimension of the array: an element name, a
    range or a subrange; ``excepts`` lists cells (or blocks) left out
    (Vensim's ``:EXCEPT:``), each as such a tuple.
    """

    subs: tuple[str, ...]
    excepts: tuple[tuple[str, ...], ...]
    expr: Expr | Table | TableArray


@dataclass(frozen=True)
class Pieces:
    """An array's definition: one or more pieces that together cover its cells."""

    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class Element:
    """One model variable.

    ``kind`` is ``aux`` (constants, auxiliaries, flows and stocks: a stock is
    an aux whose expression is an ``integ`` Stateful), ``lookup`` (a table)
    or ``control`` (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER).
    ``limits`` and ``increment`` are the documented range of Vensim's units
    field, ``~ Dmnl [0, 1, 0.05]`` (None where not given or ``?``): what a
    slider offers; the engine does not clamp values to them.
    """

    name: str
    ident: str
    kind: str
    expr: Expr | Table | Pieces
    units: str = ""
    documentation: str = ""
    limits: tuple[float | None, float | None] = (None, None)
    increment: float | None = None
    dims: tuple[str, ...] = ()      # the array's subscript ranges; () for a scalar

    @property
    def is_stock(self) -> bool:
        def integ(e: object) -> bool:
            return isinstance(e, Stateful) and e.kind == "integ"
        if isinstance(self.expr, Pieces):
            return all(integ(p.expr) for p in self.expr.pieces)
        if isinstance(self.expr, Assemble):  # after the shape pass
            return all(integ(p.expr) for p in self.expr.parts)
        return integ(self.expr)


# The control variables, in the order structure rows and messages use.
CONTROLS = ("initial_time", "time_step", "saveper", "final_time")


def fold_name(name: str) -> str:
    """A name as Vensim compares names: case, runs of spaces/underscores and quotes folded
    (and spaces around the commas of a cell's subscripts: ``x[a, b]`` is ``x[a,b]``)."""
    folded = " ".join(str(name).replace("_", " ").replace('"', "").split()).lower()
    return folded.replace(", ", ",").replace(" ,", ",")


@dataclass(frozen=True)
class Subscripts:
    """The model's subscript ranges.

    ``ranges`` maps every range and subrange name to its elements, in
    order (copies and nested subranges already expanded); ``mapping`` maps
    a range to the ranges it maps to (``DimC: c1, c2 -> DimB``);
    ``families`` maps each range to its main range (the one whose elements
    give positions for subscripts used as values).
    """

    ranges: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mapping: dict[str, tuple[str, ...]] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelIR:
    """A whole model: where it came from, its subscript ranges and its elements, in file order."""

    source: Path
    elements: tuple[Element, ...]
    warnings: tuple[str, ...] = field(default=())
    subscripts: Subscripts = field(default_factory=Subscripts)
    shaped: bool = False            # set by the shape pass (reformsim.shapes)
    unit_synonyms: tuple[tuple[str, ...], ...] = ()   # groups of unit names meaning one unit

    def by_ident(self) -> dict[str, Element]:
        return {e.ident: e for e in self.elements}


# --- walking expressions ------------------------------------------------------------------

# Where each kind of node keeps its sub-expressions: a tuple ``args`` or a single ``arg``
# (Assemble keeps them in its parts). Leaves (numbers, references, data...) have none.
_ARGS = (Op, Chain, Call, Stateful, VectorCall)
_ARG = (LookupCall, InlineLookup, CellLookup, Take, Align, Lift, Reduce, Cells)
_CHILDREN: dict[type, Callable[[Expr], tuple[Expr, ...]]] = {
    **{kind: lambda e: e.args for kind in _ARGS},
    **{kind: lambda e: (e.arg,) for kind in _ARG},
    Assemble: lambda e: tuple(p.expr for p in e.parts),
}
_MAP_CHILDREN: dict[type, Callable[[Expr, Callable[[Expr], Expr]], Expr]] = {
    **{kind: lambda e, fn: replace(e, args=tuple(fn(a) for a in e.args)) for kind in _ARGS},
    **{kind: lambda e, fn: replace(e, arg=fn(e.arg)) for kind in _ARG},
    Assemble: lambda e, fn: replace(e, parts=tuple(replace(p, expr=fn(p.expr))
                                                   for p in e.parts)),
}


def children(expr: Expr) -> tuple[Expr, ...]:
    """The sub-expressions an expression reads directly."""
    rule = _CHILDREN.get(type(expr))
    return rule(expr) if rule is not None else ()


def map_children(expr: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """``expr`` with ``fn`` applied to each direct sub-expression."""
    rule = _MAP_CHILDREN.get(type(expr))
    return rule(expr, fn) if rule is not None else expr
