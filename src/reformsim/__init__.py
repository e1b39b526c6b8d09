"""reformsim: vectorised system-dynamics simulation of public-sector reform roadmaps.

    >>> import reformsim
    >>> model = reformsim.load_model("teacup.mdl")
    >>> results = reformsim.simulate(model, params={"Characteristic Time": [5, 10, 20]})
    >>> results["Teacup Temperature"].shape    # (members, save times)

The engine modules (numpy, scipy, pysd) load on first use, so importing
reformsim, e.g. for the command line's ``--help``, stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ModelError,
    ReformsimError,
    ReformsimWarning,
    SimulationError,
    UnsupportedError,
)

if TYPE_CHECKING:
    from .analysis.studies import calibrate, factorial, optimize, robustness, sensitivity
    from .engine.compiled import CompiledModel
    from .engine.inputs import Series, Table
    from .engine.loading import load_model
    from .engine.results import Failure, Results
    from .engine.simulation import simulate
    from .report.rundir import RunRecord, open_run
    from .scale.stream import simulate_stream
    from .scenarios.loading import load_scenarios

__all__ = [
    "calibrate",
    "factorial",
    "optimize",
    "robustness",
    "sensitivity",
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
    "open_run",
    "RunRecord",
    "simulate",
    "simulate_stream",
]
__version__ = "0.1.0"

# public name -> the module that owns it (imported on first use)
_LAZY = {"load_model": "engine.loading", "simulate": "engine.simulation",
         "CompiledModel": "engine.compiled", "Results": "engine.results",
         "Failure": "engine.results", "Series": "engine.inputs", "Table": "engine.inputs",
         "load_scenarios": "scenarios.loading", "open_run": "report.rundir",
         "RunRecord": "report.rundir"}
# decision analysis (issue 11): studies built on simulate
_LAZY |= dict.fromkeys(("sensitivity", "optimize", "calibrate", "robustness", "factorial"),
                       "analysis.studies")
# ensembles past one machine (issue 16): statistics chunk by chunk, here or on Dask
_LAZY["simulate_stream"] = "scale.stream"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value   # later lookups find it without this function
        return value
    raise AttributeError(f"module 'reformsim' has no attribute {name!r}")
