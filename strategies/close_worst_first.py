"""``close_worst_first``: restore a cross pool's target by closing where each unit of notional buys most.

In a cross pool the account is liquidated on its margin ratio MR = Σ MM ÷ equity.  Closing notional ΔN of
position i at mark removes mmr_i·ΔN of requirement (mmr_i: the rate of the tier it sits in now, fee terms
included, the position's ``PositionRisk.mmr``) and costs the taker fee on ΔN from the equity, which is the
same for every position.  So the buffer bought per unit of notional closed is largest for the highest
marginal rate: high-tier and high-risk-rate positions go first, whatever their size.  "Largest position
first" is the naive rule it replaces: a big position on a low rate frees little requirement per dollar.

The chosen position is cut by the smallest amount that meets the target (what-if + ``evaluate_account``,
so tier changes and fees are exact), but never past the floor of its tier in one go: below it the position's
marginal rate drops, so it is ranked again with the others on the account as the cut leaves it.  A position
whose whole size is below the venue's minimum order is skipped (and said so).  Isolated positions are not in
the pool and are never touched.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
from pydantic import Field

from riskguard.model import TierBasis
from riskguard.risk.account_risk import AccountRisk, CrossSummary, PositionRisk, Variants
from riskguard.risk.venue_rules import TierSelection, rules_for
from riskguard.risk.whatif import on_grid
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

    def _slack(self, pool: CrossSummary | None) -> float:
        if pool is None:
            return math.inf  # nothing left in the pool: nothing to liquidate
        if self.params.target is PoolTarget.BUFFER_PCT:
            return pool.headroom_pct - self.params.value
        return self.params.value - pool.effective_leverage

    def _guess(self, ctx: StrategyContext, asset: str, r: PositionRisk) -> float | None:
        """Where the search should look first: the cut of ``r`` at mark that meets the target if it stayed in
        its tier (requirement −mmr·notional, equity −fee·notional); only an estimate for the scan."""
        pool = next((c for c in ctx.risk.cross if c.asset == asset), None)
        market = ctx.market(r.symbol)
        if pool is None or market.inverse:
            return None
        fee, value = ctx.taker_fee, self.params.value
        if self.params.target is PoolTarget.BUFFER_PCT:
            # (1 − (MM − mmr·x) ÷ (equity − fee·x)) · 100 = value, x the notional closed
            kept = 1 - value / 100
            above, below = pool.maintenance_margin - kept * pool.equity, r.mmr - kept * fee
        else:
            # (notional − x) ÷ (equity − fee·x) = value
            above, below = pool.effective_leverage * pool.equity - value * pool.equity, 1 - value * fee
        notional = above / below if below else math.nan
        return notional / (r.mark_price * market.contract_size) if math.isfinite(notional) else None

    def propose(self, ctx: StrategyContext) -> Proposal:
        out = Proposal()
        for pool in ctx.risk.cross:
            if not self._slack(pool) >= 0:
                out, ctx = self._restore(ctx, pool.asset, out)
        return out

    def _restore(self, ctx: StrategyContext, asset: str, out: Proposal) -> tuple[Proposal, StrategyContext]:
        def slack(risk: AccountRisk) -> float:
            return self._slack(next((c for c in risk.cross if c.asset == asset), None))

        def pool_rows(v: Variants, row: int) -> np.ndarray:
            pool = v.pools[asset]  # the cut position is a cross position settled in asset: its pool is there
            if self.params.target is PoolTarget.BUFFER_PCT:
                out = pool.headroom_pct - self.params.value
            else:
                out = self.params.value - pool.effective_leverage
            return np.where(pool.present, out, math.inf)

        current, skipped = ctx, set[PositionRef]()
        while True:
            candidates = [
                r for r in current.risk.positions
                if r.margin_mode == "cross" and r.settle == asset and current.in_scope(r)
                and PositionRef.of(r) not in skipped
            ]
            if not candidates:
                out += Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,),
                                notes=(f"{asset} cross pool: no position left in scope to close and "
                                       f"{self.params.target.value} {self.params.value:g} is still not met",))
                return out, current
            best = max(candidates, key=lambda r: (r.mmr, r.notional))
            ref = PositionRef.of(best)
            cut = smallest_cut(current, ref, slack, limit=tier_exit(current, best), rows_slack=pool_rows,
                               guess=self._guess(current, asset, best))
            if cut.why_not:
                skipped.add(ref)
                out += Proposal(notes=(cut.why_not,))
                continue
            done = "closing it" if cut.closes else f"cutting {cut.amount:g} contracts"
            if not cut.met and not cut.closes:
                done += " (out of its tier; the rest is ranked again at the lower rate)"
            rationale = (f"{asset} pool {self.params.target.value} misses {self.params.value:g}; {ref} frees "
                         f"{best.mmr:.4%} of requirement per unit of notional, the most in the pool; {done}")
            order = reduce_order(current, ref, cut, self.name, rationale)
            out += Proposal((order,), tuple(ReasonCode(c) for c in order.reason_codes))
            current = cut.context(current)
            if cut.met:
                return out, current


def tier_exit(ctx: StrategyContext, r: PositionRisk) -> float | None:
    """The reduction that takes ``r`` below the floor of the tier it sits in, where its marginal rate drops;
    None in the lowest tier.  Tiers are bracketed by value in the settle asset at mark (contract count for
    venues that tier by contracts), as ``evaluate_account`` picks them; the cut itself is still verified
    by the exact evaluation, so this only decides when to rank again."""
    if r.tier == 0:
        return None
    market = ctx.market(r.symbol)
    rules = rules_for(ctx.account.venue, ctx.account.account_type)
    if market.tier_basis is TierBasis.CONTRACTS and rules.tier_selection is TierSelection.CURRENT:
        per_contract = 1.0
    else:
        per_contract = market.contract_size / r.mark_price if market.inverse else market.contract_size * r.mark_price
    floor_contracts = market.tiers[r.tier].floor / per_contract
    step = ctx.limits_for(r.symbol).amount_step
    if step is None:
        return (r.contracts - floor_contracts) * (1 + 1e-12)
    return on_grid(math.floor((r.contracts - floor_contracts) / step + 1e-9) + 1, step)
