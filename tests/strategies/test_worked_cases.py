"""One worked case per shipped strategy, every expected number derived by hand in the comments.

Markets have one maintenance tier (Binance USDⓈ-M math: equity = MM at the liquidation price), so each
answer is a line of arithmetic; the strategies still get it through the what-if engine and evaluate_account.
"""

from __future__ import annotations

import math

import pytest
from plan_factory import account, flat_book, market, position, venue_of

from riskguard.errors import ConfigError
from riskguard.model import ContractKind, MarginTier, Order, OrderSide, Side
from riskguard.risk.bands import Band
from riskguard.risk.volatility import RealizedVolatility
from riskguard.risk.whatif import Reduce, evaluate_after
from riskguard.rules.plan import OrderKind
from riskguard.rules.strategy import MarketSignals, OrderLimits, StrategyContext, make_plan
from strategies.add_margin import AddMargin
from strategies.alert_only import AlertOnly
from strategies.close_worst_first import CloseWorstFirst
from strategies.reduce_size import ReduceSize
from strategies.staggered_stops import StaggeredStops

BTC = market("BTC/USDT:USDT", 0.004)
ALT = market("ALT/USDT:USDT", 0.025, step=0.1, tick=0.001)
ETH = market("ETH/USDT:USDT", 0.005, step=0.01, tick=0.01)
VENUE = venue_of(BTC, ALT, ETH)


# -- reduce_size -------------------------------------------------------------------------------------------

def _btc_long():
    # Long 1 BTC at 50 000, cross wallet 10 000, taker 0.04%.  Now: 10 000 + (P − 50 000) = 0.004·P → LP 40 160.64,
    # buffer 19.68%.
    return account(position(BTC.symbol, 1.0, 50_000))


def test_reduce_size_when_buffer_below_target_then_smallest_step_that_restores_it():
    # Cut a: wallet 10 000 − 0.0004·50 000·a = 10 000 − 20a; q = 1 − a left.  LP ≤ 35 000 (30% buffer) needs
    # W + q(35 000 − 50 000) ≥ 0.004·q·35 000 → 10 000 − 20(1 − q) ≥ 15 140q → q ≤ 9 980/15 120 = 0.66005
    # → a ≥ 0.33995 → 0.340 on the 0.001 grid (0.339 leaves q = 0.661 > 0.66005).
    plan = make_plan(StrategyContext.build(_btc_long(), VENUE), [ReduceSize({"target": "buffer_pct", "value": 30})])
    (order,) = plan.orders
    assert (order.side, order.kind, order.amount, order.price) == ("sell", OrderKind.MARKET, 0.34, 50_000)
    assert plan.after.positions[0].buffer_pct >= 30 > plan.before.positions[0].buffer_pct
    assert plan.reason_codes == ("PLAN_REDUCES_POSITION",)
    one_less = evaluate_after(_btc_long(), VENUE, [Reduce(BTC.symbol, Side.LONG, 0.339, 50_000)], 0.0004)[1]
    assert one_less.positions[0].buffer_pct < 30


def test_reduce_size_when_remainder_below_min_notional_then_closes_the_position():
    # The 0.340 cut leaves 0.66·50 000 = 33 000 of notional, under a 40 000 minimum: close all 1.0 instead.
    ctx = StrategyContext.build(_btc_long(), VENUE, limits={BTC.symbol: OrderLimits(0.001, 0.001, 40_000)})
    plan = make_plan(ctx, [ReduceSize({"target": "buffer_pct", "value": 30})])
    assert [(o.amount, o.reason_codes) for o in plan.orders] == [(1.0, ("PLAN_CLOSES_POSITION",))]
    assert plan.after.positions == ()


def test_reduce_size_when_cut_below_min_amount_then_raised_to_the_minimum():
    # 20% buffer needs LP ≤ 40 000: 10 000 − 20(1 − q) ≥ 9 840q → q ≤ 9 980/9 820 > 1 − 0.003… tiny cut (0.003);
    # the venue's minimum of 0.1 contract makes it 0.1.
    ctx = StrategyContext.build(_btc_long(), VENUE, limits={BTC.symbol: OrderLimits(0.001, 0.1, 0.0)})
    plan = make_plan(ctx, [ReduceSize({"target": "buffer_pct", "value": 20})])
    assert [o.amount for o in plan.orders] == [0.1]


