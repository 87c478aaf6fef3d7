"""``add_margin`` at its edges: the free balance it may spend (worked by hand), the budget at one margin step,
the target met exactly, and the positions it must leave alone."""

from __future__ import annotations

import math

from plan_factory import account, market, position, venue_of

from riskguard.model import Side
from riskguard.risk.whatif import AddMargin as AddMarginFill
from riskguard.risk.whatif import apply_fills
from riskguard.rules.plan import OrderKind
from riskguard.rules.strategy import PositionRef, StrategyContext, make_plan
from strategies.add_margin import AddMargin, free_balance

BTC = market("BTC/USDT:USDT", 0.004)
ETH = market("ETH/USDT:USDT", 0.005, step=0.01, tick=0.01)
VENUE = venue_of(BTC, ETH)


def _iso_eth(**kw):
    # ETH isolated long 10 @ 2 000, margin 200: LP 19 800/9.95 = 1 989.95, buffer 0.5%.  Reaching 50% needs
    # LP ≤ 1 000: margin 0.005·10·1 000 + 10·1 000 = 10 050, far more than any free balance below.
    return position(ETH.symbol, 10, 2_000, isolated_margin=200.0, **kw)


def _plan(*positions, cross_wallet: float, buffer_pct: float = 50, max_amount: float = 1e6, scope=None):
    acct = account(*positions, wallet=cross_wallet + 200, cross_wallet=cross_wallet)
    ctx = StrategyContext.build(acct, VENUE, scope=scope)
    return ctx, make_plan(ctx, [AddMargin({"buffer_pct": buffer_pct, "max_amount": max_amount})])


def test_free_balance_when_cross_position_at_a_loss_then_wallet_less_initial_margin_less_the_loss():
    # Cross BTC long 1 @ 50 000, mark 49 000, leverage 10: initial margin 4 900 (at mark), uPnL −1 000.
    # Free: 10 000 − 4 900 − 1 000 = 4 100, all of it added to ETH, which still misses 50%.
    ctx, plan = _plan(position(BTC.symbol, 1.0, 50_000, 49_000), _iso_eth(), cross_wallet=10_000)
    assert free_balance(ctx, "USDT") == 4_100
    assert [(o.symbol, o.kind, o.amount, o.side) for o in plan.orders] == [(ETH.symbol, OrderKind.ADD_MARGIN, 4_100,
                                                                          "sell")]
    assert plan.reason_codes == ("PLAN_ADDS_MARGIN", "PLAN_TARGET_UNREACHABLE")
    assert plan.notes == (f"long {ETH.symbol}: adding 4100 USDT (the cap or the free balance) does not reach 50%",)


def test_free_balance_when_cross_position_in_profit_then_the_profit_is_not_spent():
    # Mark 51 000: initial margin 5 100, uPnL +1 000 not available: 10 000 − 5 100 = 4 900.
    ctx, _ = _plan(position(BTC.symbol, 1.0, 50_000, 51_000), _iso_eth(), cross_wallet=10_000)
    assert free_balance(ctx, "USDT") == 4_900


def test_free_balance_when_leverage_unknown_then_maintenance_margin_is_what_the_position_uses():
    # No leverage: no initial margin; maintenance 0.004·49 000 = 196.  10 000 − 196 − 1 000 = 8 804.
    ctx, _ = _plan(position(BTC.symbol, 1.0, 50_000, 49_000, leverage=None), _iso_eth(), cross_wallet=10_000)
    assert math.isclose(free_balance(ctx, "USDT"), 8_804, rel_tol=1e-12)
    assert free_balance(ctx, "BTC") == 0.0  # no balance in that asset: nothing to spend


def test_free_balance_when_cross_uses_more_than_the_wallet_then_zero_and_nothing_added():
    # Mark 40 000: initial margin 4 000 and uPnL −10 000 on a 10 000 wallet: −4 000, floored at 0.
    ctx, plan = _plan(position(BTC.symbol, 1.0, 50_000, 40_000), _iso_eth(), cross_wallet=10_000)
    assert free_balance(ctx, "USDT") == 0.0
    assert plan.orders == () and plan.reason_codes == ("PLAN_TARGET_UNREACHABLE",)
    assert plan.notes == (f"long {ETH.symbol}: no free USDT balance to add (free 0)",)


