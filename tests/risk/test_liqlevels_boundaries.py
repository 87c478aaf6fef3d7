"""Boundaries of the liquidation-level estimator's input side: venue frames aligned onto the candles, the
leverage prior read from the command line, and the assumptions as they are written out.  Every expected value
is worked by hand from the inputs written here."""

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_liqlevels import FLAT, TAKER_ONLY, TEN_X, history

from riskguard.model.market import MarginTier
from riskguard.risk.liqlevels import (
    DECAY_RULE,
    EstimatorConfig,
    MarketDataShapeError,
    MarketHistory,
    VenueTerms,
    _first_at_or_below,
    estimate_levels,
    leverage_cap,
    liquidation_ratios,
    parse_leverage_prior,
)
from riskguard.risk.side_attribution import AttributionConfig
from riskguard.risk.tiers import TierTable

# -- MarketHistory.from_frames -------------------------------------------------------------------------------

# venues return UTC-aware bar open times; the history keeps them as naive UTC nanoseconds
IDX = pd.date_range("2024-01-01", periods=4, freq="min", tz="UTC")
OHLCV = pd.DataFrame(
    {
        "high": [101.0, 102.0, 103.0, 104.0], "low": [99.0, 100.0, 101.0, 102.0],
        "close": [100.0, 101.0, 102.0, 103.0], "volume": [10.0, 10.0, 10.0, 10.0],
        "vwap": [100.5, 101.5, 102.5, 103.5],
        "taker_buy_volume": [6.0, 4.0, 7.0, 5.0], "taker_sell_volume": [3.0, 5.0, 2.0, 4.0],
    },
    index=IDX,
)


def raised(call, *args, **kwargs) -> str:
    with pytest.raises(MarketDataShapeError) as info:
        call(*args, **kwargs)
    return str(info.value)


def test_from_frames_when_every_series_given_then_each_aligned_onto_the_candles():
    oi = pd.DataFrame({"oi": [100.0, 101.0, 102.0, 103.0]}, index=IDX)  # a one-column frame is read as a series
    # funding published every other bar, handed over newest first: held until the next publication
    funding = pd.Series([0.0003, 0.0001], index=IDX[[2, 0]], name="funding")
    # the ratio is first published half-way through bar 0: bar 0 has none yet, bars 1-3 hold the last reading
    ratio = pd.Series([1.2, 0.8], index=[IDX[0] + pd.Timedelta(seconds=30), IDX[2]])
    # the mark frame starts a bar earlier and comes newest first: it is aligned by time, not by position
    mark = pd.DataFrame(
        {"high": [90.0, 100.6, 101.6, 102.6, 103.6], "low": [80.0, 98.6, 99.6, 100.6, 101.6],
         "close": [85.0, 99.6, 100.6, 101.6, 102.6]},
        index=pd.DatetimeIndex([IDX[0] - pd.Timedelta(minutes=1), *IDX]),
    ).iloc[::-1]
    h = MarketHistory.from_frames(OHLCV, oi, funding_rate=funding, long_short_ratio=ratio, mark=mark)
    expected_times = np.array(["2024-01-01T00:00", "2024-01-01T00:01", "2024-01-01T00:02", "2024-01-01T00:03"],
                              dtype="datetime64[ns]")
    np.testing.assert_array_equal(h.times, expected_times)
    np.testing.assert_array_equal(h.high, [101, 102, 103, 104])
    np.testing.assert_array_equal(h.low, [99, 100, 101, 102])
    np.testing.assert_array_equal(h.close, [100, 101, 102, 103])
    np.testing.assert_array_equal(h.volume, [10, 10, 10, 10])
    np.testing.assert_array_equal(h.vwap, [100.5, 101.5, 102.5, 103.5])
    np.testing.assert_array_equal(h.taker_buy_volume, [6, 4, 7, 5])
    np.testing.assert_array_equal(h.taker_sell_volume, [3, 5, 2, 4])  # given: not volume − buy
    np.testing.assert_array_equal(h.open_interest, [100, 101, 102, 103])
    np.testing.assert_array_equal(h.funding_rate, [0.0001, 0.0001, 0.0003, 0.0003])
    np.testing.assert_array_equal(h.long_short_ratio, [np.nan, 1.2, 0.8, 0.8])
    np.testing.assert_array_equal(h.mark_high, [100.6, 101.6, 102.6, 103.6])
    np.testing.assert_array_equal(h.mark_low, [98.6, 99.6, 100.6, 101.6])
    np.testing.assert_array_equal(h.mark_close, [99.6, 100.6, 101.6, 102.6])


