"""Fixed-step and scipy integrators over a whole ensemble; they know nothing about models.

A *system* is ``rates(t, dt, Y, D, S, n) -> updates``: it reads states ``Y``
(K rows x E members) at time ``t``, writes dY/dt into ``D``, writes the
saved outputs into ``S`` (V x E) unless it is None, and returns the inputs
of any discrete updates, which ``after_step(updates)`` applies after the
continuous step (Vensim's order: everything from the states at t, then all
states move together).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..errors import SimulationError

Rates = Callable[..., tuple]
AfterStep = Callable[[tuple], None]
PREC = 1e-5  # PySD's relative precision for the final time and the save times


class Point(NamedTuple):
    """One point of the time grid: time, step to the next point, and whether it is saved."""

    t: float
    dt: float
    advance: bool
    save: bool


def time_grid(t0: float, clock: Callable[[float], tuple[float, float, float]]) -> list[Point]:
    """The points PySD visits: time accumulates ``t += dt``; saves where ``(t - t0) % saveper ~ 0``.

    ``clock(t)`` returns ``(time step, save period, final time)`` at ``t``
    (control variables may depend on time).
    """
    points, t = [], t0
    while True:
        dt, saveper, final = clock(t)
        if not dt > 0 or not saveper > 0:
            raise SimulationError(f"TIME STEP ({dt}) and SAVEPER ({saveper}) must be positive")
        prec, elapsed = dt * PREC, t - t0
        save = elapsed % saveper < prec or -elapsed % saveper < prec
        advance = t + prec < final
        points.append(Point(t, dt, advance, save))
        if not advance:
            return points
        if len(points) > 50_000_000:
            raise SimulationError("more than 50 million time steps: check TIME STEP and FINAL TIME")
        t = t + dt


def saved_times(points: list[Point]) -> np.ndarray:
    """Save times rounded as PySD rounds its output index (to TIME STEP x 1e-5)."""
    saves = [p for p in points if p.save]
    times = np.array([p.t for p in saves])
    decimals = np.array([-int(np.log10(p.dt * PREC)) for p in saves], dtype=int)
    for d in np.unique(decimals):
        times[decimals == d] = np.round(times[decimals == d], d)
    return times


def euler(rates: Rates, points: list[Point], Y: np.ndarray, out: np.ndarray,
          after_step: AfterStep | None, nonneg_rows: tuple[int, ...] = (),
          on_save: Callable[[int, np.ndarray], None] | None = None) -> None:
    """Vensim's Euler: values at t from the states at t, then ``Y += dt * dY/dt``.

    ``out`` is (T x V x E); ``Y`` is advanced in place.
    """
    D = np.empty_like(Y)
    saved = 0
    for n, p in enumerate(points):
        S = out[saved] if p.save else None
        updates = rates(p.t, p.dt, Y, D, S, n)
        if p.save:
            if on_save is not None:
                on_save(saved, Y)
            saved += 1
        if not p.advance:
            return
        if after_step is not None:  # before Y moves: updates may be views of Y's rows
            after_step(updates)
        Y += D * p.dt
        for row in nonneg_rows:
            np.maximum(Y[row], 0.0, out=Y[row])


def rk4(rates: Rates, points: list[Point], Y: np.ndarray, out: np.ndarray,
        on_save: Callable[[int, np.ndarray], None] | None = None) -> None:
    """Classical fourth-order Runge-Kutta on the same grid as Euler (Vensim's RK4)."""
    k1, k2, k3, k4 = (np.empty_like(Y) for _ in range(4))
    saved = 0
    for n, p in enumerate(points):
        S = out[saved] if p.save else None
        rates(p.t, p.dt, Y, k1, S, n)
        if p.save:
            if on_save is not None:
                on_save(saved, Y)
            saved += 1
        if not p.advance:
            return
        h = p.dt
        rates(p.t + h / 2, h, Y + h / 2 * k1, k2, None, n)
        rates(p.t + h / 2, h, Y + h / 2 * k2, k3, None, n)
        rates(p.t + h, h, Y + h * k3, k4, None, n)
        Y += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def solve(rates: Rates, points: list[Point], Y: np.ndarray, out: np.ndarray, method: str,
          rtol: float, atol: float,
          on_save: Callable[[int, np.ndarray], None] | None = None) -> None:
    """scipy's ``solve_ivp`` over the flattened ensemble, output at the save points.

    The step never exceeds TIME STEP, so pulses and steps one TIME STEP wide
    are not stepped over. Implicit methods get the block-diagonal sparsity of
    independent members, so their Jacobians cost K evaluations, not K x E.
    """
    from scipy.integrate import solve_ivp

    shape, dt = Y.shape, points[0].dt
    D = np.empty(shape)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        rates(t, dt, y.reshape(shape), D, None, 0)
        return D.ravel().copy()

    saves = [p for p in points if p.save]
    t_eval = np.array([p.t for p in saves])
    options = {}
    if method in ("BDF", "Radau"):
        options["jac_sparsity"] = _block_sparsity(*shape)
    result = solve_ivp(rhs, (points[0].t, points[-1].t), Y.ravel().copy(), method=method,
                       t_eval=t_eval, rtol=rtol, atol=atol, max_step=dt, **options)
    if result.status < 0 or result.y.shape[1] != len(saves):
        raise SimulationError(f"solve_ivp ({method}) failed: {result.message}")
    for i, p in enumerate(saves):
        state = result.y[:, i].reshape(shape)
        rates(p.t, dt, state, D, out[i], 0)
        if on_save is not None:
            on_save(i, state)
    Y[...] = result.y[:, -1].reshape(shape)


def _block_sparsity(rows: int, members: int):
    from scipy import sparse

    # y is Y (rows x members) flattened row-major: member e's state k sits at k*members + e.
    k, l, e = np.meshgrid(np.arange(rows), np.arange(rows), np.arange(members), indexing="ij")
    r, c = (k * members + e).ravel(), (l * members + e).ravel()
    return sparse.csr_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(rows * members,) * 2)


SCIPY_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
METHODS = ("euler", "rk4") + SCIPY_METHODS
