"""Margin-tier tables packed into padded numpy arrays.

Markets carry tiers as small tuples; the solver needs them as dense arrays so a
million positions can pick their tier with one gather instead of a Python loop.
Each row is one market's table, padded on the right with +inf floors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from riskguard.model.market import MarginTier


@dataclass(frozen=True, slots=True)
class TierTable:
    floor: np.ndarray
    """(tables, width) lower bound of each tier in the venue's tier basis; +inf pads."""
    mmr: np.ndarray
    cum: np.ndarray
    size: np.ndarray
    """(tables,) real tier count of each row."""

    @classmethod
    def from_tiers(cls, tables: Sequence[Sequence[MarginTier]]) -> TierTable:
        if not tables:
            raise ValueError("at least one tier table is required")
        width = max(len(t) for t in tables)
        if width == 0:
            raise ValueError("a tier table is empty: every market needs at least one margin tier")
        n = len(tables)
        floor = np.full((n, width), np.inf)
        mmr = np.zeros((n, width))
        cum = np.zeros((n, width))
        size = np.zeros(n, dtype=np.int64)
        for i, tiers in enumerate(tables):
            if not tiers:
                raise ValueError(f"tier table {i} is empty: every market needs at least one margin tier")
            size[i] = len(tiers)
            floor[i, : len(tiers)] = [t.floor for t in tiers]
            mmr[i, : len(tiers)] = [t.mmr for t in tiers]
            cum[i, : len(tiers)] = [t.cum for t in tiers]
            mmr[i, len(tiers) :] = tiers[-1].mmr
            cum[i, len(tiers) :] = tiers[-1].cum
        floor[:, 0] = 0.0  # the first tier always starts at zero size, whatever the venue prints
        return cls(floor=floor, mmr=mmr, cum=cum, size=size)

    @classmethod
    def flat(cls, mmr: float, cum: float = 0.0) -> TierTable:
        """A single-tier table, for venues or callers with one maintenance rate."""
        return cls.from_tiers([[MarginTier(floor=0.0, cap=np.inf, mmr=mmr, cum=cum)]])

    def tier_at(self, table: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Index of the tier containing ``size`` (in the table's basis) for each row.

        One gather and compare per floor column, over the rows still climbing
        (``count_floors``): no (positions × tiers) temporary.
        """
        size = np.asarray(size, dtype=float)
        table = np.asarray(table, dtype=np.int64)
        if self.floor.shape[1] == 1:
            return np.zeros(size.shape[0], dtype=np.int64)
        return count_floors(self.floor[:, 1:], table, size)


_BUCKETED = 4096
"""From this many rows a bucket table (``_Buckets``) is worth building; fewer rows climb column by column."""


def count_floors(
    thresholds: np.ndarray,
    row: np.ndarray,
    x: np.ndarray,
    fee: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """For each position, how many k satisfy thresholds[row, k] ≤ x (+ slope·floors[table, k]).

    ``fee`` is (slope, floors, table): the fee term of the solver's tier search.  One
    gather and one compare per column, no (positions × tiers) temporary; the
    loop stops at the first column no row reaches (thresholds rise with k).
    Without a fee term, a large batch looks its count up by x's binary
    exponent instead (``_Buckets``): the same comparisons, a fraction of the passes.
    """
    if fee is None and x.shape[0] >= _BUCKETED:
        return _Buckets.of(thresholds).count(row, x)
    return _climb(thresholds, row, x, fee)


def _climb(
    thresholds: np.ndarray, row: np.ndarray, x: np.ndarray, fee: tuple[np.ndarray, np.ndarray, np.ndarray] | None
) -> np.ndarray:
    n, width = x.shape[0], thresholds.shape[1]
    # A one-byte counter and reused buffers: each column costs a gather, a compare and a byte add, no allocation.
    tier = np.zeros(n, dtype=np.int8 if width < 127 else np.int64)
    gathered, beyond = np.empty(n), np.empty(n, dtype=bool)
    lhs = x if fee is None else np.empty(n)
    for k in range(width):
        if fee is not None:
            slope, floor, table = fee
            floor[:, k].take(table, out=lhs, mode="clip")
            np.multiply(slope, lhs, out=lhs)
            np.add(x, lhs, out=lhs)
        thresholds[:, k].take(row, out=gathered, mode="clip")  # "raise" would buffer `out`
        np.less_equal(gathered, lhs, out=beyond)
        if not beyond.any():
            break
        np.add(tier, beyond, out=tier)
    return tier.astype(np.int64, copy=False)


@dataclass(frozen=True, slots=True)
class _Buckets:
    """``count_floors`` without a fee term, as a table lookup plus the few comparisons a lookup cannot settle.

    The bits of a float ≥ 0 read as an integer rise with the float, so
    ``bits >> shift`` cuts the line into buckets (binades, or a binade's
    halves, quarters …).  Every threshold in a lower bucket than x is below x,
    every one in a higher bucket above it; only those sharing x's bucket need
    comparing.  So each table row and bucket holds how many thresholds lie
    below it (``below``) and the thresholds in it (``inside``, +inf padded),
    and a position costs one gather for the count plus one gather and compare
    per threshold its bucket may hold, usually one, instead of one per column.
    Values below the lowest bucket (negatives, −0.0) share it and those above
    the highest finite threshold share the top one; their compares stay
    exact (−inf and negative NaN fall there and count nothing, as climbing
    does).  +inf and positive NaN are counted column by column, as before.
    """

    shift: int
    lo: int
    buckets: int
    below: np.ndarray
    """(rows · buckets,) thresholds of the row in a lower bucket."""
    inside: np.ndarray
    """(depth, rows · buckets) thresholds of the row in that bucket, +inf padded."""
    thresholds: np.ndarray

    @property
    def nan(self) -> int:
        """Bucket of +inf, the lowest of any x above every finite float (+inf, NaN): these climb instead."""
        return int(np.array(np.inf).view(np.int64)) >> self.shift

    @staticmethod
    def of(thresholds: np.ndarray) -> _Buckets:
        return _buckets(thresholds.tobytes(), thresholds.shape)

    def count(self, row: np.ndarray, x: np.ndarray) -> np.ndarray:
        key = np.right_shift(np.ascontiguousarray(x, dtype=float).view(np.int64), self.shift)
        odd = np.flatnonzero(key >= self.nan) if key.max() >= self.nan else None  # +inf and NaN
        np.clip(key, self.lo, self.lo + self.buckets - 1, out=key)
        key += np.multiply(row, self.buckets) - self.lo
        tier = self.below.take(key)
        gathered, beyond = np.empty(x.shape[0]), np.empty(x.shape[0], dtype=bool)
        for plane in self.inside:
            plane.take(key, out=gathered, mode="clip")
            np.less_equal(gathered, x, out=beyond)
            tier += beyond.view(tier.dtype) if tier.dtype == np.int8 else beyond  # a byte add needs no cast
        tier = tier.astype(np.int64, copy=False)
        if odd is not None:
            tier[odd] = _climb(self.thresholds, row.take(odd), x.take(odd), None)
        return tier


@lru_cache(maxsize=64)
def _buckets(data: bytes, shape: tuple[int, ...]) -> _Buckets:
    """Bucket table of one thresholds array, built once per table (the batch API asks once per block)."""
    thresholds = np.frombuffer(data).reshape(shape)
    finite = np.isfinite(thresholds)
    rows = thresholds.shape[0]
    best: _Buckets | None = None
    for halvings in range(5):  # finer buckets until no bucket of any row holds two thresholds
        shift = 52 - halvings
        raw = thresholds.view(np.int64) >> shift
        lo = max(int(raw[finite].min()), 0) if finite.any() else 0
        top = max(int(raw[finite].max()), lo) + 1 if finite.any() else lo + 1  # a bucket above every finite threshold
        buckets = top - lo + 1
        if rows * buckets > 1 << 20 and best is not None:
            break
        bucket = np.where(finite, np.clip(raw, lo, top) - lo, buckets)  # non-finite: beyond every bucket
        b = np.arange(buckets)
        below = (bucket[:, :, None] < b).sum(axis=1)
        same = bucket[:, :, None] == b  # (rows, width, buckets)
        depth = int(same.sum(axis=1).max(initial=0))
        inside = np.full((depth, rows, buckets), np.inf)
        r, k, j = np.nonzero(same)
        slot = np.cumsum(same, axis=1)[r, k, j] - 1
        inside[slot, r, j] = thresholds[r, k]
        found = _Buckets(
            shift=shift,
            lo=lo,
            buckets=buckets,
            below=below.astype(np.int8 if thresholds.shape[1] < 127 else np.int64).ravel(),
            inside=inside.reshape(depth, -1),
            thresholds=thresholds,
        )
        if best is None or depth < best.inside.shape[0]:
            best = found
        if depth <= 1:
            break
    assert best is not None
    return best
