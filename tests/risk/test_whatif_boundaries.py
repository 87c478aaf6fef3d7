"""What-if edges worked out by hand: the gate's increase on an existing isolated position, an opposite fill
that exactly closes a one-way position, hedge legs, and the refusals with the message a user reads."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from plan_factory import account, market, position, venue_of

from riskguard.model import AssetBalance, MarginMode, PositionSide, Side
from riskguard.risk.whatif import (
    AddMargin,
    Increase,
    Reduce,
    Reductions,
    WhatIfError,
    apply_fills,
    on_grid,
    on_grid_array,
)

BTC = market("BTC/USDT:USDT", 0.004)
ETH = market("ETH/USDT:USDT", 0.005, step=0.01)
VENUE = venue_of(BTC, ETH)


def test_increase_of_an_existing_isolated_position_posts_initial_margin_at_its_own_leverage():
    acct = account(position(ETH.symbol, 10, 2_000, isolated_margin=2_000, leverage=10), wallet=7_000,
                   cross_wallet=5_000)
    # the fill says nothing of margin mode or leverage: the position's own (isolated, 10×) apply
    after = apply_fills(acct, VENUE, [Increase(ETH.symbol, Side.LONG, 5, 2_200, 2_100)], taker=0.0005)
    p = after.positions[0]
    # IM 5 · 2 200 / 10 = 1 100 posted; fee 0.0005 · 11 000 = 5.5 paid from both wallets
    assert p.margin_mode is MarginMode.ISOLATED and p.leverage == 10
    assert p.isolated_margin == pytest.approx(3_100.0)
    assert p.contracts == 15 and p.entry_price == pytest.approx((10 * 2_000 + 5 * 2_200) / 15)
    assert p.mark_price == 2_000  # an existing position keeps its mark
    assert after.balances["USDT"].cross_wallet == pytest.approx(5_000 - 1_100 - 5.5)
    assert after.balances["USDT"].wallet == pytest.approx(7_000 - 5.5)


def test_increase_with_a_new_leverage_posts_margin_at_that_leverage():
    acct = account(position(ETH.symbol, 10, 2_000, isolated_margin=2_000, leverage=10))
    after = apply_fills(acct, VENUE, [Increase(ETH.symbol, Side.LONG, 5, 2_000, 2_000, leverage=20)], taker=0.0)
    assert after.positions[0].isolated_margin == pytest.approx(2_000 + 500)
    assert after.positions[0].leverage == 20


def test_increase_on_one_way_opposite_side_of_exactly_the_position_closes_it_and_opens_nothing():
    acct = account(position(BTC.symbol, 1, 40_000))
    after = apply_fills(acct, VENUE, [Increase(BTC.symbol, Side.SHORT, 1, 50_000, 50_000)], taker=0.0004)
    assert after.positions == ()
    # the close realizes 1 · (50 000 − 40 000) and pays 0.0004 · 50 000 once
    assert after.balances["USDT"].wallet == pytest.approx(10_000 + 10_000 - 20)


def test_increase_on_one_way_opposite_side_smaller_than_the_position_only_reduces_it():
    acct = account(position(BTC.symbol, 1, 40_000))
    after = apply_fills(acct, VENUE, [Increase(BTC.symbol, Side.SHORT, 0.25, 50_000, 50_000)], taker=0.0)
    assert [(p.side, p.contracts, p.entry_price) for p in after.positions] == [(Side.LONG, 0.75, 40_000)]
    assert after.balances["USDT"].wallet == pytest.approx(10_000 + 2_500)


def test_increase_of_a_new_position_opens_it_at_the_fill_with_its_mark_and_time():
    after = apply_fills(account(), VENUE, [Increase(BTC.symbol, Side.LONG, 0.5, 50_000, 49_900,
                                                    timestamp_ms=1_700_000_000_000)], taker=0.0)
    p = after.positions[0]
    assert (p.symbol, p.side, p.contracts, p.entry_price, p.mark_price) == (BTC.symbol, Side.LONG, 0.5, 50_000, 49_900)
    assert p.margin_mode is MarginMode.CROSS and p.isolated_margin is None
    assert p.timestamp_ms == 1_700_000_000_000
    assert after.balances["USDT"].cross_wallet == 10_000  # cross: nothing posted, no fee at 0


def test_increase_on_a_hedge_leg_adds_to_that_leg_and_leaves_the_other():
    long_leg = position(BTC.symbol, 1, 40_000, leg=PositionSide.LONG)
    short_leg = position(BTC.symbol, 2, 50_000, side=Side.SHORT, leg=PositionSide.SHORT)
    after = apply_fills(account(long_leg, short_leg, hedge=True), VENUE,
                        [Increase(BTC.symbol, Side.LONG, 1, 60_000, 60_000, position_side=PositionSide.LONG)], 0.0)
    assert [(p.side, p.contracts, p.entry_price) for p in after.positions] == [
        (Side.LONG, 2, 50_000), (Side.SHORT, 2, 50_000)]


def test_increase_when_the_fill_names_the_other_hedge_leg_then_refused():
    acct = account(hedge=True)
    with pytest.raises(WhatIfError, match=r"^BTC/USDT:USDT: a long fill cannot open the short leg$"):
        apply_fills(acct, VENUE, [Increase(BTC.symbol, Side.LONG, 1, 50_000, 50_000,
                                           position_side=PositionSide.SHORT)], 0.0)


def test_increase_when_new_isolated_without_leverage_then_refused():
    with pytest.raises(WhatIfError, match=r"^ETH/USDT:USDT: an isolated fill needs a leverage"):
        apply_fills(account(), VENUE, [Increase(ETH.symbol, Side.LONG, 1, 2_000, 2_000,
                                                margin_mode=MarginMode.ISOLATED)], 0.0)


@pytest.mark.parametrize(
    ("fill", "message"),
    [
        (Increase(BTC.symbol, Side.LONG, 0.0, 50_000, 50_000), "amount must be a finite number > 0, got 0.0"),
        (Increase(BTC.symbol, Side.LONG, 1.0, math.nan, 50_000), "price must be a finite number > 0, got nan"),
        (Increase(BTC.symbol, Side.LONG, 1.0, 50_000, -1.0), "mark_price must be a finite number > 0, got -1.0"),
        (Reduce(BTC.symbol, Side.LONG, math.inf, 50_000), "amount must be a finite number > 0, got inf"),
        (Reduce(BTC.symbol, Side.LONG, 0.5, 0.0), "price must be a finite number > 0, got 0.0"),
        (AddMargin(BTC.symbol, Side.LONG, -5.0), "amount must be a finite number > 0, got -5.0"),
    ],
)
def test_fill_with_a_non_positive_or_non_finite_number_is_refused_naming_it(fill, message):
    acct = account(position(BTC.symbol, 1, 50_000))
    with pytest.raises(WhatIfError) as err:
        apply_fills(acct, VENUE, [fill], taker=0.0)
    assert str(err.value) == f"BTC/USDT:USDT: {message}"


@pytest.mark.parametrize("taker", [-0.0001, 1.0, math.nan])
def test_apply_fills_when_the_taker_rate_is_out_of_range_then_refused(taker):
    with pytest.raises(WhatIfError, match="taker fee rate must be in"):
        apply_fills(account(), VENUE, [], taker=taker)


def test_apply_fills_accepts_a_zero_taker_rate_and_an_empty_list():
    acct = account(position(BTC.symbol, 1, 50_000))
    assert apply_fills(acct, VENUE, [], taker=0.0) == acct


def test_increase_opening_a_new_hedge_leg_records_the_leg():
    long_leg = position(BTC.symbol, 1, 40_000, leg=PositionSide.LONG)
    after = apply_fills(account(long_leg, hedge=True), VENUE,
                        [Increase(BTC.symbol, Side.SHORT, 2, 50_000, 50_000, position_side=PositionSide.SHORT)], 0.0)
    assert [(p.side, p.position_side, p.contracts) for p in after.positions] == [
        (Side.LONG, PositionSide.LONG, 1), (Side.SHORT, PositionSide.SHORT, 2)]


def test_add_margin_to_the_wrong_side_is_refused_not_added_to_the_other_position():
    acct = account(position(ETH.symbol, 10, 2_000, isolated_margin=200))
    with pytest.raises(WhatIfError) as err:
        apply_fills(acct, VENUE, [AddMargin(ETH.symbol, Side.SHORT, 100)], 0.0)
    assert str(err.value) == "no short ETH/USDT:USDT position to add margin to"



def test_reductions_of_a_position_held_in_whole_contracts_keep_the_fraction_left():
    # 10 ETH (an int) at 2 000, isolated margin 1 999 (an int); cutting 0.5 leaves 9.5 contracts with
    # 1 999 · 9.5/10 = 1 899.05 of margin:  1 899.05 + 9.5 (P − 2 000) = 0.005 · 9.5 · P
    acct = account(position(ETH.symbol, 10, 2_000, isolated_margin=1_999))
    rows = Reductions.of(acct, VENUE, 0, taker=0.0)
    assert rows is not None
    variants = rows.evaluate(np.array([0.5, 10.0]), np.array([2_000.0, 2_000.0]))
    assert variants.price[0, 0] == pytest.approx((19_000 - 1_899.05) / 9.4525, rel=1e-12)
    assert variants.present.tolist() == [[True], [False]]


SOL = market("SOL/USDT:USDT", 0.01)
BTC_USDC = market("BTC/USDC:USDC", 0.004, settle="USDC")
ETH_ANY = market("ETH/USDT:USDT", 0.005, step=None)


@pytest.mark.parametrize("grid", [on_grid, lambda k, step: float(on_grid_array(np.array([float(k)]), step)[0])])
def test_on_grid_when_the_step_is_not_one_over_a_whole_number_then_k_times_the_step(grid):
    assert grid(66, 0.01) == 0.66  # 1/0.01 = 100 exactly: 66/100, not 66 · 0.01 = 0.6600000000000001
    assert grid(2, 0.3) == 0.6  # 1/0.3 rounds to 3, and 3 · 0.3 ≠ 1: 2 · 0.3, not 2/3
    assert grid(3, 2.5) == 7.5  # 1/2.5 rounds to 0: 3 · 2.5, never 3/0


def test_reduce_that_leaves_a_size_off_the_amount_grid_keeps_it_as_it_is():
    # 10 − 0.005 = 9.995 is 999.5 steps of 0.01: not a whole number, so it is not snapped to 9.99 or 10
    acct = account(position(ETH.symbol, 10, 2_000))
    after = apply_fills(acct, VENUE, [Reduce(ETH.symbol, Side.LONG, 0.005, 2_000)], taker=0.0)
    assert after.positions[0].contracts == 10 - 0.005


def test_reductions_that_leave_a_size_off_the_amount_grid_keep_it_as_it_is():
    # as the test above, through the array path: 9.995 ETH left with 1 999 · 9.995/10 = 1 998.0005 of margin;
    # 1 998.0005 + 9.995 (P − 2 000) = 0.005 · 9.995 · P
    acct = account(position(ETH.symbol, 10, 2_000, isolated_margin=1_999))
    rows = Reductions.of(acct, VENUE, 0, taker=0.0)
    assert rows is not None
    variants = rows.evaluate(np.array([0.005]), np.array([2_000.0]))
    assert variants.price[0, 0] == pytest.approx((19_990 - 1_998.0005) / (9.995 * 0.995), rel=1e-12)


def test_a_changed_position_drops_every_figure_the_venue_reported_for_it():
    reported = replace(position(ETH.symbol, 10, 2_000, isolated_margin=2_000), venue_liquidation_price=1_810.0,
                       venue_bankruptcy_price=1_800.0, venue_maintenance_margin=100.0, venue_initial_margin=2_000.0,
                       venue_unrealized_pnl=5.0, tier_index=0)
    after = apply_fills(account(reported), VENUE, [Increase(ETH.symbol, Side.LONG, 1, 2_000, 2_000)], taker=0.0)
    p = after.positions[0]
    assert (p.venue_liquidation_price, p.venue_bankruptcy_price, p.venue_maintenance_margin, p.venue_initial_margin,
            p.venue_unrealized_pnl, p.tier_index) == (None, None, None, None, None, None)


def test_a_fill_drops_the_reported_prices_of_the_cross_positions_of_its_pool_only():
    # SOL's fill moves the USDT cross pool: BTC (cross) loses the bankruptcy price the venue reported, while
    # ETH (isolated, its own margin) keeps its reported liquidation price
    btc = replace(position(BTC.symbol, 1, 40_000), venue_bankruptcy_price=30_000.0)
    eth = replace(position(ETH.symbol, 10, 2_000, isolated_margin=2_000), venue_liquidation_price=1_810.0)
    after = apply_fills(account(btc, eth), venue_of(BTC, ETH, SOL),
                        [Increase(SOL.symbol, Side.LONG, 1, 100, 100)], taker=0.0004)
    by_symbol = {p.symbol: p for p in after.positions}
    assert (by_symbol[BTC.symbol].venue_liquidation_price, by_symbol[BTC.symbol].venue_bankruptcy_price) == (None, None)
    assert by_symbol[ETH.symbol].venue_liquidation_price == 1_810.0


def test_reduce_in_a_settle_asset_without_a_balance_opens_that_balance():
    # 1 BTC isolated (margin 4 000) settled in USDC, no USDC balance: cutting 0.5 at 50 000 realizes
    # 0.5 · 10 000 = 5 000 and frees 4 000 · 0.5 = 2 000 of margin into the cross wallet
    acct = account(position(BTC_USDC.symbol, 1, 40_000, isolated_margin=4_000))
    after = apply_fills(acct, venue_of(BTC_USDC), [Reduce(BTC_USDC.symbol, Side.LONG, 0.5, 50_000)], taker=0.0)
    assert after.balances["USDC"] == AssetBalance("USDC", 5_000.0, 7_000.0)
    assert after.balances["USDT"] == AssetBalance("USDT", 10_000.0, 10_000.0)


def test_reductions_in_a_settle_asset_without_a_balance_are_evaluated():
    # the same position cut by 0.5 at 40 000: 2 000 of margin left on 0.5 BTC;
    # 2 000 + 0.5 (P − 40 000) = 0.004 · 0.5 · P
    acct = account(position(BTC_USDC.symbol, 1, 40_000, isolated_margin=4_000))
    rows = Reductions.of(acct, venue_of(BTC_USDC), 0, taker=0.0)
    assert rows is not None
    variants = rows.evaluate(np.array([0.5]), np.array([40_000.0]))
    assert variants.price[0, 0] == pytest.approx(18_000 / 0.498, rel=1e-12)


def test_reduce_of_the_other_side_of_a_one_way_position_is_refused_not_applied_to_it():
    acct = account(position(ETH.symbol, 10, 2_000, side=Side.SHORT))
    with pytest.raises(WhatIfError) as err:
        apply_fills(acct, VENUE, [Reduce(ETH.symbol, Side.LONG, 1, 2_000)], taker=0.0)
    assert str(err.value) == "no long ETH/USDT:USDT position (both) to reduce"


def test_reductions_that_close_a_cross_position_leave_the_rest_of_its_pool_as_without_it():
    # ETH closed in full (10 at 2 000, no PnL, no fee): the pool is 10 000 with 1 BTC at 40 000;
    # 10 000 + (P − 40 000) = 0.004 · P  →  P = 30 000 / 0.996
    acct = account(position(ETH.symbol, 10, 2_000), position(BTC.symbol, 1, 40_000))
    rows = Reductions.of(acct, VENUE, 0, taker=0.0)
    assert rows is not None
    variants = rows.evaluate(np.array([10.0]), np.array([2_000.0]))
    assert variants.present.tolist() == [[False, True]]
    assert variants.price[0, 1] == pytest.approx(30_000 / 0.996, rel=1e-12)


def test_reductions_that_leave_a_rest_within_1e_12_of_the_size_close_the_position():
    # no amount grid: 10 − 10 · (1 − 1e-13) leaves about 1e-12 contracts, within 1e-12 of the size: closed
    acct = account(position(ETH_ANY.symbol, 10, 2_000), position(BTC.symbol, 1, 40_000))
    rows = Reductions.of(acct, venue_of(ETH_ANY, BTC), 0, taker=0.0)
    assert rows is not None
    variants = rows.evaluate(np.array([10 * (1 - 1e-13)]), np.array([2_000.0]))
    assert variants.present.tolist() == [[False, True]]


def test_reductions_solve_prices_only_for_the_positions_asked_for():
    acct = account(position(ETH.symbol, 10, 2_000), position(BTC.symbol, 1, 40_000))
    rows = Reductions.of(acct, VENUE, 0, taker=0.0)
    assert rows is not None
    variants = rows.evaluate(np.array([5.0]), np.array([2_000.0]), solve_for=np.array([False, True]))
    # 10 000 + 5 (P_eth − 2 000) + (P − 40 000) = 0.005 · 5 · 2 000 + 0.004 · P with ETH at its mark
    assert variants.price[0, 1] == pytest.approx((30_000 + 50) / 0.996, rel=1e-12)
    assert math.isnan(variants.price[0, 0])


def test_a_fill_on_a_symbol_the_venue_does_not_list_is_refused_naming_both():
    with pytest.raises(WhatIfError) as err:
        apply_fills(account(), VENUE, [Increase("XRP/USDT:USDT", Side.LONG, 1, 1, 1)], taker=0.0)
    assert str(err.value) == "no market 'XRP/USDT:USDT' on binanceusdm"


def test_a_cut_the_amount_grid_rounds_to_a_full_close_releases_all_the_isolated_margin():
    # 1 − 1e-9 of a 1-ETH position leaves 1e-9, 1e-7 of a 0.01 step: snapped to 0, so the position is closed
    # and its whole 400 of margin returns to the cross wallet (not 400 · (1 − 1e-9)); no PnL at entry, no fee
    eth = position(ETH.symbol, 1, 2_000, isolated_margin=400)
    after = apply_fills(account(eth, position(BTC.symbol, 1, 40_000)), VENUE,
                        [Reduce(ETH.symbol, Side.LONG, 1 - 1e-9, 2_000)], taker=0.0)
    assert [p.symbol for p in after.positions] == [BTC.symbol]
    assert after.balances["USDT"].cross_wallet == 10_400.0
    # the same cut through the array path: the pool of 10 400 holds 1 BTC at 40 000,
    # 10 400 + (P − 40 000) = 0.004 · P
    rows = Reductions.of(account(eth, position(BTC.symbol, 1, 40_000)), VENUE, 0, taker=0.0)
    assert rows is not None
    variants = rows.evaluate(np.array([1 - 1e-9]), np.array([2_000.0]))
    assert variants.present.tolist() == [[False, True]]
    assert variants.price[0, 1] == pytest.approx(29_600 / 0.996, rel=1e-12)
