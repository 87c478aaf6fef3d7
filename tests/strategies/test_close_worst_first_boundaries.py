"""``close_worst_first`` at its edges, every number worked by hand: the leverage target, the target already met,
ties on the marginal rate, positions it may not or cannot close, and where a tier ends.

The pool is the one of tests/strategies/test_worked_cases.py: wallet 10 000, taker 0.04%, BTC 1 @ 50 000 (0.4%,
MM 200) and ALT 200 @ 100 (2.5%, MM 500): MR 7%, headroom 93%, leverage 70 000/10 000 = 7.
"""

from __future__ import annotations

import pytest
from plan_factory import account, market, position, venue_of

import riskguard.rules.strategy as strategy_module
from riskguard.model import ContractKind, MarginTier, Market, Side, TierBasis
from riskguard.risk.whatif import Reductions
from riskguard.rules.strategy import OrderLimits, PositionRef, StrategyContext, make_plan
from strategies.close_worst_first import CloseWorstFirst, tier_exit

BTC = market("BTC/USDT:USDT", 0.004)
ALT = market("ALT/USDT:USDT", 0.025, step=0.1, tick=0.001)
ETH = market("ETH/USDT:USDT", 0.005, step=0.01, tick=0.01)
VENUE = venue_of(BTC, ALT, ETH)


def _pool(*extra):
    return account(position(BTC.symbol, 1.0, 50_000), position(ALT.symbol, 200, 100), *extra)


def _orders(plan):
    return [(o.symbol, o.amount) for o in plan.orders]


def _plan(target, value, acct=None, venue=VENUE, **kw):
    ctx = StrategyContext.build(acct or _pool(), venue, **kw)
    return make_plan(ctx, [CloseWorstFirst({"target": target, "value": value})])


def test_leverage_target_when_the_first_position_is_not_enough_then_closed_and_the_next_cut():
    # ≤ 5: closing all ALT leaves 50 000/(10 000 − 8) = 5.004.  Then BTC: (50 000 − 50 000b)/(9 992 − 20b) ≤ 5
    # → 40 ≤ 49 900b → b ≥ 0.0008 → 0.001.
    plan = _plan("effective_leverage", 5)
    assert _orders(plan) == [(ALT.symbol, 200), (BTC.symbol, 0.001)]
    assert plan.reason_codes == ("PLAN_CLOSES_POSITION", "PLAN_REDUCES_POSITION")
    assert plan.after.cross[0].effective_leverage <= 5


def test_target_already_met_then_nothing_and_just_missed_then_a_cut():
    assert _plan("buffer_pct", 92.9).reason_codes == ("PLAN_NO_ACTION",)
    assert _plan("effective_leverage", 7.01).reason_codes == ("PLAN_NO_ACTION",)
    # 93.1%: MR ≤ 6.9% → (700 − 2.5a)/(10 000 − 0.04a) ≤ 0.069 → 10 ≤ 2.49724a → a ≥ 4.0044 → 4.1 ALT.
    assert _orders(_plan("buffer_pct", 93.1)) == [(ALT.symbol, 4.1)]
    assert _orders(_plan("effective_leverage", 6.99)) != []


def test_target_equal_to_the_pools_figure_then_met_and_nothing_closed():
    ctx = StrategyContext.build(_pool(), VENUE)
    pool = ctx.risk.cross[0]
    for target, value in (("buffer_pct", pool.headroom_pct), ("effective_leverage", pool.effective_leverage)):
        plan = make_plan(ctx, [CloseWorstFirst({"target": target, "value": value})])
        assert plan.reason_codes == ("PLAN_NO_ACTION",), target


def test_equal_marginal_rates_then_the_larger_notional_goes_first():
    # BTC and SOL both at 1%: BTC 1 @ 50 000 (MM 500), SOL 200 @ 100 (MM 200).  95% (MR ≤ 5%) cutting BTC:
    # (700 − 500b)/(10 000 − 20b) ≤ 0.05 → 200 ≤ 499b → b ≥ 0.4008 → 0.401.  SOL alone could not (all of it
    # leaves 500/9 992 = 5.004%).
    btc, sol = market(BTC.symbol, 0.01), market("SOL/USDT:USDT", 0.01, step=0.1)
    acct = account(position(sol.symbol, 200, 100), position(btc.symbol, 1.0, 50_000))
    assert _orders(_plan("buffer_pct", 95, acct, venue_of(btc, sol))) == [(btc.symbol, 0.401)]


