"""The units check: infer each equation's units from what it reads and compare with its own.

Rules (Vensim's, written down in docs/units.md):

- a variable's units are its declared ones; ``Time`` has the time unit, TIME
  STEP's; a variable with no units is unknown, and so is a product it is part of
  (no cascade of reports from one missing declaration: the lint reports the
  missing units), while in a sum it takes the units of the other terms;
- a bare number is dimensionless in ``*`` and ``/`` but takes the units of the other
  side in ``+``, ``-``, comparisons, MIN/MAX and IF THEN ELSE (``x + 1``), so
  ``stock / 5`` has the stock's units: when a flow is declared per time, the 5
  was a time, and the report says so;
- a stock's net flow must be in its units per time unit; delay, smoothing and
  averaging times must be in the time unit; EXP, LN, LOG and the trigonometric
  functions need a dimensionless argument; a table's output has the table's units.

Each problem names the element, both units and a hint.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import ir
from .unitrules import CALLS, STATEFULS
from .units import (
    DEFAULT_SYNONYMS,
    DMNL,
    NUMBER,
    Inferred,
    Units,
    UnitsSyntaxError,
    Vocabulary,
    plural_pairs,
)


@dataclass(frozen=True)
class UnitProblem:
    """One disagreement: where, what, and what to try."""

    element: str
    problem: str
    hint: str = ""


def check_units(model: ir.ModelIR) -> list[UnitProblem]:
    """Every units problem of the model, in file order (spellings first)."""
    return _Checker(model).run()


def is_macro_instance(name: str) -> bool:
    """A variable made by a macro call (``#caller>MACRO>variable#``, model/macros.py)."""
    return name.startswith("#") and name.endswith("#")


class _Checker:
    """Infers units bottom-up; ``rules`` per node type, ``CALLS`` per function."""

    def __init__(self, model: ir.ModelIR) -> None:
        self.model = model
        self.vocabulary = Vocabulary.from_groups(model.unit_synonyms or DEFAULT_SYNONYMS)
        self.problems: list[UnitProblem] = []
        self.element = ""
        self.numbers = False   # the equation multiplies or divides by a bare number

    def run(self) -> list[UnitProblem]:
        self._declare()
        for element in self.model.elements:
            # a macro's own equations are its author's: checked by the units they declare
            # for their output, not once per call (where a number argument would be blamed)
            if element.kind == "aux" and not is_macro_instance(element.name):
                self._check(element)
        return list(dict.fromkeys(self.problems))   # pieces of an array may repeat one

    # --- declarations ------------------------------------------------------------------------

    def _declare(self) -> None:
        written = {e.ident: e.units.strip() for e in self.model.elements if e.units.strip()}
        uses: Counter[str] = Counter()
        for ident, text in written.items():   # first pass: which spellings occur, how often
            try:
                uses.update(n for n, _ in self.vocabulary.parse(text).powers)
            except UnitsSyntaxError:
                pass
        for one, many in plural_pairs(self.vocabulary):
            rare, common = (one, many) if uses[one] < uses[many] else (many, one)
            user = next(e.name for e in self.model.elements if e.ident in written
                        and rare in {n for n, _ in self._quiet(written[e.ident]).powers})
            self.vocabulary.synonyms[rare] = common
            self.problems.append(UnitProblem(
                user, f"its units say {self.vocabulary.spellings[rare]!r} where the model "
                f"elsewhere says {self.vocabulary.spellings[common]!r}",
                hint="spell the unit one way (or list both as synonyms); they are read as "
                     "one unit for the rest of the check"))
        self.declared: dict[str, Units] = {}
        for element in self.model.elements:
            text = written.get(element.ident)
            if text is None:
                continue
            try:
                self.declared[element.ident] = self.vocabulary.parse(text)
            except UnitsSyntaxError:
                self.problems.append(UnitProblem(
                    element.name, f"its units {text!r} cannot be read",
                    hint="write unit names joined by * / ^ and parentheses, e.g. Person/Year"))
        self.time = self.declared.get("time_step", self.declared.get("initial_time"))

    def _quiet(self, text: str) -> Units:
        try:
            return self.vocabulary.parse(text)
        except UnitsSyntaxError:
            return DMNL

    def show(self, units: Inferred) -> str:
        return "a number" if units is NUMBER else self.vocabulary.show(units)

    def problem(self, text: str, hint: str = "") -> None:
        self.problems.append(UnitProblem(self.element, text, hint))

    # --- one element -------------------------------------------------------------------------

    def _check(self, element: ir.Element) -> None:
        self.element, declared = element.name, self.declared.get(element.ident)
        exprs = ([p.expr for p in element.expr.pieces] if isinstance(element.expr, ir.Pieces)
                 else [p.expr for p in element.expr.parts]
                 if isinstance(element.expr, ir.Assemble) else [element.expr])
        for expr in exprs:
            self.numbers = False
            if isinstance(expr, ir.Stateful) and expr.kind == "integ" and declared is not None:
                self._stock(expr, declared)
                continue
            found = self.infer(expr, declared)   # problems inside are found without units too
            if declared is None or found is None or found is NUMBER or found == declared:
                continue
            self.problem(f"its equation gives {self.show(found)} but its units are "
                         f"{self.show(declared)}", hint=self._hint(found, declared))

    def _stock(self, integ: ir.Stateful, declared: Units) -> None:
        flow, initial = (self.infer(a, declared) for a in integ.args)
        if self.time is not None and flow not in (None, NUMBER) and flow != declared / self.time:
            flows = integ.args[0]
            what = (f"its flow {self._name(flows)!r} is" if isinstance(flows, ir.Ref)
                    else "its net flow is")
            self.problem(f"{what} {self.show(flow)}; a stock in {self.show(declared)} needs "
                         f"{self.show(declared / self.time)}",
                         hint=self._hint(flow, declared / self.time))
        if initial not in (None, NUMBER) and initial != declared:
            self.problem(f"its initial value is {self.show(initial)} but its units are "
                         f"{self.show(declared)}", hint=self._hint(initial, declared))

    def _name(self, ref: ir.Ref) -> str:
        return next((e.name for e in self.model.elements if e.ident == ref.ident), ref.ident)

    def _hint(self, found: Units, wanted: Units) -> str:
        ratio = found / wanted
        if self.numbers:   # the equation multiplies or divides by a number: it carries units
            missing = wanted / found
            return (f"a number in the equation stands for a quantity in {self.show(missing)} "
                    f"(if it multiplies; {self.show(missing ** -1)} if it divides): give it a "
                    "constant of its own with those units")
        if len(ratio.powers) == 2 and sorted(p for _, p in ratio.powers) == [-1, 1]:
            (a, _), (b, _) = ratio.powers
            return (f"{self.vocabulary.spellings.get(a, a)} and "
                    f"{self.vocabulary.spellings.get(b, b)} do not cancel: convert with a "
                    "constant whose units say how many of one make the other")
        return "check the units of the variables it reads, and its own"

    # --- inference ---------------------------------------------------------------------------

    def infer(self, expr: Any, lhs: Units | None = None) -> Inferred:
        rule = self.RULES.get(type(expr))
        return rule(self, expr, lhs) if rule is not None else None

    def same(self, values: list[Inferred], what: str) -> Inferred:
        """Operands that must agree (+, -, MIN...): the agreed units, or None after a report."""
        known = [v for v in values if v is not None and v is not NUMBER]
        if not known:   # unknown terms take the units of the known ones
            return None if any(v is None for v in values) else NUMBER
        if any(v != known[0] for v in known[1:]):
            shown = " and ".join(dict.fromkeys(self.show(v) for v in known))
            self.problem(f"its equation {what} {shown}",
                         hint="terms that are added, compared or chosen between need one unit")
            return None
        return known[0]

    def times(self, a: Inferred, b: Inferred, divide: bool = False) -> Inferred:
        if a is None or b is None:
            return None
        if a is NUMBER or b is NUMBER:
            self.numbers = True
        if a is NUMBER and b is NUMBER:
            return NUMBER
        a, b = (DMNL if v is NUMBER else v for v in (a, b))
        return a / b if divide else a * b

    def power(self, base: Inferred, exponent: Any) -> Inferred:
        if base is None or base is NUMBER:
            return base
        if isinstance(exponent, ir.Num):
            return base ** Fraction(exponent.value).limit_denominator(1000)
        if base != DMNL:
            self.problem(f"its equation raises {self.show(base)} to a power that is not a "
                         "number", hint="only a dimensionless value can take a variable power")
        return DMNL if base == DMNL else None

    def time_like(self, value: Inferred, what: str) -> None:
        if self.time is not None and value not in (None, NUMBER) and value != self.time:
            self.problem(f"its {what} is in {self.show(value)}; it must be in "
                         f"{self.show(self.time)}, the time unit",
                         hint="give it the model's time unit (TIME STEP's)")

    def dimensionless(self, value: Inferred, function: str) -> Inferred:
        if value not in (None, NUMBER) and value != DMNL:
            self.problem(f"its equation takes {function} of {self.show(value)}",
                         hint=f"{function} needs a dimensionless argument: divide by a "
                              "constant in the same units first")
        return DMNL

    def _ref(self, expr: ir.Ref, lhs: Units | None) -> Inferred:
        if expr.ident == "time":
            return self.time
        return self.declared.get(expr.ident)

    def _op(self, expr: ir.Op, lhs: Units | None) -> Inferred:
        args = [self.infer(a, lhs) for a in expr.args]
        if expr.op in ("+", "-"):
            return self.same(args, "adds" if expr.op == "+" else "subtracts")
        if expr.op in ("*", "/"):
            return self.times(args[0], args[1], divide=expr.op == "/")
        if expr.op == "^":
            return self.power(args[0], expr.args[1])
        if expr.op == "neg":
            return args[0]
        if expr.op in ("=", "<>", "<", "<=", ">", ">="):
            self.same(args, "compares")
        return DMNL

    def _chain(self, expr: ir.Chain, lhs: Units | None) -> Inferred:
        acc = self.infer(expr.args[0], lhs)
        for op, arg in zip(expr.ops, expr.args[1:]):
            acc = self._op(ir.Op(op, (_Known(acc), arg)), lhs)
        return acc

    def _call(self, expr: ir.Call, lhs: Units | None) -> Inferred:
        rule = CALLS.get(expr.func)
        return rule(self, expr.args, lhs) if rule is not None else None

    def _stateful(self, expr: ir.Stateful, lhs: Units | None) -> Inferred:
        return STATEFULS[expr.kind](self, expr.args, lhs)

    def _lookup(self, expr: ir.LookupCall, lhs: Units | None) -> Inferred:
        self.infer(expr.arg, lhs)
        return self.declared.get(expr.table)

    def _reduce(self, expr: ir.Reduce, lhs: Units | None) -> Inferred:
        value = self.infer(expr.arg, lhs)
        return value if expr.func in ("sum", "vmin", "vmax") else None

    def _vector(self, expr: ir.VectorCall, lhs: Units | None) -> Inferred:
        rule = CALLS.get(expr.func)
        return rule(self, expr.args, lhs) if rule is not None else None

    RULES: dict[type, Callable[[_Checker, Any, Units | None], Inferred]] = {
        # the shape pass's nodes (a compiled model's IR) only move cells about
        **{kind: lambda self, e, lhs: self.infer(e.arg, lhs)
           for kind in (ir.Take, ir.Align, ir.Lift, ir.Cells)},
        ir.Reduce: _reduce, ir.VectorCall: _vector,
        ir.Num: lambda self, e, lhs: NUMBER,
        ir.ArrayLit: lambda self, e, lhs: NUMBER,
        ir.SubscriptValue: lambda self, e, lhs: NUMBER,
        ir.Ref: _ref, ir.Op: _op, ir.Chain: _chain, ir.Call: _call, ir.Stateful: _stateful,
        ir.LookupCall: _lookup,
        ir.InlineLookup: lambda self, e, lhs: NUMBER,   # WITH LOOKUP: its units are the LHS's
    }


@dataclass(frozen=True)
class _Known:
    """An operand whose units are already inferred (a chain folded left to right)."""

    units: Inferred


_Checker.RULES[_Known] = lambda self, e, lhs: e.units

