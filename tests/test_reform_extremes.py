"""Extreme conditions of the reform model (models/reform.mdl).

Every lever at each end of the range its units field documents, no staff, demand falling to
nothing or jumping tenfold (as schedules), no budget and a hundred times the status-quo budget,
every share at 1: in each, no value is NaN, every variable with a documented range stays in it
(every fraction in [0, 1]) and every stock that cannot be negative stays non-negative. All cases
run as one ensemble per kind; each case is asserted on its own.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import reformsim
from reformsim.model import ir

MODEL = Path(__file__).resolve().parents[1] / "models" / "reform.mdl"
STATUS_QUO = {"Demand growth": 0.02, "Expectation drift": 0.01, "Digital skills growth": 0.032}
SHARES = [f"{k} share" for k in ("Institutional", "Leadership", "Process", "Engagement",
                                 "Knowledge", "ICT")]


@pytest.fixture(scope="module")
def model():
    return reformsim.load_model(MODEL)


def _constants(model):
    return {e.name: e for e in model.elements if e.kind == "aux" and isinstance(e.expr, ir.Num)}


def _levers():
    """(lever, bound) for every end of every lever's documented range."""
    model = reformsim.load_model(MODEL)
    return [(e.name, bound) for e in _constants(model).values()
            if e.documentation.startswith("Lever:") for bound in e.limits]


LEVER_CASES = _levers()
SPECIAL = {
    "no staff": ({}, {"Rookies": 0.0, "Experienced staff": 0.0, "Vacancies": 0.0}),
    "no budget": ({"Reform budget": 0.0}, {}),
    "100x budget": ({"Reform budget": 30.0}, {}),
    "every share 1": ({"Reform budget": 1.0, **{s: 1.0 for s in SHARES}}, {}),
    "demand to 0 in 2026": ({"Demand multiplier": reformsim.Series([2026, 2026], [1, 0])}, {}),
    "demand x10 in 2026": ({"Demand multiplier": reformsim.Series([2026, 2026], [1, 10])}, {}),
}


def _bounded(model):
    """Variables with a documented range (every fraction, every non-negative stock)."""
    return [e for e in model.elements if e.kind == "aux" and e.limits != (None, None)]


def _simulate(model, params, initial=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reformsim.simulate(model, params={**STATUS_QUO, **params}, initial=initial or {},
                                  outputs=[e.name for e in _bounded(model)])


def _assert_within_ranges(model, res, member, skip=()):
    assert not res.failures, res.failures
    values = res.values[member]
    assert np.all(np.isfinite(values))
    for i, e in enumerate(_bounded(model)):
        if e.name in skip:
            continue
        low, high = e.limits
        if low is not None:
            assert values[:, i].min() >= low - 1e-9, (e.name, values[:, i].min())
        if high is not None:
            assert values[:, i].max() <= high + 1e-9, (e.name, values[:, i].max())


@pytest.fixture(scope="module")
def levers_at_bounds(model):
    """One member per (lever, bound), the others at the model's values, in one ensemble."""
    constants = _constants(model)
    params = {}
    for k, (name, bound) in enumerate(LEVER_CASES):
        column = params.setdefault(name, np.full(len(LEVER_CASES), constants[name].expr.value))
        column[k] = bound
    return _simulate(model, params)


@pytest.mark.parametrize("case", range(len(LEVER_CASES)),
                         ids=[f"{n}={b:g}" for n, b in LEVER_CASES])
def test_every_lever_at_its_bounds(model, levers_at_bounds, case):
    _assert_within_ranges(model, levers_at_bounds, case)


@pytest.mark.parametrize("case", list(SPECIAL))
def test_extreme_conditions(model, case):
    params, initial = SPECIAL[case]
    res = _simulate(model, params, initial)
    # the budget lever itself is set beyond its range on purpose
    _assert_within_ranges(model, res, 0, skip={"Reform budget"})


def test_every_stock_that_cannot_be_negative_has_a_range(model):
    """The range checks above cover every stock: each documents its bounds."""
    assert all(e.limits[0] is not None for e in model.stocks)


def test_no_lever_moves_the_starting_state(model):
    """A roadmap acts from the first step: the starting state is the same whatever the
    levers, so a scenario is always compared from the same equilibrium (and a demand shock
    set from the start is felt, not absorbed into the initial backlog)."""
    constants = _constants(model)
    stocks = [e.name for e in model.stocks]
    params = {}
    cases = LEVER_CASES + [("Demand multiplier", 1.5)]
    for k, (name, bound) in enumerate(cases):
        column = params.setdefault(name, np.full(len(cases) + 1, constants[name].expr.value))
        column[k + 1] = bound
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = reformsim.simulate(model, params=params, outputs=stocks)
    start = res.values[:, 0]
    np.testing.assert_allclose(start, np.broadcast_to(start[0], start.shape), rtol=1e-12)
    # ... and the demand shock does act: the backlog grows from the first step
    backlog = res["Backlog"][-1]
    assert backlog[4] > 1.05 * backlog[0]


def test_shares_cannot_overspend(model):
    """Shares that add up to more than 1 are scaled down: every share at 1 spends the budget
    once, exactly as six shares of 1/6 do."""
    params = {"Reform budget": 1.0, **{s: np.array([1.0, 1 / 6]) for s in SHARES}}
    res = reformsim.simulate(model, params=params,
                             outputs=["Total reform spending", "Effective reform budget"])
    spending, budget = res["Total reform spending"], res["Effective reform budget"]
    assert np.all(spending <= budget + 1e-9)
    np.testing.assert_allclose(spending[0], spending[1], rtol=1e-12)


def test_every_assumption_at_its_bounds(model):
    """Every other constant at each end of its documented range (one ensemble): values stay
    finite and inside every documented range."""
    constants = _constants(model)
    cases = [(n, b) for n, e in constants.items() if not e.documentation.startswith("Lever:")
             and n not in ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER") for b in e.limits]
    params = {}
    for k, (name, bound) in enumerate(cases):
        column = params.setdefault(name, np.full(len(cases), constants[name].expr.value))
        column[k] = bound
    res = _simulate(model, {**{k: np.full(len(cases), v) for k, v in STATUS_QUO.items()}, **params})
    for member, (name, bound) in enumerate(cases):
        _assert_within_ranges(model, res, member, skip={name})
