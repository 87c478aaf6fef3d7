"""``reduce_size`` (and the cut search it shares with ``close_worst_first``) at its edges, worked by hand: worst
position first, the target met exactly, a fill priced off the book, positions it cannot or need not cut.

Markets have one tier (Binance USDⓈ-M math); wallet 10 000, taker 0.04%.  Long 1 BTC at 50 000 alone:
LP 40 000/0.996 = 40 160.64, buffer 19.68%.
"""

from __future__ import annotations

import math

import pytest
from plan_factory import account, flat_book, market, position, venue_of

import riskguard.rules.strategy as strategy_module
import strategies.reduce_size as reduce_size_module
from riskguard.model import ContractKind, OrderBook, Side
from riskguard.risk.volatility import RealizedVolatility
from riskguard.risk.whatif import Reductions
from riskguard.rules.strategy import MarketSignals, OrderLimits, PositionRef, StrategyContext, make_plan
from strategies._reduce import Target, position_metric, smallest_cut
from strategies.reduce_size import ReduceSize, _guess

BTC = market("BTC/USDT:USDT", 0.004)
ALT = market("ALT/USDT:USDT", 0.025, step=0.1, tick=0.001)
VENUE = venue_of(BTC, ALT)


def _plan(acct, target, value, **kw):
    return make_plan(StrategyContext.build(acct, VENUE, **kw), [ReduceSize({"target": target, "value": value})])


def _orders(plan):
    return [(o.symbol, o.amount) for o in plan.orders]


def test_leverage_target_when_two_positions_miss_then_the_worst_is_cut_first():
    # Cross leverage = notional ÷ pool equity: BTC 5, ALT 2.  ≤ 1.5, BTC first:
    # (50 000 − 50 000b)/(10 000 − 20b) ≤ 1.5 → b ≥ 35 000/49 970 = 0.70042 → 0.701; equity 9 985.98.
    # ALT: (20 000 − 100a)/(9 985.98 − 0.04a) ≤ 1.5 → a ≥ 5 021.03/99.94 = 50.240 → 50.3.
    # (ALT first would give 50.1 then 0.701.)
    plan = _plan(account(position(ALT.symbol, 200, 100), position(BTC.symbol, 1.0, 50_000)),
                 "effective_leverage", 1.5)
    assert _orders(plan) == [(BTC.symbol, 0.701), (ALT.symbol, 50.3)]
    assert all(p.effective_leverage <= 1.5 for p in plan.after.positions)


def test_buffer_target_when_met_exactly_then_no_cut():
    acct = account(position(BTC.symbol, 1.0, 50_000))
    buffer = StrategyContext.build(acct, VENUE).risk.positions[0].buffer_pct
    assert _plan(acct, "buffer_pct", buffer).reason_codes == ("PLAN_NO_ACTION",)
    assert _orders(_plan(acct, "buffer_pct", math.nextafter(buffer, math.inf))) == [(BTC.symbol, 0.001)]


def test_leverage_target_when_met_exactly_then_no_cut():
    acct = account(position(BTC.symbol, 1.0, 50_000))  # 50 000/10 000 = 5 exactly
    assert _plan(acct, "effective_leverage", 5).reason_codes == ("PLAN_NO_ACTION",)
    assert _orders(_plan(acct, "effective_leverage", 4.999)) == [(BTC.symbol, 0.001)]


def test_cut_priced_off_the_book_then_fills_at_the_bid_and_needs_one_step_more():
    # Selling into the flat book fills at the best bid 49 975: wallet 10 000 − 25a − 0.0004·49 975a = 10 000 − 44.99a.
    # LP ≤ 35 000: 10 000 − 44.99(1 − q) ≥ 15 140q → q ≤ 9 955.01/15 095.01 = 0.65949 → a ≥ 0.34051 → 0.341
    # (0.340 when filled at mark).
    acct = account(position(BTC.symbol, 1.0, 50_000))
    plan = _plan(acct, "buffer_pct", 30, signals={BTC.symbol: MarketSignals(book=flat_book(50_000))})
    assert [(o.amount, o.price) for o in plan.orders] == [(0.341, pytest.approx(49_975))]
    thin = OrderBook(((49_975.0, 0.01),), ((50_025.0, 0.01),))  # cannot take the cut: priced at the mark
    plan = _plan(acct, "buffer_pct", 30, signals={BTC.symbol: MarketSignals(book=thin)})
    assert [(o.amount, o.price) for o in plan.orders] == [(0.34, 50_000)]