def test_reduce_size_when_effective_leverage_target_then_notional_over_equity_meets_it():
    # Leverage 50 000/10 000 = 5.  ≤ 2 needs (1 − a)·50 000 ≤ 2·(10 000 − 20a) → a ≥ 30 000/49 960 = 0.60048 → 0.601.
    plan = make_plan(StrategyContext.build(_btc_long(), VENUE),
                     [ReduceSize({"target": "effective_leverage", "value": 2})])
    assert [o.amount for o in plan.orders] == [0.601]


def test_reduce_size_when_sigma_target_then_liquidation_price_moves_that_many_sigmas_away():
    # σ 1% per hourly bar over a day: σ_h = 0.01·√24.  6σ needs ln(50 000/LP) ≥ 6σ_h → LP ≤ P* = 50 000·e^(−6σ_h).
    # From the cut formula above, LP(q) ≤ P* needs q·(49 980 − 0.996·P*) ≤ 9 980.
    sigma_h = 0.01 * math.sqrt(24)
    p_star = 50_000 * math.exp(-6 * sigma_h)
    q_max = 9_980 / (49_980 - 0.996 * p_star)  # 0.77597…
    expected = math.ceil((1 - q_max) * 1000) / 1000  # 0.225
    vol = RealizedVolatility("ok", None, 0.01, 3_600, 200)
    ctx = StrategyContext.build(_btc_long(), VENUE, signals={BTC.symbol: MarketSignals(volatility=vol)})
    plan = make_plan(ctx, [ReduceSize({"target": "sigma_buffer", "value": 6})])
    assert expected == 0.225 and [o.amount for o in plan.orders] == [expected]
    assert plan.after.positions[0].liquidation_price <= p_star < plan.before.positions[0].liquidation_price


def test_reduce_size_when_inverse_coin_margined_then_cut_in_whole_contracts():
    # COIN-M: 100 contracts of 100 USD long at 50 000, 0.1 BTC cross, mmr 0.5%, taker 0.05%.  Face F = 100q.
    # Equity at P: W + F(1/50 000 − 1/P) = 0.005·F/P → LP = 1.005F/(W + F/50 000): now 10 050/0.3 = 33 500.
    # Cut a contracts: W = 0.1 − 0.0005·100a/50 000 = 0.1 − 1e-6·a.  LP ≤ 30 000 (40% buffer):
    # 1.005F ≤ 30 000W + 0.6F → 40.5q ≤ 3 000 − 0.03a = 2 997 + 0.03q → q ≤ 2 997/40.47 = 74.05 → a = 26.
    inv = market("BTC/USD:BTC", 0.005, venue="binancecoinm", step=1.0, kind=ContractKind.INVERSE,
                 contract_size=100.0, settle="BTC")
    acct = account(position(inv.symbol, 100, 50_000), wallet=0.1, asset="BTC", venue="binancecoinm", taker=0.0005)
    ctx = StrategyContext.build(acct, venue_of(inv))
    assert ctx.risk.positions[0].liquidation_price == pytest.approx(33_500, rel=1e-12)
    plan = make_plan(ctx, [ReduceSize({"target": "buffer_pct", "value": 40})])
    assert [o.amount for o in plan.orders] == [26]
    assert plan.after.positions[0].liquidation_price <= 30_000


def test_reduce_size_when_sigma_target_without_volatility_then_input_missing_and_no_order():
    plan = make_plan(StrategyContext.build(_btc_long(), VENUE), [ReduceSize({"target": "sigma_buffer", "value": 3})])
    assert plan.orders == () and plan.reason_codes == ("PLAN_INPUT_MISSING",)


# -- close_worst_first -------------------------------------------------------------------------------------

def _two_position_pool():
    # Cross pool, wallet 10 000: BTC 1 @ 50 000 (mmr 0.4%, MM 200) and ALT 200 @ 100 (notional 20 000, mmr 2.5%,
    # MM 500).  MR = 700/10 000 = 7%, buffer 93%.
    return account(position(BTC.symbol, 1.0, 50_000), position(ALT.symbol, 200, 100))


