"""Where other traders' liquidations probably sit: a time × price map of estimated liquidation notional.

Entries, leverage and side of other traders are unobservable, so every number here is an estimate built on
stated assumptions (venue-margin-math §10).  The method, in one pass and fully vectorized:

1. New open interest.  For each bar with ΔOI > 0 the new positions' notional is ΔOI × contract size (valued
   at the bar's entry price for linear markets, face value for inverse).  Open interest that existed before
   the first bar is not attributed: its entries are unknown.
2. Sides.  ΔOI nets one long against one short, so evidence decides which side the *leveraged* openers were
   on: OI change against price direction, taker flow, the venue's long/short ratio and funding off its
   floor, each optional and disclosed (``riskguard.risk.side_attribution``).
3. Leverage.  The notional is spread over a leverage prior (default 5/10/20/25/50/100x), capped at the
   venue's max leverage for the representative position.
4. Price.  Each slice is a representative isolated position of ``representative_notional`` quote, solved
   with the venue's tiered liquidation solver.  Expressed in the venue's tier basis (quote notional for
   linear, base quantity for inverse) that position's liquidation price is a fixed multiple of its entry,
   so the solver runs once per (side, leverage) and every bar scales the ratio.
5. Removal.  Liquidation triggers on mark, so a long level is removed by the first *later* bar whose mark
   low reaches it (shorts: mark high).  The bar that opened a level cannot remove it: the order of events
   inside a bar is unknown.  Without a mark series the last-price high/low stand in for mark.
6. Turnover.  ΔOI is opens minus closes, which on a liquid perpetual are of the same size bar after bar, so
   by default positions are taken to be held ``mean_holding_hours`` (48 h) on average: each bar closes
   bar/48 h of open interest (or the fall in OI, where larger) pro rata from every level, and opens ΔOI plus
   what closed (``side_attribution.turnover``).  On the tuning seeds this cut the worst long-share gap from
   0.14 to 0.09 (ΔOI alone placed ~58 % of what opened and aged it too slowly).
   With ``mean_holding_hours=None`` closes come from ΔOI alone:
   a long closes by selling and a short by buying, so net taker flow (buy − sell = ΔL − ΔS) and
   ΔOI (= ΔL + ΔS) give each side's net change; what a side lost beyond the levels the path liquidated
   (step 5, so a liquidation is not counted twice) shrinks that side's levels pro rata, each side taken to
   hold half the open interest (``side_attribution.side_decay``).  Without taker volume, or on bars of 5
   minutes or more (where it cost recall on the tuning seeds), every level
   shrinks by OI_t / OI_{t-1}.  Which positions *within* a side closed is unknown.  Under every rule a level
   only shrinks once placed, so estimated notional stays ≤ the notional attributed.

Missing or inconsistent inputs give ``status == "unknown"`` with a reason, never an empty map that
would read as "nobody is at risk".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # pandas only where frames come in: the check path never loads it
    import pandas as pd

from riskguard.model.market import MarginTier
from riskguard.risk.side_attribution import (
    SOURCES,
    AttributionConfig,
    SideAttribution,
    attribute_closes,
    attribute_sides,
    side_decay,
    turnover,
)
from riskguard.risk.solver import solve_liquidation
from riskguard.risk.tiers import TierTable

Status = Literal["ok", "unknown"]

DECAY_RULE = (
    "levels are removed when a later bar's mark low (longs) / mark high (shorts) reaches them; "
    "each side's surviving levels shrink by what its net taker flow, (dOI +/- 0.5*(buy - sell))/2, says it lost "
    "beyond those liquidations (without taker volume or on bars of 5 minutes or more: every level by OI_t/OI_(t-1))"
)
TURNOVER_RULE = (
    "levels are removed when a later bar's mark low (longs) / mark high (shorts) reaches them; positions are "
    "held {hours:g} h on average (prior): each bar closes bar/{hours:g} h of open interest, or the fall in open "
    "interest where larger, pro rata from every level, and opens dOI plus what closed"
)


FINE_BAR_SECONDS = 300.0
"""Bars up to this long enter at their VWAP; longer ones spread their entries over their range."""


class MarketDataShapeError(ValueError):
    """Inputs that cannot be a market history at all (wrong lengths, unsorted time); a caller bug."""


@dataclass(frozen=True, eq=False)
class MarketHistory:
    """Aligned per-bar arrays, oldest first.  Optional series may hold NaN where a bar lacks the value.

    ``open_interest`` is in contracts (multiplied by the venue's contract size); ``None`` means the
    history was not available and the estimate will be "unknown".
    """

    times: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    open_interest: np.ndarray | None
    vwap: np.ndarray | None = None
    taker_buy_volume: np.ndarray | None = None
    taker_sell_volume: np.ndarray | None = None
    funding_rate: np.ndarray | None = None
    long_short_ratio: np.ndarray | None = None
    mark_high: np.ndarray | None = None
    mark_low: np.ndarray | None = None
    mark_close: np.ndarray | None = None

    def __post_init__(self) -> None:
        times = np.asarray(self.times)
        if np.issubdtype(times.dtype, np.integer):
            times = times.astype("datetime64[ms]")  # ccxt timestamps are epoch milliseconds
        if not np.issubdtype(times.dtype, np.datetime64) or times.ndim != 1:
            raise MarketDataShapeError("times must be a 1-D datetime64 or epoch-millisecond array")
        object.__setattr__(self, "times", times.astype("datetime64[ns]"))
        n = times.shape[0]
        for name in ("high", "low", "close", "volume", *_OPTIONAL_SERIES):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=float)
            if arr.shape != (n,):
                raise MarketDataShapeError(f"{name} has shape {arr.shape}, expected ({n},) like times")
            object.__setattr__(self, name, arr)
        if n > 1 and not np.all(np.diff(self.times) > np.timedelta64(0)):
            raise MarketDataShapeError("times must be strictly increasing")
        marks = [self.mark_high is None, self.mark_low is None, self.mark_close is None]
        if any(marks) and not all(marks):
            raise MarketDataShapeError("mark_high, mark_low and mark_close must be given together")

    @property
    def size(self) -> int:
        return int(self.times.shape[0])

    @classmethod
    def from_frames(
        cls,
        ohlcv: pd.DataFrame,
        open_interest: pd.Series | pd.DataFrame | None,
        *,
        funding_rate: pd.Series | None = None,
        long_short_ratio: pd.Series | None = None,
        mark: pd.DataFrame | None = None,
    ) -> MarketHistory:
        """Align venue frames (DatetimeIndex) onto the candle timestamps.

        ``ohlcv`` needs columns high, low, close, volume and may carry vwap, taker_buy_volume and
        taker_sell_volume (sell defaults to volume − buy).  Open interest usually comes at a coarser
        step than candles; it is interpolated linearly in time so a 5-minute ΔOI is spread over its five
        1-minute bars instead of landing on one price.  Bars outside the OI coverage get NaN, which the
        estimator reports as missing.  Funding and long/short ratio hold their last published value.
        """
        import pandas as pd

        missing = {"high", "low", "close", "volume"} - set(ohlcv.columns)
        if missing:
            raise MarketDataShapeError(f"ohlcv lacks columns {sorted(missing)}")
        if not isinstance(ohlcv.index, pd.DatetimeIndex):
            raise MarketDataShapeError("ohlcv needs a DatetimeIndex of bar open times")
        idx = ohlcv.index
        buy = _column(ohlcv, "taker_buy_volume")
        sell = _column(ohlcv, "taker_sell_volume")
        if buy is not None and sell is None:
            sell = ohlcv["volume"].to_numpy(float) - buy
        oi = None
        if open_interest is not None:
            oi_series = _single_series(open_interest, "open_interest")
            oi = _interpolate_onto(idx, oi_series)
        if mark is not None and not {"high", "low", "close"} <= set(mark.columns):
            raise MarketDataShapeError("mark needs columns high, low, close")
        mark_aligned = None if mark is None else mark.reindex(idx)
        return cls(
            times=idx.to_numpy(dtype="datetime64[ns]"),
            high=ohlcv["high"].to_numpy(float),
            low=ohlcv["low"].to_numpy(float),
            close=ohlcv["close"].to_numpy(float),
            volume=ohlcv["volume"].to_numpy(float),
            open_interest=oi,
            vwap=_column(ohlcv, "vwap"),
            taker_buy_volume=buy,
            taker_sell_volume=sell,
            funding_rate=None if funding_rate is None else _hold_onto(idx, funding_rate),
            long_short_ratio=None if long_short_ratio is None else _hold_onto(idx, long_short_ratio),
            mark_high=None if mark_aligned is None else mark_aligned["high"].to_numpy(float),
            mark_low=None if mark_aligned is None else mark_aligned["low"].to_numpy(float),
            mark_close=None if mark_aligned is None else mark_aligned["close"].to_numpy(float),
        )


_OPTIONAL_SERIES = (
    "open_interest", "vwap", "taker_buy_volume", "taker_sell_volume", "funding_rate", "long_short_ratio",
    "mark_high", "mark_low", "mark_close",
)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    return frame[name].to_numpy(float) if name in frame.columns else None


def _single_series(data: pd.Series | pd.DataFrame, name: str) -> pd.Series:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if data.shape[1] != 1:
            raise MarketDataShapeError(f"{name} frame must have exactly one column, got {list(data.columns)}")
        data = data.iloc[:, 0]
    if not isinstance(data.index, pd.DatetimeIndex):
        raise MarketDataShapeError(f"{name} needs a DatetimeIndex")
    return data.astype(float).sort_index()


def _interpolate_onto(idx: pd.DatetimeIndex, series: pd.Series) -> np.ndarray:
    series = series.dropna()
    if series.empty:
        return np.full(len(idx), np.nan)
    x = idx.asi8.astype(float)
    xp = series.index.asi8.astype(float)
    return np.interp(x, xp, series.to_numpy(float), left=np.nan, right=np.nan)


def _hold_onto(idx: pd.DatetimeIndex, series: pd.Series) -> np.ndarray:
    series = _single_series(series, series.name or "series")
    return series.reindex(idx, method="ffill").to_numpy(float)


# -- CONFIGURATION ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EstimatorConfig:
    """Defaults follow the public heatmap tools (venue-margin-math §10) and are all disclosed in the output.

    ``representative_notional`` is one other trader's position in quote; it decides which margin tier
    (and so which mmr) the slices use.  Retail-sized positions sit in the first tier on every major venue.
    """

    leverages: tuple[float, ...] = (5.0, 10.0, 20.0, 25.0, 50.0, 100.0)
    weights: tuple[float, ...] = (0.15, 0.25, 0.25, 0.15, 0.12, 0.08)
    representative_notional: float = 10_000.0
    bin_width_pct: float = 0.1
    max_bins: int = 2_000
    max_time_columns: int = 720
    mean_holding_hours: float | None = 48.0
    """Prior on how long positions stay open (``side_attribution.turnover``); None: only ΔOI opens and closes."""
    coarse_entry_points: int = 3
    """Entry prices per bar on bars longer than 5 minutes (spread over the bar's range, see ``_entry_points``)."""
    attribution: AttributionConfig = field(default_factory=AttributionConfig)

    def __post_init__(self) -> None:
        if len(self.leverages) == 0 or len(self.leverages) != len(self.weights):
            raise ValueError("leverages and weights must be non-empty and of equal length")
        if any(not (math.isfinite(lev) and lev > 0) for lev in self.leverages):
            raise ValueError(f"leverages must be finite and > 0, got {self.leverages}")
        if any(w < 0 for w in self.weights) or not math.isclose(sum(self.weights), 1.0, rel_tol=1e-9):
            raise ValueError(f"weights must be >= 0 and sum to 1, got {self.weights}")
        if not self.representative_notional > 0:
            raise ValueError("representative_notional must be > 0")
        if not 0 < self.bin_width_pct < 100:
            raise ValueError("bin_width_pct must be in (0, 100)")
        if self.mean_holding_hours is not None and not (math.isfinite(self.mean_holding_hours)
                                                        and self.mean_holding_hours > 0):
            raise ValueError("mean_holding_hours must be finite and > 0, or None")
        if self.max_bins < 2 or self.max_time_columns < 1:
            raise ValueError("max_bins must be >= 2 and max_time_columns >= 1")

    def capped(self, max_leverage: float | None) -> EstimatorConfig:
        """The prior on a venue that caps leverage: nobody holds more than ``max_leverage``.

        Traders who would have chosen more take the cap itself, so the weight above it moves to a
        ``max_leverage`` bucket (joined with an equal leverage already in the prior).
        """
        if max_leverage is None or max(self.leverages) <= max_leverage:
            return self
        kept = {lev: w for lev, w in zip(self.leverages, self.weights, strict=True) if lev < max_leverage}
        kept[max_leverage] = 1.0 - sum(kept.values())
        levs = tuple(sorted(kept))
        return replace(self, leverages=levs, weights=tuple(kept[lev] for lev in levs))


def parse_leverage_prior(text: str) -> EstimatorConfig:
    """``"5:15,10:25,20:25,25:15,50:12,100:8"`` (leverage:percent) → a config with that prior.

    Percentages must sum to 100: a prior that silently renormalized would hide a typo.  Within the rounding
    tolerated (1e-6 points: six leverages at 16.6666667 each) they are divided by their sum, so the weights sum
    to 1 as ``EstimatorConfig`` requires, to the last bit.
    """
    pairs = []
    for part in text.split(","):
        lev, _, pct = part.partition(":")  # without a colon the percent is "", which float() refuses
        try:
            pairs.append((float(lev), float(pct)))
        except ValueError:
            raise ValueError(f"leverage prior item {part.strip()!r} is not LEVERAGE:PERCENT, e.g. 20:25") from None
    total = sum(p for _, p in pairs)
    if not math.isclose(total, 100.0, abs_tol=1e-6):
        raise ValueError(f"leverage prior percentages sum to {total:.10g}, need 100")  # :g said 100.000002 was 100
    if len({lev for lev, _ in pairs}) != len(pairs):
        raise ValueError("leverage prior lists a leverage twice")
    pairs.sort()
    return EstimatorConfig(leverages=tuple(lev for lev, _ in pairs), weights=tuple(p / total for _, p in pairs))


def leverage_cap(tiers: Sequence[MarginTier], notional: float) -> float | None:
    """Max leverage the venue allows a position of ``notional`` (tiers in quote), None when not published."""
    for tier in tiers:
        if tier.floor <= notional < tier.cap:
            return tier.max_leverage
    return None


@dataclass(frozen=True, eq=False)
class VenueTerms:
    """The venue rules one market's liquidations follow; ``source`` names the tier table for disclosure."""

    tiers: TierTable
    inverse: bool
    contract_size: float
    source: str
    table: int = 0
    mmr_add: float = 0.0
    max_leverage: float | None = None
    """The venue's cap for a representative position (tier max leverage); caps the leverage prior."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.contract_size) and self.contract_size > 0):
            raise ValueError("contract_size must be > 0")


# -- RESULTS ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assumptions:
    """Everything the estimate rests on, printed next to it so nobody reads it as observed data."""

    leverages: tuple[float, ...]
    weights: tuple[float, ...]
    representative_notional: float
    liquidation_distance_pct: dict[str, tuple[float, float]]
    """leverage → (long, short) signed distance of the liquidation price from entry, percent."""
    leverage_cap: float | None
    """The venue's max leverage for the representative position; the prior above it moved to the cap."""
    tilt_rule: str
    tilt_bars: dict[str, int]
    """Bars with new open interest on which each attribution source voted."""
    entry_price: str
    trigger: str
    bin_width: float
    decay_rule: str
    tier_table_source: str
    unattributed: str = "open interest that existed before the first bar (entries unknown)"

    def to_json(self) -> dict:
        out = asdict(self)
        out["liquidation_distance_pct"] = {k: list(v) for k, v in self.liquidation_distance_pct.items()}
        out["leverages"], out["weights"] = list(self.leverages), list(self.weights)
        return out


@dataclass(frozen=True, eq=False)
class LevelProfile:
    """Estimated liquidation notional per price bin at one moment, split by whose positions liquidate."""

    price_edges: np.ndarray
    long_notional: np.ndarray
    short_notional: np.ndarray
    mark_price: float

    @property
    def bin_width(self) -> float:
        return float(self.price_edges[1] - self.price_edges[0])

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.price_edges[:-1] + self.price_edges[1:])

    @cached_property
    def cumulative(self) -> dict[str, np.ndarray]:
        """Notional at or below each price edge, per side: every position on the symbol asks how much lies
        between its mark and its liquidation price, and one running sum per profile answers them all."""
        return {side: np.concatenate([[0.0], np.cumsum(values)])
                for side, values in (("long", self.long_notional), ("short", self.short_notional))}


@dataclass(frozen=True, eq=False)
class LiquidationMap:
    """Snapshots of the profile at the end of each time column: arrays are (columns, bins)."""

    times: np.ndarray
    price_edges: np.ndarray
    long_density: np.ndarray
    short_density: np.ndarray

    @property
    def density(self) -> np.ndarray:
        return self.long_density + self.short_density


@dataclass(frozen=True, eq=False)
class LevelEstimate:
    """``heatmap`` and ``profile`` are None exactly when ``status == "unknown"``."""

    status: Status
    reason: str | None
    assumptions: Assumptions | None
    heatmap: LiquidationMap | None
    profile: LevelProfile | None
    attributed_notional: float = 0.0
    """Quote notional of all new open interest the window attributed (placed or not)."""
    unplaced_notional: float = 0.0
    """Part of it at leverages with no liquidation price (over-collateralized), so never binned."""
    sides: SideAttribution | None = None
    """Long/short split of the new open interest and the evidence behind it."""


def _unknown(reason: str) -> LevelEstimate:
    return LevelEstimate("unknown", reason, None, None, None)


# -- DATA QUALITY -----------------------------------------------------------------------------------------


def _when(history: MarketHistory, i: int) -> str:
    return str(np.datetime_as_string(history.times[i], unit="s"))


def _first_bad(bad: np.ndarray) -> int | None:
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else None


def data_problem(history: MarketHistory) -> str | None:
    """The first reason the history cannot support an estimate, or None.

    Order matters only for the message: the most basic defect is named.
    """
    if history.open_interest is None:
        return "open-interest history missing: new positions cannot be attributed"
    if history.size < 2:
        return f"need at least 2 bars, got {history.size}"
    required = {"high": history.high, "low": history.low, "close": history.close, "volume": history.volume}
    marks = {"mark_high": history.mark_high, "mark_low": history.mark_low, "mark_close": history.mark_close}
    required |= {name: arr for name, arr in marks.items() if arr is not None}
    for name, arr in required.items():
        i = _first_bad(~np.isfinite(arr))
        if i is not None:
            return f"{name} is NaN/inf at {_when(history, i)} ({int((~np.isfinite(arr)).sum())} bars)"
    oi = history.open_interest
    i = _first_bad(~np.isfinite(oi))
    if i is not None:
        return f"open interest missing at {_when(history, i)} ({int((~np.isfinite(oi)).sum())} bars)"
    i = _first_bad(oi <= 0)
    if i is not None:
        return f"open interest is not positive at {_when(history, i)}"
    i = _first_bad((history.low <= 0) | (history.high < history.low))
    if i is not None:
        return f"invalid candle (low <= 0 or high < low) at {_when(history, i)}"
    steps = np.diff(history.times)
    step = steps.min()
    i = _first_bad(steps != step)
    if i is not None:
        missing = steps[i] / step - 1
        return f"gap in bars after {_when(history, i)}: {missing:g} bar(s) missing"
    if not np.any(history.volume > 0):
        return "no traded volume in the window"
    changed = np.diff(oi) != 0
    i = _first_bad(changed & (history.volume[1:] <= 0))
    if i is not None:
        return f"open interest changed on a zero-volume bar at {_when(history, i + 1)}"
    return None


# -- ESTIMATION -------------------------------------------------------------------------------------------


def liquidation_ratios(venue: VenueTerms, config: EstimatorConfig, reference_price: float) -> np.ndarray:
    """Liquidation price / entry for the representative position, shape (2, leverages): row 0 long.

    Solved at entry 1 with the position sized in the venue's tier basis (quote for linear, base
    converted at ``reference_price`` for inverse); in that basis the tier, mmr and the ratio do not
    depend on the entry, so one solve serves every bar.  NaN where no liquidation price exists or where
    the leverage is so high that the position would start below maintenance margin.
    """
    lev = np.asarray(config.leverages, dtype=float)
    n_lev = lev.shape[0]
    side = np.repeat([1, -1], n_lev)
    lev2 = np.tile(lev, 2)
    size = config.representative_notional / (reference_price if venue.inverse else 1.0)
    margin = size / lev2
    sol = solve_liquidation(
        inverse=np.full(2 * n_lev, venue.inverse),
        side=side,
        qty=np.full(2 * n_lev, size),
        entry=np.ones(2 * n_lev),
        margin=margin,
        tiers=venue.tiers,
        table=np.full(2 * n_lev, venue.table),
        mmr_add=np.full(2 * n_lev, venue.mmr_add),
    )
    ratio = sol.liquidation_price.reshape(2, n_lev)
    # a leverage whose margin is at or below maintenance would be liquidated on entry: the venue refuses it
    # (a ratio of exactly 1 is that boundary on either side, so it is refused on both)
    viable = np.where(np.array([[True], [False]]), ratio < 1.0, ratio > 1.0)
    return np.where(viable, ratio, np.nan)


def estimate_levels(
    history: MarketHistory, venue: VenueTerms, config: EstimatorConfig | None = None
) -> LevelEstimate:
    """Estimate liquidation levels over ``history`` (see module docstring for the method)."""
    config = (config or EstimatorConfig()).capped(venue.max_leverage)
    problem = data_problem(history)
    if problem is not None:
        return _unknown(problem)
    assert history.open_interest is not None  # data_problem() returned the reason otherwise
    oi_units = history.open_interest * venue.contract_size
    d_oi = np.diff(oi_units, prepend=oi_units[0])
    opened = np.flatnonzero(d_oi > 0)
    if opened.size == 0:
        return _unknown("open interest never rose in the window: no new positions to place")

    vwap = history.vwap
    has_vwap = vwap is not None
    entry = (history.high + history.low + history.close) / 3.0
    if vwap is not None:
        ok = np.isfinite(vwap) & (vwap > 0) & (history.volume > 0)
        entry = np.where(ok, vwap, entry)
    mark_high, mark_low, mark_close = history.mark_high, history.mark_low, history.mark_close
    has_mark = mark_high is not None and mark_low is not None and mark_close is not None
    kill_high = mark_high if mark_high is not None else history.high
    kill_low = mark_low if mark_low is not None else history.low
    mark_price = float((mark_close if mark_close is not None else history.close)[-1])

    ratios = liquidation_ratios(venue, config, mark_price)
    bar_seconds = float((history.times[1] - history.times[0]) / np.timedelta64(1, "s"))
    closed = None if config.mean_holding_hours is None else turnover(oi_units, bar_seconds, config.mean_holding_hours)
    new_units = np.maximum(d_oi if closed is None else d_oi + closed, 0.0)
    bar_notional = new_units * (1.0 if venue.inverse else entry)
    sides = attribute_sides(
        close=history.close, oi_units=oi_units, new_notional=bar_notional,
        taker_buy=history.taker_buy_volume, taker_sell=history.taker_sell_volume,
        long_short_ratio=history.long_short_ratio, funding_rate=history.funding_rate,
        bar_seconds=bar_seconds, closed=closed, config=config.attribution,
    )
    # over 5-minute and longer bars the flow nets too many opens and closes: on the tuning seeds the split
    # cost recall at 5 minutes (mixed 0.57 -> 0.53) and moved hourly peaks by 0.13 %, so closes stay pro rata
    fine = bar_seconds < FINE_BAR_SECONDS
    closes = attribute_closes(
        oi_units=oi_units, share=sides.share, config=config.attribution, closed=closed,
        taker_buy=history.taker_buy_volume if fine else None, taker_sell=history.taker_sell_volume if fine else None,
    )
    opens = closes.opens
    weights = np.asarray(config.weights)
    value = 1.0 if venue.inverse else entry
    attributed = float((opens * value).sum())
    placed = np.isfinite(ratios)

    # one flat array per side of (bar, price, notional) for every placed leverage slice and entry point
    unplaced = 0.0
    levels = []
    for s in (0, 1):
        at = np.flatnonzero(opens[s] > 0)
        side_notional = (opens[s] * value)[at]
        unplaced += float((side_notional[:, None] * weights[None, ~placed[s]]).sum())
        points = _entry_points(entry[at], history.low[at], history.high[at], bar_seconds, config.coarse_entry_points)
        k = points.shape[1]
        lev_ok = np.flatnonzero(placed[s])
        t = np.repeat(at, k * lev_ok.size)
        price = (points[:, :, None] * ratios[s, lev_ok][None, None, :]).ravel()
        notional = side_notional[:, None] * weights[None, lev_ok]
        notional = (notional if k == 1 else np.repeat(notional / k, k, axis=0)).ravel()
        levels.append((t, price, notional))
    if levels[0][1].size + levels[1][1].size == 0:
        return _unknown("no leverage in the distribution has a liquidation price on this venue")

    width = config.bin_width_pct / 100.0 * mark_price
    lo = min(float(lv[1].min()) for lv in levels if lv[1].size)
    hi = max(float(lv[1].max()) for lv in levels if lv[1].size)
    lo, hi = min(lo, mark_price), max(hi, mark_price)
    if (hi - lo) / width > config.max_bins - 1:
        width = (hi - lo) / (config.max_bins - 1)
    edge0 = math.floor(lo / width) * width
    n_bins = math.floor((hi - edge0) / width) + 1
    edges = edge0 + width * np.arange(n_bins + 1)

    n = history.size
    per_col = max(1, math.ceil(n / config.max_time_columns))
    n_cols = math.ceil(n / per_col)
    col_end = np.minimum(np.arange(n_cols) * per_col + per_col - 1, n - 1)
    crossings = (kill_low, -kill_high)
    deaths = [
        _death_columns(levels[side][0], (1.0, -1.0)[side] * levels[side][1], crossings[side], per_col, n_cols)
        for side in (0, 1)
    ]
    # only the flow split needs the estimate's own liquidations (so they are not lost twice)
    liquidated = None if closes.net is None else _liquidated_units(levels, deaths, value, oi_units, per_col, n_cols)
    log_decay = side_decay(oi_units, closes, liquidated)
    log_decay_end = log_decay[:, col_end]
    # decay from each bar to the end of its own column, once per bar rather than once per level
    to_column_end = np.exp(log_decay_end[:, np.arange(n) // per_col] - log_decay)

    # one (column, side, bin) cell per level entering and per level leaving; both sides in one bincount each
    enter: list[tuple[np.ndarray, np.ndarray]] = []
    leave: list[tuple[np.ndarray, np.ndarray]] = []
    for side in (0, 1):
        t, price, notional = levels[side]
        death = deaths[side]
        bins = np.clip(((price - edge0) / width).astype(np.int64), 0, n_bins - 1)
        col = t // per_col
        # a level enters the snapshot of its own column and leaves in the column that reaches it, valued
        # at that column's end; levels reached inside their own column never appear
        born = np.flatnonzero(death > col)
        enter.append((
            (col[born] * 2 + side) * n_bins + bins[born],
            notional[born] * to_column_end[side, t[born]],
        ))
        dies = born[death[born] < n_cols]
        leave.append((
            (death[dies] * 2 + side) * n_bins + bins[dies],
            notional[dies] * np.exp(log_decay_end[side, death[dies]] - log_decay[side, t[dies]]),
        ))
    cells = n_cols * 2 * n_bins
    changes = _cell_sums(enter, cells)
    changes -= _cell_sums(leave, cells)
    changes = changes.reshape(n_cols, 2, n_bins)
    densities = _roll_forward(changes, log_decay_end).transpose(1, 0, 2)

    heatmap = LiquidationMap(history.times[col_end], edges, densities[0], densities[1])
    profile = LevelProfile(edges, densities[0][-1].copy(), densities[1][-1].copy(), mark_price)
    assumptions = Assumptions(
        leverages=tuple(float(x) for x in config.leverages),
        weights=tuple(float(x) for x in config.weights),
        representative_notional=config.representative_notional,
        liquidation_distance_pct={
            f"{lev:g}x": (round(float(ratios[0, i] - 1) * 100, 4), round(float(ratios[1, i] - 1) * 100, 4))
            for i, lev in enumerate(config.leverages)
        },
        leverage_cap=venue.max_leverage,
        tilt_rule="per bar, log-odds votes summed over the sources present: " + ", ".join(SOURCES)
        + f"; funding votes only off its floor {config.attribution.funding_floor * 100:+.4f}%",
        tilt_bars={e.source: e.bars for e in sides.evidence},
        entry_price="bar VWAP (typical price where VWAP missing)" if has_vwap else "typical price (H+L+C)/3",
        trigger="mark high/low" if has_mark else "last-price high/low as a mark proxy",
        bin_width=width,
        decay_rule=DECAY_RULE if closed is None else TURNOVER_RULE.format(hours=config.mean_holding_hours),
        tier_table_source=venue.source,
    )
    return LevelEstimate("ok", None, assumptions, heatmap, profile, attributed, unplaced, sides)


def _cell_sums(parts: list[tuple[np.ndarray, np.ndarray]], cells: int) -> np.ndarray:
    return np.bincount(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), cells)


def _entry_points(entry: np.ndarray, low: np.ndarray, high: np.ndarray, bar_seconds: float, k: int) -> np.ndarray:
    """Entry prices per opened bar, shape (bars, points), equally weighted.

    On bars up to 5 minutes long the bar's VWAP is the entry.  A coarser bar's openings happened anywhere in its
    range, so they are spread over ``k`` quantiles of a triangular distribution on [low, high] with its mode at
    the VWAP: one price per hour would put every position of the hour on one line.
    """
    if bar_seconds <= FINE_BAR_SECONDS or k <= 1:
        return entry[:, None]
    mode = np.clip(entry, low, high)
    span = np.maximum(high - low, 1e-12 * entry)
    u = (np.arange(k) + 0.5) / k
    cut = ((mode - low) / span)[:, None]
    below = low[:, None] + np.sqrt(u[None, :] * span[:, None] * (mode - low)[:, None])
    above = high[:, None] - np.sqrt((1 - u[None, :]) * span[:, None] * (high - mode)[:, None])
    return np.where(u[None, :] < cut, below, above)


def _liquidated_units(
    levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]], deaths: list[np.ndarray], value: np.ndarray | float,
    oi_units: np.ndarray, per_col: int, n_cols: int,
) -> np.ndarray:
    """Units of each side the estimate itself liquidates per bar, shape (2, bars), spread over the column.

    Liquidations shrink open interest too; without this the side whose levels the path crossed would lose
    them twice, once as levels removed and again as closes.  Values them under the pro-rata decay.
    """
    n = oi_units.shape[0]
    log_keep = np.concatenate([[0.0], np.cumsum(np.log(np.minimum(1.0, oi_units[1:] / oi_units[:-1])))])
    end = np.minimum(np.arange(n_cols) * per_col + per_col - 1, n - 1)
    value_at = np.broadcast_to(np.asarray(value, dtype=float), (n,))
    out = np.zeros((2, n))
    for side in (0, 1):
        t, _, notional = levels[side]
        death = deaths[side]
        dies = np.flatnonzero((death > t // per_col) & (death < n_cols))
        units = notional[dies] / value_at[t[dies]] * np.exp(log_keep[end[death[dies]]] - log_keep[t[dies]])
        per_column = np.bincount(death[dies], weights=units, minlength=n_cols)
        out[side] = np.repeat(per_column / (end - np.arange(n_cols) * per_col + 1), per_col)[:n]
    return out


def _death_columns(
    t: np.ndarray, level: np.ndarray, crossing: np.ndarray, per_col: int, n_cols: int
) -> np.ndarray:
    """Time column in which each level is first reached (crossing[s] <= level for some s > t).

    Longs pass (low, price); shorts pass (−high, −price) so one "falls to or below" search serves both.
    Returns ``n_cols`` for levels still alive at the end.  A level reached inside its own column gets that
    column and never shows in a snapshot; later columns are searched on the column minima
    (``_first_at_or_below``).
    """
    padded = np.full(n_cols * per_col, np.inf)
    padded[: crossing.shape[0]] = crossing
    grid = padded.reshape(n_cols, per_col)
    rest = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1]
    after = np.full_like(rest, np.inf)
    after[:, :-1] = rest[:, 1:]
    col = t // per_col
    death = col.copy()
    alive = np.flatnonzero(after.ravel()[t] > level)
    death[alive] = _first_at_or_below(rest[:, 0], col[alive] + 1, level[alive])
    return death


def _first_at_or_below(values: np.ndarray, start: np.ndarray, level: np.ndarray) -> np.ndarray:
    """For each query the first index i >= start with values[i] <= level (``values.size`` when none).

    That index is always a record low of ``values[start:]``, so it lies on the chain start → next strictly
    lower value → ...  The chain falls monotonically, so binary lifting walks it in log2(longest chain)
    vectorized, branch-free steps for all queries at once (one per level and leverage: ~10^5 on 30 days of
    1-minute bars; a searchsorted per query cost twice as much).
    """
    n = values.shape[0]
    vals = values.tolist()
    lower = [n] * (n + 1)  # next strictly lower value to the right; n: none (a sentinel at -inf)
    depth = [0] * (n + 1)
    stack: list[int] = []
    for i, v in enumerate(vals):
        while stack and v < vals[stack[-1]]:
            lower[stack.pop()] = i
        stack.append(i)
    for i in range(n - 1, -1, -1):
        depth[i] = 1 + depth[lower[i]]
    ext = np.append(values, -np.inf)
    jump = np.asarray(lower, dtype=np.intp)
    jumps = [jump]
    while (1 << len(jumps)) < max(depth):
        jumps.append(jumps[-1].take(jumps[-1]))
    first = np.minimum(start, n)
    # a level below every later value is never reached and one at or above the first is reached at once:
    # only the rest (about half of all levels on the benchmark) climb
    floor = np.append(np.minimum.accumulate(values[::-1])[::-1], np.inf)
    out = np.where(ext.take(first) <= level, first, n)
    climb = np.flatnonzero((out == n) & (floor.take(first) <= level))
    pos, below = first[climb], level[climb]
    # climb while the record 2^k steps down is still above the level; the record after the last one is it
    for step in reversed(jumps):
        cand = step.take(pos)
        pos = pos + (ext.take(cand) > below) * (cand - pos)
    out[climb] = jump.take(pos)
    return out


def _roll_forward(change: np.ndarray, log_decay_end: np.ndarray) -> np.ndarray:
    """Turn per-column changes into per-column totals, shrinking the carried total by each column's decay.

    In place: ``change`` becomes the totals (a 30-day map is ~9 MB, and under load the copies cost more than
    the arithmetic).
    """
    dust = 1e-9 * max(float(change.max()), -float(change.min()), 1e-300)
    keep = np.exp(np.diff(log_decay_end, axis=1, prepend=log_decay_end[:, :1])).T[:, :, None]
    carried = np.empty(change.shape[1:])
    for c in range(1, change.shape[0]):
        np.multiply(change[c - 1], keep[c], out=carried)
        change[c] += carried
    # additions and removals of one level cancel to rounding error, which must not read as a level;
    # branch-free (a masked store costs 4x as much), and + 0.0 turns the −0.0 of negative dust into 0.0
    change *= change >= dust
    change += 0.0
    return change
