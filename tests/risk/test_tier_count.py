"""``count_floors`` looks large batches up by binary exponent (``_Buckets``): it must count what the column climb
counts, on every row, including values that sit exactly on a threshold, share a bucket with several, lie below
or above every bucket, or are not finite.  The requirement caps a tier at its table's last only where a count
can pass it (a size of +inf, a tier the venue reports)."""

from __future__ import annotations

import numpy as np
import pytest

from riskguard.model.market import MarginTier
from riskguard.risk import tiers
from riskguard.risk.tiers import TierTable, count_floors
from riskguard.risk.venue_math import PositionArrays, RuleColumns, requirement
from riskguard.risk.venue_rules import rules_for

ODD = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, -5.0, 5e-324, 1e300, 2.0**-1074, -(2.0**1023)])


def _thresholds(rng: np.random.Generator) -> np.ndarray:
    """Rising rows (as tier floors are), +inf padded, with several thresholds in one binade (4M, 6M, 7M)."""
    rows, width = rng.integers(1, 12), rng.integers(1, 14)
    pool = np.array([1e-3, 1.0, 2.5, 3.0, 5.0, 7.0, 4e6, 6e6, 7e6, 1e9, 0.0])
    values = rng.choice(pool, (rows, width)) * rng.choice([1.0, 1.0, 0.75, 1.5], (rows, width))
    values[rng.random((rows, width)) < 0.2] = np.inf
    return np.sort(values, axis=1)


def _inputs(rng: np.random.Generator, thresholds: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    row = rng.integers(0, thresholds.shape[0], n)
    x = thresholds[row, rng.integers(0, thresholds.shape[1], n)].copy()  # exactly on a threshold
    with np.errstate(invalid="ignore"):
        x *= rng.choice([1.0, 1.0, 1 + 1e-15, 1 - 1e-15, 0.5, 3.0], n)  # a hair either side, or further
    odd = rng.random(n) < 0.1
    x[odd] = rng.choice(ODD, int(odd.sum()))
    return row, x


@pytest.mark.parametrize("seed", range(40))
def test_count_floors_when_batch_is_large_then_bucket_lookup_counts_what_the_climb_counts(seed):
    rng = np.random.default_rng(seed)
    thresholds = _thresholds(rng)
    row, x = _inputs(rng, thresholds, tiers._BUCKETED + 500)
    with np.errstate(invalid="ignore"):
        expected = (thresholds[row] <= x[:, None]).sum(axis=1)
    climbed = tiers._climb(thresholds, row, x, None)
    looked_up = count_floors(thresholds, row, x)
    assert looked_up.dtype == climbed.dtype == np.int64
    np.testing.assert_array_equal(climbed, expected)
    np.testing.assert_array_equal(looked_up, expected)


def test_count_floors_when_values_not_finite_then_counted_as_the_climb_counts_them():
    thresholds = np.array([[1.0, 2.0, np.inf], [4e6, 6e6, 7e6]])
    x = np.resize(np.array([np.inf, np.nan, -np.nan, -np.inf, 6e6, 5.9e6, 1.5]), tiers._BUCKETED)
    row = np.resize(np.array([0, 0, 0, 0, 1, 1, 0]), tiers._BUCKETED)
    got = count_floors(thresholds, row, x)
    # +inf reaches the +inf padding too; every NaN and −inf count nothing.
    np.testing.assert_array_equal(got[:7], [3, 0, 0, 0, 2, 1, 1])


def _floors(floors: tuple[float, ...]) -> list[MarginTier]:
    caps = (*floors[1:], np.inf)
    return [MarginTier(f, c, 0.01 * (i + 1), 0.0) for i, (f, c) in enumerate(zip(floors, caps, strict=True))]


def test_tier_at_when_sizes_sit_on_floors_then_each_floor_opens_its_tier():
    table = TierTable.from_tiers([_floors((0.0, 50e3, 250e3, 1e6)), _floors((0.0, 5.0, 6.0, 7.0))])
    size = np.resize(np.array([0.0, 49_999.99, 50e3, 250e3, 1e6, 9e9, 4.99, 5.0, 6.5, 7.0]), tiers._BUCKETED)
    which = np.resize(np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]), tiers._BUCKETED)
    np.testing.assert_array_equal(table.tier_at(which, size)[:10], [0, 0, 1, 2, 3, 3, 0, 1, 2, 3])


@pytest.mark.parametrize("rows", [4, tiers._BUCKETED + 4])
def test_requirement_when_size_not_finite_or_tier_reported_then_tier_stays_in_its_table(rows):
    """A size of +inf counts the +inf padding of a short table and a venue may report a tier the table lacks:
    the requirement's tier is capped at the table's last; finite sizes never need the cap."""
    table = TierTable.from_tiers([_floors((0.0, 50e3, 250e3, 1e6)), _floors((0.0,))])
    mark = np.resize(np.array([np.inf, 1.0, np.inf, 1e9]), rows)
    which = np.resize(np.array([1, 1, 0, 1]), rows)
    reported = np.full(rows, -1)
    n = np.ones(rows)
    pos = PositionArrays(inverse=np.zeros(rows, bool), side=n, qty=n, contracts=n, entry=n, mark=mark, table=which,
                         tiers=table, by_contracts=np.zeros(rows, bool), reported_tier=reported, taker=n * 0.0005,
                         leverage=n * 10, isolated=np.ones(rows, bool))
    cols = RuleColumns.build([rules_for("binanceusdm")], np.zeros(rows, dtype=np.int64), pos.isolated)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(requirement(pos, cols).tier[:4], [0, 0, 3, 0])
        okx = RuleColumns.build([rules_for("okx")], np.zeros(rows, dtype=np.int64), pos.isolated)
        reported[:4] = [2, 5, 7, 0]  # beyond a one-tier table, beyond a four-tier one
        mark[:] = 1.0  # every size finite: only the venue's tiers can pass the tables
        np.testing.assert_array_equal(requirement(pos, okx).tier[:4], [0, 0, 3, 0])
