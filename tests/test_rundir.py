"""Run directories: written whole or not at all, never over anything, never lost, read back.

Cases are tables: names netCDF must hold, outputs that cannot be written (each fails before
anything is simulated), files that are not what they claim (each a RunDirError), hidden
folders left by killed runs.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import reformsim
from reformsim.report import rundir
from reformsim.report.rundir import (
    FIGURES,
    INPUTS,
    KPIS,
    MANIFEST,
    RESULTS,
    RunDirError,
    make_manifest,
    prepare,
    read_run,
    remove_stale,
    write_run,
)

HOSTILE = 'Trust "in" gov\\ernment ünïcode'
# name as in the model -> stored as it is in results.nc (plain xarray sees it)?
NAMES = {"Service quality": True, "x[a1,b2]": True, HOSTILE: True, "param:y": True,
         "a/b": False, ".": False, "tab\there": False, "esc\x1b[31m": False, "100%/2": False}


@pytest.fixture
def dataset():
    values = np.arange(12.0).reshape(2, 2, 3)
    ds = xr.Dataset(
        {name: (("scenario", "sample", "time"), values + i, {"units": "Dmnl", "description": "d"})
         for i, name in enumerate(NAMES)},
        coords={"scenario": ["status quo", "holistic"],
                "label": ("scenario", ["Status quo", "Holistic roadmap"]),
                "sample": [0, 1], "time": [2025.0, 2026.0, 2027.0]})
    ds["status"] = (("scenario", "sample"), np.array([["ok", "ok"], ["ok", "x is NaN"]]))
    ds.attrs.update(baseline="status quo", seed=2**63 - 1)
    return ds


@pytest.fixture(autouse=True)
def rescue_folder(tmp_path, monkeypatch):
    """Results rescued after a failed write go to the test's own folder."""
    folder = tmp_path / "rescue"
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder


def _kpis():
    return pd.DataFrame({"scenario": ["status quo"], "value": [1.0]})


def _manifest(tmp_path, target=None, inputs=()):
    model = tmp_path / "m.mdl"
    model.write_text("model text")
    return make_manifest(model, inputs, method="euler", time_step=0.25, seed=7, members=4,
                         directory=target, command=["reformsim", "run", "a b.yaml"])


def _write(tmp_path, dataset, target=None, figures=None, inputs=()):
    target = target or tmp_path / "runs" / "r1"
    return write_run(target, dataset, _kpis(), _manifest(tmp_path, target, inputs), figures,
                     inputs=inputs)


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- what is written ---------------------------------------------------------------------------

def test_round_trip_keeps_names_units_labels_and_big_seeds(tmp_path, dataset):
    directory = _write(tmp_path, dataset)
    assert _entries(directory) == sorted([RESULTS, KPIS, MANIFEST])
    assert FIGURES not in _entries(directory)     # nothing drawn, no empty folder
    back, manifest = read_run(directory)
    xr.testing.assert_identical(back, dataset)
    assert back.attrs["seed"] == 2**63 - 1
    assert manifest["seed"] == 7 and manifest["method"] == "euler"
    assert len(manifest["model"]["sha256"]) == 64
    assert {"numpy", "scipy", "pysd", "h5netcdf"} <= set(manifest["libraries"])


@pytest.mark.parametrize(("name", "plain"), NAMES.items(), ids=[repr(n) for n in NAMES])
def test_plain_xarray_sees_model_names(tmp_path, dataset, name, plain):
    directory = _write(tmp_path, dataset)
    with xr.open_dataset(directory / RESULTS) as opened:
        assert (name in opened.data_vars) is plain
        stored = name if plain else next(k for k, v in opened.data_vars.items()
                                         if v.attrs.get("reformsim_name") == name)
        np.testing.assert_array_equal(opened[stored].values, dataset[name].values)
        assert opened[stored].encoding["zlib"] is True  # compressed
    assert name in reformsim.open_run(directory).dataset


def test_open_run_is_public(tmp_path, dataset):
    directory = _write(tmp_path, dataset)
    run = reformsim.open_run(directory)
    assert run.path == directory and run.manifest["method"] == "euler"
    assert list(run.kpis.columns) == ["scenario", "value"]
    xr.testing.assert_identical(run.dataset, dataset)


