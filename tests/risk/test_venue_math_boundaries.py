"""Edges of the venue math the main tests leave open: Binance hedge legs sharing one price where every market
has a single margin tier (no tier kink at all), worked out by hand, through ``check``'s path and the batch API;
groups of two and of three legs in one call; ``solve`` given a requirement without its cached entry value; and
the rounding toward entry, which treats a root within 1e-9 of a tick as on it."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from plan_factory import account, market, position, venue_of

from riskguard.model import ContractKind, MarginTier, PositionSide, Side, TierBasis
from riskguard.risk.account_risk import VariantEvaluator, evaluate_account
from riskguard.risk.batch import liquidation_frame
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import RULE_NAMES, PositionArrays, display, solve_shared_legs
from riskguard.risk.venue_rules import CONVENTIONS, PriceConvention

ETH = market("ETH/USDT:USDT", 0.005)
BTC = market("BTC/USDT:USDT", 0.004)
BTCUSD = market("BTC/USD:BTC", 0.004, kind=ContractKind.INVERSE, contract_size=100.0, settle="BTC")
# 10 long and 4 short at 2 000 on 3 000 of cross wallet: equity 3 000 + 6 (P − 2 000), MM 0.005 · 14 P.
# Liquidation 9 000 = 5.93 P; bankruptcy 9 000 = 6 P.
LIQUIDATION, BANKRUPTCY = 9_000 / 5.93, 1_500.0


def test_hedge_legs_when_every_market_has_one_tier_then_their_shared_price_still_counts_maintenance():
    acct = account(position(ETH.symbol, 10, 2_000, 1_900, leg=PositionSide.LONG),
                   position(ETH.symbol, 4, 2_000, 1_900, side=Side.SHORT, leg=PositionSide.SHORT),
                   wallet=3_000, hedge=True)
    long, short = evaluate_account(acct, venue_of(ETH)).positions
    for leg in (long, short):
        assert leg.liquidation_price == pytest.approx(LIQUIDATION, rel=1e-12)  # 1 517.71, not the bankruptcy price
        assert leg.bankruptcy_price == pytest.approx(BANKRUPTCY, rel=1e-12)


def test_liquidation_frame_when_hedge_legs_have_one_tier_then_their_shared_price_still_counts_maintenance():
    frame = pd.DataFrame({"venue": "binanceusdm", "margin_mode": "cross", "symbol": "ETH", "side": ["long", "short"],
                          "contracts": [10.0, 4.0], "contract_size": 1.0, "entry_price": 2_000.0,
                          "mark_price": 1_900.0, "margin": 3_000.0, "inverse": False, "hedge_group": "eth"})
    out = liquidation_frame(frame, {"ETH": [MarginTier(0.0, float("inf"), 0.005)]})
    assert out["liquidation_price"].tolist() == pytest.approx([LIQUIDATION] * 2, rel=1e-12)
    assert out["bankruptcy_price"].tolist() == pytest.approx([BANKRUPTCY] * 2, rel=1e-12)


def test_variants_when_nothing_changed_and_one_position_solved_then_solve_recomputes_the_entry_value():
    # Solving a subset with no size changed gathers the account's requirement without its cached entry value,
    # and the positions not solved keep the account's own notional.
    # ETH: 10 long at 2 000, mark 1 900, isolated 2 000: 2 000 + 10 (P − 2 000) = 0.05 P  ⇒  P = 18 000 / 9.95
    acct = account(position(ETH.symbol, 10, 2_000, 1_900, isolated_margin=2_000),
                   position(BTC.symbol, 1, 60_000, isolated_margin=6_000),
                   position(BTCUSD.symbol, 10, 50_000, isolated_margin=0.005))
    evaluator = VariantEvaluator.of(acct, venue_of(ETH, BTC, BTCUSD))
    assert evaluator is not None
    got = evaluator.evaluate(np.array([[10.0, 1.0, 10.0]]), np.array([[2_000.0, 6_000.0, 0.005]]),
                             {"USDT": np.array([10_000.0])}, changed=np.array([False, False, False]),
                             solve_for=np.array([True, False, False]))
    assert got.price[0, 0] == pytest.approx(18_000 / 9.95, rel=1e-12)
    assert math.isnan(got.price[0, 1]) and math.isnan(got.price[0, 2])  # not asked for
    assert got.buffer_pct[0, 0] == pytest.approx((1_900 - 18_000 / 9.95) / 1_900 * 100, rel=1e-12)
    # notional ÷ equity: 19 000 / 1 000; 60 000 / 6 000; inverse 10 × 100 USD / 50 000 = 0.02 BTC on 0.005 BTC
    assert got.effective_leverage[0].tolist() == pytest.approx([19.0, 10.0, 4.0], rel=1e-12)


@pytest.mark.parametrize("solve_for", [None, np.array([True, False])], ids=["every position", "one position"])
def test_variants_when_nothing_changed_on_okx_then_the_current_tier_and_the_fee_still_hold(solve_for):
    # OKX pins the tier the position is in now and adds the taker fee to its rate.  ETH: 10 long at 2 000,
    # mark 1 900 (19 000: tier 1, mmr 1 %, deduction 92.5), isolated 2 000, fee 0.05 %:
    # 2 000 + 10 (P − 2 000) = 10 P · 1.05 % − 92.5  ⇒  P = 17 907.5 / 9.895, shown one 0.1 tick toward the mark.
    # (Searched, the tier at that price would be tier 0, P = 18 000 / 9.945; without the fee, 17 907.5 / 9.9.)
    tiers = (MarginTier(0, 18_500, 0.005), MarginTier(18_500, 1e12, 0.01, 92.5))
    eth, btc = market(ETH.symbol, 0.005, venue="okx", tiers=tiers), market(BTC.symbol, 0.004, venue="okx")
    acct = account(position(eth.symbol, 10, 2_000, 1_900, isolated_margin=2_000),
                   position(btc.symbol, 1, 60_000, isolated_margin=6_000), venue="okx", taker=0.0005)
    evaluator = VariantEvaluator.of(acct, venue_of(eth, btc))
    assert evaluator is not None
    got = evaluator.evaluate(np.array([[10.0, 1.0]]), np.array([[2_000.0, 6_000.0]]), {"USDT": np.array([10_000.0])},
                             changed=np.array([False, False]), solve_for=solve_for)
    assert got.price[0, 0] == pytest.approx(17_907.5 / 9.895 + 0.1, rel=1e-12)


def test_variants_when_okx_tiers_count_contracts_then_a_changed_size_is_tiered_by_its_contracts():
    # 0.1 ETH contracts, tier 1 (mmr 1 %) from 80 contracts.  Cut from 100 to 90 contracts (9 ETH), still tier 1:
    # 2 000 + 9 (P − 2 000) = 9 P · 1.05 %  ⇒  P = 16 000 / 8.9055, shown one 0.1 tick toward the mark.
    tiers = (MarginTier(0, 80, 0.005), MarginTier(80, 1e12, 0.01))
    eth = replace(market(ETH.symbol, 0.005, venue="okx", tiers=tiers, contract_size=0.1),
                  tier_basis=TierBasis.CONTRACTS)
    acct = account(position(eth.symbol, 100, 2_000, 1_900, isolated_margin=2_000), venue="okx", taker=0.0005)
    evaluator = VariantEvaluator.of(acct, venue_of(eth))
    assert evaluator is not None
    got = evaluator.evaluate(np.array([[90.0]]), np.array([[2_000.0]]), {"USDT": np.array([10_000.0])},
                             changed=np.array([True]))
    assert got.price[0, 0] == pytest.approx(16_000 / 8.9055 + 0.1, rel=1e-12)


def test_solve_shared_legs_when_groups_differ_in_leg_count_then_each_gets_its_own_price():
    # group 0: the 10 long / 4 short above; group 1: 2 + 3 long and 1 short at 100 on 100 of collateral,
    # equity 100 + 4 (P − 100), MM 0.005 · 6 P  ⇒  liquidation 300 / 3.97, bankruptcy 75
    n = 5
    ones = np.ones(n)
    pos = PositionArrays(inverse=np.zeros(n, bool), side=np.array([1.0, -1.0, 1.0, 1.0, -1.0]),
                         qty=np.array([10.0, 4.0, 2.0, 3.0, 1.0]), contracts=ones,
                         entry=np.array([2_000.0, 2_000.0, 100.0, 100.0, 100.0]),
                         mark=np.array([1_900.0, 1_900.0, 90.0, 90.0, 90.0]), table=np.zeros(n, dtype=np.int64),
                         tiers=TierTable.flat(0.005), by_contracts=np.zeros(n, bool),
                         reported_tier=np.full(n, -1), taker=ones * 0.0004, leverage=ones * 10,
                         isolated=np.zeros(n, bool))
    liq, bankrupt = np.full(n, np.nan), np.full(n, np.nan)
    solve_shared_legs(pos, np.zeros(n), [[0, 1], [2, 3, 4]], [3_000.0, 100.0], liq, bankrupt)
    assert liq.tolist() == pytest.approx([LIQUIDATION] * 2 + [300 / 3.97] * 3, rel=1e-12)
    assert bankrupt.tolist() == pytest.approx([BANKRUPTCY] * 2 + [75.0] * 3, rel=1e-12)


def test_display_toward_entry_when_the_root_is_a_hair_off_a_tick_then_it_is_that_tick():
    # 3e-10 of a 0.1 tick either side of 100.0 is float noise, not a price past the tick: no step up (long)
    # or down (short); 100.04 is 0.4 of a tick past 100.0 and steps to 100.1 (long) or 100.0 (short)
    toward_entry = CONVENTIONS.index(PriceConvention.ROUND_TOWARD_ENTRY)
    shown, rule = display(np.array([100.00000000003, 99.99999999997, 100.04, 100.04]),
                          np.array([1.0, -1.0, 1.0, -1.0]), np.full(4, 0.1), np.full(4, toward_entry))
    assert shown.tolist() == [100.0, 100.0, 100.1, 100.0]
    assert [RULE_NAMES[r] for r in rule] == ["rounded toward entry to the tick"] * 4