def test_budget_when_free_balance_is_exactly_one_margin_step_then_that_step_else_nothing():
    _, plan = _plan(_iso_eth(), cross_wallet=0.01)
    assert [o.amount for o in plan.orders] == [0.01]
    assert plan.reason_codes == ("PLAN_ADDS_MARGIN", "PLAN_TARGET_UNREACHABLE")
    _, plan = _plan(_iso_eth(), cross_wallet=0.0099)
    assert plan.orders == () and plan.notes == (f"long {ETH.symbol}: no free USDT balance to add (free 0.0099)",)


def test_cap_when_exactly_one_margin_step_then_that_step():
    _, plan = _plan(_iso_eth(), cross_wallet=5_000, max_amount=0.01)
    assert [o.amount for o in plan.orders] == [0.01]


def test_two_isolated_positions_share_the_free_balance_in_order():
    # 3 000 free: ETH (first) takes all of it, it needs 9 850; BTC isolated long 1 @ 50 000 with margin 500
    # (LP 49 500/0.996 = 49 698.8, buffer 0.6%) gets what is left: nothing.
    btc = position(BTC.symbol, 1.0, 50_000, isolated_margin=500.0)
    _, plan = _plan(_iso_eth(), btc, cross_wallet=3_000)
    assert [(o.symbol, o.amount) for o in plan.orders] == [(ETH.symbol, 3_000)]
    assert plan.reason_codes == ("PLAN_ADDS_MARGIN", "PLAN_TARGET_UNREACHABLE")
    assert plan.notes[-1] == f"long {BTC.symbol}: no free USDT balance to add (free 0)"


def test_target_when_buffer_exactly_met_then_nothing_and_one_step_more_then_one_margin_step():
    acct = account(_iso_eth(), wallet=5_200, cross_wallet=5_000)
    buffer = StrategyContext.build(acct, VENUE).risk.positions[0].buffer_pct
    at = make_plan(StrategyContext.build(acct, VENUE), [AddMargin({"buffer_pct": buffer, "max_amount": 100})])
    assert at.orders == () and at.reason_codes == ("PLAN_NO_ACTION",)
    above = make_plan(StrategyContext.build(acct, VENUE),
                      [AddMargin({"buffer_pct": math.nextafter(buffer, math.inf), "max_amount": 100})])
    assert [o.amount for o in above.orders] == [0.01] and above.reason_codes == ("PLAN_ADDS_MARGIN",)


def test_smallest_amount_when_one_step_less_misses_then_that_step_count():
    # 5.001% needs LP ≤ 1 899.98: margin 1 095.199, add 895.199 → 895.20; 895.19 falls short.
    _, plan = _plan(_iso_eth(), cross_wallet=5_000, buffer_pct=5.001, max_amount=895.2)
    assert [o.amount for o in plan.orders] == [895.2] and plan.reason_codes == ("PLAN_ADDS_MARGIN",)
    assert plan.after.positions[0].buffer_pct >= 5.001
    _, short = _plan(_iso_eth(), cross_wallet=5_000, buffer_pct=5.001, max_amount=895.19)
    assert [o.amount for o in short.orders] == [895.19] and "PLAN_TARGET_UNREACHABLE" in short.reason_codes


def test_positions_left_alone_when_cross_out_of_scope_or_never_liquidated():
    # Cross BTC (a pool, not topped up), ETH isolated out of scope, and an isolated margin above the notional
    # (no price liquidates it): nothing to add anywhere.
    safe = position(ETH.symbol, 10, 2_000, isolated_margin=25_000.0)
    _, plan = _plan(position(BTC.symbol, 1.0, 50_000, 40_100), safe, cross_wallet=5_000)
    assert plan.orders == () and plan.reason_codes == ("PLAN_NO_ACTION",)
    _, plan = _plan(_iso_eth(), cross_wallet=5_000,
                    scope=(PositionRef(BTC.symbol, _iso_eth().side),))
    assert plan.orders == () and plan.reason_codes == ("PLAN_NO_ACTION",)


