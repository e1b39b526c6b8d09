"""Short texts for tables and charts: scenario labels cut to a width and still told apart,
file names from variable names, numbers and times as a sentence says them."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"[^\W\d_]+")        # a word: letters only
_JOINED = re.compile(r"\s+\+\s+")        # a factorial combination: "A + B + C"


def short_labels(labels: Sequence[str], width: int) -> list[str]:
    """``labels`` no wider than ``width`` characters, still different from one another.

    Labels that fit are kept. In those that do not, every long word is cut to the same
    number of letters, as many as lets all of them fit ("Institutions + Leadership + ICT"
    -> "Inst. + Lead. + ICT"), so a word reads the same on every row, and factorial
    combinations may all lose the spaces around "+"; only then is an end cut ("…"). Labels that
    would come out equal keep their start and end around a middle "…", or are numbered as
    a last resort.
    """
    texts = [" ".join(str(label).split()) for label in labels]
    long = [i for i, text in enumerate(texts) if len(text) > width]
    short = list(texts)
    for letters, compact in ((n, c) for n in range(8, 2, -1) for c in (False, True)):
        trial = {i: _fit(texts[i], letters, compact) for i in long}
        if all(len(text) <= width for text in trial.values()):
            break
    for i in long:
        short[i] = _cut(trial[i], width)
    for twins in _collisions(short):
        for i in twins:
            short[i] = _middle(texts[i], width)
    for twins in _collisions(short):
        for n, i in enumerate(twins, start=1):
            mark = f" #{n}"
            short[i] = _cut(texts[i], width - len(mark)) + mark
    return short


def _fit(text: str, letters: int, compact: bool) -> str:
    """``text`` with every word longer than ``letters`` + 1 cut to ``letters`` and a "."; with
    ``compact``, a combination "A + B" written "A+B"."""
    short = _WORD.sub(lambda m: m.group() if len(m.group()) <= letters + 1
                      else m.group()[:letters] + ".", text)
    return _JOINED.sub("+", short) if compact else short


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(1, width - 1)].rstrip() + "…"


def _middle(label: str, width: int) -> str:
    text = " ".join(label.split())
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head].rstrip() + "…" + text[len(text) - (width - 1 - head):].lstrip()


def _collisions(labels: list[str]) -> list[list[int]]:
    seen: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        seen.setdefault(label, []).append(i)
    return [indices for indices in seen.values() if len(indices) > 1]


def slug(name: str) -> str:
    """A file name stem from a variable's name: ``Population[north,young]`` ->
    ``population-north-young``."""
    text = re.sub(r"[^\w]+", "-", name.casefold(), flags=re.UNICODE).strip("-_")
    return text or "variable"


def number(x: float, scale: float) -> str:
    """``x`` with about three significant digits of ``scale`` (the largest value shown)."""
    digits = min(6, max(0, 2 - math.floor(math.log10(scale)))) if scale > 0 else 2
    return f"{x:,.{digits}f}"


def signed(value: float, scale: float) -> str:
    """``value`` with its sign and about three significant digits of ``scale`` (no sign when
    it rounds to 0)."""
    text = number(value, scale)
    if float(text.replace(",", "")) == 0:
        return number(0.0, scale)
    return text if text.startswith("-") else "+" + text


def when(ds: Any, t: float) -> str:
    """A time as a sentence says it: "in 2045" for a model in years, "at month 60" else."""
    label = time_label(ds)
    return f"in {t:g}" if label in ("year", "years") else f"at {label} {t:g}"


def time_label(ds: Any) -> str:
    units = " ".join(str(ds["time"].attrs.get("units", "")).split())
    return units.casefold() if units else "time"