def test_manifest_paths_are_relative_and_name_the_command_and_copies(tmp_path, dataset):
    scenario = tmp_path / "in" / "plan.yaml"
    scenario.parent.mkdir()
    scenario.write_text("scenarios: {a: {}}\n")
    directory = _write(tmp_path, dataset, inputs=[scenario])
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["model"]["path"] == "../../m.mdl"
    assert manifest["scenario_files"][0]["path"] == "../../in/plan.yaml"
    assert (directory / manifest["scenario_files"][0]["path"]).resolve() == scenario
    assert manifest["command"] == "reformsim run 'a b.yaml'"
    copy = directory / manifest["scenario_files"][0]["copy"]
    assert copy.parent.name == INPUTS and copy.read_text() == scenario.read_text()


def test_a_results_file_of_the_first_edition_still_reads(tmp_path, dataset):
    old = dataset[["Service quality", "status"]].rename({"Service quality": "v0", "status": "v1"})
    old["v0"].attrs["reformsim_name"], old["v1"].attrs["reformsim_name"] = "Service quality", \
        "status"
    old.attrs["seed"] = 7
    (tmp_path / "old").mkdir()
    old.to_netcdf(tmp_path / "old" / RESULTS, engine="scipy")
    (tmp_path / "old" / MANIFEST).write_text("{}")
    back, _ = read_run(tmp_path / "old")
    assert set(back.data_vars) == {"Service quality", "status"}


# --- never over anything, never lost -------------------------------------------------------------

def test_existing_directory_is_never_overwritten(tmp_path, dataset):
    directory = _write(tmp_path, dataset)
    before = (directory / MANIFEST).read_text()
    with pytest.raises(RunDirError, match="already exists; reformsim never overwrites a run"):
        _write(tmp_path, dataset, target=directory)
    assert (directory / MANIFEST).read_text() == before


@pytest.mark.parametrize("appeared", ["run", "empty folder", "file"])
def test_a_target_that_appears_during_the_run_is_kept_and_the_run_goes_beside_it(
        tmp_path, dataset, appeared):
    target = tmp_path / "runs" / "r1"
    with prepare(target) as staging:
        if appeared == "run":
            _write(tmp_path, dataset, target=target)
        elif appeared == "empty folder":
            target.mkdir()
        else:
            target.write_text("mine")
        before = _entries(target) if target.is_dir() else target.read_text()
        written = staging.write(dataset, _kpis(), _manifest(tmp_path, target))
    assert written == tmp_path / "runs" / "r1-2" and staging.moved
    assert (_entries(target) if target.is_dir() else target.read_text()) == before
    assert read_run(written)[0].sizes["scenario"] == 2


def test_threads_writing_the_same_target_each_get_a_directory(tmp_path, dataset):
    target, written, errors = tmp_path / "runs" / "same", [], []

    def write() -> None:
        try:
            with prepare(target) as staging:
                written.append(staging.write(dataset, _kpis(), _manifest(tmp_path, target)))
        except RunDirError as exc:   # the name was taken before this thread reserved it
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(written)) == len(written) and len(written) + len(errors) == 6
    for directory in written:
        assert read_run(directory)[0].attrs["seed"] == 2**63 - 1
    assert not [p for p in target.parent.iterdir() if ".partial-" in p.name]


def test_a_write_that_fails_after_simulating_saves_the_results_and_says_where(
        tmp_path, dataset, rescue_folder):
    def disk_full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "runs" / "r2"
    with pytest.raises(RunDirError) as caught:
        _write(tmp_path, dataset, target=target, figures={"lines.png": disk_full})
    text = str(caught.value)
    assert text.startswith(f"{target}: the run was simulated but could not be written (no space "
                           "left on the disk); its results and manifest were saved in ")
    (rescued,) = rescue_folder.iterdir()
    assert str(rescued) in text
    xr.testing.assert_identical(read_run(rescued)[0], dataset)
    assert not target.parent.exists()  # nothing half-written, not even the folder made for it


def test_a_bug_while_writing_leaves_nothing(tmp_path, dataset):
    def broken(path):
        raise ValueError("a figure bug")

    with pytest.raises(ValueError, match="a figure bug"):
        _write(tmp_path, dataset, figures={"lines.png": broken})
    assert not (tmp_path / "runs").exists()


# --- outputs that cannot be written fail before simulating ----------------------------------------

def _raise(code):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


# case -> (how the output is made unwritable, the reason given)
UNWRITABLE = {
    "under a file": ("file", "is a file, not a folder"),
    "read-only file system": (errno.EROFS, "the file system is read-only"),
    "no permission": (errno.EACCES, "no permission to write there"),
    "disk full": (errno.ENOSPC, "no space left on the disk"),
    "quota": (errno.EDQUOT, "the disk quota is used up"),
}


