"""Crowded liquidation bands around mark, and how close one position sits to them.

A band is a run of price bins where estimated liquidation notional clusters.  Long positions liquidate
below mark and short positions above, so each side is searched only on its own side of mark: forced
selling from a long band pushes price down into the next long band, which is the cascade that takes out
a long whose own liquidation price sits beyond it.

``distance_pct`` is **signed**: (nearest band edge − mark) / mark × 100, so long bands are negative and
short bands positive; 0 means mark is inside the band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # pandas only where frames come in: the check path never loads it
    import pandas as pd

from riskguard.risk.liqlevels import (
    Assumptions,
    EstimatorConfig,
    LevelEstimate,
    LevelProfile,
    MarketHistory,
    Status,
    VenueTerms,
    estimate_levels,
)
from riskguard.risk.tiers import TierTable

Side = Literal["long", "short"]
PEAK_NEIGHBOURS = 2
"""Bins either side of the heaviest one that place a band's peak (tuned on simulator seeds 0–5, docs/bands.md)."""


@dataclass(frozen=True)
class BandConfig:
    """A bin is "hot" when it holds ``hot_factor`` × the side's mean notional per occupied bin; hot bins
    closer than ``merge_gap_pct`` of mark join one band, and a band must hold ``min_share`` of its side."""

    top_n: int = 5
    hot_factor: float = 1.5
    merge_gap_pct: float = 0.3
    min_share: float = 0.03

    def __post_init__(self) -> None:
        if self.top_n < 1 or self.hot_factor <= 0 or self.merge_gap_pct < 0 or not 0 <= self.min_share < 1:
            raise ValueError("top_n >= 1, hot_factor > 0, merge_gap_pct >= 0 and 0 <= min_share < 1 required")


@dataclass(frozen=True)
class Band:
    side: Side
    """Whose positions liquidate in the band: long bands lie below mark, short bands above."""
    price_low: float
    price_high: float
    notional: float
    """Estimated liquidation notional in the band, quote currency."""
    distance_pct: float
    peak_price: float
    """Notional-weighted centre of the band's heaviest bin and up to two bins either side within the band."""

    def contains(self, price: float) -> bool:
        return self.price_low <= price <= self.price_high

    def to_json(self) -> dict:
        return {
            "side": self.side,
            "price_low": self.price_low,
            "price_high": self.price_high,
            "notional": self.notional,
            "distance_pct": self.distance_pct,
            "peak_price": self.peak_price,
        }


def _side_bins(profile: LevelProfile, side: Side) -> np.ndarray:
    """Bin notional of ``side`` restricted to its side of mark (bins straddling mark are kept)."""
    if side == "long":
        return np.where(profile.price_edges[:-1] < profile.mark_price, profile.long_notional, 0.0)
    return np.where(profile.price_edges[1:] > profile.mark_price, profile.short_notional, 0.0)


