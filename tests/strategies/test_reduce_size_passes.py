"""``reduce_size`` across passes: a position that already meets the target does not end a pass, and cuts that
never settle stop after one pass more than there are positions, said as unreachable.

Markets have one tier (Binance USDⓈ-M math), taker 0.04%; the USDT pool holds wallet 10 000, the USDC pool 2 000.
"""

from __future__ import annotations

from dataclasses import replace

from plan_factory import account, market, position, venue_of

from riskguard.model import AssetBalance
from riskguard.rules.codes import ReasonCode
from riskguard.rules.plan import IntendedOrder, OrderKind
from riskguard.rules.strategy import Proposal, StrategyContext, make_plan
from strategies.reduce_size import ReduceSize

BTC = market("BTC/USDT:USDT", 0.004)
ALT = market("ALT/USDT:USDT", 0.025, step=0.1, tick=0.001)
ETH = market("ETH/USDC:USDC", 0.005, step=0.01, settle="USDC")
VENUE = venue_of(BTC, ALT, ETH)


def _two_pools():
    acct = account(position(ALT.symbol, 200, 100), position(BTC.symbol, 1.0, 50_000), position(ETH.symbol, 10, 2_000))
    return replace(acct, balances={**acct.balances, "USDC": AssetBalance("USDC", 2_000.0, 2_000.0)})


def test_a_position_met_in_an_earlier_pass_does_not_stop_the_next_pass_before_one_pushed_back_over():
    # Leverage ≤ 1.202 (notional ÷ its pool's equity).  ETH (20 000/2 000 = 10) ranks first, BTC (5), ALT (2).
    # ETH, alone in the USDC pool: (20 000 − 2 000e)/(2 000 − 0.8e) ≤ 1.202 → e ≥ 17 596/1 999.0384 = 8.80224
    # → 8.81 (8.80 leaves 2 400/1 992.96 = 1.2042).  Then BTC 0.76 and ALT 80.1, whose fee pushes BTC back to
    # 1.20221 (tests/strategies/test_reduce_size_boundaries.py works these out).  The second pass finds ETH
    # met (its pool pays no USDT fee) and must go on to BTC: one more step.
    plan = make_plan(StrategyContext.build(_two_pools(), VENUE),
                     [ReduceSize({"target": "effective_leverage", "value": 1.202})])
    assert [(o.symbol, o.amount) for o in plan.orders] == [
        (ETH.symbol, 8.81), (BTC.symbol, 0.76), (ALT.symbol, 80.1), (BTC.symbol, 0.001)]
    assert plan.reason_codes == ("PLAN_REDUCES_POSITION",)
    assert all(p.effective_leverage <= 1.202 for p in plan.after.positions)


def test_cuts_that_never_settle_then_one_pass_more_than_positions_and_unreachable(monkeypatch):
    # A pass that always finds one more cut (a stand-in: the real ones settle): three positions in scope, so four
    # passes, every pass's order kept, then PLAN_TARGET_UNREACHABLE with the count of passes.
    passes = []

    def never_settles(self, ctx, current, refs, given_up):
        passes.append(len(refs))
        order = IntendedOrder(account="acct", symbol=BTC.symbol, side="sell", kind=OrderKind.MARKET, amount=0.001,
                              strategy="reduce_size", rationale=f"pass {len(passes)}", position_contracts=1.0)
        return Proposal((order,), (ReasonCode.PLAN_REDUCES_POSITION,)), current

    monkeypatch.setattr(ReduceSize, "_pass", never_settles)
    out = ReduceSize({"target": "effective_leverage", "value": 1.202}).propose(StrategyContext.build(_two_pools(),
                                                                                                     VENUE))
    assert passes == [3, 3, 3, 3]
    assert [o.rationale for o in out.orders] == ["pass 1", "pass 2", "pass 3", "pass 4"]
    assert out.reason_codes == (ReasonCode.PLAN_REDUCES_POSITION,) * 4 + (ReasonCode.PLAN_TARGET_UNREACHABLE,)
    assert out.notes == ("cuts did not settle after 4 passes",)
