"""The residual init pass (engine/residual.py) gives the full init pass's values, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import reformsim
from conftest import MODELS
from reformsim.engine import residual, settings
from reformsim.engine.compiled import state_indices

REFORM = Path(__file__).resolve().parents[1] / "models" / "reform.mdl"


def _same(full: dict, got: dict) -> None:
    assert list(full) == list(got)     # the same names, in the same order
    for name, value in full.items():
        a, b = np.asarray(value), np.asarray(got[name])
        assert a.shape == b.shape, name
        assert np.array_equal(a, b, equal_nan=True), name


def _keys(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


@pytest.mark.parametrize("name, params", [
    ("reform", {"Reform budget": [[0.3], [0.45], np.linspace(0.1, 0.6, 4)]}),
    ("per_cell_delays.mdl", {"lag[south]": [[2.0], [3.0, 1.5]],
                             "order": [np.array([2.0, 1.0, 3.0]), 1.0]}),
    ("random_array.mdl", {"shock sd": [0.5, np.array([[0.1, 0.2, 0.3]] * 3)]}),
])
def test_residual_values_equal_a_full_pass(name: str, params: dict) -> None:
    model = reformsim.load_model(REFORM if name == "reform" else MODELS / name)
    for given, series in params.items():
        target = settings.find(model, given, "parameter")
        for raw in series:
            value = settings.as_value(target, raw)
            overrides = settings.overrides([(target, value)])
            keys = _keys(value.shape[0])
            full = model.init(overrides, {}, keys)
            got = residual.init(model, overrides, {}, keys)
            _same(full, got)
            assert got.changed and got.changed < set(full)


def test_initial_values_of_stocks_and_no_overrides() -> None:
    model = reformsim.load_model(MODELS / "decay.mdl")
    stock = next(e for e in model.elements if e.is_stock)
    (j,) = state_indices(model.nodes[model.slot_of(stock)])
    for start in ([5.0], [7.0, 8.0, 9.0]):
        initial = {j: np.array(start)}
        keys = _keys(len(start))
        _same(model.init({}, initial, keys), residual.init(model, {}, initial, keys))
    _same(model.init({}, {}, _keys(1)), residual.init(model, {}, {}, _keys(1)))


def test_kept_values_are_read_only() -> None:
    """A value kept between calls cannot be changed by a caller in place."""
    model = reformsim.load_model(MODELS / "per_cell_delays.mdl")
    order = settings.find(model, "order", "parameter").slot
    first = residual.init(model, {order: np.array([[1.0, 2.0, 3.0]])}, {}, _keys(1))
    second = residual.init(model, {order: np.array([[2.0, 2.0, 1.0]])}, {}, _keys(1))
    lag = settings.find(model, "lag", "parameter").slot
    assert lag not in second.changed and second[lag] is first[lag]
    with pytest.raises(ValueError):
        second[lag][...] = 0.0
    assert first.plan is second.plan and order in second.changed


def test_simulate_repeats_bit_identically() -> None:
    """Calls of one plan give what a model loaded afresh gives, whichever ran before."""
    model = reformsim.load_model(REFORM)
    outputs = ["Composite outcome", "Trust"]
    runs = [reformsim.simulate(model, params={"Reform budget": v}, outputs=outputs)
            for v in ([0.2], [0.5], np.linspace(0.1, 0.6, 3))]
    for v, run in zip(([0.2], [0.5], np.linspace(0.1, 0.6, 3)), runs):
        fresh = reformsim.simulate(model, params={"Reform budget": v}, outputs=outputs,
                                   backend="numpy")
        assert np.allclose(run.values, fresh.values, rtol=1e-12, atol=0)
        again = reformsim.simulate(model, params={"Reform budget": v}, outputs=outputs)
        assert np.array_equal(run.values, again.values)
