"""The compiled backend: a model's generated module, compiled once and kept on disk.

:func:`reason_not_compiled` says whether a model runs compiled (None) or why
not; :func:`integrate` runs one group of members (members sharing a structure)
through the compiled ``euler`` or ``rk4``, with the same inputs and outputs as
the numpy integrators: the init pass's values in, the results array and the
per-member failure watch out.

The machine code is cached the usual way for generated code: the source is
written to ``<cache>/numba/m_<hash of the source>.py`` and imported, and its
functions are ``@njit(cache=True)``, so numba stores their machine code beside
it and a second process loads it instead of compiling. Since the source holds
no numbers (see :mod:`numba_source`), a model whose numbers change keeps its
machine code; one whose structure changes gets another file.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import ReformsimWarning, SimulationError
from .compiled import CompiledModel
from .memo import PerModel
from .numba_init import cells, registers, start
from .numba_rates import REGISTERS
from .states import STRUCTURAL_ARGS

log = logging.getLogger("reformsim.engine.numba")

COMPILED_METHODS = ("euler", "rk4")
BLOCK_BYTES = 2**18      # a block of members' states, constants and saves: in the core's L2
PARALLEL_FROM = 64       # members from which blocks run on several threads
MIN_BLOCK = 16           # members per block at least (the time loop's own cost, shared)

_KERNELS: PerModel[Any] = PerModel()
_LAYOUTS: PerModel[tuple] = PerModel()   # constants' columns per residual plan
_MODULES: dict[str, ModuleType] = {}
_LOCK = threading.RLock()
_PARALLEL = threading.Lock()


class CompiledFailed(RuntimeError):
    """The compiled code failed to build or run; the numpy backend takes the model over."""


def choose(model: CompiledModel, method: str, backend: str) -> str:
    """The backend a request runs on (see ``simulate``'s ``backend``): ``numba`` or ``numpy``."""
    if backend not in ("auto", "numba", "numpy"):
        raise SimulationError(f"unknown backend {backend!r}; expected 'auto', 'numba' or 'numpy'")
    if backend == "numpy":
        return "numpy"
    if method not in COMPILED_METHODS:
        if backend == "numba":
            raise SimulationError(f"backend 'numba' runs methods 'euler' and 'rk4', not "
                                  f"{method!r}\n  hint: use backend='auto' or 'numpy'")
        return "numpy"
    reason = reason_not_compiled(model)
    if reason and backend == "numba":
        raise SimulationError(f"{model.source.name}: backend 'numba' cannot run this model: "
                              f"{reason}\n  hint: use backend='auto' or 'numpy'")
    return "numpy" if reason else "numba"


def ran_on(model: CompiledModel, chosen: str) -> str:
    """The backend that ran: numpy after all when the compiled code failed during the run."""
    return "numpy" if chosen == "numba" and reason_not_compiled(model) else chosen


def compiles_first(model: CompiledModel, method: str = "euler") -> bool:
    """True when a run of ``model`` by ``method`` will first compile its machine code (the
    first run of this model's structure here, or the first after an edit: seconds, where
    later runs load it from the cache), so that a command can say why it waits."""
    if choose(model, method, "auto") != "numba":
        return False
    digest = kernel(model).digest
    if digest in _MODULES:
        return False
    from ..model.cache import cache_dir

    return not any((cache_dir() / "numba" / "__pycache__").glob(f"m_{digest}.{method}-*.nbi"))


def run_group(model: CompiledModel, program: Any, Y: np.ndarray, values: dict[str, Any],
              keys: np.ndarray, grid: Any, out: np.ndarray, watch: Any, request: Any) -> bool:
    """A group of members on the compiled backend; False when the group's model does not
    compile (a variant made for the group) or (with a warning) when its code failed, so
    that the numpy backend runs the group instead."""
    if reason_not_compiled(model):
        return False
    try:
        integrate(model, program.structure, program.rows, Y, values, keys, grid, out, watch,
                  request.method, request.outputs)
    except CompiledFailed as exc:
        warnings.warn(f"{model.source.name}: {exc}; running it on the numpy backend",
                      ReformsimWarning, stacklevel=6)
        return False
    return True


@functools.cache
def numba_missing() -> str | None:
    """Why numba cannot be used here, or None."""
    try:
        import numba  # noqa: F401
    except ImportError as exc:
        return f"numba is not installed ({exc})"
    return None


def reason_not_compiled(model: CompiledModel) -> str | None:
    """None if the model runs on the compiled backend; else why it runs on numpy."""
    missing = numba_missing()
    if missing:
        return missing
    found = kernel(model)
    return found if isinstance(found, str) else None


def kernel(model: CompiledModel) -> Any:
    """The model's :class:`numba_source.Kernel`, or the reason it has none (a str)."""
    def make() -> Any:
        from .numba_codegen import Unsupported
        from .numba_source import write_kernel

        try:
            return write_kernel(model)
        except Unsupported as exc:
            reason = f"the compiled backend does not compile {exc}"
            log.info("%s: %s; it runs on the numpy backend", model.source.name, reason)
            return reason

    return _KERNELS.get(model, "kernel", make)


def refuse(model: CompiledModel, reason: str) -> None:
    """Record that a model cannot run compiled after all (numba refused its code)."""
    _KERNELS.put(model, "kernel", reason)
    log.warning("%s: %s; it runs on the numpy backend", model.source.name, reason)


def module(found: Any) -> ModuleType:
    """The imported generated module of a kernel (written to the cache directory once)."""
    digest = found.digest
    with _LOCK:
        if digest not in _MODULES:
            if "F.random_normal" in found.source:
                from .numba_kernels import bind_normal

                bind_normal()
            path = _write_source(found.source, digest)
            name = f"reformsim_kernel_{digest}"
            spec = importlib.util.spec_from_file_location(name, path)
            loaded = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            # numba finds a function's module by name when it loads cached machine code
            sys.modules[name] = loaded
            try:
                spec.loader.exec_module(loaded)  # type: ignore[union-attr]
            except BaseException:
                del sys.modules[name]
                raise
            _MODULES[digest] = loaded
        return _MODULES[digest]


def _write_source(source: str, digest: str) -> Path:
    """The source's file in the cache; rewritten only when absent or different, since numba
    keys its cache on the file's modification time."""
    from ..model.cache import cache_dir

    for folder in (cache_dir() / "numba", Path(tempfile.gettempdir()) / "reformsim-numba"):
        path = folder / f"m_{digest}.py"
        try:
            if path.is_file() and path.read_text(encoding="utf-8") == source:
                return path
            folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(source)
            os.replace(temp, path)
            return path
        except OSError as exc:  # an unwritable cache: compile in the temporary directory
            log.warning("cannot write the compiled backend's cache in %s: %s", folder, exc)
    raise OSError("no writable directory for the compiled backend's source")


# --- one group of members ---------------------------------------------------------------------

def integrate(model: CompiledModel, structure: Any, rows: dict[int, slice], Y0: np.ndarray,
              values: dict[str, Any], keys: np.ndarray, grid: Any, out: np.ndarray,
              watch: Any, method: str, outputs: tuple[str, ...]) -> None:
    """Integrate a group into ``out`` (T x V x members) from its initial state rows ``Y0``
    (the numpy backend's rows x members); records first non-finite states in ``watch``
    (rows numbered as the numpy backend's) as the numpy integrators do, and the members
    whose saved values may not all be finite (``watch.outputs``)."""
    found = kernel(model)
    plan = plan_of(model, found, structure, rows, outputs, method)
    size = len(keys)
    target = out if out.flags.c_contiguous else np.empty(out.shape)
    RT, RI = _per_run(found, values, size) if found.per_run else plan.no_per_run
    FS, FR = watch.save, watch.row   # the kernel records first failures in the watch itself
    OB = np.zeros(size)
    deferred = getattr(values, "deferred", None)   # values the compiled init pass computes
    if deferred is None:
        Z, ZO, FX = _discrete(model, structure, values, size) if plan.registers \
            else plan.no_registers
        Y = np.ascontiguousarray(Y0[plan.order].T)
        C = _constants(model, found, values, size)
    try:
        if deferred is not None:
            Y, Z, C = start(model, found, module(found), deferred, len(plan.order), RT, RI,
                            plan.starts, plan.orders, plan.discrete)
            _, ZO, FX = plan.discrete
        args = (Y, Z, C, found.literals, found.tables, found.ints, RT, RI,
                np.ascontiguousarray(keys, dtype=np.uint64), *grid_arrays(grid), target,
                plan.columns, plan.starts, plan.orders, ZO, plan.pointers, FX, plan.where, FS,
                FR, OB, found.work)
        block = block_size(found, Y.shape[1], Z.shape[1], RT.shape[1], size)
        if block < size:
            with _PARALLEL:   # numba's workqueue threading layer runs one parallel call at once
                flagged = plan.parallel()(block, 0, size, *args)
        else:
            flagged = plan.serial()(0, size, *args)
    except MemoryError:
        raise
    except Exception as exc:   # numba refused the generated code: a bug; numpy runs the model
        watch.save[:], watch.row[:] = -1, 0   # numpy runs the group afresh
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        refuse(model, f"numba failed on the generated code ({type(exc).__name__}: {first})")
        raise CompiledFailed(reason_not_compiled(model)) from exc
    if target is not out:
        out[...] = target
    watch.flagged = flagged > 0
    if not flagged:   # every state and saved value finite: nothing to look for
        watch.outputs = np.zeros(size, dtype=np.bool_)
        return
    if len(plan.order):   # the numpy backend's rows, which the watch reports
        watch.row[:] = plan.order[FR]
    watch.outputs = ~np.isfinite(OB)


_PLANS: PerModel[Any] = PerModel()


def plan_of(model: CompiledModel, found: Any, structure: Any, rows: dict[int, slice],
            outputs: tuple[str, ...], method: str) -> _Plan:
    """The kernel's :class:`_Plan` for a group of this structure, outputs and method."""
    return _PLANS.get(model, (structure, outputs, method),
                      lambda: _Plan.make(model, found, structure, rows, outputs, method))


@dataclass(frozen=True, eq=False)
class _Plan:
    """What the kernel needs of one group's structure, outputs and method that no run changes:
    made once, so a run's own Python work is only its values (a single run of a small model
    is mostly this work)."""

    found: Any
    method: str
    order: np.ndarray        # the numpy backend's row of each of the kernel's rows
    starts: np.ndarray       # each state's first row (RO)
    where: np.ndarray        # the kernel's row of each of the numpy backend's (WO)
    orders: np.ndarray       # each state's order; DELAY FIXED: its length (OR)
    columns: np.ndarray      # per dynamic element its first saved column, or -1 (OC)
    registers: bool          # whether any state keeps a discrete register
    no_registers: tuple      # Z, ZO, FX of a structure without registers
    no_per_run: tuple        # RT, RI of a model without per-run tables
    pointers: np.ndarray     # each DELAY FIXED ring's start at t0: zeros (PT0; no kernel writes it)
    discrete: tuple          # Z's width, each state's first cell in Z, the DELAY FIXED states

    @classmethod
    def make(cls, model: CompiledModel, found: Any, structure: Any, rows: dict[int, slice],
             outputs: tuple[str, ...], method: str) -> _Plan:
        order, starts, where = _layout(model, found, rows)
        orders = np.array([o if s.kind in STRUCTURAL_ARGS else 1    # DELAY FIXED: its length
                           for s, o in zip(model.states, structure.orders)] or [1],
                          dtype=np.int64)
        kept = any(s.kind in REGISTERS for s in model.states)
        return cls(found, method, order, starts, where, orders,
                   _output_columns(model, found, outputs), kept,
                   (np.empty((1, 0)), np.zeros(len(model.states), dtype=np.int64),
                    np.array([], dtype=np.int64)),
                   (np.empty((1, 0)), np.array([0], dtype=np.int64)),
                   np.zeros(len(model.states) or 1, dtype=np.int64), registers(model, orders))

    def serial(self) -> Any:
        return getattr(module(self.found), self.method)

    def parallel(self) -> Any:
        return getattr(module(self.found), f"{self.method}_parallel")


def _layout(model: CompiledModel, found: Any,
            rows: dict[int, slice]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's state rows: one-row states first, where the kernel has them
    (found.fixed_rows), then the delays' and smooths' rows in state order. Returns the numpy
    backend's row of each of ours (``order``), each state's first row (RO), and our row of
    each of the numpy backend's (WO: the watch looks in their order)."""
    order = np.empty(sum(r.stop - r.start for r in rows.values()), dtype=np.int64)
    starts = np.zeros(len(model.states) or 1, dtype=np.int64)
    at = found.fixed
    for s in model.states:
        numpy_rows = np.arange(rows[s.index].start, rows[s.index].stop)
        if s.index in found.fixed_rows:
            starts[s.index] = found.fixed_rows[s.index]
        else:
            starts[s.index], at = at, at + len(numpy_rows)
        order[starts[s.index]:starts[s.index] + len(numpy_rows)] = numpy_rows
    return order, starts, np.argsort(order)


def block_size(found: Any, rows: int, discrete: int, per_run: int, size: int) -> int:
    """Members per block: few enough that a block's states and constants stay in the core's
    cache while the time loop goes over them step by step, and, when the ensemble is large,
    a multiple of the threads in number, all of one size (numba's threading layer splits a
    prange by count: 3 blocks of 481 members for 1,000 left one thread 962 members and the
    other 38). The group runs in one call when one block holds it."""
    per_member = 8 * (rows * 2 + discrete + found.columns + per_run + len(found.outputs)) + 64
    block = max(MIN_BLOCK, BLOCK_BYTES // per_member)
    if found.block_width:   # its member loops' rows have room for so many (numba_segments)
        block = min(block, found.block_width)
    if size >= PARALLEL_FROM:
        import numba

        threads = numba.get_num_threads()
        if threads > 1:   # prange gives each thread as many blocks: make them the same size
            blocks = threads * math.ceil(math.ceil(size / block) / threads)
            block = math.ceil(size / blocks)
    return min(block, size)


_LAST_GRID: list = [None, None]


def grid_arrays(grid: Any) -> tuple[np.ndarray, ...]:
    """The time grid as the kernels read it: times, steps, saves, and whether each advances
    (the last one made is kept: a model's grid is usually the same object run after run)."""
    last, arrays = _LAST_GRID
    if last is grid:
        return arrays
    advance = np.ones(len(grid.t), dtype=np.bool_)
    advance[-1] = False
    arrays = (np.ascontiguousarray(grid.t, dtype=np.float64),
              np.ascontiguousarray(grid.dt, dtype=np.float64),
              np.ascontiguousarray(grid.save, dtype=np.bool_), advance)
    _LAST_GRID[:] = [grid, arrays]
    return arrays


def _constants(model: CompiledModel, found: Any, values: dict[str, Any],
               size: int) -> np.ndarray:
    """C (members x constant cells); numbers shared by all members are set in one go. After
    a first call, a call of the same plan (:mod:`residual`) sets only the values it changed."""
    plan = getattr(values, "plan", None)
    if plan is None:
        return _fill(found, found.constants, values, np.empty((size, max(found.columns, 1))))
    def first() -> tuple[np.ndarray, list]:
        kept = [c for c in found.constants if c[0] not in values.changed]
        return (_fill(found, kept, values, np.empty((1, max(found.columns, 1)))),
                [c for c in found.constants if c[0] in values.changed])

    base, changed = _LAYOUTS.get(model, ("constants", plan), first)
    C = np.empty((size, base.shape[1]))
    C[:] = base
    return _fill(found, changed, values, C)


def _fill(found: Any, constants: Any, values: dict[str, Any], C: np.ndarray) -> np.ndarray:
    """Write these constants' values into C (members x constant cells)."""
    size = C.shape[0]
    shared, numbers = [], []
    for name, col, shape in constants:
        value = values[name]
        if not shape and np.size(value) == 1:
            shared.append(col)
            numbers.append(np.asarray(value, dtype=np.float64).reshape(-1)[0])
        else:
            C[:, col:col + math.prod(shape)] = cells(value, shape, size)
    if shared:
        C[:, shared] = np.array(numbers, dtype=np.float64).reshape(1, -1)
    return C


def _discrete(model: CompiledModel, structure: Any, values: dict[str, Any],
              size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Discrete states (E x cells) at t0, each state's first cell in them, and the
    DELAY FIXED states: DELAY N registers hold the delay time, DELAY FIXED buffers and
    SAMPLE IF TRUE their initial value."""
    blocks, offsets, fixed, at = [], np.zeros(len(model.states), dtype=np.int64), [], 0
    for s, order in zip(model.states, structure.orders):
        if s.kind not in REGISTERS:
            continue
        first, staged = REGISTERS[s.kind]
        value = cells(values[f"a{s.index}_{first}"], s.shape, size)
        copies = int(order) if staged else 1
        blocks.append(np.tile(value, (1, copies)))
        offsets[s.index] = at
        at += copies * s.cells
        if s.kind == "delay_fixed":
            fixed.append(s.index)
    Z = np.concatenate(blocks, axis=1) if blocks else np.empty((size, 0))
    return np.ascontiguousarray(Z), offsets, np.array(fixed, dtype=np.int64)


def _per_run(found: Any, values: dict[str, Any], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Tables given per run (schedules, replaced lookups) as rows of points per member."""
    parts, index, at = [], [], 0
    for key in found.per_run:
        first, second = (f"{key}t", f"{key}v") if f"{key}t" in values else (f"{key}x", f"{key}y")
        xs, ys = (np.atleast_2d(np.asarray(values[n], dtype=np.float64)) for n in (first, second))
        width = xs.shape[-1]
        parts += [np.broadcast_to(xs, (size, width)), np.broadcast_to(ys, (size, width))]
        index += [at, at + width, width]
        at += 2 * width
    RT = np.concatenate(parts, axis=1) if parts else np.empty((size, 0))
    return np.ascontiguousarray(RT), np.array(index or [0], dtype=np.int64)


def _output_columns(model: CompiledModel, found: Any, outputs: tuple[str, ...]) -> np.ndarray:
    """Per dynamic element the first column it is saved in, or -1."""
    wanted = {slot: lo for (lo, _), slot in model.output_columns(outputs)}
    return np.array([wanted.get(slot, -1) for slot in found.outputs] or [-1], dtype=np.int64)
