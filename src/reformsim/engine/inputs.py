"""Values supplied with a run that are more than a number: time series and replacement tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SimulationError, shown


def _rows(name: str, what: str, data: Any) -> np.ndarray:
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        ragged = isinstance(data, (list, tuple)) and all(isinstance(r, (list, tuple, np.ndarray))
                                                        for r in data)
        problem = (f"{name}: {what}: rows of different lengths\n  hint: pad each row by "
                   "repeating its last point") if ragged else \
            f"{name}: {what} must be numbers, got {shown(data)}"
        raise SimulationError(problem) from None
    if array.ndim not in (1, 2) or array.shape[-1] == 0:
        raise SimulationError(f"{name}: {what} must be a 1-D array (shared) or 2-D (one row per "
                              f"member), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise SimulationError(f"{name}: {what} must be finite")
    return array.reshape(1, -1) if array.ndim == 1 else array


@dataclass(frozen=True, eq=False)
class Points:
    """Points ``(x, y)`` joined by straight lines and held flat beyond the ends.

    ``x`` and ``y`` are 1-D (shared by all members) or 2-D (one row per
    member, rows padded by repeating their last point). ``x`` must not
    decrease along a row; a repeated ``x`` is a jump: the later point applies
    from that ``x`` on.
    """

    x: Any
    y: Any
    xs: np.ndarray = field(init=False, repr=False)
    ys: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name = type(self).__name__
        xs, ys = _rows(name, "the x values", self.x), _rows(name, "the y values", self.y)
        if xs.shape[-1] != ys.shape[-1]:
            raise SimulationError(f"{name}: {xs.shape[-1]} x values but {ys.shape[-1]} y values")
        if xs.shape[0] != ys.shape[0] and 1 not in (xs.shape[0], ys.shape[0]):
            raise SimulationError(f"{name}: {xs.shape[0]} rows of x values but {ys.shape[0]} "
                                  "rows of y values\n  hint: give one row per member, or one "
                                  "row (1-D) shared by all")
        if np.any(np.diff(xs, axis=-1) < 0):
            raise SimulationError(f"{name}: the x values must not decrease")
        object.__setattr__(self, "xs", xs)
        object.__setattr__(self, "ys", ys)

    @property
    def members(self) -> int:
        """Rows given: 1 when shared by all members."""
        return max(self.xs.shape[0], self.ys.shape[0])


class Series(Points):
    """A constant made a function of time: ``Series(times, values)``.

    Linear between points, held beyond the ends, a repeated time is a step
    (the later value applies from that time on, as Vensim's STEP does on the
    time grid). Give 2-D arrays for one schedule per member.
    """


class Table(Points):
    """A replacement graphical function: ``Table(xs, ys)`` with Vensim's semantics
    (linear between points, held beyond the ends)."""


def stack(tables: list[Points]) -> tuple[np.ndarray, np.ndarray]:
    """One table per member -> 2-D x and y arrays, rows padded with their last point."""
    width = max(t.xs.shape[-1] for t in tables)

    def pad(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a, np.repeat(a[:, -1:], width - a.shape[-1], axis=1)], axis=1)

    return (np.concatenate([pad(t.xs) for t in tables]),
            np.concatenate([pad(t.ys) for t in tables]))
