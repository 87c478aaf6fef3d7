"""An open position, with what the venue reported kept apart from what we compute.

Venue-reported numbers (liquidation price, margins) are inputs to a cross-check,
never substitutes for the computation: riskguard shows both and the gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Side(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is Side.LONG else -1


class MarginMode(StrEnum):
    ISOLATED = "isolated"
    CROSS = "cross"


class PositionSide(StrEnum):
    """One-way mode has a single ``both`` leg; hedge mode a ``long`` and a ``short`` leg.

    Binance lets the two cross legs of one symbol share a liquidation price, so
    the leg identity matters to the math, not just to display.
    """

    BOTH = "both"
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    side: Side
    contracts: float
    entry_price: float
    mark_price: float
    margin_mode: MarginMode
    position_side: PositionSide = PositionSide.BOTH
    leverage: float | None = None
    isolated_margin: float | None = None
    """Margin backing an isolated position, excluding unrealized PnL (settle asset)."""
    venue_liquidation_price: float | None = None
    venue_bankruptcy_price: float | None = None
    venue_maintenance_margin: float | None = None
    venue_initial_margin: float | None = None
    venue_unrealized_pnl: float | None = None
    tier_index: int | None = None
    """Tier the venue says the position sits in, for venues that fix it (OKX, Bybit)."""
    timestamp_ms: int | None = None
    adl_rank: int | None = None
    """The venue's auto-deleveraging queue rank where it reports one (higher: deleveraged sooner)."""

    def __post_init__(self) -> None:
        for name in ("contracts", "entry_price", "mark_price"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{self.symbol}: {name} must be a finite number > 0, got {value!r}")
        if self.margin_mode is MarginMode.ISOLATED and self.isolated_margin is None:
            raise ValueError(f"{self.symbol}: isolated position needs isolated_margin")
        if self.leverage is not None and not (math.isfinite(self.leverage) and self.leverage > 0):
            raise ValueError(f"{self.symbol}: leverage must be > 0, got {self.leverage!r}")
