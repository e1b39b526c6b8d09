"""External data, read once at load with PySD's own readers: GET XLS/DIRECT CONSTANTS,
LOOKUPS and DATA, and data variables (``x :=``) read from the data files given."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, UnsupportedError
from . import ir


def ident(name: str) -> str:
    """Identifier PySD's translators use for references to ``name``."""
    return name.lower().replace(" ", "_")


def readers() -> Any:
    """PySD's readers of data files (imported when a model needs them)."""
    from pysd.py_backend import external
    return external


def file_error(path: Path, element: str, file: str, exc: Exception, hint: str = "") -> ModelError:
    """PySD's reason a data file cannot be read, as our error naming model, element and file."""
    # PySD's messages open with its name for the object and name the file again: drop both
    lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines[1 if len(lines) > 1 else 0:]
             if not line.startswith("File name:")]
    reason = " ".join(lines) or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        reason = "the file does not exist"
    return ModelError(path, element, f"cannot read the data file {file!r}: {reason}",
                      hint=hint or f"data files are looked for beside the model, in "
                                   f"{path.resolve().parent}; check the file, sheet "
                                   "and cell names in its GET call")


class ExternalData:
    """Reads one model's external data; each method takes the element and equation it is for."""

    def __init__(self, path: Path, manager: Any, data_files: Sequence[Path]) -> None:
        self.path, self.manager, self.data_files = path, manager, tuple(data_files)

    def _read(self, kind: str, element: str, component: Any, node: Any,
              *args: Any) -> tuple[Any, dict]:
        """The values PySD's reader gives for one equation, and its coords."""
        subs = list(component.subscripts[0])
        coords = self.manager.make_coord_dict(subs) if subs else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                reader = getattr(readers(), kind)(node.file, node.tab, *args, coords,
                                                  self.path.parent, coords, ident(element))
                reader.initialize()
            except Exception as exc:  # PySD's readers raise many kinds: all mean "cannot read"
                raise file_error(self.path, element, node.file, exc) from None
        return reader.data, coords

    def constants(self, element: str, component: Any, node: Any) -> ir.Expr:
        data, coords = self._read("ExtConstant", element, component, node, node.cell)
        values = np.asarray(data, dtype=float)
        if not coords:
            return ir.Num(float(values.reshape(-1)[0]))
        return ir.ArrayLit(tuple(values.reshape(-1).tolist()), values.shape)

    def lookups(self, element: str, component: Any, node: Any) -> ir.Table | ir.TableArray:
        data, coords = self._read("ExtLookup", element, component, node, node.x_row_or_col,
                                  node.cell)
        xs = np.asarray(data.coords["lookup_dim"].values, dtype=float)
        ys = np.moveaxis(np.asarray(data, dtype=float), 0, -1)   # cells first, points last
        if not coords:
            return ir.Table(tuple(xs.tolist()), tuple(ys.reshape(-1).tolist()))
        xs = np.broadcast_to(xs, ys.shape)
        return ir.TableArray(tuple(xs.reshape(-1).tolist()), tuple(ys.reshape(-1).tolist()),
                             ys.shape)

    def data(self, element: str, component: Any, node: Any) -> ir.Expr:
        data, _ = self._read("ExtData", element, component, node, node.time_row_or_col,
                             node.cell, _mode(component))
        return _series(data, component)

    def data_variable(self, element: str, component: Any, node: Any) -> ir.Expr:
        """``x :=`` with no equation: its series comes from the data files given at load."""
        if not self.data_files:
            raise UnsupportedError(self.path, element,
                                   "is a data variable (:=) with no equation, read from a data "
                                   "file, and no data file was given",
                                   "give the file (.tab or .csv): --data FILE on the command "
                                   "line, load_model(path, data_files=[...]) in Python")
        from pysd.py_backend.data import TabData

        subs = list(component.subscripts[0])
        coords = self.manager.make_coord_dict(subs) if subs else {}
        reader = TabData(element, ident(element), coords, _mode(component))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                reader.load_data(list(self.data_files))
            except Exception as exc:  # PySD's readers raise many kinds: all mean "cannot read"
                raise file_error(self.path, element,
                                 ", ".join(str(f) for f in self.data_files), exc,
                                 "the data files must hold a column (or row) named "
                                 "after the variable, as Vensim's and PySD's outputs "
                                 "do") from None
        return _series(reader.data, component)


def _mode(component: Any) -> str:
    return (getattr(component, "keyword", None) or "interpolate").replace(" ", "_")


def _series(data: Any, component: Any) -> ir.Data:
    times = np.asarray(data.coords["time"].values, dtype=float)
    values = np.asarray(data, dtype=float)
    return ir.Data(tuple(times.tolist()), tuple(values.reshape(-1).tolist()),
                   values.shape[1:], _mode(component))
