"""YAML scenario files -> ScenarioSet, checking keys, types and referenced files as it reads.

The format (every key optional; names are the model's, compared as Vensim
compares them: case, spaces and underscores do not matter)::

    model: ../models/reform.mdl      # relative to this file
    time: {initial: 2025, final: 2045, step: 0.25, saveper: 1}   # control overrides
    scenarios:
      status quo: {label: Status quo}
      holistic:
        label: Holistic roadmap      # shown in tables and legends (default: the name)
        description: All strategies, ICT once back offices are integrated.
        extends: status quo          # its changes first (chains allowed, cycles refused)
        packages: [ict]              # then these packages' changes, then its own
        set: {reform budget: 1.2}    # constants
        initial: {trust in government: 0.39}          # stock initial values
        lookups:                     # replace a graphical function: [x, y] points
          effect of ict on quality: [[0, 0.6], [1, 1], [3, 1.5]]
        schedule:                    # a constant as a function of time
          training share:            # steps from the constant's value; ``ramp`` years
            - {at: 2028, value: 0.3, ramp: 2}         # linear from 2028 to 2030
            - {at: 2035, value: 0.1}                  # a jump in 2035
          ict share: {csv: budgets.csv, column: ict, time: year}   # time: first column
    packages:                        # like scenarios, without extends/packages
      ict: {label: ICT, set: {ict share: 0.3}}
      capacity: {label: Capacity, set: {training share: 0.3}}
    factorial: {base: status quo, packages: [ict, capacity]}
    # or ``factorial: [ict, capacity]``: 2^k scenarios named ``ict``, ``ict+capacity``...
    # labelled "ICT + Capacity"; the empty one is the base (or a scenario ``baseline``).
    uncertainty:                     # the same M draws for every scenario
      samples: 200
      seed: 7                        # default 0
      method: lhs                    # lhs (default), sobol, random
      parameters:
        trust adjustment time: {uniform: [3, 8]}
        adoption time: {normal: [3, 1], bounds: [1, 5]}   # bounds: truncated
        engagement elasticity: {triangular: [0.1, 0.3, 0.6]}
        base trust: {lognormal: [-0.9, 0.1]}              # mu, sigma of the log
    outputs: [service quality, trust in government]       # default: every variable
    baseline: status quo             # what comparisons subtract (default: the first)
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import yaml

from ..errors import shown
from .safe_yaml import safe_load
from .spec import (
    CHANGE_KEYS,
    DISTRIBUTIONS,
    MAX_SEED,
    METHODS,
    PACKAGE_KEYS,
    SCENARIO_KEYS,
    TIME_KEYS,
    TOP_KEYS,
    Changes,
    Distribution,
    Factorial,
    Lookup,
    Package,
    Scenario,
    ScenarioError,
    ScenarioSet,
    Schedule,
    Step,
    Uncertainty,
    read_text,
    suggest,
)

_STEP_KEYS = ("at", "value", "ramp")
_CSV_KEYS = ("csv", "column", "time")
_FACTORIAL_KEYS = ("base", "packages")
_UNCERTAINTY_KEYS = ("samples", "seed", "method", "parameters")


@dataclass(frozen=True)
class _At:
    """Where in a file we are reading: raises errors that point there."""

    source: Path
    where: str = ""
    allow_outside_data: bool = False

    def within(self, where: str) -> _At:
        return replace(self, where=where)

    def fail(self, key: str, problem: str, hint: str = "") -> NoReturn:
        raise ScenarioError(self.source, self.where, key, problem, hint)

    def mapping(self, key: str, value: Any, allowed: tuple[str, ...] = ()) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"expected a mapping (name: value), got {shown(value)}")
        for name in value:
            if allowed and name not in allowed:
                hint = suggest(str(name), allowed) or f"expected one of {list(allowed)}"
                self.fail(key or str(name), f"unknown key {name!r}" if key else "unknown key", hint)
        return {str(k): v for k, v in value.items()}

    def number(self, key: str, what: str, value: Any) -> float:
        number = _as_number(value)
        if number is None or not math.isfinite(number):
            self.fail(key, f"{what} must be a number, got {shown(value)}")
        return number

    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.fail(key, f"expected text, got {shown(value)}")
        return str(value)

    def names(self, key: str, value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            self.fail(key, f"expected a list of names, got {shown(value)}")
        return tuple(self.text(key, item) for item in items)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):   # PyYAML reads 1e3 (no dot) as text
        try:
            return float(value)
        except ValueError:
            return None
    return None


def read_yaml(path: Path, *, allow_outside_data: bool = False) -> ScenarioSet:
    """Read one YAML scenario file (see :func:`reformsim.scenarios.load_scenarios`).

    CSV files of schedules must be in the scenario file's folder (or below)
    unless ``allow_outside_data``.
    """
    try:
        data = safe_load(read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(path, "", line, f"not valid YAML: {problem}") from None
    top = _At(path, allow_outside_data=allow_outside_data)
    if not isinstance(data, dict):
        top.fail("", "expected a mapping with 'scenarios', 'packages'... at the top, "
                 f"got {shown(data)}")
    data = top.mapping("", data, TOP_KEYS)
    folder = path.parent
    scenarios = top.mapping("scenarios", data.get("scenarios"))
    packages = top.mapping("packages", data.get("packages"))
    return ScenarioSet(
        scenarios=tuple(_scenario(top, name, body) for name, body in scenarios.items()),
        packages=tuple(_package(top, name, body) for name, body in packages.items()),
        factorial=_factorial(top, data.get("factorial")),
        uncertainty=_uncertainty(top, data.get("uncertainty")),
        time=_time(top, data.get("time")),
        outputs=None if data.get("outputs") is None else top.names("outputs", data["outputs"]),
        baseline=None if data.get("baseline") is None else top.text("baseline", data["baseline"]),
        model=_model(top, folder, data.get("model")),
        sources=(path,))


def _model(top: _At, folder: Path, value: Any) -> Path | None:
    if value is None:
        return None
    path = folder / top.text("model", value)
    if not path.is_file():
        top.fail("model", f"no such file: {shown(value)}",
                 hint=f"the path is relative to the scenario file: {path}")
    return path.resolve()


def _time(top: _At, value: Any) -> dict[str, float]:
    given = top.mapping("time", value, tuple(TIME_KEYS))
    time = {key: top.number("time", repr(key), v) for key, v in given.items()}
    for key in ("step", "saveper"):
        if key in time and time[key] <= 0:
            top.fail("time", f"{key!r} must be positive, got {time[key]:g}")
    if "initial" in time and "final" in time and time["final"] <= time["initial"]:
        top.fail("time", f"'final' ({time['final']:g}) must be after 'initial' "
                 f"({time['initial']:g})")
    return {TIME_KEYS[key]: v for key, v in time.items()}


def _scenario(top: _At, name: str, body: Any) -> Scenario:
    at, source = top.within(f"scenario {name!r}"), top.source
    body = at.mapping("", body, SCENARIO_KEYS)
    extends = None if body.get("extends") is None else at.text("extends", body["extends"])
    packages = at.names("packages", body.get("packages") or [])
    return Scenario(name, _label(at, body, "label"), _label(at, body, "description"),
                    _changes(at, body), extends, packages, source)


def _package(top: _At, name: str, body: Any) -> Package:
    at, source = top.within(f"package {name!r}"), top.source
    body = at.mapping("", body, PACKAGE_KEYS)
    return Package(name, _label(at, body, "label"), _label(at, body, "description"),
                   _changes(at, body), source)


def _label(at: _At, body: dict[str, Any], key: str) -> str:
    return "" if body.get(key) is None else at.text(key, body[key]).strip()


def _changes(at: _At, body: dict[str, Any]) -> Changes:
    given = {key: at.mapping(key, body.get(key)) for key in CHANGE_KEYS}
    return Changes(
        set={n: at.number("set", repr(n), v) for n, v in given["set"].items()},
        initial={n: at.number("initial", repr(n), v) for n, v in given["initial"].items()},
        lookups={n: _lookup(at, n, v) for n, v in given["lookups"].items()},
        schedule={n: _schedule(at, n, v) for n, v in given["schedule"].items()})


def _lookup(at: _At, name: str, value: Any) -> Lookup:
    shape = "a list of [x, y] points, e.g. [[0, 0], [1, 1], [2, 1.3]]"
    if not isinstance(value, list) or not value or \
            not all(isinstance(p, list) and len(p) == 2 for p in value):
        at.fail("lookups", f"{name!r}: expected {shape}, got {shown(value)}")
    xs = tuple(at.number("lookups", f"{name!r}: x", p[0]) for p in value)
    ys = tuple(at.number("lookups", f"{name!r}: y", p[1]) for p in value)
    if any(b <= a for a, b in pairwise(xs)):
        at.fail("lookups", f"{name!r}: the x values must increase, got {list(xs)}")
    return Lookup(xs, ys)


def _schedule(at: _At, name: str, value: Any) -> Schedule:
    if isinstance(value, dict) and "csv" in value:
        return _csv_schedule(at, name, at.mapping("schedule", value, _CSV_KEYS))
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not items:
        at.fail("schedule", f"{name!r}: expected a list of steps {{at: T, value: V[, ramp: D]}} "
                "or {csv: FILE, column: NAME}", hint=f"got {shown(value)}")
    steps = tuple(_step(at, name, item) for item in items)
    for before, after in pairwise(steps):
        if after.at < before.at + before.ramp:
            at.fail("schedule", f"{name!r}: the step at {after.at:g} starts before the one at "
                    f"{before.at:g} has ended ({before.at + before.ramp:g})",
                    hint="list the steps in time order, each after the previous ramp")
    return Schedule(steps=steps)


def _step(at: _At, name: str, item: Any) -> Step:
    step = at.mapping("schedule", item, _STEP_KEYS)
    for key in ("at", "value"):
        if key not in step:
            at.fail("schedule", f"{name!r}: a step needs {key!r}",
                    hint="{at: T, value: V[, ramp: D]}")
    ramp = at.number("schedule", f"{name!r}: 'ramp'", step.get("ramp", 0))
    if ramp < 0:
        at.fail("schedule", f"{name!r}: 'ramp' must not be negative, got {ramp:g}")
    return Step(at.number("schedule", f"{name!r}: 'at'", step["at"]),
                at.number("schedule", f"{name!r}: 'value'", step["value"]), ramp)


def _csv_schedule(at: _At, name: str, spec: dict[str, Any]) -> Schedule:
    if "column" not in spec:
        at.fail("schedule", f"{name!r}: a CSV series needs 'column'",
                hint="{csv: FILE, column: NAME[, time: NAME]}")
    path = _data_path(at, name, at.text("schedule", spec["csv"]))
    try:
        rows = list(csv.reader(read_text(path).splitlines()))
    except csv.Error as exc:
        at.fail("schedule", f"{name!r}: {path.name} is not a CSV file: {exc}")
    if len(rows) < 2:
        at.fail("schedule", f"{name!r}: {path.name} has no rows of values")
    header = [h.strip() for h in rows[0]]
    wanted = [at.text("schedule", spec["column"]), at.text("schedule", spec.get("time", header[0]))]
    for column in wanted:
        if column not in header:
            at.fail("schedule", f"{name!r}: {path.name} has no column {shown(column)}",
                    hint=f"its columns are {shown(header)}")
    value_col, time_col = (header.index(c) for c in wanted)
    points = tuple(_csv_point(at, name, path, i, row, time_col, value_col)
                   for i, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row))
    if any(b[0] < a[0] for a, b in pairwise(points)):
        at.fail("schedule", f"{name!r}: the times in {path.name} must not decrease")
    return Schedule(points=points)


def _data_path(at: _At, name: str, given: str) -> Path:
    """A data file named in a scenario file: in its folder or below, unless the user allows
    more (so a shared scenario file cannot read, and show, any file it likes)."""
    folder = at.source.parent.resolve()
    path = (folder / given).resolve()
    if not at.allow_outside_data and not path.is_relative_to(folder):
        at.fail("schedule", f"{name!r}: the CSV file {shown(given)} is outside the scenario "
                "file's folder, so it was not read",
                hint="move it beside the scenario file, or pass --allow-outside-data if you "
                     "trust this scenario file")
    if not path.is_file():
        at.fail("schedule", f"{name!r}: no such CSV file: {shown(given)}",
                hint=f"the path is relative to the scenario file: {folder / given}")
    return path


def _csv_point(at: _At, name: str, path: Path, line: int, row: list[str], time_col: int,
               value_col: int) -> tuple[float, float]:
    cells = [row[c] if c < len(row) else "" for c in (time_col, value_col)]
    numbers = [_as_number(c.strip()) for c in cells]
    if any(n is None or not math.isfinite(n) for n in numbers):
        at.fail("schedule", f"{name!r}: {path.name} line {line}: expected numbers, "
                f"got {shown(cells)}")
    return numbers[0], numbers[1]  # type: ignore[return-value]


def _factorial(top: _At, value: Any) -> Factorial | None:
    if value is None:
        return None
    spec = {"packages": value} if isinstance(value, list) else \
        top.mapping("factorial", value, _FACTORIAL_KEYS)
    packages = top.names("factorial", spec.get("packages") or [])
    if not packages:
        top.fail("factorial", "lists no packages", hint="factorial: [package a, package b]")
    if len(set(packages)) < len(packages):
        top.fail("factorial", f"lists a package twice: {list(packages)}")
    base = None if spec.get("base") is None else top.text("factorial", spec["base"])
    return Factorial(packages, base, top.source)


def _uncertainty(top: _At, value: Any) -> Uncertainty | None:
    if value is None:
        return None
    spec = top.mapping("uncertainty", value, _UNCERTAINTY_KEYS)
    samples, seed = (_whole(top, key, spec.get(key, default), low, high)
                     for key, default, low, high in (("samples", None, 1, None),
                                                     ("seed", 0, 0, MAX_SEED)))
    method = top.text("uncertainty", spec.get("method", "lhs"))
    if method not in METHODS:
        top.fail("uncertainty", f"unknown method {method!r}",
                 hint=suggest(method, METHODS) or f"expected one of {list(METHODS)}")
    parameters = top.mapping("uncertainty", spec.get("parameters"))
    if not parameters:
        top.fail("uncertainty", "names no 'parameters'",
                 hint="parameters: {name: {uniform: [low, high]}}")
    distributions = tuple(_distribution(top, n, d) for n, d in parameters.items())
    return Uncertainty(samples, distributions, seed, method, top.source)


def _whole(top: _At, key: str, value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or \
            (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"from {low} to {high}"
        top.fail("uncertainty", f"{key!r} must be a whole number {allowed}, got {shown(value)}")
    return value


def _distribution(top: _At, name: str, value: Any) -> Distribution:
    spec = top.mapping("uncertainty", value, (*DISTRIBUTIONS, "bounds"))
    kinds = [k for k in spec if k in DISTRIBUTIONS]
    if len(kinds) != 1:
        top.fail("uncertainty", f"{name!r}: expected one distribution, got {kinds or 'none'}",
                 hint=f"one of {list(DISTRIBUTIONS)}, e.g. {{uniform: [low, high]}}")
    kind = kinds[0]
    arity, meaning = DISTRIBUTIONS[kind]
    args = _numbers(top, f"{name!r}: {kind}", spec[kind], arity, meaning)
    bounds = None
    if "bounds" in spec:
        if kind != "normal":
            top.fail("uncertainty", f"{name!r}: 'bounds' apply to a normal distribution only")
        lo, hi = _numbers(top, f"{name!r}: bounds", spec["bounds"], 2, "[low, high]")
        bounds = (lo, hi)
    problem = _check_distribution(kind, args, bounds)
    if problem:
        top.fail("uncertainty", f"{name!r}: {kind} {list(args)}: {problem}")
    return Distribution(name, kind, args, bounds)


def _numbers(top: _At, what: str, value: Any, count: int, meaning: str) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != count:
        top.fail("uncertainty", f"{what}: expected {meaning}, got {shown(value)}")
    return tuple(top.number("uncertainty", what, v) for v in value)


def _check_distribution(kind: str, a: tuple[float, ...], bounds: tuple[float, float] | None) -> str:
    if kind == "uniform" and not a[0] < a[1]:
        return "low must be below high"
    if kind == "triangular" and not (a[0] <= a[1] <= a[2] and a[0] < a[2]):
        return "expected low <= mode <= high with low < high"
    if kind in ("normal", "lognormal") and a[1] <= 0:
        return "the spread (sd, sigma) must be positive"
    if bounds is not None and not bounds[0] < bounds[1]:
        return f"bounds {list(bounds)}: low must be below high"
    if not math.isfinite(_widest(kind, a)):
        return "its draws would be beyond the largest number a computer holds (1.8e308)"
    return ""


def _widest(kind: str, a: tuple[float, ...]) -> float:
    """The largest magnitude a draw may reach (quantiles are kept 1e-12 from 0 and 1, about
    7 standard deviations); inf when that overflows."""
    with np.errstate(over="ignore"):
        if kind == "uniform":
            return float(np.float64(a[1]) - np.float64(a[0]))
        if kind == "triangular":
            return float(np.float64(a[2]) - np.float64(a[0]))
        if kind == "normal":
            return float(abs(np.float64(a[0])) + 8 * np.float64(a[1]))
        return float(np.exp(np.float64(a[0]) + 8 * np.float64(a[1])))  # lognormal