def test_from_frames_when_only_taker_buy_given_then_sell_is_the_rest_of_the_volume():
    h = MarketHistory.from_frames(OHLCV.drop(columns=["taker_sell_volume", "vwap"]), None)
    np.testing.assert_array_equal(h.taker_sell_volume, [4, 6, 3, 5])  # 10 − (6, 4, 7, 5)
    assert h.vwap is None and h.funding_rate is None and h.long_short_ratio is None
    assert h.mark_high is None and h.mark_low is None and h.mark_close is None


def test_from_frames_when_open_interest_starts_late_or_is_empty_then_those_bars_are_nan():
    late = pd.Series([100.0, 104.0], index=IDX[[1, 3]])
    h = MarketHistory.from_frames(OHLCV, late)
    np.testing.assert_array_equal(h.open_interest, [np.nan, 100.0, 102.0, 104.0])
    empty = MarketHistory.from_frames(OHLCV, pd.Series([np.nan, np.nan], index=IDX[[0, 1]]))
    assert empty.open_interest.shape == (4,) and np.isnan(empty.open_interest).all()


def test_from_frames_when_frames_malformed_then_each_named_in_the_error():
    plain = OHLCV.reset_index(drop=True)
    assert raised(MarketHistory.from_frames, plain, None) == "ohlcv needs a DatetimeIndex of bar open times"
    two = pd.DataFrame({"a": [1.0] * 4, "b": [2.0] * 4}, index=IDX)
    assert raised(MarketHistory.from_frames, OHLCV, two) == (
        "open_interest frame must have exactly one column, got ['a', 'b']")
    assert raised(MarketHistory.from_frames, OHLCV, pd.Series([1.0] * 4)) == "open_interest needs a DatetimeIndex"
    no_close = pd.DataFrame({"high": [1.0] * 4, "low": [1.0] * 4}, index=IDX)
    assert raised(MarketHistory.from_frames, OHLCV, None, mark=no_close) == "mark needs columns high, low, close"
    named = pd.Series([0.0001] * 4, name="funding")
    assert raised(MarketHistory.from_frames, OHLCV, None, funding_rate=named) == "funding needs a DatetimeIndex"
    assert raised(MarketHistory.from_frames, OHLCV, None, long_short_ratio=pd.Series([1.0] * 4)) == (
        "series needs a DatetimeIndex")


# -- parse_leverage_prior ------------------------------------------------------------------------------------


def test_parse_leverage_prior_when_valid_then_sorted_by_leverage_with_weights_in_fractions():
    config = parse_leverage_prior("10:50,5:30,20:20")
    assert config.leverages == (5.0, 10.0, 20.0)
    assert config.weights == pytest.approx((0.3, 0.5, 0.2), rel=1e-15)
    # the documented default written out gives the default prior
    default = parse_leverage_prior("5:15,10:25,20:25,25:15,50:12,100:8")
    assert default.leverages == EstimatorConfig().leverages
    assert default.weights == pytest.approx(EstimatorConfig().weights, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5:50, x:50", "leverage prior item 'x:50' is not LEVERAGE:PERCENT, e.g. 20:25"),
        ("5:50,10", "leverage prior item '10' is not LEVERAGE:PERCENT, e.g. 20:25"),
        ("5:20,10:30", "leverage prior percentages sum to 50, need 100"),
        ("5:50,10:49.5", "leverage prior percentages sum to 99.5, need 100"),  # a typo is named, not refused later
        ("5:50,5:50", "leverage prior lists a leverage twice"),
        ("5:50.000002,10:50", "leverage prior percentages sum to 100.000002, need 100"),  # beyond the rounding
    ],
)
def test_parse_leverage_prior_when_malformed_then_names_the_problem(text, message):
    with pytest.raises(ValueError) as info:
        parse_leverage_prior(text)
    assert str(info.value) == message


def test_parse_leverage_prior_when_rounded_within_the_tolerance_then_weights_sum_to_one_exactly():
    # six leverages at 16.6666667 % sum to 100.0000002: accepted, and divided by that sum (not by 100, which
    # left the weights 2e-9 over 1 and EstimatorConfig refused them as "weights must sum to 1")
    config = parse_leverage_prior(",".join(f"{lev}:16.6666667" for lev in (2, 3, 4, 5, 6, 7)))
    assert config.weights == pytest.approx((1 / 6,) * 6, abs=1e-15)
    assert math.fsum(config.weights) == pytest.approx(1.0, abs=1e-15)
    near_edge = parse_leverage_prior("5:50.0000009,10:50")  # 9e-7 off: accepted
    assert near_edge.weights == (50.0000009 / 100.0000009, 50 / 100.0000009)


# -- Assumptions.to_json -------------------------------------------------------------------------------------


