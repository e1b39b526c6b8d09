"""simulate(): members -> initialisation -> structure groups -> integration -> Results."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ReformsimWarning, SimulationError, did_you_mean
from ..model.ir import CONTROLS, fold_name
from . import integrators, numba_backend, residual, settings
from .clock import make_clock, time_grids, warn_about_saves
from .compiled import CompiledModel, state_indices, write_constants
from .compiler import split_states, variant
from .failures import Watch, find_failures, row_owner
from .inputs import Series, Table, stack
from .memo import PerModel
from .program import (
    Structure,
    build_program,
    decode,
    group_by_structure,
    initial_states,
    structural_names,
    update_discrete,
)
from .results import Failure, Results
from .states import DISCRETE

_NAMES: PerModel[tuple] = PerModel()            # a call's outputs, resolved
_TABLES: PerModel[np.ndarray] = PerModel()      # structure rows of calls that cannot change them
WORKING_MEMORY = 256 * 2**20   # bytes of intermediate arrays one chunk of members may use
Values = Mapping[str, Any]


@dataclass(frozen=True)
class _Request:
    """A simulate() call with its names resolved to slots and its values to arrays."""

    size: int
    overrides: dict[str, np.ndarray]        # element slot -> (1,) or (N,)
    initial: dict[int, np.ndarray]          # state index -> (1,) or (N,)
    outputs: tuple[str, ...]                # element slots
    keys: np.ndarray                        # (N,) uint64 random stream keys
    method: str
    options: integrators.Options            # rtol, atol of the solve_ivp methods
    backend: str = "numpy"                  # numba | numpy, as chosen for this model and method


def simulate(model: CompiledModel, params: Values | None = None, initial: Values | None = None,
             method: str = "euler", outputs: list[str] | tuple[str, ...] | None = None, *,
             lookups: Values | None = None,
             size: int | None = None, streams: Any = None, seed: int = 0,
             chunk_size: int | None = None, rtol: float = 1e-6, atol: float = 1e-9,
             progress: Callable[[int, int], None] | None = None,
             backend: str = "auto") -> Results:
    """Integrate every member of an ensemble in one vectorised pass.

    Parameters
    ----------
    model
        From :func:`reformsim.load_model`.
    params, initial
        Map names as written in the model (case and ``_``/space insensitive)
        to a number or a 1-D array with one value per member: constants in
        ``params``, stock initial values in ``initial``. One cell of an array
        is named ``x[a1,b2]``; a whole array takes a number (every cell), an
        array of its shape, or one of shape (members, *shape). A constant may also
        be given a :class:`reformsim.Series`, which makes it a function of time.
    lookups
        Replace lookups: name -> :class:`reformsim.Table`, or a list with one
        Table per member.
    method
        ``euler`` (Vensim's, bit-compatible with PySD), ``rk4``, or a
        :func:`scipy.integrate.solve_ivp` method (``RK45``, ``LSODA``...).
    outputs
        Variables to keep (default: every variable but lookups and control
        variables). Only these are stored: N x T x V floats, one column per
        cell of an array (named ``x[a1,b2]``); an array is kept whole.
    size
        Number of members N when no array says it (e.g. random models).
    streams, seed
        Random-stream number of each member (default ``0..N-1``) and a seed
        mixed into every stream: member i of an ensemble equals the single
        run with ``streams=[i]``.
    rtol, atol
        Tolerances of the ``solve_ivp`` methods.
    progress
        Called as ``progress(members done, members in all)`` after each chunk.
    chunk_size
        Members integrated together (default: as many as fit in 256 MiB of
        intermediate arrays); results are the same for any value.
    backend
        ``numba``: compiled to machine code (euler, rk4; compiled once per model
        structure and cached), ``numpy``: vectorised numpy (the reference; every
        method), ``auto``: numba when installed, the method allows and the model
        compiles. They agree to ~1e-12; ``Results.backend`` says which ran.
    """
    key = _Lane.key(params, initial, lookups, outputs, method, size, streams, seed, chunk_size,
                    (rtol, atol), backend)
    lane = _LANES.get(model, key, lambda: None) if key is not None else None
    if lane is not None:
        found = lane.run(params, progress)   # type: ignore[arg-type]
        if found is not None:
            return found
    given = model
    model, request = _resolve(model, params or {}, initial or {}, lookups or {}, outputs, method,
                              size, streams, seed, (rtol, atol), backend)
    failures: dict[int, Failure] = {}
    chunk = max(1, int(chunk_size or _default_chunk(model)))
    with np.errstate(all="ignore"):  # non-finite values become per-member failures, not warnings
        first = _init_values(model, request, 0, min(chunk, request.size))  # member 0: the grid
        times, grid_of = time_grids(model, first)
        columns = model.output_columns(request.outputs)
        n_out = columns[-1][0][1] if columns else 0
        _check_memory(request.size, len(times), n_out)
        out = np.empty((len(times), n_out, request.size))  # (T, V, N): saves write contiguously
        suspects = np.ones(request.size, dtype=bool)   # members whose outputs may be non-finite
        for lo in range(0, request.size, chunk):
            hi = min(request.size, lo + chunk)
            _run_chunk(model, request, lo, hi, out, grid_of, failures, suspects,
                       first if lo == 0 else None)
            if progress is not None:
                progress(hi, request.size)
    if key is not None and lane is None and model is given:
        _LANES.put(given, key, _Lane.prepare(model, request, first, grid_of, chunk, times, params))
    return _results(model, request.outputs, request.overrides, out, times, failures, suspects,
                    method, request.backend)


def _results(model: CompiledModel, outputs: tuple[str, ...], overrides: dict[str, Any],
             out: np.ndarray, times: np.ndarray, failures: dict[int, Failure],
             suspects: np.ndarray, method: str, backend: str, stacklevel: int = 3) -> Results:
    """The call's Results from its saved values (T x V x N) and the failures the integrators
    saw, with each member's first non-finite output added (only ``suspects`` can have one)."""
    names, units, docs, arrays = model.labels(outputs)
    find_failures(out, times, names, failures, suspects)
    if failures:
        warnings.warn(f"{len(failures)} of {out.shape[2]} members went NaN/inf "
                      f"(first: member {min(failures)}, {failures[min(failures)]}); "
                      "see Results.failures", ReformsimWarning, stacklevel=stacklevel)
    return Results(values=out.transpose(2, 0, 1), times=times, names=names,
                   units=dict(units), docs=dict(docs), arrays=dict(arrays),
                   failures=dict(sorted(failures.items())),
                   params={model.nodes[s].element.name: v for s, v in overrides.items()
                           if s in model.nodes},
                   method=method, backend=numba_backend.ran_on(model, backend))


def _default_chunk(model: CompiledModel) -> int:
    """Members per chunk: up to 32,768 (measured fastest for SIR), within WORKING_MEMORY."""
    per_member = 8 * (3 * len(model.rate_order) + 4 * len(model.states) + 16)
    return min(32_768, max(4_096, WORKING_MEMORY // per_member))


# --- resolving names and values --------------------------------------------------------------

def _lookup_name(model: CompiledModel, name: str, what: str) -> str:
    return settings.find(model, name, what).slot


def _as_values(name: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SimulationError(f"{name!r}: expected a number or a 1-D array of numbers, "
                              f"got {value!r}") from None
    if array.ndim > 1:
        raise SimulationError(f"{name!r}: expected a number or a 1-D array, "
                              f"got shape {array.shape}")
    return array.reshape(-1)


def _resolve(model: CompiledModel, params: Values, initial: Values, lookups: Values,
             outputs: Any, method: str, size: int | None, streams: Any, seed: int,
             tolerances: tuple[float, float], backend: str) -> tuple[CompiledModel, _Request]:
    """Names -> slots, values -> arrays; returns the model variant the request needs."""
    if method not in integrators.INTEGRATORS:
        hint = did_you_mean(method, integrators.INTEGRATORS)
        raise SimulationError(f"unknown method {method!r}; expected one of "
                              f"{list(integrators.INTEGRATORS)}" + (f"; {hint}" if hint else ""))
    options = integrators.Options(*tolerances)
    integrators.check_options(options)
    overrides, series, counts = _params(model, params)
    inits = _initials(model, initial, counts)
    tables = _tables(model, lookups, counts)
    chosen = _variant(model, series, tables)
    for slot, schedule in series.items():
        overrides[f"X{slot[1:]}t"], overrides[f"X{slot[1:]}v"] = schedule.xs, schedule.ys
    for ident, (xs, ys) in tables.items():
        key = chosen.table_keys[ident]
        overrides[f"{key}x"], overrides[f"{key}y"] = xs, ys
    if size is not None:
        counts["size"] = int(size)
    stream_keys = None if streams is None else _as_values("streams", streams)
    if stream_keys is not None:
        counts["streams"] = len(stream_keys)
    n = _ensemble_size(model, counts)
    keys = _stream_keys(np.broadcast_to(stream_keys, (n,)), seed) if stream_keys is not None \
        else _default_keys(n, seed).copy() if n <= 4096 else _stream_keys(np.arange(n), seed)
    _refuse_method(chosen, method)
    return chosen, _Request(n, overrides, inits, _outputs(model, outputs), keys, method, options,
                             numba_backend.choose(chosen, method, backend))


def variant_for(model: CompiledModel, params: Values | None = None,
                lookups: Values | None = None) -> CompiledModel:
    """The variant of ``model`` that ``simulate`` runs for these arguments (schedules over
    time and replaced lookups compile into variants of their own)."""
    _, series, counts = _params(model, params or {})
    return _variant(model, series, _tables(model, lookups or {}, counts))


def _variant(model: CompiledModel, series: dict, tables: dict) -> CompiledModel:
    return variant(model, frozenset(model.nodes[s].element.ident for s in series),
                   frozenset(tables))


def _params(model: CompiledModel, params: Values) -> tuple[dict, dict[str, Series], dict[str, int]]:
    given: list[tuple[settings.Target, np.ndarray]] = []
    series: dict[str, Series] = {}
    counts: dict[str, int] = {}
    for target, value in zip(settings.targets(model, tuple(params), "parameter"), params.values()):
        if isinstance(value, Series):
            if target.shape:
                raise SimulationError(f"{model.source.name}: {target.name!r}: a schedule "
                                      "(Series) can only replace a scalar constant")
            series[target.slot], counts[target.name] = value, value.members
        else:
            array = settings.as_value(target, value)
            given.append((target, array))
            counts[target.name] = len(array)
    return settings.overrides(given), series, counts


def _initials(model: CompiledModel, initial: Values,
              counts: dict[str, int]) -> dict[int, np.ndarray]:
    inits: dict[int, np.ndarray] = {}
    for target, value in zip(settings.targets(model, tuple(initial), "stock"), initial.values()):
        state = state_indices(model.nodes[target.slot])[0]
        inits[state] = settings.as_value(target, value)
        counts[target.name] = len(inits[state])
    return inits


def _tables(model: CompiledModel, lookups: Values,
            counts: dict[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if not lookups:
        return {}
    known = {fold_name(e.name): e for e in model.elements if e.kind == "lookup"}
    found = {}
    for name, value in lookups.items():
        element = known.get(fold_name(str(name)))
        if element is None:
            hint = did_you_mean(str(name), [e.name for e in known.values()])
            raise SimulationError(f"{model.source.name}: {name!r} is not a lookup of the model"
                                  + (f"; {hint}" if hint else ""))
        given = [value] if isinstance(value, Table) else list(value)
        if not given or not all(isinstance(t, Table) for t in given):
            raise SimulationError(f"{model.source.name}: lookup {element.name!r}: give a "
                                  "reformsim.Table, or a list with one Table per member")
        found[element.ident] = stack(given)
        counts[element.name] = len(given)
    return found


def _ensemble_size(model: CompiledModel, counts: dict[str, int]) -> int:
    lengths = {n for n in counts.values() if n != 1}
    if len(lengths) > 1:
        listed = ", ".join(f"{name!r} has {n}" for name, n in counts.items() if n != 1)
        raise SimulationError(f"{model.source.name}: every per-member array needs one value per "
                              f"member, but {listed}")
    n = lengths.pop() if lengths else 1
    if n < 1:
        raise SimulationError("an ensemble needs at least one member")
    return n


def _stream_keys(streams: np.ndarray, seed: int) -> np.ndarray:
    """One uint64 key per member from its stream number and the seed, mixed non-linearly
    (a plain XOR would make seed s a mere reshuffle of seed 0's streams)."""
    return (streams.astype(np.int64).view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ \
        _salt(int(seed))


@functools.lru_cache(maxsize=16)
def _default_keys(n: int, seed: int) -> np.ndarray:
    """The keys of streams 0..n-1 of a small ensemble (kept: most calls use the default
    streams, and the sizes of a program's small calls repeat)."""
    keys = _stream_keys(np.arange(n), seed)
    keys.flags.writeable = False
    return keys


@functools.lru_cache(maxsize=64)
def _salt(seed: int) -> np.uint64:
    from .builtins import uniform01

    mixed = uniform01(np.array([seed & ((1 << 63) - 1)], dtype=np.uint64), 0, 0, 0.0)
    return np.uint64(int(mixed[0] * 2**53))


def _outputs(model: CompiledModel, outputs: Any) -> tuple[str, ...]:
    if outputs is None:
        return _NAMES.get(model, "outputs", lambda: tuple(
            s for s, n in model.nodes.items() if n.element.kind == "aux"))
    if isinstance(outputs, str):
        outputs = [outputs]
    # an array is kept whole, even when one of its cells is named
    names = tuple(map(str, outputs))
    return _NAMES.get(model, ("outputs", names), lambda: tuple(dict.fromkeys(
        _lookup_name(model, name, "output") for name in names)))


def _refuse_method(model: CompiledModel, method: str) -> None:
    if integrators.INTEGRATORS[method].discrete:
        return
    kinds = {s.kind for s in model.states}
    problems = sorted(kinds & DISCRETE)
    if any(s.nonneg for s in model.states):
        problems.append("non-negative stocks")
    if model.random_sites:
        problems.append("RANDOM functions")
    if problems:
        raise SimulationError(f"{model.source.name}: method {method!r} cannot integrate "
                              f"{', '.join(problems)}; use method='euler'")


def _check_memory(n: int, t: int, v: int) -> None:
    need = n * t * v * 8
    if need < 2**26:   # 64 MiB: not worth asking the system
        return
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return
    if need > 0.8 * available:
        raise SimulationError(
            f"the results would need {need / 2**30:.1f} GiB ({n} members x {t} save times x "
            f"{v} variables) but {available / 2**30:.1f} GiB are free"
            "\n  hint: keep fewer variables (outputs=[...]) or save less often (SAVEPER)")


# --- running a chunk --------------------------------------------------------------------------

def _init_values(model: CompiledModel, request: _Request, lo: int, hi: int) -> dict[str, Any]:
    def part(v: Any) -> Any:
        if isinstance(v, tuple):  # cells of an array: (cells, values)
            return v[0], [part(x) for x in v[1]]
        return v if len(v) == 1 else v[lo:hi]

    return residual.init(model, {s: part(v) for s, v in request.overrides.items()},
                         {j: part(v) for j, v in request.initial.items()}, request.keys[lo:hi],
                         compiled=request.backend == "numba")


def _run_chunk(model: CompiledModel, request: _Request, lo: int, hi: int, out: np.ndarray,
               grid_of: Callable[..., list], failures: dict[int, Failure],
               suspects: np.ndarray, values: dict[str, Any] | None = None) -> None:
    """Members lo..hi: one init pass (unless given), then each structure group on its own."""
    size = hi - lo
    values = values if values is not None else _init_values(model, request, lo, hi)
    table, group_of = _structures(model, values, size)
    group_of = group_of.reshape(-1)
    for g, row in enumerate(table):
        whole = len(table) == 1  # one group: write straight into the results
        members = np.arange(size) if whole else np.flatnonzero(group_of == g)
        target = out[:, :, lo:hi] if whole else np.empty(out.shape[:2] + (len(members),))
        group_model, group_values = model, _group_constants(values, members, size)
        per_cell = decode(model, row)[2]
        if per_cell:   # cells of one delay with different orders: states split by order
            group_model = split_states(model, per_cell)
            group_values = _group_constants(_init_values(group_model, request, lo, hi),
                                            members, size)
            row = group_by_structure(group_model, group_values, len(members))[0][0]
        keys = request.keys[lo:hi] if whole else request.keys[lo + members]
        group = _Group(group_model, request, group_values, members, lo, keys)
        suspects[lo:hi][members] = group.run(row, target, grid_of, failures)
        if not whole:
            out[:, :, lo + members] = target


def _structures(model: CompiledModel, values: dict[str, Any],
                size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`group_by_structure`, kept for calls whose overrides cannot change a structure
    (no control value, delay order or buffer length among the values the call computed)."""
    plan = getattr(values, "plan", None)
    if plan is None or values.changed & structural_names(model):
        return group_by_structure(model, values, size)
    table = _TABLES.get(model, plan, lambda: group_by_structure(model, values, 1)[0])
    return table, np.zeros(size, dtype=np.intp)


@dataclass
class _Group:
    """Members that share a structure, with their init-pass values (C)."""

    model: CompiledModel
    request: _Request
    values: dict[str, Any]
    members: np.ndarray       # indices within the chunk
    lo: int                   # the chunk's first member
    keys: np.ndarray          # the members' random-stream keys

    def run(self, row: np.ndarray, out: np.ndarray, grid_of: Callable[..., integrators.Grid],
            failures: dict[int, Failure]) -> np.ndarray:
        """Integrate into ``out`` (T x V x members); record members that went non-finite.
        Returns the members whose outputs may hold a non-finite value."""
        controls, orders, _ = decode(self.model, row)
        program = build_program(self.model, Structure(orders), self.request.outputs)
        grid = grid_of(controls, make_clock(self.model, self.values, controls))
        if grid.saves != out.shape[0]:
            raise SimulationError("members differ in INITIAL TIME, FINAL TIME or SAVEPER; "
                                  "run them separately")
        return self.integrate(program, grid, out, failures)

    def integrate(self, program: Any, grid: integrators.Grid, out: np.ndarray,
                  failures: dict[int, Failure]) -> np.ndarray:
        """:meth:`run` once the group's rate pass and grid are known."""
        model, request, size = self.model, self.request, len(self.members)
        deferred = getattr(self.values, "deferred", None) is not None   # to the kernel
        Y, X, pipes = (None, [], []) if deferred else \
            initial_states(model, program, self.values, np.arange(size), size)
        keys = self.keys

        def system(members: np.ndarray | None) -> integrators.System:
            if members is None:
                after = (lambda updates: update_discrete(model, program, X, pipes, updates)) \
                    if X else None
                return integrators.System(program.make(self.values, X, keys), after,
                                          program.nonneg_rows)
            # some members alone (methods that solve members one by one carry no registers)
            values = _group_constants(self.values, members, size)
            return integrators.System(program.make(values, [], keys[members]))

        watch = Watch(size)
        unsolved: dict[int, str] = {}
        if request.backend != "numba" or not numba_backend.run_group(
                model, program, Y, self.values, keys, grid, out, watch, request):
            if deferred:
                Y, X, pipes = initial_states(model, program, self.values, np.arange(size), size)
            integrator = integrators.INTEGRATORS[request.method]
            with np.errstate(all="ignore"):   # a lane's call comes here without simulate's
                unsolved = integrator(integrators.Problem(grid, Y, system), out, watch,
                                      request.options)
        write_constants(model, request.outputs, self.values, out)
        suspects = watch.suspects(model, request.outputs, out)
        failed = watch.first_failures()
        if not failed and not unsolved:
            return suspects
        times = integrators.saved_times(grid)
        for k, (i, state_row) in failed.items():
            failures[self.lo + int(self.members[k])] = Failure(
                row_owner(model, program, state_row), float(times[i]))
        for k, reason in unsolved.items():
            reached = np.flatnonzero(np.isnan(out[:, 0, k])) if out.shape[1] else []
            when = float(times[reached[0]]) if len(reached) else float(times[-1])
            failures[self.lo + int(self.members[k])] = Failure("", when, reason)
        return suspects


_LANES: PerModel[Any] = PerModel()   # call shape -> its _Lane, or None when it has none


@dataclass(frozen=True, eq=False)
class _Lane:
    """A call that repeats with new numbers, prepared: the second call of a shape (the same
    names set, outputs, method, ensemble size) finds out whether its members will always form
    one group, on one fixed time grid, run by the compiled init pass and kernel. If so, later
    calls of that shape go straight to the group with their numbers (a calibration's or the
    explorer's runs: a lone run of a small model is mostly the resolving it skips)."""

    model: CompiledModel
    request: _Request                   # of the call that prepared it; overrides are per call
    targets: tuple[settings.Target, ...]
    plan: Any                           # the residual plan of these names (residual._Plan)
    program: Any
    grid: integrators.Grid
    controls: dict[str, float]          # INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER
    times: np.ndarray
    columns: int
    members: np.ndarray

    @staticmethod
    def key(params: Values | None, initial: Values | None, lookups: Values | None,
            outputs: Any, method: str, size: int | None, streams: Any, seed: int,
            chunk_size: int | None, tolerances: tuple[float, float],
            backend: str) -> tuple | None:
        """The shape of a call that a lane may take; None for one it never takes."""
        if not params or initial or lookups or size is not None or streams is not None \
                or chunk_size is not None:
            return None
        try:
            kept = outputs if outputs is None or isinstance(outputs, str) else tuple(outputs)
            key = (tuple(params), kept, method, seed, tolerances, backend)
            hash(key)
        except TypeError:
            return None
        return key

    @classmethod
    def prepare(cls, model: CompiledModel, request: _Request, first: Any,
                grid_of: Callable[..., integrators.Grid], chunk: int, times: np.ndarray,
                params: Values) -> _Lane | None:
        """The lane of a call just run the long way (``first``: its init-pass values), or None
        when the numbers of a later call could change what it decided."""
        if request.backend != "numba" or request.size > chunk or request.initial \
                or getattr(first, "deferred", None) is None or first.plan.data \
                or first.changed & structural_names(model) \
                or any(model.slots[c] in model.dynamic for c in CONTROLS):
            return None
        table, _ = _structures(model, first, request.size)
        controls, orders, per_cell = decode(model, table[0])
        if len(table) != 1 or per_cell or any(isinstance(v, Series) for v in params.values()):
            return None
        program = build_program(model, Structure(orders), request.outputs)
        grid = grid_of(controls, make_clock(model, first, controls))
        columns = model.output_columns(request.outputs)
        return cls(model, request, tuple(settings.targets(model, tuple(params), "parameter")),
                   first.plan, program, grid, controls, times.copy(),
                   columns[-1][0][1] if columns else 0, np.arange(request.size))

    def run(self, params: Values, progress: Callable[[int, int], None] | None) -> Results | None:
        """The call's Results; None when its numbers do not fit the lane (a schedule, another
        ensemble size, a value of the wrong shape), so that the long way runs it instead."""
        given, size = [], 1
        for target, value in zip(self.targets, params.values()):
            if isinstance(value, Series):
                return None
            array = settings.as_value(target, value)
            if len(array) != 1:
                if size != 1 and len(array) != size:
                    return None
                size = len(array)
            given.append((target, array))
        if size != self.request.size:
            return None
        overrides = settings.overrides(given)
        warn_about_saves(self.model, self.controls)   # as the long way does on every call
        failures: dict[int, Failure] = {}
        out = np.empty((len(self.times), self.columns, size))
        # no np.errstate (14 us of a 250 us call after a full collection): the compiled passes
        # raise no numpy warning, and the numpy work that can (the residual pass, the numpy
        # integrators taking a group over) ignores them itself
        values = self.plan(overrides, {}, self.request.keys, True)
        group = _Group(self.model, self.request, values, self.members, 0, self.request.keys)
        suspects = group.integrate(self.program, self.grid, out, failures)
        if progress is not None:
            progress(size, size)
        return _results(self.model, self.request.outputs, overrides, out, self.times.copy(),
                        failures, suspects, self.request.method, self.request.backend,
                        stacklevel=4)


def _group_constants(values: residual.Values, members: np.ndarray,
                     chunk_size: int) -> residual.Values:
    """The init pass's values restricted to one group's members (shared values stay (1,))."""
    return values if len(members) == chunk_size else values.pick(members, chunk_size)
