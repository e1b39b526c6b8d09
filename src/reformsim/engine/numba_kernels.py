"""Builtins for the compiled backend: one member's scalars, numba-compiled.

Each function here is the per-member twin of one in :mod:`reformsim.engine.builtins`
and computes the same IEEE operations in the same order, so the compiled
backend agrees with the numpy backend to the last bit wherever both call the
same library routine (transcendental functions may differ by an ulp: numpy
uses its own SIMD versions, numba the C library's). Where numpy's own algorithm
decides the result (``np.interp``, pairwise summation, ``np.clip`` with NaN),
it is written out here as numpy's C source does it.

Tables and index arrays arrive flat: ``TB`` holds every number of the model's
tables, ``TI`` every integer (table offsets and lengths, cell positions), and
the generated code passes offsets into them.

Size: one small function per builtin, numpy's algorithms written out; splitting
them would scatter twins of one module (builtins.py) over several.
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding as _llvm
from numba import njit, types

SMALL_VENSIM = 1e-6  # as builtins.SMALL_VENSIM

jit = njit(cache=True, error_model="numpy", nogil=True)

# --- scipy's normal distribution, called by symbol so that the machine code can be cached -----
# (a ctypes pointer would be a constant of one process; a named symbol is resolved at load).
# scipy.special takes a second to import: the symbols are bound only for models that draw
# from RANDOM NORMAL (numba_backend calls bind_normal before it loads such a model's code).

_ndtr = types.ExternalFunction("reformsim_ndtr", types.float64(types.float64, types.intc))
_ndtri = types.ExternalFunction("reformsim_ndtri", types.float64(types.float64, types.intc))
_BOUND: list[bool] = []


def bind_normal() -> None:
    """Make scipy's ndtr and ndtri known to LLVM under the names the kernels call."""
    if _BOUND:
        return
    import ctypes

    import scipy.special.cython_special as special

    name_of, pointer_of = ctypes.pythonapi.PyCapsule_GetName, ctypes.pythonapi.PyCapsule_GetPointer
    name_of.restype, name_of.argtypes = ctypes.c_char_p, [ctypes.py_object]
    pointer_of.restype = ctypes.c_void_p
    pointer_of.argtypes = [ctypes.py_object, ctypes.c_char_p]
    for symbol, key in (("reformsim_ndtr", "__pyx_fuse_1ndtr"), ("reformsim_ndtri", "ndtri")):
        capsule = special.__pyx_capi__[key]
        _llvm.add_symbol(symbol, pointer_of(capsule, name_of(capsule)))
    _BOUND.append(True)


# --- numpy's element-wise semantics -----------------------------------------------------------

@jit
def truth(x):
    """A number as a condition, as numpy reads it (NaN is true)."""
    return x != 0.0


@jit
def power(base, exponent):
    """``base ** exponent`` (the C library's pow), but ``base`` itself for an exponent of 1
    (what pow returns: the result is exact) and the square root of a positive ``base`` for an
    exponent of 0.5. IEEE's square root is correctly rounded, the C library's pow is not
    quite (it differs from it in about 1 of 1,000 cases, by one ulp), and it is several times
    faster: powers of 0.5 and 1 are common in models' elasticities. LLVM makes the same
    substitution where the exponent is a literal. Zero, negative, NaN and -inf bases keep
    pow's answers (sqrt(-0) would be -0, pow's +0; sqrt(-inf) NaN, pow's +inf)."""
    if exponent == 1.0:
        return base
    if exponent == 0.5 and base > 0.0:
        return np.sqrt(base)
    return base ** exponent


@jit
def fmin(a, b):
    """np.minimum: NaN wins."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a < b else b


@jit
def fmax(a, b):
    """np.maximum: NaN wins."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


@jit
def clip(x, low, high):
    """np.clip: max with ``low`` then min with ``high``, NaN in ``x`` kept."""
    if x == x:
        x = x if x > low else low
    if x == x:
        x = x if x < high else high
    return x


# --- builtins (twins of builtins.py) ----------------------------------------------------------

@jit
def setting(computed, op, col):
    """The init pass's value of a constant or initial value: the call's (column ``col`` of
    the member's settings ``op``) or, when the call leaves it (col < 0), the one computed. A
    call, not a
    branch, so that the generated init pass stays one block for numba (a branch per
    constant made numba's SSA pass take seconds)."""
    return op[col] if col >= 0 else computed


