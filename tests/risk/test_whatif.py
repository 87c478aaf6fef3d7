"""The what-if engine against fills worked out by hand (wallet, isolated margin, entry), then re-evaluated."""

from __future__ import annotations

from dataclasses import replace

import pytest
from plan_factory import account, market, position, venue_of

from riskguard.model import AccountType, ContractKind, MarginMode, PositionSide, Side
from riskguard.risk.account_risk import evaluate_account
from riskguard.risk.whatif import AddMargin, Increase, Reduce, WhatIfError, apply_fills, evaluate_after

BTC = market("BTC/USDT:USDT", 0.004)
ETH = market("ETH/USDT:USDT", 0.005, step=0.01)
INV = market("BTC/USD:BTC", 0.004, kind=ContractKind.INVERSE, contract_size=100.0, settle="BTC", step=1.0)
VENUE = venue_of(BTC, ETH)


def test_reduce_when_cross_long_in_profit_then_pnl_less_fee_to_wallet_and_pool_liquidation_recomputed():
    acct = account(position(BTC.symbol, 1.0, 40_000, 50_000))
    after, risk = evaluate_after(acct, VENUE, [Reduce(BTC.symbol, Side.LONG, 0.4, 50_000)], taker=0.0004)
    # PnL 0.4·(50 000 − 40 000) = 4 000; fee 0.0004·0.4·50 000 = 8 → wallet 10 000 + 3 992.
    assert after.balances["USDT"].wallet == pytest.approx(13_992.0, abs=1e-9)
    assert after.balances["USDT"].cross_wallet == pytest.approx(13_992.0, abs=1e-9)
    assert after.positions[0].contracts == 0.6 and after.positions[0].entry_price == 40_000
    # 13 992 + 0.6·(P − 40 000) = 0.004·0.6·P  →  P = (24 000 − 13 992)/0.5976
    assert risk.positions[0].liquidation_price == pytest.approx(10_008 / 0.5976, rel=1e-12)


def test_reduce_when_isolated_then_margin_released_pro_rata_and_loss_paid_from_wallet():
    acct = account(position(ETH.symbol, 10, 2_000, 1_900, isolated_margin=2_000), wallet=7_000, cross_wallet=5_000)
    after = apply_fills(acct, VENUE, [Reduce(ETH.symbol, Side.LONG, 4, 1_900)], taker=0.0005)
    # PnL 4·(1 900 − 2 000) = −400; fee 0.0005·4·1 900 = 3.8; released 2 000·4/10 = 800.
    assert after.balances["USDT"].wallet == pytest.approx(7_000 - 403.8, abs=1e-9)
    assert after.balances["USDT"].cross_wallet == pytest.approx(5_000 + 800 - 403.8, abs=1e-9)
    assert after.positions[0].isolated_margin == pytest.approx(1_200)
    assert after.positions[0].contracts == 6


def test_reduce_when_inverse_short_then_pnl_in_coin():
    acct = account(position(INV.symbol, 10, 50_000, 40_000, side=Side.SHORT), wallet=1.0, asset="BTC")
    after = apply_fills(acct, venue_of(INV), [Reduce(INV.symbol, Side.SHORT, 5, 40_000)], taker=0.0005)
    # 5 contracts = 500 USD; PnL −1·500·(1/50 000 − 1/40 000) = 0.0025 BTC; fee 0.0005·500/40 000 = 6.25e-6 BTC.
    assert after.balances["BTC"].wallet == pytest.approx(1.0 + 0.0025 - 6.25e-6, abs=1e-15)


def test_reduce_when_whole_position_then_removed_and_isolated_margin_returned():
    acct = account(position(ETH.symbol, 10, 2_000, isolated_margin=2_000), wallet=7_000, cross_wallet=5_000)
    after = apply_fills(acct, VENUE, [Reduce(ETH.symbol, Side.LONG, 10, 2_000)], taker=0.0)
    assert after.positions == () and after.balances["USDT"].cross_wallet == 7_000


def test_reduce_when_size_changes_then_venue_figures_and_pinned_tier_dropped_for_the_pool():
    btc = position(BTC.symbol, 1.0, 50_000)
    eth = position(ETH.symbol, 10, 2_000)
    pinned = replace(btc, tier_index=3, venue_liquidation_price=40_000.0)
    other = replace(eth, venue_liquidation_price=1_000.0)
    after = apply_fills(account(pinned, other), VENUE, [Reduce(BTC.symbol, Side.LONG, 0.5, 50_000)], taker=0.0)
    assert after.positions[0].tier_index is None and after.positions[0].venue_liquidation_price is None
    assert after.positions[1].venue_liquidation_price is None  # same cross pool: its price moved too


