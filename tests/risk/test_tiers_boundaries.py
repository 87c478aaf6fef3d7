"""Edges of the tier tables the main tier tests leave open: the layout rows are padded to (which
``account_risk._stacked`` reproduces), the zero row, a flat table's deduction, the errors for missing tables,
integer sizes, and a table wide enough (127 floors or more) that the bucket lookup counts in 64-bit integers
instead of bytes."""

from __future__ import annotations

import numpy as np
import pytest

from riskguard.model.market import MarginTier
from riskguard.risk import tiers
from riskguard.risk.solver import requirement_in_tier
from riskguard.risk.tiers import TierTable, count_floors


def test_from_tiers_when_rows_differ_in_length_then_the_short_one_repeats_its_last_tier_past_inf_floors():
    # a venue table that starts above zero still starts at zero; the one-tier row is padded to three columns
    table = TierTable.from_tiers([
        [MarginTier(5.0, 100.0, 0.01), MarginTier(100.0, 1_000.0, 0.02, 1.0), MarginTier(1_000.0, np.inf, 0.05, 31.0)],
        [MarginTier(0.0, np.inf, 0.004, 2.0)],
    ])
    assert table.floor.tolist() == [[0.0, 100.0, 1_000.0], [0.0, np.inf, np.inf]]
    assert table.mmr.tolist() == [[0.01, 0.02, 0.05], [0.004, 0.004, 0.004]]
    assert table.cum.tolist() == [[0.0, 1.0, 31.0], [2.0, 2.0, 2.0]]
    assert table.size.tolist() == [3, 1]


def test_flat_when_given_a_deduction_then_the_requirement_subtracts_it():
    table = TierTable.flat(0.01, cum=25.0)
    assert (table.floor.tolist(), table.mmr.tolist(), table.cum.tolist(), table.size.tolist()) == (
        [[0.0]], [[0.01]], [[25.0]], [1])
    # 10 000 notional × 1 % − 25 = 75
    mm = requirement_in_tier(np.array([10_000.0]), table, np.array([0]), np.array([0]))
    assert mm.tolist() == [75.0]


@pytest.mark.parametrize("n", [8, tiers._BUCKETED])
def test_count_floors_when_table_has_130_floors_then_the_count_goes_past_a_byte(n):
    """Few rows climb column by column, many take the bucket lookup: both must count beyond 127."""
    # floors 100, 200, …, 13 000: a size x lies at or beyond floor(x / 100) of them, at most all 130
    width = 130
    thresholds = (100.0 * np.arange(1, width + 1))[None, :]
    x = np.resize(np.array([0.0, 99.99, 100.0, 150.0, 12_700.0, 12_999.0, 13_000.0, 1e9]), n)
    counted = count_floors(thresholds, np.zeros(x.shape[0], dtype=np.int64), x)
    assert counted.dtype == np.int64
    np.testing.assert_array_equal(counted[:8], [0, 0, 1, 1, 127, 129, 130, 130])
    np.testing.assert_array_equal(counted, np.resize(counted[:8], x.shape[0]))


@pytest.mark.parametrize(("tables", "message"), [
    ([], "at least one tier table is required"),
    ([[]], "a tier table is empty: every market needs at least one margin tier"),
    ([[MarginTier(0.0, np.inf, 0.01)], []], "tier table 1 is empty: every market needs at least one margin tier"),
])
def test_from_tiers_when_no_table_or_an_empty_one_then_the_error_says_which(tables, message):
    with pytest.raises(ValueError) as raised:
        TierTable.from_tiers(tables)
    assert str(raised.value) == message


def test_count_floors_when_sizes_are_integers_then_they_count_as_the_numbers_they_are():
    # a large batch takes the bucket lookup, which reads a size's float bits: an integer must become a float first
    thresholds = np.array([[50_000.0, 250_000.0]])
    x = np.resize(np.array([0, 49_999, 50_000, 100_000, 250_000, 10**9], dtype=np.int64), tiers._BUCKETED)
    counted = count_floors(thresholds, np.zeros(x.shape[0], dtype=np.int64), x)
    np.testing.assert_array_equal(counted[:6], [0, 0, 1, 1, 2, 2])