@jit
def setting_cell(computed, op, col, cell):
    """:func:`setting` for one cell of an array (its columns start at ``col``)."""
    return op[col + cell] if col >= 0 else computed


@jit
def step(t, dt, height, start):
    return height * (1.0 if t + dt / 2 > start else 0.0)


@jit
def ramp(t, slope, start, finish):
    return (1.0 if t + SMALL_VENSIM > start else 0.0) * slope * (fmin(finish, t) - start)


@jit
def xramp(t, slope, start):
    return (1.0 if t + SMALL_VENSIM > start else 0.0) * slope * (t - start)


@jit
def pulse(t, dt, start, width):
    if width == 0:
        width = dt
    centre = t + dt / 2
    return 1.0 if (centre > start) and (centre < start + width) else 0.0


@jit
def pulse_train(t, dt, start, interval, width, end):
    if width == 0:
        width = dt
    centre = t + dt / 2
    phase = (centre - start) % interval if interval > 0 else centre - start
    return 1.0 if (centre > start) and (centre < end) and (phase < width) else 0.0


@jit
def xpulse(t, dt, start, magnitude):
    if (start - SMALL_VENSIM <= t) and (t < start + 0.5 * dt):
        return magnitude / dt
    return 0.0


@jit
def xpulse_train(t, dt, start, interval, magnitude):
    if interval == 0:
        fire = (start - SMALL_VENSIM <= t) and (t < start + 0.5 * dt)
    else:
        fire = (start <= t) and ((t - start + SMALL_VENSIM) % interval < 0.5 * dt)
    return magnitude / dt if fire else 0.0


@jit
def xidz(numerator, denominator, fallback):
    return fallback if abs(denominator) < SMALL_VENSIM else numerator / denominator


@jit
def zidz(numerator, denominator):
    return 0.0 if abs(denominator) < SMALL_VENSIM else numerator / denominator


@jit
def quantum(a, b):
    return a if b < SMALL_VENSIM else b * np.trunc(a / b)


@jit
def modulo(x, m):
    return x - quantum(x, m)


@jit
def log(x, base):
    return np.log(x) / np.log(base)


# --- tables -----------------------------------------------------------------------------------

@jit
def _upper(TB, at, count, x):
    """How many of the ``count`` sorted numbers from ``TB[at]`` are <= x (NaN: all of them)."""
    if x != x:
        return count
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) >> 1
        if x >= TB[at + mid]:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def interp(x, TB, xo, yo, count):
    """np.interp(x, xs, ys) with its end values, as numpy's arr_interp computes it."""
    if count == 1:    # numpy: left, right or the point itself, all fp[0] here
        return TB[yo]
    if x != x:
        return x
    if x > TB[xo + count - 1]:
        return TB[yo + count - 1]
    if x < TB[xo]:
        return TB[yo]
    j = _upper(TB, xo, count, x) - 1
    if j == count - 1 or TB[xo + j] == x:
        return TB[yo + j]
    x0, x1, y0, y1 = TB[xo + j], TB[xo + j + 1], TB[yo + j], TB[yo + j + 1]
    slope = (y1 - y0) / (x1 - x0)
    value = slope * (x - x0) + y0
    if value != value:
        value = slope * (x - x1) + y1
        if value != value and y0 == y1:
            value = y0
    return value


@jit
def lookup(x, TB, xo, yo, count, mode):
    """builtins.lookup: mode 0 interpolate, 1 extrapolate, 2 hold backward."""
    if mode == 2:
        index = min(max(_upper(TB, xo, count, x) - 1, 0), count - 1)
        return TB[yo + index]
    inside = interp(x, TB, xo, yo, count)
    if mode != 1 or count < 2:
        return inside
    if x < TB[xo]:
        return TB[yo] + (TB[yo + 1] - TB[yo]) / (TB[xo + 1] - TB[xo]) * (x - TB[xo])
    last = count - 1
    if x > TB[xo + last]:
        return TB[yo + last] + (TB[yo + last] - TB[yo + last - 1]) / (
            TB[xo + last] - TB[xo + last - 1]) * (x - TB[xo + last])
    return inside


