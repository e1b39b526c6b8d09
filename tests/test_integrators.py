"""Integrators: convergence orders, PySD's time grid, scipy methods, and methods that refuse."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from reformsim.engine import integrators


def _final_error(model, method, dt):
    results = reformsim.simulate(model, method=method, params={"TIME STEP": dt, "SAVEPER": 1})
    return abs(results["Stock"][0, -1] - 100 * np.exp(-10 / 5))


@pytest.mark.parametrize(("method", "order", "dts"), [
    ("euler", 1, (0.125, 0.0625)),
    ("rk4", 4, (0.5, 0.25)),
], ids=["euler", "rk4"])
def test_convergence_order(decay, method, order, dts):
    """Halving TIME STEP divides the error by about 2**order on exponential decay."""
    coarse, fine = (_final_error(decay, method, dt) for dt in dts)
    assert np.log2(coarse / fine) == pytest.approx(order, abs=0.1)


@pytest.mark.parametrize("method", ["RK45", "LSODA", "BDF", "Radau", "RK23", "DOP853"],
                         ids=["RK45", "LSODA", "BDF", "Radau", "RK23", "DOP853"])
def test_scipy_methods_agree_with_analytic(load, method):
    results = reformsim.simulate(load("logistic"), method=method,
                                 params={"Growth Rate": [0.5, 0.2]})
    t, r = results.times, np.array([[0.5], [0.2]])
    expected = 1000 / (1 + 99 * np.exp(-r * t))
    np.testing.assert_allclose(results["Population"], expected, rtol=1e-4)


def test_scipy_tolerances_are_used(decay):
    """With TIME STEP 2 the step is left to the tolerances; rtol 1e-12 must beat 1e-5 abs error."""
    results = reformsim.simulate(decay, method="RK45", params={"TIME STEP": 2, "SAVEPER": 2},
                                 rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results["Stock"][0], 100 * np.exp(-results.times / 5), rtol=1e-9)


def test_scipys_notes_become_a_members_reason_or_one_warning_of_the_engine(load):
    """LSODA asked for more accuracy than it can give: the member it stops keeps scipy's words
    in its failure reason; a note on members that finish (rtol raised to scipy's floor) is
    one ReformsimWarning for the call, never a bare UserWarning per member (the fuzz test's
    find: pytest turns warnings into errors, and so may a user)."""
    with pytest.warns(reformsim.ReformsimWarning) as caught:
        results = reformsim.simulate(load("blowup"), params={"K": [2, 3, 4, 1.0000001]},
                                     method="LSODA", rtol=1e-20, atol=1e-6)
    assert {type(w.message) for w in caught} == {reformsim.ReformsimWarning}
    assert list(results.failures) == [3]
    assert "Excess accuracy requested" in results.failures[3].reason
    notes = [str(w.message) for w in caught if "rtol" in str(w.message)
             and "went NaN" not in str(w.message)]
    assert notes == ["solve_ivp (LSODA): At least one element of `rtol` is too small. Setting "
                     "`rtol = np.maximum(rtol, 2.220446049250313e-14)`. (members 0, 1, 2)"]
    assert np.isfinite(results["Stock"][:3]).all()


def test_scipy_method_saves_on_the_euler_grid(decay):
    euler = reformsim.simulate(decay)
    rk45 = reformsim.simulate(decay, method="RK45")
    assert np.array_equal(euler.times, rk45.times)
    assert rk45["Decay Time"][0].tolist() == [5.0] * len(euler.times)


@pytest.mark.parametrize(("name", "method", "reason"), [
    ("discrete", "rk4", "delay_fixed, delayn, sample_if_true"),
    ("discrete", "RK45", "delay_fixed, delayn, sample_if_true"),
    ("random", "rk4", "RANDOM functions"),
    ("random", "LSODA", "RANDOM functions"),
], ids=["discrete-rk4", "discrete-RK45", "random-rk4", "random-LSODA"])
def test_methods_refuse_discrete_and_random_models(load, name, method, reason):
    with pytest.raises(reformsim.SimulationError,
                       match=rf"method '{method}' cannot integrate {reason}; use method='euler'"):
        reformsim.simulate(load(name), method=method)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_every_cell_of_a_nonnegative_array_stock_stays_at_or_above_zero(tmp_path, backend):
    """XMILE's non-negative stock of an array: each cell is clipped, not the first alone."""
    if backend == "numba":
        pytest.importorskip("numba")
    path = tmp_path / "nonneg_array.xmile"
    path.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><vendor>t</vendor><product version="1">t</product></header>
  <sim_specs><start>0</start><stop>2</stop><dt>0.5</dt></sim_specs>
  <dimensions><dim name="Region"><elem name="north"/><elem name="south"/></dim></dimensions>
  <model><variables>
    <stock name="S"><dimensions><dim name="Region"/></dimensions><eqn>1</eqn>
      <outflow>f</outflow><non_negative/></stock>
    <flow name="f"><dimensions><dim name="Region"/></dimensions>
      <element subscript="north"><eqn>3</eqn></element>
      <element subscript="south"><eqn>5</eqn></element></flow>
  </variables></model>
</xmile>
""")
    results = reformsim.simulate(reformsim.load_model(path), backend=backend)
    assert results.backend == backend
    np.testing.assert_array_equal(results["S[north]"][0], [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(results["S[south]"][0], [1, 0, 0, 0, 0])


def test_nonnegative_stocks_are_refused_by_other_methods(tmp_path):
    path = tmp_path / "nonneg.xmile"
    path.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><vendor>t</vendor><product version="1">t</product></header>
  <sim_specs><start>0</start><stop>4</stop><dt>0.5</dt></sim_specs>
  <model><variables>
    <stock name="S"><eqn>1</eqn><outflow>f</outflow><non_negative/></stock>
    <flow name="f"><eqn>2</eqn></flow>
  </variables></model>
</xmile>
""")
    model = reformsim.load_model(path)
    np.testing.assert_array_equal(reformsim.simulate(model)["S"][0], [1, 0, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(reformsim.SimulationError, match="non-negative stocks"):
        reformsim.simulate(model, method="rk4")


# --- the time grid ------------------------------------------------------------------------------

def _fixed(dt, saveper, final):
    return lambda t: (dt, saveper, final)


@pytest.mark.parametrize("constant", [True, False], ids=["laid-out", "stepped"])
def test_time_grid_saveper_twice_dt_saves_every_other_point(constant):
    grid = integrators.time_grid(0.0, _fixed(0.25, 0.5, 3.0), constant)
    assert grid.t.tolist() == [0.25 * i for i in range(13)]
    assert grid.save.tolist() == [i % 2 == 0 for i in range(13)]


@pytest.mark.parametrize("constant", [True, False], ids=["laid-out", "stepped"])
def test_time_grid_includes_final_time_and_stops_advancing_there(constant):
    grid = integrators.time_grid(1.0, _fixed(0.5, 0.5, 3.0), constant)
    assert grid.t[-1] == 3.0 and grid.save[-1]
    assert len(grid.t) == 5   # every point but the last advances


@pytest.mark.parametrize("constant", [True, False], ids=["laid-out", "stepped"])
def test_time_grid_accumulates_time_as_pysd_does(constant):
    """t += dt: 0.1 ten times is 0.9999999999999999, and it still counts as FINAL TIME."""
    grid = integrators.time_grid(0.0, _fixed(0.1, 0.1, 1.0), constant)
    expected, t = [], 0.0
    for _ in range(11):
        expected.append(t)
        t += 0.1
    assert grid.t.tolist() == expected
    assert grid.t[-1] == 0.9999999999999999
    assert grid.save.all()


def test_saved_times_are_rounded_like_pysd_index():
    grid = integrators.time_grid(0.0, _fixed(0.1, 0.3, 1.0))
    np.testing.assert_array_equal(integrators.saved_times(grid), [0.0, 0.3, 0.6, 0.9])
    assert grid.saves == 4


def test_time_grid_saveper_not_a_multiple_of_dt():
    """SAVEPER 0.3 with dt 0.25: saves where (t - t0) % 0.3 ~ 0 -> only 0 and 1.5, 3.0."""
    grid = integrators.time_grid(0.0, _fixed(0.25, 0.3, 3.0))
    assert grid.t[grid.save].tolist() == [0.0, 1.5, 3.0]


def test_time_grid_follows_a_time_varying_time_step():
    grid = integrators.time_grid(0.0, lambda t: (1.0 if t < 2 else 0.5, 0.5, 4.0))
    assert grid.t.tolist() == [0, 1, 2, 2.5, 3, 3.5, 4]
    assert grid.dt.tolist() == [1, 1, 0.5, 0.5, 0.5, 0.5, 0.5]


def test_time_grid_follows_a_time_varying_save_period():
    grid = integrators.time_grid(0.0, lambda t: (0.5, 1.0 if t < 2 else 0.5, 4.0))
    assert grid.t[grid.save].tolist() == [0, 1, 2, 2.5, 3, 3.5, 4]


@pytest.mark.parametrize(("dt", "saveper"), [(0.0, 1.0), (1.0, 0.0), (-1.0, 1.0), (np.nan, 1.0)],
                         ids=["dt-zero", "saveper-zero", "dt-negative", "dt-nan"])
def test_time_grid_refuses_non_positive_steps(dt, saveper):
    with pytest.raises(reformsim.SimulationError, match="must be positive"):
        integrators.time_grid(0.0, _fixed(dt, saveper, 1.0))


@pytest.mark.parametrize(("t0", "dt", "final", "message"), [
    (5.0, 1.0, 2.0, r"FINAL TIME \(2\) is before INITIAL TIME \(5\)"),
    (0.0, 1.0, -1e38, "FINAL TIME .* is before INITIAL TIME"),     # Vensim's :NA:
    (0.0, 1.0, np.nan, "FINAL TIME is not a number"),
    (np.nan, 1.0, 2.0, "INITIAL TIME is not a number"),
    (0.0, 1.0, 1e12, "more than reformsim allows"),
    (0.0, 1e-300, 1.0, "more than reformsim allows"),
], ids=["final-before-initial", "final-na", "final-nan", "initial-nan", "final-1e12",
        "dt-1e-300"])
@pytest.mark.parametrize("constant", [True, False], ids=["laid-out", "stepped"])
def test_time_grid_refuses_bad_controls_at_once(t0, dt, final, message, constant):
    with pytest.raises(reformsim.SimulationError, match=message):
        integrators.time_grid(t0, _fixed(dt, 1.0, final), constant)


def test_time_grid_with_final_equal_to_initial_is_one_point():
    grid = integrators.time_grid(5.0, _fixed(1.0, 1.0, 5.0))
    assert grid.t.tolist() == [5.0] and grid.save.tolist() == [True]


def test_every_method_is_registered_under_one_contract():
    assert set(integrators.METHODS) == {"euler", "rk4", "RK45", "RK23", "DOP853", "Radau",
                                        "BDF", "LSODA"}
    for name, integrator in integrators.INTEGRATORS.items():
        assert integrator.name == name and callable(integrator)


def test_euler_stepper_on_a_toy_system():
    """integrators' euler alone: y' = -y with dt 0.5 halves y each step; outputs at saves."""
    def rates(t, dt, Y, D, S, n):
        D[...] = -Y
        if S is not None:
            S[0] = Y[0]
        return ()

    grid = integrators.time_grid(0.0, _fixed(0.5, 1.0, 2.0))
    Y, out = np.ones((1, 3)), np.empty((3, 1, 3))
    problem = integrators.Problem(grid, Y, lambda members: integrators.System(rates))
    integrators.INTEGRATORS["euler"](problem, out, lambda *args: None, integrators.Options())
    np.testing.assert_array_equal(out[:, 0, 0], [1.0, 0.25, 0.0625])
    np.testing.assert_array_equal(Y[0], [0.0625] * 3)