def test_close_worst_first_when_small_high_rate_position_then_it_goes_before_the_largest():
    # Target buffer 95% (MR ≤ 5%).  Closing a ALT contracts: (700 − 2.5a)/(10 000 − 0.0004·100a) ≤ 0.05
    # → 200 ≤ 2.498a → a ≥ 80.064 → 80.1 contracts (8 010 of notional).
    plan = make_plan(StrategyContext.build(_two_position_pool(), VENUE),
                     [CloseWorstFirst({"target": "buffer_pct", "value": 95})])
    (order,) = plan.orders
    assert (order.symbol, order.side, order.amount) == (ALT.symbol, "sell", 80.1)
    assert plan.after.cross[0].buffer_pct >= 95
    # The naive "largest position first" closes BTC (50 000 of notional) and still misses:
    # MM 500, equity 10 000 − 20 = 9 980 → buffer 1 − 500/9 980 = 94.99%.
    naive = evaluate_after(_two_position_pool(), VENUE, [Reduce(BTC.symbol, Side.LONG, 1.0, 50_000)], 0.0004)[1]
    assert naive.cross[0].headroom_pct == pytest.approx((1 - 500 / 9_980) * 100, rel=1e-12)
    assert naive.cross[0].headroom_pct < 95


def test_close_worst_first_when_one_position_is_not_enough_then_closes_it_and_continues():
    # Target 97.5% (MR ≤ 2.5%).  All ALT out: MM 200, equity 10 000 − 8 = 9 992 → 2.0016%: met by ALT alone?
    # Yes: 200/9 992 = 2.0% ≤ 2.5%, but the smallest ALT cut is (700 − 2.5a)/(10 000 − 0.04a) ≤ 0.025
    # → 450 ≤ 2.499a → a ≥ 180.07 → 180.1, leaving 19.9 ALT; 19.9·100 = 1 990 ≥ minimum, so no full close.
    plan = make_plan(StrategyContext.build(_two_position_pool(), VENUE),
                     [CloseWorstFirst({"target": "buffer_pct", "value": 97.5})])
    assert [(o.symbol, o.amount) for o in plan.orders] == [(ALT.symbol, 180.1)]
    # 99% (MR ≤ 1%) cannot be met by ALT alone (2.0% after closing it): ALT is closed, then BTC is cut:
    # (200 − 200b)/(9 992 − 20b) ≤ 0.01 → 100.08 ≤ 199.8b → b ≥ 0.50090 → 0.501.
    plan = make_plan(StrategyContext.build(_two_position_pool(), VENUE),
                     [CloseWorstFirst({"target": "buffer_pct", "value": 99})])
    assert [(o.symbol, o.amount) for o in plan.orders] == [(ALT.symbol, 200), (BTC.symbol, 0.501)]
    assert plan.orders[0].reason_codes == ("PLAN_CLOSES_POSITION",)


def test_close_worst_first_when_a_cut_drops_a_tier_then_ranks_again_and_switches_position():
    # ALT tiers: below 10 000 of notional 0.2%; from 10 000 3% with cum 10 000·(3% − 0.2%) = 280.  BTC one tier 1%.
    # Wallet 10 000; BTC 1 @ 50 000 → MM 500; ALT 200 @ 100 = 20 000 → MM 20 000·3% − 280 = 320.  MR 8.2%.
    alt = market("ALT/USDT:USDT", 0, step=0.1, tick=0.001,
                 tiers=(MarginTier(0, 10_000, 0.002, 0.0), MarginTier(10_000, 1e12, 0.03, 280.0)))
    btc = market(BTC.symbol, 0.01)
    acct = account(position(btc.symbol, 1.0, 50_000), position(alt.symbol, 200, 100))
    plan = make_plan(StrategyContext.build(acct, venue_of(btc, alt)),
                     [CloseWorstFirst({"target": "buffer_pct", "value": 95})])
    # ALT first (3% > 1%), but only out of its tier: remaining < 100 contracts → cut 100.1 (99.9 left, 9 990 of
    # notional at 0.2% = MM 19.98).  Pool: MM 519.98, equity 10 000 − 0.0004·10 010 = 9 995.996 → 5.20% > 5%.
    # Ranked again ALT 0.2% < BTC 1%: (519.98 − 500b)/(9 995.996 − 20b) ≤ 0.05 → 20.1802 ≤ 499b → b ≥ 0.04044
    # → 0.041.  12 060 of notional closed, where closing ALT whole first (its 3% at the start) would close
    # 20 000 and still need BTC: (500 − 500b)/(9 992 − 20b) ≤ 0.05 → b ≥ 0.000802 → 20 050.
    assert [(o.symbol, o.amount) for o in plan.orders] == [(alt.symbol, 100.1), (btc.symbol, 0.041)]
    assert plan.after.cross[0].buffer_pct >= 95


# -- add_margin --------------------------------------------------------------------------------------------

