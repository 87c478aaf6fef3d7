"""Typed, immutable domain objects shared by every layer."""

from riskguard.model.account import Account, AccountType, AssetBalance, DataIssue, FeeRates
from riskguard.model.market import ContractKind, MarginTier, Market, TierBasis
from riskguard.model.order import Order, OrderSide
from riskguard.model.position import MarginMode, Position, PositionSide, Side
from riskguard.model.snapshot import MarketSeries, OrderBook, Quote, Snapshot, VenueMarkets

__all__ = [
    "Account",
    "AccountType",
    "AssetBalance",
    "ContractKind",
    "DataIssue",
    "FeeRates",
    "MarginMode",
    "MarginTier",
    "Market",
    "MarketSeries",
    "Order",
    "OrderBook",
    "OrderSide",
    "Position",
    "PositionSide",
    "Quote",
    "Side",
    "Snapshot",
    "TierBasis",
    "VenueMarkets",
]
