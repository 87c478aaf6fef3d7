"""An open order as the venue holds it, so a position's stops can be set against its liquidation price.

Stops are trigger orders: they rest until a price crosses ``trigger_price``.  Only their position in
the price ladder matters to the risk checks, but every open order is kept (a plain limit order has
no trigger) so the model says what the account has open, not a filtered view of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from riskguard.model.position import PositionSide


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    symbol: str
    side: OrderSide
    order_type: str
    """The venue's own name for it (``STOP_MARKET``, ``StopLoss``, ``conditional``, ``Stop Market``):
    venues slice order types differently, and the user recognizes their own venue's words."""
    amount: float | None
    """Open contracts; None when the order closes whatever the position holds when it fires (Binance
    ``closePosition``, Bybit full-position TP/SL, OKX ``closeFraction``, Hyperliquid position TP/SL)."""
    trigger_price: float | None = None
    """Where a conditional order arms; None for an order that is live now."""
    price: float | None = None
    """Limit price; None for a market order, including a stop that fires one."""
    reduce_only: bool = False
    position_side: PositionSide = PositionSide.BOTH
    """The hedge-mode leg the order trades; ``both`` in one-way mode."""
    timestamp_ms: int | None = None

    def __post_init__(self) -> None:
        for name in ("amount", "trigger_price", "price"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{self.symbol} order {self.id}: {name} must be a finite number > 0, got {value!r}")

    @property
    def is_stop(self) -> bool:
        """A trigger (conditional) order: the only kind whose price can sit inside a liquidation band unseen."""
        return self.trigger_price is not None