def test_position_below_the_minimum_order_then_unreachable_and_says_why():
    plan = _plan(account(position(BTC.symbol, 1.0, 50_000)), "buffer_pct", 30,
                 limits={BTC.symbol: OrderLimits(0.001, 2.0)})
    assert plan.orders == () and plan.reason_codes == ("PLAN_TARGET_UNREACHABLE",)
    assert plan.notes == ("long BTC/USDT:USDT: the whole position (1 contracts) is below the venue's minimum order "
                          "(2 contracts, 0 notional)",)


def test_position_no_price_liquidates_then_never_cut_for_a_buffer():
    # Wallet 60 000 backs a 50 000 long: no positive price liquidates it.
    plan = _plan(account(position(BTC.symbol, 1.0, 50_000), wallet=60_000), "buffer_pct", 99)
    assert plan.reason_codes == ("PLAN_NO_ACTION",)


def test_sigma_target_when_one_symbol_has_no_volatility_then_it_is_reported_and_the_other_cut():
    vol = RealizedVolatility("ok", None, 0.01, 3_600, 200)
    acct = account(position(ALT.symbol, 200, 100), position(BTC.symbol, 1.0, 50_000, side=Side.SHORT))
    plan = _plan(acct, "sigma_buffer", 6, signals={BTC.symbol: MarketSignals(volatility=vol)})
    assert [(o.symbol, o.side) for o in plan.orders] == [(BTC.symbol, "buy")]
    assert plan.reason_codes == ("PLAN_INPUT_MISSING", "PLAN_REDUCES_POSITION")
    assert plan.notes == ("long ALT/USDT:USDT: sigma_buffer unknown (no volatility); nothing planned for it",)
    assert plan.after.positions[1].liquidation_price > plan.before.positions[1].liquidation_price  # short: up
    # both without volatility: both reported
    neither = _plan(acct, "sigma_buffer", 6)
    assert neither.orders == () and neither.reason_codes == ("PLAN_INPUT_MISSING",)
    assert neither.notes == ("long ALT/USDT:USDT: sigma_buffer unknown (no volatility); nothing planned for it",
                             "short BTC/USDT:USDT: sigma_buffer unknown (no volatility); nothing planned for it")


def test_rationale_says_the_metric_the_cut_and_the_result():
    plan = _plan(account(position(BTC.symbol, 1.0, 50_000)), "buffer_pct", 30)
    (order,) = plan.orders
    assert order.rationale == "buffer_pct 19.68 misses 30; cutting 0.34 of 1 contracts (smallest cut) -> 30"
    plan = _plan(account(position(BTC.symbol, 1.0, 50_000)), "buffer_pct", 30,
                 limits={BTC.symbol: OrderLimits(0.001, 0.001, 40_000)})
    assert plan.orders[0].rationale == "buffer_pct 19.68 misses 30; cutting 1 of 1 contracts (closes) -> closed"
    assert plan.orders[0].reason_codes == ("PLAN_CLOSES_POSITION",)


