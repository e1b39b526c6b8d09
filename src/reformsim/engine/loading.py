"""``load_model``: a model file read (through :mod:`reformsim.model`) and compiled once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..model.cache import read_model_cached
from .compiled import CompiledModel
from .compiler import compile_model


def load_model(path: str | Path,
               data_files: str | Path | Sequence[str | Path] = ()) -> CompiledModel:
    """Read a Vensim (.mdl) or XMILE (.xmile, .stmx, .xml) model and compile it once.

    ``data_files``: the tabular files (``.tab``, ``.csv``, a Vensim or PySD
    output) that Vensim data variables with no equation (``x :=`` alone) are
    read from, searched in order, as PySD's ``data_files``.

    An unchanged model (same bytes, data files and reformsim version) is read
    back from the model cache (:mod:`reformsim.model.cache`) in milliseconds.

    Raises :class:`ModelError` (file, element, problem) for a model that
    cannot be read, and :class:`UnsupportedError` for one that uses a
    construct reformsim does not simulate.
    """
    return compile_model(read_model_cached(path, data_files))
