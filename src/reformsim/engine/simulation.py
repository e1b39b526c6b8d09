"""simulate(): members -> initialisation -> structure groups -> integration -> Results."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import SimulationError, did_you_mean
from ..model.ir import fold_name
from . import integrators, numba_backend, residual, settings
from .clock import time_grids
from .compiled import CompiledModel, state_indices
from .compiler import split_states, variant
from .groups import Group, Request, group_constants, results, structures
from .inputs import Series, Table, stack
from .lane import Lane, find_lane, keep_lane
from .memo import PerModel
from .program import decode, group_by_structure
from .results import Failure, Results
from .states import DISCRETE

_NAMES: PerModel[tuple] = PerModel()            # a call's outputs, resolved
WORKING_MEMORY = 256 * 2**20   # bytes of intermediate arrays one chunk of members may use
Values = Mapping[str, Any]


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
    key = Lane.key(params, initial, lookups, outputs, method, size, streams, seed, chunk_size,
                    (rtol, atol), backend)
    lane = find_lane(model, key)
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
        keep_lane(given, key, Lane.prepare(model, request, first, grid_of, chunk, times, params))
    return results(model, request.outputs, request.overrides, out, times, failures, suspects,
                    method, request.backend)


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
             tolerances: tuple[float, float], backend: str) -> tuple[CompiledModel, Request]:
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
    return chosen, Request(n, overrides, inits, _outputs(model, outputs), keys, method, options,
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

def _init_values(model: CompiledModel, request: Request, lo: int, hi: int) -> dict[str, Any]:
    def part(v: Any) -> Any:
        if isinstance(v, tuple):  # cells of an array: (cells, values)
            return v[0], [part(x) for x in v[1]]
        return v if len(v) == 1 else v[lo:hi]

    return residual.init(model, {s: part(v) for s, v in request.overrides.items()},
                         {j: part(v) for j, v in request.initial.items()}, request.keys[lo:hi],
                         compiled=request.backend == "numba")


def _run_chunk(model: CompiledModel, request: Request, lo: int, hi: int, out: np.ndarray,
               grid_of: Callable[..., list], failures: dict[int, Failure],
               suspects: np.ndarray, values: dict[str, Any] | None = None) -> None:
    """Members lo..hi: one init pass (unless given), then each structure group on its own."""
    size = hi - lo
    values = values if values is not None else _init_values(model, request, lo, hi)
    table, group_of = structures(model, values, size)
    group_of = group_of.reshape(-1)
    for g, row in enumerate(table):
        whole = len(table) == 1  # one group: write straight into the results
        members = np.arange(size) if whole else np.flatnonzero(group_of == g)
        target = out[:, :, lo:hi] if whole else np.empty(out.shape[:2] + (len(members),))
        group_model, group_values = model, group_constants(values, members, size)
        per_cell = decode(model, row)[2]
        if per_cell:   # cells of one delay with different orders: states split by order
            group_model = split_states(model, per_cell)
            group_values = group_constants(_init_values(group_model, request, lo, hi),
                                            members, size)
            row = group_by_structure(group_model, group_values, len(members))[0][0]
        keys = request.keys[lo:hi] if whole else request.keys[lo + members]
        group = Group(group_model, request, group_values, members, lo, keys)
        suspects[lo:hi][members] = group.run(row, target, grid_of, failures)
        if not whole:
            out[:, :, lo + members] = target


