"""Trajectories on disk, written chunk by chunk as chunks finish: a run bigger than memory.

The file is netCDF-4 (HDF5, through h5netcdf, already a dependency): one variable per model
variable over (member, time), stored in HDF5 chunks of whole members (about 1 MiB each),
uncompressed (compressing 10^10 values would cost more than simulating them), written at the
chunk's members whatever order chunks finish in. ``open_trajectories`` opens it lazily:
xarray over dask arrays, read chunk by chunk when computed (``ds["Infectious"].mean("member")``
streams through the file). A name HDF5 cannot hold (``/``) is stored escaped, the model's name
in the attribute ``reformsim_name``, as in results.nc.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.results import STATUS, Failure, own_name

_NAME = "reformsim_name"
_UNSAFE = re.compile(r"[/%\x00-\x1f\x7f]")
_HDF5_CHUNK = 1 << 20      # bytes per HDF5 chunk


def _stored(name: str, taken: set[str]) -> str:
    stored = _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", name).strip() or "unnamed"
    while stored in taken or stored in (".", ".."):
        stored += "_"
    taken.add(stored)
    return stored


class TrajectoryFile:
    """A trajectories file being written: ``write(lo, cube)`` per chunk, then ``close``."""

    def __init__(self, path: str | Path, times: np.ndarray, names: tuple[str, ...],
                 units: dict[str, str], docs: dict[str, str], size: int) -> None:
        import h5netcdf

        self.path = Path(path)
        self.names = names
        self.size = size
        self.file = h5netcdf.File(self.path, "w")
        self.file.dimensions = {"member": size, "time": len(times)}
        self.file.create_variable("time", ("time",), float, data=np.asarray(times, float))
        self.file.create_variable("member", ("member",), np.int64, data=np.arange(size))
        rows = int(max(1, min(size, _HDF5_CHUNK // (8 * max(len(times), 1)))))
        taken = {"time", "member"}
        self.variables = []
        for name in names:
            key = _stored(name, taken)
            variable = self.file.create_variable(key, ("member", "time"), float,
                                                 chunks=(rows, len(times)))
            variable.attrs.update(units=units.get(name, ""), description=docs.get(name, ""))
            if key != name:
                variable.attrs[_NAME] = name
            self.variables.append(variable)
        self.status_name = own_name(STATUS, taken | set(names))

    def write(self, lo: int, cube: np.ndarray) -> None:
        """A chunk's trajectories, (save times, variables, members), from member ``lo``."""
        hi = lo + cube.shape[2]
        for v, variable in enumerate(self.variables):
            variable[lo:hi, :] = cube[:, v, :].T

    def close(self, failures: dict[int, Failure], attrs: dict[str, Any]) -> None:
        """Each member's status ("ok" or where it failed) and the run's attributes."""
        import h5py

        status = np.full(self.size, "ok", dtype=object)
        for member, failure in failures.items():
            status[member] = str(failure)
        self.file.create_variable(_stored(self.status_name, set()), ("member",),
                                  h5py.string_dtype(),
                                  data=status)
        self.file.attrs.update({**attrs, "status_variable": self.status_name})
        self.file.close()

    def discard(self) -> None:
        try:
            self.file.close()
        finally:
            self.path.unlink(missing_ok=True)


def open_trajectories(path: str | Path) -> Any:
    """The trajectories of a streamed run, lazily: an xarray Dataset over (member, time) whose
    variables are dask arrays (needs dask: ``pip install 'reformsim[cluster]'``)."""
    import xarray as xr

    dataset = xr.open_dataset(path, engine="h5netcdf", chunks={})
    names = {key: var.attrs[_NAME] for key, var in dataset.data_vars.items() if _NAME in var.attrs}
    out = dataset.rename(names)
    for name in names.values():
        out[name].attrs.pop(_NAME, None)
    return out
