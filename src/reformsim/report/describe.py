"""What a modeller asks of a model before writing scenarios: its elements by kind, each
constant's value, units and documented range, and the levers a scenario sets."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import numpy as np

from ..engine.compiled import CompiledModel

LEVER = re.compile(r"^\s*lever\b[.:]?\s*", re.IGNORECASE)   # a model's own mark on a lever
WIDTH = 100


def constant_values(model: CompiledModel) -> dict[str, Any]:
    """Each constant's value at the start, by name: a float, or an array for an array."""
    with np.errstate(all="ignore"):
        computed = model.init({}, {}, np.zeros(1, dtype=np.uint64))
    values = {}
    for e in model.constants():
        if e.ident in model.slots:
            value = np.asarray(computed[model.slots[e.ident]], dtype=float)
            values[e.name] = float(value.reshape(-1)[0]) if value.size == 1 else value[0]
    return values


def _matches(e: Any, text: str | None) -> bool:
    folded = (text or "").casefold()
    return not folded or folded in e.name.casefold() or folded in e.documentation.casefold()


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    flat = np.asarray(value).reshape(-1)
    return f"{flat[0]:g}" if np.all(flat == flat[0]) else f"{flat.min():g}..{flat.max():g}"


def _range(limits: tuple[float | None, float | None]) -> str:
    low, high = limits
    if low is None and high is None:
        return ""
    return f"[{'' if low is None else f'{low:g}'}, {'?' if high is None else f'{high:g}'}]"


def _doc(e: Any) -> str:
    return LEVER.sub("", " ".join(e.documentation.split()))


def describe_model(model: CompiledModel, values: dict[str, Any], text: str | None = None) -> str:
    """Stocks, flows, constants (``name = value [units] [range]: documentation``) and lookups,
    each heading with its count; only elements that hold ``text`` when it is given."""
    constants = [e for e in model.constants() if e.kind == "aux"]
    lookups = [e for e in model.elements if e.kind == "lookup"]
    lines = []
    for title, items in (("Stocks", model.stocks), ("Flows", model.flows()),
                         ("Constants", constants), ("Lookups", lookups)):
        shown = [e for e in items if _matches(e, text)]
        if text and not shown:
            continue
        lines.append(f"{title} ({len(shown)}" + (f" of {len(items)})" if text else ")"))
        for e in shown:
            value = f" = {_value(values.get(e.name))}" if title == "Constants" else ""
            units = f" [{e.units}]" if e.units else ""
            limits = f" {_range(e.limits)}" if _range(e.limits) else ""
            doc = " ".join(e.documentation.split())
            lines.append(f"  {e.name}{value}{units}{limits}" + (f": {doc}" if doc else ""))
    if not lines:
        return f"nothing in the model holds {text!r}\n"
    return "\n".join(lines) + "\n"


def lever_table(model: CompiledModel, values: dict[str, Any], text: str | None = None) -> str:
    """The constants a scenario sets, one aligned row each: name, value, units, range and what
    it is (documentation cut to the line). When the model marks levers ("LEVER." at the start
    of their documentation), only those."""
    constants = [e for e in model.constants() if e.kind == "aux"]
    marked = [e for e in constants if LEVER.match(e.documentation)]
    levers = marked or constants
    shown = [e for e in levers if _matches(e, text)]
    what = (f"{len(marked)} levers (documented \"LEVER.\") of {len(constants)} constants"
            if marked else f"{len(constants)} constants")
    head = what + (f"; {len(shown)} hold{'s' * (len(shown) == 1)} {text!r}" if text else "")
    if not shown:
        return head
    rows = [["name", "value", "units", "range", "what it is"]]
    rows += [[e.name, _value(values.get(e.name)), e.units, _range(e.limits), _doc(e)]
             for e in shown]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    indent = sum(widths) + 8
    room = max(30, WIDTH - indent)
    lines = [head]
    for row in rows:
        doc = textwrap.wrap(row[4], room, max_lines=2, placeholder=" …") or [""]
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]),
                 row[3].ljust(widths[3]), doc[0]]
        lines.append("  ".join(cells).rstrip())
        lines += [" " * indent + more for more in doc[1:]]
    return "\n".join(lines)
