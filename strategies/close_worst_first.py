"""``close_worst_first``: restore a cross pool's target by closing where each unit of notional buys most.

In a cross pool the account is liquidated on its margin ratio MR = Σ MM ÷ equity.  Closing notional ΔN of
position i at mark removes mmr_i·ΔN of requirement (mmr_i: the rate of the tier it sits in now, fee terms
included, the position's ``PositionRisk.mmr``) and costs the taker fee on ΔN from the equity, which is the
same for every position.  So the buffer bought per unit of notional closed is largest for the highest
marginal rate: high-tier and high-risk-rate positions go first, whatever their size.  "Largest position
first" is the naive rule it replaces: a big position on a low rate frees little requirement per dollar.

The chosen position is cut by the smallest amount that meets the target (what-if + ``evaluate_account``,
so tier changes and fees are exact); when closing it entirely is not enough it is closed and the next is
ranked on the account as it is now.  Isolated positions are not in the pool and are never touched.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from riskguard.risk.account_risk import AccountRisk, CrossSummary
from riskguard.rules.codes import ReasonCode
from riskguard.rules.strategy import PositionRef, Proposal, Strategy, StrategyContext, StrategyParams
from strategies._reduce import reduce_order, smallest_cut


class PoolTarget(StrEnum):
    BUFFER_PCT = "buffer_pct"
    """(1 − margin ratio)·100 of the pool: the share of equity above maintenance margin; at least."""
    EFFECTIVE_LEVERAGE = "effective_leverage"
    """Pool notional ÷ pool equity; at most."""


class CloseWorstFirstParams(StrategyParams):
    target: PoolTarget = Field(default=PoolTarget.BUFFER_PCT, description="the pool figure to restore")
    value: float = Field(gt=0, description="threshold the pool must meet after the plan")


class CloseWorstFirst(Strategy):
    name = "close_worst_first"
    description = "Cross pools: close the positions that buy the most buffer per unit of notional first."
    Params = CloseWorstFirstParams
    params: CloseWorstFirstParams

    def _ok(self, pool: CrossSummary | None) -> bool:
        if pool is None:
            return True  # nothing left in the pool: nothing to liquidate
        if self.params.target is PoolTarget.BUFFER_PCT:
            return pool.headroom_pct >= self.params.value
        return pool.effective_leverage <= self.params.value

    def propose(self, ctx: StrategyContext) -> Proposal:
        out = Proposal()
        for pool in ctx.risk.cross:
            if not self._ok(pool):
                out, ctx = self._restore(ctx, pool.asset, out)
        return out

    def _restore(self, ctx: StrategyContext, asset: str, out: Proposal) -> tuple[Proposal, StrategyContext]:
        def ok(risk: AccountRisk) -> bool:
            return self._ok(next((c for c in risk.cross if c.asset == asset), None))

        current = ctx
        while True:
            candidates = [
                r for r in current.risk.positions
                if r.margin_mode == "cross" and r.settle == asset and current.in_scope(r)
            ]
            if not candidates:
                out += Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,),
                                notes=(f"{asset} cross pool: no position left in scope to close and "
                                       f"{self.params.target.value} {self.params.value:g} is still not met",))
                return out, current
            best = max(candidates, key=lambda r: (r.mmr, r.notional))
            ref = PositionRef.of(best)
            cut = smallest_cut(current, ref, ok)
            if cut.why_not:
                out += Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,), notes=(cut.why_not,))
                return out, current
            rationale = (f"{asset} pool {self.params.target.value} misses {self.params.value:g}; {ref} frees "
                         f"{best.mmr:.4%} of requirement per unit of notional, the most in the pool; "
                         f"{'closing it' if cut.closes else f'cutting {cut.amount:g} contracts'}")
            order = reduce_order(current, ref, cut, self.name, rationale)
            out += Proposal((order,), tuple(ReasonCode(c) for c in order.reason_codes))
            current = cut.context(current)
            if cut.met:
                return out, current