def test_assumptions_to_json_when_written_then_every_assumption_in_plain_json():
    # the 10x prior on a flat 0.5 % tier: long (0.1 − 1)/(0.005 − 1) − 1 = −9.5477 %, short 1.1/1.005 − 1 = 9.4527 %
    h = history(high=[100, 100, 100], low=[100, 100, 100], oi=[100, 110, 110], buy=[5, 7.5, 5], sell=[5, 2.5, 5])
    out = estimate_levels(h, FLAT, TEN_X).assumptions.to_json()
    assert out.pop("bin_width") == pytest.approx(0.1, rel=1e-12)  # 0.1 % of the mark, 100
    assert out == {
        "leverages": [10.0],
        "weights": [1.0],
        "representative_notional": 10_000.0,
        "liquidation_distance_pct": {"10x": [-9.5477, 9.4527]},
        "leverage_cap": None,
        "tilt_rule": "per bar, log-odds votes summed over the sources present: OI vs price, taker flow, "
                     "long/short ratio, funding; funding votes only off its floor +0.0100%",
        "tilt_bars": {"OI vs price": 0, "taker flow": 1, "long/short ratio": 0, "funding": 0},
        "entry_price": "typical price (H+L+C)/3",
        "trigger": "last-price high/low as a mark proxy",
        "decay_rule": DECAY_RULE,
        "tier_table_source": "flat 0.5%",
        "unattributed": "open interest that existed before the first bar (entries unknown)",
    }
    assert json.loads(json.dumps(out)) == out  # lists, not tuples: nothing a JSON round trip would change


# -- configuration and venue terms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"leverages": (), "weights": ()}, "leverages and weights must be non-empty and of equal length"),
        ({"leverages": (5.0, 10.0), "weights": (1.0,)}, "leverages and weights must be non-empty and of equal length"),
        ({"leverages": (0.0,), "weights": (1.0,)}, "leverages must be finite and > 0, got (0.0,)"),
        ({"leverages": (float("inf"),), "weights": (1.0,)}, "leverages must be finite and > 0, got (inf,)"),
        ({"leverages": (float("nan"),), "weights": (1.0,)}, "leverages must be finite and > 0, got (nan,)"),
        ({"leverages": (5.0, 10.0), "weights": (1.1, -0.1)}, "weights must be >= 0 and sum to 1, got (1.1, -0.1)"),
        ({"leverages": (5.0, 10.0), "weights": (0.5, 0.4)}, "weights must be >= 0 and sum to 1, got (0.5, 0.4)"),
        ({"representative_notional": 0.0}, "representative_notional must be > 0"),
        ({"bin_width_pct": 0.0}, "bin_width_pct must be in (0, 100)"),
        ({"bin_width_pct": 100.0}, "bin_width_pct must be in (0, 100)"),
        ({"max_bins": 1}, "max_bins must be >= 2 and max_time_columns >= 1"),
        ({"max_time_columns": 0}, "max_bins must be >= 2 and max_time_columns >= 1"),
        ({"mean_holding_hours": 0.0}, "mean_holding_hours must be finite and > 0, or None"),
    ],
)
def test_estimator_config_when_out_of_range_then_refused_with_the_rule(kwargs, message):
    with pytest.raises(ValueError) as info:
        EstimatorConfig(**kwargs)
    assert str(info.value) == message


def test_estimator_config_when_at_the_edges_then_accepted():
    # one leverage at full weight, a zero weight, a sum off 1 by rounding only, the smallest grid
    tiny = EstimatorConfig(leverages=(1e-9,), weights=(1.0,), representative_notional=1e-9, bin_width_pct=99.9)
    off = EstimatorConfig(leverages=(5.0, 10.0, 20.0), weights=(0.1, 0.2, 0.7 + 1e-12), max_bins=2, max_time_columns=1)
    zero = EstimatorConfig(leverages=(5.0, 10.0), weights=(0.0, 1.0), mean_holding_hours=1e-9)
    assert (tiny.leverages, tiny.bin_width_pct, tiny.representative_notional) == ((1e-9,), 99.9, 1e-9)
    assert (off.weights, off.max_bins, off.max_time_columns) == ((0.1, 0.2, 0.7 + 1e-12), 2, 1)
    assert (zero.weights, zero.mean_holding_hours) == ((0.0, 1.0), 1e-9)


def test_capped_when_the_cap_falls_inside_the_prior_then_the_weight_above_moves_to_the_cap():
    prior = EstimatorConfig()  # 5/10/20/25/50/100x at 15/25/25/15/12/8 %
    assert prior.capped(100.0) is prior  # the cap is the top leverage: nothing above it
    at_25 = prior.capped(25.0)  # joins the 25x already there: 15 + 12 + 8 %
    assert at_25.leverages == (5.0, 10.0, 20.0, 25.0)
    assert at_25.weights == pytest.approx((0.15, 0.25, 0.25, 0.35), rel=1e-12)
    at_30 = prior.capped(30.0)  # a new bucket at the cap
    assert at_30.leverages == (5.0, 10.0, 20.0, 25.0, 30.0)
    assert at_30.weights == pytest.approx((0.15, 0.25, 0.25, 0.15, 0.20), rel=1e-12)
    assert at_30.representative_notional == prior.representative_notional  # only the prior changes


