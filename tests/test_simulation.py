"""simulate(): ensembles equal single runs, requests are checked, failures become statuses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reformsim

# member-varying parameters per model, chosen so some members share a structure and some not
ENSEMBLES = {
    "decay": {"Decay Time": [5.0, 1.0, 12.5, 0.3], "Initial Stock": [100.0, 7.0, 1e-3, 250.0]},
    "logistic": {"Growth Rate": [0.5, 0.1, 1.3], "Carrying Capacity": [1000.0, 50.0, 1e6]},
    "goal_seek": {"Goal": [100.0, -3.0, 7.0], "Delivery Delay": [3.0, 0.75, 9.0],
                  "Perception Time": [2.0, 0.5, 4.0]},
    "discrete": {"Delay Order": [3.0, 1.0, 2.0, 3.0, 5.0], "Fixed Delay Time": [2.0, 1.0, 2.0, 3.25, 0.1],
                 "Sample Period": [3.0, 1.0, 2.0, 0.5, 4.0]},
    "lookup": {},  # nothing to vary: the ensemble is size=3 copies
    "clock": {},
}


def _params(name):
    return ENSEMBLES[name]


def _size(name):
    return None if ENSEMBLES[name] else 3


def _member_params(params, i):
    return {k: v[i] for k, v in params.items()}


def _single(model, params, i, **kwargs):
    return reformsim.simulate(model, params=_member_params(params, i), **kwargs)


@pytest.mark.parametrize("name", sorted(ENSEMBLES), ids=sorted(ENSEMBLES))
def test_member_equals_single_run(load, name):
    """Every member of an ensemble is bit for bit the run of that member alone."""
    model, params = load(name), _params(name)
    together = reformsim.simulate(model, params=params, size=_size(name))
    for i in range(together.size):
        alone = _single(model, params, i)
        np.testing.assert_array_equal(together.values[i], alone.values[0], err_msg=f"member {i}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(taus=st.lists(st.floats(0.05, 1e3), min_size=1, max_size=6),
       stocks=st.floats(-1e6, 1e6))
def test_decay_member_equals_single_run_property(decay, taus, stocks):
    together = reformsim.simulate(decay, params={"Decay Time": taus, "Initial Stock": stocks})
    alone = np.concatenate([reformsim.simulate(decay, params={"Decay Time": tau,
                                                               "Initial Stock": stocks}).values
                            for tau in taus])
    assert np.array_equal(together.values, alone)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(st.tuples(st.integers(1, 6), st.floats(0.25, 5.0), st.floats(0.1, 6.0)),
                     min_size=1, max_size=5))
def test_discrete_member_equals_single_run_property(load, data):
    """Members whose DELAY N order / DELAY FIXED length differ run in separate structure groups."""
    model = load("discrete")
    params = {"Delay Order": [d[0] for d in data], "Fixed Delay Time": [d[1] for d in data],
              "Sample Period": [d[2] for d in data]}
    together = reformsim.simulate(model, params=params)
    alone = np.concatenate([_single(model, params, i).values for i in range(len(data))])
    assert np.array_equal(together.values, alone)


@pytest.mark.parametrize("chunk", [1, 3], ids=["chunk1", "chunk3"])
@pytest.mark.parametrize(("name", "kwargs"), [
    ("decay", {"params": ENSEMBLES["decay"]}),
    ("discrete", {"params": ENSEMBLES["discrete"]}),
    ("goal_seek", {"params": ENSEMBLES["goal_seek"]}),
    ("random", {"size": 7}),
], ids=["decay", "discrete-structure-groups", "goal_seek", "random"])
def test_chunk_size_does_not_change_results(load, name, kwargs, chunk):
    model = load(name)
    default = reformsim.simulate(model, **kwargs).values
    chunked = reformsim.simulate(model, chunk_size=chunk, **kwargs).values
    assert np.array_equal(chunked, default)


def test_initial_values_per_member(decay):
    stocks = [1.0, -2.0, 300.0]
    together = reformsim.simulate(decay, initial={"Stock": stocks})
    np.testing.assert_array_equal(together["Stock"][:, 0], stocks)
    for i, s0 in enumerate(stocks):
        alone = reformsim.simulate(decay, initial={"Stock": s0})
        np.testing.assert_array_equal(together.values[i], alone.values[0])


def test_initial_value_overrides_initial_expression(decay):
    """``initial=`` wins over the stock's initial expression, but 'Initial Stock' keeps its value."""
    results = reformsim.simulate(decay, initial={"stock": 40.0})
    assert results["Stock"][0, 0] == 40.0
    assert results["Initial Stock"][0, 0] == 100.0


