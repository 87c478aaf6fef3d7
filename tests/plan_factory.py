"""Small hand-made accounts for the strategy tests: one tier per market unless a test needs more, so
every expected number can be worked out by hand in the test."""

from __future__ import annotations

from riskguard.model import (
    Account,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    OrderBook,
    Position,
    PositionSide,
    Side,
    VenueMarkets,
)

FLAT = 1e12


def market(symbol: str, mmr: float, *, venue: str = "binanceusdm", step: float | None = 0.001, tick: float = 0.1,
           kind: ContractKind = ContractKind.LINEAR, contract_size: float = 1.0, settle: str = "USDT",
           tiers: tuple[MarginTier, ...] | None = None) -> Market:
    return Market(venue, symbol, kind, settle, contract_size, tick, step, tiers or (MarginTier(0, FLAT, mmr, 0.0),))


def venue_of(*markets: Market) -> VenueMarkets:
    return VenueMarkets(markets[0].venue, {m.symbol: m for m in markets})


def position(symbol: str, contracts: float, entry: float, mark: float | None = None, *, side: Side = Side.LONG,
             isolated_margin: float | None = None, leg: PositionSide = PositionSide.BOTH,
             leverage: float | None = 10) -> Position:
    mode = MarginMode.ISOLATED if isolated_margin is not None else MarginMode.CROSS
    return Position(symbol, side, contracts, entry, mark or entry, mode, position_side=leg, leverage=leverage,
                    isolated_margin=isolated_margin)


def account(*positions: Position, wallet: float = 10_000.0, cross_wallet: float | None = None,
            taker: float | None = 0.0004, venue: str = "binanceusdm", asset: str = "USDT", open_orders=None,
            hedge: bool = False) -> Account:
    balance = AssetBalance(asset, wallet, wallet if cross_wallet is None else cross_wallet)
    return Account("acct", venue, {asset: balance},
                   tuple(positions), None if taker is None else FeeRates(0.0002, taker), hedge_mode=hedge,
                   open_orders=open_orders)


def flat_book(mark: float, levels: int = 40, step: float = 0.0005, amount: float = 5.0) -> OrderBook:
    return OrderBook(tuple((mark * (1 - step * (i + 1)), amount) for i in range(levels)),
                     tuple((mark * (1 + step * (i + 1)), amount) for i in range(levels)))
