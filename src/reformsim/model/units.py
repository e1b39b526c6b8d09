"""Units of measure: a small dimensional algebra over Vensim's unit syntax, and a checker.

Why our own algebra and not pint: Vensim treats every unit name literally, as a
dimension of its own ("Person, Persons and People are different units" unless the
model lists them as synonyms). pint would know that Month and Year are both times
and accept ``Widget/Month`` where ``Widget/Year`` is declared; in a Vensim model
that is the bug to report (a missing conversion). So units here are products of
named units with rational exponents, compared by name, case folded:

- ``Dmnl``, ``dimensionless``, ``unitless`` and ``1`` are dimensionless;
- ``*``, ``/``, ``^`` (a number, possibly negative or a fraction) and parentheses;
  ``1/Year``; anything else between operators is one unit name (``$``, ``FTE``);
- a model's synonym groups (Vensim writes them as ``22:Person,People,Persons``
  after the sketch) make their names one unit; the ``[min,max]`` range that may
  follow a unit is the variable's range, not a unit (PySD already splits it off).

:func:`check_units` infers the units of every equation and reports where its two
sides disagree, with a hint (:mod:`reformsim.model.unitrules` holds the rules of
each kind of expression and each function).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

DIMENSIONLESS = {"dmnl", "dimensionless", "unitless", "1"}


@dataclass(frozen=True)
class Units:
    """A product of unit names raised to rational powers; empty means dimensionless."""

    powers: tuple[tuple[str, Fraction], ...] = ()

    @staticmethod
    def of(powers: dict[str, Fraction]) -> Units:
        return Units(tuple(sorted((n, p) for n, p in powers.items() if p != 0)))

    def __mul__(self, other: Units) -> Units:
        powers = dict(self.powers)
        for name, p in other.powers:
            powers[name] = powers.get(name, Fraction(0)) + p
        return Units.of(powers)

    def __truediv__(self, other: Units) -> Units:
        return self * other ** -1

    def __pow__(self, exponent: Fraction | int | float) -> Units:
        e = Fraction(exponent).limit_denominator(1000)
        return Units.of({n: p * e for n, p in self.powers})

    @property
    def dimensionless(self) -> bool:
        return not self.powers

    def __str__(self) -> str:
        if not self.powers:
            return "Dmnl"
        up = [_power(n, p) for n, p in self.powers if p > 0]
        down = [_power(n, -p) for n, p in self.powers if p < 0]
        top = "*".join(up) or "1"
        if not down:
            return top
        return f"{top}/{down[0]}" if len(down) == 1 else f"{top}/({'*'.join(down)})"


def _power(name: str, p: Fraction) -> str:
    return name if p == 1 else f"{name}^{p}" if p.denominator == 1 else f"{name}^({p})"


DMNL = Units()


class _Number:
    """A bare number: its units are whatever it is added to (dimensionless elsewhere)."""

    def __repr__(self) -> str:
        return "NUMBER"


NUMBER = _Number()
Inferred = Any   # what the checker infers: Units, NUMBER, or None (unknown)

# A unit expression: names (anything but operators), numbers, * / ^ and parentheses.
_TOKEN = re.compile(r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:/\d+)?)(?![\w$])|(?P<op>[*/^()])|"
                    r"(?P<name>[^*/^()]+))")


class UnitsSyntaxError(ValueError):
    """A units field that is not a unit expression."""


@dataclass
class Vocabulary:
    """How a model spells its units: synonym groups, and the spelling seen first of each."""

    synonyms: dict[str, str] = field(default_factory=dict)   # folded name -> canonical name
    spellings: dict[str, str] = field(default_factory=dict)  # canonical -> as first written

    @staticmethod
    def from_groups(groups: tuple[tuple[str, ...], ...]) -> Vocabulary:
        vocabulary = Vocabulary()
        for group in groups:
            names = [_fold(n) for n in group if n.strip()]
            for name in names:
                vocabulary.synonyms[name] = names[0]
        return vocabulary

    def name(self, written: str) -> str:
        folded = _fold(written)
        canonical = self.synonyms.get(folded, folded)
        self.spellings.setdefault(canonical, " ".join(written.split()))
        return canonical

    def parse(self, text: str) -> Units:
        """Units of a units field; raises UnitsSyntaxError if it is not a unit expression."""
        tokens = [(m.lastgroup, m.group(m.lastgroup).strip()) for m in _TOKEN.finditer(text)
                  if m.group(m.lastgroup).strip()]
        if "".join(t for _, t in tokens).replace(" ", "") != re.sub(r"\s", "", text):
            raise UnitsSyntaxError(text)
        units, rest = self._product(tokens)
        if rest:
            raise UnitsSyntaxError(text)
        return units

    def _product(self, tokens: list[tuple[str, str]]) -> tuple[Units, list[tuple[str, str]]]:
        units, tokens = self._factor(tokens)
        while tokens and tokens[0][1] in "*/":
            op, (right, tokens) = tokens[0][1], self._factor(tokens[1:])
            units = units * right if op == "*" else units / right
        return units, tokens

    def _factor(self, tokens: list[tuple[str, str]]) -> tuple[Units, list[tuple[str, str]]]:
        if not tokens:
            raise UnitsSyntaxError("")
        kind, text = tokens[0]
        if text == "(":
            units, rest = self._product(tokens[1:])
            if not rest or rest[0][1] != ")":
                raise UnitsSyntaxError(text)
            units, tokens = units, rest[1:]
        elif kind == "num":
            units, tokens = DMNL, tokens[1:]   # "1/Year": a number has no units
        elif kind == "name":
            folded = _fold(text)
            units = DMNL if folded in DIMENSIONLESS else Units.of({self.name(text): Fraction(1)})
            tokens = tokens[1:]
        else:
            raise UnitsSyntaxError(text)
        if tokens and tokens[0][1] == "^":
            if len(tokens) < 2 or tokens[1][0] != "num":
                raise UnitsSyntaxError("^")
            units, tokens = units ** Fraction(tokens[1][1]), tokens[2:]
        return units, tokens

    def show(self, units: Units) -> str:
        """Units with each name spelled as the model first wrote it."""
        return str(Units(tuple((self.spellings.get(n, n), p) for n, p in units.powers)))


def _fold(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def synonym_groups(text: str) -> tuple[tuple[str, ...], ...]:
    """Vensim's units synonyms from a .mdl file's settings (lines ``22:Person,People``)."""
    marker = re.search(r"^:L\x7f?<%\^E!@", text, re.MULTILINE)   # the settings block
    if marker is None:
        return ()
    return tuple(tuple(n.strip() for n in line[3:].split(","))
                 for line in text[marker.end():].splitlines() if line.startswith("22:"))


# What Vensim gives a new model (Model > Settings > Units Equiv), used when a file lists
# no synonyms of its own (XMILE files, and .mdl files written without them).
DEFAULT_SYNONYMS = (("$", "Dollar", "Dollars", "$s"), ("Day", "Days"), ("Hour", "Hours"),
                    ("Month", "Months"), ("Person", "People", "Persons"), ("Unit", "Units"),
                    ("Week", "Weeks"), ("Year", "Years"))


def plural_pairs(vocabulary: Vocabulary) -> list[tuple[str, str]]:
    """Unit names used both bare and with a plural 's' (case and cases), not made synonyms."""
    names = set(vocabulary.spellings)
    return sorted((n, n + "s") for n in names if n + "s" in names)
