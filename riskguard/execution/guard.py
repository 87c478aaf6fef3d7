"""The last check before an order leaves: against the position as just read, not against the plan.

A plan is checked when it is made (``IntendedOrder`` refuses what is not reduce-only), but a plan can be stale,
hand-built or wrong.  This guard does not trust it: the order must be reduce-only as the venue will see it, its
side must close the position it names, and its amount must not exceed that position.  A refused order is never
sent, and the refusal is audited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from riskguard.execution.venue_orders import OrderCall, hedge_leg


@dataclass(frozen=True, slots=True)
class LivePosition:
    """One position leg as the venue reported it just now (``contracts`` > 0, in ccxt contracts)."""

    symbol: str
    side: str
    """``long`` or ``short``."""
    position_side: str
    """``both`` in one-way mode, else the hedge leg (``long``/``short``)."""
    contracts: float
    margin_mode: str = "cross"
    mark_price: float | None = None


def refusal(call: OrderCall, position: LivePosition | None, reserved: float = 0.0) -> str | None:
    """Why ``call`` must not be sent against ``position``; None when it may.

    :param reserved: contracts of the same leg that orders sent earlier in this run still hold (resting stops
        and limits): together with this order they must not exceed the position.
    """
    if position is None or not (math.isfinite(position.contracts) and position.contracts > 0):
        return f"{call.symbol}: no open position to reduce"
    if call.symbol != position.symbol:
        return f"{call.symbol}: the order is for another symbol than the position ({position.symbol})"
    if not call.reduce_only:
        return f"{call.symbol}: not reduce-only"
    closes = "long" if call.side == "sell" else "short" if call.side == "buy" else None
    if closes != position.side:
        return f"{call.symbol}: a {call.side} does not reduce a {position.side} position"
    leg = hedge_leg(call.params)
    if (leg or "both") != position.position_side:
        return f"{call.symbol}: the order names leg {leg or 'both'}, the position is on {position.position_side}"
    if not (math.isfinite(call.amount) and call.amount > 0):
        return f"{call.symbol}: amount {call.amount!r} is not a positive number"
    # The room is the position less what rests, computed as the executor sizes the order (amount + reserved can
    # round one ulp above a position it exactly fills, which refused the order and let a rerun place another).
    if call.amount > position.contracts - reserved:
        held = f" with {reserved:g} already held by resting orders" if reserved else ""
        return f"{call.symbol}: amount {call.amount:g}{held} exceeds the position's {position.contracts:g} contracts"
    return None
