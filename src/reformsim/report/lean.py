"""What a run of the command line leaves out: work that serves nothing it does.

- ``spare_collector``: the garbage collector's full passes over every module object, each
  time the heap grows by a quarter while the run imports (half a second of CPU);
- ``no_dask_arrays``: xarray's import of dask (with scipy.special, jinja2, psutil...: a
  fifth to a third of a second) only to check that no array it wraps is a dask array;
- ``background.quick_exit``: the collector's last passes at exit.

Each is undone when its block ends, so a process that goes on (a test, a notebook) is left
as it was.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from .. import stop


@contextmanager
def spare_collector(modules: Iterable[str]) -> Iterator[Callable[[], None]]:
    """Import ``modules`` (those missing are skipped: their users say so later) with the
    garbage collector paused, then freeze every object alive (``gc.freeze``) until the block
    ends, when they are collectable again.

    A run's modules (numpy, pandas, xarray, numba, scipy, matplotlib) are hundreds of
    thousands of objects that live until exit. Imported as the run comes to need them, every
    quarter the heap grows by makes the collector walk all of it again: half a second of
    a run of the shipped files, in seven full passes. Frozen, a pass walks only what the run
    made since. The block is given ``gc.freeze``, to leave out more that lives on (a model
    and its results, once simulated). Use it before the run holds any data: garbage frozen
    is freed only after the block.
    """
    import gc

    frozen_before = gc.get_freeze_count()    # someone else's frozen objects stay frozen
    import_frozen(modules)
    try:
        yield gc.freeze
    finally:
        if not frozen_before:
            gc.unfreeze()


def import_frozen(modules: Iterable[str]) -> None:
    """Import ``modules`` with the collector paused, then freeze everything alive."""
    import gc
    import importlib

    enabled = gc.isenabled()
    gc.disable()
    try:
        # a stop waits for the imports: one landing in a compiled extension's initialisation
        # became an ImportError (skipped below) or crashed the interpreter at exit
        with stop.deferred():
            for name in modules:
                try:
                    importlib.import_module(name)
                except ImportError:     # optional (dask, numba); required ones fail where used
                    pass
        gc.freeze()
    finally:
        if enabled:
            gc.enable()


@contextmanager
def no_dask_arrays() -> Iterator[None]:
    """Within the block, xarray takes dask to be absent: the first array it wraps no longer
    imports dask (and what dask imports) to learn its array type and whether it is a dask
    collection, as where dask is not installed. Only for a process that makes no dask array
    meanwhile: ``run`` without --stats (results.nc is written by the worker).

    xarray keeps what it learnt of dask (``namedarray.pycompat``'s array types and
    ``namedarray.utils.module_available``, a cached function); it is made to learn "absent"
    the way it does without dask (an ImportError) and forgets it when the block ends. Where
    those are not as expected, or dask is already imported, nothing is changed.
    """
    try:
        from xarray.namedarray import pycompat, utils

        known = pycompat._cached_duck_array_modules
        learn, available = pycompat.array_type, utils.module_available
        forget = available.cache_clear
    except (ImportError, AttributeError):
        known = None
    if known is None or "dask" in known or "dask" in sys.modules:
        yield
        return
    sys.modules["dask"] = None          # type: ignore[assignment]  # import dask fails
    try:
        forget()
        learn("dask")
        available("dask")
    finally:
        del sys.modules["dask"]
    absent = known.get("dask")
    try:
        yield
    finally:
        if known.get("dask") is absent:
            known.pop("dask", None)
        forget()
