"""Turn a snapshot document (ccxt structures) into the domain model.

Both connectors end here: the live connector builds a SnapshotDoc from ccxt
calls, the paper connector reads one from disk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from riskguard.connectors.normalize.base import VenueNormalizer
from riskguard.connectors.normalize.binance import BinanceCoinMNormalizer, BinanceNormalizer
from riskguard.connectors.normalize.bybit import BybitNormalizer
from riskguard.connectors.normalize.fields import DataIssueError, Fields, parse_number
from riskguard.connectors.normalize.gate import GateNormalizer
from riskguard.connectors.normalize.hyperliquid import HyperliquidNormalizer
from riskguard.connectors.normalize.okx import OkxNormalizer
from riskguard.connectors.snapshot_doc import AccountData, SnapshotDoc, VenueData
from riskguard.errors import SnapshotError
from riskguard.model import (
    Account,
    AccountType,
    AssetBalance,
    DataIssue,
    MarginMode,
    Market,
    MarketSeries,
    Order,
    OrderBook,
    Position,
    Quote,
    Snapshot,
    VenueMarkets,
)

NORMALIZERS: dict[str, VenueNormalizer] = {
    n.venue: n
    for n in (
        BinanceNormalizer(),
        BinanceCoinMNormalizer(),
        BybitNormalizer(),
        OkxNormalizer(),
        HyperliquidNormalizer(),
        GateNormalizer(),
    )
}
GENERIC = VenueNormalizer()


def normalizer_for(venue: str) -> VenueNormalizer:
    return NORMALIZERS.get(venue, GENERIC)


def _book(payload: Fields) -> OrderBook:
    def levels(key: str) -> tuple[tuple[float, float], ...]:
        rows = payload.data.get(key) or []
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) >= 2 for r in rows):
            raise SnapshotError("order book levels must be [price, amount] pairs", payload.at(key))
        where = payload.at(key)
        return tuple((parse_number(r[0], f"{where}[{i}][0]"), parse_number(r[1], f"{where}[{i}][1]"))
                     for i, r in enumerate(rows))

    ts = payload.opt_num("timestamp")
    return OrderBook(bids=levels("bids"), asks=levels("asks"), timestamp_ms=int(ts) if ts is not None else None)


def _quick(value: Any) -> float | None:
    """The float of a plain finite JSON number; None for anything else, which takes ``Fields.num``'s full parse
    (and its error).  History rows hold tens of thousands of numbers per symbol."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def _numbers(
    rows: list[dict], where: str, keys: tuple[str, ...], *, only_with: str | None = None,
    positive: tuple[str, ...] = (), nonnegative: tuple[str, ...] = (),
) -> tuple[tuple[float, ...], ...]:
    """``Fields(row, where[i]).num(key)`` for each key of each row (rows lacking ``only_with`` left out), the
    same numbers and the same first error; a row of plain numbers skips the per-row ``Fields``.  (The document
    model has already made each row an object.)"""
    out: list[tuple[float, ...]] = []
    # the sign checks by position, looked up once per series rather than once per row
    must_be_positive = tuple(keys.index(k) for k in positive)
    must_not_be_negative = tuple(keys.index(k) for k in nonnegative)
    for i, row in enumerate(rows):
        if only_with is not None and ((flag := row.get(only_with)) is None or flag == ""):
            continue
        values = tuple(map(_quick, map(row.get, keys)))
        if (None in values or any(not values[k] > 0 for k in must_be_positive)  # type: ignore[operator]
                or any(values[k] < 0 for k in must_not_be_negative)):  # type: ignore[operator]
            fields = Fields(row, f"{where}[{i}]")
            out.append(tuple(fields.num(k, positive=k in positive, nonnegative=k in nonnegative) for k in keys))
        else:
            out.append(values)  # type: ignore[arg-type]
    return tuple(out)


def _series(vd: VenueData, symbol: str, path: str) -> MarketSeries:
    ohlcv = vd.ohlcv.get(symbol)
    where = {name: f"{path}.{name}[{symbol!r}]" for name in
             ("open_interest_history", "funding_history", "long_short_ratio_history", "taker_volume")}
    oi = vd.open_interest_history.get(symbol, [])
    funding = vd.funding_history.get(symbol, [])
    book = vd.order_books.get(symbol)
    ratios = vd.long_short_ratio_history.get(symbol, [])
    taker = vd.taker_volume.get(symbol, [])
    oi_where = where["open_interest_history"]
    return MarketSeries(
        timeframe=ohlcv.timeframe if ohlcv else None,
        ohlcv=tuple(tuple(r) for r in ohlcv.rows) if ohlcv else (),  # type: ignore[misc]
        open_interest=_numbers(oi, oi_where, ("timestamp", "openInterestAmount"),  # type: ignore[arg-type]
                               only_with="openInterestAmount"),
        open_interest_value=_numbers(oi, oi_where, ("timestamp", "openInterestValue"),  # type: ignore[arg-type]
                                     only_with="openInterestValue"),
        funding=_numbers(funding, where["funding_history"], ("timestamp", "fundingRate")),  # type: ignore[arg-type]
        order_book=_book(Fields(book, f"{path}.order_books[{symbol!r}]")) if book else None,
        long_short_ratio=_numbers(ratios, where["long_short_ratio_history"],  # type: ignore[arg-type]
                                  ("timestamp", "longShortRatio"), positive=("longShortRatio",)),
        taker_volume=_numbers(taker, where["taker_volume"],  # type: ignore[arg-type]
                              ("timestamp", "buyVolume", "sellVolume"), nonnegative=("buyVolume", "sellVolume")),
    )