@pytest.mark.parametrize(("target", "value", "cut"), [("buffer_pct", 30, 0.34), ("effective_leverage", 2, 0.601)])
def test_the_vectorized_scan_is_exact_so_the_cut_is_the_only_full_evaluation(monkeypatch, target, value, cut):
    # Without a book the scan of each size's buffer or leverage is the exact math: one full evaluation, the cut.
    calls = []
    real = strategy_module.evaluate_account
    monkeypatch.setattr(strategy_module, "evaluate_account", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert _orders(_plan(account(position(BTC.symbol, 1.0, 50_000)), target, value)) == [(BTC.symbol, cut)]
    assert len(calls) == 1 + 1  # the account as it stands (the context), then the cut


def test_guess_is_the_cut_at_mark_that_meets_the_target_worked_by_hand_and_none_where_it_does_not_apply():
    # Long 1 @ 50 000 marked 48 000, wallet 10 000: LP 40 000/0.996 = 40 160.64 (16.33%).  30% puts P at 33 600; a
    # cut x at mark books −2 000x − 19.2x, and 10 000 − 2 019.2x + (1 − x)(33 600 − 50 000 − 0.004 · 33 600) = 0
    # gives x = 6 534.4/14 515.2.
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000, 48_000)), VENUE)
    assert _guess(ctx, ctx.risk.positions[0], Target.BUFFER_PCT, 30) == pytest.approx(6_534.4 / 14_515.2, rel=1e-12)
    # Short 2 @ 50 000, wallet 20 000: LP 120 000/2.008; 30% puts P at 65 000: 20 000 − 20x = 15 260(2 − x)
    # → x = 10 520/15 240.
    ctx = StrategyContext.build(account(position(BTC.symbol, 2.0, 50_000, side=Side.SHORT), wallet=20_000), VENUE)
    assert _guess(ctx, ctx.risk.positions[0], Target.BUFFER_PCT, 30) == pytest.approx(10_520 / 15_240, rel=1e-12)
    # Leverage ≤ 2 on 10 contracts of 0.1 BTC: (50 000 − 50 000x) = 2(10 000 − 20x) → x = 30 000/49 960 BTC, in
    # contracts ten times that.
    tenth = market("BTC/USDT:USDT", 0.004, contract_size=0.1, step=0.01)
    ctx = StrategyContext.build(account(position(tenth.symbol, 10, 50_000)), venue_of(tenth))
    r = ctx.risk.positions[0]
    assert _guess(ctx, r, Target.EFFECTIVE_LEVERAGE, 2) == pytest.approx(10 * 30_000 / 49_960, rel=1e-12)
    assert _guess(ctx, r, Target.SIGMA_BUFFER, 2) is None  # needs the volatility model
    # leverage 2 000 at a 0.05% taker: 1 − 2 000 · 0.0005 = 0, no cut solves it (and none is needed)
    ctx = StrategyContext.build(account(position(tenth.symbol, 10, 50_000), taker=0.0005), venue_of(tenth))
    assert _guess(ctx, ctx.risk.positions[0], Target.EFFECTIVE_LEVERAGE, 2_000) is None
    # isolated, inverse, a pool of unknown equity (no USDT balance), or no price liquidates it: no estimate
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000, isolated_margin=5_000.0)), VENUE)
    assert _guess(ctx, ctx.risk.positions[0], Target.BUFFER_PCT, 30) is None
    coin = market("BTC/USD:BTC", 0.005, settle="BTC", kind=ContractKind.INVERSE, contract_size=100, step=1)
    ctx = StrategyContext.build(account(position(coin.symbol, 300, 50_000), wallet=1.0, asset="BTC"), venue_of(coin))
    assert _guess(ctx, ctx.risk.positions[0], Target.BUFFER_PCT, 30) is None
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000), asset="USDC"), VENUE)
    assert _guess(ctx, ctx.risk.positions[0], Target.EFFECTIVE_LEVERAGE, 2) is None
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000), wallet=60_000), VENUE)
    assert _guess(ctx, ctx.risk.positions[0], Target.BUFFER_PCT, 30) is None


@pytest.mark.parametrize(("target", "value", "cut"), [("buffer_pct", 30, 0.34), ("effective_leverage", 2, 0.601),
                                                      ("buffer_pct", 99.99, 0.801)])
