"""Small hand-built accounts whose figures are easy to check by hand (flat 1% maintenance rate)."""

from __future__ import annotations

from riskguard.model import (
    Account,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Position,
    Quote,
    Side,
    VenueMarkets,
)

TAKEN_AT = 1_763_640_000_000
VENUE = "binanceusdm"


def market(symbol: str, step: float = 0.001) -> Market:
    settle = symbol.split(":")[1]
    return Market(VENUE, symbol, ContractKind.LINEAR, settle, 1.0, 0.01, step, (MarginTier(0, 1e12, 0.01, 0.0, 50),))


def venue(*symbols: str, marks: dict[str, float] | None = None, funding: float | None = 0.0001) -> VenueMarkets:
    marks = marks or {}
    return VenueMarkets(
        VENUE,
        {s: market(s) for s in symbols},
        {s: Quote(marks.get(s, 100.0), TAKEN_AT - 1_000, funding_rate=funding) for s in symbols},
    )


def position(symbol: str, side: Side, contracts: float, *, entry: float = 100.0, mark: float = 100.0,
             isolated_margin: float | None = None, leverage: float | None = 10.0) -> Position:
    return Position(
        symbol, side, contracts, entry, mark,
        MarginMode.ISOLATED if isolated_margin is not None else MarginMode.CROSS,
        leverage=leverage, isolated_margin=isolated_margin, timestamp_ms=TAKEN_AT - 2_000,
    )


def account(*positions: Position, wallet: float = 1_000.0, name: str = "acct") -> Account:
    return Account(name, VENUE, {"USDT": AssetBalance("USDT", wallet, wallet)}, tuple(positions),
                   fees=FeeRates(0.0002, 0.0005))
