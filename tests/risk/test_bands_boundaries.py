"""Boundaries of bands.py: edges of a band, liquidation prices the proximity must refuse, configurations it
must refuse, the long share of a profile with nothing or little on it, and every argument of
``estimate_bands`` reaching the estimate (docs/mutation.md, "bands.py")."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from market_simulator import binance_like_venue, simulate_market

from riskguard.model import MarginTier
from riskguard.risk.bands import Band, BandConfig, detect_bands, estimate_bands, position_proximity
from riskguard.risk.liqlevels import EstimatorConfig, LevelProfile
from riskguard.risk.tiers import TierTable

EDGES = np.arange(90.0, 111.0, 1.0)  # 20 bins of width 1 from 90 to 110, mark 100


def _profile(long_bins: dict[int, float] | None = None, short_bins: dict[int, float] | None = None) -> LevelProfile:
    long_, short = np.zeros(20), np.zeros(20)
    for i, v in (long_bins or {}).items():
        long_[i] = v
    for i, v in (short_bins or {}).items():
        short[i] = v
    return LevelProfile(EDGES, long_, short, 100.0)


# -- Band and BandConfig ----------------------------------------------------------------------------------


def test_band_contains_when_price_on_either_edge_then_inside():
    band = Band("long", 92.0, 94.0, 400.0, -6.0, 93.25)
    assert band.contains(92.0) and band.contains(94.0)
    assert not band.contains(91.999) and not band.contains(94.001)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"top_n": 0},
        {"hot_factor": 0.0},
        {"merge_gap_pct": -0.1},
        {"min_share": 1.0},
        {"min_share": -0.01},
    ],
)
def test_band_config_when_out_of_range_then_refused(kwargs):
    message = "top_n >= 1, hot_factor > 0, merge_gap_pct >= 0 and 0 <= min_share < 1 required"
    with pytest.raises(ValueError) as err:
        BandConfig(**kwargs)
    assert str(err.value) == message


def test_band_config_when_on_the_allowed_edges_then_accepted():
    cfg = BandConfig(top_n=1, hot_factor=1e-9, merge_gap_pct=0.0, min_share=0.0)
    assert (cfg.top_n, cfg.merge_gap_pct, cfg.min_share) == (1, 0.0, 0.0)


# -- detect_bands -----------------------------------------------------------------------------------------


def test_detect_bands_when_notional_on_the_wrong_side_of_mark_then_ignored():
    # long notional at or above mark (100–101, 102–103) and short notional at or below it (97–98, 99–100)
    # cannot liquidate from here: only 93–94 (long) and 105–106 (short) are bands
    p = _profile(long_bins={3: 100, 10: 500, 12: 300}, short_bins={7: 300, 9: 500, 15: 100})
    bands = detect_bands(p, BandConfig(hot_factor=1.0, merge_gap_pct=0.0, min_share=0.0))
    assert bands == (Band("long", 93.0, 94.0, 100.0, -6.0, 93.5), Band("short", 105.0, 106.0, 100.0, 5.0, 105.5))


def test_detect_bands_when_band_holds_exactly_min_share_then_kept():
    # long 100 + 300 = 400, both bins hot (0.5 × 200); 93–94 holds 100 = 0.25 of the side exactly
    p = _profile(long_bins={3: 100, 7: 300})
    bands = detect_bands(p, BandConfig(hot_factor=0.5, merge_gap_pct=0.0, min_share=0.25))
    assert bands == (Band("long", 97.0, 98.0, 300.0, -2.0, 97.5), Band("long", 93.0, 94.0, 100.0, -6.0, 93.5))
    assert detect_bands(p, BandConfig(hot_factor=0.5, merge_gap_pct=0.0, min_share=0.2501)) == bands[:1]


def test_detect_bands_when_side_total_below_one_then_still_banded():
    # notional is in quote currency: half a unit is little, not nothing
    p = _profile(long_bins={3: 0.5}, short_bins={15: 0.25})
    bands = detect_bands(p, BandConfig(hot_factor=1.0, merge_gap_pct=0.0, min_share=0.0))
    assert bands == (Band("long", 93.0, 94.0, 0.5, -6.0, 93.5), Band("short", 105.0, 106.0, 0.25, 5.0, 105.5))


@pytest.mark.parametrize(
    "long_bins",
    [
        {},  # no long notional at all
        {2: 100, 3: 100},  # long notional, but no bin reaches 1.5 × the mean
    ],
)
def test_detect_bands_when_long_side_has_no_band_then_short_side_still_searched(long_bins):
    p = _profile(long_bins=long_bins, short_bins={15: 300, 17: 10})  # short mean 155: 300 is hot, 10 is not
    assert detect_bands(p, BandConfig()) == (Band("short", 105.0, 106.0, 300.0, 5.0, 105.5),)


def test_detect_bands_when_profile_empty_then_no_band():
    assert detect_bands(_profile(), BandConfig(hot_factor=1.0, min_share=0.0)) == ()


# -- position_proximity -----------------------------------------------------------------------------------

# long bands 93–94 (300) and 99–100 (500), hot at 0.5 × 300; 92–93 (100) is not hot; short: 200 in 105–106
PROFILE = _profile(long_bins={2: 100, 3: 300, 9: 500}, short_bins={15: 200})
BANDS = detect_bands(PROFILE, BandConfig(hot_factor=0.5, merge_gap_pct=0.0, min_share=0.05))


def test_position_proximity_when_no_band_on_own_side_then_nearest_and_distance_none():
    only_long = [b for b in BANDS if b.side == "long"]
    prox = position_proximity(PROFILE, only_long, side="short", liquidation_price=105.5)
    assert prox.side == "short"
    assert prox.nearest_band is None and prox.distance_pct is None
    assert prox.notional_to_liquidation == pytest.approx(100.0)  # half of the 105–106 short bin (200)


@pytest.mark.parametrize("liq", [math.inf, -math.inf, math.nan, 0.0, -5.0])
def test_position_proximity_when_liquidation_price_not_a_price_then_nothing_in_the_way(liq):
    prox = position_proximity(PROFILE, BANDS, side="long", liquidation_price=liq)
    assert prox.side == "long"
    assert prox.notional_to_liquidation is None
    assert prox.liquidation_band is None and not prox.liquidation_in_band
    assert prox.distance_pct == -0.0  # the nearest band is still reported: 99–100 touches mark


def test_position_proximity_when_liquidation_price_below_one_then_everything_below_mark_counts():
    # a price of 0.5 is a price (a small-cap coin): all long notional between it and mark 100 is in the way
    prox = position_proximity(PROFILE, BANDS, side="long", liquidation_price=0.5)
    assert prox.notional_to_liquidation == pytest.approx(900.0)
    assert prox.liquidation_band is None


def test_position_proximity_when_stop_on_band_edge_then_in_band():
    prox = position_proximity(PROFILE, BANDS, side="long", liquidation_price=None, stop_prices=(94.0, 93.0, 95.0))
    assert [b is not None for _, b in prox.stop_bands] == [True, True, False]
    assert prox.any_stop_in_band


# -- BandsReport ------------------------------------------------------------------------------------------


def _frames(bars: int = 720):
    market = simulate_market(seed=2, bars=bars)
    h = market.history
    idx = pd.DatetimeIndex(h.times)
    ohlcv = pd.DataFrame(
        {"high": h.high, "low": h.low, "close": h.close, "volume": h.volume, "taker_buy_volume": h.taker_buy_volume},
        index=idx,
    )
    oi = pd.Series(h.open_interest, index=idx)
    extras = {
        "funding_rate": pd.Series(np.full(bars, 0.0003), index=idx),  # off the floor: a vote on every bar
        "long_short_ratio": pd.Series(h.long_short_ratio, index=idx),
        "mark": pd.DataFrame({"high": h.high, "low": h.low, "close": h.close}, index=idx),
    }
    return ohlcv, oi, extras, float(h.close[-1])


@pytest.fixture(scope="module")
def frames():
    return _frames()


@pytest.fixture(scope="module")
def plain(frames):
    ohlcv, oi, _, mark = frames
    return estimate_bands(
        ohlcv, oi, symbol="BTC/USDT:USDT", mark_price=mark, tiers=binance_like_venue().tiers, inverse=False,
        contract_size=1.0, tier_source="simulator brackets",
    )


def test_bands_report_json_when_ok_then_mark_and_granularity_keys(plain, frames):
    out = plain.to_json()
    assert out["mark_price"] == frames[3] and out["data_granularity"] is None
    assert out["status"] == "ok"


def test_side_split_when_no_profile_then_none(plain):
    assert plain.estimate.sides is not None
    assert dataclasses.replace(plain, profile=None).side_split() is None


def test_side_split_when_profile_empty_or_small_then_share_none_or_exact(plain):
    empty = dataclasses.replace(plain, profile=_profile())
    assert empty.side_split()["long_share"] is None
    # 0.25 long against 0.5 short: a third, rounded to four places; a total below 1 is still a total
    small = dataclasses.replace(plain, profile=_profile(long_bins={3: 0.25}, short_bins={15: 0.5}))
    assert small.side_split()["long_share"] == 0.3333


def _two_tables() -> TierTable:
    first = [MarginTier(0.0, math.inf, 0.004)]
    second = [MarginTier(0.0, math.inf, 0.02)]
    return TierTable.from_tiers([first, second])


def test_estimate_bands_when_every_option_given_then_each_reaches_the_estimate(frames):
    ohlcv, oi, extras, mark = frames
    report = estimate_bands(
        ohlcv, oi, symbol="BTC/USD:BTC", mark_price=mark, tiers=_two_tables(), inverse=True, contract_size=1.0,
        tier_source="two tables", table=1, mmr_add=0.005,
        config=EstimatorConfig(leverages=(10.0,), weights=(1.0,)), band_config=BandConfig(top_n=1), **extras,
    )
    out = report.to_json()
    assert out["symbol"] == "BTC/USD:BTC" and out["mark_price"] == mark and out["status"] == "ok"
    a = out["assumptions"]
    assert a["leverages"] == [10.0] and a["trigger"] == "mark high/low"
    # inverse, table 1 (mmr 0.02) plus 0.005: long P = (1 + mmr)/(1 + 1/L), short P = (1 − mmr)/(1 − 1/L)
    long_, short = round((1.025 / 1.1 - 1) * 100, 4), round((0.975 / 0.9 - 1) * 100, 4)
    assert a["liquidation_distance_pct"]["10x"] == [long_, short] == [-6.8182, 8.3333]
    assert a["tilt_bars"]["funding"] > 0 and a["tilt_bars"]["long/short ratio"] > 0
    assert [b.side for b in report.bands].count("long") <= 1 and [b.side for b in report.bands].count("short") <= 1


def test_estimate_bands_when_defaults_then_more_than_one_band_per_side(plain):
    # the top_n=1 case above is only a test if the default finds more than one band a side here
    sides = [b.side for b in plain.bands]
    assert sides.count("long") > 1 and sides.count("short") > 1
    a = plain.assumptions.to_json()
    assert a["trigger"] == "last-price high/low as a mark proxy"
    assert a["tilt_bars"]["funding"] == 0 and a["tilt_bars"]["long/short ratio"] == 0
    # linear, mmr 0.004: long P = (1 − 1/L)/(1 − mmr)
    assert a["liquidation_distance_pct"]["10x"][0] == round((0.9 / 0.996 - 1) * 100, 4)


def test_estimate_bands_when_unknown_then_symbol_and_mark_kept(frames):
    ohlcv, _, _, _ = frames
    out = estimate_bands(
        ohlcv, None, symbol="ETH/USDT:USDT", mark_price=2_500.0, tiers=binance_like_venue().tiers, inverse=False,
        contract_size=1.0, tier_source="x",
    ).to_json()
    assert out["status"] == "unknown" and out["symbol"] == "ETH/USDT:USDT" and out["mark_price"] == 2_500.0
