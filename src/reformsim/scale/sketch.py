"""Quantiles of many columns at once, in bounded memory: DDSketch, vectorised.

DDSketch (Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
relative-error guarantees", VLDB 2019) counts values in logarithmic buckets: bucket ``k``
holds the values in ``(gamma^(k-1), gamma^k]``, ``gamma = (1 + a) / (1 - a)``, and answers a
quantile with the bucket's middle ``2 gamma^k / (1 + gamma)``, within ``a`` (the relative
accuracy) of the exact order statistic ``x[floor(q (n - 1))]`` (numpy's ``method="lower"``).
Negative values have buckets of their own, values within ``1e-308`` of zero count as zero.

The ``ddsketch`` package (Datadog's reference implementation) adds one value per Python
call; a streamed ensemble adds ~10^9 (members x save times x variables), so this module
keeps the same mapping, buckets and quantile rule as numpy arrays, one row per column
(a variable at a save time), and ``tests/test_scale_sketch.py`` checks its answers against
``ddsketch`` itself, value for value.

Each row keeps ``bins`` buckets: the ``bins`` highest keys it has seen; lower ones are
gathered into the lowest bucket (``ddsketch``'s collapsing-lowest store). With the default
accuracy 0.005 and 2,048 bins a row spans nine orders of magnitude before anything is
gathered; a quantile answered from a gathered bucket is flagged (``Sketch.quantiles``).

Counts are integers, and a merge aligns both sketches on the higher top key and adds:
merging is exact, so the sketch of a set of members is the same whatever the chunks and
whatever the order they were merged in.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

ACCURACY = 0.005      # relative accuracy of every quantile (0.5%)
BINS = 2048           # buckets per row and sign (ddsketch's default bin limit)
_BLOCK = 1 << 16      # values turned into keys at a time: temporaries stay in cache (measured)
_EMPTY = np.iinfo(np.int64).min // 2   # top key of a row that holds nothing


@dataclass(frozen=True)
class Mapping:
    """ddsketch's LogarithmicMapping: value <-> bucket key, for a relative accuracy."""

    accuracy: float = ACCURACY

    def __post_init__(self) -> None:
        if not 0 < self.accuracy < 1:
            raise ValueError(f"relative accuracy must be between 0 and 1, got {self.accuracy!r}")

    @property
    def gamma(self) -> float:
        return 1 + 2 * self.accuracy / (1 - self.accuracy)

    @property
    def multiplier(self) -> float:   # per log2, as ddsketch computes it
        return 1 / math.log1p(2 * self.accuracy / (1 - self.accuracy)) * math.log(2)

    @property
    def smallest(self) -> float:
        """Magnitudes at or below this count as zero."""
        return sys.float_info.min * self.gamma

    def keys(self, magnitudes: np.ndarray) -> np.ndarray:
        """``ceil(log2(x) * multiplier)`` for x > 0, as int64 (ddsketch: ``math.log(x, 2)``)."""
        logs = np.log(magnitudes)
        logs /= math.log(2)
        logs *= self.multiplier
        return np.ceil(logs, out=logs).astype(np.int64)

    def values(self, keys: np.ndarray) -> np.ndarray:
        """The middle of each key's bucket (ddsketch's ``math.pow``, key by key: numpy's power
        differs in the last bit)."""
        keys = np.asarray(keys)
        unique, where = np.unique(keys, return_inverse=True)
        middles = np.array([math.pow(2.0, k / self.multiplier) for k in unique.tolist()])
        return (middles * (2.0 / (1 + self.gamma)))[where].reshape(keys.shape)


