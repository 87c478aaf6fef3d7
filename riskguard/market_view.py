"""The snapshot's market data and the account's risk, fed to the market-side analytics (issue 4).

Pure glue, no I/O: a ``Snapshot`` carries candles, open interest, funding and a book per (venue, symbol);
``riskguard.risk`` holds the math.  This module decides how one becomes the other, once:

* Bands, volatility and the book are computed once per (venue, symbol) in a :class:`SymbolView` and shared
  by every position and command that needs them.
* Each analytic keeps its own ``status``/``reason``.  Missing market history makes *that* analytic
  unknown, never the account's liquidation math, which does not depend on it; and never a zero.
* Stress is built from the model (one ``StressAccount`` per margin asset) so it uses the same tiers,
  pinned tiers and fee terms as the liquidation price.
"""

from __future__ import annotations

import hashlib
import math
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, datetime
from typing import Literal, overload

import numpy as np

from riskguard.connectors.source import Loaded
from riskguard.errors import InputError
from riskguard.model import (
    Account,
    MarginMode,
    MarginTier,
    Market,
    MarketSeries,
    Order,
    OrderBook,
    Snapshot,
    TierBasis,
    VenueMarkets,
)
from riskguard.risk.account_risk import AccountRisk, PositionRisk, PriceSource, evaluate_account
from riskguard.risk.bands import BandsReport, Proximity, detect_bands, position_proximity
from riskguard.risk.cascade import Cascade, cascade_survival, simulate_cascade
from riskguard.risk.crowding import (
    DEFAULT_THRESHOLDS,
    CrowdingFlag,
    FundingSignal,
    OpenInterestChange,
    crowding_flag,
    funding_signal,
    open_interest_changes,
)
from riskguard.risk.exit_liquidity import BookLadder, ExitBuffer, ExitFill, book_ladder, exit_buffer, ladder_fill
from riskguard.risk.liqlevels import (
    EstimatorConfig,
    LevelEstimate,
    LevelProfile,
    MarketDataShapeError,
    MarketHistory,
    VenueTerms,
    estimate_levels,
    leverage_cap,
)
from riskguard.risk.side_attribution import FUNDING_FLOOR
from riskguard.risk.stops import StopCheck, check_stops, position_stops
from riskguard.risk.stress import StressAccount, StressResult, stress
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_rules import TierSelection, rules_for
from riskguard.risk.volatility import (
    DEFAULT_HORIZON_SECONDS,
    LiquidationDistance,
    RealizedVolatility,
    liquidation_distance,
    realized_volatility,
)