def test_scope_without_the_rest_of_the_pool_then_what_it_may_close_and_unreachable():
    # 99% needs BTC too (ALT alone leaves 2.0%), but the rule fired for ALT only.
    plan = _plan("buffer_pct", 99, scope=(PositionRef(ALT.symbol, Side.LONG),))
    assert _orders(plan) == [(ALT.symbol, 200)]
    assert plan.reason_codes == ("PLAN_CLOSES_POSITION", "PLAN_TARGET_UNREACHABLE")
    assert plan.notes == ("USDT cross pool: no position left in scope to close and buffer_pct 99 is still not met",)


def test_position_below_the_minimum_order_then_skipped_with_a_note_and_the_next_one_cut():
    # ALT's whole 20 000 is under a 30 000 minimum notional.  94% (MR ≤ 6%) from BTC:
    # (700 − 200b)/(10 000 − 20b) ≤ 0.06 → 100 ≤ 198.8b → b ≥ 0.50302 → 0.504.
    plan = _plan("buffer_pct", 94, limits={ALT.symbol: OrderLimits(0.1, 0.1, 30_000)})
    assert _orders(plan) == [(BTC.symbol, 0.504)]
    assert plan.reason_codes == ("PLAN_REDUCES_POSITION",)
    assert plan.notes == ("long ALT/USDT:USDT: the whole position (200 contracts) is below the venue's minimum "
                          "order (0.1 contracts, 30000 notional)",)


def test_isolated_positions_are_not_in_the_pool_and_never_touched():
    # ETH isolated at 0.5% buffer: not the pool's problem.  The pool answer is the worked one (80.1 ALT).
    acct = _pool(position(ETH.symbol, 10, 2_000, isolated_margin=200.0))
    assert _orders(_plan("buffer_pct", 95, acct)) == [(ALT.symbol, 80.1)]


def test_near_total_target_then_the_first_closed_and_the_second_cut_to_a_sliver_or_closed_too():
    # 99.99% (MR ≤ 0.01%) after ALT is closed: (200 − 200b)/(9 992 − 20b) ≤ 0.0001 → 199.0008 ≤ 199.998b
    # → b ≥ 0.99502 → 0.996.  99.9999% needs b ≥ 0.999995: the whole BTC, and an empty pool is safe.
    assert _orders(_plan("buffer_pct", 99.99)) == [(ALT.symbol, 200), (BTC.symbol, 0.996)]
    plan = _plan("buffer_pct", 99.9999)
    assert _orders(plan) == [(ALT.symbol, 200), (BTC.symbol, 1.0)]
    assert plan.reason_codes == ("PLAN_CLOSES_POSITION",) and plan.after.positions == ()


# -- tier_exit ---------------------------------------------------------------------------------------------

TIERS = (MarginTier(0, 10_000, 0.002, 0.0), MarginTier(10_000, 1e12, 0.03, 280.0))


def _risk(m: Market, contracts: float, mark: float, venue: str = "binanceusdm", **kw):
    acct = account(position(m.symbol, contracts, mark), venue=venue, asset=m.settle, wallet=kw.pop("wallet", 10_000))
    ctx = StrategyContext.build(acct, venue_of(m), **kw)
    return ctx, ctx.risk.positions[0]


def test_tier_exit_when_linear_then_one_step_below_the_tier_floor():
    # 200 ALT at 100 = 20 000 in the 10 000+ tier; its floor is 100 contracts: cut 100.1 (one step past it).
    alt = market(ALT.symbol, 0, step=0.1, tiers=TIERS)
    ctx, r = _risk(alt, 200, 100)
    assert r.tier == 1 and tier_exit(ctx, r) == pytest.approx(100.1, abs=1e-12)
    ctx, r = _risk(alt, 50, 100)
    assert r.tier == 0 and tier_exit(ctx, r) is None  # lowest tier: nothing lower to reach
    ctx, r = _risk(alt, 200, 100, limits={alt.symbol: OrderLimits(None, 0.0)})
    assert tier_exit(ctx, r) == pytest.approx(100.0, rel=1e-11) and tier_exit(ctx, r) > 100.0  # no step: just past


def test_tier_exit_when_bybit_tiers_by_value_in_the_current_tier_then_the_floor_in_contracts_at_mark():
    # Bybit picks the tier the position is in now, by value as Binance does: the same 100-contract floor, cut 100.1.
    alt = market(ALT.symbol, 0, step=0.1, tiers=TIERS, venue="bybit")
    ctx, r = _risk(alt, 200, 100, venue="bybit")
    assert r.tier == 1 and tier_exit(ctx, r) == pytest.approx(100.1, abs=1e-12)


