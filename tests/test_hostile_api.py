"""The Python API under bad or unlucky input: no silent wrong answer. Names that collide with
the run's own bookkeeping, statistics over failed members, inputs of mismatched shapes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import reformsim
from conftest import model_path
from reformsim.report.kpis import failed_members, kpi_table, status_variable, values_at
from reformsim.report.runs import simulate_scenarios

CONTROLS = ("FINAL TIME = 2\n\t~\t\n\t~\t|\nINITIAL TIME = 0\n\t~\t\n\t~\t|\n"
            "SAVEPER = 1\n\t~\t\n\t~\t|\nTIME STEP = 1\n\t~\t\n\t~\t|\n")


def _model(tmp_path, *equations: str):
    path = tmp_path / "m.mdl"
    path.write_text("{UTF-8}\n" + "".join(f"{e}\n\t~\t\n\t~\t|\n" for e in equations) + CONTROLS)
    return path


def _run(tmp_path, model, yaml: str):
    (tmp_path / "s.yaml").write_text(f"model: {model.name}\n" + yaml)
    return simulate_scenarios(model, [tmp_path / "s.yaml"]).dataset


# --- names that collide with the run's own ------------------------------------------------------

def test_a_model_variable_named_status_keeps_its_values(tmp_path):
    model = _model(tmp_path, "status = 7", "other = status * 2")
    ds = _run(tmp_path, model, "scenarios: {a: {}, b: {set: {status: 8}}}\n")
    np.testing.assert_array_equal(ds["status"].sel(time=0).values.ravel(), [7, 8])
    assert status_variable(ds) == "status (run)"
    assert set(ds["status (run)"].values.ravel()) == {"ok"}
    table = values_at(ds, ["status"], [1.0])
    assert list(table["value"]) == [7.0, 8.0]


def test_a_model_variable_named_like_a_draw_keeps_its_values(tmp_path):
    model = tmp_path / "m.xmile"  # XMILE names may hold a colon, unquoted
    model.write_text('<?xml version="1.0"?><xmile version="1.0" xmlns="http://docs.oasis-open.org'
                     '/xmile/ns/XMILE/v1.0"><header><name>t</name></header><sim_specs><start>0'
                     '</start><stop>2</stop><dt>1</dt></sim_specs><model><variables><aux name='
                     '"param:k"><eqn>5</eqn></aux><aux name="k"><eqn>1</eqn></aux></variables>'
                     '</model></xmile>')
    ds = _run(tmp_path, model, "uncertainty: {samples: 3, parameters: {k: {uniform: [1, 2]}}}\n")
    assert (ds["param:k"].values == 5).all() and "time" in ds["param:k"].dims
    draws = ds["param:k (run)"].values
    assert draws.shape == (3,) and ((1 <= draws) & (draws <= 2)).all()


def test_results_to_xarray_keeps_a_status_variable(tmp_path):
    model = reformsim.load_model(_model(tmp_path, "status = 7"))
    ds = reformsim.simulate(model).to_xarray()
    assert (ds["status"].values == 7).all()
    assert ds.attrs["status_variable"] == "status (run)" and ds["status (run)"].values[0] == "ok"


# --- statistics over failed members --------------------------------------------------------------

@pytest.fixture
def half_failed(tmp_path):
    """blowup.mdl (Flow = Stock / (K - 1)) with K = 1 in one scenario: that one fails."""
    shutil.copy(model_path("blowup"), tmp_path / "blowup.mdl")
    with pytest.warns(reformsim.ReformsimWarning, match="1 of 2 members went NaN/inf"):
        return _run(tmp_path, tmp_path / "blowup.mdl",
                    "scenarios: {ok: {}, broken: {set: {K: 1}}}\noutputs: [Stock]\n")


def test_kpis_count_the_members_they_leave_out(half_failed):
    assert list(failed_members(half_failed)) == [0, 1]
    table = kpi_table(half_failed, ["Stock"], [5.0])
    assert list(table["failed"]) == [0, 1]
    broken = table[table["scenario"] == "broken"].iloc[0]
    assert np.isnan(broken["value"])  # every member failed: no value, not a made-up one


def test_kpis_of_a_run_where_nothing_failed_have_no_failed_column(tmp_path):
    model = _model(tmp_path, "x = 1")
    ds = _run(tmp_path, model, "scenarios: {a: {}}\n")
    assert "failed" not in kpi_table(ds, ["x"], [1.0]).columns


# --- inputs of mismatched shapes -----------------------------------------------------------------

SHAPES = {  # case -> (x, y, error)
    "rows differ": ([[0, 1], [0, 1]], [[0, 1], [1, 2], [2, 3]],
                    "2 rows of x values but 3 rows of y values"),
    "ragged rows": ([0, 1, 2], [[0, 1, 2], [1, 2]], "the y values: rows of different lengths"),
    "lengths differ": ([0, 1, 2], [1, 2], "3 x values but 2 y values"),
    "empty": ([], [], "must be a 1-D array (shared) or 2-D"),
    "not finite": ([0, float("inf")], [1, 2], "the x values must be finite"),
    "text": (["a", "b"], [1, 2], "the x values must be numbers, got ['a', 'b']"),
    "decreasing": ([1, 0], [1, 2], "the x values must not decrease"),
    "three dimensions": ([[[0, 1]]], [[[1, 2]]], "must be a 1-D array (shared) or 2-D"),
}


@pytest.mark.parametrize("kind", [reformsim.Table, reformsim.Series], ids=["Table", "Series"])
@pytest.mark.parametrize(("x", "y", "error"), SHAPES.values(), ids=SHAPES.keys())
def test_points_of_mismatched_shapes_are_refused(kind, x, y, error):
    with pytest.raises(reformsim.SimulationError) as caught:
        kind(x, y)
    assert str(caught.value).startswith(f"{kind.__name__}: ")
    assert error in str(caught.value)


def test_a_huge_bad_value_is_quoted_short():
    with pytest.raises(reformsim.SimulationError) as caught:
        reformsim.Table(["x"] * 10**6, [1] * 10**6)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(("x", "y", "members"), [
    ([0, 1], [[0, 1], [1, 2], [2, 3]], 3), ([[0, 1], [0, 2]], [0, 1], 2), ([0, 1], [0, 1], 1),
], ids=["shared-x", "shared-y", "shared"])
def test_one_shared_row_goes_with_any_number_of_members(x, y, members):
    assert reformsim.Table(x, y).members == members
