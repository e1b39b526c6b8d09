"""Reading scenario files: YAML and Vensim ``.cin`` files -> one checked ScenarioSet."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .checks import check_links
from .cin_format import read_cin
from .spec import ScenarioError, ScenarioSet
from .yaml_format import read_yaml


def load_scenarios(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                   allow_outside_data: bool = False) -> ScenarioSet:
    """Read YAML scenario files and Vensim ``.cin`` changes files into one ScenarioSet.

    ``paths`` is one file or a list of them. A ``.cin`` file is one scenario
    named after the file (its stem). The CSV files of schedules must be in
    their scenario file's folder (or below) unless ``allow_outside_data``.
    Raises :class:`ScenarioError` naming the file, the scenario and the key.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    parts = []
    for path in map(Path, paths):
        if not path.is_file():
            raise ScenarioError(path, "", "", "no such file" if not path.is_dir() else
                                "is a folder, not a scenario file")
        parts.append(read_cin(path) if path.suffix.lower() == ".cin" else
                     read_yaml(path, allow_outside_data=allow_outside_data))
    combined = _combine(parts)
    check_links(combined)
    return combined


def _combine(parts: Sequence[ScenarioSet]) -> ScenarioSet:
    if len(parts) == 1:
        return parts[0]
    merged = ScenarioSet()
    for part in parts:
        merged = _merge(merged, part)
    return merged


def _merge(a: ScenarioSet, b: ScenarioSet) -> ScenarioSet:
    source = b.sources[0] if b.sources else Path("<memory>")
    _no_duplicates(source, "scenarios", [s.name for s in a.scenarios],
                   [s.name for s in b.scenarios])
    _no_duplicates(source, "packages", [p.name for p in a.packages], [p.name for p in b.packages])
    for key in ("model", "factorial", "uncertainty", "baseline"):
        if getattr(a, key) is not None and getattr(b, key) is not None and \
                getattr(a, key) != getattr(b, key):
            raise ScenarioError(source, "", key, "is also given, differently, by "
                                + ", ".join(p.name for p in a.sources),
                                hint=f"give {key!r} in one file only")
    for name, value in b.time.items():
        if a.time.get(name, value) != value:
            raise ScenarioError(source, "", "time", f"{name!r} differs from an earlier file's")
    outputs = None if a.outputs is None and b.outputs is None else \
        tuple(dict.fromkeys((a.outputs or ()) + (b.outputs or ())))
    return ScenarioSet(
        scenarios=a.scenarios + b.scenarios, packages=a.packages + b.packages,
        factorial=a.factorial or b.factorial, uncertainty=a.uncertainty or b.uncertainty,
        time={**a.time, **b.time}, outputs=outputs, baseline=a.baseline or b.baseline,
        model=a.model or b.model, sources=a.sources + b.sources)


def _no_duplicates(source: Path, key: str, earlier: list[str], later: list[str]) -> None:
    for name in later:
        if name in earlier:
            raise ScenarioError(source, "", key, f"{name!r} is already defined by an earlier file",
                                hint="give every scenario and package its own name")