def test_leverage_cap_when_notional_on_a_tier_floor_then_that_tier_decides():
    tiers = (MarginTier(0.0, 50e3, 0.01, 0.0, 20.0), MarginTier(50e3, 250e3, 0.025, 750.0, 10.0))
    assert leverage_cap(tiers, 0.0) == 20.0
    assert leverage_cap(tiers, 50e3) == 10.0  # brackets are [floor, cap)
    assert leverage_cap(tiers, 250e3) is None  # past the last published bracket
    assert leverage_cap((), 1.0) is None


@pytest.mark.parametrize("size", [0.0, -1.0, float("nan"), float("inf")])
def test_venue_terms_when_contract_size_not_positive_and_finite_then_refused(size):
    with pytest.raises(ValueError) as info:
        VenueTerms(TierTable.flat(0.005), inverse=False, contract_size=size, source="t")
    assert str(info.value) == "contract_size must be > 0"


# -- entry prices of coarse bars -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "vwap", "entries"),
    [
        # one point per bar is the VWAP itself, not the triangle's median (97.75 for 90-95-110)
        (1, 95.0, [95.0]),
        # two points: quantiles 1/4 and 3/4 of the triangle 90-100-110
        (2, 100.0, [90 + np.sqrt(50), 110 - np.sqrt(50)]),
        # a VWAP outside the bar's range is taken at the nearer end: a right triangle on [90, 110]
        (3, 85.0, [110 - 20 * np.sqrt(5 / 6), 110 - 20 * np.sqrt(1 / 2), 110 - 20 * np.sqrt(1 / 6)]),
        (3, 115.0, [90 + 20 * np.sqrt(1 / 6), 90 + 20 * np.sqrt(1 / 2), 90 + 20 * np.sqrt(5 / 6)]),
    ],
)
def test_estimate_levels_when_hourly_entry_points_vary_then_quantiles_of_the_clipped_triangle(points, vwap, entries):
    hour = 3_600_000
    h = MarketHistory(times=np.arange(3) * hour, high=[101.0, 110.0, 101.0], low=[99.0, 90.0, 99.0],
                      close=[100.0, 100.0, 100.0], volume=[10.0, 10.0, 10.0], open_interest=[100.0, 130.0, 130.0],
                      vwap=[100.0, vwap, 100.0])
    config = EstimatorConfig(leverages=(10.0,), weights=(1.0,), coarse_entry_points=points,
                             attribution=AttributionConfig(price_weight=0.0), mean_holding_hours=None)
    est = estimate_levels(h, FLAT, config)
    # 30 units opened at the VWAP, half of them long (no side evidence): 15·VWAP quote over the entry points
    long_levels = np.asarray(entries) * (1 - 0.1) / (1 - 0.005)
    edges = est.profile.price_edges
    bins = np.searchsorted(edges, long_levels) - 1
    np.testing.assert_allclose(est.profile.long_notional[bins], 15 * vwap / points, rtol=1e-12)
    assert est.profile.long_notional.sum() == pytest.approx(15 * vwap, rel=1e-12)


def test_estimate_levels_when_hourly_and_two_leverages_then_each_entry_point_carries_each_weight():
    # the triangle 90-100-110 at quantiles 1/6, 1/2, 5/6; 1 500 long split 60 / 40 % over 10x and 20x, a third
    # of each at every entry point (the last bar's low, 99.6, stays above the highest level, 20x at 99.52)
    hour = 3_600_000
    h = MarketHistory(times=np.arange(3) * hour, high=[101.0, 110.0, 100.4], low=[99.0, 90.0, 99.6],
                      close=[100.0, 100.0, 100.0], volume=[10.0, 10.0, 10.0], open_interest=[100.0, 130.0, 130.0],
                      vwap=[100.0, 100.0, 100.0])
    config = EstimatorConfig(leverages=(10.0, 20.0), weights=(0.6, 0.4),
                             attribution=AttributionConfig(price_weight=0.0), mean_holding_hours=None)
    est = estimate_levels(h, FLAT, config)
    entries = np.array([90 + np.sqrt(200 / 6), 100.0, 110 - np.sqrt(200 / 6)])
    edges = est.profile.price_edges
    for lev, weight in ((10.0, 0.6), (20.0, 0.4)):
        bins = np.searchsorted(edges, entries * (1 - 1 / lev) / (1 - 0.005)) - 1
        np.testing.assert_allclose(est.profile.long_notional[bins], 1_500 * weight / 3, rtol=1e-12)


# -- what a crossed level leaves behind ----------------------------------------------------------------------


