"""One-at-a-time screening of the reform model's assumptions over their documented ranges.

Usage::

    PYTHONPATH=src python tools/screen_parameters.py [--top 20]

Every constant of ``models/reform.mdl`` that is not a lever (its documentation does not start
with "Lever:"), a value judgement (the composite's weights) nor a control setting is set,
alone, to the low and then the high end of the range in its units field
(``~ Dmnl [0.3,0.6]``), under every roadmap of
``scenarios/reform_roadmaps.yaml`` (its uncertainty section left out). All members of a batch
run as one ensemble. A parameter's effect is the largest change, over both ends, in three
verdicts in 2035 and 2045: the composite of every roadmap, the holistic roadmap's composite gain
over the status quo, and digital first's loss. The table ranks the parameters by their largest
effect; the top of it is what ``scenarios/reform_roadmaps.yaml`` samples (docs/model.md,
Uncertainty). The issue's ``reformsim sensitivity`` command will replace this script.
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

import reformsim
from reformsim.engine.inputs import Series
from reformsim.model import ir
from reformsim.scenarios.ensemble import expand

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "reform.mdl"
ROADMAPS = ROOT / "scenarios" / "reform_roadmaps.yaml"
YEARS = (2035.0, 2045.0)
CONTROLS = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}


def assumptions(model) -> list[tuple[str, float, float]]:
    """(name, low, high) of every constant with a documented range that is not a lever."""
    out = []
    for node in model.nodes.values():
        e = node.element
        if (e.kind == "aux" and not e.is_stock and e.name not in CONTROLS
                and not e.documentation.startswith("Lever:") and None not in e.limits
                and "value judgement" not in e.documentation and e.limits[0] < e.limits[1]
                and isinstance(e.expr, ir.Num)):
            out.append((e.name, *e.limits))
    return out


def tiled(params: dict, copies: int) -> dict:
    """The ensemble's per-member values repeated ``copies`` times."""
    out = {}
    for name, value in params.items():
        if isinstance(value, Series):
            out[name] = Series(np.tile(value.xs, (copies, 1)), np.tile(value.ys, (copies, 1)))
        else:
            out[name] = np.tile(np.atleast_1d(value), copies)
    return out


def verdicts(res, names: list[str]) -> np.ndarray:
    """Per copy of the roadmaps: composite of each roadmap at each year, holistic gain and
    digital-first loss over the status quo (copies x measures)."""
    idx = [int(np.argmin(np.abs(res.times - y))) for y in YEARS]
    comp = res["Composite outcome"][:, idx].reshape(-1, len(names), len(YEARS))
    sq, hol, dig = (names.index(s) for s in ("status quo", "holistic", "digital first"))
    return np.concatenate([comp.reshape(comp.shape[0], -1), comp[:, hol] - comp[:, sq],
                           comp[:, dig] - comp[:, sq]], axis=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    model = reformsim.load_model(MODEL)
    scenarios = replace(reformsim.load_scenarios([ROADMAPS]), uncertainty=None)
    ens = expand(scenarios, model)
    params = dict(ens.params)
    names = list(ens.names)
    tested = assumptions(model)
    copies = 1 + 2 * len(tested)
    batch = tiled(params, copies)
    for k, (name, low, high) in enumerate(tested):
        column = batch.get(name)
        if column is None:
            column = np.full(len(names) * copies, float(model_value(model, name)))
        column = np.array(column, dtype=float)
        for j, value in ((1 + 2 * k, low), (2 + 2 * k, high)):
            column[j * len(names):(j + 1) * len(names)] = value
        batch[name] = column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = reformsim.simulate(model, params=batch, initial=ens.initial, lookups=ens.lookups,
                                 outputs=["Composite outcome"])
    v = verdicts(res, names)
    base = v[0]
    effects = np.abs(v[1:] - base).reshape(len(tested), 2, -1).max(axis=(1, 2))
    gain = v[1:, -2 * len(YEARS):-len(YEARS)].reshape(len(tested), 2, -1)
    order = np.argsort(-effects)
    print("| rank | parameter | range | largest effect | holistic gain at low / high (2045) |")
    print("|---:|---|---|---:|---|")
    for rank, i in enumerate(order[:args.top], start=1):
        name, low, high = tested[i]
        print(f"| {rank} | {name} | [{low:g}, {high:g}] | {effects[i]:.3f} | "
              f"{gain[i, 0, -1]:+.3f} / {gain[i, 1, -1]:+.3f} |")
    print(f"\n{len(tested)} parameters, {res.values.shape[0]} members; holistic gain at the "
          f"model's values {base[-2 * len(YEARS) + 1]:+.3f} (2045)")


def model_value(model, name: str) -> float:
    e = next(e for e in model.elements if e.name == name)
    return float(e.expr.value)


if __name__ == "__main__":
    main()
