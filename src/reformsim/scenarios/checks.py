"""Checks of a ScenarioSet: its links (``extends``, packages, factorial), and its names
against a model. Every problem is a ScenarioError naming file, scenario and key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.ir import fold_name
from ..model.shapes import cell_names
from .spec import (
    Changes,
    Factorial,
    Scenario,
    ScenarioError,
    ScenarioSet,
    combination_name,
    combinations,
    resolve,
    scenario_names,
    suggest,
)

if TYPE_CHECKING:
    from ..engine.compiled import CompiledModel

# what each key of a scenario changes, and where that kind of thing is changed
_WANTS = {"set": "constants", "schedule": "constants", "initial": "stocks", "lookups": "lookups",
          "uncertainty": "constants"}
_WHAT = {"constants": "a constant", "stocks": "a stock", "lookups": "a lookup"}
_HINTS = {"a stock": "set its initial value under 'initial'",
          "a lookup": "replace it under 'lookups'",
          "a constant": "set it under 'set' or 'schedule'",
          "a control variable": "set it under 'time' (initial, final, step, saveper)",
          "computed during the run": "change the constants it is computed from"}


@dataclass(frozen=True)
class ModelNames:
    """A model's names by kind, each mapping the folded name to the name as written."""

    constants: dict[str, str]
    stocks: dict[str, str]
    lookups: dict[str, str]
    variables: dict[str, str]     # everything simulate can keep as an output
    kinds: dict[str, str]         # folded name -> "a stock", "a constant"...


def model_names(model: CompiledModel) -> ModelNames:
    """The names a scenario may use, from the model."""
    constants = {fold_name(e.name): e.name for e in model.constants() if e.kind != "control"}
    for e in model.constants():  # each cell of an array constant may be set on its own
        if e.dims:
            constants.update({fold_name(n): n for n in cell_names(model.ir, e)})
    stocks = {fold_name(e.name): e.name for e in model.stocks}
    lookups = {fold_name(e.name): e.name for e in model.elements if e.kind == "lookup"}
    variables = {fold_name(e.name): e.name for e in model.elements if e.kind != "lookup"}
    for e in model.elements:  # a cell of an array names the array it belongs to
        if e.dims and e.kind != "lookup":
            variables.update({fold_name(n): n for n in cell_names(model.ir, e)})
    kinds = {name: "computed during the run" for name in variables}
    kinds.update({fold_name(e.name): "a control variable" for e in model.elements
                  if e.kind == "control"})
    kinds.update({n: "a constant" for n in constants})
    kinds.update({n: "a stock" for n in stocks})
    kinds.update({n: "a lookup" for n in lookups})
    return ModelNames(constants, stocks, lookups, variables, kinds)


def validate(scenarios: ScenarioSet, model: CompiledModel) -> None:
    """Check every name of ``scenarios`` against ``model``: right kind, or "did you mean"."""
    names = model_names(model)
    for s in scenarios.scenarios:
        _check_changes(s.source, f"scenario {s.name!r}", s.changes, names)
    for p in scenarios.packages:
        _check_changes(p.source, f"package {p.name!r}", p.changes, names)
    source = scenarios.sources[0] if scenarios.sources else Path("<memory>")
    for name in scenarios.outputs or ():
        if fold_name(name) not in names.variables:
            raise ScenarioError(source, "", "outputs", f"{name!r} is not in the model",
                                hint=suggest(name, names.variables.values()))
    if scenarios.uncertainty is not None:
        _check_uncertainty(scenarios, names)


def _check_changes(source: Path, where: str, changes: Changes, names: ModelNames) -> None:
    for key in ("set", "schedule", "initial", "lookups"):
        for name in getattr(changes, key):
            _check_name(source, where, key, name, names)


def _check_name(source: Path, where: str, key: str, name: str, names: ModelNames) -> None:
    table = getattr(names, _WANTS[key])
    if fold_name(name) in table:
        return
    kind = names.kinds.get(fold_name(name))
    if kind is None:
        hint = suggest(name, table.values())
        if not hint and (other := suggest(name, names.variables.values())):
            close = other.split("'")[1]
            hint = f"{other} (it is {names.kinds[fold_name(close)]})"
        raise ScenarioError(source, where, key, f"{name!r} is not in the model", hint=hint)
    raise ScenarioError(source, where, key, f"{name!r} is {kind}, not {_WHAT[_WANTS[key]]}",
                        hint=_HINTS[kind])


