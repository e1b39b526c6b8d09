"""Vectorised Vensim/XMILE builtins, as called by generated code.

Every function takes and returns arrays of shape ``(E,)`` or ``(1,)`` (one
value per ensemble member, or one shared by all); ``t`` and ``dt`` are
plain floats in the rate pass and may be arrays in the initialisation pass.
Timing conventions follow Vensim's documentation; where PySD differs, the
difference is noted (``docs/semantics.md``).
"""

from __future__ import annotations

import numpy as np

from .allocation import allocate_available, allocate_by_priority  # noqa: F401 (called as F.*)

SMALL_VENSIM = 1e-6  # what Vensim treats as zero in XIDZ, ZIDZ, QUANTUM


def step(t, dt, height, start):
    """STEP: ``height`` from the first grid time with ``t + dt/2 > start``."""
    return height * (t + dt / 2 > start)


def ramp(t, slope, start, finish):
    """RAMP: 0 before ``start``, then ``slope * (t - start)`` until ``finish``."""
    return (t + SMALL_VENSIM > start) * slope * (np.minimum(finish, t) - start)


def xramp(t, slope, start):
    """XMILE RAMP(slope, start): no end."""
    return (t + SMALL_VENSIM > start) * slope * (t - start)


def pulse(t, dt, start, width):
    """PULSE as Vensim documents it: ``start < t + dt/2 < start + width``; width 0 means dt.

    PySD differs: it returns 0 for width 0 and fires one step late for a
    start between grid times.
    """
    width = np.where(width == 0, dt, width)
    centre = t + dt / 2
    return ((centre > start) & (centre < start + width)) * 1.0


def pulse_train(t, dt, start, interval, width, end):
    """PULSE TRAIN(start, width, tbetween, end), with Vensim's half-step rule as in PULSE."""
    width = np.where(width == 0, dt, width)
    centre = t + dt / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        phase = np.where(interval > 0, np.mod(centre - start, interval), centre - start)
    return ((centre > start) & (centre < end) & (phase < width)) * 1.0


def xpulse(t, dt, start, magnitude):
    """XMILE PULSE(magnitude, start): ``magnitude / dt`` for one step at ``start``."""
    return np.where((start - SMALL_VENSIM <= t) & (t < start + 0.5 * dt), magnitude / dt, 0.0)


def xpulse_train(t, dt, start, interval, magnitude):
    """XMILE PULSE(magnitude, start, interval): repeats every ``interval`` (0: once)."""
    once = (start - SMALL_VENSIM <= t) & (t < start + 0.5 * dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        repeat = (start <= t) & (np.mod(t - start + SMALL_VENSIM, interval) < 0.5 * dt)
    return np.where(np.where(interval == 0, once, repeat), magnitude / dt, 0.0)


def xidz(numerator, denominator, fallback):
    """XIDZ: ``numerator / denominator``, or ``fallback`` where the denominator is ~0."""
    return np.where(np.abs(denominator) < SMALL_VENSIM, fallback, numerator / denominator)


def zidz(numerator, denominator):
    """ZIDZ: ``numerator / denominator``, or 0 where the denominator is ~0."""
    return np.where(np.abs(denominator) < SMALL_VENSIM, 0.0, numerator / denominator)


def integer(x):
    """INTEGER: truncation toward zero."""
    return np.trunc(x)


def quantum(a, b):
    """QUANTUM: ``b * INTEGER(a / b)``, or ``a`` where ``b`` is ~0 or negative."""
    return np.where(b < SMALL_VENSIM, a, b * np.trunc(a / b))


def modulo(x, m):
    """MODULO as PySD and Vensim compute it: ``x - QUANTUM(x, m)``."""
    return x - quantum(x, m)


def log(x, base):
    """LOG(x, base)."""
    return np.log(x) / np.log(base)


def lookup(x, xs, ys, mode):
    """Evaluate a graphical function at ``x``.

    ``xs``/``ys`` are 1-D arrays. ``interpolate`` holds the end values beyond
    the table (Vensim), ``extrapolate`` continues the end segments (XMILE),
    ``hold_backward`` keeps the value of the last point at or below ``x``.
    """
    if mode == "hold_backward":
        index = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 1)
        return ys[index]
    inside = np.interp(x, xs, ys)
    if mode != "extrapolate" or len(xs) < 2:
        return inside
    low = ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
    high = ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
    return np.where(x < xs[0], low, np.where(x > xs[-1], high, inside))