@jit
def table_row(x, TB, xo, yo, count, hold):
    """builtins.interpolate_rows / lookup_cells for one row: count the xs <= x, hold the ends."""
    below = 0
    for k in range(count):
        if TB[xo + k] <= x:
            below += 1
    lo = min(max(below - 1, 0), count - 1)
    hi = min(max(below, 0), count - 1)
    y0 = TB[yo + lo]
    if hold:
        return y0
    x0, x1, y1 = TB[xo + lo], TB[xo + hi], TB[yo + hi]
    span = x1 - x0 if x1 > x0 else 1.0
    return y0 + (y1 - y0) * clip((x - x0) / span, 0.0, 1.0)


@jit
def run_row(x, RT, e, xo, yo, count):
    """builtins.interpolate_rows for member e's row of a table given per run."""
    below = 0
    for k in range(count):
        if RT[e, xo + k] <= x:
            below += 1
    lo = min(max(below - 1, 0), count - 1)
    hi = min(max(below, 0), count - 1)
    x0, x1, y0, y1 = RT[e, xo + lo], RT[e, xo + hi], RT[e, yo + lo], RT[e, yo + hi]
    span = x1 - x0 if x1 > x0 else 1.0
    return y0 + (y1 - y0) * clip((x - x0) / span, 0.0, 1.0)


@jit
def data_value(t, TB, to, vo, count, cells, cell, mode):
    """builtins.data_series at one cell: mode 0 interpolate, 1 raw, 2 hold backward,
    3 look forward."""
    for k in range(count):
        if TB[to + k] == t:
            return TB[vo + k * cells + cell]
    if mode == 1:
        return np.nan
    if t >= TB[to + count - 1]:
        return TB[vo + (count - 1) * cells + cell]
    if t <= TB[to]:
        return TB[vo + cell]
    above = 0          # searchsorted(times, t, side="left")
    while above < count and TB[to + above] < t:
        above += 1
    if mode == 2:
        return TB[vo + (_upper(TB, to, count, t) - 1) * cells + cell]
    if mode == 3:
        return TB[vo + above * cells + cell]
    share = (t - TB[to + above - 1]) / (TB[to + above] - TB[to + above - 1])
    low = TB[vo + (above - 1) * cells + cell]
    return low + (TB[vo + above * cells + cell] - low) * share


# --- random numbers (builtins.uniform01 and the distributions) --------------------------------

