"""Values made from a compiled model and kept while the model lives, safe across threads.

A :class:`~reformsim.engine.compiled.CompiledModel` is frozen data; what the
engine derives from it later (variants, rate-pass programs, time grids) is
kept here, one :class:`PerModel` per kind of value, by the module that makes it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerModel(Generic[T]):
    """A cache keyed by (model identity, key); the model's entries go when the model does."""

    def __init__(self) -> None:
        self._store: weakref.WeakKeyDictionary[Any, dict[Hashable, T]] = weakref.WeakKeyDictionary()
        self._lock = threading.RLock()

    def get(self, model: Any, key: Hashable, make: Callable[[], T]) -> T:
        """The value for ``key``, made once by ``make()`` (under the lock: made exactly once)."""
        known = self._store.get(model)   # a value already made: no lock (dict reads are atomic)
        if known is not None and key in known:
            return known[key]
        with self._lock:
            known = self._store.setdefault(model, {})
            if key not in known:
                known[key] = make()
            return known[key]

    def put(self, model: Any, key: Hashable, value: T) -> None:
        """Replace the value for ``key`` (a value found wrong after it was made)."""
        with self._lock:
            self._store.setdefault(model, {})[key] = value
