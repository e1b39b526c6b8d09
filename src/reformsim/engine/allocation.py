"""Vensim's allocation functions, vectorised over members and over every other range.

Vensim allocates a supply among requests by priority curves: each request ``i``
takes ``q_i * S((x - priority_i) / width_i)`` at a common "price" ``x``, where
``S`` falls from 1 to 0 (the integral of the named shape), and ``x`` is the
price at which the takes add up to the supply ("Allocation Overview",
"Specifying the Curves" in Vensim's reference). That price is found here by
bisection in all cells at once: the total take is monotone in ``x``, so
bisection converges to the one allocation there is (where the total is flat
around the supply every take is flat too), to the last bit, without the
per-slice optimiser PySD runs.

- ALLOCATE AVAILABLE: ptype 1 rectangular, 2 triangular, 3 normal (width is the
  standard deviation), 4 exponential (symmetric, width stretches exp); the
  curves are PySD's, which reproduce Vensim's outputs in the conformance suite.
  ptype 0 (fixed quantity) and 5 (constant elasticity) give NaN, reported as a
  failure of the member, as does a width that is not positive.
- ALLOCATE BY PRIORITY is the rectangular curve with the width given: the
  highest priority is served first and the next one starts once the gap in
  priority is covered, at rates proportional to the requests (PySD's piecewise
  construction gives the same allocation).

Arrays are ``(E, *sizes)`` with the allocated range last (``axis`` names it,
ensemble axis included); the priority profile has one more axis, of 4.
"""

from __future__ import annotations

import numpy as np

# Widths beyond which a curve is flat in float64 (PySD's bounds for the normal and
# exponential shapes); they bracket the clearing price.
_REACH = np.array([np.nan, 0.5, 0.5, 8.2923611, 36.7368005696])
_MAX_HALVINGS = 2100   # float64 spans about 2**2100; the loop stops when it stops shrinking


def _take(kind: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Share of its request a target takes at standardised price ``z`` (1 at -inf, 0 at +inf)."""
    shares = np.full(np.broadcast_shapes(kind.shape, z.shape), np.nan)
    for k in np.unique(kind):
        if k in _SHAPES:
            where = np.broadcast_to(kind == k, shares.shape)
            shares[where] = _SHAPES[k](np.broadcast_to(z, shares.shape)[where])
    return shares


def _triangular(z: np.ndarray) -> np.ndarray:
    return np.where(z <= -0.5, 1.0, np.where(z < 0, 1 - 2 * (z + 0.5) ** 2,
                                            np.where(z < 0.5, 2 * (0.5 - z) ** 2, 0.0)))


_SHAPES = {
    1: lambda z: np.clip(0.5 - z, 0.0, 1.0),
    2: _triangular,
    3: lambda z: 0.5 * _erfc(z / np.sqrt(2.0)),
    4: lambda z: np.where(z < 0, 1 - 0.5 * np.exp(np.minimum(z, 0)),
                          0.5 * np.exp(-np.maximum(z, 0))),
}


def _erfc(x: np.ndarray) -> np.ndarray:
    """scipy's erfc, imported on first use: scipy.special takes a third of a second."""
    from scipy import special

    return special.erfc(x)


def _clear(request: np.ndarray, kind: np.ndarray, priority: np.ndarray, width: np.ndarray,
           supply: np.ndarray) -> np.ndarray:
    """Allocations along the last axis; all arrays broadcast to ``request``'s shape but
    ``supply``, which has length 1 there."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return _solve(request, kind, priority, width, supply)


def _solve(request: np.ndarray, kind: np.ndarray, priority: np.ndarray, width: np.ndarray,
           supply: np.ndarray) -> np.ndarray:
    shape = np.broadcast_shapes(request.shape, kind.shape, priority.shape, width.shape,
                                supply.shape[:-1] + (1,))
    q, kind, p, w = (np.broadcast_to(a, shape) for a in (request, kind, priority, width))
    supply = np.broadcast_to(supply, shape[:-1] + (1,))
    valid = (w > 0) & np.isin(kind, (1, 2, 3, 4))
    active = q > 0   # a target that requests nothing brackets nothing

    def total(x: np.ndarray) -> np.ndarray:   # x (..., 1) or (..., m, 1) -> total take
        return np.add.reduce(q[..., None, :] * _take(kind[..., None, :], (x - p[..., None, :])
                                                     / w[..., None, :]), axis=-1)

    # The curves bend only between their ends p +- reach: bracket the price between two
    # consecutive ends, where the total take passes the supply.
    reach = np.where(valid & active, _REACH[np.clip(kind, 0, 4).astype(int)] * w, np.nan)
    ends = np.sort(np.concatenate([p - reach, p + reach], axis=-1), axis=-1)
    last = np.max(np.where(np.isnan(ends), -np.inf, ends), axis=-1, keepdims=True)
    ends = np.where(np.isnan(ends), np.where(np.isfinite(last), last, 0.0), ends)
    totals = total(ends[..., None])                       # falls along the ends
    k = np.clip(np.sum(totals > supply, axis=-1, keepdims=True) - 1, 0, ends.shape[-1] - 2)
    lo, hi = np.take_along_axis(ends, k, -1), np.take_along_axis(ends, k + 1, -1)
    t_lo, t_hi = np.take_along_axis(totals, k, -1), np.take_along_axis(totals, k + 1, -1)
    if np.all((kind == 1) | ~active):   # rectangles: the total is straight between ends
        span = np.where(t_lo > t_hi, t_lo - t_hi, 1.0)
        price = lo + (hi - lo) * np.clip((t_lo - supply) / span, 0.0, 1.0)
    else:
        price = _bisect(total, lo, hi, supply)
    taken = q * _take(kind, (price - p) / w)
    enough = supply >= np.add.reduce(q, axis=-1, keepdims=True)
    out = np.where(enough, q, np.where(supply <= 0, 0.0, np.where(active, taken, 0.0)))
    bad = ~np.all(valid | ~active, axis=-1, keepdims=True) | np.any(q < 0, -1, keepdims=True)
    return np.where(bad | (supply < 0), np.nan, out)


def _bisect(total, lo: np.ndarray, hi: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """The price in [lo, hi] where the (falling) total take meets the supply, to the last bit."""
    for _ in range(_MAX_HALVINGS):
        mid = 0.5 * (lo + hi)
        over = total(mid[..., None]) > supply   # too much taken at mid: the price is higher
        moved = (mid > lo) & (mid < hi)   # False once the bracket is two adjacent floats
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
        if not np.any(moved & np.isfinite(mid)):
            break
    return 0.5 * (lo + hi)


def allocate_available(request, profile, supply, axis):
    """ALLOCATE AVAILABLE(request, pp, avail): ``profile[..., k]`` is ptype, ppriority,
    pwidth, pextra for k = 0..3."""
    request, profile, supply = (np.asarray(a, dtype=np.float64) for a in (request, profile, supply))
    return _clear(request, profile[..., 0], profile[..., 1], profile[..., 2], supply)


def allocate_by_priority(request, priority, width, supply, axis):
    """ALLOCATE BY PRIORITY(request, priority, size, width, supply)."""
    request, priority, width, supply = (np.asarray(a, dtype=np.float64)
                                        for a in (request, priority, width, supply))
    return _clear(request, np.ones(1), priority, width, supply)