def test_initial_on_a_non_stock_is_refused(decay):
    with pytest.raises(reformsim.SimulationError, match="not a stock"):
        reformsim.simulate(decay, initial={"Outflow": 1.0})


@pytest.mark.parametrize(("params", "expected"), [
    ({"Decay Tme": 3.0}, "did you mean 'Decay Time'"),
    ({"Initial Stok": 3.0}, "did you mean 'Initial Stock'"),
], ids=["decay-time", "initial-stock"])
def test_unknown_parameter_suggests_a_name(decay, params, expected):
    with pytest.raises(reformsim.SimulationError, match=expected):
        reformsim.simulate(decay, params=params)


def test_names_are_case_and_underscore_insensitive(decay):
    a = reformsim.simulate(decay, params={"decay_time": 2.0})
    b = reformsim.simulate(decay, params={"DECAY  TIME": 2.0})
    assert np.array_equal(a.values, b.values)
    assert a["Decay Time"][0, 0] == 2.0


@pytest.mark.parametrize("name", ["Outflow", "Stock"], ids=["flow", "stock"])
def test_setting_a_non_constant_is_refused(decay, name):
    with pytest.raises(reformsim.SimulationError, match="not a constant"):
        reformsim.simulate(decay, params={name: 1.0})


@pytest.mark.parametrize(("params", "initial"), [
    ({"Decay Time": [1.0, 2.0], "Initial Stock": [1.0, 2.0, 3.0]}, {}),
    ({"Decay Time": [1.0, 2.0]}, {"Stock": [1.0, 2.0, 3.0]}),
], ids=["params", "params-and-initial"])
def test_arrays_of_different_lengths_are_refused(decay, params, initial):
    with pytest.raises(reformsim.SimulationError) as caught:
        reformsim.simulate(decay, params=params, initial=initial)
    assert "2" in str(caught.value) and "3" in str(caught.value)  # both lengths are named


def test_size_must_agree_with_arrays(decay):
    with pytest.raises(reformsim.SimulationError) as caught:
        reformsim.simulate(decay, params={"Decay Time": [1.0, 2.0]}, size=3)
    assert "2" in str(caught.value) and "3" in str(caught.value)


def test_unknown_method_lists_choices(decay):
    with pytest.raises(reformsim.SimulationError, match="unknown method 'eulr'.*'rk4'"):
        reformsim.simulate(decay, method="eulr")


def test_outputs_restrict_stored_variables(decay):
    full = reformsim.simulate(decay, params={"Decay Time": [2.0, 3.0]})
    some = reformsim.simulate(decay, params={"Decay Time": [2.0, 3.0]}, outputs=["stock", "Decay Time"])
    assert some.names == ("Stock", "Decay Time")
    assert some.values.shape == (2, len(full.times), 2)
    assert np.array_equal(some["Stock"], full["Stock"])
    np.testing.assert_array_equal(some["Decay Time"], [[2.0] * len(full.times), [3.0] * len(full.times)])


def test_unknown_output_is_refused(decay):
    with pytest.raises(reformsim.SimulationError, match="did you mean 'Outflow'"):
        reformsim.simulate(decay, outputs=["Outflw"])


def test_default_outputs_leave_out_control_variables(decay):
    assert reformsim.simulate(decay).names == ("Stock", "Outflow", "Decay Time", "Initial Stock")


# --- random -----------------------------------------------------------------------------------