def interpolate_rows(x, xs, ys):
    """Piecewise-linear ``ys(x)`` held beyond the ends, one table row per member.

    ``xs``/``ys`` are (R, P) with R = 1 (shared) or E; ``x`` is a scalar or
    (E,)/(1,). At a repeated x (a jump) the later point applies.
    """
    x = np.reshape(x, (-1, 1))
    count = np.sum(xs <= x, axis=-1)
    width = xs.shape[-1]
    lo = np.clip(count - 1, 0, width - 1)[:, None]
    hi = np.clip(count, 0, width - 1)[:, None]
    rows = np.broadcast_shapes(xs.shape[:1], ys.shape[:1], x.shape[:1])[0]
    xs, ys = np.broadcast_to(xs, (rows, width)), np.broadcast_to(ys, (rows, width))
    x0, x1 = np.take_along_axis(xs, lo, 1)[:, 0], np.take_along_axis(xs, hi, 1)[:, 0]
    y0, y1 = np.take_along_axis(ys, lo, 1)[:, 0], np.take_along_axis(ys, hi, 1)[:, 0]
    span = np.where(x1 > x0, x1 - x0, 1.0)
    share = np.clip((x[:, 0] - x0) / span, 0.0, 1.0)
    return y0 + (y1 - y0) * share