def _iso_eth(margin: float = 200.0, cross_wallet: float = 5_000.0):
    # ETH isolated long 10 @ 2 000, margin 200: 200 + 10(P − 2 000) = 0.005·10·P → LP 19 800/9.95 = 1 989.95,
    # buffer 0.5%.
    return account(position(ETH.symbol, 10, 2_000, isolated_margin=margin), wallet=cross_wallet + margin,
                   cross_wallet=cross_wallet)


def test_add_margin_when_buffer_short_then_smallest_cent_amount_that_reaches_it():
    # 5.001% needs LP ≤ 1 899.98: M = 0.05·1 899.98 + 10·(2 000 − 1 899.98) = 1 095.199 → add 895.199 → 895.20.
    plan = make_plan(StrategyContext.build(_iso_eth(), VENUE), [AddMargin({"buffer_pct": 5.001, "max_amount": 2_000})])
    (order,) = plan.orders
    assert (order.kind, order.amount, order.reason_codes) == (OrderKind.ADD_MARGIN, 895.2, ("PLAN_ADDS_MARGIN",))
    assert plan.after.positions[0].buffer_pct >= 5.001


@pytest.mark.parametrize(("cap", "cross_wallet", "added"), [(500, 5_000, 500), (2_000, 300, 300)])
def test_add_margin_when_cap_or_free_balance_binds_then_adds_that_and_says_unreachable(cap, cross_wallet, added):
    plan = make_plan(StrategyContext.build(_iso_eth(cross_wallet=cross_wallet), VENUE),
                     [AddMargin({"buffer_pct": 5.001, "max_amount": cap})])
    assert [o.amount for o in plan.orders] == [added]
    assert plan.reason_codes == ("PLAN_ADDS_MARGIN", "PLAN_TARGET_UNREACHABLE")


def test_add_margin_then_reduce_size_when_chained_then_reduction_sizes_only_what_margin_left():
    # All 300 of free balance goes in: LP (20 000 − 500)/9.95 = 1 959.80, buffer 2.01% < 5.001%.  An isolated
    # cut releases margin pro rata, so margin per contract and the LP of the remainder do not move: the only
    # reduction that meets the target is closing all 10 contracts.
    plan = make_plan(StrategyContext.build(_iso_eth(cross_wallet=300), VENUE),
                     [AddMargin({"buffer_pct": 5.001, "max_amount": 2_000}),
                      ReduceSize({"target": "buffer_pct", "value": 5.001})])
    assert [(o.kind, o.amount) for o in plan.orders] == [(OrderKind.ADD_MARGIN, 300), (OrderKind.MARKET, 10)]


# -- staggered_stops ---------------------------------------------------------------------------------------

def _stops_ctx(open_orders=(), bands=None):
    acct = account(position(BTC.symbol, 1.0, 50_000), open_orders=open_orders)
    signals = {BTC.symbol: MarketSignals(bands=bands, book=flat_book(50_000))}
    return StrategyContext.build(acct, VENUE, signals=signals)


def _expected_ladder():
    # LP 40 000/0.996; selling 1 contract fills at the best bid 49 975: 5 bp, ×2 = 0.1%; 0.5% gap:
    # last = LP·1.005/0.999.  Levels at 0.5, 0.75, 1 of the way, rounded up to 0.1 (toward mark).
    lp = 40_000 / 0.996
    last = lp * 1.005 / 0.999
    triggers = [math.ceil((50_000 + (last - 50_000) * f) * 10 - 1e-9) / 10 for f in (0.5, 0.75, 1.0)]
    return triggers, [0.166, 0.333, 0.501]  # weights 1:2:3 of 1.0, floored to 0.001, the last takes the rest


def test_staggered_stops_when_no_stops_then_graded_ladder_clear_of_liquidation():
    plan = make_plan(_stops_ctx(), [StaggeredStops()])
    triggers, amounts = _expected_ladder()
    assert [o.kind for o in plan.orders] == [OrderKind.STOP_MARKET] * 3
    assert [o.trigger_price for o in plan.orders] == pytest.approx(triggers, abs=1e-9)
    assert [o.amount for o in plan.orders] == amounts
    assert all(o.side == "sell" and o.reduce_only for o in plan.orders)
    assert plan.after == plan.before  # stops rest: nothing is filled now