def test_order_records_the_position_it_acts_on_and_the_figures_in_its_rationale():
    _, plan = _plan(_iso_eth(), cross_wallet=5_000, buffer_pct=5.001, max_amount=2_000)
    (order,) = plan.orders
    assert (order.position_side, order.position_contracts, order.strategy, order.reason_codes) == (
        "both", 10, "add_margin", ("PLAN_ADDS_MARGIN",))
    # LP 1 989.95 is 0.5025% under the mark.
    assert order.rationale == "buffer 0.5025% misses 5.001%; adding 895.2 USDT -> 5.001%"


def test_free_balance_below_one_step_then_every_position_is_told_the_same_free_figure():
    # 0.005 free is under the 0.01 step: nothing is added to ETH, so BTC (isolated, buffer 0.6%) is told the
    # same 0.005, not a balance the first refusal spent.
    btc = position(BTC.symbol, 1.0, 50_000, isolated_margin=500.0)
    _, plan = _plan(_iso_eth(), btc, cross_wallet=0.005)
    assert plan.orders == () and plan.reason_codes == ("PLAN_TARGET_UNREACHABLE",)
    assert plan.notes == (f"long {ETH.symbol}: no free USDT balance to add (free 0.005)",
                          f"long {BTC.symbol}: no free USDT balance to add (free 0.005)")


def test_target_when_met_exactly_after_a_top_up_then_that_amount_and_not_one_step_more():
    # Margin 200 + 300 = 500: 500 + 10(P − 2 000) = 0.05P at P = 19 500/9.95 = 1 959.80, buffer 2.0101%.  That
    # buffer as the target is met by 300 exactly.
    acct = account(_iso_eth(), wallet=5_200, cross_wallet=5_000)
    topped = apply_fills(acct, VENUE, [AddMarginFill(ETH.symbol, Side.LONG, 300.0)], 0.0004)
    buffer = StrategyContext.build(topped, VENUE).risk.positions[0].buffer_pct
    assert math.isclose(buffer, 100 * (1 - 19_500 / 9.95 / 2_000), rel_tol=1e-12)
    plan = make_plan(StrategyContext.build(acct, VENUE), [AddMargin({"buffer_pct": buffer, "max_amount": 2_000})])
    assert [o.amount for o in plan.orders] == [300.0] and plan.reason_codes == ("PLAN_ADDS_MARGIN",)


def test_isolated_long_beside_a_cross_short_of_the_same_symbol_then_the_margin_goes_to_the_long():
    # OKX net mode keeps a cross and an isolated position of one instrument apart.  Cross ETH short 5 @ 2 000
    # (initial margin 1 000) leaves 4 000 free; the isolated long gets 895.2 as alone (5.001%), and the cross
    # wallet pays it: the short's LP moves from 15 000/5.025 = 2 985.07 to (4 104.8 + 10 000)/5.025 = 2 806.93.
    short = position(ETH.symbol, 5, 2_000, side=Side.SHORT)
    acct = account(short, _iso_eth(), wallet=5_200, cross_wallet=5_000)
    plan = make_plan(StrategyContext.build(acct, VENUE), [AddMargin({"buffer_pct": 5.001, "max_amount": 2_000})])
    assert [(o.symbol, o.side, o.amount) for o in plan.orders] == [(ETH.symbol, "sell", 895.2)]
    (pool,), (cross_short, iso_long) = plan.after.cross, plan.after.positions
    assert math.isclose(pool.equity, 5_000 - 895.2, rel_tol=1e-12)
    assert (cross_short.side, cross_short.contracts) == ("short", 5)
    assert math.isclose(cross_short.liquidation_price, 14_104.8 / 5.025, rel_tol=1e-12)
    assert iso_long.side == "long" and iso_long.buffer_pct >= 5.001


