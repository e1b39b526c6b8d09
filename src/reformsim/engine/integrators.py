"""Integrators behind one contract, registered by name; they know nothing about models.

A *system* is ``rates(t, dt, Y, D, S, n) -> updates``: it reads states ``Y``
(K rows x E members) at time ``t``, writes dY/dt into ``D``, writes the
saved outputs into ``S`` (V x E) unless it is None, and returns the inputs
of any discrete updates, which ``after_step(updates)`` applies after the
continuous step (Vensim's order: everything from the states at t, then all
states move together).

Every integrator is called the same way, ``integrator(problem, out, on_save,
options)``, as scipy's solvers share ``OdeSolver``: it integrates the
:class:`Problem`'s members into ``out`` (T x V x E) and returns the members it
could not integrate, with the reason. A member that fails never stops the
others: fixed-step methods carry non-finite values to the end (the caller finds
them), and scipy's adaptive methods solve each member on its own, so that its
steps, its error control and its failure are its own.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from ..errors import ReformsimWarning, SimulationError

Rates = Callable[..., tuple]
AfterStep = Callable[[tuple], None]
OnSave = Callable[[int, np.ndarray, np.ndarray | None], None]   # (save index, Y, members)
PREC = 1e-5  # PySD's relative precision for the final time and the save times
MAX_STEPS = 10_000_000   # time steps one run may take: the grid alone is 80 bytes a step


class Grid(NamedTuple):
    """The points a run visits: times, the step from each to the next, and which are saved.

    Every point but the last advances to the next.
    """

    t: np.ndarray        # (P,) float
    dt: np.ndarray       # (P,) float
    save: np.ndarray     # (P,) bool

    @property
    def saves(self) -> int:
        return int(np.count_nonzero(self.save))


@dataclass(frozen=True)
class System:
    """The rate pass of some members, with what happens after each step."""

    rates: Rates
    after_step: AfterStep | None = None
    nonneg_rows: tuple[int, ...] = ()   # rows clipped at zero after each step (XMILE)


@dataclass(frozen=True)
class Problem:
    """What an integrator is given: the grid, the states at t0 (K x E, advanced in place), and
    the system of any subset of the members (``system(None)``: all of them)."""

    grid: Grid
    Y: np.ndarray
    system: Callable[[np.ndarray | None], System]


@dataclass(frozen=True)
class Options:
    rtol: float = 1e-6
    atol: float = 1e-9


class Integrator(Protocol):
    name: str
    fixed_step: bool   # steps on the grid (TIME STEP)
    discrete: bool     # carries discrete registers, non-negative stocks and random draws

    def __call__(self, problem: Problem, out: np.ndarray, on_save: OnSave,
                 options: Options) -> dict[int, str]: ...


INTEGRATORS: dict[str, Integrator] = {}


def register(integrator: Integrator) -> Integrator:
    """Make an integrator available to ``simulate(method=...)`` under its name."""
    INTEGRATORS[integrator.name] = integrator
    return integrator


def check_options(options: Options) -> None:
    if not (math.isfinite(options.rtol) and options.rtol > 0):
        raise SimulationError(f"rtol must be a positive number, got {options.rtol!r}")
    if not (math.isfinite(options.atol) and options.atol >= 0):
        raise SimulationError(f"atol must be a number >= 0, got {options.atol!r}")


# --- the time grid ---------------------------------------------------------------------------

def time_grid(t0: float, clock: Callable[[float], tuple[float, float, float]],
              constant: bool = False) -> Grid:
    """The points PySD visits: time accumulates ``t += dt``; saves where ``(t - t0) % saveper ~ 0``.

    ``clock(t)`` returns ``(time step, save period, final time)`` at ``t``
    (control variables may depend on time); ``constant`` says they do not, so
    the grid is laid out at once (and refused at once when too long).
    """
    if not np.isfinite(t0):
        raise SimulationError(f"INITIAL TIME is not a number ({t0})")
    dt, saveper, final = _checked(t0, *clock(t0), t0=t0)
    if constant:
        return _constant_grid(t0, dt, saveper, final)
    if (final - t0) / dt >= 10 * MAX_STEPS:   # hopeless even if the step grew tenfold later
        raise _too_long((final - t0) / dt)
    times, steps, periods = [], [], []
    t = t0
    while True:
        dt, saveper, final = _checked(t, *clock(t), t0=t0)
        times.append(t)
        steps.append(dt)
        periods.append(saveper)
        if not t + dt * PREC < final:
            break
        if len(times) >= MAX_STEPS:
            raise _too_long(len(times))
        if t + dt == t:
            raise SimulationError(f"TIME STEP ({dt}) is too small to advance time from {t}")
        t = t + dt
    t_array, dt_array = np.array(times), np.array(steps)
    return Grid(t_array, dt_array, _saved(t_array, t0, dt_array, np.array(periods)))


def _checked(t: float, dt: float, saveper: float, final: float, t0: float
             ) -> tuple[float, float, float]:
    if not dt > 0 or not saveper > 0 or not np.isfinite(dt) or not np.isfinite(saveper):
        raise SimulationError(f"TIME STEP ({dt}) and SAVEPER ({saveper}) must be positive")
    if not np.isfinite(final):
        raise SimulationError(f"FINAL TIME is not a number ({final})")
    if final < t0:
        raise SimulationError(f"FINAL TIME ({final:g}) is before INITIAL TIME ({t0:g})")
    return dt, saveper, final


def _too_long(steps: float) -> SimulationError:
    return SimulationError(f"the run would take {steps:.3g} time steps, more than reformsim "
                           f"allows ({MAX_STEPS:,})\n  hint: check TIME STEP and FINAL TIME "
                           "(and their units): a larger step or a shorter run")


def _constant_grid(t0: float, dt: float, saveper: float, final: float) -> Grid:
    estimate = (final - t0) / dt
    if estimate >= MAX_STEPS:
        raise _too_long(estimate)
    count = int(estimate) + 3
    while True:   # t += dt, accumulated exactly as a loop would (add.accumulate is sequential)
        times = np.add.accumulate(np.concatenate(([t0], np.full(count - 1, dt))))
        stops = np.flatnonzero(~(times + dt * PREC < final))
        if stops.size:
            times = times[:stops[0] + 1]
            break
        count *= 2
    steps = np.full(times.shape, dt)
    return Grid(times, steps, _saved(times, t0, steps, saveper))


def _saved(times: np.ndarray, t0: float, steps: np.ndarray,
           saveper: float | np.ndarray) -> np.ndarray:
    prec, elapsed = steps * PREC, times - t0
    return (np.mod(elapsed, saveper) < prec) | (np.mod(-elapsed, saveper) < prec)


def saved_times(grid: Grid) -> np.ndarray:
    """Save times rounded as PySD rounds its output index (to TIME STEP x 1e-5)."""
    times = grid.t[grid.save].copy()
    decimals = (-np.trunc(np.log10(grid.dt[grid.save] * PREC))).astype(int)   # -int(log10)
    if decimals.size and (decimals == decimals[0]).all():   # one TIME STEP: one rounding
        return np.round(times, int(decimals[0]))
    for d in np.unique(decimals):
        times[decimals == d] = np.round(times[decimals == d], d)
    return times


# --- fixed-step methods -----------------------------------------------------------------------

class Euler:
    """Vensim's Euler: values at t from the states at t, then ``Y += dt * dY/dt``."""

    name, fixed_step, discrete = "euler", True, True

    def __call__(self, problem: Problem, out: np.ndarray, on_save: OnSave,
                 options: Options) -> dict[int, str]:
        system, Y = problem.system(None), problem.Y
        D = np.empty_like(Y)
        saved, last = 0, len(problem.grid.t) - 1
        for n, (t, dt, save) in enumerate(zip(*(a.tolist() for a in problem.grid))):
            updates = system.rates(t, dt, Y, D, out[saved] if save else None, n)
            if save:
                on_save(saved, Y, None)
                saved += 1
            if n == last:
                break
            if system.after_step is not None:  # before Y moves: updates may be views of Y
                system.after_step(updates)
            Y += D * dt
            for row in system.nonneg_rows:
                np.maximum(Y[row], 0.0, out=Y[row])
        return {}