def test_random_same_seed_is_reproducible(load):
    model = load("random")
    a = reformsim.simulate(model, size=5, seed=11)
    b = reformsim.simulate(model, size=5, seed=11)
    assert np.array_equal(a.values, b.values)


def test_random_different_seeds_differ(load):
    model = load("random")
    a = reformsim.simulate(model, size=5, seed=1)["Noise"]
    b = reformsim.simulate(model, size=5, seed=2)["Noise"]
    assert not np.any(a == b)


def test_random_seeds_give_unrelated_ensembles(load):
    model = load("random")
    a = reformsim.simulate(model, size=4, seed=0)["Noise"]
    b = reformsim.simulate(model, size=4, seed=1)["Noise"]
    assert not any(np.array_equal(a[i], b[j]) for i in range(4) for j in range(4))


def test_random_members_differ(load):
    noise = reformsim.simulate(load("random"), size=4)["Noise"]
    assert len({tuple(row) for row in noise}) == 4


def test_random_draws_change_every_step(load):
    noise = reformsim.simulate(load("random"))["Noise"][0]
    assert len(np.unique(noise)) == len(noise)


@pytest.mark.parametrize("seed", [0, 5], ids=["seed0", "seed5"])
def test_random_member_equals_single_run_with_its_stream(load, seed):
    model = load("random")
    together = reformsim.simulate(model, size=6, seed=seed)
    for i in range(6):
        alone = reformsim.simulate(model, streams=[i], seed=seed)
        np.testing.assert_array_equal(together.values[i], alone.values[0], err_msg=f"member {i}")


def test_random_streams_pick_members(load):
    model = load("random")
    together = reformsim.simulate(model, size=6)
    picked = reformsim.simulate(model, streams=[4, 1])  # streams set N
    assert np.array_equal(picked.values, together.values[[4, 1]])


def test_random_values_stay_in_bounds(load):
    results = reformsim.simulate(load("random"), size=50)
    assert results["Noise"].min() >= 0 and results["Noise"].max() <= 10
    assert results["Shock"].min() >= -5 and results["Shock"].max() <= 5


# --- failures ---------------------------------------------------------------------------------

def test_non_finite_member_gets_a_failure_and_others_finish(load):
    model = load("blowup")
    with pytest.warns(reformsim.ReformsimWarning, match="1 of 3 members went NaN/inf"):
        results = reformsim.simulate(model, params={"K": [2.0, 1.0, 3.0]})
    assert list(results.failures) == [1]
    assert results.failures[1] == reformsim.Failure("Flow", 0.0)
    assert np.isfinite(results.values[[0, 2]]).all()
    np.testing.assert_array_equal(results.ok, [True, False, True])
    assert results.status(0) == "ok"
    assert results.status(1) == "'Flow' is not finite at time 0"


def test_failure_names_a_stock_when_only_stocks_are_kept(load):
    model = load("blowup")
    with pytest.warns(reformsim.ReformsimWarning):
        results = reformsim.simulate(model, params={"K": [2.0, 1.0]}, outputs=["Stock"])
    assert results.failures == {1: reformsim.Failure("Stock", 0.25)}


def test_finite_members_of_a_failing_ensemble_equal_their_single_runs(load):
    model = load("blowup")
    with pytest.warns(reformsim.ReformsimWarning):
        together = reformsim.simulate(model, params={"K": [1.5, 1.0, 0.5]})
    alone = reformsim.simulate(model, params={"K": 0.5})
    assert np.array_equal(together.values[2], alone.values[0])


def test_first_member_failing_at_initial_time_gives_only_the_summary_warning(load):
    model = load("blowup")
    with pytest.warns(reformsim.ReformsimWarning, match="1 of 2 members"):
        results = reformsim.simulate(model, params={"K": [1.0, 2.0]})
    assert results.failures == {0: reformsim.Failure("Flow", 0.0)}


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"])
def test_adaptive_methods_isolate_a_failing_member(load, method):
    """A member that blows up fails alone: its failure says why, the others equal their
    single runs bit for bit (each member is solved on its own, with its own steps)."""
    model = load("blowup")
    with pytest.warns(reformsim.ReformsimWarning, match="1 of 3 members"):
        together = reformsim.simulate(model, params={"K": [1.5, 1.0, 0.5]}, method=method)
    assert list(together.failures) == [1]
    assert together.status(1).startswith(("'", f"solve_ivp ({method}) failed"))
    for member, k in ((0, 1.5), (2, 0.5)):
        alone = reformsim.simulate(model, params={"K": k}, method=method)
        assert np.array_equal(together.values[member], alone.values[0])


