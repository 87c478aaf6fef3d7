"""What ``reduce_size`` and ``close_worst_first`` share: targets, and the smallest reduction that meets one.

The smallest reduction is found by bisection over whole amount steps, each trial replayed by the what-if
engine and re-evaluated by ``evaluate_account``: no shortcut formula, so tier changes as the size shrinks,
the taker fee, a Bybit closing-fee reserve or an OKX fee term, and in cross margin the whole pool moving,
are all in the answer.  Bisection needs the metric to improve as the reduction grows, which holds for
every target here: a smaller position needs less maintenance margin and the fee grows only in proportion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from riskguard.model import Account, Side
from riskguard.risk.account_risk import AccountRisk, PositionRisk, PriceSource, evaluate_account
from riskguard.risk.exit_liquidity import exit_fill
from riskguard.risk.volatility import liquidation_distance
from riskguard.risk.whatif import Reduce, apply_fills, on_grid
from riskguard.rules.codes import ReasonCode
from riskguard.rules.plan import IntendedOrder, OrderKind
from riskguard.rules.strategy import PositionRef, StrategyContext


class Target(StrEnum):
    BUFFER_PCT = "buffer_pct"
    """Adverse move from mark to the liquidation price, % of mark; at least the value."""
    SIGMA_BUFFER = "sigma_buffer"
    """The same distance in σ of the symbol's realized volatility over the context's horizon; at least."""
    EFFECTIVE_LEVERAGE = "effective_leverage"
    """Notional ÷ the equity that backs it; at most the value."""


def position_metric(ctx: StrategyContext, r: PositionRisk, target: Target) -> float | None:
    """The position's value of ``target``; +inf when no price liquidates it; None when unknown."""
    if target is Target.EFFECTIVE_LEVERAGE:
        return r.effective_leverage
    if r.liquidation_source is PriceSource.NONE:
        return math.inf
    if r.liquidation_price is None or r.buffer_pct is None:
        return None
    if target is Target.BUFFER_PCT:
        return r.buffer_pct
    signals = ctx.signals.get(r.symbol)
    if signals is None or signals.volatility is None:
        return None
    side = 1 if r.side == "long" else -1
    return liquidation_distance(side, r.mark_price, r.liquidation_price, signals.volatility,
                                ctx.horizon_seconds).sigma_buffer


def meets(value: float, target: Target, threshold: float) -> bool:
    return value <= threshold if target is Target.EFFECTIVE_LEVERAGE else value >= threshold


def find(risk: AccountRisk, ref: PositionRef) -> PositionRisk | None:
    return next((p for p in risk.positions if ref.matches(p)), None)


@dataclass(frozen=True, slots=True)
class Cut:
    """A reduction of one position and the account after it."""

    amount: float
    closes: bool
    met: bool
    """The target holds after the cut (False: even the whole position was not enough)."""
    price: float
    account: Account
    risk: AccountRisk
    why_not: str | None = None
    """Why no order could be placed at all (the position is below the venue's minimum order)."""

    def context(self, ctx: StrategyContext) -> StrategyContext:
        return replace(ctx, account=self.account, risk=self.risk)


def fill_price(ctx: StrategyContext, ref: PositionRef, r: PositionRisk, amount: float) -> float:
    """Where a market reduction of ``amount`` fills: the book's VWAP when the book can take it, else mark."""
    signals = ctx.signals.get(ref.symbol)
    if signals is None or signals.book is None:
        return r.mark_price
    market = ctx.market(ref.symbol)
    fill = exit_fill(side=ref.side.sign, contracts=amount, contract_size=market.contract_size,
                     inverse=market.inverse, mark=r.mark_price, bids=signals.book.bids, asks=signals.book.asks)
    return fill.vwap if fill.status == "ok" and fill.vwap is not None else r.mark_price


def smallest_cut(ctx: StrategyContext, ref: PositionRef, ok: Callable[[AccountRisk], bool]) -> Cut:
    """The smallest venue-valid reduction of ``ref`` after which ``ok`` holds (or the whole position)."""
    p, r = ctx.position(ref)
    market, limits = ctx.market(ref.symbol), ctx.limits_for(ref.symbol)

    def trial(amount: float) -> tuple[Account, AccountRisk, float]:
        price = fill_price(ctx, ref, r, amount)
        fills = [Reduce(ref.symbol, ref.side, amount, price, ref.position_side)]
        account = apply_fills(ctx.account, ctx.venue, fills, ctx.taker_fee)
        return account, evaluate_account(account, ctx.venue), price

    if not limits.accepts(market, p.contracts, r.mark_price):
        why = (f"{ref}: the whole position ({p.contracts:g} contracts) is below the venue's minimum order "
               f"({limits.min_amount:g} contracts, {limits.min_notional:g} notional)")
        return Cut(0.0, False, False, r.mark_price, ctx.account, ctx.risk, why)
    account, risk, price = trial(p.contracts)
    if not ok(risk):
        return Cut(p.contracts, True, False, price, account, risk)
    amount = _bisect(p.contracts, limits.amount_step, lambda a: ok(trial(a)[1]))
    amount = max(amount, limits.ceil(limits.min_amount),
                 limits.ceil(limits.min_notional / max(limits.notional(market, 1.0, r.mark_price), 1e-300)))
    remainder = p.contracts - amount
    if remainder < limits.min_amount or limits.notional(market, remainder, r.mark_price) < limits.min_notional:
        amount = p.contracts  # a remainder the venue would not let us close later: close it now
    if amount >= p.contracts:
        return Cut(p.contracts, True, True, price, account, risk)
    account, risk, price = trial(amount)
    return Cut(amount, False, True, price, account, risk)


def _bisect(contracts: float, step: float | None, ok: Callable[[float], bool]) -> float:
    """Smallest amount in (0, contracts] (a multiple of ``step`` when there is one) with ``ok``; ok(contracts)."""
    if step is None:
        lo, hi = 0.0, contracts
        for _ in range(48):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if ok(mid) else (mid, hi)
        return hi
    lo_k, hi_k = 0, max(1, math.floor(contracts / step + 1e-9))
    if not ok(on_grid(hi_k, step)):
        return contracts
    while hi_k - lo_k > 1:
        mid = (lo_k + hi_k) // 2
        lo_k, hi_k = (lo_k, mid) if ok(on_grid(mid, step)) else (mid, hi_k)
    return on_grid(hi_k, step)


def reduce_order(ctx: StrategyContext, ref: PositionRef, cut: Cut, strategy: str, rationale: str) -> IntendedOrder:
    p, _ = ctx.position(ref)
    code = ReasonCode.PLAN_CLOSES_POSITION if cut.closes else ReasonCode.PLAN_REDUCES_POSITION
    return IntendedOrder(
        account=ctx.account.name,
        symbol=ref.symbol,
        side="sell" if ref.side is Side.LONG else "buy",
        kind=OrderKind.MARKET,
        amount=cut.amount,
        strategy=strategy,
        rationale=rationale,
        position_side=ref.position_side.value,
        position_contracts=p.contracts,
        price=cut.price,
        reason_codes=(code.value,),
    )
