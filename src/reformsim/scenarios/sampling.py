"""Draws of uncertain constants: Latin hypercube, Sobol or plain random, through scipy.

The draws depend on nothing but the uncertainty a file states (method, samples, seed, each
constant's distribution) and on the code that makes them (scipy's, numpy's, this module's and
the distributions'), so they are kept in the cache folder as the models are
(``<cache>/draws/``, :mod:`reformsim.model.cache`'s entries: JSON, the payload's hash checked
at every read). A file run again reads its draws back, exactly (JSON keeps every bit of a
float), without importing scipy.stats (a third of a second, the most of any import of a run).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import warnings
from pathlib import Path

import numpy as np

from .spec import Uncertainty

log = logging.getLogger("reformsim.scenarios.sampling")

# Quantiles are kept off 0 and 1, where unbounded distributions are infinite.
_EDGE = 1e-12
FORMAT = 1
CACHED_DRAWS = 100_000     # samples x constants kept at most: beyond, the drawing is the cost


def unit_sample(method: str, samples: int, dimensions: int, seed: int) -> np.ndarray:
    """Points in the unit hypercube, shape (M, D), reproducible from ``seed``.

    ``lhs`` puts exactly one point in each of the M strata of every
    dimension; ``sobol`` is scrambled Sobol (best balanced for M a power of
    two); ``random`` is independent uniform draws.
    """
    from scipy.stats import qmc

    if method == "lhs":
        return qmc.LatinHypercube(d=dimensions, rng=seed).random(samples)
    if method == "sobol":
        with warnings.catch_warnings():   # balance needs M = 2^k; any M still samples well
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            return qmc.Sobol(d=dimensions, scramble=True, rng=seed).random(samples)
    if method == "random":
        return np.random.default_rng(seed).random((samples, dimensions))
    raise ValueError(f"unknown sampling method {method!r}")


def sample(uncertainty: Uncertainty | None) -> dict[str, np.ndarray]:
    """One array of M draws per uncertain constant (empty without uncertainty)."""
    if uncertainty is None:
        return {}
    small = uncertainty.samples * len(uncertainty.parameters) <= CACHED_DRAWS
    entry = _entry(uncertainty) if small else None
    found = _load(entry, uncertainty) if entry is not None else None
    if found is not None:
        return found
    draws = draw(uncertainty)
    if entry is not None:
        _store(entry, draws)
    return draws


def draw(uncertainty: Uncertainty) -> dict[str, np.ndarray]:
    """:func:`sample`'s draws, made now (scipy.stats: the distributions' quantiles)."""
    parameters = uncertainty.parameters
    unit = unit_sample(uncertainty.method, uncertainty.samples, len(parameters), uncertainty.seed)
    unit = np.clip(unit, _EDGE, 1 - _EDGE)
    return {d.name: np.asarray(d.ppf(unit[:, j]), dtype=float)
            for j, d in enumerate(parameters)}


# --- the cache -----------------------------------------------------------------------------

def _entry(uncertainty: Uncertainty) -> Path | None:
    """Where the draws of ``uncertainty`` are kept: named by the hash of what makes them."""
    from ..model.cache import cache_dir

    try:
        what = {"format": FORMAT, "method": uncertainty.method, "samples": uncertainty.samples,
                "seed": uncertainty.seed,
                "parameters": [[d.name, d.kind, list(d.args), d.bounds and list(d.bounds)]
                               for d in uncertainty.parameters],
                "code": _code_stamp()}
        key = hashlib.sha256(json.dumps(what).encode()).hexdigest()
    except (OSError, ImportError, TypeError, ValueError):   # no version known, a value
        return None                                            # JSON cannot hold
    return cache_dir() / "draws" / f"{key[:40]}.json"


@functools.lru_cache(maxsize=1)
def _code_stamp() -> str:
    """What the draws depend on besides the file: scipy's and numpy's versions and the
    source of this module and of the distributions (scenarios/spec.py)."""
    from importlib.metadata import version

    code = hashlib.sha256()
    for module in ("sampling.py", "spec.py"):
        code.update((Path(__file__).parent / module).read_bytes())
    return f"scipy {version('scipy')} numpy {np.__version__} {code.hexdigest()}"


def _load(entry: Path, uncertainty: Uncertainty) -> dict[str, np.ndarray] | None:
    from ..model.cache import read_entry

    try:
        found = read_entry(entry, FORMAT)
        if found is None:
            return None
        draws = {str(name): np.array(values, dtype=float)
                 for name, values in json.loads(found[1]).items()}
        if list(draws) != [d.name for d in uncertainty.parameters] or \
                any(v.shape != (uncertainty.samples,) for v in draws.values()):
            raise ValueError("not the draws of this uncertainty")
        return draws
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("ignoring the corrupt cache entry %s (%s); drawing again", entry, exc)
        return None


def _store(entry: Path, draws: dict[str, np.ndarray]) -> None:
    from ..model.cache import write_entry

    payload = json.dumps({name: values.tolist() for name, values in draws.items()}).encode()
    try:
        write_entry(entry, {"format": FORMAT}, payload)
    except OSError as exc:                      # a cache that cannot be written is no cache
        log.warning("cannot write the draws' cache entry %s: %s", entry, exc)