_TIMEFRAME = re.compile(r"^(\d+)([smhdwM])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800, "M": 2_592_000}
_NO_BOOK = "EMPTY_BOOK: the snapshot has no order book for this symbol"
OI_GAP_FACTOR = 2.0
"""An open-interest step longer than this many times its usual step is a hole, not a coarser feed:
interpolating across it would invent the positions opened inside it."""
FINE_STEP_SECONDS = 300
"""The finest open-interest step Binance, Bybit and OKX publish; coarser data places band peaks less well."""


def source_key(loaded: Loaded) -> str:
    """Accounts read from the same snapshot file share its market data; a live account has its own."""
    return str(loaded.spec.snapshot_path) if loaded.spec.snapshot_path else f"live:{loaded.spec.name}"


def timeframe_seconds(timeframe: str | None) -> float | None:
    """ccxt timeframe ("5m", "1h") in seconds; None when absent or unreadable."""
    match = _TIMEFRAME.match(timeframe or "")
    return None if match is None else int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


# -- ONE (VENUE, SYMBOL) ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SymbolView:
    """What the market says about one symbol on one venue, computed once."""

    venue: str
    symbol: str
    market: Market
    mark_price: float | None
    bands: BandsReport
    volatility: RealizedVolatility
    book: OrderBook | None
    ladder: tuple[BookLadder | None, str | None]
    """:func:`book_ladder` of the book, once per symbol rather than once per position closing into it."""
    bar_open_ms: np.ndarray
    """Candle open times (epoch ms) and closes, to draw the price over the heatmap."""
    closes: np.ndarray
    open_interest_notional: float | None
    """Latest open interest valued at mark, quote currency: the ceiling any band must stay under."""
    crowding: SymbolCrowding
    as_of_ms: int
    """The instant the market data is as of (the snapshot's ``taken_at``)."""
    side_split: dict | None
    """``bands.side_split()``, once per symbol: every position in the symbol carries the same split."""

    @property
    def quote(self) -> str:
        return "USD" if self.market.inverse else self.market.settle


@dataclass(frozen=True)
class SymbolCrowding:
    """Funding against its own history, open-interest growth, and the flag both decide together
    (``riskguard.risk.crowding``): observed evidence that the estimated bands are loaded."""

    funding: FundingSignal
    open_interest: tuple[OpenInterestChange, ...]
    flag: CrowdingFlag

    @property
    def flag_window(self) -> OpenInterestChange | None:
        """The open-interest change the flag reads (the crowding module's default window)."""
        return next((c for c in self.open_interest if c.window_seconds == DEFAULT_THRESHOLDS.oi_window_seconds), None)


def symbol_crowding(series: MarketSeries, funding_now: float | None, taken_at_ms: int) -> SymbolCrowding:
    """The venue's current (predicted) rate against settled history; without one, the last settled
    rate against the ones before it, as of its own settlement time."""
    rates = _sorted_rows(series.funding) if series.funding else np.empty((0, 2))
    if funding_now is not None:
        funding = funding_signal(rates[:, 0], rates[:, 1], funding_now, taken_at_ms)
    elif len(rates):
        funding = funding_signal(rates[:-1, 0], rates[:-1, 1], float(rates[-1, 1]), int(rates[-1, 0]))
    else:
        funding = FundingSignal("unknown", "NO_FUNDING: the snapshot holds no funding rates", None, None, None,
                                None, 0)
    oi = _sorted_rows(series.open_interest) if series.open_interest else np.empty((0, 2))
    changes = open_interest_changes(oi[:, 0], oi[:, 1], taken_at_ms)
    return SymbolCrowding(funding, changes, crowding_flag(funding, changes))


def _unknown_bands(symbol: str, mark: float | None, reason: str) -> BandsReport:
    estimate = LevelEstimate("unknown", reason, None, None, None)
    return BandsReport(symbol, math.nan if mark is None else mark, "unknown", reason, (), None, None, estimate)


def _sorted_rows(rows: Sequence[Sequence[float]]) -> np.ndarray:
    array = np.asarray(rows, dtype=float).reshape(len(rows), -1)
    return array[np.argsort(array[:, 0], kind="stable")]


def market_history(series: MarketSeries) -> tuple[MarketHistory | None, str | None]:
    """Candles with open interest and funding aligned onto them, or why that is impossible.

    An OI sample stamped T is the open interest at T, so the bar opened at t is matched with OI at its
    close t + bar: the bar's ΔOI is then the positions opened during it.  The newest bar, still forming, has
    no closing sample yet and is left out; any other bar without one makes the estimate unknown.  Funding
    holds its last value.
    """
    bar = timeframe_seconds(series.timeframe)
    if not series.ohlcv:
        return None, "NO_CANDLES: the snapshot holds no candles for this symbol"
    if bar is None:
        return None, f"BAD_TIMEFRAME: cannot read the candle timeframe {series.timeframe!r}"
    candles = _sorted_rows(series.ohlcv)
    closes_at = candles[:, 0] + bar * 1000
    oi = None
    if series.open_interest:
        samples = _sorted_rows(series.open_interest)
        steps = np.diff(samples[:, 0])
        if steps.size and np.any(steps > OI_GAP_FACTOR * np.median(steps)):
            i = int(np.argmax(steps))
            start = datetime.fromtimestamp(samples[i, 0] / 1000, UTC).isoformat(timespec="minutes")
            return None, f"OI_GAP: no open interest for {steps[i] / 60_000:g} min after {start}"
        if len(candles) > 1 and closes_at[-2] <= samples[-1, 0] < closes_at[-1]:
            # The bar still forming: venues publish its open interest once it closes.
            candles, closes_at = candles[:-1], closes_at[:-1]
        oi = np.interp(closes_at, samples[:, 0], samples[:, 1], left=np.nan, right=np.nan)
    funding = _held(series.funding, closes_at)
    ratio = _held(series.long_short_ratio, closes_at)
    buy = sell = None
    if series.taker_volume:
        # a taker-volume period starting at a bar's open is that bar's flow; other bars have none (NaN)
        flows = _sorted_rows(series.taker_volume)
        at = np.searchsorted(flows[:, 0], candles[:, 0])
        hit = (at < len(flows)) & (flows[np.minimum(at, len(flows) - 1), 0] == candles[:, 0])
        buy = np.where(hit, flows[np.minimum(at, len(flows) - 1), 1], np.nan)
        sell = np.where(hit, flows[np.minimum(at, len(flows) - 1), 2], np.nan)
    try:
        history = MarketHistory(
            times=candles[:, 0].astype(np.int64),
            high=candles[:, 2],
            low=candles[:, 3],
            close=candles[:, 4],
            volume=candles[:, 5],
            open_interest=oi,
            funding_rate=funding,
            long_short_ratio=ratio,
            taker_buy_volume=buy,
            taker_sell_volume=sell,
        )
    except MarketDataShapeError as exc:
        return None, f"BAD_SHAPE: {exc}"
    return history, None


def _held(rows: Sequence[Sequence[float]], at_ms: np.ndarray) -> np.ndarray | None:
    """The last value published at or before each time (NaN before the first): funding, long/short ratio."""
    if not rows:
        return None
    values = _sorted_rows(rows)
    last = np.searchsorted(values[:, 0], at_ms, side="right") - 1
    return np.where(last >= 0, values[np.maximum(last, 0), 1], np.nan)


def with_funding_floor(config: EstimatorConfig, funding: Sequence[Sequence[float]]) -> EstimatorConfig:
    """The funding floor for this symbol's interval: the 0.01 % per 8 h interest component, pro rata
    (0.005 % on 4-hour symbols, 0.00125 % on Hyperliquid's hourly funding); 8 h when the history cannot say."""
    if len(funding) < 2:
        return config
    hours = float(np.median(np.diff(_sorted_rows(funding)[:, 0]))) / 3_600_000
    if not hours > 0:
        return config
    floor = FUNDING_FLOOR * hours / 8
    return replace(config, attribution=replace(config.attribution, funding_floor=floor))


def data_granularity(series: MarketSeries) -> dict[str, float | bool | None]:
    """Candle and open-interest steps in seconds, and whether they are coarser than 5 minutes (docs/bands.md)."""
    oi_step = None
    if len(series.open_interest) > 1:
        oi_step = float(np.median(np.diff(_sorted_rows(series.open_interest)[:, 0]))) / 1000
    bar = timeframe_seconds(series.timeframe)
    steps = [s for s in (bar, oi_step) if s is not None]
    return {"candle_seconds": bar, "open_interest_seconds": oi_step,
            "coarse": bool(steps) and max(steps) > FINE_STEP_SECONDS}


def _quote_tiers(market: Market, mark: float) -> tuple[MarginTier, ...]:
    """Tiers in the estimator's basis: OKX counts contracts, the estimator sizes positions in quote."""
    if market.tier_basis is not TierBasis.CONTRACTS:
        return market.tiers
    k = market.contract_size * mark
    return tuple(MarginTier(t.floor * k, t.cap * k, t.mmr, t.cum * k, t.max_leverage) for t in market.tiers)


def estimate_symbol_bands(
    venue: VenueMarkets, symbol: str, taken_at_ms: int, config: EstimatorConfig | None = None
) -> BandsReport:
    """Crowded bands around the venue's live mark, with the venue's own tiers (docs/bands.md)."""
    quote = venue.quotes.get(symbol)
    mark = quote.mark_price if quote else None
    if mark is None:
        return _unknown_bands(symbol, None, "NO_MARK: the snapshot has no mark price for this symbol")
    series = venue.series.get(symbol, MarketSeries())
    history, reason = market_history(series)
    if history is None:
        return _unknown_bands(symbol, mark, reason or "NO_HISTORY: the snapshot has no market history")
    market = venue.markets[symbol]
    taken = datetime.fromtimestamp(taken_at_ms / 1000, UTC).isoformat(timespec="minutes")
    tiers = _quote_tiers(market, mark)
    config = with_funding_floor(config or EstimatorConfig(), series.funding)
    terms = VenueTerms(
        TierTable.from_tiers([tiers]),
        market.inverse,
        market.contract_size,
        f"{venue.venue} leverage tiers for {symbol} in the snapshot taken {taken}",
        max_leverage=leverage_cap(tiers, config.representative_notional),
    )
    estimate = shared_estimate(history, terms, config)
    granularity = data_granularity(series)
    if estimate.profile is None:
        return BandsReport(symbol, mark, "unknown", estimate.reason, (), None, None, estimate, granularity)
    live = LevelProfile(estimate.profile.price_edges, estimate.profile.long_notional,
                        estimate.profile.short_notional, mark)
    return BandsReport(symbol, mark, "ok", None, detect_bands(live), estimate.assumptions, live, estimate,
                       granularity)


_ESTIMATES: weakref.WeakValueDictionary[bytes, LevelEstimate] = weakref.WeakValueDictionary()


def shared_estimate(history: MarketHistory, terms: VenueTerms, config: EstimatorConfig) -> LevelEstimate:
    """``estimate_levels``, computed once for equal inputs while anyone holds the result.

    The daemon reads each account by itself, yet the accounts on a venue share one market history per symbol:
    500 accounts holding BTC computed the same estimate 500 times a minute (16 ms each) and held 500 copies of
    its heatmap (about 1 MB each).  The key is the inputs' content, so only equal inputs share; the arrays of a
    shared estimate are read-only, so no holder can change what the others read.  The memo holds no estimate
    alive by itself.
    """
    key = _fingerprint(history, terms, config)
    estimate = _ESTIMATES.get(key)
    if estimate is None:
        estimate = estimate_levels(history, terms, config)
        for part in (estimate.profile, estimate.heatmap, estimate.sides):
            for value in vars(part).values() if part is not None else ():
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
        _ESTIMATES[key] = estimate
    return estimate


def _fingerprint(*parts: object) -> bytes:
    """A digest of every array's dtype, shape and bytes and every other value's repr, fields in order."""
    digest = hashlib.blake2b(digest_size=32)

    def feed(value: object) -> None:
        if isinstance(value, np.ndarray):
            digest.update(f"{value.dtype.str}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif is_dataclass(value) and not isinstance(value, type):
            digest.update(type(value).__qualname__.encode())
            for f in fields(value):
                digest.update(f.name.encode())
                feed(getattr(value, f.name))
        else:
            digest.update(repr(value).encode())

    for part in parts:
        feed(part)
    return digest.digest()


def _volatility(series: MarketSeries, candles: np.ndarray) -> RealizedVolatility:
    bar = timeframe_seconds(series.timeframe)
    if not series.ohlcv:
        return RealizedVolatility("unknown", "NO_CANDLES: the snapshot holds no candles for this symbol", None, 0, 0)
    if bar is None:
        return RealizedVolatility("unknown", f"BAD_TIMEFRAME: candle timeframe {series.timeframe!r}", None, 0, 0)
    return realized_volatility(candles, bar)


def symbol_view(
    venue: VenueMarkets, symbol: str, taken_at_ms: int, config: EstimatorConfig | None = None
) -> SymbolView:
    market = venue.markets[symbol]
    series = venue.series.get(symbol, MarketSeries())
    quote = venue.quotes.get(symbol)
    mark = quote.mark_price if quote else None
    candles = _sorted_rows(series.ohlcv) if series.ohlcv else np.empty((0, 6))
    oi_value = None
    if series.open_interest and mark is not None:
        contracts = max(series.open_interest, key=lambda row: row[0])[1]
        oi_value = contracts * market.contract_size * (1.0 if market.inverse else mark)
    bands = estimate_symbol_bands(venue, symbol, taken_at_ms, config)
    return SymbolView(
        venue=venue.venue,
        symbol=symbol,
        market=market,
        mark_price=mark,
        bands=bands,
        volatility=_volatility(series, candles),
        book=series.order_book,
        ladder=book_ladder(book.bids, book.asks) if (book := series.order_book) else (None, _NO_BOOK),
        bar_open_ms=candles[:, 0],
        closes=candles[:, 4],
        open_interest_notional=oi_value,
        crowding=symbol_crowding(series, quote.funding_rate if quote else None, taken_at_ms),
        as_of_ms=taken_at_ms,
        side_split=bands.side_split(),
    )


class SymbolViews:
    """Memo of :func:`symbol_view` by (snapshot, venue, symbol): accounts sharing a snapshot share bands."""

    def __init__(self) -> None:
        self._views: dict[tuple[str, str, str], SymbolView] = {}

    def get(self, source: str, venue: VenueMarkets, symbol: str, taken_at_ms: int) -> SymbolView:
        key = (source, venue.venue, symbol)
        if key not in self._views:
            self._views[key] = symbol_view(venue, symbol, taken_at_ms)
        return self._views[key]


# -- ONE POSITION -----------------------------------------------------------------------------------------

NO_LIQUIDATION_PRICE = "NO_LIQUIDATION_PRICE"
"""Reason on an ``ok`` analytic whose number is +inf (no price liquidates): JSON null, not unknown."""


def _liquidation_input(risk: PositionRisk) -> tuple[float | None, str | None]:
    """(LP, None) when usable; LP None means "no price liquidates"; (None, reason) when it is unknown."""
    if risk.liquidation_source is PriceSource.NONE:
        return None, None
    if risk.liquidation_price is None:
        why = risk.unavailable_reason or "no inputs"
        return None, f"LIQUIDATION_PRICE_UNAVAILABLE: {why}"
    return risk.liquidation_price, None


@dataclass(frozen=True)
class BandProximity:
    status: str
    reason: str | None
    proximity: Proximity | None
    side_split: dict | None = None
    """``BandsReport.side_split()``: long share of the levels and the evidence behind it (docs/bands.md)."""


@dataclass(frozen=True)
class PositionSignals:
    """The per-position fields of docs/signals.md, each analytic with its own status."""

    band_proximity: BandProximity
    distance: LiquidationDistance
    fill: ExitFill
    exit: ExitBuffer
    stops: tuple[StopCheck, ...] | None
    """The position's stops (``riskguard.risk.stops``); None when the snapshot did not record open orders."""
    crowding: SymbolCrowding | None = None
    """Funding z-score, open-interest change and the crowded flag of the position's symbol."""


def _band_proximity(
    view: SymbolView, risk: PositionRisk, lp: float | None, lp_reason: str | None, stops: Sequence[Order]
) -> BandProximity:
    report = view.bands
    if report.profile is None:
        return BandProximity("unknown", f"BANDS_UNKNOWN: {report.reason}", None)
    proximity = position_proximity(report.profile, report.bands, side=_side(risk.side), liquidation_price=lp,
                                   stop_prices=stop_prices(stops))
    split = view.side_split
    if lp_reason is not None:
        return BandProximity("unknown", lp_reason, proximity, split)
    return BandProximity("ok", NO_LIQUIDATION_PRICE if lp is None else None, proximity, split)


def stop_prices(stops: Sequence[Order]) -> list[float]:
    return [o.trigger_price for o in stops if o.trigger_price is not None]


def own_stops(risk: PositionRisk, orders: Sequence[Order] | None) -> tuple[Order, ...] | None:
    """The position's stops among the account's open orders; None when those were not recorded."""
    if orders is None:
        return None
    if not orders:
        return ()
    return position_stops(orders, symbol=risk.symbol, side=risk.side,  # type: ignore[arg-type]
                          position_side=risk.position_side, mark_price=risk.mark_price)


def stop_checks(
    risk: PositionRisk, stops: Sequence[Order] | None, proximity: Proximity | None
) -> tuple[StopCheck, ...] | None:
    """``stops`` against the position's liquidation price and, when known, the bands (``proximity`` must be
    computed with those stops' trigger prices, in order)."""
    if stops is None:
        return None
    lp, lp_reason = _liquidation_input(risk)
    return check_stops(
        stops,
        side=risk.side,  # type: ignore[arg-type]
        liquidation_price=lp,
        liquidation_known=lp_reason is None,
        stop_bands=None if proximity is None else [band for _, band in proximity.stop_bands],
    )


def position_signals(
    view: SymbolView,
    risk: PositionRisk,
    orders: Sequence[Order] | None,
    horizon_seconds: float = DEFAULT_HORIZON_SECONDS,
) -> PositionSignals:
    """:param orders: the account's open orders; None when the snapshot did not record them."""
    side = 1 if risk.side == "long" else -1
    lp, lp_reason = _liquidation_input(risk)
    if lp_reason is None:
        distance = liquidation_distance(side, risk.mark_price, lp, view.volatility, horizon_seconds)
    else:
        distance = LiquidationDistance("unknown", lp_reason, horizon_seconds, None, None)
    book = view.book
    fill = ladder_fill(
        view.ladder,
        side=side,
        contracts=risk.contracts,
        contract_size=view.market.contract_size,
        inverse=view.market.inverse,
        mark=risk.mark_price,
    )
    if book is None:
        fill = ExitFill("unknown", _NO_BOOK,
                        0.0, risk.contracts, None, None, None, None, None)
    if lp_reason is None:
        exit_ = exit_buffer(side, risk.mark_price, lp, fill)
    else:
        exit_ = ExitBuffer("unknown", lp_reason, None, None, None)
    stops = own_stops(risk, orders)
    proximity = _band_proximity(view, risk, lp, lp_reason, stops or ())
    return PositionSignals(
        proximity, distance, fill, exit_, stop_checks(risk, stops, proximity.proximity), view.crowding
    )


class LazySignals(Sequence[PositionSignals]):
    """The market signals of an evaluation's positions, each computed when first read.

    Why: most policies read no signal metric, and the gate's answer reads the traded position's band only.  The
    daemon evaluates every account on every mark tick, and computing each position's signals (its symbol's
    bands, book fill and volatility distance) there was a tenth of a tick that no rule read; ``check`` reads
    them all for its report, which costs the same either way.  A read gets exactly what the eager computation
    put at that index."""

    __slots__ = ("_compute", "_got", "_positions")

    def __init__(self, positions: tuple[PositionRisk, ...],
                 compute: Callable[[PositionRisk], PositionSignals]) -> None:
        self._positions, self._compute = positions, compute
        self._got: list[PositionSignals | None] = [None] * len(positions)

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, i: int) -> PositionSignals: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[PositionSignals, ...]: ...

    def __getitem__(self, i: int | slice) -> PositionSignals | tuple[PositionSignals, ...]:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        got = self._got[i]
        if got is None:
            got = self._got[i] = self._compute(self._positions[i])
        return got


def account_signals(
    views: SymbolViews,
    source: str,
    venue: VenueMarkets,
    taken_at_ms: int,
    risk: AccountRisk,
    orders: Sequence[Order] | None,
) -> LazySignals:
    """:param orders: the account's open orders (``Account.open_orders``); None when not recorded."""
    # Each position reads only its symbol's orders (``position_stops`` keeps no other): split once, not scanned
    # once per position.
    by_symbol: dict[str, list[Order]] = {}
    for o in orders or ():
        by_symbol.setdefault(o.symbol, []).append(o)
    return LazySignals(risk.positions, lambda p: position_signals(
        views.get(source, venue, p.symbol, taken_at_ms), p, None if orders is None else by_symbol.get(p.symbol, ())))


# -- STRESS -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolStress:
    """One margin asset of one account under every shock; ``positions`` index the account's positions."""

    asset: str
    positions: tuple[int, ...]
    result: StressResult
    has_cross: bool
    account: StressAccount | None


def _pool(account: Account, venue: VenueMarkets, risk: AccountRisk, asset: str, idx: list[int]) -> StressAccount:
    rules = rules_for(account.venue, account.account_type)
    positions = [account.positions[i] for i in idx]
    markets = [venue.markets[p.symbol] for p in positions]
    symbols = sorted({m.symbol for m in markets})
    cross = [p.margin_mode is MarginMode.CROSS for p in positions]
    balance = account.balances.get(asset)
    taker = account.fees.taker if account.fees else 0.0
    return StressAccount.build(
        inverse=[m.inverse for m in markets],
        side=[p.side.sign for p in positions],
        qty=[p.contracts * m.contract_size for p, m in zip(positions, markets, strict=True)],
        entry=[p.entry_price for p in positions],
        mark=[p.mark_price for p in positions],
        cross=cross,
        isolated_margin=[0.0 if c else (p.isolated_margin or 0.0) for p, c in zip(positions, cross, strict=True)],
        cross_wallet=balance.cross_wallet if balance else 0.0,
        tiers=TierTable.from_tiers([next(m.tiers for m in markets if m.symbol == s) for s in symbols]),
        table=[symbols.index(m.symbol) for m in markets],
        fixed_tier=[risk.positions[i].tier if rules.tier_selection is TierSelection.CURRENT else -1 for i in idx],
        mmr_add=[taker if rules.fee_in_maintenance else 0.0] * len(idx),
    )


def _missing_input(account: Account, asset: str, idx: list[int]) -> str | None:
    rules = rules_for(account.venue, account.account_type)
    if rules.fee_in_maintenance and account.fees is None:
        return "FEE_UNAVAILABLE: the venue counts the taker fee in maintenance margin and it is not in the snapshot"
    has_cross = any(account.positions[i].margin_mode is MarginMode.CROSS for i in idx)
    if has_cross and asset not in account.balances:
        return f"NO_BALANCE: no {asset} balance backs the cross positions"
    return None


def stress_pools(
    account: Account, venue: VenueMarkets, risk: AccountRisk, shocks: Sequence[float]
) -> tuple[PoolStress, ...]:
    """``stress`` per margin asset: amounts of different settle assets are never summed."""
    by_asset: dict[str, list[int]] = {}
    for i, p in enumerate(risk.positions):
        by_asset.setdefault(p.settle, []).append(i)
    out = []
    for asset, idx in sorted(by_asset.items()):
        has_cross = any(account.positions[i].margin_mode is MarginMode.CROSS for i in idx)
        reason = _missing_input(account, asset, idx)
        if reason is not None:
            out.append(PoolStress(asset, tuple(idx), StressResult.unknown(reason, np.asarray(shocks), len(idx)),
                                  has_cross, None))
            continue
        pool = _pool(account, venue, risk, asset, idx)
        out.append(PoolStress(asset, tuple(idx), stress(pool, shocks), has_cross, pool))
    return tuple(out)


@dataclass(frozen=True)
class CascadeRun:
    """The cascade through one symbol's bands toward the account's positions, and the pool it hits."""

    symbol: str
    side: str
    asset: str
    cascade: Cascade
    survival: StressResult
    positions: tuple[int, ...]


def _side(value: str) -> Literal["long", "short"]:
    if value not in ("long", "short"):
        raise ValueError(f"a position side is long or short, not {value!r}")
    return "long" if value == "long" else "short"


def _cascade(view: SymbolView, held: str) -> Cascade:
    side = _side(held)
    if view.bands.status != "ok" or view.mark_price is None:
        return Cascade("unknown", f"BANDS_UNKNOWN: {view.bands.reason}", side, view.mark_price or math.nan, ())
    if view.book is None:
        return Cascade("unknown", _NO_BOOK, side,
                       view.mark_price, ())
    return simulate_cascade(
        side=side,
        mark=view.mark_price,
        bands=view.bands.bands,
        bids=view.book.bids,
        asks=view.book.asks,
        contract_size=view.market.contract_size,
        inverse=view.market.inverse,
    )


def cascades(
    pools: Iterable[PoolStress], risk: AccountRisk, views: SymbolViews, source: str, venue: VenueMarkets,
    taken_at_ms: int,
) -> tuple[CascadeRun, ...]:
    """One cascade per (symbol, side held): long positions meet the long bands below mark, shorts the
    short bands above; the pool holding the symbol is stressed at the cascade's extreme price."""
    out = []
    for pool in pools:
        held = sorted({(risk.positions[i].symbol, risk.positions[i].side) for i in pool.positions})
        for symbol, side in held:
            run = _cascade(views.get(source, venue, symbol, taken_at_ms), side)
            if pool.account is None:
                survival = StressResult.unknown(pool.result.reason or "the pool's stress is unknown",
                                                np.array([math.nan]), len(pool.positions))
            else:
                survival = cascade_survival(pool.account, run)
            out.append(CascadeRun(symbol, side, pool.asset, run, survival, pool.positions))
    return tuple(out)


@dataclass(frozen=True)
class AccountStress:
    """``riskguard stress`` for one account: shocks per margin pool, and cascades per symbol held."""

    name: str
    venue: str
    error: str | None
    positions: tuple[PositionRisk, ...]
    pools: tuple[PoolStress, ...]
    cascades: tuple[CascadeRun, ...]

    @property
    def status(self) -> str:
        """unknown beats breach: a stress that could not be computed must not read as a verdict."""
        results = [p.result for p in self.pools] + [c.survival for c in self.cascades]
        if self.error is not None or any(r.status != "ok" for r in results):
            return "unknown"
        return "ok" if all(r.survives.all() for r in results) else "breach"


def stress_accounts(loaded: Sequence[Loaded], shocks: Sequence[float]) -> tuple[AccountStress, ...]:
    views = SymbolViews()
    out = []
    for item in loaded:
        if item.error is not None:
            out.append(AccountStress(item.spec.name, item.spec.config.venue or "snapshot", str(item.error), (), (), ()))
            continue
        assert item.snapshot is not None and item.account is not None
        account, snapshot = item.account, item.snapshot
        venue = snapshot.venues[account.venue]
        risk = evaluate_account(account, venue)
        pools = stress_pools(account, venue, risk, shocks)
        runs = cascades(pools, risk, views, source_key(item), venue, snapshot.taken_at_ms)
        out.append(AccountStress(item.spec.name, account.venue, None, risk.positions, pools, runs))
    return tuple(out)


# -- BANDS FOR ONE SYMBOL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserPosition:
    """One of the user's own positions in the symbol, to mark on the chart and in the table."""

    account: str
    risk: PositionRisk
    stops: tuple[Order, ...] | None
    """Its stops (``own_stops``); None when the snapshot did not record open orders."""

    @property
    def label(self) -> str:
        return f"{self.account} {self.risk.side}"

    def stop_labels(self) -> list[tuple[str, Order]]:
        """One chart label per stop, numbered when the position has several."""
        stops = self.stops or ()
        if len(stops) == 1:
            return [(self.label, stops[0])]
        return [(f"{self.label} {i}/{len(stops)}", o) for i, o in enumerate(stops, start=1)]


@dataclass(frozen=True)
class SymbolBands:
    view: SymbolView
    positions: tuple[UserPosition, ...]

    @property
    def liquidation_prices(self) -> dict[str, float]:
        return {p.label: p.risk.liquidation_price for p in self.positions if p.risk.liquidation_price is not None}

    @property
    def stop_prices(self) -> dict[str, float]:
        return {label: o.trigger_price for p in self.positions for label, o in p.stop_labels()
                if o.trigger_price is not None}

    @property
    def stops_recorded(self) -> bool:
        """False when some account's snapshot predates open orders: "no stop drawn" then means "unknown"."""
        return all(p.stops is not None for p in self.positions)


def public_bands(snapshot: Snapshot, symbol: str, config: EstimatorConfig | None = None) -> SymbolBands:
    """Bands for ``symbol`` from a venue's public market data: nobody's positions to mark."""
    (venue,) = snapshot.venues.values()
    return SymbolBands(symbol_view(venue, symbol, snapshot.taken_at_ms, config), ())


def symbol_bands(loaded: Sequence[Loaded], symbol: str, config: EstimatorConfig | None = None) -> SymbolBands:
    """Bands for ``symbol`` from the market data the selected accounts were read with.

    Raises ``InputError`` when an account could not be read, when no venue lists the symbol (naming
    the ones that exist) or when several do (the choice is the user's: ``--account``).
    """
    for item in loaded:
        if item.error is not None:
            raise item.error
    found: dict[tuple[str, str], Loaded] = {}
    available: set[str] = set()
    for item in loaded:
        assert item.snapshot is not None and item.account is not None
        venue = item.snapshot.venues[item.account.venue]
        available |= {f"{s} ({venue.venue})" for s in venue.markets}
        if symbol in venue.markets:
            found.setdefault((source_key(item), venue.venue), item)
    if not found:
        listed = ", ".join(sorted(available)) or "none"
        raise InputError(f"no market data for {symbol!r} in the selected accounts; available: {listed}")
    if len(found) > 1:
        where = ", ".join(f"{v} ({s})" for s, v in sorted(found))
        raise InputError(f"{symbol!r} is on several venues: {where}; choose one with --account")
    (source, venue_name), first = next(iter(found.items()))
    assert first.snapshot is not None
    venue = first.snapshot.venues[venue_name]
    view = symbol_view(venue, symbol, first.snapshot.taken_at_ms, config)
    mine = []
    for item in loaded:
        assert item.snapshot is not None and item.account is not None
        if source_key(item) != source or item.account.venue != venue_name:
            continue
        risk = evaluate_account(item.account, item.snapshot.venues[venue_name])
        mine += [UserPosition(item.spec.name, p, own_stops(p, item.account.open_orders))
                 for p in risk.positions if p.symbol == symbol]
    return SymbolBands(view, tuple(mine))
