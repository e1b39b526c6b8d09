"""Real processes: two runs at once, and runs stopped by a signal while they work.

No finished run is lost, an interrupted run leaves no directory that looks whole, and the
hidden folder of a killed one is removed by the next run beside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from reformsim.report.rundir import read_run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "examples" / "service_backlog.yaml"


def _reformsim(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "reformsim", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _partials(folder: Path) -> list[Path]:
    return list(folder.glob(".*.partial-*")) if folder.exists() else []


def test_two_runs_of_the_same_file_at_once_both_succeed(tmp_path):
    """Both pick runs/service_backlog-<same second>: the second goes beside the first."""
    first, second = (_reformsim("-q", "run", str(EXAMPLE), "--samples", "20", cwd=tmp_path)
                     for _ in range(2))
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and not _partials(tmp_path / "runs")
    (first_ds, first_manifest), (second_ds, _) = (read_run(run) for run in runs)
    assert first_ds.sizes["sample"] == 20 and first_manifest["members"] == 80
    xr.testing.assert_identical(first_ds, second_ds)  # same file, same seed: the same numbers


def _stop_while_working(tmp_path: Path, number: int) -> subprocess.CompletedProcess:
    """Start a long run, wait until its hidden folder exists (the output was reserved and the
    model is being read or simulated), then send signal ``number``."""
    process = _reformsim("-q", "run", str(EXAMPLE), "--samples", "4000", "-o",
                         str(tmp_path / "out" / "run"), cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not _partials(tmp_path / "out") and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be stopped: {process.communicate()}")
        time.sleep(0.02)
    process.send_signal(number)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


# signal -> (exit code, what stderr says, hidden folder left behind)
SIGNALS = {
    "SIGINT": (signal.SIGINT, 1, "\nAborted!\n", False),  # as click prints it
    "SIGTERM": (signal.SIGTERM, 128 + signal.SIGTERM, "", False),
    "SIGKILL": (signal.SIGKILL, -signal.SIGKILL, "", True),
}


@pytest.mark.parametrize(("number", "code", "stderr", "left"), SIGNALS.values(),
                         ids=SIGNALS.keys())
def test_a_stopped_run_leaves_nothing_that_looks_whole(tmp_path, number, code, stderr, left):
    done = _stop_while_working(tmp_path, number)
    assert done.returncode == code, done.stderr
    assert done.stderr == stderr and done.stdout == ""
    assert not (tmp_path / "out" / "run").exists()
    assert bool(_partials(tmp_path / "out")) is left
    if left:  # the next run beside it removes what the killed one left
        again = _reformsim("-q", "run", str(EXAMPLE), "--samples", "4", "-o",
                           str(tmp_path / "out" / "again"), cwd=tmp_path)
        _, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        assert not _partials(tmp_path / "out")
        assert read_run(tmp_path / "out" / "again")[0].sizes["sample"] == 4