@dataclass
class Store:
    """Buckets of one sign for ``rows`` rows: ``counts[r, j]`` counts key ``top[r] - bins + 1
    + j``; column 0 also holds every lower key when ``gathered[r]``. A chunk's counts are
    uint16 when they fit (half the bytes a worker sends), a merged store's uint32."""

    top: np.ndarray        # (rows,) int64, _EMPTY for a row with no value
    counts: np.ndarray     # (rows, bins) unsigned
    gathered: np.ndarray   # (rows,) bool

    @classmethod
    def empty(cls, rows: int, bins: int, dtype: type = np.uint32) -> Store:
        return cls(np.full(rows, _EMPTY, dtype=np.int64), np.zeros((rows, bins), dtype),
                   np.zeros(rows, dtype=bool))

    @property
    def bins(self) -> int:
        return self.counts.shape[1]

    def emptied(self) -> Store:
        return Store.empty(*self.counts.shape)

    def shifted(self, top: np.ndarray) -> Store:
        """The same counts (as uint32) on windows ending at ``top`` (>= self.top), keys below
        the windows gathered into their lowest bucket."""
        moving = np.flatnonzero((self.top != _EMPTY) & (top != self.top))
        counts, gathered = self.counts, self.gathered
        if len(moving):
            # only rows whose top rose (few, once the first chunks are in)
            counts, gathered = counts.astype(np.uint32), gathered.copy()
            bins = self.bins
            old = counts[moving]
            shift = np.minimum(top[moving] - self.top[moving], bins)[:, None]
            index = np.arange(bins)[None, :] + shift
            new = np.where(index < bins, np.take_along_axis(old, np.minimum(index, bins - 1), 1),
                           0).astype(np.uint32)
            below = np.zeros((len(moving), bins + 1), np.uint64)   # below[:, k]: keys < k
            np.cumsum(old, axis=1, out=below[:, 1:])
            new[:, 0] = np.take_along_axis(below, np.minimum(shift + 1, bins), 1)[:, 0]
            gathered[moving] |= np.take_along_axis(below, shift, 1)[:, 0] > 0
            counts[moving] = new
        return Store(top.copy(), counts, gathered)

    def merged(self, other: Store) -> Store:
        copy = Store(self.top.copy(), self.counts.astype(np.uint32), self.gathered.copy())
        copy.absorb(other)
        return copy

    def absorb(self, other: Store) -> None:
        """Add ``other``'s counts into this store (whose counts must be uint32)."""
        top = np.maximum(self.top, other.top)
        mine, theirs = self.shifted(top), other.shifted(top)
        self.top, self.counts, self.gathered = top, mine.counts, mine.gathered | theirs.gathered
        np.add(self.counts, theirs.counts, out=self.counts)