@pytest.mark.parametrize(("options", "message"), [
    ({"atol": np.nan}, "atol must be a number >= 0"),
    ({"atol": -1.0}, "atol must be a number >= 0"),
    ({"rtol": 0.0}, "rtol must be a positive number"),
    ({"rtol": np.inf}, "rtol must be a positive number"),
])
def test_tolerances_are_checked_before_anything_runs(decay, options, message):
    with pytest.raises(reformsim.SimulationError, match=message):
        reformsim.simulate(decay, method="RK45", **options)


@pytest.mark.parametrize(("params", "message"), [
    ({"SAVEPER": 0.3}, r"SAVEPER \(0.3\) is not a multiple of TIME STEP \(0.125\): values "
                       r"are saved where the two meet, every 1.5"),
    ({"SAVEPER": 0.01}, r"SAVEPER \(0.01\) is less than TIME STEP \(0.125\): values are "
                        r"saved every TIME STEP"),
], ids=["not-a-multiple", "below-time-step"])
def test_a_save_period_that_saves_other_times_warns(decay, params, message):
    with pytest.warns(reformsim.ReformsimWarning, match=message):
        reformsim.simulate(decay, params=params)


@pytest.mark.parametrize(("params", "message"), [
    ({"FINAL TIME": -3}, "FINAL TIME .* is before INITIAL TIME"),
    ({"FINAL TIME": 1e12}, "more than reformsim allows"),
    ({"TIME STEP": 1e-300}, "more than reformsim allows"),
    ({"INITIAL TIME": np.nan}, "INITIAL TIME is not a number"),
], ids=["final-before-initial", "final-1e12", "dt-1e-300", "initial-nan"])
def test_bad_control_values_fail_at_once(decay, params, message):
    with pytest.raises(reformsim.SimulationError, match=message):
        reformsim.simulate(decay, params=params)


# --- control variables ------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "expected"), [
    ({"TIME STEP": 0.5}, np.arange(0, 10.5, 0.5)),
    ({"FINAL TIME": 3}, np.arange(0, 3.125, 0.125)),
    ({"INITIAL TIME": 2}, np.arange(2, 10.125, 0.125)),
    ({"SAVEPER": 1}, np.arange(0, 11.0, 1.0)),
], ids=["time-step", "final-time", "initial-time", "saveper"])
def test_control_variables_set_the_time_grid(decay, params, expected):
    results = reformsim.simulate(decay, params=params)
    np.testing.assert_array_equal(results.times, expected)
    assert results.values.shape[1] == len(expected)


def test_time_step_changes_the_trajectory(decay):
    coarse = reformsim.simulate(decay, params={"TIME STEP": 0.5, "SAVEPER": 1})["Stock"][0]
    fine = reformsim.simulate(decay, params={"SAVEPER": 1})["Stock"][0]
    np.testing.assert_allclose(coarse, 100 * (1 - 0.5 / 5) ** (2 * np.arange(11)), rtol=1e-12)
    assert not np.array_equal(coarse, fine)


def test_members_with_different_time_steps_equal_their_single_runs(load):
    """SAVEPER is fixed in saveper.mdl, so members may differ in TIME STEP."""
    model = load("saveper")
    together = reformsim.simulate(model, params={"TIME STEP": [0.125, 0.5, 0.25]})
    for i, dt in enumerate([0.125, 0.5, 0.25]):
        alone = reformsim.simulate(model, params={"TIME STEP": dt})
        np.testing.assert_array_equal(together.values[i], alone.values[0])


