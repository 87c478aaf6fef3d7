"""``add_margin``: top up isolated positions from free balance; the cheapest action, it never trades.

Each isolated position in scope whose liquidation buffer misses the target gets the smallest amount (on
the ``margin_step`` grid) after which the exact venue math says the buffer holds, capped by ``max_amount``
per position and by the free balance.  Free balance is what the cross wallet holds beyond the initial
margin of the cross positions it backs, less any cross unrealized loss (Binance's available balance); the
amounts planned for earlier positions come off it.  When the cap or the balance stops short, the plan adds
what it may and says the target is not met.  ccxt: ``addMargin(symbol, amount)``.
"""

from __future__ import annotations

import math
from dataclasses import replace

from pydantic import Field

from riskguard.model import Account
from riskguard.risk.account_risk import AccountRisk, PriceSource
from riskguard.risk.whatif import AddMargin as AddMarginFill
from riskguard.risk.whatif import apply_fills, on_grid
from riskguard.rules.codes import ReasonCode
from riskguard.rules.plan import IntendedOrder, OrderKind
from riskguard.rules.strategy import PositionRef, Proposal, Strategy, StrategyContext, StrategyParams
from strategies._reduce import find


class AddMarginParams(StrategyParams):
    buffer_pct: float = Field(gt=0, description="liquidation buffer, % of mark, the position must reach")
    max_amount: float = Field(gt=0, description="most margin added to one position, in its settle asset")
    margin_step: float = Field(default=0.01, gt=0, description="granularity of the amount, settle asset")


class AddMargin(Strategy):
    name = "add_margin"
    description = "Isolated positions: smallest top-up from free balance (capped) that restores the buffer."
    Params = AddMarginParams
    params: AddMarginParams

    def propose(self, ctx: StrategyContext) -> Proposal:
        out = Proposal()
        spent: dict[str, float] = {}
        current = ctx
        for r in ctx.risk.positions:
            if r.margin_mode != "isolated" or not ctx.in_scope(r) or r.liquidation_source is PriceSource.NONE:
                continue
            ref = PositionRef.of(r)
            if r.buffer_pct is None:
                out += Proposal(reason_codes=(ReasonCode.PLAN_INPUT_MISSING,),
                                notes=(f"{ref}: liquidation price unknown; no margin planned",))
                continue
            if r.buffer_pct >= self.params.buffer_pct:
                continue
            free = free_balance(ctx, r.settle) - spent.get(r.settle, 0.0)
            step_out, current, amount = self._top_up(current, ref, free)
            out += step_out
            spent[r.settle] = spent.get(r.settle, 0.0) + amount
        return out

    def _top_up(self, ctx: StrategyContext, ref: PositionRef, free: float) -> tuple[Proposal, StrategyContext, float]:
        _, r = ctx.position(ref)
        step, target = self.params.margin_step, self.params.buffer_pct
        budget = math.floor(min(self.params.max_amount, free) / step + 1e-9)
        if budget < 1:
            return Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,),
                            notes=(f"{ref}: no free {r.settle} balance to add (free {free:g})",)), ctx, 0.0

        def trial(k: int) -> tuple[Account, AccountRisk]:
            fill = AddMarginFill(ref.symbol, ref.side, on_grid(k, step), ref.position_side)
            account = apply_fills(ctx.account, ctx.venue, [fill], ctx.taker_fee)
            return account, ctx.evaluate(account)

        def ok(k: int) -> bool:
            after = find(trial(k)[1], ref)
            return after is not None and (after.buffer_pct is None or after.buffer_pct >= target)

        k, met = budget, ok(budget)
        if met:
            lo = 0
            while k - lo > 1:
                mid = (lo + k) // 2
                lo, k = (lo, mid) if ok(mid) else (mid, k)
        amount = on_grid(k, step)
        account, risk = trial(k)
        after = find(risk, ref)
        shown = "no liquidation price" if after is None or after.buffer_pct is None else f"{after.buffer_pct:.4g}%"
        order = IntendedOrder(
            account=ctx.account.name, symbol=r.symbol, side="sell" if r.side == "long" else "buy",
            kind=OrderKind.ADD_MARGIN, amount=amount, strategy=self.name,
            rationale=f"buffer {r.buffer_pct:.4g}% misses {target:g}%; adding {amount:g} {r.settle} -> {shown}",
            position_side=r.position_side, position_contracts=r.contracts,
            reason_codes=(ReasonCode.PLAN_ADDS_MARGIN.value,),
        )
        out = Proposal((order,), (ReasonCode.PLAN_ADDS_MARGIN,))
        if not met:
            out += Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,),
                            notes=(f"{ref}: adding {amount:g} {r.settle} (the cap or the free balance) does not "
                                   f"reach {target:g}%",))
        return out, replace(ctx, account=account, risk=risk), amount


def free_balance(ctx: StrategyContext, asset: str) -> float:
    """Cross wallet beyond the cross positions' initial margin (maintenance when IM is unknown), less uPnL loss."""
    balance = ctx.account.balances.get(asset)
    if balance is None:
        return 0.0
    members = [p for p in ctx.risk.positions if p.margin_mode == "cross" and p.settle == asset]
    used = sum(p.initial_margin if p.initial_margin is not None else p.maintenance_margin for p in members)
    loss = min(0.0, sum(p.unrealized_pnl for p in members))
    return max(0.0, balance.cross_wallet - used + loss)