def test_target_of_100_pct_then_the_top_up_after_which_no_price_liquidates():
    # 200 + x + 10(P − 2 000) = 0.05P has P = (19 800 − x)/9.95: 99.99% (P ≤ 0.2) needs x = 19 798.01, and 100%
    # only holds once no price liquidates (x = 19 800); the rationale says so.
    _, plan = _plan(_iso_eth(), cross_wallet=50_000, buffer_pct=99.99)
    assert [o.amount for o in plan.orders] == [19_798.01]
    _, plan = _plan(_iso_eth(), cross_wallet=50_000, buffer_pct=100)
    (order,) = plan.orders
    assert (order.account, order.amount, plan.reason_codes) == ("acct", 19_800, ("PLAN_ADDS_MARGIN",))
    assert order.rationale == "buffer 0.5025% misses 100%; adding 19800 USDT -> no liquidation price"
    assert plan.after.positions[0].liquidation_price is None


def test_isolated_short_then_the_order_names_it_by_buy_and_the_top_up_reaches_it():
    # Short 10 @ 2 000, margin 200 + x: 200 + x + 10(2 000 − P) = 0.05P, P = (20 200 + x)/10.05 (2 009.95, 0.4975%).
    # 5.001% needs P ≥ 2 100.02: x ≥ 10.05 · 2 100.02 − 20 200 = 905.201 → 905.21.
    short = position(ETH.symbol, 10, 2_000, isolated_margin=200.0, side=Side.SHORT)
    _, plan = _plan(short, cross_wallet=5_000, buffer_pct=5.001)
    assert [(o.side, o.amount) for o in plan.orders] == [("buy", 905.21)]
    assert math.isclose(plan.after.positions[0].liquidation_price, (20_200 + 905.21) / 10.05, rel_tol=1e-12)


def test_a_position_already_safe_and_caps_then_the_balance_runs_out_on_the_third_top_up():
    # ETH (isolated margin 15 000: LP 5 000/9.95 = 502.5, buffer 74.9%) meets 50% and is left alone; BTC, SOL and
    # ALT each need more than the 1 000 cap, and 2 500 free pays 1 000, 1 000, then the 500 left.
    sol, alt = market("SOL/USDT:USDT", 0.01, step=0.1), market("ALT/USDT:USDT", 0.025, step=0.1)
    safe = position(ETH.symbol, 10, 2_000, isolated_margin=15_000.0)
    needy = [position(BTC.symbol, 1.0, 50_000, isolated_margin=500.0),
             position(sol.symbol, 200, 100, isolated_margin=200.0),
             position(alt.symbol, 200, 100, isolated_margin=200.0)]
    acct = account(safe, *needy, wallet=2_700, cross_wallet=2_500)
    plan = make_plan(StrategyContext.build(acct, venue_of(BTC, ETH, sol, alt)),
                     [AddMargin({"buffer_pct": 50, "max_amount": 1_000})])
    assert [(o.symbol, o.amount) for o in plan.orders] == [(BTC.symbol, 1_000), (sol.symbol, 1_000), (alt.symbol, 500)]
    assert plan.reason_codes == ("PLAN_ADDS_MARGIN", "PLAN_TARGET_UNREACHABLE")


def test_liquidation_price_unknown_then_reported_and_the_positions_around_it_still_topped_up():
    # Bybit reserves the closing fee from the leverage: ETH without one has no liquidation price.  BTC before it
    # and SOL after it still get the 1 000 cap each.
    btc, eth = market(BTC.symbol, 0.004, venue="bybit"), market(ETH.symbol, 0.005, step=0.01, venue="bybit")
    sol = market("SOL/USDT:USDT", 0.01, step=0.1, venue="bybit")
    acct = account(position(btc.symbol, 1.0, 50_000, isolated_margin=500.0),
                   position(eth.symbol, 10, 2_000, isolated_margin=200.0, leverage=None),
                   position(sol.symbol, 200, 100, isolated_margin=200.0),
                   wallet=5_200, cross_wallet=5_000, venue="bybit")
    plan = make_plan(StrategyContext.build(acct, venue_of(btc, eth, sol)),
                     [AddMargin({"buffer_pct": 50, "max_amount": 1_000})])
    assert [(o.symbol, o.amount) for o in plan.orders] == [(btc.symbol, 1_000), (sol.symbol, 1_000)]
    assert plan.reason_codes == ("PLAN_ADDS_MARGIN", "PLAN_TARGET_UNREACHABLE", "PLAN_INPUT_MISSING")
    assert plan.notes[1] == f"long {ETH.symbol}: liquidation price unknown; no margin planned"