def test_tier_exit_when_inverse_then_the_floor_in_coin_at_mark():
    # 100 USD contracts at 50 000: 0.002 BTC each.  Tier floor 5 BTC = 2 500 contracts; 3 000 held → cut 501.
    inv = Market("binancecoinm", "BTC/USD:BTC", ContractKind.INVERSE, "BTC", 100.0, 0.1, 1.0,
                 (MarginTier(0, 5, 0.004, 0.0), MarginTier(5, 1e9, 0.01, 0.03)), TierBasis.BASE_QUANTITY)
    ctx, r = _risk(inv, 3_000, 50_000, venue="binancecoinm", wallet=10.0)
    assert r.tier == 1 and tier_exit(ctx, r) == 501


def test_tier_exit_when_the_venue_tiers_by_contracts_then_the_floor_is_a_contract_count():
    # OKX tiers by contracts (current tier): tier 2 starts at 101 contracts of 0.01 BTC, whatever the price;
    # 250 held → cut 150, leaving 100 (the first tier).
    okx = Market("okx", "BTC/USDT:USDT", ContractKind.LINEAR, "USDT", 0.01, 0.1, 1.0,
                 (MarginTier(0, 100, 0.004, 0.0), MarginTier(101, 1e9, 0.01, 0.0)), TierBasis.CONTRACTS)
    ctx, r = _risk(okx, 250, 50_000, venue="okx")
    assert r.tier == 1 and tier_exit(ctx, r) == 150


@pytest.mark.parametrize(("target", "value", "cut"), [("buffer_pct", 95, 80.1), ("effective_leverage", 6, 100.3)])
def test_the_vectorized_scan_predicts_the_pool_exactly_so_only_the_cut_is_evaluated(monkeypatch, target, value, cut):
    # Without a book every size fills at mark, so the scan of the pool's figures is the exact math: the search
    # evaluates the whole account only for the cap and the cut it lands on.  A scan that misjudged the pool
    # would need more evaluations (or land on another cut).
    # Leverage ≤ 6: (70 000 − 100a)/(10 000 − 0.04a) ≤ 6 → 10 000 ≤ 99.76a → a ≥ 100.24 → 100.3 ALT.
    calls = []
    real = strategy_module.evaluate_account
    monkeypatch.setattr(strategy_module, "evaluate_account", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert _orders(_plan(target, value)) == [(ALT.symbol, cut)]
    assert len(calls) == 1 + 2  # the account as it stands (the context), then the cap and the cut


def test_a_position_skipped_after_a_cut_then_the_earlier_orders_stay_in_the_plan():
    # ETH 1 @ 2 000 (0.5%, MM 10) is under its 5 000 minimum notional.  99% (MR ≤ 1%): ALT closed (MM 210 left on
    # 9 992), ETH ranked next and skipped, then BTC: (210 − 200b)/(9 992 − 20b) ≤ 0.01 → b ≥ 110.08/199.8 → 0.551.
    acct = _pool(position(ETH.symbol, 1.0, 2_000))
    plan = _plan("buffer_pct", 99, acct, limits={ETH.symbol: OrderLimits(0.01, 0.01, 5_000)})
    assert _orders(plan) == [(ALT.symbol, 200), (BTC.symbol, 0.551)]
    assert plan.notes == ("long ETH/USDT:USDT: the whole position (1 contracts) is below the venue's minimum order "
                          "(0.01 contracts, 5000 notional)",)


def test_guess_is_the_cut_that_meets_the_target_in_the_tier_and_none_where_it_cannot_be_worked_out():
    # The scan's estimate: 93.1% headroom → (700 − 2.5a)/(10 000 − 0.04a) = 0.069 → a = 10/0.0249724 = 4.0044 ALT
    # (the cut above rounds it up to 4.1); leverage 6.99 → 70 000 − 100x = 69 900 − 0.2796x → x = 100/99.7204.
    ctx = StrategyContext.build(_pool(), VENUE)
    alt = next(r for r in ctx.risk.positions if r.symbol == ALT.symbol)
    guess = CloseWorstFirst({"target": "buffer_pct", "value": 93.1})._guess(ctx, "USDT", alt)
    assert guess == pytest.approx(10 / (0.025 - 0.069 * 0.0004) / 100, rel=1e-9)
    guess = CloseWorstFirst({"target": "effective_leverage", "value": 6.99})._guess(ctx, "USDT", alt)
    assert guess == pytest.approx(100 / (1 - 6.99 * 0.0004) / 100, rel=1e-9)
    # leverage 2 500 at a 0.04% taker: 1 − 2 500 · 0.0004 = 0, no cut solves it, no estimate
    assert CloseWorstFirst({"target": "effective_leverage", "value": 2_500})._guess(ctx, "USDT", alt) is None
    # no such pool, or an inverse contract (its notional is not contracts × mark): no estimate
    assert CloseWorstFirst({"target": "buffer_pct", "value": 93.1})._guess(ctx, "USDC", alt) is None
    # ALT in contracts of 10: the same 4.0044 ALT is 0.40044 contracts (the cut: 0.41)
    alt10 = market(ALT.symbol, 0.025, step=0.01, contract_size=10)
    ctx10 = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000), position(alt10.symbol, 20, 100)),
                                  venue_of(BTC, alt10))
    guess = CloseWorstFirst({"target": "buffer_pct", "value": 93.1})._guess(ctx10, "USDT", ctx10.risk.positions[1])
    assert guess == pytest.approx(10 / (0.025 - 0.069 * 0.0004) / 100 / 10, rel=1e-9)
    coin = market("BTC/USD:BTC", 0.005, settle="BTC", kind=ContractKind.INVERSE, contract_size=100)
    acct = account(position(coin.symbol, 300, 50_000), wallet=1.0, asset="BTC")
    ctx = StrategyContext.build(acct, venue_of(coin))
    assert CloseWorstFirst({"target": "buffer_pct", "value": 99})._guess(ctx, "BTC", ctx.risk.positions[0]) is None