def test_staggered_stops_when_short_then_buy_stops_above_mark_rounded_down_toward_it():
    # Short 1 BTC at 50 000, wallet 10 000: 10 000 + (50 000 − P) = 0.004·P → LP 60 000/1.004.  Buying 1 lifts
    # the best ask 50 025: 5 bp, ×2 = 0.1%.  last = LP·(1 − 0.005)/(1 + 0.001); levels rounded down to 0.1.
    acct = account(position(BTC.symbol, 1.0, 50_000, side=Side.SHORT), open_orders=())
    ctx = StrategyContext.build(acct, VENUE, signals={BTC.symbol: MarketSignals(book=flat_book(50_000))})
    last = 60_000 / 1.004 * 0.995 / 1.001
    triggers = [math.floor((50_000 + (last - 50_000) * f) * 10 + 1e-9) / 10 for f in (0.5, 0.75, 1.0)]
    plan = make_plan(ctx, [StaggeredStops()])
    assert [(o.side, o.amount) for o in plan.orders] == [("buy", 0.166), ("buy", 0.333), ("buy", 0.501)]
    assert [o.trigger_price for o in plan.orders] == pytest.approx(triggers, abs=1e-9)


def test_staggered_stops_when_level_inside_a_band_then_moved_ahead_of_it():
    triggers, _ = _expected_ladder()
    band = Band("long", triggers[1] - 300, triggers[1] + 200, 5e6, 10.0, triggers[1])
    plan = make_plan(_stops_ctx(bands=(band,)), [StaggeredStops()])
    moved = math.ceil((triggers[1] + 200) * 1.001 * 10 - 1e-9) / 10  # 0.1% above the band's top, up to the tick
    assert [o.trigger_price for o in plan.orders] == pytest.approx([triggers[0], moved, triggers[2]], abs=1e-9)


def test_staggered_stops_when_levels_in_nested_bands_then_each_moved_past_all_of_them():
    # Two overlapping long bands cover levels 2 and 3: both levels end 0.1% above the upper band's top and merge
    # into one level holding their sizes (0.333 + 0.501).
    triggers, _ = _expected_ladder()
    low = Band("long", triggers[2] - 100, triggers[1] + 50, 1e6, 12.0, triggers[2])
    high = Band("long", triggers[1] - 50, triggers[1] + 400, 1e6, 11.0, triggers[1])
    plan = make_plan(_stops_ctx(bands=(high, low)), [StaggeredStops()])
    moved = math.ceil((triggers[1] + 400) * 1.001 * 10 - 1e-9) / 10
    assert [(o.trigger_price, o.amount) for o in plan.orders] == [
        (pytest.approx(triggers[0]), 0.166), (pytest.approx(moved), 0.834)]


def test_staggered_stops_when_band_clearance_zero_then_parameter_error():
    with pytest.raises(ConfigError, match="band_clearance_pct: Input should be greater than 0"):
        StaggeredStops({"band_clearance_pct": 0})


def test_staggered_stops_when_existing_ladder_within_tolerance_then_kept():
    triggers, amounts = _expected_ladder()
    existing = tuple(Order(f"s{i}", BTC.symbol, OrderSide.SELL, "STOP_MARKET", a, t + 20, reduce_only=True)
                     for i, (t, a) in enumerate(zip(triggers, amounts, strict=True)))
    plan = make_plan(_stops_ctx(open_orders=existing), [StaggeredStops()])
    assert plan.orders == () and plan.reason_codes == ("PLAN_STOPS_UNCHANGED",)


def test_staggered_stops_when_existing_stop_differs_then_cancelled_and_replaced():
    existing = (Order("old", BTC.symbol, OrderSide.SELL, "STOP_MARKET", 1.0, 45_000.0, reduce_only=True),)
    plan = make_plan(_stops_ctx(open_orders=existing), [StaggeredStops()])
    assert [(o.kind, o.order_id) for o in plan.orders][:1] == [(OrderKind.CANCEL, "old")]
    assert [o.kind for o in plan.orders[1:]] == [OrderKind.STOP_MARKET] * 3


def test_staggered_stops_when_open_orders_unknown_then_no_ladder():
    plan = make_plan(_stops_ctx(open_orders=None), [StaggeredStops()])
    assert plan.orders == () and plan.reason_codes == ("PLAN_INPUT_MISSING",)


# -- alert_only --------------------------------------------------------------------------------------------

def test_alert_only_when_breached_then_no_orders_and_alert_code():
    plan = make_plan(StrategyContext.build(_btc_long(), VENUE), [AlertOnly()])
    assert plan.orders == () and plan.reason_codes == ("PLAN_ALERT_ONLY",) and plan.after == plan.before