def test_members_with_different_save_times_are_refused(decay):
    with pytest.raises(reformsim.SimulationError, match="run them separately"):
        reformsim.simulate(decay, params={"FINAL TIME": [5.0, 10.0]})


# --- analytic checks --------------------------------------------------------------------------

def test_decay_euler_is_the_geometric_sequence(decay):
    results = reformsim.simulate(decay, params={"Decay Time": [5.0, 2.0]})
    n = np.arange(len(results.times))
    expected = 100 * (1 - 0.125 / np.array([5.0, 2.0]))[:, None] ** n
    np.testing.assert_allclose(results["Stock"], expected, rtol=1e-12)
    np.testing.assert_allclose(results["Outflow"], expected / np.array([5.0, 2.0])[:, None],
                               rtol=1e-12)


@pytest.mark.parametrize(("method", "rtol"), [("rk4", 1e-6), ("RK45", 2e-5), ("LSODA", 2e-5),
                                              ("BDF", 2e-4), ("DOP853", 2e-5)],
                         ids=["rk4", "RK45", "LSODA", "BDF", "DOP853"])
def test_decay_matches_exponential(decay, method, rtol):
    results = reformsim.simulate(decay, params={"Decay Time": [5.0, 2.0]}, method=method)
    expected = 100 * np.exp(-results.times[None, :] / np.array([5.0, 2.0])[:, None])
    np.testing.assert_allclose(results["Stock"], expected, rtol=rtol)


def test_decay_xmile_twin_equals_vensim(load):
    vensim = reformsim.simulate(load("decay"), params={"Decay Time": [5.0, 0.7]})
    xmile = reformsim.simulate(load("decay_xmile"), params={"Decay Time": [5.0, 0.7]})
    assert sorted(xmile.names) == sorted(vensim.names)
    assert np.array_equal(xmile.times, vensim.times)
    for name in vensim.names:
        assert np.array_equal(xmile[name], vensim[name]), name


def test_logistic_rk4_matches_closed_form(load):
    results = reformsim.simulate(load("logistic"), method="rk4")
    t, r, k, p0 = results.times, 0.5, 1000.0, 10.0
    expected = k / (1 + (k / p0 - 1) * np.exp(-r * t))
    np.testing.assert_allclose(results["Population"][0], expected, rtol=1e-7)


def test_logistic_euler_recursion(load):
    results = reformsim.simulate(load("logistic"))
    p = [10.0]
    for _ in results.times[1:]:
        p.append(p[-1] + 0.0625 * (0.5 * p[-1] * (1 - p[-1] / 1000.0)))
    np.testing.assert_allclose(results["Population"][0], p, rtol=1e-12)


def test_goal_seek_rk4_matches_closed_forms(load):
    results = reformsim.simulate(load("goal_seek"), method="rk4")
    t = results.times
    np.testing.assert_allclose(results["Level"][0], 100 * (1 - np.exp(-t / 4)), rtol=1e-6, atol=1e-5)
    # SMOOTH(Level, 2) of Level = 100 (1 - e^(-t/4)): 100 (1 - 2 e^(-t/4) + e^(-t/2))
    np.testing.assert_allclose(results["Perceived Level"][0],
                               100 * (1 - 2 * np.exp(-t / 4) + np.exp(-t / 2)), rtol=1e-6, atol=1e-5)


def test_delay1_of_a_step_euler(load):
    """DELAY1 of STEP(10, 1) with D = 3 under Euler: 10 (1 - (1 - dt/D)^k) k steps after t = 1."""
    results = reformsim.simulate(load("goal_seek"))
    t, dt = results.times, 0.125
    k = np.maximum(np.round((t - 1) / dt), 0)
    np.testing.assert_allclose(results["Delayed Orders"][0], 10 * (1 - (1 - dt / 3) ** k),
                               rtol=1e-12, atol=1e-12)