def test_add_margin_when_isolated_then_moves_cross_wallet_into_position():
    acct = account(position(ETH.symbol, 10, 2_000, isolated_margin=200), wallet=7_000, cross_wallet=5_000)
    after, risk = evaluate_after(acct, VENUE, [AddMargin(ETH.symbol, Side.LONG, 300)], taker=0.0004)
    assert after.positions[0].isolated_margin == 500
    assert after.balances["USDT"].cross_wallet == 4_700 and after.balances["USDT"].wallet == 7_000
    # 500 + 10·(P − 2 000) = 0.005·10·P  →  P = 19 500/9.95
    assert risk.positions[0].liquidation_price == pytest.approx(19_500 / 9.95, rel=1e-12)


def test_add_margin_when_cross_then_refused():
    with pytest.raises(WhatIfError, match="isolated"):
        apply_fills(account(position(BTC.symbol, 1, 50_000)), VENUE, [AddMargin(BTC.symbol, Side.LONG, 1)], 0.0)


def test_reduce_when_more_than_position_then_refused():
    with pytest.raises(WhatIfError, match="cannot reduce 2 contracts of a 1-contract"):
        apply_fills(account(position(BTC.symbol, 1, 50_000)), VENUE, [Reduce(BTC.symbol, Side.LONG, 2, 50_000)], 0.0)


def test_reduce_when_hedge_leg_named_then_only_that_leg_changes():
    long_leg = position(BTC.symbol, 1, 50_000, leg=PositionSide.LONG)
    short_leg = position(BTC.symbol, 2, 50_000, side=Side.SHORT, leg=PositionSide.SHORT)
    after = apply_fills(account(long_leg, short_leg, hedge=True), VENUE,
                        [Reduce(BTC.symbol, Side.SHORT, 0.5, 50_000, PositionSide.SHORT)], taker=0.0)
    assert [p.contracts for p in after.positions] == [1, 1.5]


def test_increase_when_same_side_linear_then_entry_is_quantity_weighted_and_fee_paid():
    acct = account(position(BTC.symbol, 1, 40_000, 50_000))
    after = apply_fills(acct, VENUE, [Increase(BTC.symbol, Side.LONG, 1, 50_000, 50_000)], taker=0.0004)
    assert after.positions[0].entry_price == 45_000 and after.positions[0].contracts == 2
    assert after.balances["USDT"].wallet == pytest.approx(10_000 - 20)  # 0.0004·50 000


def test_increase_when_inverse_then_entry_is_harmonic():
    acct = account(position(INV.symbol, 100, 40_000, side=Side.LONG), wallet=1.0, asset="BTC")
    after = apply_fills(acct, venue_of(INV), [Increase(INV.symbol, Side.LONG, 100, 60_000, 60_000)], taker=0.0)
    # 200 contracts ÷ (100/40 000 + 100/60 000) = 48 000
    assert after.positions[0].entry_price == pytest.approx(48_000, rel=1e-12)


def test_increase_when_new_isolated_then_initial_margin_posted_from_cross_wallet():
    after = apply_fills(account(), VENUE, [Increase(ETH.symbol, Side.SHORT, 5, 2_000, 2_000, leverage=10,
                                                    margin_mode=MarginMode.ISOLATED)], taker=0.0005)
    p = after.positions[0]
    assert (p.side, p.contracts, p.isolated_margin, p.leverage) == (Side.SHORT, 5, 1_000, 10)
    # IM 5·2 000/10 = 1 000 and fee 0.0005·10 000 = 5 leave the cross wallet; only the fee leaves the wallet.
    assert after.balances["USDT"].cross_wallet == pytest.approx(8_995) and after.balances["USDT"].wallet == 9_995


def test_increase_when_one_way_opposite_side_then_closes_and_opens_the_rest():
    acct = account(position(BTC.symbol, 1, 50_000))
    after = apply_fills(acct, VENUE, [Increase(BTC.symbol, Side.SHORT, 1.5, 50_000, 50_000)], taker=0.0)
    assert [(p.side, p.contracts) for p in after.positions] == [(Side.SHORT, 0.5)]


def test_apply_when_bybit_unified_then_evaluate_recomputes_the_fee_reserve_on_the_new_size():
    bybit = market("BTC/USDT:USDT", 0.005, venue="bybit")
    acct = account(position(bybit.symbol, 2, 50_000, isolated_margin=10_000), venue="bybit", taker=0.00055)
    acct = replace(acct, account_type=AccountType.UNIFIED)
    before = evaluate_account(acct, venue_of(bybit)).positions[0]
    after = evaluate_after(acct, venue_of(bybit), [Reduce(bybit.symbol, Side.LONG, 1, 50_000)], 0.00055)[1]
    # Pro-rata margin keeps margin per contract, so the liquidation price of the remainder is unchanged.
    assert after.positions[0].liquidation_price == pytest.approx(before.liquidation_price, rel=1e-12)
    assert after.positions[0].maintenance_margin == pytest.approx(before.maintenance_margin / 2, rel=1e-12)
