"""ALLOCATE AVAILABLE, ALLOCATE BY PRIORITY, VECTOR SELECT, GET TIME VALUE and RANDOM functions
in arrays: against Vensim's output where the suite has it, PySD's runtime or its allocation
routines where it does not, and in ensembles (member i equals its single run, bit for bit)."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reformsim
from conftest import MODELS, SHARED
from reformsim.engine import allocation

SUITE = SHARED / "test-models" / "tests"


# --- allocation --------------------------------------------------------------------------------

def _requests(draw_size: int = 6):
    return st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 100)), min_size=2,
                    max_size=draw_size)


@settings(max_examples=150, deadline=None)
@given(request=_requests(), data=st.data())
def test_allocate_by_priority_equals_pysds_construction(request, data):
    """PySD's piecewise-linear construction (allocation._allocate_by_priority_1d) as oracle."""
    from pysd.py_backend.allocation import _allocate_by_priority_1d

    n = len(request)
    priority = np.array(data.draw(st.lists(st.floats(-10, 10), min_size=n, max_size=n)))
    width = data.draw(st.floats(0.1, 20))
    supply = data.draw(st.floats(0, 1.2 * sum(request) + 1))
    request = np.array(request)
    if len(set(priority.tolist())) < n:
        return  # ties: PySD's order among equal priorities is arbitrary
    theirs = _allocate_by_priority_1d(request, priority, width, supply)
    ours = allocation.allocate_by_priority(request[None], priority[None], np.array([[width]]),
                                           np.array([[supply]]), 1)[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * (1 + supply))


@settings(max_examples=150, deadline=None)
@given(request=_requests(), data=st.data())
def test_allocate_available_hands_out_exactly_the_supply(request, data):
    n = len(request)
    kind = data.draw(st.lists(st.sampled_from([1, 2, 3, 4]), min_size=n, max_size=n))
    priority = data.draw(st.lists(st.floats(-10, 10), min_size=n, max_size=n))
    width = data.draw(st.lists(st.floats(0.1, 5), min_size=n, max_size=n))
    supply = data.draw(st.floats(0, 1.2 * sum(request) + 1))
    profile = np.stack([kind, priority, width, np.zeros(n)], axis=-1)[None]
    out = allocation.allocate_available(np.array([request]), profile, np.array([[supply]]), 1)[0]
    assert np.all(out >= 0) and np.all(out <= np.array(request) + 1e-9)
    assert out.sum() == pytest.approx(min(supply, sum(request)), rel=1e-9, abs=1e-9)


def test_allocate_available_gives_nan_for_curves_it_does_not_know():
    """ptype 0 (fixed quantity) and 5 (constant elasticity) are not simulated: NaN, reported."""
    profile = np.array([[[0, 5, 1, 0], [1, 5, 1, 0]]], dtype=float)
    out = allocation.allocate_available(np.array([[3.0, 4.0]]), profile, np.array([[5.0]]), 1)
    assert np.isnan(out).all()


