"""Boundary cases of the solver that its property tests do not reach (mutation survivors, docs/mutation.md).

Every expected number is worked by hand from the two-tier table below: 1 % below 10 000 of notional, 2 % from
there with cum 100 (= 10 000 · (2 % − 1 %)), so maintenance margin is continuous at the floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskguard.model import MarginTier
from riskguard.risk.solver import maintenance_margin, pick, solve_liquidation
from riskguard.risk.tiers import TierTable

TWO_TIERS = TierTable.from_tiers(
    [(MarginTier(0.0, 10_000.0, 0.01, 0.0), MarginTier(10_000.0, float("inf"), 0.02, 100.0))]
)


def test_maintenance_margin_when_only_some_rows_are_pinned_then_pinned_rows_keep_their_tier() -> None:
    # Row 0: 1 BTC at 50 000 is 50 000 of notional, tier 1 by size, pinned to tier 0: 50 000 · 1 % = 500.
    # Row 1: 0.1 BTC at 50 000 is 5 000, unpinned: tier 0 by size, 5 000 · 1 % = 50.
    mm, tier = maintenance_margin(
        inverse=np.array([False, False]),
        qty=np.array([1.0, 0.1]),
        price=np.array([50_000.0, 50_000.0]),
        tiers=TWO_TIERS,
        table=np.array([0, 0]),
        fixed_tier=np.array([0, -1]),
    )
    assert tier.tolist() == [0, 0]
    assert mm.tolist() == [500.0, 50.0]


def test_maintenance_margin_when_pinned_beyond_the_table_then_its_last_tier() -> None:
    # A venue's own tier may lie past the table the feed gave (tier 5 of 2): the last tier's terms apply,
    # 50 000 · 2 % − 100 = 900.
    mm, tier = maintenance_margin(
        inverse=np.array([False]),
        qty=np.array([1.0]),
        price=np.array([50_000.0]),
        tiers=TWO_TIERS,
        table=np.array([0]),
        fixed_tier=np.array([5]),
    )
    assert tier.tolist() == [1]
    assert mm.tolist() == [900.0]


def test_pick_when_many_rows_and_not_told_to_reuse_then_the_callers_arrays_are_left_as_they_were() -> None:
    # From 4 096 rows pick selects with bit masks, which can write into if_true; only reuse=True allows it.
    n = 5_000
    cond = np.arange(n) % 2 == 0
    if_true, if_false = np.full(n, 1.5), np.full(n, -2.5)
    out = pick(cond, if_true, if_false)
    assert out.tolist() == [1.5, -2.5] * (n // 2)
    assert if_true.tolist() == [1.5] * n
    every = pick(np.ones(n, dtype=bool), if_true, if_false)
    assert every is not if_true and every.tolist() == [1.5] * n


def test_pick_when_many_rows_of_two_dtypes_then_both_widen_to_float_as_np_where_does() -> None:
    n = 5_000
    cond = np.arange(n) % 2 == 0
    assert pick(cond, np.full(n, 1.5), 0).tolist() == [1.5, 0.0] * (n // 2)
    assert pick(cond, 2, np.full(n, -0.5)).tolist() == [2.0, -0.5] * (n // 2)


def test_pick_when_many_rows_and_the_mask_is_0_or_1_then_it_selects_as_a_boolean_mask() -> None:
    n = 5_000
    cond = (np.arange(n) % 2 == 0).astype(np.int64)
    assert pick(cond, np.full(n, 1.5), np.full(n, -2.5)).tolist() == [1.5, -2.5] * (n // 2)


def test_pick_when_told_to_reuse_if_true_then_the_values_are_still_those_selected() -> None:
    # reuse only allows overwriting if_true: an all-false mask still gives if_false, a scalar if_true still
    # fills n rows, an integer if_true still widens to float.
    n = 5_000
    none, every, half = np.zeros(n, dtype=bool), np.ones(n, dtype=bool), np.arange(n) % 2 == 0
    assert pick(none, np.full(n, 1.5), np.full(n, -2.5), reuse=True).tolist() == [-2.5] * n
    widened = pick(every, np.full(n, 2, dtype=np.int64), np.full(n, -0.5), reuse=True)
    assert widened.dtype == np.float64 and widened.tolist() == [2.0] * n
    filled = pick(every, 1.5, np.full(n, -2.5), reuse=True)
    assert filled.shape == (n,) and filled.tolist() == [1.5] * n
    assert pick(half, 1.5, np.full(n, -2.5), reuse=True).tolist() == [1.5, -2.5] * (n // 2)


def test_pick_when_many_rows_then_scalars_and_a_reused_array_select_per_row() -> None:
    n = 5_000
    half = np.arange(n) % 2 == 0
    assert pick(half, 1.5, -2.5).tolist() == [1.5, -2.5] * (n // 2)
    assert pick(half, np.full(n, 1.5), -2.5, reuse=True).tolist() == [1.5, -2.5] * (n // 2)


def test_solve_liquidation_when_only_some_rows_pay_a_fee_in_maintenance_then_the_fee_picks_their_tier() -> None:
    # Long 2 at 10 000 with 10 120 of margin: equity 10 120 + 2·(P − 10 000), size N = 2·P, so equity = N − 9 880.
    # No fee: tier 0 root N = 9 880 / (1 − 1 %) = 9 979.80 < 10 000, P = 4 989.90.
    # Fee 0.5 % on the rate: tier 0 would give 9 880 / 0.985 = 10 030.46, past its cap, so the root is in tier 1:
    # N = (9 880 − 100) / (1 − 2 % − 0.5 %) = 10 030.77, P = 5 015.38.
    sol = solve_liquidation(
        inverse=np.array([False, False]),
        side=np.array([1.0, 1.0]),
        qty=np.array([2.0, 2.0]),
        entry=np.array([10_000.0, 10_000.0]),
        margin=np.array([10_120.0, 10_120.0]),
        tiers=TWO_TIERS,
        table=np.array([0, 0]),
        mmr_add=np.array([0.0, 0.005]),
    )
    assert sol.tier.tolist() == [0, 1]
    assert sol.mmr.tolist() == pytest.approx([0.01, 0.025], rel=1e-12)
    assert sol.liquidation_price.tolist() == pytest.approx([9_880 / 0.99 / 2, 9_780 / 0.975 / 2], rel=1e-12)


def test_solve_liquidation_when_a_long_is_fully_collateralised_then_no_price_liquidates_it() -> None:
    # 1 BTC long at 10 000 with 10 000 of margin: equity is P, maintenance 1 % of P, so equity − MM = 0.99·P > 0
    # at every positive price; the root is at size 0 (price 0), which no market reaches.
    sol = solve_liquidation(
        inverse=np.array([False]),
        side=np.array([1.0]),
        qty=np.array([1.0]),
        entry=np.array([10_000.0]),
        margin=np.array([10_000.0]),
        tiers=TWO_TIERS,
        table=np.array([0]),
    )
    assert np.isnan(sol.liquidation_price[0]) and np.isnan(sol.bankruptcy_price[0])


def test_solve_liquidation_when_a_pinned_row_sits_beside_a_fee_row_then_the_pin_holds() -> None:
    # Row 0: long 2 at 10 000 with 5 000 of margin, equity = N − 15 000; unpinned its root is in tier 1, pinned to
    # tier 0 it is N = 15 000 / 0.99, P = 7 575.76.  Row 1: the fee row above, tier 1, P = 5 015.38.
    sol = solve_liquidation(
        inverse=np.array([False, False]),
        side=np.array([1.0, 1.0]),
        qty=np.array([2.0, 2.0]),
        entry=np.array([10_000.0, 10_000.0]),
        margin=np.array([5_000.0, 10_120.0]),
        tiers=TWO_TIERS,
        table=np.array([0, 0]),
        fixed_tier=np.array([0, -1]),
        mmr_add=np.array([0.0, 0.005]),
    )
    assert sol.tier.tolist() == [0, 1]
    assert sol.liquidation_price.tolist() == pytest.approx([15_000 / 0.99 / 2, 9_780 / 0.975 / 2], rel=1e-12)