@jit
def _splitmix(z):
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def uniform01(key, site, step_index, seed):
    seed_bits = np.uint64(np.int64(np.round(seed * 1000.0)))
    counter = np.uint64(site) * np.uint64(0xD6E8FEB86659FD93) + np.uint64(step_index)
    z = _splitmix(key * np.uint64(0x9E3779B97F4A7C15) + counter)
    z = _splitmix(z ^ seed_bits)
    return (np.float64(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@jit
def uniform01_cell(key, site, step_index, seed, cell):
    """builtins.uniform01 with a shape, for one cell: the cell's position hashed into the key."""
    key = _splitmix(key * np.uint64(0x9E3779B97F4A7C15)
                    + (np.uint64(cell) + np.uint64(1)) * np.uint64(0xD6E8FEB86659FD93))
    return uniform01(key, site, step_index, seed)


@jit
def random_0_1(u):
    return u


@jit
def random_uniform(u, low, high):
    return low + (high - low) * u


@jit
def random_normal(u, low, high, mean, sd):
    a = _ndtr(xidz(low - mean, sd, -np.inf), 0)
    b = _ndtr(xidz(high - mean, sd, np.inf), 0)
    return clip(mean + sd * _ndtri(a + u * (b - a), 0), low, high)


@jit
def random_exponential(u, low, high, shift, stretch):
    loc = fmax(low, shift)
    span = xidz(high - loc, stretch, np.inf)
    return loc - stretch * np.log1p(-u * -np.expm1(-span))


# --- reductions over a member's cells, gathered contiguously in W -----------------------------

@jit
def _block(W, at, n):
    """numpy's pairwise_sum for n <= 128: 8 accumulators, then the rest one by one."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += W[at + i]
        return res
    r0, r1, r2, r3 = W[at], W[at + 1], W[at + 2], W[at + 3]
    r4, r5, r6, r7 = W[at + 4], W[at + 5], W[at + 6], W[at + 7]
    i = 8
    while i < n - (n % 8):
        r0 += W[at + i]
        r1 += W[at + i + 1]
        r2 += W[at + i + 2]
        r3 += W[at + i + 3]
        r4 += W[at + i + 4]
        r5 += W[at + i + 5]
        r6 += W[at + i + 6]
        r7 += W[at + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += W[at + i]
        i += 1
    return res


@jit
def _pairwise(W, at, n):
    """numpy's pairwise_sum over W[at:at + n]: halves (cut at a multiple of 8) summed apart
    down to blocks of 128. Walked with a stack, not recursion: numba cannot load a cached
    recursive function."""
    if n <= 128:
        return _block(W, at, n)
    starts, counts, stages = np.empty(64, np.int64), np.empty(64, np.int64), np.empty(64, np.int64)
    sums = np.empty(64)
    top, done = 0, 0
    starts[0], counts[0], stages[0] = at, n, 0
    while top >= 0:
        count = counts[top]
        if count <= 128:
            sums[done] = _block(W, starts[top], count)
            done += 1
            top -= 1
            continue
        half = count // 2
        half -= half % 8
        if stages[top] == 0:          # first the left half
            stages[top] = 1
            starts[top + 1], counts[top + 1], stages[top + 1] = starts[top], half, 0
            top += 1
        elif stages[top] == 1:        # then the right half
            stages[top] = 2
            starts[top + 1], counts[top + 1] = starts[top] + half, count - half
            stages[top + 1] = 0
            top += 1
        else:                         # then their sum
            done -= 1
            sums[done - 1] = sums[done - 1] + sums[done]
            top -= 1
    return sums[0]


@jit
def reduce_sum(W, at, n):
    """np.add.reduce of a contiguous row (builtins.reduce_sum)."""
    return -0.0 + _pairwise(W, at, n)


@jit
def reduce_prod(W, at, n):
    res = W[at]
    for i in range(1, n):
        res *= W[at + i]
    return res


@jit
def reduce_vmin(W, at, n):
    res = W[at]
    for i in range(1, n):
        res = fmin(res, W[at + i])
    return res


@jit
def reduce_vmax(W, at, n):
    res = W[at]
    for i in range(1, n):
        res = fmax(res, W[at + i])
    return res


# --- VECTOR functions along the last axis: rows of n cells from W[src], into W[dst] ----------

@jit
def _sort_order(W, src, direction, dst, rows, n):
    for r in range(rows):
        ascending = np.argsort(W[src + r * n:src + (r + 1) * n], kind="mergesort")
        for k in range(n):
            pick = ascending[k] if W[direction + r * n + k] > 0 else ascending[n - 1 - k]
            W[dst + r * n + k] = np.float64(pick)


@jit
def vector_sort_order(W, src, direction, dst, rows, n):
    _sort_order(W, src, direction, dst, rows, n)


@jit
def vector_rank(W, src, direction, dst, rows, n):
    _sort_order(W, src, direction, dst, rows, n)
    for r in range(rows):
        ranks = np.argsort(W[dst + r * n:dst + (r + 1) * n], kind="mergesort")
        for k in range(n):
            W[dst + r * n + k] = np.float64(ranks[k] + 1)


@jit
def vector_reorder(W, src, order, dst, rows, n):
    for r in range(rows):
        for k in range(n):
            index = int(W[order + r * n + k])
            if index < 0:
                index += n
            ok = 0 <= index < n
            W[dst + r * n + k] = W[src + r * n + index] if ok else np.nan


@jit
def invert_matrix(W, src, unused, dst, rows, n):
    """INVERT MATRIX of each n x n block (rows counts the cells before the last two axes)."""
    for r in range(rows // n):
        at = r * n * n
        block = W[src + at:src + at + n * n].copy().reshape((n, n))
        inverse = np.linalg.solve(block, np.eye(n))    # LAPACK's gesv, as numpy's inv
        for a in range(n):
            for b in range(n):
                W[dst + at + a * n + b] = inverse[a, b]


# --- the integrator's watch -------------------------------------------------------------------

@jit
def watch(y, rows, FS, FR, e, saved):
    """At a save: the first state row of member e that went non-finite (once per member)."""
    if FS[e] >= 0:
        return
    for k in range(rows):
        if not np.isfinite(y[k]):
            FS[e] = saved
            FR[e] = k
            return
