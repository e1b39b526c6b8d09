"""Values made from a compiled model and kept while the model lives, safe across threads.

A :class:`~reformsim.engine.compiled.CompiledModel` is frozen data; what the
engine derives from it later (variants, rate-pass programs, time grids) is
kept here, one :class:`PerModel` per kind of value, by the module that makes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_ABSENT = object()


class PerModel(Generic[T]):
    """A cache keyed by (model identity, key); the model's entries go when the model does.

    Each cache keeps its entries in a dict of its own among the model's attributes: a lookup
    is two dict reads, with no call into Python code (a run of a small model makes a dozen).
    A model pickles without them (see ``compiler._reduce``)."""

    def __init__(self) -> None:
        self._attr = f"_per_model_{id(self):x}"
        self._lock = threading.RLock()

    def get(self, model: Any, key: Hashable, make: Callable[[], T]) -> T:
        """The value for ``key``, made once by ``make()`` (under the lock: made exactly once)."""
        known = model.__dict__.get(self._attr)   # a value already made: no lock (reads are atomic)
        if known is not None:
            found = known.get(key, _ABSENT)   # one lookup: hashing some keys runs Python code
            if found is not _ABSENT:
                return found
        with self._lock:
            known = model.__dict__.setdefault(self._attr, {})
            if key not in known:
                known[key] = make()
            return known[key]

    def put(self, model: Any, key: Hashable, value: T) -> None:
        """Replace the value for ``key`` (a value found wrong after it was made)."""
        with self._lock:
            model.__dict__.setdefault(self._attr, {})[key] = value
