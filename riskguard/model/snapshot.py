"""Accounts plus the market data they were evaluated against, at one instant.

The live connector and the paper/replay connector both produce this object, so
everything downstream is identical whether the numbers came from a venue a
second ago or from a file recorded last month.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from riskguard.model.account import Account
from riskguard.model.market import Market


@dataclass(frozen=True, slots=True)
class Quote:
    mark_price: float
    timestamp_ms: int | None
    index_price: float | None = None
    last_price: float | None = None
    funding_rate: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mark_price) and self.mark_price > 0):
            raise ValueError(f"mark price must be a finite number > 0, got {self.mark_price!r}")


@dataclass(frozen=True, slots=True)
class OrderBook:
    bids: tuple[tuple[float, float], ...]
    """(price, amount in contracts), best first."""
    asks: tuple[tuple[float, float], ...]
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class MarketSeries:
    """History used by the crowding analytics; each may be empty when the venue has none."""

    timeframe: str | None = None
    ohlcv: tuple[tuple[float, float, float, float, float, float], ...] = ()
    open_interest: tuple[tuple[float, float], ...] = ()
    """(timestamp_ms, open interest in contracts)."""
    open_interest_value: tuple[tuple[float, float], ...] = ()
    """(timestamp_ms, open interest in quote currency), when the venue reports it."""
    funding: tuple[tuple[float, float], ...] = ()
    """(timestamp_ms, funding rate per interval)."""
    order_book: OrderBook | None = None
    long_short_ratio: tuple[tuple[float, float], ...] = ()
    """(timestamp_ms, long accounts / short accounts) as the venue publishes it."""
    taker_volume: tuple[tuple[float, float, float], ...] = ()
    """(period start ms, taker buy volume, taker sell volume), base units."""


@dataclass(frozen=True, slots=True)
class VenueMarkets:
    venue: str
    markets: Mapping[str, Market]
    quotes: Mapping[str, Quote] = field(default_factory=dict)
    series: Mapping[str, MarketSeries] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at_ms: int
    venues: Mapping[str, VenueMarkets]
    accounts: tuple[Account, ...]

    def account(self, name: str) -> Account:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts) or "none"
        raise KeyError(f"no account named {name!r} in the snapshot (accounts: {known})")
