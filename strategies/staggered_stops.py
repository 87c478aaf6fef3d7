"""``staggered_stops``: a ladder of reduce-only stop-market orders between mark and liquidation.

Why a ladder and not one stop: one stop is all-or-nothing at one price, and if that price is where many
other traders' liquidations sit it fires into their forced orders.  The ladder:

* triggers on the **mark price** (the price liquidation itself uses), so a wick in the last price does not
  fire it and a move that liquidates always crosses it first;
* puts the **last level** far enough before the liquidation price that the fill cannot slip past it: the
  fill of the whole ladder amount walked through today's book (``exit_liquidity.exit_fill``), times
  ``slippage_factor`` for a thinner book in a fast market, plus ``min_gap_pct`` of price.  A long's last
  trigger T satisfies T·(1 − factor·slippage) ≥ LP·(1 + gap); a short's T·(1 + factor·slippage) ≤ LP·(1 − gap);
* spreads the other levels from ``first_fraction`` of the way to the last level, evenly;
* moves any level that falls **inside a crowded band** (``riskguard.risk.bands``) to just **ahead** of it
  (the side the price reaches first), ``band_clearance_pct`` clear of the edge, so the stop sells before the
  cascade, not into it;
* grades sizes: with ``grading: rising`` level k of n closes k/Σk of the ladder (the nearer liquidation,
  the more), with ``equal`` the same each; levels below the venue's minimum order merge into the next;
* counts the position's **existing stops** (``Account.open_orders``): when they match the new ladder within
  ``tolerance_pct`` of mark in trigger and one amount step (or 5%) in size, nothing is replaced
  (``PLAN_STOPS_UNCHANGED``); otherwise the plan cancels them and places the ladder.

No ladder is planned without the inputs that make it safe: a liquidation price, the open orders (else it
could double the stops) and an order book deep enough to price the fill (``PLAN_INPUT_MISSING``).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from riskguard.model import Order
from riskguard.risk.account_risk import PositionRisk, PriceSource
from riskguard.risk.bands import Band
from riskguard.risk.exit_liquidity import exit_fill
from riskguard.risk.stops import position_stops
from riskguard.rules.codes import ReasonCode
from riskguard.rules.plan import IntendedOrder, OrderKind
from riskguard.rules.strategy import PositionRef, Proposal, Strategy, StrategyContext, StrategyParams


class StaggeredStopsParams(StrategyParams):
    levels: int = Field(default=3, ge=1, le=10, description="number of stop levels")
    cover: float = Field(default=1.0, gt=0, le=1, description="share of the position the ladder closes")
    first_fraction: float = Field(default=0.5, ge=0, le=1,
                                  description="first level's place on the way from mark to the last level")
    grading: Literal["rising", "equal"] = Field(default="rising", description="how sizes grow toward liquidation")
    min_gap_pct: float = Field(default=0.5, ge=0, description="last fill at least this % of price before LP")
    slippage_factor: float = Field(default=2.0, ge=1, description="multiplier on today's book slippage")
    band_clearance_pct: float = Field(default=0.1, gt=0, description="distance kept ahead of a band's edge, %")
    tolerance_pct: float = Field(default=0.25, ge=0, description="existing triggers this close (% of mark) match")


class StaggeredStops(Strategy):
    name = "staggered_stops"
    description = "Ladder of reduce-only mark-price stops ahead of crowded bands and clear of liquidation."
    Params = StaggeredStopsParams
    params: StaggeredStopsParams

    def propose(self, ctx: StrategyContext) -> Proposal:
        out = Proposal()
        for r in ctx.risk.positions:
            if ctx.in_scope(r) and r.liquidation_source is not PriceSource.NONE:
                out += self._position(ctx, r)
        return out

    def _position(self, ctx: StrategyContext, r: PositionRisk) -> Proposal:
        ref = PositionRef.of(r)
        missing = _missing(ctx, r)
        if missing:
            return Proposal(reason_codes=(ReasonCode.PLAN_INPUT_MISSING,), notes=(f"{ref}: {missing}; no ladder",))
        assert r.liquidation_price is not None and ctx.account.open_orders is not None
        market, limits = ctx.market(r.symbol), ctx.limits_for(r.symbol)
        signals = ctx.signals[r.symbol]
        assert signals.book is not None
        s = ref.side.sign
        total = limits.floor(r.contracts * self.params.cover)
        fill = exit_fill(side=s, contracts=max(total, r.contracts * 1e-9), contract_size=market.contract_size,
                         inverse=market.inverse, mark=r.mark_price, bids=signals.book.bids, asks=signals.book.asks)
        if fill.slippage_bp_vs_mark is None:
            return Proposal(reason_codes=(ReasonCode.PLAN_INPUT_MISSING,),
                            notes=(f"{ref}: the book cannot price the ladder's fill ({fill.reason}); no ladder",))
        slip = self.params.slippage_factor * max(fill.slippage_bp_vs_mark, 0.0) / 1e4
        gap = self.params.min_gap_pct / 100
        lp, mark = r.liquidation_price, r.mark_price
        # at 100% slippage or more no trigger fills before liquidation (and a long's last level would divide by 0)
        last = math.nan if slip >= 1 else lp * (1 + gap) / (1 - slip) if s > 0 else lp * (1 - gap) / (1 + slip)
        if slip >= 1 or s * (mark - last) <= 0:
            return Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,),
                            notes=(f"{ref}: liquidation at {lp:g} is too close to mark {mark:g} for a stop to fill "
                                   f"before it (slippage {fill.slippage_bp_vs_mark:.1f} bp); reduce instead",))
        n, f1 = self.params.levels, self.params.first_fraction
        fractions = [1.0] if n == 1 else [f1 + (1 - f1) * k / (n - 1) for k in range(n)]
        triggers = [mark + (last - mark) * f for f in fractions]
        triggers = [_ahead_of_bands(t, s, signals.bands or (), self.params.band_clearance_pct / 100) for t in triggers]
        tick = market.price_tick
        if tick:
            triggers = [_round_toward_mark(t, s, tick) for t in triggers]
        weights = [k + 1.0 if self.params.grading == "rising" else 1.0 for k in range(n)]
        ladder = _merge(ctx, r, triggers, weights, total)
        if not ladder:
            return Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,),
                            notes=(f"{ref}: {total:g} contracts is below the venue's minimum order; no ladder",))
        existing = position_stops(ctx.account.open_orders, symbol=r.symbol, side=r.side,  # type: ignore[arg-type]
                                  position_side=r.position_side, mark_price=mark)
        if self._unchanged(existing, ladder, r, limits.amount_step):
            return Proposal(reason_codes=(ReasonCode.PLAN_STOPS_UNCHANGED,),
                            notes=(f"{ref}: {len(existing)} existing stops match the ladder; kept",))
        close = "sell" if s > 0 else "buy"
        cancels = tuple(
            IntendedOrder(account=ctx.account.name, symbol=r.symbol, side=o.side.value, kind=OrderKind.CANCEL,
                          amount=o.amount or r.contracts, strategy=self.name, order_id=o.id,
                          rationale=f"replaced by the new ladder (trigger {o.trigger_price:g})",
                          position_side=r.position_side, position_contracts=r.contracts,
                          reason_codes=(ReasonCode.PLAN_PLACES_STOPS.value,))
            for o in existing
        )
        stops = tuple(
            IntendedOrder(account=ctx.account.name, symbol=r.symbol, side=close, kind=OrderKind.STOP_MARKET,
                          amount=amount, trigger_price=trigger, strategy=self.name,
                          rationale=f"level {i + 1}/{len(ladder)}: {amount:g} contracts at mark {trigger:g} "
                                    f"(liquidation {lp:g}, last level clear of {slip * 1e4:.1f} bp slippage "
                                    f"+ {self.params.min_gap_pct:g}%)",
                          position_side=r.position_side, position_contracts=r.contracts,
                          reason_codes=(ReasonCode.PLAN_PLACES_STOPS.value,))
            for i, (trigger, amount) in enumerate(ladder)
        )
        return Proposal(cancels + stops, (ReasonCode.PLAN_PLACES_STOPS,))

    def _unchanged(self, existing: tuple[Order, ...], ladder: list[tuple[float, float]], r: PositionRisk,
                   step: float | None) -> bool:
        if len(existing) != len(ladder):
            return False
        tol = self.params.tolerance_pct / 100 * r.mark_price
        for order, (trigger, amount) in zip(existing, ladder, strict=True):  # both nearest mark first
            moved = abs((order.trigger_price or math.inf) - trigger) > tol
            resized = abs((order.amount or r.contracts) - amount) > max(step or 0.0, 0.05 * amount)
            if moved or resized:
                return False
        return True


def _missing(ctx: StrategyContext, r: PositionRisk) -> str | None:
    if r.liquidation_price is None:
        return f"liquidation price unknown ({r.unavailable_reason or r.liquidation_source.value})"
    if ctx.account.open_orders is None:
        return "open orders unknown (a new ladder could double existing stops)"
    signals = ctx.signals.get(r.symbol)
    if signals is None or signals.book is None:
        return "no order book to price the stops' fill"
    return None


def _ahead_of_bands(trigger: float, side: int, bands: tuple[Band, ...], clearance: float) -> float:
    """Move ``trigger`` out of any band of the position's side, toward mark (where price arrives first).

    Each move goes strictly past the band's edge and only toward mark, so it ends after at most one move
    per band."""
    own = sorted((b for b in bands if (b.side == "long") == (side > 0)),
                 key=lambda b: -b.price_high if side > 0 else b.price_low)
    for b in reversed(own):  # farthest from mark first: a move can only land in a band nearer mark
        if b.contains(trigger):
            edge = b.price_high * (1 + clearance) if side > 0 else b.price_low * (1 - clearance)
            trigger = max(edge, math.nextafter(b.price_high, math.inf)) if side > 0 else min(
                edge, math.nextafter(b.price_low, -math.inf))
    return trigger


def _round_toward_mark(price: float, side: int, tick: float) -> float:
    steps = price / tick
    k = math.ceil(steps - 1e-9) if side > 0 else math.floor(steps + 1e-9)
    per_unit = round(1 / tick)
    return k / per_unit if abs(per_unit * tick - 1) < 1e-12 else k * tick


def _merge(ctx: StrategyContext, r: PositionRisk, triggers: list[float], weights: list[float],
           total: float) -> list[tuple[float, float]]:
    """(trigger, amount) nearest mark first: sizes by weight on the step grid, the last level takes the rest,
    levels the venue would refuse (beyond mark after a band move, duplicate, below minimum) merge outward."""
    market, limits = ctx.market(r.symbol), ctx.limits_for(r.symbol)
    s = 1 if r.side == "long" else -1
    amounts = [limits.floor(total * w / sum(weights)) for w in weights]
    amounts[-1] = limits.floor(total - sum(amounts[:-1]))
    out: list[tuple[float, float]] = []
    carry = 0.0
    for i, (trigger, amount) in enumerate(zip(triggers, amounts, strict=True)):
        amount = limits.floor(amount + carry)
        carry = 0.0
        is_last = i == len(triggers) - 1
        duplicate = out and out[-1][0] == trigger
        valid = s * (r.mark_price - trigger) > 0 and limits.accepts(market, amount, trigger)
        if not is_last and (not valid or duplicate):
            carry = amount
            continue
        if duplicate:
            out[-1] = (trigger, limits.floor(out[-1][1] + amount))
        elif valid:
            out.append((trigger, amount))
        elif out:
            out[-1] = (out[-1][0], limits.floor(out[-1][1] + amount))
    out = [(t, a) for t, a in out if limits.accepts(market, a, t)]
    return sorted(out, key=lambda ta: -s * ta[0])
