"""Scenario files (YAML, Vensim ``.cin``) -> ScenarioSet: plain, frozen data.

:func:`load_scenarios` checks everything a file can get wrong by itself
(keys, types, time step, model and CSV files, ``extends`` and packages);
:func:`reformsim.ensemble.validate` checks the names against a model.
The YAML format is described in :mod:`reformsim.scenario_yaml`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ReformsimError
from ..model.ir import fold_name

TOP_KEYS = ("model", "time", "scenarios", "packages", "factorial", "uncertainty", "outputs",
            "baseline")
CHANGE_KEYS = ("set", "initial", "lookups", "schedule")
PACKAGE_KEYS = ("label", "description", *CHANGE_KEYS)
SCENARIO_KEYS = ("label", "description", "extends", "packages", *CHANGE_KEYS)
TIME_KEYS = {"initial": "INITIAL TIME", "final": "FINAL TIME", "step": "TIME STEP",
             "saveper": "SAVEPER"}
METHODS = ("lhs", "sobol", "random")
# distribution -> (number of parameters, their meaning)
DISTRIBUTIONS = {"uniform": (2, "[low, high]"), "triangular": (3, "[low, mode, high]"),
                 "normal": (2, "[mean, sd]"), "lognormal": (2, "[mu, sigma]")}
BASELINE = "baseline"   # the empty combination of a factorial without a base
MAX_SEED = 2**63 - 1    # seeds are 64-bit signed integers in results files and in the engine


class ScenarioError(ReformsimError):
    """A scenario file is invalid, or names what its model lacks.

    Reads ``<file>: scenario '<name>': '<key>': <problem>`` (the scenario and
    key parts when known), plus ``\\n  hint: ...``.
    """

    def __init__(self, source: Path | str, where: str, key: str, problem: str,
                 hint: str = "") -> None:
        self.source, self.where, self.key = Path(source), where, key
        self.problem, self.hint = problem, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.source.name, self.where, repr(self.key) if self.key else "", self.problem]
        text = ": ".join(p for p in parts if p)
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def read_text(path: Path) -> str:
    """A scenario or data file's text (UTF-8, with or without a byte-order mark); a
    ScenarioError naming the line of the first byte that is not UTF-8."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(path, "", "", f"cannot be read: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ScenarioError(path, "", f"line {line}", f"is not UTF-8 text (byte "
                            f"0x{data[exc.start]:02X} cannot be read)",
                            hint="save the file as UTF-8 (in most editors: Save as... > "
                                 "Encoding: UTF-8)") from None


def suggest(name: str, known: Iterable[str]) -> str:
    """"did you mean 'x'?" comparing names as Vensim does (case, spaces, underscores)."""
    by_fold = {fold_name(k): k for k in known}
    close = difflib.get_close_matches(fold_name(name), list(by_fold), n=1, cutoff=0.6)
    return f"did you mean {by_fold[close[0]]!r}?" if close else ""


@dataclass(frozen=True)
class Step:
    """From ``at`` on the value is ``value``; reached linearly over ``ramp`` years."""

    at: float
    value: float
    ramp: float = 0.0


@dataclass(frozen=True)
class Schedule:
    """A constant as a function of time: steps from its value, or points read from a CSV."""

    steps: tuple[Step, ...] = ()
    points: tuple[tuple[float, float], ...] = ()   # (time, value), piecewise linear

    def trajectory(self, base: float) -> tuple[list[float], list[float]]:
        """Breakpoints (times, values) starting from ``base``; a repeated time is a jump."""
        if self.points:
            return [t for t, _ in self.points], [v for _, v in self.points]
        times: list[float] = []
        values: list[float] = []
        for step in self.steps:
            times += [step.at, step.at + step.ramp]
            values += [values[-1] if values else base, step.value]
        return times, values