@pytest.mark.parametrize("holding", [None, 1.0])
def test_estimate_levels_when_notional_is_btc_sized_then_crossed_levels_leave_exact_zeros(holding):
    """A level's entry and its removal cancel to rounding error, which grows with the notional: at BTC scale
    (10^9 quote) it is ~10^-8, and it must neither read as a level nor print as −0."""
    rng = np.random.default_rng(1)
    for _ in range(30):
        n = int(rng.integers(3, 12))
        close = 50_000 * np.exp(np.cumsum(rng.uniform(-0.06, 0.06, n)))
        wiggle = rng.uniform(0, 0.02, n)
        oi = 1e6 + np.cumsum(rng.uniform(-3e4, 3e4, n))
        buy = rng.uniform(0.1, 0.9, n)
        h = history(high=close * (1 + wiggle), low=close * (1 - wiggle), close=close, oi=oi,
                    buy=10 * buy, sell=10 * (1 - buy))
        config = EstimatorConfig(max_time_columns=int(rng.integers(1, 8)), mean_holding_hours=holding)
        est = estimate_levels(h, FLAT, config)
        if est.status != "ok":
            continue
        cells = np.concatenate([est.heatmap.long_density, est.heatmap.short_density])
        assert not np.signbit(cells).any()
        # the smallest real slice here is far above 10^-9 of the largest cell; remnants are ~10^-17 of it
        occupied = cells[cells != 0.0]
        assert occupied.min() >= 1e-9 * cells.max()


# -- data problems -------------------------------------------------------------------------------------------


def test_estimate_levels_when_two_bars_then_enough_and_one_bar_is_not():
    # bar 1 opens 1 unit at 100 (typical price of 101/99/100), no side evidence: 50 long, 50 short
    two = estimate_levels(history(high=[101, 101], low=[99, 99], oi=[10, 11]), FLAT, TEN_X)
    assert two.status == "ok" and two.attributed_notional == pytest.approx(100.0)
    one = estimate_levels(history(high=[101], low=[99], oi=[10]), FLAT, TEN_X)
    assert (one.status, one.reason) == ("unknown", "need at least 2 bars, got 1")


@pytest.mark.parametrize("name", ["high", "low", "volume", "mark_high", "mark_close"])
def test_estimate_levels_when_a_series_has_nan_or_inf_then_that_series_named(name):
    series = {"high": [101.0, 102.0, 103.0], "low": [99.0, 100.0, 101.0], "volume": [10.0, 10.0, 10.0],
              "mark_high": [101.0, 102.0, 103.0], "mark_low": [99.0, 100.0, 101.0], "mark_close": [100.0, 101.0, 102.0]}
    series[name][1:] = [np.inf, np.nan]
    marks = {k: np.asarray(v) for k, v in series.items() if k.startswith("mark")}
    h = history(high=series["high"], low=series["low"], volume=series["volume"], oi=[10, 11, 12], **marks)
    assert estimate_levels(h, FLAT).reason == f"{name} is NaN/inf at 1970-01-01T00:01:00 (2 bars)"


# -- what the estimator reads from the history and the venue -------------------------------------------------


def test_estimate_levels_when_contracts_are_fractions_of_a_unit_then_scaled_before_anything_else():
    # 500 contracts of 0.001 BTC: half a unit opened at the typical price 100
    venue = VenueTerms(TierTable.flat(0.005), inverse=False, contract_size=0.001, source="t")
    est = estimate_levels(history(high=[101, 101], low=[99, 99], oi=[10_000, 10_500]), venue, TEN_X)
    assert est.status == "ok" and est.attributed_notional == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("price", "vwap", "volume", "entry"),
    [
        (100.0, 100.5, 10.0, 100.5),  # a traded bar enters at its VWAP
        (100.0, 100.5, 0.5, 100.5),  # however little traded
        (0.5, 0.505, 10.0, 0.505),  # on a coin below 1 too
        (100.0, np.nan, 10.0, 100.0),  # no VWAP: the typical price (H+L+C)/3
        (100.0, 0.0, 10.0, 100.0),
        (100.0, -1.0, 10.0, 100.0),
    ],
)
def test_estimate_levels_when_vwap_given_then_entry_is_the_vwap_where_usable(price, vwap, volume, entry):
    h = history(high=[1.01 * price] * 2, low=[0.99 * price] * 2, close=[price] * 2, volume=[10.0, volume],
                oi=[100, 110], vwap=np.array([price, vwap]))
    est = estimate_levels(h, FLAT, TEN_X)
    assert est.attributed_notional == pytest.approx(10 * entry, rel=1e-12)
    assert est.assumptions.entry_price == "bar VWAP (typical price where VWAP missing)"
    assert estimate_levels(replace(h, vwap=None), FLAT, TEN_X).assumptions.entry_price == "typical price (H+L+C)/3"


