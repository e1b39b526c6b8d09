"""reformsim: vectorised system-dynamics simulation of public-sector reform roadmaps.

    >>> import reformsim
    >>> model = reformsim.load_model("teacup.mdl")
    >>> results = reformsim.simulate(model, params={"Characteristic Time": [5, 10, 20]})
    >>> results["Teacup Temperature"].shape    # (members, save times)

The engine modules (numpy, scipy, pysd) load on first use, so importing
reformsim, e.g. for the command line's ``--help``, stays instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (
    ModelError,
    ReformsimError,
    ReformsimWarning,
    SimulationError,
    UnsupportedError,
)

if TYPE_CHECKING:
    from .compiler import CompiledModel
    from .inputs import Series, Table
    from .results import Failure, Results
    from .scenarios import load_scenarios
    from .simulation import simulate

__all__ = [
    "load_scenarios",
    "Series",
    "Table",
    "CompiledModel",
    "Failure",
    "ModelError",
    "ReformsimError",
    "ReformsimWarning",
    "Results",
    "SimulationError",
    "UnsupportedError",
    "load_model",
    "simulate",
]
__version__ = "0.1.0"

_LAZY = {"simulate": "simulation", "CompiledModel": "compiler", "Results": "results",
         "Failure": "results", "Series": "inputs", "Table": "inputs",
         "load_scenarios": "scenarios"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'reformsim' has no attribute {name!r}")


def load_model(path: str | Path,
               data_files: str | Path | Sequence[str | Path] = ()) -> CompiledModel:
    """Read a Vensim (.mdl) or XMILE (.xmile, .stmx, .xml) model and compile it once.

    ``data_files``: the tabular files (``.tab``, ``.csv``, a Vensim or PySD
    output) that Vensim data variables with no equation (``x :=`` alone) are
    read from, searched in order, as PySD's ``data_files``.

    Raises :class:`ModelError` (file, element, problem) for a model that
    cannot be read, and :class:`UnsupportedError` for one that uses a
    construct reformsim does not simulate.
    """
    from .compiler import compile_model
    from .translate import read_model

    return compile_model(read_model(path, data_files))
