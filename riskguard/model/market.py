"""Instrument metadata that the margin math depends on.

A market is immutable for the lifetime of a snapshot: tiers, contract size and
ticks only change when the venue republishes them, and a snapshot must be
replayable later with exactly the numbers that were live when it was taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class ContractKind(StrEnum):
    """Linear contracts settle in the quote asset; inverse ones in the base coin.

    The distinction flips the PnL curve (1/price for inverse), so every formula
    branches on it.
    """

    LINEAR = "linear"
    INVERSE = "inverse"


class TierBasis(StrEnum):
    """What a venue measures to place a position in a margin tier.

    Binance USDⓈ-M, Bybit and Hyperliquid use quote notional, Binance COIN-M uses
    base-coin quantity and OKX uses the contract count.  Getting the basis wrong
    silently picks the wrong maintenance rate for large positions.
    """

    QUOTE_NOTIONAL = "quote_notional"
    BASE_QUANTITY = "base_quantity"
    CONTRACTS = "contracts"


@dataclass(frozen=True, slots=True)
class MarginTier:
    """One maintenance-margin bracket: MM = size·mmr − cum inside [floor, cap).

    ``cum`` is the maintenance amount (Binance ``cum``, Bybit ``mmDeduction``,
    Hyperliquid's deduction) that keeps MM continuous across brackets.
    """

    floor: float
    cap: float
    mmr: float
    cum: float = 0.0
    max_leverage: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.floor) and self.floor >= 0):
            raise ValueError(f"tier floor must be a finite number >= 0, got {self.floor!r}")
        if not (self.cap > self.floor):
            raise ValueError(f"tier cap {self.cap!r} must exceed floor {self.floor!r}")
        if not (math.isfinite(self.mmr) and 0 <= self.mmr < 1):
            raise ValueError(f"tier mmr must be in [0, 1), got {self.mmr!r}")
        if not math.isfinite(self.cum):
            raise ValueError(f"tier cum must be finite, got {self.cum!r}")
        if self.max_leverage is not None and not (self.max_leverage > 0):
            raise ValueError(f"tier max_leverage must be > 0, got {self.max_leverage!r}")


@dataclass(frozen=True, slots=True)
class Market:
    """A derivatives instrument as the risk core needs it.

    ``contract_size`` is in base units per contract for linear markets and in
    quote (USD) per contract for inverse ones, matching ccxt's unified field.
    """

    venue: str
    symbol: str
    kind: ContractKind
    settle: str
    contract_size: float
    price_tick: float | None
    amount_step: float | None
    tiers: tuple[MarginTier, ...]
    tier_basis: TierBasis = TierBasis.QUOTE_NOTIONAL

    def __post_init__(self) -> None:
        if not (math.isfinite(self.contract_size) and self.contract_size > 0):
            raise ValueError(f"{self.symbol}: contract_size must be > 0, got {self.contract_size!r}")
        # Contract counts are whole numbers: OKX's next tier may start one contract above the last cap.
        step = 1.0 if self.tier_basis is TierBasis.CONTRACTS else 0.0
        if self.tiers and self.tiers[0].floor > step:
            raise ValueError(f"{self.symbol}: the tier table starts at {self.tiers[0].floor:.10g}, not 0 "
                             "(a tier is missing)")
        for prev, nxt in zip(self.tiers, self.tiers[1:], strict=False):
            if nxt.floor < prev.floor or nxt.mmr < prev.mmr:
                raise ValueError(f"{self.symbol}: margin tiers must be sorted by floor with rising mmr")
            if not prev.cap - 1e-9 * prev.cap <= nxt.floor <= prev.cap + step + 1e-9 * prev.cap:
                raise ValueError(f"{self.symbol}: tier from {nxt.floor:.10g} does not continue the one capped at "
                                 f"{prev.cap:.10g} (a tier is missing or overlaps)")

    @property
    def inverse(self) -> bool:
        return self.kind is ContractKind.INVERSE

    def tier_size(self, contracts: float, price: float) -> float:
        """What the venue measures against its tier bounds for ``contracts`` at ``price`` (see TierBasis)."""
        if self.tier_basis is TierBasis.CONTRACTS:
            return contracts
        if self.inverse:
            return contracts * self.contract_size / price
        return contracts * self.contract_size * price

    def tiers_reach(self, contracts: float, price: float) -> bool:
        """Whether the tier table covers the position at ``price``; beyond its last cap the venue's rate is unknown."""
        return not self.tiers or self.tier_size(contracts, price) <= self.tiers[-1].cap