def test_estimate_levels_when_a_bar_did_not_trade_then_its_vwap_is_not_an_entry():
    # held an hour on average: OI 120 closes 2 units a minute, so 2 open on bar 1 at flat OI and 6 + 2 on bar 2;
    # bar 1 traded nothing, so its VWAP (120) is no price anyone entered at: both bars enter at 100
    h = history(high=[101] * 3, low=[99] * 3, close=[100] * 3, volume=[10, 0, 10], oi=[120, 120, 126],
                vwap=np.array([100.0, 120.0, np.nan]))
    config = EstimatorConfig(leverages=(10.0,), weights=(1.0,), attribution=TAKER_ONLY, mean_holding_hours=1.0)
    assert estimate_levels(h, FLAT, config).attributed_notional == pytest.approx(1_000.0)


def test_estimate_levels_when_mark_given_then_mark_triggers_and_prices_the_grid():
    # the first exact-number case with a last-price wick to 90 / 110 in bar 3 that the mark (95 / 105) does not
    # follow: neither 10x level (90.45, 109.45) is reached, and the grid is built around the mark close 97
    marks = {"mark_high": np.array([100, 100, 100, 105.0]), "mark_low": np.array([100, 100, 100, 95.0]),
             "mark_close": np.array([100, 100, 100, 97.0])}
    h = history(high=[100, 100, 100, 110], low=[100, 100, 100, 90], close=[100, 100, 100, 95],
                oi=[100, 110, 99, 99], buy=[5, 7.5, 5, 5], sell=[5, 2.5, 5, 5], **marks)
    est = estimate_levels(h, FLAT, TEN_X)
    assert est.profile.long_notional.sum() == pytest.approx(675.0)
    assert est.profile.short_notional.sum() == pytest.approx(225.0)
    assert est.profile.mark_price == 97.0
    assert est.assumptions.bin_width == pytest.approx(0.097, rel=1e-12)
    assert est.assumptions.trigger == "mark high/low"
    unmarked = estimate_levels(replace(h, mark_high=None, mark_low=None, mark_close=None), FLAT, TEN_X)
    assert unmarked.assumptions.trigger == "last-price high/low as a mark proxy"
    assert unmarked.profile.long_notional.sum() == 0.0 and unmarked.profile.short_notional.sum() == 0.0


@pytest.mark.parametrize(("inverse", "long_share", "attributed"), [(False, 1_250 / 3_000, 3_000.0), (True, 0.5, 20.0)])
def test_estimate_levels_when_bars_open_at_different_prices_then_sides_weighed_by_notional(
    inverse, long_share, attributed
):
    # 10 units open at 100 (75 % long by taker flow), then 10 at 200 (25 % long); linear notional is units ×
    # price (1 000 and 2 000), inverse notional is the contracts' face value (10 and 10)
    venue = VenueTerms(TierTable.flat(0.005), inverse=inverse, contract_size=1.0, source="t")
    h = history(high=[100, 100, 200], low=[100, 100, 200], oi=[100, 110, 120], buy=[5, 7.5, 2.5], sell=[5, 2.5, 7.5])
    est = estimate_levels(h, venue, TEN_X)
    assert est.sides.long_share == pytest.approx(long_share, abs=5e-5)  # reported to 4 decimals
    assert est.attributed_notional == pytest.approx(attributed, rel=1e-12)


def test_estimate_levels_when_a_leverage_has_no_liquidation_price_then_its_share_is_unplaced():
    # 100x on a flat 1 % tier is liquidated on entry: its 40 % of the 1 000 opened is never binned
    config = EstimatorConfig(leverages=(10.0, 100.0), weights=(0.6, 0.4), attribution=TAKER_ONLY,
                             mean_holding_hours=None)
    venue = VenueTerms(TierTable.flat(0.01), inverse=False, contract_size=1.0, source="t")
    h = history(high=[101, 101], low=[99, 99], oi=[10, 20], buy=[5, 7.5], sell=[5, 2.5])
    est = estimate_levels(h, venue, config)
    assert est.attributed_notional == pytest.approx(1_000.0)
    assert est.unplaced_notional == pytest.approx(400.0)
    assert est.profile.long_notional.sum() == pytest.approx(450.0)  # 75 % long × 60 % at 10x
    assert est.profile.short_notional.sum() == pytest.approx(150.0)


def test_estimate_levels_when_no_leverage_has_a_liquidation_price_then_unknown():
    # 100x alone on a flat 1 % tier: every position would be liquidated on entry, so nothing can be placed
    config = EstimatorConfig(leverages=(100.0,), weights=(1.0,), mean_holding_hours=None)
    venue = VenueTerms(TierTable.flat(0.01), inverse=False, contract_size=1.0, source="t")
    est = estimate_levels(history(high=[101, 101], low=[99, 99], oi=[10, 20]), venue, config)
    assert est.status == "unknown"
    assert est.reason == "no leverage in the distribution has a liquidation price on this venue"


