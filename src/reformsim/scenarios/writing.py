"""Scenario files as text: what an analysis found (an optimised roadmap, fitted constants)
written so that ``reformsim run`` reads it back.

YAML keeps the whole scenario (constants, initial values, lookups, step schedules); a
Vensim ``.cin`` file holds constants and lookups only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..model.ir import fold_name
from .spec import TIME_KEYS, Changes, Scenario, ScenarioError


def with_values(scenario: Scenario, values: Mapping[str, float], name: str, label: str = "",
                description: str = "", initial: Mapping[str, float] | None = None) -> Scenario:
    """``scenario`` (flattened) with ``values`` set as constants (a value replaces a schedule
    of the same constant) and ``initial`` as stocks' initial values."""
    from dataclasses import replace

    chosen = {fold_name(n) for n in values}
    changes = scenario.changes
    kept = Changes(set={n: v for n, v in changes.set.items() if fold_name(n) not in chosen},
                   initial=changes.initial, lookups=changes.lookups,
                   schedule={n: s for n, s in changes.schedule.items()
                             if fold_name(n) not in chosen})
    return replace(scenario, name=name, label=label or scenario.label,
                   description=description or scenario.description,
                   changes=kept.then(Changes(set={n: float(v) for n, v in values.items()},
                                             initial={n: float(v) for n, v in
                                                      (initial or {}).items()})),
                   extends=None, packages=())


def scenario_yaml(scenario: Scenario, *, model: Path | None, folder: Path,
                  time: Mapping[str, float] | None = None) -> str:
    """A YAML scenario file holding one flattened ``scenario``; ``model`` is written relative
    to ``folder`` (where the file will be)."""
    import yaml

    body: dict[str, Any] = {}
    if scenario.label:
        body["label"] = scenario.label
    if scenario.description:
        body["description"] = scenario.description
    changes = scenario.changes
    if changes.set:
        body["set"] = {n: float(v) for n, v in changes.set.items()}
    if changes.initial:
        body["initial"] = {n: float(v) for n, v in changes.initial.items()}
    if changes.lookups:
        body["lookups"] = {n: [[float(x), float(y)] for x, y in zip(t.xs, t.ys)]
                           for n, t in changes.lookups.items()}
    if changes.schedule:
        body["schedule"] = {n: _steps(scenario, n, s) for n, s in changes.schedule.items()}
    document: dict[str, Any] = {}
    if model is not None:
        document["model"] = Path(os.path.relpath(Path(model).resolve(), Path(folder).resolve())
                                 ).as_posix()
    if time:
        keys = {v: k for k, v in TIME_KEYS.items()}
        document["time"] = {keys[n]: float(v) for n, v in time.items()}
    document["scenarios"] = {scenario.name: body}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _steps(scenario: Scenario, name: str, schedule: Any) -> list[dict[str, float]]:
    if schedule.points:
        raise ScenarioError(scenario.source, f"scenario {scenario.name!r}", "schedule",
                            f"{name!r} follows a CSV series, which cannot be written inline",
                            hint="set it as a constant, or copy the scenario by hand")
    return [{"at": s.at, "value": s.value, **({"ramp": s.ramp} if s.ramp else {})}
            for s in schedule.steps]


def cin_text(values: Mapping[str, float], comment: str = "") -> str:
    """A Vensim changes file setting ``values``: one ``NAME = value`` line each."""
    lines = [f"{{{comment}}}"] if comment else []
    lines += [f"{name} = {float(value)!r}" for name, value in values.items()]
    return "\n".join(lines) + "\n"
