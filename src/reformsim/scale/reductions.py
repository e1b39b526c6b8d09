"""Statistics of a group of members, per column (a variable at a save time), chunk by chunk.

A chunk's trajectories arrive as one (columns x members) array. Each statistic is kept so
that two partial results merge into the result of their union:

- count, mean and the sum of squared deviations (M2) by Chan, Golub and LeVeque's pairwise
  update ("Algorithms for computing the sample variance", 1983): within a chunk a two-pass
  mean and M2, between chunks ``delta = mean_b - mean_a``, ``M2 = M2_a + M2_b + delta^2
  n_a n_b / n``. Stable where the naive sum of squares cancels; floating-point addition is
  not associative, so partial results are merged in chunk order (``Accumulator``) and the
  mean and std of a run depend on its chunk size only, not on workers or timing.
- min and max: exact.
- quantiles: a DDSketch (``sketch.py``: relative accuracy 0.5%, exact merge), or, when the
  group's values fit ``exact_bytes``, the values themselves (exact quantiles, numpy's
  linear method, as the in-memory run's tables and fans use).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .sketch import ACCURACY, BINS, Sketch

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
EXACT_BYTES = 64 * 2**20   # kept values up to which quantiles are exact (all groups together)
_BLOCK = 1 << 16           # values reduced at a time (measured: 2x faster than whole arrays)


@dataclass(frozen=True)
class Statistics:
    """What a stream computes per group: quantiles ``quantiles`` by a sketch of relative
    ``accuracy`` with ``bins`` buckets per column and sign, or exactly while every group's
    values together fit ``exact_bytes`` (0: always the sketch)."""

    quantiles: tuple[float, ...] = QUANTILES
    accuracy: float = ACCURACY
    bins: int = BINS
    exact_bytes: int = EXACT_BYTES

    def __post_init__(self) -> None:
        bad = [q for q in self.quantiles if not 0 <= q <= 1]
        if bad:
            raise ValueError(f"quantiles must be between 0 and 1, got {bad[0]!r}")
        if not 0 < self.accuracy < 1:
            raise ValueError(f"the sketch's accuracy must be between 0 and 1, got "
                             f"{self.accuracy!r}")
        if self.bins < 16:
            raise ValueError(f"the sketch needs at least 16 bins, got {self.bins!r}")


@dataclass
class Partial:
    """Statistics of some members of one group: merge partials of disjoint members with
    ``merged`` (moments in chunk order, see the module's docstring)."""

    count: int
    mean: np.ndarray          # (columns,)
    m2: np.ndarray            # (columns,) sum of squared deviations from the mean
    low: np.ndarray
    high: np.ndarray
    sketch: Sketch | None = None
    kept: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (first member, values)

    @classmethod
    def of(cls, values: np.ndarray, statistics: Statistics, exact: bool, first: int) -> Partial:
        """The statistics of ``values`` (columns x members, all finite; members from
        ``first``)."""
        count = values.shape[1]
        mean, m2 = np.empty(values.shape[0]), np.empty(values.shape[0])
        step = max(1, _BLOCK // max(count, 1))   # rows at a time: temporaries stay in cache
        for lo in range(0, values.shape[0], step):
            block = values[lo:lo + step]
            mean[lo:lo + step] = np.add.reduce(block, axis=1) / count
            deviations = block - mean[lo:lo + step, None]
            m2[lo:lo + step] = np.einsum("ij,ij->i", deviations, deviations)
        sketch, kept = None, []
        if statistics.quantiles:
            if exact:
                kept = [(first, np.array(values))]
            else:
                sketch = Sketch.of(values, statistics.accuracy, statistics.bins)
        return cls(count, mean, m2, values.min(axis=1), values.max(axis=1), sketch, kept)

    def absorb(self, other: Partial) -> None:
        """Add ``other``'s members (which came after this partial's) into this partial."""
        if other.count == 0:
            return
        if self.count == 0:
            self.__dict__.update(other.__dict__)
            return
        n = self.count + other.count
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (other.count / n)
        self.m2 = self.m2 + other.m2 + delta * delta * (self.count * other.count / n)
        self.count = n
        np.minimum(self.low, other.low, out=self.low)
        np.maximum(self.high, other.high, out=self.high)
        if other.sketch is not None:
            if self.sketch is None:
                self.sketch = other.sketch
            else:
                self.sketch.absorb(other.sketch)
        self.kept = self.kept + other.kept

    @property
    def nbytes(self) -> int:
        return (4 * self.mean.nbytes + (self.sketch.nbytes if self.sketch else 0)
                + sum(v.nbytes for _, v in self.kept))


@dataclass
class Final:
    """A group's statistics, finished: arrays over columns, quantiles (Q, columns)."""

    count: int
    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray
    quantiles: np.ndarray
    gathered: np.ndarray      # (Q, columns): answered from a sketch bucket of gathered keys


def finish(partial: Partial | None, columns: int, qs: tuple[float, ...]) -> Final:
    """Mean, sample standard deviation (ddof=1, NaN for fewer than two members), min, max
    and quantiles; NaN everywhere for a group with no member that finished."""
    nan = np.full(columns, np.nan)
    if partial is None or partial.count == 0:
        return Final(0, nan, nan, nan, nan, np.full((len(qs), columns), np.nan),
                     np.zeros((len(qs), columns), bool))
    n = partial.count
    std = np.sqrt(partial.m2 / (n - 1)) if n > 1 else nan
    if partial.kept:
        values = np.concatenate([v for _, v in sorted(partial.kept, key=lambda kv: kv[0])],
                                axis=1)
        quantiles = np.quantile(values, qs, axis=1) if qs else np.empty((0, columns))
        gathered = np.zeros(quantiles.shape, bool)
    elif partial.sketch is not None:
        quantiles, gathered = partial.sketch.quantiles(np.array(qs, float))
    else:
        quantiles, gathered = np.empty((0, columns)), np.zeros((0, columns), bool)
    return Final(n, partial.mean, std, partial.low, partial.high, quantiles, gathered)


class Accumulator:
    """Chunks' partials ({group: Partial}) arriving in any order, merged in chunk order.

    The sketch's merge is exact in any order, the moments' is not: partials wait here until
    every chunk before theirs has arrived, so the result is the same however the chunks were
    scheduled. Waiting chunks are few (about the number of tasks in flight)."""

    def __init__(self) -> None:
        self.totals: dict[int, Partial] = {}
        self.waiting: dict[int, dict[int, Partial]] = {}
        self.next = 0

    def add(self, index: int, partials: dict[int, Partial]) -> None:
        self.waiting[index] = partials
        while self.next in self.waiting:
            for group, part in self.waiting.pop(self.next).items():
                known = self.totals.get(group)
                if known is None:
                    self.totals[group] = part
                else:
                    known.absorb(part)
            self.next += 1
