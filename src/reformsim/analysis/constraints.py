"""Linear constraints on levers, written as text and read by a small grammar (never eval).

    constraint := side ("<=" | ">=" | "=" | "==" | "<" | ">") side
    side       := ["+" | "-"] term (("+" | "-") term)*
    term       := factor (("*" | "/") factor)*        at most one factor a name; divide by numbers
    factor     := NUMBER | NAME | '"' any text '"'

A NAME runs from a letter to the next operator, so names may hold spaces and digits
(``ICT share``, ``X1``); quote a name that holds an operator character. ``<`` reads as
``<=``: an optimiser cannot tell the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..model.ir import fold_name
from .requests import RequestError

_TOKEN = re.compile(r"""\s*(?:
    (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op><=|>=|==|=|<|>|[-+*/])
  | "(?P<quoted>[^"]+)"
  | (?P<name>[^\W\d][^-+*/<>="]*)
)""", re.VERBOSE)
_COMPARISONS = {"<=": "<=", "<": "<=", ">=": ">=", ">": ">=", "=": "=", "==": "="}


@dataclass(frozen=True)
class Constraint:
    """``low <= sum(coefficients[name] * name) <= high`` (either end may be infinite)."""

    coefficients: dict[str, float]
    low: float
    high: float
    text: str

    @property
    def equality(self) -> bool:
        return self.low == self.high


def parse_constraint(text: str, resolve: Callable[[str], str],
                     where: str = "--constraint") -> Constraint:
    """Read ``text``; ``resolve`` maps a name to a lever's spelling or raises RequestError."""
    tokens = _tokens(text, where)
    ops = [i for i, (kind, value) in enumerate(tokens) if kind == "op" and value in _COMPARISONS]
    if len(ops) != 1:
        raise RequestError(where, text, "expected one comparison (<=, >= or =)" if not ops
                           else "expected one comparison, found several",
                           hint='e.g. "ICT share + Leadership share <= 1"')
    k = ops[0]
    left = _side(tokens[:k], text, where, resolve)
    right = _side(tokens[k + 1:], text, where, resolve)
    coefficients = dict(left[0])
    for name, c in right[0].items():
        coefficients[name] = coefficients.get(name, 0.0) - c
    coefficients = {n: c for n, c in coefficients.items() if c != 0.0}
    if not coefficients:
        raise RequestError(where, text, "names no lever", hint="a constraint limits levers, "
                           'e.g. "ICT share + Leadership share <= 1"')
    bound = right[1] - left[1]
    kind = _COMPARISONS[tokens[k][1]]
    low = bound if kind in (">=", "=") else -np.inf
    high = bound if kind in ("<=", "=") else np.inf
    return Constraint(coefficients, float(low), float(high), text)


def _tokens(text: str, where: str) -> list[tuple[str, str]]:
    tokens, at = [], 0
    stripped = text.rstrip()
    while at < len(stripped):
        match = _TOKEN.match(stripped, at)
        if match is None or match.end() == at:
            raise RequestError(where, text, f"cannot read {stripped[at:].strip()!r}",
                               hint="use numbers, lever names, + - * / and one of <= >= =")
        kind = match.lastgroup or ""
        value = match.group(kind)
        tokens.append(("name" if kind == "quoted" else kind, value.strip()))
        at = match.end()
    return tokens


def _side(tokens: list[tuple[str, str]], text: str, where: str,
          resolve: Callable[[str], str]) -> tuple[dict[str, float], float]:
    """One side of the comparison: coefficients by lever, and the constant term."""
    if not tokens:
        raise RequestError(where, text, "a side of the comparison is empty")
    coefficients: dict[str, float] = {}
    constant = 0.0
    terms: list[list[tuple[str, str]]] = []
    signs: list[float] = []
    current: list[tuple[str, str]] = []
    sign = 1.0
    for kind, value in tokens:
        if kind == "op" and value in "+-":
            if current and current[-1][0] == "op":
                raise RequestError(where, text, f"unexpected {value!r} after {current[-1][1]!r}")
            if current:                    # a binary + or -: the term before it is complete
                terms.append(current)
                signs.append(sign)
                current, sign = [], 1.0
            sign *= -1.0 if value == "-" else 1.0
            continue
        current.append((kind, value))
    terms.append(current)
    signs.append(sign)
    for sign, term in zip(signs, terms):
        name, factor = _term(term, text, where)
        if name is None:
            constant += sign * factor
        else:
            lever = resolve(name)
            coefficients[lever] = coefficients.get(lever, 0.0) + sign * factor
    return coefficients, constant


def _term(term: list[tuple[str, str]], text: str, where: str) -> tuple[str | None, float]:
    """``2 * x / 4`` -> ("x", 0.5); a term of numbers only -> (None, value)."""
    if not term or term[0][0] == "op":
        raise RequestError(where, text, "a term is missing between operators")
    name, factor, op = None, 1.0, "*"
    for kind, value in term:
        if kind == "op":
            if value not in "*/":
                raise RequestError(where, text, f"unexpected {value!r}")
            op = value
            continue
        if kind == "name":
            if name is not None or op == "/":
                raise RequestError(where, text, "is not linear: a term multiplies or divides "
                                   "by a lever", hint="write each lever with a number factor")
            name = value
        else:
            number = float(value)
            if op == "/" and number == 0:
                raise RequestError(where, text, "divides by zero")
            factor = factor / number if op == "/" else factor * number
        op = "*"   # a number and a name side by side multiply
    return name, factor


def lever_resolver(levers: Sequence[str], where: str = "--constraint") -> Callable[[str], str]:
    """A name -> the lever it means (as Vensim compares names), or "did you mean"."""
    from ..scenarios.spec import suggest

    by_fold = {fold_name(n): n for n in levers}

    def resolve(name: str) -> str:
        if fold_name(name) in by_fold:
            return by_fold[fold_name(name)]
        hint = suggest(name, levers)
        raise RequestError(where, name, "is not one of the levers",
                           hint=(hint + "; " if hint else "") + "constraints may name only "
                           "levers given with --lever")
    return resolve


def matrix(constraints: Sequence[Constraint], levers: Sequence[str]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, low, high) with one row per constraint and one column per lever."""
    a = np.array([[c.coefficients.get(n, 0.0) for n in levers] for c in constraints], float)
    return (a.reshape(len(constraints), len(levers)),
            np.array([c.low for c in constraints], float),
            np.array([c.high for c in constraints], float))