MAINTENANCE_TOLERANCE = 1e-6
"""Absolute gap allowed between a venue's total and the sum of its rounded position figures."""

MARK_MOVE_TOLERANCE = 0.005
"""Relative gap allowed between a venue's maintenance total and the sum over the position rows read beside it.

The two come from separate requests (Binance positionRisk and account, Bybit position list and wallet), each
valued at the mark of its own instant: maintenance margin is notional times a rate, so a mark that moved x
between the two answers moves the total by about x.  A gap of the rows' exact rounding flagged every account
whose market moved between its two reads (0.05 % was seen at 500 accounts), which makes a live account
UNKNOWN in exactly the fast market it is watched for.  0.5 % is a move two back-to-back reads do not see
outside the most violent minutes; a missing row whose maintenance margin is under 0.5 % of the listed ones
goes unseen by this check."""


def _venue_path(origin: str, venue: str) -> str:
    return f"{origin}: venues.{venue}"


def _venue(venue: str, vd: VenueData, origin: str, known: VenueMarkets | None = None) -> VenueMarkets:
    norm = normalizer_for(venue)
    path = _venue_path(origin, venue)
    quotes = {s: norm.quote(Fields(t, f"{path}.tickers[{s!r}]")) for s, t in vd.tickers.items()}
    if known is not None:
        return VenueMarkets(venue=venue, markets=known.markets, quotes=quotes, series=known.series)
    raw = Fields(vd.raw, f"{path}.raw")
    markets: dict[str, Market] = {}
    for symbol, payload in vd.markets.items():
        tiers = [
            Fields(t, f"{path}.leverage_tiers[{symbol!r}][{i}]")
            for i, t in enumerate(vd.leverage_tiers.get(symbol, []))
        ]
        market = norm.market(venue, Fields(payload, f"{path}.markets[{symbol!r}]"), tiers, raw)
        if market.symbol != symbol:
            where = f"{path}.markets[{symbol!r}].symbol"
            raise SnapshotError(f"market {market.symbol!r} filed under {symbol!r}", where)
        markets[symbol] = market
    series = {s: _series(vd, s, path) for s in markets}
    return VenueMarkets(venue=venue, markets=markets, quotes=quotes, series=series)


def _account(i: int, ad: AccountData, vm: VenueMarkets, origin: str, taken_at: int) -> Account:
    norm = normalizer_for(ad.venue)
    path = f"{origin}: accounts[{i}]"
    balance = Fields(ad.balance, f"{path}.balance")
    issues: list[DataIssue] = []
    positions: list[Position] = []
    rows: dict[tuple[str, str, str], str] = {}
    """(symbol, leg, margin mode) → path of its row: one row each; and one-way and hedge legs never mix."""
    legs: dict[str, dict[str, str]] = {}
    for j, payload in enumerate(ad.positions):
        p = Fields(payload, f"{path}.positions[{j}]")
        symbol = p.str("symbol")
        market = vm.markets.get(symbol)
        if market is None:
            raise SnapshotError(f"no market data for {symbol!r}", p.at("symbol"))
        try:
            position = norm.position(p, market, vm.quotes.get(symbol))
        except DataIssueError as exc:
            issues.append(DataIssue(exc.code, exc.message, exc.where or p.path, symbol))
            continue
        if position is None:
            continue
        leg = position.position_side.value
        key = (symbol, leg, position.margin_mode.value)
        other_leg = next((w for k, w in legs.get(symbol, {}).items() if k != leg and "both" in (k, leg)), None)
        if key in rows or other_leg is not None:
            what = f"a second {key[2]} {leg!r} row" if key in rows else f"a {leg!r} leg beside a one-way row"
            issues.append(DataIssue("DATA_INCONSISTENT", f"{what} for {symbol} (first at {rows.get(key, other_leg)})",
                                    p.path, symbol))
            continue
        rows[key] = p.path
        legs.setdefault(symbol, {}).setdefault(leg, p.path)
        if not market.tiers_reach(position.contracts, position.mark_price):
            cap, size = market.tiers[-1].cap, market.tier_size(position.contracts, position.mark_price)
            issues.append(DataIssue("TIER_TABLE_INCOMPLETE", f"the tier table of {symbol} ends at {cap:.10g} "
                                    f"({market.tier_basis.value}), below the position's {size:.10g} at mark",
                                    f"{_venue_path(origin, ad.venue)}.leverage_tiers[{symbol!r}]", symbol))
        positions.append(position)
    if norm.stamps_last_change:
        positions = [replace(p, changed_ms=p.timestamp_ms, timestamp_ms=taken_at) for p in positions]
    read_at = norm.read_time(balance)
    if read_at is not None:
        positions = [p if p.timestamp_ms is not None else replace(p, timestamp_ms=int(read_at)) for p in positions]
    balances = norm.balances(balance, positions)
    issues += _balance_issues(norm, balance, balances, positions, vm)
    return Account(
        name=ad.name,
        venue=ad.venue,
        balances=balances,
        positions=tuple(positions),
        fees=norm.fees({s: Fields(f, f"{path}.trading_fees[{s!r}]") for s, f in ad.trading_fees.items()}),
        account_type=AccountType(ad.settings.account_type),
        hedge_mode=ad.settings.hedge_mode,
        venue_metrics=norm.venue_metrics(balance),
        open_orders=None if ad.open_orders is None else _orders(norm, ad.open_orders, vm, path),
        data_issues=tuple(issues),
    )


