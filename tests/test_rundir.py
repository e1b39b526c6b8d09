"""Run directories: written whole or not at all, never over an existing one, read back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from reformsim.report.rundir import (
    FIGURES,
    KPIS,
    MANIFEST,
    RESULTS,
    RunDirError,
    make_manifest,
    read_run,
    write_run,
)

HOSTILE = 'Trust "in" gov/ernment \\ ünïcode'


@pytest.fixture
def dataset():
    values = np.arange(12.0).reshape(2, 2, 3)
    ds = xr.Dataset(
        {HOSTILE: (("scenario", "sample", "time"), values, {"units": "Dmnl", "description": "d"}),
         "status": (("scenario", "sample"), np.array([["ok", "ok"], ["ok", "x is NaN"]]))},
        coords={"scenario": ["status quo", "holistic"],
                "label": ("scenario", ["Status quo", "Holistic roadmap"]),
                "sample": [0, 1], "time": [2025.0, 2026.0, 2027.0]})
    ds.attrs["baseline"] = "status quo"
    return ds


def _write(tmp_path, dataset, target=None, figures=None):
    model = tmp_path / "m.mdl"
    model.write_text("model text")
    manifest = make_manifest(model, [], method="euler", time_step=0.25, seed=7, members=4)
    kpis = pd.DataFrame({"scenario": ["status quo"], "value": [1.0]})
    return write_run(target or tmp_path / "runs" / "r1", dataset, kpis, manifest, figures)


def test_round_trip_keeps_names_units_labels(tmp_path, dataset):
    directory = _write(tmp_path, dataset)
    assert sorted(p.name for p in directory.iterdir()) == sorted([RESULTS, KPIS, MANIFEST, FIGURES])
    back, manifest = read_run(directory)
    xr.testing.assert_identical(back, dataset)
    assert back[HOSTILE].attrs["units"] == "Dmnl"
    assert manifest["seed"] == 7 and manifest["method"] == "euler"
    assert len(manifest["model"]["sha256"]) == 64
    assert {"numpy", "scipy", "pysd"} <= set(manifest["libraries"])


def test_existing_directory_is_never_overwritten(tmp_path, dataset):
    directory = _write(tmp_path, dataset)
    before = (directory / MANIFEST).read_text()
    with pytest.raises(RunDirError, match="already exists; reformsim never overwrites a run"):
        _write(tmp_path, dataset, target=directory)
    assert (directory / MANIFEST).read_text() == before


def test_failure_midway_leaves_nothing(tmp_path, dataset):
    def broken(path):
        raise OSError("disk full")

    target = tmp_path / "runs" / "r2"
    with pytest.raises(OSError, match="disk full"):
        _write(tmp_path, dataset, target=target, figures={"lines.png": broken})
    assert not target.exists()
    assert list((tmp_path / "runs").iterdir()) == []


def test_reading_something_else_says_so(tmp_path):
    (tmp_path / "notarun").mkdir()
    with pytest.raises(RunDirError) as caught:
        read_run(tmp_path / "notarun")
    assert str(caught.value) == (f"{tmp_path / 'notarun'}: not a reformsim run directory (no "
                                 "results.nc, manifest.json)\n  hint: give a directory written "
                                 "by 'reformsim run'")


def test_manifest_is_json(tmp_path, dataset):
    directory = _write(tmp_path, dataset)
    assert json.loads((directory / MANIFEST).read_text())["time_step"] == 0.25
