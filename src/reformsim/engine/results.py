"""Results of a simulation: arrays plus their labels, and conversions to pandas/xarray."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SimulationError, did_you_mean

STATUS = "status"   # the Dataset variable holding each member's status, unless a model's is


def own_name(base: str, taken: object) -> str:
    """``base``, or ``base (run)``... : a name for the run's own bookkeeping (status, draws)
    that no model variable in ``taken`` has, so none is overwritten. The name chosen for the
    status is recorded in the Dataset's ``status_variable`` attribute."""
    name = base
    while name in taken:  # type: ignore[operator]
        name = f"{name} (run)"
    return name


@dataclass(frozen=True)
class Failure:
    """Where a member first went non-finite, or why it could not be integrated.

    ``variable`` is the first variable (or stock) found non-finite, at ``time``;
    ``reason`` says why an adaptive method gave up on the member (its values
    are NaN from ``time`` on), and ``variable`` is then empty.
    """

    variable: str
    time: float
    reason: str = ""

    def __str__(self) -> str:
        if self.reason:
            return f"{self.reason} (no values from time {self.time:g})"
        return f"{self.variable!r} is not finite at time {self.time:g}"


@dataclass
class Results:
    """Trajectories of N members at T save times for V variables.

    ``values`` has shape (N, T, V); ``names`` are the variables as written in
    the model, with their ``units`` and ``docs``; ``failures`` maps a member
    index to where it first went NaN/inf (members not listed are finite);
    ``params`` the constants that were set, as given. The cells of an array
    are columns of their own, named as Vensim names them (``x[a1,b2]``);
    ``arrays`` maps each array's name to its subscript ranges and their
    elements, so :meth:`to_xarray` can give it its dimensions back.
    """

    values: np.ndarray
    times: np.ndarray
    names: tuple[str, ...]
    units: dict[str, str]
    docs: dict[str, str]
    failures: dict[int, Failure] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    method: str = "euler"
    backend: str = "numpy"          # which engine ran it: numba (compiled) or numpy
    arrays: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = \
        field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of members N."""
        return self.values.shape[0]

    @property
    def ok(self) -> np.ndarray:
        """Boolean (N,): True where the member stayed finite."""
        flags = np.ones(self.size, dtype=bool)
        flags[list(self.failures)] = False
        return flags

    def status(self, member: int) -> str:
        """'ok', or where the member went non-finite."""
        failure = self.failures.get(member)
        return "ok" if failure is None else str(failure)

    def column(self, name: str) -> int:
        if name in self.names:
            return self.names.index(name)
        raise SimulationError(f"{name!r} is not in these results; "
                              + (did_you_mean(name, self.names) or f"they hold {list(self.names)}"))

    def __getitem__(self, name: str) -> np.ndarray:
        """Array (N, T) of one variable."""
        return self.values[:, :, self.column(name)]

    def to_dataframe(self, member: int | None = None) -> Any:
        """One member as a DataFrame: index = time, columns = variable names.

        ``member`` may be omitted when there is only one.
        """
        import pandas as pd

        if member is None:
            if self.size != 1:
                raise SimulationError(f"these results hold {self.size} members; "
                                      "pass member=i, or use to_xarray()")
            member = 0
        frame = pd.DataFrame(self.values[member], index=pd.Index(self.times, name="time"),
                             columns=list(self.names))
        return frame

    def to_xarray(self) -> Any:
        """An xarray Dataset over (member, time); an array keeps its subscript ranges as
        dimensions."""
        import itertools

        import xarray as xr

        data: dict[str, Any] = {}
        coords: dict[str, Any] = {"member": np.arange(self.size), "time": self.times}
        owner: dict[str, str] = {}   # cell column -> its array
        for name, (_, elements) in self.arrays.items():
            owner.update({f"{name}[{','.join(cell)}]": name
                          for cell in itertools.product(*elements)})
        for i, name in enumerate(self.names):
            if name not in owner:
                data[name] = (("member", "time"), self.values[:, :, i],
                              {"units": self.units.get(name, ""),
                               "description": self.docs.get(name, "")})
            elif owner[name] not in data:  # an array: all its cells at once, in their shape
                array = owner[name]
                dims, elements = self.arrays[array]
                cells = [f"{array}[{','.join(c)}]" for c in itertools.product(*elements)]
                values = self.values[:, :, [self.names.index(c) for c in cells]].reshape(
                    self.values.shape[:2] + tuple(len(e) for e in elements))
                data[array] = (("member", "time") + dims, values,
                               {"units": self.units.get(name, ""),
                                "description": self.docs.get(name, "")})
                coords.update({d: list(e) for d, e in zip(dims, elements)})
        dataset = xr.Dataset(data, coords=coords)
        status = own_name(STATUS, set(data) | set(coords))
        dataset[status] = ("member", np.array([self.status(i) for i in range(self.size)]))
        dataset.attrs.update(method=self.method, status_variable=status)
        return dataset
