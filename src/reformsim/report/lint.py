"""Checks a modeller wants before trusting a model: units, documentation, unused constants,
and whether the stocks start in equilibrium."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..engine.compiled import CompiledModel
from ..engine.dependencies import references
from ..errors import ReformsimWarning
from ..model.ir import CONTROLS
from ..model.unitcheck import check_units, is_macro_instance


@dataclass(frozen=True)
class Finding:
    """One thing worth a modeller's look: which check, which element, what (and what to try)."""

    check: str
    element: str
    detail: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.check}: {self.element!r}: {self.detail}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


def lint(model: CompiledModel) -> list[Finding]:
    """Every finding, in model order within each check."""
    return [*_missing(model), *_consistency(model), *_unused(model),
            *_out_of_equilibrium(model)]


def _consistency(model: CompiledModel) -> list[Finding]:
    """Equations whose units disagree with their own (:mod:`reformsim.model.unitcheck`)."""
    return [Finding("units", p.element, p.problem, p.hint) for p in check_units(model.ir)]


def _missing(model: CompiledModel) -> list[Finding]:
    found = []
    for e in model.elements:
        if e.kind != "aux" or is_macro_instance(e.name):   # documented in the macro itself
            continue
        if not e.units.strip():
            found.append(Finding("units", e.name, "has no units"))
        if not e.documentation.strip():
            found.append(Finding("documentation", e.name, "has no documentation"))
    return found


def _unused(model: CompiledModel) -> list[Finding]:
    read: set[str] = set()
    for node in model.nodes.values():
        read |= references(node.expr, "rate") | references(node.expr, "init")
    for state in model.states:
        for arg in state.args:
            read |= references(arg, "rate") | references(arg, "init")
    return [Finding("unused", n.element.name, "is a constant nothing reads")
            for slot, n in model.nodes.items()
            if n.element.kind == "aux" and slot not in read and slot not in model.dynamic
            and n.element.ident not in CONTROLS]


def _out_of_equilibrium(model: CompiledModel, tolerance: float = 1e-9) -> list[Finding]:
    """Stocks that move during the first TIME STEP under the model's own values."""
    from ..engine.simulation import simulate

    stocks = [e.name for e in model.stocks]
    if not stocks:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReformsimWarning)
        first = simulate(model, outputs=stocks)
    if first.values.shape[1] < 2:
        return []
    start, after = first.values[0, 0], first.values[0, 1]
    step = first.times[1] - first.times[0]
    moving = np.abs(after - start) > tolerance * np.maximum(1.0, np.abs(start))
    return [Finding("equilibrium", name, f"starts at {start[i]:.6g} and moves "
                    f"{(after[i] - start[i]) / step:+.6g} per time unit")
            for i, name in enumerate(stocks) if moving[i]]
