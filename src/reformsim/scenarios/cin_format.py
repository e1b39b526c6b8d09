"""Vensim changes files (``.cin``) -> a ScenarioSet with one scenario named after the file.

Vensim's format: one change per entry, ``NAME = 12.5`` for a constant and
``NAME((x1,y1),(x2,y2),...)`` or ``NAME(x1,...,xn,y1,...,yn)`` for a lookup
(an optional ``[(xmin,ymin)-(xmax,ymax)],`` range first); the optimisation
form ``0 <= NAME = 0.5 <= 1`` sets ``NAME`` to 0.5. Names compare as Vensim
compares them (case, spaces, underscores); later entries override earlier
ones. Subscripted constants (``NAME[sub]``, ``NAME = 1,2,3``) and string
variables (``:IS:``) are refused with a clear error.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise
from pathlib import Path

from ..errors import shown
from ..model.ir import fold_name
from .spec import Changes, Lookup, Scenario, ScenarioError, ScenarioSet, read_text

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CONSTANT = re.compile(rf"^(?:{_NUMBER}\s*<=)?\s*([^=<>()\[\]]+?(?:\[[^=<>()\[\]]+\])?)\s*=\s*"
                       rf"(.*?)\s*(?:<=\s*{_NUMBER})?$")
_LOOKUP = re.compile(r"^([^=<>()\[\]]+?)\s*\((.*)\)$", re.DOTALL)
_RANGE = re.compile(rf"^\s*\[\s*\(\s*{_NUMBER}\s*,\s*{_NUMBER}\s*\)\s*-\s*"
                    rf"\(\s*{_NUMBER}\s*,\s*{_NUMBER}\s*\)\s*\]\s*,?")
_SHAPE = "expected 'NAME = number' or 'NAME((x1,y1),(x2,y2),...)'"


def read_cin(path: Path) -> ScenarioSet:
    """Read one ``.cin`` changes file into a scenario named after the file's stem."""
    name = path.stem
    where = f"scenario {name!r}"
    constants: dict[str, float] = {}
    lookups: dict[str, Lookup] = {}
    for line, entry in _entries(read_text(path)):
        key = f"line {line}"
        if ":IS:" in entry.upper():
            raise ScenarioError(path, where, key, "string variables (:IS:) are not supported")
        lookup = _LOOKUP.match(entry)
        if "=" not in entry and "[" in entry.split("(")[0]:
            raise ScenarioError(path, where, key, "subscripted lookups are not supported",
                                hint="replace the lookup in a YAML scenario file")
        if lookup and "=" not in entry:
            _put(lookups, _name(lookup.group(1)), _table(path, where, key, lookup.group(2)))
        else:
            _put(constants, *_constant(path, where, key, entry))
    changes = Changes(set=constants, lookups=lookups)
    scenario = Scenario(name, name, f"Vensim changes file {path.name}", changes, source=path)
    return ScenarioSet(scenarios=(scenario,), sources=(path,))


def _entries(text: str) -> list[tuple[int, str]]:
    """(first line number, entry) with Vensim {comments} removed and open brackets joined."""
    text = re.sub(r"\{[^}]*\}", lambda m: "\n" * m.group().count("\n"), text)
    entries: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line and not pending:
            continue
        pending, start = (f"{pending} {line}", start) if pending else (line, number)
        if pending.count("(") <= pending.count(")"):
            entries.append((start, pending))
            pending = ""
    if pending:
        entries.append((start, pending))
    return entries


def _name(text: str) -> str:
    return " ".join(text.split())


def _constant(path: Path, where: str, key: str, entry: str) -> tuple[str, float]:
    match = _CONSTANT.match(entry)
    if not match or not match.group(1).strip():
        raise ScenarioError(path, where, key, f"cannot read {shown(entry)}", hint=_SHAPE)
    name, value = _name(match.group(1)), match.group(2)
    if "," in value:
        listed = value if len(value) <= 60 else value[:59] + "…"
        raise ScenarioError(path, where, key, f"{name!r}: a list of values ({listed}) is not "
                            "supported", hint="set one cell of an array at a time: "
                            "NAME[element] = number")
    try:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError
        return name, number
    except ValueError:
        raise ScenarioError(path, where, key, f"{name!r}: expected a number, got {shown(value)}",
                            hint=_SHAPE) from None


def _table(path: Path, where: str, key: str, body: str) -> Lookup:
    body = _RANGE.sub("", body, count=1)
    try:
        numbers = [float(n) for n in re.split(r"[\s,()]+", body) if n]
        if not all(math.isfinite(n) for n in numbers):
            raise ValueError
    except ValueError:
        raise ScenarioError(path, where, key, f"cannot read the lookup points {shown(body)}",
                            hint=_SHAPE) from None
    if "(" in body:   # (x1,y1),(x2,y2)...
        xs, ys = numbers[0::2], numbers[1::2]
    else:             # x1,...,xn,y1,...,yn
        xs, ys = numbers[: len(numbers) // 2], numbers[len(numbers) // 2:]
    if not xs or len(numbers) % 2 or any(b <= a for a, b in pairwise(xs)):
        raise ScenarioError(path, where, key, f"lookup points {shown(body.strip())}: expected "
                            "pairs with increasing x")
    return Lookup(tuple(xs), tuple(ys))


def _put(entries: dict, name: str, value: object) -> None:
    """Set ``name``, replacing an earlier entry Vensim takes for the same name."""
    for earlier in [n for n in entries if fold_name(n) == fold_name(name)]:
        del entries[earlier]
    entries[name] = value