def lookup_cells(x, xs, ys, mode):
    """Each cell's own graphical function at its ``x`` (subscripted lookups).

    ``xs``/``ys`` are (*sizes, P): a table per cell (sizes may be 1 where the
    argument spans a range the table does not); ``x`` is (E, *sizes) or a
    scalar. ``interpolate`` holds the end values beyond a table, ``hold_backward``
    keeps the value of the last point at or below ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    rank = xs.ndim - 1
    x = x.reshape((x.shape[0] if x.ndim else 1,) + x.shape[1:] + (1,) * (rank - max(x.ndim - 1, 0)))
    count = np.sum(xs[None] <= x[..., None], axis=-1)
    points = xs.shape[-1]
    lo = np.clip(count - 1, 0, points - 1)[..., None]
    hi = np.clip(count, 0, points - 1)[..., None]
    full = count.shape + (points,)
    xs, ys = np.broadcast_to(xs[None], full), np.broadcast_to(ys[None], full)
    y0 = np.take_along_axis(ys, lo, -1)[..., 0]
    if mode == "hold_backward":
        return y0
    x0, x1 = np.take_along_axis(xs, lo, -1)[..., 0], np.take_along_axis(xs, hi, -1)[..., 0]
    y1 = np.take_along_axis(ys, hi, -1)[..., 0]
    span = np.where(x1 > x0, x1 - x0, 1.0)
    return y0 + (y1 - y0) * np.clip((x - x0) / span, 0.0, 1.0)


def data_series(t, times, values, mode):
    """A data variable at time ``t``, as PySD reads GET DATA series.

    ``values`` is (T, *sizes). A time of the series gives its row; beyond the
    ends the end rows hold; between times ``interpolate`` is linear,
    ``hold_backward`` keeps the earlier row, ``look_forward`` takes the later
    one and ``raw`` gives NaN. Returns (1, *sizes), the same for every member.
    """
    t = float(np.asarray(t).reshape(-1)[0])
    exact = np.flatnonzero(times == t)
    if exact.size:
        row = values[exact[0]]
    elif mode == "raw":
        row = np.full(values.shape[1:], np.nan)
    elif t >= times[-1] or t <= times[0]:
        row = values[-1] if t >= times[-1] else values[0]
    elif mode == "hold_backward":
        row = values[np.searchsorted(times, t, side="right") - 1]
    elif mode == "look_forward":
        row = values[np.searchsorted(times, t, side="left")]
    else:
        i = np.searchsorted(times, t)
        share = (t - times[i - 1]) / (times[i] - times[i - 1])
        row = values[i - 1] + (values[i] - values[i - 1]) * share
    return np.asarray(row, dtype=np.float64)[None]


# --- random numbers --------------------------------------------------------------------------
# Counter-based: a draw is a hash of (member key, call site, step, seed argument), so member i
# gets the same numbers whatever the ensemble around it, and runs are reproducible.

_MASK = (1 << 64) - 1
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB,
                 0xD6E8FEB86659FD93], dtype=np.uint64)

_SHIFTS = np.array([30, 27, 31], dtype=np.uint64)


def _splitmix(z):
    z = z ^ (z >> _SHIFTS[0])
    z = z * _MIX[1:2]
    z = z ^ (z >> _SHIFTS[1])
    z = z * _MIX[2:3]
    return z ^ (z >> _SHIFTS[2])


def uniform01(keys, site, step_index, seed, shape=()):
    """Uniform draws in (0, 1), one per member key (``keys``: uint64, (E,)).

    With a ``shape``, one per member and cell, (E, *shape): each cell's stream
    is its own (the cell's position is hashed in), so cell c of member i draws
    the same numbers whatever the ensemble and whatever the other cells.
    """
    seed = np.asarray(seed, dtype=float)
    if shape:
        keys = keys.reshape(-1, *(1,) * len(shape))
        cells = np.arange(int(np.prod(shape)), dtype=np.uint64).reshape(shape)
        keys = _splitmix(keys * _MIX[0:1] + (cells + np.uint64(1)) * _MIX[3:4])
    seed_bits = np.round(seed * 1000.0).astype(np.int64).view(np.uint64)
    counter = np.array([(site * 0xD6E8FEB86659FD93 + step_index) & _MASK], dtype=np.uint64)
    z = _splitmix(keys * _MIX[0:1] + counter)
    z = _splitmix(z ^ seed_bits)
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def random_0_1(u):
    """RANDOM 0 1."""
    return u


def random_uniform(u, low, high):
    """RANDOM UNIFORM(min, max, seed)."""
    return low + (high - low) * u


def random_normal(u, low, high, mean, sd):
    """RANDOM NORMAL(min, max, mean, sd, seed): a normal truncated to [min, max]."""
    from scipy import special  # here: scipy.special takes ~0.3 s to import

    with np.errstate(divide="ignore", invalid="ignore"):
        a = special.ndtr(xidz(low - mean, sd, -np.inf))
        b = special.ndtr(xidz(high - mean, sd, np.inf))
        return np.clip(mean + sd * special.ndtri(a + u * (b - a)), low, high)


def random_exponential(u, low, high, shift, stretch):
    """RANDOM EXPONENTIAL(min, max, shift, stretch, seed), truncated to [min, max]."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        loc = np.maximum(low, shift)
        span = xidz(high - loc, stretch, np.inf)
        return loc - stretch * np.log1p(-u * -np.expm1(-span))


# --- arrays: shape (E, *sizes), ensemble axis first ------------------------------------------

def lift(x, rank):
    """A scalar ((), (1,) or (E,)) as an array of ``rank`` length-1 subscript axes."""
    x = np.asarray(x, dtype=np.float64)
    return x.reshape((x.shape if x.ndim else (1,)) + (1,) * rank)


def full(x, shape):
    """``x`` (ensemble axis first) broadcast over every cell of ``shape``."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[1:] == shape:  # already whole (the common case): skip broadcast_to's overhead
        return x
    return np.broadcast_to(x, (x.shape[0],) + tuple(shape))


def assemble(shape, values, layout):
    """An array put together from pieces: ``layout`` holds each piece's (shape, cells, picks)."""
    lead = max(np.shape(v)[0] if np.ndim(v) else 1 for v in values)
    out = np.full((lead, int(np.prod(shape))), np.nan)  # cells no piece defines stay NaN
    for value, (piece, cells, picks) in zip(values, layout):
        flat = np.broadcast_to(value, (lead,) + piece).reshape(lead, -1)
        out[:, cells] = flat if picks is None else flat[:, picks]
    return out.reshape((lead,) + tuple(shape))


def cells(x, shape, positions):
    """Cells of array ``x`` (E, *shape) at flat ``positions``: (E, len(positions))."""
    x = np.asarray(x, dtype=np.float64)
    whole = np.broadcast_to(x, (x.shape[0] if x.ndim else 1,) + tuple(shape))
    return whole.reshape(whole.shape[0], -1)[:, positions]


def rows(x, shape):
    """An array value (E, *sizes) as state rows (cells, E); a plain number stays as it is."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        return x
    if x.shape[1:] != shape:
        x = np.broadcast_to(x, (x.shape[0],) + tuple(shape))
    return x.reshape(x.shape[0], -1).T


def unrows(y, shape):
    """State rows (cells, E) as an array value (E, *sizes)."""
    return y.T.reshape((y.shape[1],) + tuple(shape))


def patch(x, cells, values):
    """A copy of array ``x`` with some cells (flat positions) set: one (1,) or (N,) per cell."""
    x = np.asarray(x, dtype=np.float64)
    lead = max([x.shape[0]] + [np.shape(v)[0] for v in values])
    out = np.array(np.broadcast_to(x, (lead,) + x.shape[1:]))
    flat = out.reshape(lead, -1)
    for cell, value in zip(cells, values):
        flat[:, cell] = value
    return out


def _last(x, axis):
    """``x`` broadcast to its full shape with ``axis`` moved last (for the VECTOR functions)."""
    return np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)


def vector_sort_order(vector, direction, axis):
    """VECTOR SORT ORDER: 0-based positions that sort ``vector`` along ``axis``
    (ascending when direction > 0, else descending), as PySD computes them."""
    v = _last(vector, axis)
    ascending = np.argsort(v, axis=-1, kind="stable").astype(np.float64)
    descending = np.flip(ascending, axis=-1)
    d = np.asarray(direction, dtype=np.float64)
    return np.moveaxis(np.where(np.moveaxis(np.broadcast_to(d, np.broadcast(d, vector).shape),
                                            axis, -1) > 0, ascending, descending), -1, axis)


def vector_rank(vector, direction, axis):
    """VECTOR RANK: 1-based rank of each element along ``axis`` (1 = first in sort order)."""
    order = _last(vector_sort_order(vector, direction, axis), axis)
    return np.moveaxis(np.argsort(order, axis=-1, kind="stable") + 1.0, -1, axis)


def vector_reorder(vector, order, axis):
    """VECTOR REORDER: ``vector`` taken at the 0-based positions ``order`` along ``axis``."""
    v, o = np.broadcast_arrays(np.asarray(vector, dtype=np.float64),
                               np.asarray(order, dtype=np.float64))
    picked = np.take_along_axis(_last(v, axis), _last(o, axis).astype(np.intp), axis=-1)
    return np.moveaxis(picked, -1, axis)


def vector_select(selection, expression, missing, action, error, axis):
    """VECTOR SELECT over the axes from ``axis`` on: the cells whose selection is not 0,
    combined by ``action`` (0 weighted sum, 1 weighted product, 2/3 weighted min/max,
    4 weighted mean, 5 product of expression ^ selection (what Vensim computes, though its
    help says the reverse), 6-10 the unweighted sum, product, min, max, mean); ``missing``
    where nothing is selected. ``error`` 1 (nothing selected), 2 (more than one) or 3 (either)
    gives NaN there, as Vensim's floating point error stops a run."""
    selection, expression = np.broadcast_arrays(np.asarray(selection, dtype=np.float64),
                                                np.asarray(expression, dtype=np.float64))
    axes = tuple(range(axis, selection.ndim))
    chosen = selection != 0
    action, error = int(np.ravel(action)[0]), int(np.ravel(error)[0])
    with np.errstate(all="ignore"):
        value = (selection * expression if action < 5 else
                 expression ** selection if action == 5 else expression)
    reduce = _SELECT[action]
    out = reduce(np.where(chosen, value, reduce.identity), axis=axes)
    if action in (4, 10):
        out = out / np.maximum(np.sum(chosen, axis=axes), 1)
    count = np.sum(chosen, axis=axes)
    out = np.where(count == 0, missing, out)
    if error in (1, 3):
        out = np.where(count == 0, np.nan, out)
    if error in (2, 3):
        out = np.where(count > 1, np.nan, out)
    return out


class _Reducer:
    """A reduction and the value that leaves it unchanged (for cells not selected)."""

    def __init__(self, ufunc, identity: float) -> None:
        self.ufunc, self.identity = ufunc, identity

    def __call__(self, x, axis):
        return self.ufunc.reduce(x, axis=axis)


_SUM, _PROD = _Reducer(np.add, 0.0), _Reducer(np.multiply, 1.0)
_MIN, _MAX = _Reducer(np.minimum, np.inf), _Reducer(np.maximum, -np.inf)
_SELECT = {0: _SUM, 1: _PROD, 2: _MIN, 3: _MAX, 4: _SUM, 5: _PROD,
           6: _SUM, 7: _PROD, 8: _MIN, 9: _MAX, 10: _SUM}


def invert_matrix(matrix, axis):
    """INVERT MATRIX: the inverse of the square matrix in the last two axes (``axis`` is the
    last)."""
    return np.linalg.inv(np.asarray(matrix, dtype=np.float64))


def _cells_last(x, axes):
    """``x`` with the cells of ``axes`` in one contiguous last axis, row-major."""
    x = np.asarray(x, dtype=np.float64)
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    return np.ascontiguousarray(moved).reshape(moved.shape[:x.ndim - len(axes)] + (-1,))


def reduce_sum(x, axes):
    """SUM over ``axes``, each member's cells added in an order that depends on nothing else.

    numpy picks a summation order from the array's layout, so summing over
    inner axes of an ensemble could differ in the last bit from summing a
    single run. Here each member's cells are first laid out contiguously,
    and numpy sums every such row the same way whatever the ensemble size.
    """
    return np.add.reduce(_cells_last(x, axes), axis=-1)


def reduce_prod(x, axes):
    """PROD over ``axes``, with each member's cells laid out as in :func:`reduce_sum`."""
    return np.multiply.reduce(_cells_last(x, axes), axis=-1)


def reduce_vmin(x, axes):
    """VMIN over ``axes`` (exact in any order)."""
    return np.min(x, axis=axes)


def reduce_vmax(x, axes):
    """VMAX over ``axes`` (exact in any order)."""
    return np.max(x, axis=axes)


def chain(ops, *args):
    """``args[0] ops[0] args[1] ops[1] args[2]...`` left to right (``ops``: a string of
    ``+-*/``): a long chain, folded here because Python cannot compile it written out."""
    acc = args[0]
    for op, arg in zip(ops, args[1:]):
        acc = _CHAIN_OPS[op](acc, arg)
    return acc


_CHAIN_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide}
