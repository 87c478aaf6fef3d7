"""Balances and positions of one venue account at one instant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from riskguard.model.order import Order
from riskguard.model.position import Position


class AccountType(StrEnum):
    """Venue account flavours whose margin math differs (Bybit classic vs unified)."""

    STANDARD = "standard"
    UNIFIED = "unified"
    CLASSIC = "classic"


@dataclass(frozen=True, slots=True)
class AssetBalance:
    """Wallet balance of one settlement asset.

    ``cross_wallet`` is what backs cross positions (Binance ``crossWalletBalance``,
    Hyperliquid cross ``accountValue`` less unrealized PnL); isolated margin is
    carried on the positions themselves.
    """

    asset: str
    wallet: float
    cross_wallet: float


@dataclass(frozen=True, slots=True)
class FeeRates:
    maker: float
    taker: float


@dataclass(frozen=True, slots=True)
class DataIssue:
    """Inputs that contradict each other or leave a figure unknowable, found while reading an account.

    The account is still modelled (so the report can show what was read), but its verdict becomes
    UNKNOWN: ``code`` is the reason code the rules report it under, ``where`` the field path.
    """

    code: str
    message: str
    where: str
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    venue: str
    balances: Mapping[str, AssetBalance]
    positions: tuple[Position, ...]
    fees: FeeRates | None = None
    account_type: AccountType = AccountType.STANDARD
    hedge_mode: bool = False
    venue_metrics: Mapping[str, float] = field(default_factory=dict)
    """Account-level health numbers the venue reports (e.g. ``accountMMRate``), for cross-checks."""
    open_orders: tuple[Order, ...] | None = None
    """None when the snapshot did not record open orders (it predates them): stops are then unknown, which
    must not read as "no stops"."""
    data_issues: tuple[DataIssue, ...] = ()