@dataclass(frozen=True)
class Lookup:
    """A replacement graphical function (linear between points, held beyond the ends)."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]


@dataclass(frozen=True)
class Changes:
    """What a scenario or package changes; names as written in the file."""

    set: dict[str, float] = field(default_factory=dict)
    initial: dict[str, float] = field(default_factory=dict)
    lookups: dict[str, Lookup] = field(default_factory=dict)
    schedule: dict[str, Schedule] = field(default_factory=dict)

    def then(self, later: Changes) -> Changes:
        """These changes overridden, name by name (as Vensim compares names), by ``later``."""
        return Changes(**{key: _override(getattr(self, key), getattr(later, key))
                          for key in CHANGE_KEYS})

    def names(self) -> set[str]:
        return {fold_name(n) for key in CHANGE_KEYS for n in getattr(self, key)}


def _override(early: dict[str, Any], late: dict[str, Any]) -> dict[str, Any]:
    replaced = {fold_name(n) for n in late}
    return {**{n: v for n, v in early.items() if fold_name(n) not in replaced}, **late}


@dataclass(frozen=True)
class Scenario:
    """A named set of changes; ``extends`` and ``packages`` are applied first, in that order."""

    name: str
    label: str = ""
    description: str = ""
    changes: Changes = field(default_factory=Changes)
    extends: str | None = None
    packages: tuple[str, ...] = ()
    source: Path = Path("<memory>")

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Package:
    """A named policy package: changes that combine with others."""

    name: str
    label: str = ""
    description: str = ""
    changes: Changes = field(default_factory=Changes)
    source: Path = Path("<memory>")


@dataclass(frozen=True)
class Factorial:
    """All 2^k combinations of ``packages`` on top of ``base`` (none: the model as it is)."""

    packages: tuple[str, ...]
    base: str | None = None
    source: Path = Path("<memory>")


@dataclass(frozen=True)
class Distribution:
    """An uncertain constant: ``kind`` in DISTRIBUTIONS with its ``args``, optionally truncated."""

    name: str
    kind: str
    args: tuple[float, ...]
    bounds: tuple[float, float] | None = None

    def ppf(self, u: Any) -> Any:
        """Values at quantiles ``u`` in (0, 1)."""
        from scipy import stats

        a = self.args
        if self.kind == "uniform":
            return stats.uniform(loc=a[0], scale=a[1] - a[0]).ppf(u)
        if self.kind == "triangular":
            return stats.triang((a[1] - a[0]) / (a[2] - a[0]), loc=a[0], scale=a[2] - a[0]).ppf(u)
        if self.kind == "lognormal":
            return stats.lognorm(a[1], scale=math.exp(a[0])).ppf(u)
        lo, hi = self.bounds or (-float("inf"), float("inf"))
        return stats.truncnorm((lo - a[0]) / a[1], (hi - a[0]) / a[1], loc=a[0], scale=a[1]).ppf(u)


@dataclass(frozen=True)
class Uncertainty:
    """Monte Carlo over constants: the same ``samples`` draws for every scenario."""

    samples: int
    parameters: tuple[Distribution, ...]
    seed: int = 0
    method: str = "lhs"
    source: Path = Path("<memory>")


@dataclass(frozen=True)
class ScenarioSet:
    """Everything read from one or more scenario files; see :func:`load_scenarios`.

    ``time`` maps control variable names (``FINAL TIME``...) to overrides.
    """

    scenarios: tuple[Scenario, ...] = ()
    packages: tuple[Package, ...] = ()
    factorial: Factorial | None = None
    uncertainty: Uncertainty | None = None
    time: dict[str, float] = field(default_factory=dict)
    outputs: tuple[str, ...] | None = None
    baseline: str | None = None
    model: Path | None = None
    sources: tuple[Path, ...] = ()

    def package(self, name: str) -> Package:
        return next(p for p in self.packages if p.name == name)


def combinations(factorial: Factorial) -> list[tuple[str, ...]]:
    """All 2^k subsets of the packages, by size then in the order listed."""
    from itertools import combinations as choose

    names = factorial.packages
    return [combo for k in range(len(names) + 1) for combo in choose(names, k)]


def combination_name(factorial: Factorial, combo: tuple[str, ...]) -> str:
    """``a+b`` for packages a and b; the base's name (or ``baseline``) for none."""
    return "+".join(combo) if combo else factorial.base or BASELINE


def scenario_names(scenarios: ScenarioSet) -> list[str]:
    """Names of the scenarios to run, in order: declared ones, then factorial combinations."""
    names = [s.name for s in scenarios.scenarios]
    factorial = scenarios.factorial
    if factorial is not None:
        names += [combination_name(factorial, c) for c in combinations(factorial)
                  if c or factorial.base is None]
    return names or [BASELINE]


def resolve(scenarios: ScenarioSet) -> tuple[Scenario, ...]:
    """The scenarios to run, flattened (``extends`` and packages applied), factorial included.

    Declared scenarios come first, in file order, then the factorial's
    combinations by size: the base (or ``baseline``), ``a``, ``b``, ``a+b``...
    Without any, the model as it is runs as one scenario named ``baseline``.
    """
    by_name = {s.name: s for s in scenarios.scenarios}
    flat = [_flatten(s, by_name, scenarios) for s in scenarios.scenarios]
    if scenarios.factorial is None:
        return tuple(flat) or (Scenario(BASELINE, "Baseline", "The model as it is"),)
    return tuple(flat) + tuple(_combination(scenarios, scenarios.factorial, combo, by_name)
                               for combo in combinations(scenarios.factorial)
                               if combo or scenarios.factorial.base is None)


def _flatten(scenario: Scenario, by_name: dict[str, Scenario], scenarios: ScenarioSet) -> Scenario:
    changes = Changes()
    if scenario.extends is not None:
        changes = _flatten(by_name[scenario.extends], by_name, scenarios).changes
    for name in scenario.packages:
        changes = changes.then(scenarios.package(name).changes)
    return replace(scenario, changes=changes.then(scenario.changes), extends=None, packages=())


def _combination(scenarios: ScenarioSet, factorial: Factorial, combo: tuple[str, ...],
                 by_name: dict[str, Scenario]) -> Scenario:
    base = by_name.get(factorial.base or "")
    changes = _flatten(base, by_name, scenarios).changes if base else Changes()
    parts = [scenarios.package(name) for name in combo]
    for package in parts:
        changes = changes.then(package.changes)
    label = " + ".join(p.label or p.name for p in parts) or "Baseline"
    on = f" on top of {factorial.base!r}" if factorial.base else ""
    description = ("Packages " + ", ".join(repr(n) for n in combo) + on) if combo else \
        "The model as it is, without any package"
    return Scenario(combination_name(factorial, combo), label, description, changes,
                    source=factorial.source)