def _balance_issues(
    norm: VenueNormalizer,
    balance: Fields,
    balances: Mapping[str, AssetBalance],
    positions: list[Position],
    vm: VenueMarkets,
) -> list[DataIssue]:
    """The balance must back the positions read beside it: their settle assets, and the margin it says they hold."""
    out: list[DataIssue] = []
    for asset in sorted({vm.markets[p.symbol].settle for p in positions if p.margin_mode is MarginMode.CROSS}):
        if asset not in balances:
            out.append(DataIssue("DATA_MISSING", f"no {asset} balance for the cross positions settled in it",
                                 balance.path))
    held = [(where, amount) for where, amount in norm.positions_margin(balance) if amount != 0]
    if not positions and held:
        where, amount = held[0]
        out.append(DataIssue("POSITIONS_MARGIN_MISMATCH",
                             f"no open position, yet the venue says positions hold {amount:.10g}", where))
        return out
    for asset, (where, total) in norm.maintenance_by_asset(balance).items():
        rows = [p.venue_maintenance_margin for p in positions if vm.markets[p.symbol].settle == asset]
        if any(mm is None for mm in rows):
            continue
        listed = sum(mm for mm in rows if mm is not None)
        if total - listed > MARK_MOVE_TOLERANCE * listed + MAINTENANCE_TOLERANCE:
            out.append(DataIssue("POSITIONS_MARGIN_MISMATCH",
                                 f"the positions read hold {listed:.10g} {asset} of maintenance margin, the venue says "
                                 f"{total:.10g}: a position is missing from the list", where))
    return out


def _orders(norm: VenueNormalizer, rows: list[dict], vm: VenueMarkets, path: str) -> tuple[Order, ...]:
    """Orders on symbols the snapshot has market data for.

    The recorder reads market data for every held and configured symbol, so an order on any other
    symbol has no position to protect; it stays in the document, verbatim, but not in the model.
    """
    orders: list[Order] = []
    for j, payload in enumerate(rows):
        o = Fields(payload, f"{path}.open_orders[{j}]")
        market = vm.markets.get(o.str("symbol"))
        if market is not None:
            orders.extend(norm.orders(o, market))
    return tuple(orders)


def build_snapshot(doc: SnapshotDoc, origin: str, known: Snapshot | None = None) -> Snapshot:
    """The model of ``doc``, every field checked.

    ``known``: a snapshot built from a document whose markets, tiers and market series are the very payloads
    ``doc`` holds (the daemon's streamed-mark rewrite shares them with the full read).  Its markets and series
    are taken as they are instead of normalized again, which is most of the work for a document that differs
    only in marks; tickers, balances and positions are still normalized and checked.
    """
    venues = {venue: _venue(venue, vd, origin, None if known is None else known.venues[venue])
              for venue, vd in doc.venues.items()}
    accounts = tuple(_account(i, ad, venues[ad.venue], origin, doc.taken_at) for i, ad in enumerate(doc.accounts))
    return Snapshot(taken_at_ms=doc.taken_at, venues=venues, accounts=accounts)


__all__ = ["GENERIC", "NORMALIZERS", "Quote", "build_snapshot", "normalizer_for"]
