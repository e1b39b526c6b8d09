"""The worker process that writes results.nc and the HTML report while ``run`` draws slides
(report/background.py): same files as written in one process, errors that arrive, a worker
that dies, and a script without a ``__main__`` guard that is not run twice."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from click.testing import CliRunner

from reformsim.cli import main
from reformsim.report import background, lean
from reformsim.report.html import REPORT
from reformsim.report.rundir import FIGURES, KPIS, MANIFEST, RESULTS, RunDirError, read_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "models" / "examples"
needs_two_cores = pytest.mark.skipif(not background.available(), reason="one usable core")


def _run(out: Path, monkeypatch, *, worker: bool) -> Path:
    if not worker:
        monkeypatch.setattr(background, "start", lambda: None)
    result = CliRunner().invoke(main, ["-q", "run", str(EXAMPLES / "roadmap_uncertain.yaml"),
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@needs_two_cores
def test_worker_writes_what_one_process_writes(tmp_path, monkeypatch):
    """The worker is used, and the directory it helps write has the same files, the same
    results and the same report (but for Bokeh's ids and the run's time) as one written
    without it."""
    helped = _run(tmp_path / "helped", monkeypatch, worker=True)
    assert background._WORKER, "the run did not start the worker"
    alone = _run(tmp_path / "alone", monkeypatch, worker=False)
    assert _listing(helped) == _listing(alone)
    assert {RESULTS, KPIS, MANIFEST, REPORT, FIGURES} <= set(_listing(helped))
    xr.testing.assert_identical(read_results(helped / RESULTS), read_results(alone / RESULTS))
    assert (helped / KPIS).read_bytes() == (alone / KPIS).read_bytes()
    assert _report_but_ids_and_time(helped) == _report_but_ids_and_time(alone)


def _report_but_ids_and_time(directory: Path) -> str:
    """The run's report with what differs between any two writings of it taken out: Bokeh's
    object ids (a count per process: a worker that wrote reports before has reached longer
    ones), its document ids (random), the minute of the run and the directory's name (in the
    command line)."""
    text = (directory / REPORT).read_text(encoding="utf-8").replace(str(directory), "DIR")
    text = re.sub(r'"p\d+"', '"p#"', text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "uuid", text)
    return re.sub(r"run \d{4}-\d\d-\d\d \d\d:\d\d UTC", "run (time) UTC", text)


@needs_two_cores
def test_error_in_the_worker_reaches_the_run(tmp_path):
    """A file the worker cannot write fails the write here, as it would have in one process."""
    worker = background.start()
    pending = background.hand_over(worker, Path.write_text, tmp_path / "no" / "such.txt", "x")
    assert isinstance(pending, background.Pending)
    with pytest.raises(FileNotFoundError):
        pending.wait()


@needs_two_cores
def test_relative_paths_are_the_callers(tmp_path, monkeypatch):
    """The worker keeps its own working folder: a relative path means the caller's."""
    worker = background.start()
    monkeypatch.chdir(tmp_path)
    background.hand_over(worker, Path.write_text, Path("here.txt"), "x").wait()
    assert (tmp_path / "here.txt").read_text() == "x"


def test_a_dead_worker_means_the_file_is_written_here(tmp_path):
    """When the worker died (killed, out of memory), the file is written by this process."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    died: Future = Future()
    died.set_exception(BrokenProcessPool("killed"))
    pending = background.Pending(died, Path.write_text, (tmp_path / "f.txt", "written here"))
    pending.wait()
    assert (tmp_path / "f.txt").read_text() == "written here"


def test_a_failed_run_waits_for_the_worker_but_writes_nothing_itself(tmp_path):
    """Before a failed run's folder is removed, what the worker writes into it is waited
    for; a file the dead worker did not write is not written here just to be removed."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    died: Future = Future()
    died.set_exception(BrokenProcessPool("killed"))
    background.Pending(died, Path.write_text, (tmp_path / "f.txt", "x")).settle()
    assert not (tmp_path / "f.txt").exists()


def test_run_directory_is_rescued_when_the_worker_cannot_write_results(tmp_path, monkeypatch):
    """An OSError from a handed-over netCDF write is the usual rescue: nothing is lost."""
    from concurrent.futures import Future

    import pandas as pd

    from reformsim.report import rundir

    def full_disk(worker, write, *args):
        if write is not rundir.write_results:
            return write(*args)
        failed: Future = Future()
        failed.set_exception(OSError(28, "No space left on device"))
        return background.Pending(failed, write, args)

    monkeypatch.setattr(rundir, "hand_over", full_disk)
    staging = rundir.prepare(tmp_path / "run")
    ds = xr.Dataset({"x": (("scenario", "time"), [[1.0, 2.0]])},
                    coords={"scenario": ["a"], "time": [0.0, 1.0]})
    with pytest.raises(RunDirError, match="no space left on the disk.*saved in"):
        staging.write(ds, pd.DataFrame({"a": [1]}), {"model": "m"})
    assert not (tmp_path / "run").exists()