def test_estimate_levels_when_only_one_side_has_a_liquidation_price_then_that_side_is_placed():
    # a 1x inverse short is fully collateralised (no liquidation price); the 1x long liquidates at
    # entry·(1 + mmr)/(1 + 1/lev) = 100·1.005/2 = 50.25.  10 contracts of 1 USD open, half of them short
    venue = VenueTerms(TierTable.flat(0.005), inverse=True, contract_size=1.0, source="t")
    config = EstimatorConfig(leverages=(1.0,), weights=(1.0,), mean_holding_hours=None)
    est = estimate_levels(history(high=[101, 101], low=[99, 99], oi=[100, 110]), venue, config)
    assert est.status == "ok"
    assert est.unplaced_notional == pytest.approx(5.0)
    assert est.profile.short_notional.sum() == 0.0
    occupied = np.flatnonzero(est.profile.long_notional)
    assert occupied.size == 1 and est.profile.long_notional[occupied[0]] == pytest.approx(5.0)
    assert est.profile.price_edges[occupied[0]] <= 50.25 < est.profile.price_edges[occupied[0] + 1]


def test_estimate_levels_when_a_bar_opened_nothing_then_its_price_does_not_widen_the_grid():
    # bar 0 at 200 opens nothing; bar 1 opens at 100: levels 90.45 and 109.45, 0.1 wide bins from 90.4 to 109.5
    est = estimate_levels(history(high=[200, 100], low=[200, 100], oi=[10, 11]), FLAT, TEN_X)
    edges = est.profile.price_edges
    assert edges.size == 192
    assert edges[0] == pytest.approx(90.4) and edges[-1] == pytest.approx(109.5)


def test_estimate_levels_when_close_flow_weight_is_zero_then_closes_stay_pro_rata():
    # the selling case of tests/risk/test_liqlevels.py with the flow's weight on closes set to 0: both keep 10/11
    config = replace(TEN_X, attribution=replace(TAKER_ONLY, close_flow_weight=0.0))
    h = history(high=[100] * 3, low=[100] * 3, oi=[100, 110, 100], buy=[5, 7.5, 2], sell=[5, 2.5, 12])
    est = estimate_levels(h, FLAT, config)
    assert est.profile.long_notional.sum() == pytest.approx(750 * 100 / 110)
    assert est.profile.short_notional.sum() == pytest.approx(250 * 100 / 110)


def test_estimate_levels_when_bars_are_hourly_then_the_ratio_window_counts_hours():
    # the long/short ratio case of tests/risk/test_liqlevels.py on hourly bars: the default window (an hour) is
    # one bar, so each bar's vote reads that bar's change of the ratio
    hour = 3_600_000
    close = np.array([100.0, 101.0, 100.0, 100.0, 102.0])
    h = MarketHistory(times=np.arange(5) * hour, high=close + 1, low=close - 1, close=close, volume=np.full(5, 10.0),
                      open_interest=[100.0, 110.0, 120.0, 130.0, 140.0],
                      long_short_ratio=np.array([1.0, 1.0, 1.5, 1.5, 1.0]))
    config = EstimatorConfig(attribution=AttributionConfig(price_weight=0.0), mean_holding_hours=None)
    est = estimate_levels(h, FLAT, config)
    np.testing.assert_allclose(est.sides.share[1:], [0.5, 1 / (1 + np.exp(-3.0)), 0.6, 1 / (1 + np.exp(3.0))])


# -- the grid --------------------------------------------------------------------------------------------------

# one bar opening 10 units at 100: the 10x levels span 100·0.9/0.995 = 90.4523 .. 100·1.1/1.005 = 109.4527,
# 190.005 bins of the default 0.1 % of the mark
SPAN_H = history(high=[101, 101], low=[99, 99], oi=[10, 20])
SPAN = 100 * 1.1 / 1.005 - 100 * 0.9 / 0.995


def test_estimate_levels_when_the_span_needs_more_bins_than_allowed_then_bins_widen_to_fit():
    at_191 = estimate_levels(SPAN_H, FLAT, replace(TEN_X, max_bins=191))  # 190.005 bins > 190: widened
    assert at_191.assumptions.bin_width == pytest.approx(SPAN / 190, rel=1e-12)
    assert at_191.profile.price_edges.size - 1 <= 191
    at_192 = estimate_levels(SPAN_H, FLAT, replace(TEN_X, max_bins=192))  # 190.005 bins fit in 191: kept
    assert at_192.assumptions.bin_width == pytest.approx(0.1, rel=1e-12)
    assert at_192.profile.price_edges.size - 1 == 191
    coarse = estimate_levels(SPAN_H, FLAT, replace(TEN_X, max_bins=11))
    assert coarse.assumptions.bin_width == pytest.approx(SPAN / 10, rel=1e-12)
    assert coarse.profile.price_edges.size - 1 <= 11
    assert coarse.profile.long_notional[0] > 0 and coarse.profile.short_notional[-1] > 0  # lowest and highest bin