def test_the_estimate_puts_the_search_in_one_vectorized_scan(monkeypatch, target, value, cut):
    # 1 000 steps: without an estimate a grid of 33 sizes, then the steps of one gap (two scans); the estimate
    # lets the first take both.  99.99%: from (1 − x)·50 000 ≤ 10 000 − 20x, x ≥ 0.80032, no price liquidates
    # what is left: the scan must read those sizes as met (+inf), or it looks on past them.
    calls, scans = [], []
    real, real_rows = strategy_module.evaluate_account, Reductions.evaluate
    monkeypatch.setattr(strategy_module, "evaluate_account", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(Reductions, "evaluate", lambda self, amounts, *a: scans.append(1) or
                        real_rows(self, amounts, *a))
    plan = _plan(account(position(BTC.symbol, 1.0, 50_000)), target, value)
    assert _orders(plan) == [(BTC.symbol, cut)]
    assert (len(calls), len(scans)) == (1 + 1, 1)  # the context, the cut; one scan
    assert (plan.after.positions[0].liquidation_price is None) == (value == 99.99)
    monkeypatch.setattr(reduce_size_module, "_guess", lambda *a: None)
    scans.clear()
    assert _orders(_plan(account(position(BTC.symbol, 1.0, 50_000)), target, value)) == [(BTC.symbol, cut)]
    assert len(scans) == 2


def test_sigma_metric_over_the_contexts_horizon_worked_by_hand():
    # σ 1% per hour: over 4 h 0.01·√4 = 2%.  Long: ln(50 000/40 160.64)/0.02; short (LP 60 000/1.004):
    # −ln(50 000/59 760.96)/0.02.
    vol = RealizedVolatility("ok", None, 0.01, 3_600, 200)
    for side, lp in ((Side.LONG, 40_000 / 0.996), (Side.SHORT, 60_000 / 1.004)):
        ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000, side=side)), VENUE,
                                    signals={BTC.symbol: MarketSignals(volatility=vol)}, horizon_seconds=4 * 3_600)
        expected = side.sign * math.log(50_000 / lp) / 0.02
        assert position_metric(ctx, ctx.risk.positions[0], Target.SIGMA_BUFFER) == pytest.approx(expected, rel=1e-9)


def test_inverse_cut_priced_off_the_book_then_the_coin_weighted_average_of_the_levels():
    # Contracts of 100 USD: a cut of 156 takes 50 at 49 900 and 106 at 49 000.  In coin the fill is the USD
    # over the coin paid: 156/(50/49 900 + 106/49 000) = 49 284.91 (not the contract-weighted 49 288.46).
    coin = market("BTC/USD:BTC", 0.005, settle="BTC", kind=ContractKind.INVERSE, contract_size=100, step=1)
    book = OrderBook(((49_900.0, 50.0), (49_000.0, 1_000.0)), ((50_100.0, 50.0), (51_000.0, 1_000.0)))
    acct = account(position(coin.symbol, 300, 50_000), wallet=0.2, asset="BTC")
    plan = make_plan(StrategyContext.build(acct, venue_of(coin), signals={coin.symbol: MarketSignals(book=book)}),
                     [ReduceSize({"target": "buffer_pct", "value": 40})])
    assert [(o.amount, o.price) for o in plan.orders] == [
        (156, pytest.approx(156 / (50 / 49_900 + 106 / 49_000), rel=1e-12))]