@dataclass
class Sketch:
    """One DDSketch per row: positive and negative buckets (None until a negative value
    comes) and a count of zeros."""

    mapping: Mapping
    positive: Store
    negative: Store | None
    zeros: np.ndarray      # (rows,) int64

    @classmethod
    def empty(cls, rows: int, accuracy: float = ACCURACY, bins: int = BINS,
              dtype: type = np.uint32) -> Sketch:
        return cls(Mapping(accuracy), Store.empty(rows, bins, dtype), None,
                   np.zeros(rows, dtype=np.int64))

    @classmethod
    def of(cls, values: np.ndarray, accuracy: float = ACCURACY, bins: int = BINS) -> Sketch:
        """The sketch of ``values`` (rows x members), every value finite."""
        rows, members = values.shape
        sketch = cls.empty(rows, accuracy, bins, np.uint16 if members < 2**16 else np.uint32)
        step = max(1, _BLOCK // max(members, 1))
        for lo in range(0, rows, step):
            sketch._add_rows(lo, values[lo:lo + step])
        return sketch

    def _add_rows(self, lo: int, block: np.ndarray) -> None:
        rows = block.shape[0]
        smallest = self.mapping.smallest
        if block.min() > smallest:   # the usual case: every value positive, no masks needed
            self._count(self.positive, lo, self.mapping.keys(block), None)
            return
        magnitude = np.abs(block)
        keys = self.mapping.keys(np.maximum(magnitude, smallest))
        self.zeros[lo:lo + rows] = np.count_nonzero(magnitude <= smallest, axis=1)
        negative = block < -smallest
        if negative.any() and self.negative is None:
            self.negative = Store.empty(*self.positive.counts.shape, self.positive.counts.dtype)
        for store, sign in ((self.positive, block > smallest), (self.negative, negative)):
            if store is not None and sign.any():
                self._count(store, lo, keys.copy(), sign)

    @staticmethod
    def _count(store: Store, lo: int, keys: np.ndarray, sign: np.ndarray | None) -> None:
        """Count ``keys`` (rows x members; only where ``sign``) into rows lo.. of ``store``."""
        rows, bins = keys.shape[0], store.bins
        top = (keys if sign is None else np.where(sign, keys, _EMPTY)).max(axis=1)
        keys -= (top - bins + 1)[:, None]          # keys become bucket indices
        low = keys < 0
        if sign is not None:
            low &= sign
        store.gathered[lo:lo + rows] = low.any(axis=1)
        np.maximum(keys, 0, out=keys)
        keys += (np.arange(rows) * bins)[:, None]
        flat = keys.reshape(-1) if sign is None else keys[sign]
        store.counts[lo:lo + rows] = np.bincount(flat, minlength=rows * bins).reshape(rows, bins)
        store.top[lo:lo + rows] = top

    def merged(self, other: Sketch) -> Sketch:
        """The sketch of both sets of values (neither sketch changes)."""
        copy = Sketch(self.mapping, self.positive.merged(self.positive.emptied()),
                      None if self.negative is None else
                      self.negative.merged(self.negative.emptied()), self.zeros.copy())
        copy.absorb(other)
        return copy

    def absorb(self, other: Sketch) -> None:
        """Add ``other``'s values into this sketch, in place (no copy of the big arrays)."""
        if other.mapping != self.mapping or other.positive.bins != self.positive.bins:
            raise ValueError("sketches of different accuracy or bins cannot be merged")
        for name in ("positive", "negative"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is None:
                continue
            if mine is None:
                mine = Store.empty(*theirs.counts.shape)
                setattr(self, name, mine)
            elif mine.counts.dtype != np.uint32:
                mine.counts = mine.counts.astype(np.uint32)
            mine.absorb(theirs)
        self.zeros += other.zeros

    @property
    def count(self) -> np.ndarray:
        return self.positive.counts.sum(axis=1, dtype=np.int64) + self._negatives + self.zeros

    @property
    def _negatives(self) -> np.ndarray:
        if self.negative is None:
            return np.zeros(len(self.zeros), dtype=np.int64)
        return self.negative.counts.sum(axis=1, dtype=np.int64)

    def quantiles(self, qs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values at quantiles ``qs`` (Q,) of every row, (Q, rows), NaN for an empty row; and
        (Q, rows) flags, True where the answer came from a bucket that gathered lower keys
        (then only an upper bound on its magnitude is known)."""
        qs = np.asarray(qs, dtype=float)
        count = self.count
        negatives = self._negatives
        rank = qs[:, None] * np.maximum(count - 1, 0)[None, :]
        out = np.full(rank.shape, np.nan)
        flags = np.zeros(rank.shape, dtype=bool)
        on_negative = rank < negatives
        on_zero = ~on_negative & (rank < negatives + self.zeros)
        on_positive = ~on_negative & ~on_zero & (count > 0)
        # ddsketch: the negative store is read from its largest magnitude, with lower=False
        if self.negative is not None:
            value, flag = self._read(self.negative, negatives - rank - 1, inclusive=True)
            out = np.where(on_negative, -value, out)
            flags |= on_negative & flag
        out = np.where(on_zero, 0.0, out)
        value, flag = self._read(self.positive, rank - negatives - self.zeros, inclusive=False)
        out = np.where(on_positive, value, out)
        flags |= on_positive & flag
        return out, flags

    def _read(self, store: Store, rank: np.ndarray, inclusive: bool) -> tuple[np.ndarray,
                                                                               np.ndarray]:
        """Key at ``rank`` of each row (ddsketch's key_at_rank) as a value, and its flag."""
        running = np.cumsum(store.counts, axis=1, dtype=np.int64)
        out = np.empty(rank.shape)
        flags = np.empty(rank.shape, dtype=bool)
        for i, r in enumerate(rank):
            reached = running >= (r + 1)[:, None] if inclusive else running > r[:, None]
            index = np.where(reached.any(axis=1), reached.argmax(axis=1), store.bins - 1)
            filled = store.top != _EMPTY
            out[i] = np.nan
            out[i, filled] = self.mapping.values((store.top - store.bins + 1 + index)[filled])
            flags[i] = (index == 0) & store.gathered
        return out, flags

    @property
    def nbytes(self) -> int:
        stores = [s for s in (self.positive, self.negative) if s is not None]
        return self.zeros.nbytes + sum(s.counts.nbytes + s.top.nbytes for s in stores)