def _check_uncertainty(scenarios: ScenarioSet, names: ModelNames) -> None:
    uncertainty = scenarios.uncertainty
    if uncertainty is None:
        return
    for d in uncertainty.parameters:
        _check_name(uncertainty.source, "", "uncertainty", d.name, names)
    drawn = {fold_name(d.name): d.name for d in uncertainty.parameters}
    for s in resolve(scenarios):
        for name in [*s.changes.set, *s.changes.schedule]:
            if fold_name(name) in drawn:
                raise ScenarioError(
                    uncertainty.source, "", "uncertainty",
                    f"{drawn[fold_name(name)]!r} is drawn for every scenario, but scenario "
                    f"{s.name!r} sets it too",
                    hint="remove it from the scenario or from 'uncertainty: parameters'")


def check_links(scenarios: ScenarioSet) -> None:
    """Check ``extends``, package references, the factorial and the baseline name."""
    by_name = {s.name: s for s in scenarios.scenarios}
    packages = [p.name for p in scenarios.packages]
    for s in scenarios.scenarios:
        where = f"scenario {s.name!r}"
        if s.extends is not None and s.extends not in by_name:
            raise ScenarioError(s.source, where, "extends", f"no scenario is named {s.extends!r}",
                                hint=suggest(s.extends, by_name) or f"scenarios: {sorted(by_name)}")
        for name in s.packages:
            if name not in packages:
                raise ScenarioError(s.source, where, "packages", f"no package is named {name!r}",
                                    hint=suggest(name, packages) or f"packages: {sorted(packages)}")
        _check_cycle(s, by_name)
    if scenarios.factorial is not None:
        _check_factorial(scenarios.factorial, by_name, scenarios)
    names = scenario_names(scenarios)
    if scenarios.baseline is not None and scenarios.baseline not in names:
        source = scenarios.sources[0] if scenarios.sources else Path("<memory>")
        raise ScenarioError(source, "", "baseline", f"no scenario is named {scenarios.baseline!r}",
                            hint=suggest(scenarios.baseline, names) or f"scenarios: {names}")


def _check_cycle(start: Scenario, by_name: dict[str, Scenario]) -> None:
    chain = [start.name]
    current = start
    while current.extends is not None:
        if current.extends in chain:
            loop = chain[chain.index(current.extends):] + [current.extends]
            raise ScenarioError(start.source, f"scenario {start.name!r}", "extends",
                                "extends itself through " + " -> ".join(map(repr, loop)),
                                hint="break the cycle: one of them must not extend another")
        chain.append(current.extends)
        current = by_name[current.extends]


def _check_factorial(factorial: Factorial, by_name: dict[str, Scenario],
                     scenarios: ScenarioSet) -> None:
    packages = [p.name for p in scenarios.packages]
    for name in factorial.packages:
        if name not in packages:
            raise ScenarioError(factorial.source, "", "factorial", f"no package is named {name!r}",
                                hint=suggest(name, packages) or f"packages: {sorted(packages)}")
    if factorial.base is not None and factorial.base not in by_name:
        raise ScenarioError(factorial.source, "", "factorial",
                            f"the base {factorial.base!r} is not a scenario",
                            hint=(suggest(factorial.base, by_name)
                                  or f"scenarios: {sorted(by_name)}"))
    for combo in combinations(factorial):
        name = combination_name(factorial, combo)
        if name in by_name and (combo or factorial.base is None):
            raise ScenarioError(factorial.source, "", "factorial",
                                f"the combination {name!r} has the name of a scenario",
                                hint="rename that scenario, or make it the base: "
                                     "factorial: {base: NAME, packages: [...]}")
    _check_overlaps(factorial, scenarios)


def _check_overlaps(factorial: Factorial, scenarios: ScenarioSet) -> None:
    seen: dict[str, str] = {}
    for name in factorial.packages:
        for variable in scenarios.package(name).changes.names():
            if variable in seen:
                raise ScenarioError(factorial.source, "", "factorial",
                                    f"packages {seen[variable]!r} and {name!r} both change "
                                    f"{variable!r}, so their combination is ambiguous",
                                    hint="let each package change its own variables")
            seen[variable] = name




# -- lint: what is allowed but probably not meant ---------------------------------------------