def test_a_later_cuts_fee_pushes_an_earlier_position_back_over_then_a_second_pass_cuts_it_again():
    # Leverage ≤ 1.202 (notional ÷ pool equity).  BTC: (50 000 − 50 000b)/(10 000 − 20b) ≤ 1.202 → b ≥ 0.759966
    # → 0.76, equity 9 984.8.  ALT: (20 000 − 100a)/(9 984.8 − 0.04a) ≤ 1.202 → a ≥ 80.0212 → 80.1, whose fee
    # leaves 9 981.596: BTC at 12 000/9 981.596 = 1.20221 again, and (12 000 − 50 000c)/(9 981.596 − 20c) ≤ 1.202
    # → c ≥ 0.0000425 → one more step.  ETH (leverage 6, ranked first) and SOL (3, between BTC and ALT) are under
    # their minimum order: each said once and given up, and neither the cut before SOL nor the second pass is lost.
    eth, sol = market("ETH/USDT:USDT", 0.005, step=0.01), market("SOL/USDT:USDT", 0.01, step=0.1)
    acct = account(position(ALT.symbol, 200, 100), position(BTC.symbol, 1.0, 50_000), position(eth.symbol, 30, 2_000),
                   position(sol.symbol, 150, 200))
    minimum = OrderLimits(0.01, 0.01, 100_000)
    ctx = StrategyContext.build(acct, venue_of(BTC, ALT, eth, sol), limits={eth.symbol: minimum, sol.symbol: minimum})
    plan = make_plan(ctx, [ReduceSize({"target": "effective_leverage", "value": 1.202})])
    assert _orders(plan) == [(BTC.symbol, 0.76), (ALT.symbol, 80.1), (BTC.symbol, 0.001)]
    assert plan.reason_codes == ("PLAN_TARGET_UNREACHABLE", "PLAN_REDUCES_POSITION")
    below = "is below the venue's minimum order (0.01 contracts, 100000 notional)"
    assert plan.notes == (f"long {eth.symbol}: the whole position (30 contracts) {below}",
                          f"long {sol.symbol}: the whole position (150 contracts) {below}")
    assert [p.effective_leverage <= 1.202 for p in plan.after.positions] == [True, True, False, False]


def test_minimum_notional_raises_the_cut_and_a_remainder_exactly_at_the_minimum_stays_open():
    # Leverage 4.999 needs one step (0.001 BTC = 50 USDT); a 100 minimum notional makes it 100/50 000 = 0.002.
    one = account(position(BTC.symbol, 1.0, 50_000))
    assert _orders(_plan(one, "effective_leverage", 4.999, limits={BTC.symbol: OrderLimits(0.001, 0.001, 100)})) == [
        (BTC.symbol, 0.002)]
    # A coin at 0.5: (50 000 − 0.5x)/(10 000 − 0.0002x) ≤ 4.999 → x ≥ 20.04 → 21, and 100 notional is 200 coins.
    doge = market("DOGE/USDT:USDT", 0.01, step=1)
    for limits, cut in (({}, 21), ({doge.symbol: OrderLimits(1, 1, 100)}, 200)):
        ctx = StrategyContext.build(account(position(doge.symbol, 100_000, 0.5)), venue_of(doge), limits=limits)
        assert _orders(make_plan(ctx, [ReduceSize({"target": "effective_leverage", "value": 4.999})])) == [
            (doge.symbol, cut)]
    # 2 BTC, leverage ≤ 3: (100 000 − 50 000b)/(10 000 − 20b) ≤ 3 → b ≥ 1.4017 → 1.5 on a 0.5 step, leaving 0.5:
    # exactly the minimum amount, or exactly the 25 000 minimum notional, so it stays open.
    two = account(position(BTC.symbol, 2.0, 50_000))
    for limits in (OrderLimits(0.5, 0.5, 0), OrderLimits(0.5, 0.001, 25_000)):
        assert _orders(_plan(two, "effective_leverage", 3, limits={BTC.symbol: limits})) == [(BTC.symbol, 1.5)]


def test_cut_of_a_position_below_the_minimum_order_is_nothing_with_the_reason():
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000)), VENUE,
                                limits={BTC.symbol: OrderLimits(0.001, 2.0)})
    cut = smallest_cut(ctx, PositionRef(BTC.symbol, Side.LONG), lambda risk: -1.0)
    assert (cut.amount, cut.closes, cut.met, cut.price) == (0.0, False, False, 50_000)
    assert (cut.account, cut.risk) == (ctx.account, ctx.risk)
    assert cut.why_not == ("long BTC/USDT:USDT: the whole position (1 contracts) is below the venue's minimum order "
                           "(2 contracts, 0 notional)")