def test_allocate_available_agrees_with_pysd_and_with_vensim_to_its_solvers_tolerance(tmp_path):
    """Vensim solves the allocation approximately (its output gives 50.0008 to a request of
    50): reformsim's exact answer equals PySD's (least squares) to 1e-6 and Vensim's within
    PySD's own tolerance for this model (rtol 2e-2)."""
    folder = SUITE / "allocate_available"
    if not folder.is_dir():
        pytest.skip("../shared/test-models is absent")
    import pysd

    from reformsim.report.verify import verify

    model = reformsim.load_model(folder / "test_allocate_available.mdl")
    report = verify(model, folder / "output.tab", rtol=2e-2, atol=2e-2)
    assert report.ok and len(report.compared) > 300
    copy = tmp_path / "allocate.mdl"
    shutil.copy(folder / "test_allocate_available.mdl", copy)
    columns = [c for c in report.compared if c.startswith("allocation")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pysd.read_vensim(str(copy)).run(return_columns=columns)
    ours = reformsim.simulate(model)
    for column in columns:
        np.testing.assert_allclose(ours[column][0], theirs[column].to_numpy(), atol=1e-6)


def test_allocation_member_equals_its_single_run():
    folder = SUITE / "allocate_by_priority"
    if not folder.is_dir():
        pytest.skip("../shared/test-models is absent")
    model = reformsim.load_model(folder / "test_allocate_by_priority.mdl")
    demands = np.array([[8, 1, 3, 4, 0], [0, 0, 0, 0, 0], [2, 9, 3, 1, 5], [30, 1, 0, 4, 2.5]])
    together = reformsim.simulate(model, params={"demands2": demands})
    for i, demand in enumerate(demands):
        alone = reformsim.simulate(model, params={"demands2": demand})
        np.testing.assert_array_equal(together.values[i], alone.values[0])


# --- VECTOR SELECT and GET TIME VALUE ----------------------------------------------------------

@pytest.fixture(scope="module")
def vector_select():
    return reformsim.load_model(MODELS / "vector_select.mdl")


def test_vector_select_and_time_value_equal_pysds_runtime(vector_select, tmp_path):
    import pysd

    copy = tmp_path / "vector_select.mdl"
    shutil.copy(MODELS / "vector_select.mdl", copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pysd.read_vensim(str(copy)).run()
    ours = reformsim.simulate(vector_select)
    for i, name in enumerate(ours.names):
        np.testing.assert_array_equal(ours.values[0, :, i], theirs[name].to_numpy(), err_msg=name)


@pytest.mark.parametrize(("name", "expected"), [
    ("weighted sum[goods]", [4, 4, 7, 7, 14, 14, 14]),     # 2 x 2 (east), + 3 (north), + 7 (west)
    ("weighted max[goods]", [4, 4, 4, 4, 7, 7, 7]),
    ("plain min[services]", [8, 8, 1, 1, 1, 1, 1]),
    ("power product[goods]", [4, 4, 12, 12, 84, 84, 84]),  # 2 ** 2, x 3, x 7
    ("nothing selected", [99] * 7),
    ("time value", [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]),
], ids=["weighted-sum", "weighted-max", "plain-min", "power-product", "missing", "time-value"])
def test_vector_select_by_hand(vector_select, name, expected):
    np.testing.assert_array_equal(reformsim.simulate(vector_select, outputs=[name])[name][0],
                                  expected)


def test_vector_select_member_equals_its_single_run(vector_select):
    values = np.arange(3 * 2 * 4, dtype=float).reshape(3, 2, 4) - 5
    together = reformsim.simulate(vector_select, params={"value": values})
    for i in range(len(values)):
        alone = reformsim.simulate(vector_select, params={"value": values[i]})
        np.testing.assert_array_equal(together.values[i], alone.values[0])


def test_vector_select_error_action_fails_the_member(write_mdl):
    path = write_mdl("select.mdl", {"x[dim]": "0", "y": "VECTOR SELECT(x[dim!], x[dim!], 0, 0, 1)"},
                     "dim:\n\tA1, A2\n\t~\t\n\t~\t\n\t|\n\n")
    with pytest.warns(reformsim.ReformsimWarning, match="NaN"):
        results = reformsim.simulate(reformsim.load_model(path), outputs=["y"])
    assert results.failures and results.failures[0].variable == "y"


def test_get_time_value_relative_to_the_initial_time(write_mdl):
    path = write_mdl("tv.mdl", {"x": "GET TIME VALUE(1, 2, 0)"})
    assert reformsim.simulate(reformsim.load_model(path), outputs=["x"])["x"][0].tolist() \
        == [2.0] * 5


# --- RANDOM functions in arrays ------------------------------------------------------------------

@pytest.fixture(scope="module")
def random_array():
    return reformsim.load_model(MODELS / "random_array.mdl")


def test_each_cell_draws_its_own_numbers(random_array):
    noise = reformsim.simulate(random_array, outputs=["noise"])
    cells = [noise[f"noise[{r}]"][0] for r in ("north", "south", "east")]
    assert not np.array_equal(cells[0], cells[1]) and not np.array_equal(cells[1], cells[2])


@pytest.mark.parametrize("size", [1, 7, 50])
def test_member_draws_do_not_depend_on_the_ensemble(random_array, size):
    """Member 0's streams are the same in an ensemble of 1, 7 or 50, and as stream 0 alone."""
    ensemble = reformsim.simulate(random_array, size=size)
    alone = reformsim.simulate(random_array, streams=[0])
    np.testing.assert_array_equal(ensemble.values[0], alone.values[0])
    if size > 1:
        last = reformsim.simulate(random_array, streams=[size - 1])
        np.testing.assert_array_equal(ensemble.values[-1], last.values[0])


def test_cell_draws_follow_their_distributions(random_array):
    from scipy import stats

    runs = reformsim.simulate(random_array, size=400, outputs=["noise", "shock"])
    noise = runs["noise[east]"].ravel()
    assert noise.min() >= 0 and noise.max() <= 10
    assert stats.kstest(noise / 10, "uniform").pvalue > 1e-3
    shock = runs["shock[north]"].ravel()   # sd 1 in [-5, 5]: hardly truncated
    assert abs(shock.std() - 1) < 0.05 and shock.min() >= -5 and shock.max() <= 5