@pytest.mark.parametrize(("how", "reason"), UNWRITABLE.values(), ids=UNWRITABLE.keys())
def test_an_unwritable_output_fails_before_anything(tmp_path, monkeypatch, how, reason):
    target = tmp_path / "out" / "run"
    if how == "file":
        (tmp_path / "out").write_text("a file")
    else:
        (tmp_path / "out").mkdir()
        monkeypatch.setattr(rundir.tempfile, "mkdtemp", _raise(how))
    with pytest.raises(RunDirError) as caught:
        prepare(target)
    assert str(caught.value).startswith(f"{target}: cannot write the run directory: ")
    assert reason in str(caught.value) and "nothing was simulated" in str(caught.value)


def test_a_full_disk_fails_before_anything(tiny_disk):
    with pytest.raises(RunDirError, match="no space left on the disk"):
        prepare(tiny_disk / "run")
    assert _entries(tiny_disk) == ["filler"]


# --- files that are not what they claim -------------------------------------------------------

def _netcdf_without_scenarios(path):
    xr.Dataset({"x": ("t", [1.0])}).to_netcdf(path, engine="h5netcdf")


CORRUPT = {
    "empty results": (RESULTS, b"", "not a readable results file (it is empty)"),
    "text results": (RESULTS, b"hello", "not a readable results file"),
    "truncated results": (RESULTS, "truncate", "not a readable results file"),
    "foreign netcdf": (RESULTS, _netcdf_without_scenarios, "not a reformsim results file"),
    "bad json manifest": (MANIFEST, b"{not json", "not a readable manifest"),
    "non-utf-8 manifest": (MANIFEST, b'{"a": "\xff\xfe"}', "not a readable manifest"),
    "manifest not an object": (MANIFEST, b"[1, 2]", "not a reformsim manifest"),
    "results is a folder": (RESULTS, "folder", "not a reformsim run directory"),
}


@pytest.mark.parametrize(("name", "content", "problem"), CORRUPT.values(), ids=CORRUPT.keys())
def test_a_damaged_run_directory_is_a_clear_error(tmp_path, dataset, name, content, problem):
    directory = _write(tmp_path, dataset)
    path = directory / name
    if content == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif content == "folder":
        path.unlink()
        path.mkdir()
    elif callable(content):
        path.unlink()
        content(path)
    else:
        path.write_bytes(content)
    with pytest.raises(RunDirError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        read_run(directory)


def test_reading_something_else_says_so(tmp_path):
    (tmp_path / "notarun").mkdir()
    with pytest.raises(RunDirError) as caught:
        read_run(tmp_path / "notarun")
    assert str(caught.value) == (f"{tmp_path / 'notarun'}: not a reformsim run directory (no "
                                 "results.nc, manifest.json)\n  hint: give a directory written "
                                 "by 'reformsim run'")


# --- hidden folders of killed runs --------------------------------------------------------------

def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


STALE = {  # hidden folder name -> removed by the next run beside it?
    "dead process": (lambda host: f".r.partial-{host}-{_dead_pid()}-1-abc", True),
    "live process": (lambda host: f".r.partial-{host}-{os.getpid()}-1-abc", False),
    "first edition, dead": (lambda host: f".r.partial-{_dead_pid()}", True),
    "another host, recent": (lambda host: ".r.partial-elsewhere-1-1-abc", False),
    "not ours": (lambda host: ".r.partially-done", False),
}


@pytest.mark.parametrize(("name", "removed"), STALE.values(), ids=STALE.keys())
def test_stale_hidden_folders_are_removed(tmp_path, name, removed):
    host = rundir.prefix_of(Path("x")).split("partial-")[1].rsplit("-", 3)[0]
    folder = tmp_path / name(host)
    folder.mkdir()
    (folder / RESULTS).write_text("half")
    assert remove_stale(tmp_path) == ([folder] if removed else [])
    assert folder.exists() is not removed


def test_prepare_removes_stale_folders_beside_the_target(tmp_path):
    stale = tmp_path / f".old.partial-{_dead_pid()}"
    stale.mkdir()
    with prepare(tmp_path / "new") as staging:
        assert not stale.exists() and staging.folder.exists()
        assert staging.folder.stat().st_mode & 0o755 == 0o755
    assert staging.folder.exists()  # left as it is until written or the run fails
    staging.discard()
