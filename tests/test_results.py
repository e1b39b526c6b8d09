"""Results: names as written, units and docs kept, pandas and xarray views."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim


@pytest.fixture(scope="module")
def single(load):
    return reformsim.simulate(load("decay"))


@pytest.fixture(scope="module")
def ensemble(load):
    return reformsim.simulate(load("decay"), params={"Decay Time": [5.0, 2.0, 8.0]})


def test_shapes(ensemble):
    assert ensemble.values.shape == (3, 81, 4)
    assert ensemble.times.shape == (81,)
    assert ensemble.size == 3
    assert ensemble["Stock"].shape == (3, 81)


def test_dataframe_columns_are_names_as_written(single):
    frame = single.to_dataframe()
    assert list(frame.columns) == ["Stock", "Outflow", "Decay Time", "Initial Stock"]
    assert frame.index.name == "time"
    np.testing.assert_array_equal(frame.index.to_numpy(), np.arange(0, 10.125, 0.125))
    np.testing.assert_array_equal(frame["Stock"].to_numpy(), single["Stock"][0])


def test_dataframe_of_one_member(ensemble):
    frame = ensemble.to_dataframe(member=1)
    np.testing.assert_array_equal(frame["Decay Time"].to_numpy(), 2.0)
    np.testing.assert_array_equal(frame["Stock"].to_numpy(), ensemble["Stock"][1])


def test_dataframe_of_many_members_needs_a_member(ensemble):
    with pytest.raises(reformsim.SimulationError, match="3 members; pass member=i"):
        ensemble.to_dataframe()


def test_units_and_docs_are_kept(single):
    assert single.units == {"Stock": "widgets", "Outflow": "widgets/Month", "Decay Time": "Month",
                            "Initial Stock": "widgets"}
    assert single.docs["Outflow"] == "First-order drain."
    assert single.docs["Decay Time"] == "Time constant tau."


def test_xarray_dims_coords_and_attrs(ensemble):
    data = ensemble.to_xarray()
    assert data["Stock"].dims == ("member", "time")
    assert data["Stock"].attrs["units"] == "widgets"
    assert data["Stock"].attrs["description"] == "Decays toward zero: S(t) = S0 exp(-t/tau)."
    np.testing.assert_array_equal(data["member"].to_numpy(), [0, 1, 2])
    np.testing.assert_array_equal(data["time"].to_numpy(), ensemble.times)
    np.testing.assert_array_equal(data["Outflow"].to_numpy(), ensemble["Outflow"])
    assert data.attrs["method"] == "euler"
    assert data["status"].to_numpy().tolist() == ["ok", "ok", "ok"]


def test_xarray_carries_failure_status(load):
    with pytest.warns(reformsim.ReformsimWarning):
        results = reformsim.simulate(load("blowup"), params={"K": [2.0, 1.0]})
    assert results.to_xarray()["status"].to_numpy().tolist() == ["ok", "'Flow' is not finite at time 0"]


def test_unknown_name_suggests_one(single):
    with pytest.raises(reformsim.SimulationError, match="did you mean 'Stock'"):
        single["Stok"]


def test_params_record_the_overrides(ensemble):
    assert list(ensemble.params) == ["Decay Time"]
    np.testing.assert_array_equal(ensemble.params["Decay Time"], [5.0, 2.0, 8.0])