@pytest.mark.parametrize(("target", "value", "cut"), [("buffer_pct", 93.1, 4.1), ("buffer_pct", 95, 80.1),
                                                      ("effective_leverage", 6, 100.3)])
def test_the_estimate_puts_the_whole_search_in_one_vectorized_scan(monkeypatch, target, value, cut):
    # 2 000 ALT steps: without an estimate a grid of 46 sizes, then the steps of the gap the answer is in (two
    # scans); the in-tier estimate (4.0044, 80.064, 100.24 ALT: within a step) lets the first scan take both.
    scans = []
    real = Reductions.evaluate
    monkeypatch.setattr(Reductions, "evaluate", lambda self, amounts, *a: scans.append(len(amounts)) or
                        real(self, amounts, *a))
    assert _orders(_plan(target, value)) == [(ALT.symbol, cut)]
    assert len(scans) == 1
    monkeypatch.setattr(CloseWorstFirst, "_guess", lambda *a: None)
    scans.clear()
    assert _orders(_plan(target, value)) == [(ALT.symbol, cut)]
    assert len(scans) == 2


def test_rationale_says_what_the_cut_does_closing_cutting_or_leaving_its_tier():
    # The tier case of test_worked_cases: ALT (3%) cut out of its tier, then BTC (1%) cut to the target; at 99%
    # on the one-tier pool ALT (2.5%) is closed whole and BTC (0.4%) cut.
    alt = market(ALT.symbol, 0, step=0.1, tick=0.001, tiers=TIERS)
    btc = market(BTC.symbol, 0.01)
    plan = _plan("buffer_pct", 95, account(position(btc.symbol, 1.0, 50_000), position(alt.symbol, 200, 100)),
                 venue_of(btc, alt))
    assert {o.strategy for o in plan.orders} == {"close_worst_first"}
    head = "USDT pool buffer_pct misses 95; long "
    assert [o.rationale for o in plan.orders] == [
        head + "ALT/USDT:USDT frees 3.0000% of requirement per unit of notional, the most in the pool; cutting 100.1 "
        "contracts (out of its tier; the rest is ranked again at the lower rate)",
        head + "BTC/USDT:USDT frees 1.0000% of requirement per unit of notional, the most in the pool; cutting 0.041 "
        "contracts",
    ]
    head = "USDT pool buffer_pct misses 99; long "
    assert [o.rationale for o in _plan("buffer_pct", 99).orders] == [
        head + "ALT/USDT:USDT frees 2.5000% of requirement per unit of notional, the most in the pool; closing it",
        head + "BTC/USDT:USDT frees 0.4000% of requirement per unit of notional, the most in the pool; cutting 0.501 "
        "contracts",
    ]
