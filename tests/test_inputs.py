"""Series (constants made functions of time) and Table (lookups replaced per run)."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from reformsim.engine.builtins import interpolate_rows

EFFECT = "Effect of pressure on time per case"


@pytest.fixture(scope="module")
def backlog():
    from pathlib import Path

    return reformsim.load_model(Path(__file__).parents[1] / "models/examples/service_backlog.mdl")


@pytest.mark.parametrize(("x", "expected"), [(-1, 1.0), (0, 1.0), (5, 1.5), (10, 5.0), (15, 5.0),
                                             (25, 5.0)],
                         ids=["before", "first", "between", "jump", "after-jump", "beyond"])
def test_interpolate_rows_holds_ends_and_jumps_right_continuously(x, expected):
    xs, ys = np.array([[0, 10, 10, 20.0]]), np.array([[1, 2, 5, 5.0]])
    assert interpolate_rows(x, xs, ys)[0] == pytest.approx(expected)


def test_interpolate_rows_per_member_rows():
    xs, ys = np.array([[0, 1, 2], [0, 2, 4.0]]), np.array([[0, 1, 2], [0, 10, 20.0]])
    np.testing.assert_array_equal(interpolate_rows(1.0, xs, ys), [1.0, 5.0])
    np.testing.assert_array_equal(interpolate_rows(np.array([2.0, 3.0]), xs, ys), [2.0, 15.0])


def test_series_drives_a_constant_through_time(backlog):
    schedule = reformsim.Series([0, 12, 12, 24, 30], [0, 0, 0.2, 0.2, 0.5])
    results = reformsim.simulate(backlog, params={"Demand surge": schedule, "Surge start": 0},
                                 outputs=["Demand surge", "Service requests"])
    surge = results["Demand surge"][0]
    np.testing.assert_allclose(surge[[0, 11, 12, 24, 27, 30, 60]], [0, 0, 0.2, 0.2, 0.35, 0.5, 0.5])
    np.testing.assert_allclose(results["Service requests"][0], 1000 * (1 + surge))


def test_series_per_member_equals_single_runs(backlog):
    times = [[0, 12, 12], [0, 24, 24]]
    values = [[0, 0, 0.2], [0, 0, 0.4]]
    together = reformsim.simulate(backlog, params={"Demand surge": reformsim.Series(times, values),
                                                   "Surge start": 0})
    for i in range(2):
        alone = reformsim.simulate(backlog, params={
            "Demand surge": reformsim.Series(times[i], values[i]), "Surge start": 0})
        np.testing.assert_array_equal(together.values[i], alone.values[0])


def test_table_equal_to_the_model_changes_nothing(backlog):
    same = reformsim.Table([0, 0.5, 1, 1.5, 2], [1.3, 1.15, 1, 0.8, 0.7])
    replaced = reformsim.simulate(backlog, lookups={EFFECT: same}, params={"Demand surge": 0.3})
    original = reformsim.simulate(backlog, params={"Demand surge": 0.3})
    np.testing.assert_array_equal(replaced.values, original.values)


def test_one_table_per_member(backlog):
    tables = [reformsim.Table([0, 1, 2], [1.3, 1, 0.6]), reformsim.Table([0, 1, 2], [1.1, 1, 0.95])]
    results = reformsim.simulate(backlog, lookups={EFFECT: tables}, params={"Demand surge": 0.3},
                                 outputs=["Service quality"])
    final = results["Service quality"][:, -1]
    assert final[1] > final[0]  # officials who cut fewer corners keep more of the standard
    alone = reformsim.simulate(backlog, lookups={EFFECT: tables[1]}, params={"Demand surge": 0.3},
                               outputs=["Service quality"])
    np.testing.assert_array_equal(results.values[1], alone.values[0])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"lookups": {"Effect of pressur": reformsim.Table([0, 1], [1, 1])}},
     "'Effect of pressur' is not a lookup of the model; did you mean 'Effect of pressure on "
     "time per case'?"),
    ({"lookups": {EFFECT: [1, 2]}}, "give a reformsim.Table, or a list with one Table per member"),
    ({"params": {"Backlog": reformsim.Series([0, 1], [1, 2])}}, "'Backlog' is not a constant"),
    ({"params": {"Demand surge": reformsim.Series([[0, 1], [0, 1]], [[0, 1], [0, 2]])},
      "lookups": {EFFECT: [reformsim.Table([0, 1], [1, 1])] * 3}},
     "'Demand surge' has 2, 'Effect of pressure on time per case' has 3"),
], ids=["unknown-lookup", "not-a-table", "series-on-a-stock", "lengths-differ"])
def test_bad_inputs_are_refused(backlog, kwargs, message):
    with pytest.raises(reformsim.SimulationError) as caught:
        reformsim.simulate(backlog, **kwargs)
    assert message in str(caught.value)


@pytest.mark.parametrize(("args", "message"), [
    (([0, 2, 1], [0, 1, 2]), "must not decrease"),
    (([0, 1], [0, 1, 2]), "2 x values but 3 y values"),
    (([0, np.nan], [0, 1]), "must be finite"),
    (([[[0]]], [[[1]]]), "got shape (1, 1, 1)"),
], ids=["decreasing", "lengths", "nan", "3-d"])
def test_points_validate(args, message):
    with pytest.raises(reformsim.SimulationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        reformsim.Series(*args)
