"""Main effects and two-way interactions of a 2^k factorial of policy packages.

With each package coded +1 (in) or -1 (out), a main effect is the mean output of the
combinations that include the package minus the mean of those that do not; a two-way
interaction is the same contrast for the product of two codes, i.e. half the difference
between one package's effect with and without the other (Box, Hunter and Hunter 2005, 5.4).
``whole`` sets the gain of all packages together against the sum of each alone on the base:
positive when the whole beats the sum of its parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations as pairs
from typing import Any

import numpy as np
import pandas as pd

from ..scenarios.spec import Factorial, combination_name, combinations
from .requests import Period, RequestError
from .runs import periods_or_final, run_values, variable_of


@dataclass(frozen=True)
class FactorialEffects:
    """``effects``: output, time, effect (``a`` or ``a x b``), kind (main, interaction),
    value, and p5/p95 over samples when the run has several. ``whole``: output, time,
    all (gain of every package together over the base), parts (sum of single-package
    gains), synergy (all - parts)."""

    effects: pd.DataFrame
    whole: pd.DataFrame


def factorial_effects(dataset: Any, factorial: Factorial, variables: Sequence[str],
                      periods: Sequence[Period] = ()) -> FactorialEffects:
    """Effects of ``factorial``'s packages in a run that holds all its combinations."""
    names = [str(s) for s in dataset["scenario"].values]
    combos = combinations(factorial)
    missing = [combination_name(factorial, c) for c in combos
               if combination_name(factorial, c) not in names]
    if missing:
        raise RequestError(factorial.source, "factorial", f"the run lacks {len(missing)} of its "
                           f"{len(combos)} combinations (first: {missing[0]!r})",
                           hint="give the run of this factorial scenario file")
    rows = [combination_name(factorial, c) for c in combos]
    index = [names.index(r) for r in rows]
    codes = np.array([[1.0 if p in c else -1.0 for p in factorial.packages] for c in combos])
    effects, whole = [], []
    for variable in (variable_of(dataset, v) for v in variables):
        for period in periods_or_final(dataset, periods):
            y = run_values(dataset, variable, period)[index]       # (2^k, M)
            effects += _effects(codes, y, factorial.packages, variable, period)
            whole.append(_whole(codes, y, variable, period))
    return FactorialEffects(pd.DataFrame(effects), pd.DataFrame(whole))


def _contrast(sign: np.ndarray, y: np.ndarray) -> np.ndarray:
    """mean(y | +1) - mean(y | -1) per sample; (M,)."""
    return np.nanmean(y[sign > 0], axis=0) - np.nanmean(y[sign < 0], axis=0)


def _effects(codes: np.ndarray, y: np.ndarray, packages: Sequence[str], variable: str,
             period: Period) -> list[dict[str, Any]]:
    terms = [(p, "main", codes[:, i]) for i, p in enumerate(packages)]
    terms += [(f"{packages[i]} x {packages[j]}", "interaction", codes[:, i] * codes[:, j])
              for i, j in pairs(range(len(packages)), 2)]
    return [_row(variable, period, {"effect": name, "kind": kind}, _contrast(sign, y))
            for name, kind, sign in terms]


def _whole(codes: np.ndarray, y: np.ndarray, variable: str, period: Period) -> dict[str, Any]:
    on = (codes > 0).sum(axis=1)
    base = y[on == 0][0]
    together = y[on == len(codes[0])][0] - base
    parts = (y[on == 1] - base).sum(axis=0)
    row = _row(variable, period, {}, together, "all")
    row.update(_row(variable, period, {}, parts, "parts"))
    row.update(_row(variable, period, {}, together - parts, "synergy"))
    return row


def _row(variable: str, period: Period, labels: dict[str, str], values: np.ndarray,
         name: str = "value") -> dict[str, Any]:
    """Mean over samples, and the 5th/95th percentiles when there are several."""
    row: dict[str, Any] = {"output": variable, "time": period.jsonable(), **labels,
                           name: float(np.nanmean(values))}
    if len(values) > 1:
        p5, p95 = np.nanpercentile(values, [5, 95])
        row |= {f"{name}_p5" if name != "value" else "p5": float(p5),
                f"{name}_p95" if name != "value" else "p95": float(p95)}
    return row