GUARDLESS = """
import sys
from reformsim.cli import main
main(["-q", "run", sys.argv[1], "-o", sys.argv[2]], standalone_mode=False)
"""


@needs_two_cores
def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """A spawned process re-runs its parent's __main__ script unless told otherwise: a script
    calling reformsim without ``if __name__ == "__main__"`` must still make one run."""
    script = tmp_path / "script.py"
    script.write_text(GUARDLESS)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, str(script), str(EXAMPLES / "roadmap.yaml"),
                           str(out)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "script.py"]
    assert REPORT in _listing(out)


def test_a_failing_run_leaves_the_one_before_it_whole(tmp_path):
    """The first run's files are still being written by the worker while the second starts;
    when the second fails, the first is finished and moved into place, complete."""
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(EXAMPLES / "roadmap.yaml"),
                                       str(EXAMPLES / "service_backlog.yaml"), "-o", str(out),
                                       "--var", "Trust in Government"])
    assert result.exit_code == 1
    assert "'Trust in Government' is not among the files' outputs" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["roadmap"]
    assert {RESULTS, KPIS, MANIFEST, REPORT, FIGURES} <= set(_listing(out / "roadmap"))
    assert "Trust in Government" in read_results(out / "roadmap" / RESULTS).data_vars


def test_spare_collector_freezes_for_the_block_only(monkeypatch):
    """The modules are imported, everything alive is left out of collections (frozen) while
    the block runs, and collectable again after it, also when it fails; a missing optional
    module is skipped."""
    import gc

    assert gc.get_freeze_count() == 0
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    with pytest.raises(KeyError):
        with lean.spare_collector(["colorsys", "no_such_module_here"]) as freeze:
            assert "colorsys" in sys.modules and gc.isenabled()
            frozen = gc.get_freeze_count()
            assert frozen > 1000
            kept = [[object()] for _ in range(10)]
            freeze()                            # what the block made since is left out too
            assert gc.get_freeze_count() >= frozen + len(kept)
            raise KeyError("the run failed")
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_spare_collector_leaves_others_frozen_objects_frozen():
    import gc

    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with lean.spare_collector([]):
            pass
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()


def test_a_run_leaves_the_collector_as_it_found_it(tmp_path):
    """``run`` freezes what it imports and simulates while it runs (a command in a process
    of its own); called in a process that goes on (a test, a notebook), nothing stays frozen."""
    import gc

    result = CliRunner().invoke(main, ["-q", "run", str(EXAMPLES / "roadmap.yaml"), "-o",
                                       str(tmp_path / "out"), "--figures", "none"])
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == 0 and gc.isenabled()


NO_DASK = """
import sys
import numpy as np
import xarray as xr
from reformsim.report.lean import no_dask_arrays

with no_dask_arrays():
    ds = xr.Dataset({"a": (("x",), np.arange(3.0))}, coords={"x": [1, 2, 3]})
    print(float(ds["a"].where(ds["a"] > 0).sum()), "dask" in sys.modules)
import dask.array as da
from xarray.namedarray.utils import is_dask_collection, is_duck_dask_array
print(is_duck_dask_array(xr.DataArray(da.zeros(3)).data), is_dask_collection(da.zeros(3)))
"""


def test_no_dask_arrays_spares_the_dask_import_and_forgets_it_after():
    """Within the block xarray works on numpy arrays without importing dask (and the scipy,
    jinja2 and psutil it pulls in); after it, a dask array is known as one again."""
    pytest.importorskip("dask.array")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-c", NO_DASK], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3.0", "False", "True", "True"]


WORKER_DASK = """
import importlib.util
from reformsim.report import background

worker = background.start()
print(background.hand_over(worker, importlib.util.find_spec, "dask").wait() is None)
"""


@needs_two_cores
def test_the_command_lines_worker_writes_without_dask():
    """Started by a process that has not imported xarray (the command line), the worker
    takes dask for absent: xarray imports neither dask nor dask.distributed there."""
    pytest.importorskip("dask")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-c", WORKER_DASK], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]