def test_delay_fixed_shifts_its_input(load):
    results = reformsim.simulate(load("discrete"), params={"Fixed Delay Time": [2.0, 3.0]})
    for i, lag in enumerate([8, 12]):  # delay / TIME STEP
        delayed, source = results["Fixed Delayed"][i], results["Input"][i]
        np.testing.assert_array_equal(delayed[:lag], 10.0)
        np.testing.assert_array_equal(delayed[lag:], source[:-lag])


def test_sample_if_true_holds_samples(load):
    results = reformsim.simulate(load("discrete"))
    t, source, sampled = results.times, results["Input"][0], results["Sampled"][0]
    last_sample = np.floor(t / 3) * 3
    expected = source[np.searchsorted(t, last_sample)]
    np.testing.assert_array_equal(sampled, expected)


def test_delay_n_order_one_equals_delay1_form(load):
    """DELAY N of order 1 is a first-order material delay of the input."""
    results = reformsim.simulate(load("discrete"), params={"Delay Order": 1})
    source, out, dt, d = results["Input"][0], results["N Delayed"][0], 0.25, 4.0
    expected = [10.0]
    stage = 10.0 * d
    for x in source[:-1]:
        stage += dt * (x - stage / d)
        expected.append(stage / d)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_shared_teacup_ensemble_equals_single_runs(shared_models):
    model = reformsim.load_model(shared_models / "samples" / "teacup" / "teacup.mdl")
    together = reformsim.simulate(model, params={"Characteristic Time": [10.0, 3.0]})
    alone = reformsim.simulate(model, params={"Characteristic Time": 3.0})
    assert np.array_equal(together.values[1], alone.values[0])
    np.testing.assert_allclose(together["Teacup Temperature"][0, -1], 70 + 110 * (1 - 0.0125) ** 240,
                               rtol=1e-12)


@pytest.mark.parametrize(("equation", "expected"), [
    ("ZIDZ(1, b)", 0.0), ("XIDZ(1, b, 2)", 2.0), ("IF THEN ELSE(b = 0, 2, 1 / b)", 2.0),
], ids=["ZIDZ", "XIDZ", "IF-THEN-ELSE"])
def test_guarded_division_by_a_zero_constant_is_quiet(write_mdl, equation, expected):
    model = reformsim.load_model(write_mdl("guarded.mdl", {"b": "0", "a": equation}))
    np.testing.assert_array_equal(reformsim.simulate(model)["a"][0], expected)


@pytest.mark.parametrize(("equation", "expected"), [
    ("ZIDZ(1, b)", 0.0), ("XIDZ(1, b, 2)", 2.0), ("IF THEN ELSE(b = 0, 2, 1 / b)", 2.0),
], ids=["ZIDZ", "XIDZ", "IF-THEN-ELSE"])
def test_guarded_division_by_zero_in_the_run(write_mdl, equation, expected):
    """The same guard on a value that reaches zero during the run (rate pass: quiet)."""
    model = reformsim.load_model(write_mdl("guarded.mdl", {"b": "STEP(-1, 2) + 1", "a": equation}))
    results = reformsim.simulate(model)
    np.testing.assert_array_equal(results["a"][0, 2:], expected)
    np.testing.assert_array_equal(results["a"][0, :2], 1.0)


def test_two_threads_simulating_one_model_get_the_results_of_one(load):
    """CompiledModel is frozen and its caches are locked: threads that fill them at the same
    time (programs and grids per control values, variants for schedules) each get what a
    single thread gets."""
    from concurrent.futures import ThreadPoolExecutor

    calls = [{"params": {"TIME STEP": dt}} for dt in (0.25, 0.5, 0.25, 0.125, 0.5, 0.125)]
    calls += [{"params": {"TIME STEP": 0.25, "Decay Time": reformsim.Series([0, 5], [1, 2])}}]
    alone = [reformsim.simulate(load("decay"), **call).values for call in calls]
    for _ in range(3):
        model = reformsim.load_model(load("decay").source)   # empty caches, shared by threads
        with ThreadPoolExecutor(max_workers=4) as pool:
            together = list(pool.map(lambda call: reformsim.simulate(model, **call).values,
                                     calls))
        assert all(np.array_equal(a, b) for a, b in zip(alone, together))
