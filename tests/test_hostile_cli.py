"""The command line under bad input and a hostile environment: every case is exit code 1 (2 for
a bad flag, as click does), one ``Error:`` line plus a hint, no traceback, no finished run lost.
Outputs that cannot be written fail before anything is simulated."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from reformsim.cli import main
from reformsim.report import rundir, runs
from reformsim.report.rundir import MANIFEST, RESULTS, read_run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "examples" / "service_backlog.yaml"
BLOWUP = ROOT / "tests" / "models" / "blowup.mdl"


@pytest.fixture(scope="module")
def example_run(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("example") / "run"
    result = CliRunner().invoke(main, ["-q", "run", str(EXAMPLE), "-o", str(out), "--samples",
                                       "8"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def damaged(example_run, tmp_path):
    """A copy of the example run, to be damaged."""
    copy = tmp_path / "run"
    shutil.copytree(example_run, copy)
    return copy


@pytest.fixture
def no_simulation(monkeypatch):
    """Make any simulation a test failure: the error must come before it."""
    def refuse(*args, **kwargs):
        raise AssertionError("simulated although the output cannot be written")
    monkeypatch.setattr(runs, "simulate_scenarios", refuse)


def _one_error(result, start: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith(start), result.stderr
    assert "Traceback" not in result.output


# --- damaged run directories in compare and plot -----------------------------------------------

DAMAGE = {  # case -> (file, new content or None to delete, error after "Error: <path>: ")
    "empty results": (RESULTS, b"", "not a readable results file (it is empty)"),
    "truncated results": (RESULTS, "half", "not a readable results file"),
    "foreign results": (RESULTS, "foreign", "not a reformsim results file"),
    "no results": (RESULTS, None, None),
    "bad manifest": (MANIFEST, b"{", "not a readable manifest"),
    "non-utf-8 manifest": (MANIFEST, b"\xff\xfe{}", "not a readable manifest"),
}


def _damage(run: Path, name: str, content) -> Path:
    path = run / name
    if content is None:
        path.unlink()
    elif content == "half":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif content == "foreign":
        xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    else:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("command", ["compare", "plot"])
@pytest.mark.parametrize(("name", "content", "problem"), DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_run_directory_is_one_error(runner, damaged, command, name, content, problem):
    path = _damage(damaged, name, content)
    result = runner.invoke(main, [command, str(damaged)])
    if problem is None:
        _one_error(result, f"Error: {damaged}: not a reformsim run directory (no results.nc)")
    else:
        _one_error(result, f"Error: {path}: {problem}")


# --- outputs that cannot be written ----------------------------------------------------------

def test_output_under_a_file_fails_before_simulating(runner, tmp_path, no_simulation):
    (tmp_path / "file").write_text("x")
    result = runner.invoke(main, ["-q", "run", str(EXAMPLE), "-o", str(tmp_path / "file" / "r")])
    _one_error(result, f"Error: {tmp_path / 'file' / 'r'}: cannot write the run directory: "
                       f"{tmp_path / 'file'} is a file, not a folder")


@pytest.mark.parametrize(("code", "reason"), [
    (errno.EROFS, "the file system is read-only"), (errno.EACCES, "no permission to write there"),
    (errno.ENOSPC, "no space left on the disk")], ids=["read-only", "no-permission", "disk-full"])
def test_an_unwritable_output_fails_before_simulating(runner, tmp_path, monkeypatch,
                                                       no_simulation, code, reason):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(rundir.tempfile, "mkdtemp", refuse)
    result = runner.invoke(main, ["-q", "run", str(EXAMPLE), "-o", str(tmp_path / "r")])
    _one_error(result, f"Error: {tmp_path / 'r'}: cannot write the run directory: {reason}\n"
                       "  hint: nothing was simulated")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_fails_before_simulating(runner, tiny_disk, no_simulation):
    result = runner.invoke(main, ["-q", "run", str(EXAMPLE), "-o", str(tiny_disk / "r")])
    _one_error(result, f"Error: {tiny_disk / 'r'}: cannot write the run directory: no space "
                       "left on the disk")


def test_a_write_failing_after_the_simulation_says_where_the_results_are(
        runner, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(rundir, "copy_inputs", disk_full)
    result = runner.invoke(main, ["-q", "run", str(EXAMPLE), "-o", str(tmp_path / "r"),
                                  "--samples", "4"])
    _one_error(result, f"Error: {tmp_path / 'r'}: the run was simulated but could not be "
                       "written (no space left on the disk); its results and manifest were "
                       f"saved in {tmp_path}/reformsim-rescued-r-")
    (rescued,) = tmp_path.glob("reformsim-rescued-r-*")
    assert read_run(rescued)[0].sizes["sample"] == 4


# --- flags ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", ["-1", str(2**63), "1e23", "seven"])
def test_a_seed_the_run_cannot_hold_is_a_usage_error(runner, tmp_path, no_simulation, seed):
    result = runner.invoke(main, ["run", str(EXAMPLE), "--seed", seed, "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "Invalid value for '--seed'" in result.stderr
    assert not (tmp_path / "r").exists()


def test_the_largest_seed_is_stored(runner, tmp_path):
    out = tmp_path / "r"
    result = runner.invoke(main, ["-q", "run", str(EXAMPLE), "--seed", str(2**63 - 1),
                                  "--samples", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    dataset, manifest = read_run(out)
    assert dataset.attrs["seed"] == manifest["seed"] == 2**63 - 1


def test_plot_does_not_overwrite_a_file_without_force(runner, example_run, tmp_path):
    target = tmp_path / "mine.png"
    target.write_bytes(b"my slide")
    result = runner.invoke(main, ["plot", str(example_run), "-o", str(target)])
    _one_error(result, f"Error: {target}: already exists\n  hint: choose another file, or pass "
                       "--force to replace it")
    assert target.read_bytes() == b"my slide"
    result = runner.invoke(main, ["plot", str(example_run), "-o", str(target), "--force"])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_plot_on_a_read_only_disk_is_one_error(runner, example_run, tmp_path, monkeypatch):
    def read_only(figure, path):
        raise OSError(errno.EROFS, "Read-only file system", str(path))
    monkeypatch.setattr("reformsim.report.figures.save_figure", read_only)
    result = runner.invoke(main, ["plot", str(example_run), "-o", str(tmp_path / "f.png")])
    _one_error(result, f"Error: {tmp_path / 'f.png'}: Read-only file system\n  hint: check the "
                       "path and its permissions")


# --- what reaches the terminal ---------------------------------------------------------------

def test_escape_sequences_in_labels_never_reach_the_terminal(runner, tmp_path):
    shutil.copy(BLOWUP, tmp_path / "blowup.mdl")
    (tmp_path / "s.yaml").write_text(
        'model: blowup.mdl\nscenarios:\n  "a\\e]0;pwned\\a": {label: "Red\\e[31m alert\\e[0m"}\n'
        '  b: {set: {K: 3}, label: "\\u202eevil"}\n')
    result = runner.invoke(main, ["-q", "run", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output and "\x07" not in \
        result.output
    assert "Red alert" in result.stdout
    assert read_run(tmp_path / "r")[0]["label"].values[0] == "Red\x1b[31m alert\x1b[0m"  # kept


def test_failed_members_are_one_summary_line(runner, tmp_path):
    shutil.copy(BLOWUP, tmp_path / "blowup.mdl")
    (tmp_path / "s.yaml").write_text(  # Flow = Stock / (K - 1): K = 1 fails at once
        "model: blowup.mdl\nscenarios: {ok: {}, broken: {set: {K: 1}}, also: {set: {K: 1}}}\n"
        "outputs: [Stock]\n")
    result = runner.invoke(main, ["-q", "run", str(tmp_path / "s.yaml"), "-o",
                                  str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: 2 of 3 members failed (went NaN/inf) and are left out of every "
                        "median and percentile (broken 1 of 1, also 1 of 1); see the 'failed' "
                        "column and the run's status variable"]
    assert not any(line.startswith("  ") for line in result.stderr.splitlines())  # no source


def test_a_bug_is_one_line_and_a_log_file(runner, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(runs, "simulate_scenarios", bug)
    result = runner.invoke(main, ["-q", "run", str(EXAMPLE), "-o", str(tmp_path / "r")])
    _one_error(result, "Error: internal error: ZeroDivisionError: division by zero\n  hint: this "
                       "is a bug in reformsim; the full traceback is in "
                       f"{tmp_path}/reformsim-crash-")
    (log,) = tmp_path.glob("reformsim-crash-*.log")
    assert "Traceback (most recent call last)" in log.read_text()
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".r.partial-*"))


def test_an_unreadable_input_is_one_error(runner, tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(EXAMPLE))
    monkeypatch.setattr("reformsim.report.runs.group_by_model", denied)
    result = runner.invoke(main, ["-q", "run", str(EXAMPLE), "-o", str(tmp_path / "r")])
    _one_error(result, f"Error: {EXAMPLE}: Permission denied\n  hint: check the path")
