"""Decision analysis against oracles: Ishigami's analytic Sobol indices, a budget allocation
with a known optimum, parameters recovered from noisy synthetic data; plus the constraint
grammar, Theil's decomposition, factorial contrasts and regret worked by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

import reformsim
from conftest import MODELS
from reformsim.analysis.constraints import lever_resolver, parse_constraint
from reformsim.analysis.factorial import factorial_effects
from reformsim.analysis.requests import RequestError, parse_period, parse_range
from reformsim.analysis.robustness import robustness_table
from reformsim.analysis.theil import theil
from reformsim.cli import main
from reformsim.scenarios.spec import Factorial

ISHIGAMI, BUDGET = MODELS / "ishigami.mdl", MODELS / "budget.mdl"
LOGISTIC = MODELS / "logistic.mdl"
PI = math.pi


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> dict[str, tuple[float, float]]:
    """(S1, ST) per input (Saltelli et al. 2008, The Primer, 4.7)."""
    v1 = 0.5 * (1 + b * PI ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = 8 * b ** 2 * PI ** 8 / 225
    v = v1 + v2 + v13
    return {"X1": (v1 / v, (v1 + v13) / v), "X2": (v2 / v, v2 / v), "X3": (0.0, v13 / v)}


@pytest.fixture(scope="module")
def ishigami_sobol():
    box = {name: (-PI, PI) for name in ("X1", "X2", "X3")}
    return reformsim.sensitivity(ISHIGAMI, box, var="Y", samples=4096, seed=1, over_time=False)


@pytest.mark.parametrize("name", ["X1", "X2", "X3"])
def test_sobol_recovers_ishigami_within_intervals(ishigami_sobol, name):
    row = ishigami_sobol.indices.set_index("parameter").loc[name]
    s1, st = ishigami_indices()[name]
    assert abs(row["S1"] - s1) <= row["S1_conf"]
    assert abs(row["ST"] - st) <= row["ST_conf"]
    assert ishigami_sobol.evaluations == 4096 * 5     # N (D + 2), one simulate call


def test_morris_ranks_ishigami_inputs():
    box = {name: (-PI, PI) for name in ("X1", "X2", "X3")}
    study = reformsim.sensitivity(ISHIGAMI, box, var="Y", method="morris", samples=64, seed=2,
                                  over_time=False)
    mu = study.indices.set_index("parameter")["mu_star"]
    assert mu["X1"] > mu["X3"] > 0 and mu["X2"] > mu["X3"]
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(study.indices.columns)


def test_fast_first_order_matches_ishigami():
    box = {name: (-PI, PI) for name in ("X1", "X2", "X3")}
    study = reformsim.sensitivity(ISHIGAMI, box, var="Y", method="fast", samples=2048, seed=3,
                                  over_time=False)
    s1 = study.indices.set_index("parameter")["S1"]
    expected = ishigami_indices()
    for name in ("X1", "X2", "X3"):
        assert s1[name] == pytest.approx(expected[name][0], abs=0.03)


def test_swings_hold_the_other_parameters_at_the_base(ishigami_sobol):
    swings = ishigami_sobol.swings.set_index("parameter")
    # base X1 = X2 = X3 = 0: Y = 7 sin(X2)^2 alone moves, and sin(+-pi)^2 = 0
    assert swings.loc["X1", "at_high"] == pytest.approx(math.sin(PI), abs=1e-9)
    assert swings["base"].iloc[0] == 0.0


def test_optimum_of_budget_allocation_within_1e_3():
    best = reformsim.optimize(BUDGET, {"A": (0, 1), "B": (0, 1), "C": (0, 1)}, var="Output",
                              constraints=["A + B + C <= 1"], seed=1)
    np.testing.assert_allclose(list(best.levers.values()), np.array([1, 4, 9]) / 14, atol=1e-3)
    assert best.objective == pytest.approx(math.sqrt(14), abs=1e-3)
    assert best.document().keys() == {"levers", "objective", "evaluations"}
    assert best.history["evaluations"].iloc[-1] == best.evaluations


def test_optimum_under_an_equality_is_found_on_the_plane():
    best = reformsim.optimize(BUDGET, {"A": (0, 1), "B": (0, 1), "C": (0, 1)}, var="Output",
                              constraints=["A + B + C = 1"], seed=2)
    assert sum(best.levers.values()) == pytest.approx(1, abs=1e-9)
    np.testing.assert_allclose(list(best.levers.values()), np.array([1, 4, 9]) / 14, atol=1e-3)


def test_minimize_puts_every_lever_at_its_low_end():
    best = reformsim.optimize(BUDGET, {"A": (0.1, 1), "B": (0.2, 1)}, var="Output",
                              maximize=False, seed=0)
    assert best.levers == pytest.approx({"A": 0.1, "B": 0.2}, abs=1e-3)


def test_infeasible_constraints_are_refused_with_their_reach():
    with pytest.raises(RequestError, match="no lever values") as info:
        reformsim.optimize(BUDGET, {"A": (0, 1), "B": (0, 1)}, var="Output",
                           constraints=["A + B >= 3"])
    assert "reach 0 to 2" in str(info.value)


@pytest.fixture(scope="module")
def logistic_data(tmp_path_factory):
    """Noisy observations of the logistic model at r = 0.6, K = 800, with a gap."""
    model = reformsim.load_model(LOGISTIC)
    run = reformsim.simulate(model, params={"Growth Rate": 0.6, "Carrying Capacity": 800},
                             outputs=["Population"])
    rng = np.random.default_rng(3)
    times = run.times[::8]
    values = run["Population"][0, ::8] + rng.normal(0, 20, len(times))
    values[3] = np.nan
    path = tmp_path_factory.mktemp("data") / "population.csv"
    pd.DataFrame({"Time": times, "population": values}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("intervals", ["mcmc", "wald"])
def test_calibration_recovers_parameters_within_intervals(logistic_data, intervals):
    fit = reformsim.calibrate(LOGISTIC, logistic_data, {"Growth Rate": (0.1, 2),
                                                         "Carrying Capacity": (100, 3000)},
                              intervals=intervals, steps=400, seed=4)
    truth = {"Growth Rate": 0.6, "Carrying Capacity": 800}
    for name, value in truth.items():
        lo, hi = fit.intervals[name]
        assert lo < value < hi and lo < fit.params[name] < hi
    stats = fit.theil["Population"]
    assert stats["UM"] + stats["US"] + stats["UC"] == pytest.approx(1)
    assert fit.document().keys() == {"params", "intervals", "theil"}


def test_calibration_data_column_must_name_a_variable(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("time,Populaton\n0,10\n1,20\n")
    with pytest.raises(RequestError, match="'Populaton': names no variable") as info:
        reformsim.calibrate(LOGISTIC, path, {"Growth Rate": (0.1, 2)})
    assert "did you mean 'Population'" in str(info.value)



@pytest.fixture(scope="module")
def logistic_from_25(tmp_path_factory):
    """The logistic model from P0 = 25 (the model says 10), r = 0.6, K = 800: Population with
    noise and Growth exact, as a DataFrame indexed by time."""
    model = reformsim.load_model(LOGISTIC)
    run = reformsim.simulate(model, params={"Growth Rate": 0.6, "Carrying Capacity": 800},
                             initial={"Population": 25}, outputs=["Population", "Growth"])
    rng = np.random.default_rng(5)
    times = run.times[::8]
    return pd.DataFrame({"Population": run["Population"][0, ::8] + rng.normal(0, 20, len(times)),
                         "Growth": run["Growth"][0, ::8]}, index=pd.Index(times, name="time"))


def test_calibration_recovers_a_stocks_initial_value(logistic_from_25):
    fit = reformsim.calibrate(LOGISTIC, logistic_from_25[["Population"]],
                              {"Growth Rate": (0.1, 2), "Carrying Capacity": (100, 3000)},
                              initial={"Population": (1, 100)}, intervals="wald", seed=2)
    assert set(fit.initial) == {"Population"} and set(fit.params) == {"Growth Rate",
                                                                     "Carrying Capacity"}
    for name, value in {"Growth Rate": 0.6, "Carrying Capacity": 800, "Population": 25}.items():
        lo, hi = fit.intervals[name]
        assert lo < value < hi, (name, fit.intervals[name])
    assert fit.document()["initial"] == fit.initial


def test_a_series_of_weight_0_is_a_check_not_a_fit(logistic_from_25):
    ranges = {"Growth Rate": (0.1, 2), "Carrying Capacity": (100, 3000)}
    alone = reformsim.calibrate(LOGISTIC, logistic_from_25[["Population"]], ranges,
                                initial={"Population": (1, 100)}, intervals="wald", seed=2)
    checked = reformsim.calibrate(LOGISTIC, logistic_from_25, ranges,
                                  initial={"Population": (1, 100)}, weights={"Growth": 0},
                                  intervals="wald", seed=2)
    assert checked.params == alone.params and checked.checks == ("Growth",)
    assert set(checked.theil) == {"Population", "Growth"}
    assert checked.theil["Growth"]["MSE"] < 5        # the exact series, predicted


def test_calibration_weights_cannot_all_be_zero_or_negative(logistic_from_25):
    for weights, message in (({"Population": 0}, "every series has weight 0"),
                             ({"Population": -1}, "weight -1 must be positive")):
        with pytest.raises(RequestError, match=message):
            reformsim.calibrate(LOGISTIC, logistic_from_25[["Population"]],
                                {"Growth Rate": (0.1, 2)}, weights=weights)


def test_calibration_starts_the_run_where_asked(tmp_path):
    # the model runs from 0; data from 4 on, fitted from a run started at 4 with P0 fitted
    model = reformsim.load_model(LOGISTIC)
    run = reformsim.simulate(model, params={"INITIAL TIME": 4, "Growth Rate": 0.6},
                             initial={"Population": 50}, outputs=["Population"])
    path = tmp_path / "late.csv"
    path.write_text("# made by the test: from time 4, P(4) = 50, r = 0.6\ntime,Population\n"
                    + "".join(f"{t:g},{v:.6g}\n" for t, v in zip(run.times[::4],
                                                               run["Population"][0, ::4])))
    fit = reformsim.calibrate(LOGISTIC, path, {"Growth Rate": (0.1, 2)},
                              initial={"Population": (1, 200)}, start=4, intervals="wald")
    assert fit.times[0] == 4
    assert fit.params["Growth Rate"] == pytest.approx(0.6, rel=1e-3)
    assert fit.initial["Population"] == pytest.approx(50, rel=1e-3)
    with pytest.raises(RequestError, match=r"reach outside the run \(5 to 20\)") as info:
        reformsim.calibrate(LOGISTIC, path, {"Growth Rate": (0.1, 2)}, start=5)
    assert "--start" in str(info.value)


def test_only_a_stock_has_an_initial_value_to_fit(logistic_from_25):
    with pytest.raises(RequestError, match="'Growth Rate': is a constant of logistic.mdl, not "
                                           "a stock"):
        reformsim.calibrate(LOGISTIC, logistic_from_25, {}, initial={"Growth Rate": (0, 1)})
    with pytest.raises(RequestError, match="did you mean 'Population'"):
        reformsim.calibrate(LOGISTIC, logistic_from_25, {}, initial={"Populaton": (0, 1)})


def test_cli_calibrate_writes_initial_values_and_start_to_the_scenario(tmp_path,
                                                                       logistic_from_25):
    data = tmp_path / "data.csv"
    logistic_from_25.reset_index().to_csv(data, index=False)
    out = tmp_path / "fit"
    result = CliRunner().invoke(main, [
        "calibrate", str(LOGISTIC), str(data), "-p", "Growth Rate=0.1:2",
        "-p", "Carrying Capacity=100:3000", "--initial", "Population=1:100", "-w", "Growth=0",
        "--start", "0", "--intervals", "wald", "--format", "json", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"params", "initial", "intervals", "theil"}
    fitted = reformsim.load_scenarios([out / "fitted.yaml"])
    changes = fitted.scenarios[0].changes
    assert changes.initial["Population"] == pytest.approx(document["initial"]["Population"])
    assert fitted.time == {"INITIAL TIME": 0.0}
    assert "Population" not in (out / "fitted.cin").read_text().split("}")[-1]
    assert "the fitted initial values of Population are in fitted.yaml" in \
        (out / "fitted.cin").read_text()
    rerun = CliRunner().invoke(main, ["run", str(out / "fitted.yaml"), "-q",
                                      "-o", str(tmp_path / "rerun")])
    assert rerun.exit_code == 0, rerun.output

@pytest.mark.parametrize(("text", "coefficients", "low", "high"), [
    ("A + B <= 1", {"A": 1, "B": 1}, -math.inf, 1),
    ("2*A - B/4 >= -0.5 + 0.1", {"A": 2, "B": -0.25}, -0.4, math.inf),
    ("A = 0.3 + B", {"A": 1, "B": -1}, 0.3, 0.3),
    ('"A" < 1e-3', {"A": 1}, -math.inf, 1e-3),
    ("- -A + 3 a > 2", {"A": 4}, 2, math.inf),
], ids=["sum", "factors", "equality", "quoted", "signs"])
def test_constraint_grammar(text, coefficients, low, high):
    c = parse_constraint(text, lever_resolver(["A", "B"]))
    assert (c.coefficients, c.low, c.high) == (coefficients, low, high)


@pytest.mark.parametrize(("text", "problem"), [
    ("A * B <= 1", "is not linear"), ("A + <= 1", "a term is missing"),
    ("A <= 1 <= 2", "found several"), ("3 <= 4", "names no lever"), ("Q <= 1", "not one of"),
    ("A / 0 <= 1", "divides by zero"), ("A <= ", "is empty"),
], ids=["product", "missing", "chained", "constants", "unknown", "zero", "empty"])
def test_constraint_grammar_refuses(text, problem):
    with pytest.raises(RequestError, match=problem):
        parse_constraint(text, lever_resolver(["A", "B"]))


@pytest.mark.parametrize(("text", "problem"), [
    ("x=2:1", "is not below"), ("x=1", "expected NAME=LOW:HIGH"), ("x=a:2", "is not a number")],
    ids=["reversed", "no-colon", "word"])
def test_ranges_are_checked(text, problem):
    with pytest.raises(RequestError, match=problem):
        parse_range(text)


def test_periods():
    assert parse_period("2035").is_point and parse_period("2030:2040").jsonable() == [2030, 2040]
    with pytest.raises(RequestError, match="ends"):
        parse_period("2040:2030")


def test_theil_decomposition_by_hand():
    stats = theil(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]))
    # errors 1, 2, 3: MSE 14/3; bias (4-2)^2 = 4; sd 1.633 vs 0.816: (0.816)^2 = 2/3; r = 1
    assert stats["MSE"] == pytest.approx(14 / 3)
    assert stats["UM"] == pytest.approx(4 / (14 / 3))
    assert stats["US"] == pytest.approx((2 / 3) / (14 / 3))
    assert stats["UC"] == pytest.approx(0, abs=1e-12)
    assert stats["RMSPE"] == pytest.approx(1.0)


def _factorial_run(values: dict[str, float]) -> xr.Dataset:
    names = list(values)
    data = np.array([[values[n]] * 2 for n in names])[:, None, :]
    return xr.Dataset({"y": (("scenario", "sample", "time"), data)},
                      coords={"scenario": names, "sample": [0], "time": [0.0, 1.0]})


def test_factorial_effects_by_hand():
    # y = 1 + 2a + 3b + 4ab with a, b in {0, 1}
    run = _factorial_run({"base": 1, "a": 3, "b": 4, "a+b": 10})
    found = factorial_effects(run, Factorial(("a", "b"), base="base"), ["y"])
    effects = found.effects.set_index("effect")["value"]
    assert effects["a"] == pytest.approx((3 + 10) / 2 - (1 + 4) / 2)     # 4
    assert effects["a x b"] == pytest.approx((1 + 10) / 2 - (3 + 4) / 2)  # 2 = half of 4
    whole = found.whole.iloc[0]
    assert (whole["all"], whole["parts"], whole["synergy"]) == (9, 5, 4)


def test_regret_against_the_best_of_each_future():
    values = np.array([[1.0, 5.0], [3.0, 2.0]])   # two roadmaps x two futures
    run = xr.Dataset({"y": (("scenario", "sample", "time"), values[:, :, None])},
                     coords={"scenario": ["a", "b"], "sample": [0, 1], "time": [0.0]})
    table = robustness_table(run, ["y"], threshold=2.5).set_index("scenario")
    assert table.loc["a", "max_regret"] == 2 and table.loc["b", "max_regret"] == 3
    assert table.loc["a", "meets"] == 0.5 and table.loc["b", "best_share"] == 0.5


def test_cli_sensitivity_json_is_the_documented_records(tmp_path):
    result = CliRunner().invoke(main, [
        "sensitivity", str(ISHIGAMI), "-p", f"X1={-PI}:{PI}", "-p", f"X2={-PI}:{PI}",
        "-p", f"X3={-PI}:{PI}", "--var", "Y", "--samples", "256", "--format", "json", "-q",
        "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["parameter"] for r in records] == ["X1", "X2", "X3"]
    assert set(records[0]) == {"output", "time", "parameter", "S1", "S1_conf", "ST", "ST_conf"}
    assert (tmp_path / "run" / "manifest.json").is_file()
    assert (tmp_path / "run" / "figures" / "indices-y-1-0.png").is_file()


def test_cli_optimize_writes_a_scenario_that_run_accepts(tmp_path):
    out = tmp_path / "opt"
    result = CliRunner().invoke(main, [
        "optimize", str(BUDGET), "-l", "A=0:1", "-l", "B=0:1", "-l", "C=0:1", "--var",
        "Output", "-c", "A + B + C <= 1", "--format", "json", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["objective"] == pytest.approx(math.sqrt(14), abs=1e-3)
    scenarios = reformsim.load_scenarios([out / "optimised.yaml"])
    assert scenarios.scenarios[0].changes.set["C"] == pytest.approx(9 / 14, abs=1e-3)
    rerun = CliRunner().invoke(main, ["run", str(out / "optimised.yaml"), "-q",
                                      "-o", str(tmp_path / "rerun")])
    assert rerun.exit_code == 0, rerun.output


@pytest.mark.parametrize(("args", "message"), [
    (["-l", "A=1:0", "--var", "Output"], "the low end 1 is not below the high end 0"),
    (["-l", "Aa=0:1", "--var", "Output"], "'Aa': is not a constant of budget.mdl"),
    (["-l", "A=0:1", "--var", "Outptu"], "did you mean 'Output'?"),
    (["-l", "A=0:1", "--var", "Output", "-c", "A >= 2"], "no lever values"),
], ids=["reversed", "unknown-lever", "unknown-var", "infeasible"])
def test_cli_optimize_errors_are_clear(tmp_path, args, message):
    result = CliRunner().invoke(main, ["optimize", str(BUDGET), *args, "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()