# "Share of the reform budget spent on ...": constants documented as shares of one whole
_SHARE_OF = re.compile(r"^\W*(?:lever\.\s*)?share of (the [^,.;:()]+?) (?:spent|allocated|going|"
                       r"given|devoted|invested)\b", re.IGNORECASE)
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Finding:
    """Something a scenario file allows that is probably not meant: file, where, key, what."""

    source: Path
    where: str
    key: str
    detail: str
    note: bool = False   # allowed and often meant (shares leaving part of a budget unspent)

    def __str__(self) -> str:
        parts = [self.source.name] + [p for p in (self.where, repr(self.key) if self.key else "")
                                      if p]
        return ": ".join(parts + [self.detail])


def lint(scenarios: ScenarioSet, model: CompiledModel) -> list[Finding]:
    """Shares of one whole (constants documented "Share of the X spent on ...") that do not sum
    to 1 in a scenario (nor to 0: nothing shared out), at the start or after a schedule
    step; and schedule steps outside the run (before INITIAL TIME or after FINAL TIME).
    Shares summing to more than 1 promise more than the whole; less than 1 leave part of it
    unspent, which a design may mean (a factorial's packages), so those are ``note``s.
    CSV schedules are not checked. ``scenarios`` must have passed ``validate``."""
    import numpy as np

    names = model_names(model)
    defaults = _defaults(model, scenarios.time)
    start, end = defaults["initial_time"], defaults["final_time"]
    wholes: dict[str, list[str]] = {}
    for e in model.constants():
        match = _SHARE_OF.match(e.documentation) if not e.dims else None
        if match:
            wholes.setdefault(" ".join(match.group(1).split()).lower(), []).append(e.name)
    found = []
    model_values = {e.name: defaults[e.ident] for e in model.constants() if e.ident in defaults}
    for s in resolve(scenarios):
        where = f"scenario {s.name!r}"
        schedules = {names.constants[fold_name(n)]: v for n, v in s.changes.schedule.items()}
        values = model_values | {names.constants[fold_name(n)]: v
                                 for n, v in s.changes.set.items()}
        for name, schedule in schedules.items():
            for step in schedule.steps:
                if not start - _TOLERANCE <= step.at <= end + _TOLERANCE:
                    found.append(Finding(s.source, where, "schedule",
                                         f"{name!r}: a step at {step.at:g} is outside the run "
                                         f"({start:g} to {end:g}), so it never applies"))
        for whole, shares in wholes.items():
            found += _share_sums(s, where, whole, shares, values, schedules, np)
    return found


def _share_sums(s: Scenario, where: str, whole: str, shares: list[str], values: dict[str, float],
                schedules: dict[str, Any], np: Any) -> list[Finding]:
    points = {name: schedules[name].trajectory(values[name]) if name in schedules
              else ([], []) for name in shares}
    times = sorted({float("-inf")} | {t for ts, _ in points.values() for t in ts})
    for t in times:
        total = sum(float(np.interp(t, ts, vs)) if ts else values[name]
                    for name, (ts, vs) in points.items())
        if abs(total - 1) > _TOLERANCE and abs(total) > _TOLERANCE:   # 0: nothing to share
            when = "" if t == float("-inf") else f" from {t:g}"
            over = total > 1
            what = "more than all of it" if over else \
                f"{1 - total:.0%} of it is not allocated"
            return [Finding(s.source, where, "", f"the shares of {whole} ("
                            + ", ".join(shares) + f") sum to {total:.4g}{when}, not 1: {what}",
                            note=not over)]
    return []


def _defaults(model: CompiledModel, time: dict[str, float]) -> dict[str, float]:
    """Every scalar the model computes at the start (by ident), under the file's time
    overrides."""
    import numpy as np

    from ..engine import settings

    targets = [(settings.find(model, n, "constant"), v) for n, v in time.items()]
    overrides = settings.overrides([(t, settings.as_value(t, v)) for t, v in targets])
    with np.errstate(all="ignore"):
        computed = model.init(overrides, {}, np.zeros(1, dtype=np.uint64))
    return {e.ident: float(np.asarray(computed[model.slots[e.ident]]).reshape(-1)[0])
            for e in model.elements if e.kind != "lookup" and not e.dims
            and e.ident in model.slots and np.asarray(computed[model.slots[e.ident]]).size == 1}
