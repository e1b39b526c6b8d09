"""A run directory's slow files written by a second process while this one works on.

Bokeh builds the HTML report in pure Python (a second or two for a run of the shipped model),
so on a machine with more than one core ``reformsim run`` hands it, and results.nc, to one
worker process, started at once so that it imports Bokeh and h5netcdf while the model is
read and simulated. The main process meanwhile draws the slides. A writer that hands its file over
returns a :class:`Pending`; ``rundir.Staging.write`` waits for it before the run directory
moves into place, so nothing about the directory changes but when its files are written.

The worker is started once per process (forked from a command line that has not imported
anything heavy yet; spawned from a process with threads) and shut down when the process exits;
it leaves at once if its parent is killed. Where it cannot start or dies, the file is written
here instead: slower, never lost.
"""

from __future__ import annotations

import atexit
import os
import sys
import types
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

_WORKER: list[Any] = []    # the process's one executor, once started (empty: not yet)


def available() -> bool:
    """True where a second process can run at the same time (more than one usable core)."""
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:          # macOS, Windows
        return (os.cpu_count() or 1) > 1


def start() -> Any:
    """The worker process, started (and warmed: its imports done) if it is not yet; None
    where only one core is usable or a process cannot be started."""
    if _WORKER:
        return _WORKER[0]
    if not available():
        return None
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    # Forked where this process runs one thread (the command line, before it imports
    # anything heavy): quick, and no helper process of multiprocessing's own (spawn's
    # resource tracker outlives a killed run and complains on its stderr). Spawned otherwise
    # (a forked copy of a process with threads can deadlock), when the child first runs the
    # parent's __main__ script again (as __mp_main__): a script calling reformsim without an
    # ``if __name__ == "__main__"`` guard would make a second run. The worker needs nothing
    # from it: it is shown an empty one while the process starts (in ``submit``, here).
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and \
        threading.active_count() == 1 else "spawn"
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method),
                                       initializer=_warm)
        executor.submit(int)        # the process starts now, not at the first file
    except (OSError, RuntimeError):
        return None
    finally:
        sys.modules["__main__"] = main
    _WORKER.append(executor)
    atexit.register(executor.shutdown, wait=True, cancel_futures=True)
    return executor


def _warm() -> None:
    """Import what the worker's files need while the parent reads and simulates: the
    report's (html imports Bokeh only inside its functions) and results.nc's; frozen, as the
    parent's are (``lean.spare_collector``): the worker lives as long as its parent.

    The worker writes numpy arrays only: for it dask is not installed (a None entry in
    sys.modules makes ``import dask`` fail) when it imports xarray itself (forked from the
    command line; a process that had imported xarray already has told it dask is there).
    Else xarray would import dask to check every array it wraps and dask.distributed to ask
    which scheduler writes results.nc: half a second of CPU, a sixth of the worker's, for
    files that come out the same."""
    from .lean import import_frozen

    if "xarray" not in sys.modules:
        sys.modules.setdefault("dask", None)    # type: ignore[arg-type]
    import_frozen(("reformsim.report.html", "bokeh.plotting", "bokeh.models", "bokeh.layouts",
                   "bokeh.embed", "bokeh.resources", "jinja2", "h5netcdf"))
    quick_exit()
    _leave_with_the_parent()


def _leave_with_the_parent() -> None:
    """End the worker the moment the process that started it is gone (killed by SIGKILL, say):
    an orphan would hold that process's stdout and stderr open, and whoever reads them to the
    end would wait for ever. A thread waits on the parent's sentinel and leaves at once."""
    import threading
    from multiprocessing import parent_process
    from multiprocessing.connection import wait

    parent = parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="reformsim-worker-watch", daemon=True).start()


def quick_exit() -> None:
    """At this process's exit, skip the garbage collector's final passes over every object
    it made (``gc.freeze``): after a run, half a second to a second of walking objects that
    the operating system frees anyway. Objects are still released as their references go;
    files are closed by the code that opened them, never left to a collection."""
    import gc

    atexit.unregister(gc.freeze)        # once, however many runs this process makes
    atexit.register(gc.freeze)


class Pending:
    """A file being written by the worker: ``wait()`` returns when it is written (raising
    what the writer raised); if the worker died, the file is written here instead.
    ``seconds``: how long the writing took, where it was done (after ``wait``)."""

    def __init__(self, future: Future | None, write: Callable[..., object],
                 args: tuple[Any, ...]) -> None:
        self.future, self.write, self.args = future, write, args
        self.seconds = 0.0

    def wait(self) -> object:
        from concurrent.futures.process import BrokenProcessPool

        if self.future is not None:
            try:
                result, self.seconds = self.future.result()
                return result
            except BrokenProcessPool:
                _WORKER.clear()     # the next run starts a new one
        result, self.seconds = _timed(self.write, *self.args)
        return result


    def settle(self) -> None:
        """Wait until the worker is done with the file, whatever came of it (the folder it
        writes into is about to be removed); nothing is written here."""
        from concurrent.futures import CancelledError

        if self.future is not None:
            try:
                self.future.exception()     # waits; the run's own failure is the one reported
            except CancelledError:
                pass


def _timed(write: Callable[..., object], *args: Any) -> tuple[object, float]:
    import time

    started = time.perf_counter()
    result = write(*args)
    return result, time.perf_counter() - started


def hand_over(worker: Any, write: Callable[..., object], *args: Any) -> Pending | object:
    """``write(*args)`` in the worker (a Pending), or here and now when there is none.
    ``write`` and ``args`` must pickle: a module-level function and plain data. Paths are
    made absolute: the worker keeps the working folder it started in."""
    if worker is None:
        return write(*args)
    from concurrent.futures.process import BrokenProcessPool
    from pathlib import Path

    args = tuple(a.absolute() if isinstance(a, Path) else a for a in args)
    try:
        return Pending(worker.submit(_timed, write, *args), write, args)
    except (BrokenProcessPool, RuntimeError):
        _WORKER.clear()
        return Pending(None, write, args)