@pytest.mark.parametrize(("bars", "ends"), [(10, [1, 3, 5, 7, 9]), (9, [1, 3, 5, 7, 8])])
def test_estimate_levels_when_more_bars_than_columns_then_one_column_per_group_of_bars(bars, ends):
    h = history(high=[101] * bars, low=[99] * bars, oi=10 + np.arange(bars))
    est = estimate_levels(h, FLAT, replace(TEN_X, max_time_columns=5))
    np.testing.assert_array_equal(est.heatmap.times, h.times[ends])  # each column ends at its last bar
    assert est.heatmap.long_density.shape[0] == 5 and est.heatmap.short_density.shape[0] == 5



def test_liquidation_ratios_when_the_venue_adds_to_the_mmr_then_the_sum_is_the_rate():
    # a flat 0.5 % tier plus 0.5 % on top is a 1 % maintenance rate: 10x long (1 − 0.1)/(1 − 0.01), short 1.1/1.01
    venue = VenueTerms(TierTable.flat(0.005), inverse=False, contract_size=1.0, source="t", mmr_add=0.005)
    ratios = liquidation_ratios(venue, EstimatorConfig(leverages=(10.0,), weights=(1.0,)), reference_price=100.0)
    np.testing.assert_allclose(ratios[:, 0], [0.9 / 0.99, 1.1 / 1.01], rtol=1e-12)


# -- MarketHistory -------------------------------------------------------------------------------------------


def test_market_history_when_series_are_lists_with_gaps_then_float_arrays_with_nan():
    # a JSON null in an optional series is a missing value, and integer prices are prices
    h = MarketHistory(times=np.arange(3), high=[2, 2, 2], low=[1, 1, 1], close=[1, 2, 1], volume=[1, 1, 1],
                      open_interest=None, vwap=[1.5, None, 1.5])
    assert h.high.dtype == np.float64 and h.vwap.dtype == np.float64
    np.testing.assert_array_equal(h.vwap, [1.5, np.nan, 1.5])
    # a series after a missing one is still checked
    short_vwap = dict(times=np.arange(3), high=[1, 1, 1], low=[1, 1, 1], close=[1, 1, 1], volume=[1, 1, 1],
                      open_interest=None, vwap=[1.0, 1.0])
    assert raised(MarketHistory, **short_vwap) == "vwap has shape (2,), expected (3,) like times"


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (np.array([0.0, 60_000.0]), "times must be a 1-D datetime64 or epoch-millisecond array"),
        (np.array([[0, 60_000]], dtype="datetime64[ms]"), "times must be a 1-D datetime64 or epoch-millisecond array"),
        (np.array([60_000, 0]), "times must be strictly increasing"),
        (np.array([0, 0, 60_000]), "times must be strictly increasing"),
    ],
)
def test_market_history_when_times_malformed_then_refused_with_the_rule(times, message):
    n = times.shape[-1]
    assert raised(MarketHistory, times=times, high=[1] * n, low=[1] * n, close=[1] * n, volume=[1] * n,
                  open_interest=None) == message


def test_market_history_when_times_one_nanosecond_apart_then_increasing():
    h = MarketHistory(times=np.array([0, 1], dtype="datetime64[ns]"), high=[1, 1], low=[1, 1], close=[1, 1],
                      volume=[1, 1], open_interest=None)
    assert h.size == 2


def test_market_history_when_mark_partial_then_refused_with_the_rule():
    partial = dict(times=np.arange(2), high=[1, 1], low=[1, 1], close=[1, 1], volume=[1, 1], open_interest=None,
                   mark_high=[1, 1])
    assert raised(MarketHistory, **partial) == "mark_high, mark_low and mark_close must be given together"


# -- the death search ----------------------------------------------------------------------------------------


def test_first_at_or_below_when_every_value_is_a_new_low_then_the_longest_chain_is_climbed():
    # m, m − 1, ..., 1: from 0 the chain of record lows is the whole array, so reaching 1 takes m − 1 jumps;
    # lengths around every power of two check that the doubling table is deep enough
    for m in range(3, 40):
        values = np.arange(m, 0, -1, dtype=float)
        start = np.array([0, 0, 1, m - 1])
        level = np.array([1.0, 0.5, 2.5, 1.0])  # 2.5: first reached at the 2, index m − 2
        assert _first_at_or_below(values, start, level).tolist() == [m - 1, m, m - 2, m - 1]


def test_estimate_levels_when_a_low_is_zero_then_the_candle_is_invalid():
    est = estimate_levels(history(high=[101, 102, 103], low=[99, 0, 101], oi=[10, 11, 12]), FLAT)
    assert est.reason == "invalid candle (low <= 0 or high < low) at 1970-01-01T00:01:00"
