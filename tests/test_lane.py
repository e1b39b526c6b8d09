"""A call that repeats with new numbers goes the prepared way (``engine.lane.Lane``): it must
give what the long way gives, bit for bit, with the same failures, labels and warnings, and
leave to the long way every call whose numbers could change what the lane decided."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import reformsim
from conftest import model_path
from reformsim.engine import numba_backend, numba_direct, simulation

REFORM = Path(__file__).resolve().parents[1] / "models" / "reform.mdl"
pytestmark = pytest.mark.skipif(numba_backend.numba_missing() is not None,
                                reason="the lane runs compiled models only")


@pytest.fixture
def taken(monkeypatch):
    """Per call, whether it ran on a lane (True) or the long way, which resolves its names
    (a spy on ``_resolve``: wrapping the lane itself would add a frame to its warnings)."""
    seen: list[bool] = []
    original = simulation._resolve

    def resolve(*args, **kwargs):
        if seen:   # a call made through ``call``: it went the long way
            seen[-1] = False
        return original(*args, **kwargs)

    monkeypatch.setattr(simulation, "_resolve", resolve)
    return seen


@pytest.fixture
def direct(monkeypatch):
    """What each call's bound compiled calls (``numba_direct.Direct``) gave: "values", or
    "none" (a member failed: the lane's general way ran the call again)."""
    seen: list[str] = []
    original = numba_direct.Direct.__call__

    def spy(self, overrides):
        found = original(self, overrides)
        seen.append("none" if found is None else "values")
        return found

    monkeypatch.setattr(numba_direct.Direct, "__call__", spy)
    return seen


def fresh(model):
    """The same model compiled again: no lane, no kept values (the long way)."""
    return pickle.loads(pickle.dumps(model))


def call(model, params, outputs, taken=None, **kwargs):
    """Results, and the warnings the call gave as (message, file it points at)."""
    if taken is not None:
        taken.append(True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = reformsim.simulate(model, params=params, outputs=outputs, **kwargs)
    return results, [(str(w.message), w.filename) for w in caught]


def assert_same(got, expected):
    (a, a_warned), (b, b_warned) = got, expected
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert np.array_equal(a.times, b.times)
    assert (a.names, a.units, a.docs, a.arrays) == (b.names, b.units, b.docs, b.arrays)
    assert (a.failures, a.method, a.backend) == (b.failures, b.method, b.backend)
    assert a.params.keys() == b.params.keys()
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert a_warned == b_warned


def warmed(path, params, outputs, **kwargs):
    """A model whose lane for this call shape is made: two calls with other numbers (the
    first computes the model's defaults, the second prepares the lane)."""
    model = reformsim.load_model(path)
    for scale in (0.9, 0.8):
        other = {k: v if isinstance(v, reformsim.Series) else np.asarray(v, float) * scale
                 for k, v in params.items()}
        with warnings.catch_warnings():   # those of the calls that follow are compared
            warnings.simplefilter("ignore")
            reformsim.simulate(model, params=other, outputs=outputs, **kwargs)
    return model


CASES = {   # model, params, outputs, what the bound compiled calls gave (none: no Direct)
    # a lone run, and members of which some go non-finite (K = 1: the flow divides by zero):
    # the bound calls say so and the lane's general way finds the failures
    "lone": ("segments", {"Elasticity": 0.4, "Decay": 0.07}, ["Stock", "Smoothed", "Ratio"],
             ["values"]),
    "members fail": ("segments", {"K": [2.0, 1.0, 3.0, 1.0], "Floor": 0.3},
                     ["Stock", "Burst", "Ratio"], ["none"]),
    "blow-up": ("blowup", {"K": [1.0, 2.0, 1.0]}, ["Stock", "Flow"], ["none"]),
    "members": ("goal_seek", {"Adjustment Time": [2.0, 3.0, 5.0]},
                ["Level", "Perceived Level", "Delayed Orders"], ["values"]),
    # a constant among the outputs that the call changes: read from the init pass
    "changed constant saved": ("segments", {"Decay": [0.02, 0.09]}, ["Stock", "Decay"], []),
    "every variable": ("goal_seek", {"Adjustment Time": [2.0, 3.0, 5.0]}, None, []),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_a_repeated_call_on_the_lane_gives_the_long_ways_results(case, method, taken, direct):
    name, params, outputs, bound = CASES[case]
    if method == "rk4" and name == "segments":
        pytest.skip("segments.mdl has a DELAY N, which rk4 cannot integrate")
    model = warmed(model_path(name), params, outputs, method=method)
    direct.clear()
    got = call(model, params, outputs, taken, method=method)
    assert taken == [True] and direct == bound
    assert_same(got, call(fresh(model), params, outputs, method=method))
    if got[0].failures:   # the warning points at the caller, on the lane as the long way
        assert got[1] and all(file == __file__ for _, file in got[1])


def test_the_reform_model_on_the_lane(taken, direct):
    params, outputs = {"Reform budget": 0.35}, ["Composite outcome", "Trust", "Access"]
    model = warmed(REFORM, params, outputs)
    direct.clear()
    got = call(model, params, outputs, taken)
    assert taken == [True] and direct == ["values"]
    assert_same(got, call(fresh(model), params, outputs))


@pytest.mark.parametrize("later", [
    {"Elasticity": [0.1, 0.2, 0.3]},                         # another ensemble size
    {"Elasticity": reformsim.Series([0, 14], [0.2, 0.6])},   # a schedule: a variant model
])
def test_numbers_that_do_not_fit_the_lane_go_the_long_way(later, taken):
    outputs = ["Stock", "Ratio"]
    model = warmed(model_path("segments"), {"Elasticity": 0.4}, outputs)
    got = call(model, later, outputs, taken)
    assert taken == [False]
    assert_same(got, call(fresh(model), later, outputs))


@pytest.mark.parametrize("params, warm", [
    ({"Order": [1.0, 3.0]}, {"Order": [2.0, 2.0]}),     # a delay's order: the members' structure
    ({"TIME STEP": [0.5]}, {"TIME STEP": [0.125]}),     # the clock: the time grid
], ids=["structure", "clock"])
def test_no_lane_for_calls_whose_numbers_decide_the_structure_or_the_grid(params, warm, taken):
    outputs = ["Stock", "Smoothed"]
    model = reformsim.load_model(model_path("segments"))
    for _ in range(3):
        reformsim.simulate(model, params=warm, outputs=outputs)
    got = call(model, params, outputs, taken)
    assert taken == [False]
    assert_same(got, call(fresh(model), params, outputs))


def test_the_lane_warns_of_a_save_period_as_the_long_way_does(tmp_path, taken):
    text = model_path("decay").read_text()
    path = tmp_path / "saves.mdl"
    path.write_text(text.replace("SAVEPER  = \n        TIME STEP", "SAVEPER  = 0.3"))
    params, outputs = {"Decay Time": [4.0, 6.0]}, ["Stock"]
    model = warmed(path, params, outputs)
    got = call(model, params, outputs, taken)
    assert taken == [True]
    assert [message for message, _ in got[1]] == [
        "saves.mdl: SAVEPER (0.3) is not a multiple of TIME STEP (0.125): values are saved "
        "where the two meet, every 1.5"]
    assert got[1][0][1] == __file__
    assert_same(got, call(fresh(model), params, outputs))
