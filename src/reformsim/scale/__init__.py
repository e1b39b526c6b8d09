"""Past one machine: ensembles streamed as statistics, chunk by chunk, here or on Dask.

Between ``engine/`` (one ``simulate`` call) and ``scenarios/``: a chunk of members is one
``simulate`` call on their slice of the inputs with their global random streams, reduced at
once (``reductions.py``, ``sketch.py``) or written to disk (``store.py``); ``cluster.py`` runs
chunks as Dask tasks. See docs/scale.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Statistics", "Summary", "open_trajectories", "simulate_stream"]


def __getattr__(name: str) -> Any:
    if name in ("simulate_stream", "Summary"):
        from . import stream

        return getattr(stream, name)
    if name == "Statistics":
        from .reductions import Statistics

        return Statistics
    if name == "open_trajectories":
        from .store import open_trajectories

        return open_trajectories
    raise AttributeError(name)
