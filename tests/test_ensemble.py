"""Ensembles: scenario x sample members in one simulate call, and the Dataset contract."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

import reformsim
import reformsim.engine.simulation
from reformsim import ReformsimWarning
from reformsim.scenarios.ensemble import expand, run
from reformsim.scenarios.loading import load_scenarios

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
EXAMPLES = HERE.parent / "models" / "examples"   # the tutorial of docs/scenarios.md
ROADMAP = EXAMPLES / "roadmap.mdl"
STOCKS = ["Staff Capacity", "ICT Adoption", "Service Quality", "Citizen Engagement",
          "Trust in Government"]


@pytest.fixture(scope="module")
def roadmap():
    return reformsim.load_model(ROADMAP)


@pytest.fixture
def write(tmp_path):
    """Write a scenario file for the roadmap model and return its path."""
    def write_file(text: str, name: str = "s.yaml") -> Path:
        path = tmp_path / name
        path.write_text(f"model: {ROADMAP}\n" + text)
        return path

    return write_file


def run_files(model, *paths, **kwargs):
    return run(expand(load_scenarios(list(paths)), model), model, **kwargs)


@pytest.fixture(scope="module")
def roadmap_run(roadmap):
    return run_files(roadmap, EXAMPLES / "roadmap.yaml")


@pytest.fixture(scope="module")
def uncertain_run(roadmap):
    return run_files(roadmap, EXAMPLES / "roadmap_uncertain.yaml")


# --- the model -----------------------------------------------------------------------------

@pytest.mark.parametrize("stock", STOCKS)
def test_roadmap_model_is_in_equilibrium_without_a_policy(roadmap, stock):
    values = reformsim.simulate(roadmap, outputs=[stock])[stock][0]
    np.testing.assert_allclose(values, values[0], rtol=1e-12)


def test_roadmap_model_documents_every_variable(roadmap):
    undocumented = [e.name for e in roadmap.elements if not (e.units and e.documentation)]
    assert undocumented == []


def test_the_documented_example_runs(roadmap, tmp_path):
    import shutil

    import reformsim.scenarios.yaml_format as documented

    text = documented.__doc__.split("::\n", 1)[1]
    text = text.replace("../models/reform.mdl", str(ROADMAP)).replace("samples: 200", "samples: 4")
    shutil.copy(EXAMPLES / "budgets.csv", tmp_path)
    (tmp_path / "example.yaml").write_text(textwrap.dedent(text))
    ds = run_files(roadmap, tmp_path / "example.yaml")
    assert list(ds["scenario"].values) == ["status quo", "holistic", "ict", "capacity",
                                           "ict+capacity"]
    assert dict(ds.sizes) == {"scenario": 5, "sample": 4, "time": 21}


# --- the Dataset contract ------------------------------------------------------------------

def test_dataset_dims_and_coords(roadmap_run):
    ds = roadmap_run
    assert dict(ds.sizes) == {"scenario": 3, "sample": 1, "time": 61}
    assert list(ds["scenario"].values) == ["status quo", "ict first", "holistic"]
    assert list(ds["label"].values) == ["Status quo", "ICT first", "Holistic roadmap"]
    assert ds["description"].values[0] == "No reform spending."
    assert list(ds["sample"].values) == [0]
    assert ds["time"].values[[0, -1]].tolist() == [2025, 2040]


def test_dataset_variables_carry_units_and_descriptions(roadmap_run):
    quality = roadmap_run["Service Quality"]
    assert quality.dims == ("scenario", "sample", "time")
    assert quality.attrs == {"units": "dmnl",
                             "description": "Service quality index, 1 in the status quo (a stock)."}
    assert set(roadmap_run.data_vars) == {"ICT Share", "Training Share", "Engagement Share",
                                          "Service Quality", "Trust in Government", "status"}


def test_dataset_attrs(roadmap_run):
    assert roadmap_run.attrs == {"model": str(ROADMAP), "method": "euler", "seed": -1,
                                 "baseline": "status quo", "uncertain_parameters": "",
                                 "status_variable": "status"}


def test_status_is_ok_per_member(roadmap_run):
    assert roadmap_run["status"].dims == ("scenario", "sample")
    assert (roadmap_run["status"].values == "ok").all()


def test_failed_member_gets_its_failure_as_status(roadmap, write):
    path = write("scenarios: {fine: {}, broken: {set: {Adoption Time: 0}}}\n"
                 "outputs: [ICT Adoption]\n")
    with pytest.warns(ReformsimWarning, match="1 of 2 members"):
        ds = run_files(roadmap, path)
    assert ds["status"].values[:, 0].tolist()[0] == "ok"
    assert ds["status"].values[1, 0] == "'ICT Adoption' is not finite at time 2026"


def test_a_file_without_scenarios_runs_the_model_as_it_is(roadmap, write):
    text = "uncertainty: {samples: 3, parameters: {Base Trust: {uniform: [0.3, 0.5]}}}\n"
    ds = run_files(roadmap, write(text + "outputs: [Trust in Government]\n"))
    assert ds["scenario"].values.tolist() == ["baseline"]
    assert ds.attrs["baseline"] == "baseline"
    np.testing.assert_array_equal(ds["Trust in Government"].isel(scenario=0, time=0),
                                  ds["param:Base Trust"])


def test_default_outputs_are_every_variable(roadmap, write):
    ds = run_files(roadmap, write("scenarios: {a: {}}\n"))
    assert set(STOCKS) | {"ICT Share", "Policy Active"} <= set(ds.data_vars)


def test_a_dataset_survives_netcdf(roadmap_run, tmp_path):
    import xarray as xr

    roadmap_run.to_netcdf(tmp_path / "r.nc")
    with xr.open_dataset(tmp_path / "r.nc") as back:
        assert back["label"].values.tolist() == roadmap_run["label"].values.tolist()
        np.testing.assert_array_equal(back["Service Quality"], roadmap_run["Service Quality"])


# --- schedules ---------------------------------------------------------------------------------

def share(ds, scenario, name):
    return ds[name].sel(scenario=scenario, sample=0).values


def test_ramp_schedule_trajectory(roadmap_run):
    times = roadmap_run["time"].values
    expected = np.interp(times, [2028, 2030], [0.0, 0.4])
    np.testing.assert_allclose(share(roadmap_run, "ict first", "ICT Share"), expected, atol=1e-12)


def test_step_schedule_trajectory(roadmap_run):
    times = roadmap_run["time"].values
    np.testing.assert_array_equal(share(roadmap_run, "ict first", "Training Share"),
                                  np.where(times >= 2032, 0.3, 0.0))


def test_csv_schedule_trajectory_overrides_the_inherited_ramp(roadmap_run):
    times = roadmap_run["time"].values
    expected = np.interp(times, [2025, 2030, 2035, 2040], [0, 0.5, 0.5, 0.2])
    np.testing.assert_allclose(share(roadmap_run, "holistic", "ICT Share"), expected, atol=1e-12)


def test_set_and_inherited_schedule_together(roadmap_run):
    times = roadmap_run["time"].values
    np.testing.assert_array_equal(share(roadmap_run, "holistic", "Training Share"),
                                  np.where(times >= 2032, 0.3, 0.0))
    assert (share(roadmap_run, "holistic", "Engagement Share") == 0.2).all()


def test_step_starts_from_the_scenarios_own_value(roadmap, write):
    path = write("scenarios:\n  a:\n    set: {ICT Share: 0.1}\n"
                 "    schedule: {ICT Share: [{at: 2030, value: 0.5}]}\noutputs: [ICT Share]\n")
    ds = run_files(roadmap, path)
    np.testing.assert_array_equal(share(ds, "a", "ICT Share"),
                                  np.where(ds["time"].values >= 2030, 0.5, 0.1))


@pytest.mark.parametrize(("scenario", "start"), [
    ("status quo", math.nan), ("ict first", 2028.0), ("holistic", 2025.0)],
    ids=["baseline", "ramp", "csv-from-the-start"])
def test_change_start(roadmap_run, scenario, start):
    found = float(roadmap_run["change_start"].sel(scenario=scenario))
    assert found == start or (math.isnan(start) and math.isnan(found))


@pytest.mark.parametrize(("schedule", "start"), [
    ("[{at: 2030, value: 0}]", math.nan),
    ("[{at: 2030, value: 0}, {at: 2033, value: 0.2, ramp: 1}]", 2033.0),
    ("[{at: 2020, value: 0.3}]", 2025.0),
], ids=["same-as-baseline", "after-a-no-op-step", "before-t0"])
def test_change_start_ignores_steps_that_change_nothing(roadmap, write, schedule, start):
    path = write(f"scenarios:\n  base: {{}}\n  a: {{schedule: {{ICT Share: {schedule}}}}}\n"
                 "outputs: [ICT Share]\n")
    found = float(expand(load_scenarios([path]), roadmap).change_start[1])
    assert found == start or (math.isnan(start) and math.isnan(found))


# --- initial values and lookups --------------------------------------------------------------

def test_initial_value_of_a_stock(roadmap_run):
    assert share(roadmap_run, "holistic", "Trust in Government")[0] == 0.39
    assert share(roadmap_run, "status quo", "Trust in Government")[0] == 0.4


def test_lookup_replacement_applies_to_its_scenario_only(roadmap, write):
    path = write("scenarios:\n  same: {}\n  flat:\n    lookups: {Effect of ICT on Quality: "
                 "[[0, 2], [5, 2]]}\noutputs: [Indicated Quality]\n")
    ds = run_files(roadmap, path)
    assert share(ds, "same", "Indicated Quality")[0] == 1.0
    assert share(ds, "flat", "Indicated Quality")[0] == 2.0


def test_cin_scenario_runs_like_its_yaml_twin(roadmap, write):
    twin = write("scenarios:\n  policy:\n    set: {ICT Share: 0.3, Training Share: 0.2, "
                 "Engagement Share: 0.1}\n    lookups: {Effect of ICT on Quality: "
                 "[[0, 0.6], [1, 1.2], [5, 1.8]]}\n")
    from_cin = run_files(roadmap, EXAMPLES / "policy.cin")
    from_yaml = run_files(roadmap, twin)
    np.testing.assert_array_equal(from_cin["Trust in Government"], from_yaml["Trust in Government"])


# --- factorial ----------------------------------------------------------------------------------

@pytest.fixture
def simulate_calls(monkeypatch):
    calls = []
    real = reformsim.engine.simulation.simulate

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(reformsim.engine.simulation, "simulate", counting)
    return calls


def test_factorial_runs_eight_combinations_in_one_simulate_call(roadmap, simulate_calls):
    ds = run_files(roadmap, EXAMPLES / "roadmap_factorial.yaml")
    assert len(simulate_calls) == 1
    assert ds.sizes["scenario"] == 8
    assert ds["label"].values.tolist() == [
        "Status quo", "ICT", "Capacity", "Engagement", "ICT + Capacity", "ICT + Engagement",
        "Capacity + Engagement", "ICT + Capacity + Engagement"]


def test_all_packages_together_equal_setting_them_by_hand(roadmap):
    combined = run_files(roadmap, EXAMPLES / "roadmap_factorial.yaml")
    by_hand = run_files(roadmap, SCENARIOS / "by_hand.yaml")
    for name in ("Service Quality", "Trust in Government", "Reform Spending"):
        np.testing.assert_array_equal(combined[name].sel(scenario="ict+capacity+engagement"),
                                      by_hand[name].sel(scenario="all three"))


def test_whole_differs_from_the_sum_of_its_parts(roadmap):
    ds = run_files(roadmap, EXAMPLES / "roadmap_factorial.yaml")
    quality = ds["Service Quality"].isel(sample=0, time=-1)
    effect = {name: float(quality.sel(scenario=name) - quality.sel(scenario="status quo"))
              for name in ("ict", "capacity", "ict+capacity")}
    assert effect["ict+capacity"] > effect["ict"] + effect["capacity"]


# --- uncertainty --------------------------------------------------------------------------------

def test_every_scenario_sees_the_same_draws(uncertain_run):
    drawn = uncertain_run["Trust Adjustment Time"].isel(time=0)
    np.testing.assert_array_equal(drawn.sel(scenario="status quo"), drawn.sel(scenario="ict"))
    np.testing.assert_array_equal(drawn.sel(scenario="ict"),
                                  uncertain_run["param:Trust Adjustment Time"])


def test_uncertain_dataset_labels(uncertain_run):
    assert uncertain_run.sizes["sample"] == 16
    assert uncertain_run["param:Adoption Time"].dims == ("sample",)
    assert uncertain_run.attrs["seed"] == 7
    assert uncertain_run.attrs["uncertain_parameters"] == (
        "Trust Adjustment Time,Adoption Time,Engagement Elasticity")


def test_draws_respect_bounds_in_the_run(uncertain_run):
    drawn = uncertain_run["Adoption Time"].values
    assert drawn.min() >= 2 and drawn.max() <= 4


def test_lhs_strata_are_each_hit_once_in_the_run(uncertain_run):
    drawn = uncertain_run["param:Trust Adjustment Time"].values
    strata = np.floor((drawn - 3) / 5 * 16).astype(int)
    assert sorted(strata) == list(range(16))


@pytest.mark.parametrize(("seed", "same"), [(7, True), (8, False)], ids=["same-seed", "other"])
def test_seed_reproduces_the_draws(roadmap, uncertain_run, write, seed, same):
    text = (EXAMPLES / "roadmap_uncertain.yaml").read_text().replace("seed: 7", f"seed: {seed}")
    again = run_files(roadmap, write(text.split("\n", 2)[2]))
    equal = np.array_equal(again["Trust in Government"], uncertain_run["Trust in Government"])
    assert equal is same


def test_member_equals_its_single_run(roadmap, uncertain_run):
    draws = {n: float(uncertain_run[f"param:{n}"][5]) for n in
             ("Trust Adjustment Time", "Adoption Time", "Engagement Elasticity")}
    alone = reformsim.simulate(roadmap, params={**draws, "ICT Share": 0.4},
                               outputs=["Trust in Government"])
    np.testing.assert_allclose(uncertain_run["Trust in Government"].sel(scenario="ict", sample=5),
                               alone["Trust in Government"][0], rtol=1e-12)