class RK4:
    """Classical fourth-order Runge-Kutta on the same grid as Euler (Vensim's RK4)."""

    name, fixed_step, discrete = "rk4", True, False

    def __call__(self, problem: Problem, out: np.ndarray, on_save: OnSave,
                 options: Options) -> dict[int, str]:
        rates, Y = problem.system(None).rates, problem.Y
        k1, k2, k3, k4 = (np.empty_like(Y) for _ in range(4))
        saved, last = 0, len(problem.grid.t) - 1
        for n, (t, h, save) in enumerate(zip(*(a.tolist() for a in problem.grid))):
            rates(t, h, Y, k1, out[saved] if save else None, n)
            if save:
                on_save(saved, Y, None)
                saved += 1
            if n == last:
                break
            rates(t + h / 2, h, Y + h / 2 * k1, k2, None, n)
            rates(t + h / 2, h, Y + h / 2 * k2, k3, None, n)
            rates(t + h, h, Y + h * k3, k4, None, n)
            Y += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return {}


# --- scipy's adaptive methods -----------------------------------------------------------------

class _NotFinite(Exception):
    """Raised from inside a solve when a member's rates are not finite (args: the time)."""


class Scipy:
    """A :func:`scipy.integrate.solve_ivp` method, each member solved on its own.

    The step never exceeds TIME STEP, so pulses and steps one TIME STEP wide
    are not stepped over. A member whose solve fails (or raises) keeps NaN from
    the first save it did not reach, and its reason is returned.
    """

    fixed_step, discrete = False, False

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, problem: Problem, out: np.ndarray, on_save: OnSave,
                 options: Options) -> dict[int, str]:
        failed: dict[int, str] = {}
        notes: dict[str, list[int]] = {}     # scipy's notes on members that did not fail
        grid = problem.grid
        t_eval = grid.t[grid.save]
        for member in range(problem.Y.shape[1]):
            reason = self._member(problem, member, t_eval, out, on_save, options, notes)
            if reason:
                failed[member] = reason
        for note, members in notes.items():   # once per note, not once per member
            shown = ", ".join(map(str, members[:5])) + (", ..." if len(members) > 5 else "")
            warnings.warn(f"solve_ivp ({self.name}): {note} "
                          f"(member{'s' * (len(members) > 1)} {shown})", ReformsimWarning,
                          stacklevel=2)
        return failed

    def _member(self, problem: Problem, member: int, t_eval: np.ndarray, out: np.ndarray,
                on_save: OnSave, options: Options, notes: dict[str, list[int]]) -> str:
        from scipy.integrate import solve_ivp

        members = np.array([member])
        rates, grid = problem.system(members).rates, problem.grid
        shape, dt = (problem.Y.shape[0], 1), float(grid.dt[0])
        D = np.empty(shape)

        def rhs(t: float, y: np.ndarray) -> np.ndarray:
            rates(t, dt, y.reshape(shape), D, None, 0)
            if not np.isfinite(D).all():   # the member has failed: some solvers would loop on
                raise _NotFinite(t)
            return D.ravel().copy()

        # scipy's notes (LSODA's "excess accuracy requested", an rtol raised to its floor)
        # belong to this member: they go into its failure reason, or become the engine's warning
        with warnings.catch_warnings(record=True) as noted:
            warnings.simplefilter("always")
            try:
                result = solve_ivp(rhs, (float(grid.t[0]), float(grid.t[-1])),
                                   problem.Y[:, member].copy(), method=self.name,
                                   t_eval=t_eval, rtol=options.rtol, atol=options.atol,
                                   max_step=dt)
                y = np.asarray(result.y, dtype=float)
                message = result.message if result.status < 0 else ""
            except _NotFinite as exc:
                y = np.empty((shape[0], 0))
                message = f"the rate of change is not finite at time {exc.args[0]:g}"
            except (ArithmeticError, RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
                y, message = np.empty((shape[0], 0)), f"{type(exc).__name__}: {exc}"
        said = list(dict.fromkeys(str(w.message) for w in noted))
        if said and message:
            message = f"{message} ({'; '.join(said)})"
        for note in [] if message else said:
            notes.setdefault(note, []).append(member)
        if y.ndim != 2:   # nothing was saved
            y = np.empty((shape[0], 0))
        reached = y.shape[1]
        finite = np.isfinite(y[:, :reached]).all(axis=0)
        if not finite.all():   # keep the saves before the first non-finite state
            reached = int(np.argmin(finite))
            message = message or "the solution is not finite"
        for i in range(reached):
            state = y[:, i].reshape(shape)
            rates(float(t_eval[i]), dt, state, D, out[i][:, member:member + 1], 0)
            on_save(i, state, members)
        out[reached:, :, member] = np.nan
        if reached:
            problem.Y[:, member] = y[:, reached - 1]
        return f"solve_ivp ({self.name}) failed: {message}" if message else ""


for _integrator in (Euler(), RK4(), *(Scipy(m) for m in
                                      ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"))):
    register(_integrator)

SCIPY_METHODS = tuple(name for name, i in INTEGRATORS.items() if not i.fixed_step)
METHODS = tuple(INTEGRATORS)