def detect_bands(profile: LevelProfile, config: BandConfig | None = None) -> tuple[Band, ...]:
    """Top ``config.top_n`` bands per side, heaviest first across both sides."""
    config = config or BandConfig()
    gap_bins = int(config.merge_gap_pct / 100.0 * profile.mark_price / profile.bin_width)
    bands: list[Band] = []
    for side in ("long", "short"):
        values = _side_bins(profile, side)
        total = float(values.sum())
        if total <= 0:
            continue
        occupied = values > 0
        # a bin exactly at the threshold is hot whatever the rounding of the sums (1e-9 relative)
        hot = np.flatnonzero(values >= config.hot_factor * total / occupied.sum() * (1 - 1e-9))
        if hot.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(hot) > gap_bins + 1)
        starts = np.concatenate([[hot[0]], hot[breaks + 1]])
        ends = np.concatenate([hot[breaks], [hot[-1]]])
        found = [_band(profile, side, values, int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
        found = [b for b in found if b.notional >= config.min_share * total]
        bands += sorted(found, key=lambda b: b.notional, reverse=True)[: config.top_n]
    return tuple(sorted(bands, key=lambda b: b.notional, reverse=True))


def _band(profile: LevelProfile, side: Side, values: np.ndarray, first: int, last: int) -> Band:
    edges, mark = profile.price_edges, profile.mark_price
    low, high = float(edges[first]), float(edges[last + 1])
    if side == "long":
        high = min(high, mark)
        distance = (high - mark) / mark * 100.0
    else:
        low = max(low, mark)
        distance = (low - mark) / mark * 100.0
    peak = first + int(np.argmax(values[first : last + 1]))
    # sub-bin placement: the notional-weighted centre of the heaviest bin and its neighbours inside the band
    near = slice(max(first, peak - PEAK_NEIGHBOURS), min(last, peak + PEAK_NEIGHBOURS) + 1)
    weights = values[near]
    centre = float((profile.centers[near] * weights).sum() / weights.sum())
    return Band(side, low, high, float(values[first : last + 1].sum()), distance, centre)


# -- PROXIMITY OF ONE POSITION ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Proximity:
    """How crowded the road from mark to one position's liquidation price is.

    ``notional_to_liquidation`` counts estimated liquidations of the position's own side between mark and
    its liquidation price: forced orders there push price toward it.  None when the position has no
    liquidation price.
    """

    side: Side
    nearest_band: Band | None
    distance_pct: float | None
    notional_to_liquidation: float | None
    liquidation_band: Band | None
    stop_bands: tuple[tuple[float, Band | None], ...]

    @property
    def liquidation_in_band(self) -> bool:
        return self.liquidation_band is not None

    @property
    def any_stop_in_band(self) -> bool:
        return any(band is not None for _, band in self.stop_bands)


def position_proximity(
    profile: LevelProfile,
    bands: Sequence[Band],
    *,
    side: Side,
    liquidation_price: float | None,
    stop_prices: Sequence[float] = (),
) -> Proximity:
    """Nearest adverse band (long → below mark, short → above), notional in the way, band membership."""
    adverse = [b for b in bands if b.side == side]
    nearest = min(adverse, key=lambda b: abs(b.distance_pct), default=None)
    liq = liquidation_price if liquidation_price is not None and math.isfinite(liquidation_price) else None
    if liq is not None and liq <= 0:
        liq = None
    in_way = None
    if liq is not None:
        lo, hi = sorted((profile.mark_price, float(liq)))
        in_way = _covered(profile.price_edges, profile.cumulative[side], lo, hi)
    return Proximity(
        side=side,
        nearest_band=nearest,
        distance_pct=None if nearest is None else nearest.distance_pct,
        notional_to_liquidation=in_way,
        liquidation_band=None if liq is None else _band_at(bands, liq),
        stop_bands=tuple((float(p), _band_at(bands, p)) for p in stop_prices),
    )


def _band_at(bands: Sequence[Band], price: float) -> Band | None:
    return next((b for b in bands if b.contains(price)), None)


def notional_between(edges: np.ndarray, values: np.ndarray, lo: float, hi: float) -> float:
    """Notional in [lo, hi], counting a partly covered bin pro rata (notional spread evenly in a bin)."""
    return _covered(edges, np.concatenate([[0.0], np.cumsum(values)]), lo, hi)


def _covered(edges: np.ndarray, cumulative: np.ndarray, lo: float, hi: float) -> float:
    covered = np.interp([lo, hi], edges, cumulative)
    return float(covered[1] - covered[0])


# -- ENTRY POINT FOR THE CLI ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BandsReport:
    symbol: str
    mark_price: float
    status: Status
    reason: str | None
    bands: tuple[Band, ...]
    assumptions: Assumptions | None
    profile: LevelProfile | None
    """Current levels measured from the live mark: pass to ``position_proximity``."""
    estimate: LevelEstimate
    """The full estimate, including the time × price map for ``render_heatmap``."""
    granularity: dict | None = None
    """Candle and open-interest steps the estimate used, and whether they were coarse (docs/bands.md)."""

    def side_split(self) -> dict | None:
        """Long share of the open levels and of the window's new notional, with each source's evidence."""
        sides, profile = self.estimate.sides, self.profile
        if sides is None or profile is None:
            return None
        long_, short = float(profile.long_notional.sum()), float(profile.short_notional.sum())
        share = None if long_ + short <= 0 else round(long_ / (long_ + short), 4)
        return {"long_share": share, **sides.to_json()}

    def to_json(self) -> dict:
        return {
            "symbol": self.symbol,
            "mark_price": self.mark_price,
            "status": self.status,
            "reason": self.reason,
            "bands": [b.to_json() for b in self.bands],
            "side_split": self.side_split(),
            "data_granularity": self.granularity,
            "assumptions": None if self.assumptions is None else self.assumptions.to_json(),
        }


def estimate_bands(
    ohlcv: pd.DataFrame,
    open_interest: pd.Series | pd.DataFrame | None,
    *,
    symbol: str,
    mark_price: float,
    tiers: TierTable,
    inverse: bool,
    contract_size: float,
    tier_source: str,
    table: int = 0,
    mmr_add: float = 0.0,
    funding_rate: pd.Series | None = None,
    long_short_ratio: pd.Series | None = None,
    mark: pd.DataFrame | None = None,
    config: EstimatorConfig | None = None,
    band_config: BandConfig | None = None,
) -> BandsReport:
    """Estimate liquidation levels from venue frames and return the bands around the live ``mark_price``.

    ``open_interest`` is in contracts; ``tier_source`` names where the tier table came from (e.g.
    "binance /fapi/v1/leverageBracket 2024-06-01") and is echoed in the assumptions.
    """
    history = MarketHistory.from_frames(
        ohlcv, open_interest, funding_rate=funding_rate, long_short_ratio=long_short_ratio, mark=mark
    )
    venue = VenueTerms(tiers, inverse, contract_size, tier_source, table, mmr_add)
    estimate = estimate_levels(history, venue, config)
    if estimate.profile is None:
        return BandsReport(symbol, mark_price, estimate.status, estimate.reason, (), None, None, estimate)
    live = LevelProfile(
        estimate.profile.price_edges, estimate.profile.long_notional, estimate.profile.short_notional, mark_price
    )
    bands = detect_bands(live, band_config)
    return BandsReport(symbol, mark_price, "ok", None, bands, estimate.assumptions, live, estimate)
