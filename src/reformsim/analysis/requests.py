"""What a study is asked, read from text: ranges ``NAME=LO:HI``, periods ``2030:2040``,
and names checked against a model with "did you mean"."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ReformsimError
from ..model.ir import fold_name
from ..scenarios.spec import Distribution, suggest

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel


class RequestError(ReformsimError):
    """A study asks for something malformed or something the model lacks.

    Reads ``<where>: '<element>': <problem>`` plus ``\\n  hint: ...``, where ``where`` is a
    file name or the flag the text came from.
    """

    def __init__(self, where: str | Path, element: str, problem: str, hint: str = "") -> None:
        self.where = Path(where).name if isinstance(where, Path) else where
        self.element, self.problem, self.hint = element, problem, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = ": ".join(p for p in (self.where, repr(self.element) if self.element else "",
                                     self.problem) if p)
        return f"{text}\n  hint: {self.hint}" if self.hint else text


@dataclass(frozen=True)
class Period:
    """A save time (``start == end``) or the time-average over ``[start, end]``."""

    start: float
    end: float

    @property
    def is_point(self) -> bool:
        return self.start == self.end

    def label(self) -> str:
        return f"{self.start:g}" if self.is_point else f"{self.start:g}:{self.end:g}"

    def jsonable(self) -> float | list[float]:
        """A number for a point, ``[start, end]`` for a period."""
        return self.start if self.is_point else [self.start, self.end]


def _number(text: str, where: str, whole: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RequestError(where, whole, f"{what} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise RequestError(where, whole, f"{what} must be finite, got {text.strip()!r}")
    return value


def parse_period(text: str | float, where: str = "--at") -> Period:
    """``2035`` -> that save time; ``2030:2040`` -> the mean over 2030 to 2040."""
    if isinstance(text, Period):
        return text
    if not isinstance(text, str):
        return Period(float(text), float(text))
    start, sep, end = text.partition(":")
    first = _number(start, where, text, "time")
    if not sep:
        return Period(first, first)
    last = _number(end, where, text, "end of the period")
    if last <= first:
        raise RequestError(where, text, f"the period ends ({last:g}) before it starts "
                           f"({first:g})", hint="write START:END with START < END, e.g. 2030:2040")
    return Period(first, last)


def parse_range(text: str, where: str = "--param") -> tuple[str, float, float]:
    """``NAME=LO:HI`` -> (name, lo, hi) with lo < hi."""
    name, sep, rest = text.rpartition("=")
    low, colon, high = rest.partition(":")
    if not sep or not colon or not name.strip():
        raise RequestError(where, text, "expected NAME=LOW:HIGH",
                           hint=f"e.g. {where} \"Trust gain time=2:4\"")
    lo = _number(low, where, text, "low end")
    hi = _number(high, where, text, "high end")
    if lo >= hi:
        raise RequestError(where, text, f"the low end {lo:g} is not below the high end {hi:g}",
                           hint="write NAME=LOW:HIGH with LOW < HIGH")
    return name.strip(), lo, hi


def uniform(name: str, lo: float, hi: float) -> Distribution:
    """The uniform distribution a ``NAME=LO:HI`` range stands for."""
    if not lo < hi:
        raise RequestError("", name, f"the low end {lo:g} is not below the high end {hi:g}")
    return Distribution(name, "uniform", (float(lo), float(hi)))


def as_distribution(name: str, value: Any) -> Distribution:
    """A Distribution, a ``(lo, hi)`` pair or ``"lo:hi"`` text -> a Distribution."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, str):
        return uniform(*parse_range(f"{name}={value}"))
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise RequestError("", name, f"expected (low, high) or a Distribution, got {value!r}") \
            from None
    return uniform(name, float(lo), float(hi))


def swing(distribution: Distribution) -> tuple[float, float]:
    """A one-at-a-time swing: the ends of a bounded range, the 5th and 95th percentiles of
    an unbounded one."""
    if distribution.kind == "uniform":
        return distribution.args[0], distribution.args[1]
    if distribution.kind == "triangular":
        return distribution.args[0], distribution.args[2]
    low, high = distribution.ppf([0.05, 0.95])
    return float(low), float(high)


def constant_name(model: CompiledModel, name: str, where: str) -> str:
    """The model's spelling of a constant a study may set; "did you mean" when unknown."""
    from ..scenarios.checks import model_names

    names = model_names(model)
    folded = fold_name(name)
    if folded in names.constants:
        return names.constants[folded]
    kind = names.kinds.get(folded)
    if kind is not None:
        raise RequestError(where, name, f"is {kind} of {model.source.name}, not a constant",
                           hint="choose a constant (reformsim describe MODEL lists them)")
    hint = suggest(name, names.constants.values())
    raise RequestError(where, name, f"is not a constant of {model.source.name}",
                       hint=hint or "reformsim describe MODEL lists the constants")


def variable_name(model: CompiledModel, name: str, where: str = "--var") -> str:
    """The model's spelling of a variable a study can measure."""
    from ..scenarios.checks import model_names

    names = model_names(model)
    folded = fold_name(name)
    if folded in names.variables:
        return names.variables[folded]
    hint = suggest(name, names.variables.values())
    raise RequestError(where, name, f"is not a variable of {model.source.name}",
                       hint=hint or "reformsim describe MODEL lists the variables")


def lever_ranges(model: CompiledModel) -> tuple[Distribution, ...]:
    """Uniform ranges of the constants whose units declare both limits (Vensim's
    ``units [lo, hi]``): the model's own lever ranges."""
    found = []
    for element in model.constants():
        lo, hi = element.limits
        if element.kind == "aux" and not element.dims and lo is not None and hi is not None \
                and lo < hi:
            found.append(uniform(element.name, lo, hi))
    return tuple(found)
