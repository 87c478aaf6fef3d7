import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from market_simulator import binance_like_venue

from riskguard.model.market import MarginTier
from riskguard.risk.liqlevels import (
    EstimatorConfig,
    MarketDataShapeError,
    MarketHistory,
    VenueTerms,
    estimate_levels,
    leverage_cap,
    liquidation_ratios,
)
from riskguard.risk.side_attribution import AttributionConfig, attribute_sides
from riskguard.risk.solver import solve_liquidation
from riskguard.risk.tiers import TierTable

MINUTE_MS = 60_000
FLAT = VenueTerms(TierTable.flat(0.005), inverse=False, contract_size=1.0, source="flat 0.5%")
TAKER_ONLY = AttributionConfig(price_weight=0.0, taker_weight=1.0)
# the ΔOI-only mechanics (no holding-time prior): tests/risk/test_liqlevels_turnover.py covers the prior
TEN_X = EstimatorConfig(leverages=(10.0,), weights=(1.0,), max_time_columns=10_000, attribution=TAKER_ONLY,
                        mean_holding_hours=None)


def history(high, low, oi, *, close=None, volume=None, buy=None, sell=None, **extra):
    high, low = np.asarray(high, float), np.asarray(low, float)
    n = high.size
    close = (high + low) / 2 if close is None else np.asarray(close, float)
    return MarketHistory(
        times=np.arange(n, dtype=np.int64) * MINUTE_MS,
        high=high, low=low, close=close,
        volume=np.full(n, 10.0) if volume is None else np.asarray(volume, float),
        open_interest=None if oi is None else np.asarray(oi, float),
        taker_buy_volume=None if buy is None else np.asarray(buy, float),
        taker_sell_volume=None if sell is None else np.asarray(sell, float),
        **extra,
    )


# -- exact numbers ---------------------------------------------------------------------------------------


def test_estimate_levels_when_oi_rises_then_falls_then_long_level_is_crossed():
    # bar 1: ΔOI = 10 base at typical price 100 → 1 000 quote, taker buy share 0.75 → 750 long, 250 short
    # bar 2: OI 110 → 99 shrinks both by 0.9; bar 3: low 90 reaches the 10x long level at 90.45
    h = history(
        high=[100, 100, 100, 100], low=[100, 100, 100, 90], close=[100, 100, 100, 95],
        oi=[100, 110, 99, 99], buy=[5, 7.5, 5, 5], sell=[5, 2.5, 5, 5],
    )
    est = estimate_levels(h, FLAT, TEN_X)
    assert est.status == "ok" and est.reason is None
    long_lp = 100 * (0.1 - 1) / (0.005 - 1)  # 90.4523 from the solver's closed form
    short_lp = 100 * (0.1 + 1) / (0.005 + 1)  # 109.4527
    edges = est.heatmap.price_edges
    long_bin = np.searchsorted(edges, long_lp) - 1
    short_bin = np.searchsorted(edges, short_lp) - 1
    assert est.heatmap.long_density[1, long_bin] == pytest.approx(750.0)
    assert est.heatmap.short_density[1, short_bin] == pytest.approx(250.0)
    assert est.heatmap.long_density[2, long_bin] == pytest.approx(675.0)
    assert est.heatmap.short_density[2, short_bin] == pytest.approx(225.0)
    assert est.profile.long_notional.sum() == 0.0
    assert est.profile.short_notional.sum() == pytest.approx(225.0)
    assert est.attributed_notional == pytest.approx(1_000.0)
    assert est.assumptions.liquidation_distance_pct["10x"] == pytest.approx((-9.5477, 9.4527), abs=1e-4)
    assert est.assumptions.tilt_bars == {"OI vs price": 0, "taker flow": 1, "long/short ratio": 0, "funding": 0}
    assert est.sides.long_share == pytest.approx(0.75)


def test_estimate_levels_when_oi_falls_on_selling_then_longs_lose_more():
    # bar 2: ΔOI −10 on taker flow 2 buy / 12 sell: net long (−10 + 0.5·(−10))/2 = −7.5, short −2.5 units;
    # each side holds half of OI 110, so longs keep 1 − 7.5/55, shorts 1 − 2.5/55 (pro rata: both 1 − 10/110)
    h = history(high=[100] * 3, low=[100] * 3, oi=[100, 110, 100], buy=[5, 7.5, 2], sell=[5, 2.5, 12])
    est = estimate_levels(h, FLAT, TEN_X)
    assert est.profile.long_notional.sum() == pytest.approx(750 * (1 - 7.5 / 55))
    assert est.profile.short_notional.sum() == pytest.approx(250 * (1 - 2.5 / 55))


@pytest.mark.parametrize("minutes", [5, 60])
def test_estimate_levels_when_bars_are_5_minutes_or_more_then_closes_stay_pro_rata(minutes):
    # the same bars as above at a coarser step: the flow split cost recall there (docs/bands.md), both keep 10/11
    h = history(high=[100] * 3, low=[100] * 3, oi=[100, 110, 100], buy=[5, 7.5, 2], sell=[5, 2.5, 12])
    h = MarketHistory(**{**h.__dict__, "times": np.arange(3, dtype=np.int64) * minutes * MINUTE_MS})
    est = estimate_levels(h, FLAT, TEN_X)
    assert est.profile.long_notional.sum() == pytest.approx(750 * 100 / 110)
    assert est.profile.short_notional.sum() == pytest.approx(250 * 100 / 110)


def test_estimate_levels_when_shorts_liquidated_then_their_oi_drop_is_not_counted_twice():
    # bar 1 opens 5+5 units at 100, bar 2 5+5 at 104 (shorts liquidate at ×1.0945: 109.45 and 113.83);
    # bar 3 reaches 110: the first short level (5 units) is liquidated, OI falls by those 5 on taker buying.
    # Net short flow (−5 − 0.5·5)/2 = −3.75 is more than explained by the 5 liquidated: the surviving short
    # level keeps all 520; longs lose the residual 1.25 units of 120/2 held.
    h = history(high=[100, 100, 104, 110], low=[100, 100, 104, 110], oi=[100, 110, 120, 115],
                buy=[5, 5, 5, 7.5], sell=[5, 5, 5, 2.5])
    est = estimate_levels(h, FLAT, TEN_X)
    assert est.profile.short_notional.sum() == pytest.approx(520.0)
    assert est.profile.long_notional.sum() == pytest.approx((500 + 520) * (1 - 1.25 / 60))


def test_liquidation_ratios_when_scaled_by_entry_then_match_solver_at_that_entry():
    config = EstimatorConfig(representative_notional=400_000.0)  # second/third tier on these brackets
    for inverse in (False, True):
        venue = VenueTerms(binance_like_venue().tiers, inverse=inverse, contract_size=1.0, source="t")
        ratios = liquidation_ratios(venue, config, reference_price=50_000.0)
        lev = np.tile(config.leverages, 2)
        side = np.repeat([1, -1], len(config.leverages))
        entry = np.full(lev.size, 37_000.0)
        qty = 400_000.0 / 50_000.0 * entry if inverse else np.full(lev.size, 400_000.0) / entry
        margin = qty / entry / lev if inverse else qty * entry / lev
        direct = solve_liquidation(
            inverse=np.full(lev.size, inverse), side=side, qty=qty, entry=entry, margin=margin,
            tiers=venue.tiers, table=np.zeros(lev.size, dtype=np.int64),
        ).liquidation_price
        np.testing.assert_allclose(ratios.ravel() * 37_000.0, direct, rtol=1e-12)
        assert np.all(ratios[0] < 1) and np.all(ratios[1] > 1)


def test_attribute_sides_when_each_source_alone_then_votes_as_documented():
    close = np.array([100.0, 101.0, 100.0, 100.0, 102.0])
    oi = np.array([100.0, 110.0, 120.0, 130.0, 140.0])
    new = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
    off = AttributionConfig(price_weight=0.0, taker_weight=0.0, ratio_weight=0.0, funding_weight=0.0)
    # OI vs price: returns / median |return| (0.00995, 0.01, 0, 0.0198 → median 0.00995), weight 0.6
    price = attribute_sides(close=close, oi_units=oi, new_notional=new, config=AttributionConfig())
    r = np.diff(np.log(close))
    expected = 1 / (1 + np.exp(-0.6 * np.clip(r / np.median(np.abs(r)), -3, 3)))
    np.testing.assert_allclose(price.share[1:], expected)
    assert price.share[2] < 0.5 < price.share[1]  # OI up while price falls: shorts opened
    # taker flow alone: logit of the buy share, so weight 1 returns the buy share itself
    taker = attribute_sides(close=close, oi_units=oi, new_notional=new,
                            taker_buy=np.array([1, 3, 1, 2, 9.0]), taker_sell=np.array([1, 1, 3, 2, 1.0]),
                            config=AttributionConfig(price_weight=0.0, taker_weight=1.0))
    np.testing.assert_allclose(taker.share[1:], [0.75, 0.25, 0.5, 0.9])
    assert taker.long_share == pytest.approx(0.6)
    # long/short ratio: long units q·OI; 110 → 120 with q 0.5 → 0.6: (72 − 55)/10 = 1.7, log-odds capped at 3;
    # then q stays 0.6 (6 of 10 new units long); then q 0.6 → 0.5: long units fall while OI grows → capped −3
    ratio = np.array([1.0, 1.0, 1.5, 1.5, 1.0])
    ls = attribute_sides(close=close, oi_units=oi, new_notional=new, long_short_ratio=ratio,
                         config=AttributionConfig(price_weight=0.0, ratio_window_s=60.0))
    np.testing.assert_allclose(ls.share[1:], [0.5, 1 / (1 + np.exp(-3.0)), 0.6, 1 / (1 + np.exp(3.0))])
    hourly = attribute_sides(close=close, oi_units=oi, new_notional=new, long_short_ratio=ratio, bar_seconds=3_600,
                             config=AttributionConfig(price_weight=0.0))  # the default hour is one hourly bar
    np.testing.assert_allclose(hourly.share, ls.share)
    # funding at the floor votes nothing; 0.03 % above it votes 0.4 × 0.4 toward longs
    funding = attribute_sides(close=close, oi_units=oi, new_notional=new,
                              funding_rate=np.array([0.0001, 0.0001, 0.0001, 0.0003, np.nan]),
                              config=off.__class__(price_weight=0.0, taker_weight=0.0, ratio_weight=0.0))
    np.testing.assert_allclose(funding.share[1:], [0.5, 0.5, 1 / (1 + np.exp(-0.16)), 0.5])
    assert funding.evidence[3].note == "2 of 3 bars at the floor +0.0100% (no vote there)"
    assert funding.unvoted_bars == 3


def test_leverage_prior_when_venue_caps_leverage_then_no_level_above_the_cap():
    tiers = (MarginTier(0.0, 50e3, 0.01, 0.0, 20.0), MarginTier(50e3, float("inf"), 0.025, 750.0, 10.0))
    assert leverage_cap(tiers, 10_000.0) == 20.0 and leverage_cap(tiers, 60_000.0) == 10.0
    capped = EstimatorConfig().capped(20.0)
    assert capped.leverages == (5.0, 10.0, 20.0) and capped.weights == pytest.approx((0.15, 0.25, 0.60))
    assert EstimatorConfig().capped(None) == EstimatorConfig()
    h = history(high=[101, 101, 101], low=[99, 99, 99], oi=[10, 20, 30])
    venue = VenueTerms(TierTable.flat(0.004), inverse=False, contract_size=1.0, source="t", max_leverage=20.0)
    est = estimate_levels(h, venue)
    assert set(est.assumptions.liquidation_distance_pct) == {"5x", "10x", "20x"}
    assert est.assumptions.leverage_cap == 20.0
    # three long levels only (5/10/20x); the nearest, 20x at 100·0.95/0.996, holds the 25/50/100x weight too
    long_ = est.profile.long_notional
    occupied = np.flatnonzero(long_)
    assert occupied.size == 3
    assert est.profile.price_edges[occupied[-1]] <= 100 * 0.95 / 0.996 < est.profile.price_edges[occupied[-1] + 1]
    assert long_[occupied[-1]] == pytest.approx(0.6 * long_.sum())


# -- brute-force oracle ----------------------------------------------------------------------------------


def oracle_profiles(h: MarketHistory, venue: VenueTerms, config: EstimatorConfig, edges: np.ndarray, per_col: int = 1):
    """Bar-by-bar loop over every level: the definition the vectorized estimator must reproduce.

    Pass 1 finds the units each side loses to liquidation (levels valued under the pro-rata decay, each
    column's total spread evenly over its bars; a level reached in its own column never counted); pass 2
    shrinks each side by what its net taker flow says it lost beyond those liquidations.
    """
    ratios = liquidation_ratios(venue, config, float(h.close[-1]))
    entry = (h.high + h.low + h.close) / 3
    oi = h.open_interest
    d_oi = np.diff(oi, prepend=oi[0])
    share = attribute_sides(close=h.close, oi_units=oi, new_notional=np.maximum(d_oi, 0) * entry,
                            taker_buy=h.taker_buy_volume, taker_sell=h.taker_sell_volume).share
    w = config.attribution.close_flow_weight
    imbalance = h.taker_buy_volume - h.taker_sell_volume
    net = [0.5 * (d_oi + w * imbalance), 0.5 * (d_oi - w * imbalance)]

    def run(keep_of):
        levels, dying = [], []  # [side, price, notional, entry, birth bar]; dying: crossed in this column
        out = np.zeros((h.size, 2, edges.size - 1))
        liquidated = np.zeros((2, h.size))
        for s in range(h.size):
            crossed = [lv for lv in levels if (h.low[s] <= lv[1] if lv[0] == 0 else h.high[s] >= lv[1])]
            levels = [lv for lv in levels if lv not in crossed]
            dying += [lv for lv in crossed if lv[4] // per_col != s // per_col]
            for lv in levels + dying:
                lv[2] *= keep_of(s, lv[0])
            if s % per_col == per_col - 1 or s == h.size - 1:  # valued at the end of the column reaching them
                for lv in dying:
                    liquidated[lv[0], s] += lv[2] / lv[3]
                dying = []
            new = d_oi[s] * venue.contract_size * entry[s]
            if s > 0 and new > 0:
                for side, part in ((0, share[s]), (1, 1 - share[s])):
                    for i, wt in enumerate(config.weights):
                        levels.append([side, entry[s] * ratios[side, i], new * part * wt, entry[s], s])
            for side in (0, 1):
                pts = [(p, v) for sd, p, v, _, _ in levels if sd == side]
                if pts:
                    p, v = zip(*pts, strict=True)
                    out[s, side] = np.histogram(np.clip(p, edges[0], edges[-1] - 1e-9), edges, weights=v)[0]
        return out, liquidated

    _, liquidated = run(lambda s, side: 1.0 if s == 0 else min(1.0, oi[s] / oi[s - 1]))
    for c in range(0, h.size, per_col):  # spread each column's liquidations over its bars
        column = liquidated[:, c:c + per_col]
        column[:] = column.sum(axis=1, keepdims=True) / column.shape[1]

    def keep(s, side):
        if s == 0:
            return 1.0
        lost = max(-(net[side][s] + liquidated[side, s]), 0.0)
        return 1.0 - min(2.0 * lost / oi[s - 1], 0.999)

    return run(keep)[0]


bar_histories = st.integers(min_value=3, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(-0.03, 0.03), min_size=n, max_size=n),
        st.lists(st.floats(0.0, 0.02), min_size=n, max_size=n),
        st.lists(st.floats(-30.0, 30.0), min_size=n, max_size=n),
        st.lists(st.floats(0.1, 0.9), min_size=n, max_size=n),
    )
)


def random_history(data) -> MarketHistory:
    steps, wiggle, d_oi, buy_share = (np.asarray(x) for x in data)
    close = 100 * np.exp(np.cumsum(steps))
    oi = 1_000 + np.cumsum(d_oi)
    return history(
        high=close * (1 + np.asarray(wiggle)), low=close * (1 - np.asarray(wiggle)), close=close, oi=oi,
        buy=10 * buy_share, sell=10 * (1 - buy_share),
    )


@settings(max_examples=60, deadline=None)
@given(bar_histories, st.integers(min_value=1, max_value=7))
def test_estimate_levels_when_compared_to_bar_loop_then_snapshots_match(data, per_col):
    h = random_history(data)
    columns = -(-h.size // per_col)
    est = estimate_levels(h, FLAT, EstimatorConfig(max_time_columns=columns, mean_holding_hours=None))
    if est.status == "unknown":
        assert est.reason == "open interest never rose in the window: no new positions to place"
        return
    oracle = oracle_profiles(h, FLAT, EstimatorConfig(), est.heatmap.price_edges, -(-h.size // columns))
    col_end = np.searchsorted(h.times, est.heatmap.times)
    assert col_end[-1] == h.size - 1
    # The estimator zeroes remnants below 1e-9 of the largest change (additions and removals of a level cancel
    # to rounding error there); the bar loop keeps them, so allow that much dust and no more.
    dust = max(1e-6, 1e-8 * float(np.abs(oracle).max()))
    np.testing.assert_allclose(est.heatmap.long_density, oracle[col_end, 0], rtol=1e-9, atol=dust)
    np.testing.assert_allclose(est.heatmap.short_density, oracle[col_end, 1], rtol=1e-9, atol=dust)


@settings(max_examples=60, deadline=None)
@given(bar_histories)
def test_estimate_levels_properties_hold_for_any_history(data):
    h = random_history(data)
    buy_share = np.asarray(data[3])
    est = estimate_levels(h, FLAT, EstimatorConfig(max_time_columns=10_000, mean_holding_hours=None))
    if est.status == "unknown":
        return
    long_d, short_d = est.heatmap.long_density, est.heatmap.short_density
    total = long_d.sum(axis=1) + short_d.sum(axis=1)
    # never more than the notional attributed so far, and never more than open interest at entry prices
    assert np.all(total <= est.attributed_notional * (1 + 1e-9))
    d_oi = np.diff(h.open_interest)
    edges = est.heatmap.price_edges
    for s in range(1, h.size):
        if d_oi[s - 1] <= 0:  # no new positions: nothing may grow
            assert np.all(long_d[s] <= long_d[s - 1] * (1 + 1e-9) + 1e-9)
            assert np.all(short_d[s] <= short_d[s - 1] * (1 + 1e-9) + 1e-9)
        if d_oi[s - 1] >= 0 and buy_share[s] == 0.5:  # no OI fall, balanced flow: only levels reached may shrink
            untouched_long = edges[1:] < h.low[s]
            untouched_short = edges[:-1] > h.high[s]
            assert np.all(long_d[s][untouched_long] >= long_d[s - 1][untouched_long] * (1 - 1e-9) - 1e-9)
            assert np.all(short_d[s][untouched_short] >= short_d[s - 1][untouched_short] * (1 - 1e-9) - 1e-9)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(1.5, 125.0), min_size=1, max_size=6),
    st.floats(0.0, 0.05),
    st.floats(100.0, 5e6),
    st.booleans(),
)
def test_liquidation_ratios_when_any_leverage_then_long_below_and_short_above_entry(levs, mmr, size, inverse):
    weights = tuple(np.full(len(levs), 1 / len(levs)))
    config = EstimatorConfig(leverages=tuple(levs), weights=weights, representative_notional=size)
    venue = VenueTerms(TierTable.flat(mmr), inverse=inverse, contract_size=1.0, source="flat")
    ratios = liquidation_ratios(venue, config, reference_price=30_000.0)
    placed = np.isfinite(ratios)
    assert np.all(ratios[0][placed[0]] < 1.0) and np.all(ratios[1][placed[1]] > 1.0)
    # only leverages that would start below maintenance margin go unplaced
    viable = 1.0 / np.asarray(levs) > 1.01 * mmr
    assert np.all(placed[:, viable])


# -- degraded input ----------------------------------------------------------------------------------------

GOOD = {"high": [101, 102, 103], "low": [99, 100, 101], "oi": [10, 11, 12]}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"oi": None}, "open-interest history missing: new positions cannot be attributed"),
        ({"oi": [10, np.nan, 12]}, "open interest missing at 1970-01-01T00:01:00 (1 bars)"),
        ({"oi": [10, 0, 12]}, "open interest is not positive at 1970-01-01T00:01:00"),
        ({"close": [100, np.nan, 102]}, "close is NaN/inf at 1970-01-01T00:01:00 (1 bars)"),
        ({"volume": [1, 0, 1]}, "open interest changed on a zero-volume bar at 1970-01-01T00:01:00"),
        ({"volume": [0, 0, 0], "oi": [10, 10, 10]}, "no traded volume in the window"),
        ({"oi": [12, 11, 10]}, "open interest never rose in the window: no new positions to place"),
        ({"low": [99, 103, 101]}, "invalid candle (low <= 0 or high < low) at 1970-01-01T00:01:00"),
    ],
)
def test_estimate_levels_when_input_degraded_then_unknown_with_reason(change, reason):
    args = GOOD | change
    est = estimate_levels(history(**args), FLAT)
    assert (est.status, est.reason) == ("unknown", reason)
    assert est.heatmap is None and est.profile is None


def test_estimate_levels_when_bars_have_gap_then_unknown():
    h = MarketHistory(
        times=np.array([0, 1, 4, 5]) * MINUTE_MS, high=[2, 2, 2, 2], low=[1, 1, 1, 1], close=[1, 1, 1, 1],
        volume=[1, 1, 1, 1], open_interest=[1, 2, 3, 4],
    )
    est = estimate_levels(h, FLAT)
    assert (est.status, est.reason) == ("unknown", "gap in bars after 1970-01-01T00:01:00: 2 bar(s) missing")


def test_estimate_levels_when_mark_series_has_nan_then_unknown():
    mark = {"mark_high": np.array([101, 102, 103.0]), "mark_low": np.array([99, np.nan, 101.0]),
            "mark_close": np.array([100, 101, 102.0])}
    est = estimate_levels(history(**GOOD, **mark), FLAT)
    assert est.reason == "mark_low is NaN/inf at 1970-01-01T00:01:00 (1 bars)"


def test_market_history_when_shapes_malformed_then_raises_typed_error():
    with pytest.raises(MarketDataShapeError, match=r"low has shape \(2,\), expected \(3,\)"):
        MarketHistory(times=np.arange(3), high=[1, 1, 1], low=[1, 1], close=[1, 1, 1], volume=[1, 1, 1],
                      open_interest=None)
    with pytest.raises(MarketDataShapeError, match="strictly increasing"):
        MarketHistory(times=np.array([0, 2, 1]), high=[1, 1, 1], low=[1, 1, 1], close=[1, 1, 1],
                      volume=[1, 1, 1], open_interest=None)
    with pytest.raises(MarketDataShapeError, match="given together"):
        history(**GOOD, mark_high=np.ones(3))
    frame = pd.DataFrame({"high": [1.0], "low": [1.0]}, index=pd.date_range("2024", periods=1, freq="min"))
    with pytest.raises(MarketDataShapeError, match=r"lacks columns \['close', 'volume'\]"):
        MarketHistory.from_frames(frame, None)


def test_from_frames_when_oi_is_coarser_then_interpolated_and_uncovered_bars_unknown():
    idx = pd.date_range("2024-01-01", periods=11, freq="min")
    ohlcv = pd.DataFrame({"high": 101.0, "low": 99.0, "close": 100.0, "volume": 5.0}, index=idx)
    oi = pd.Series([100.0, 110.0], index=idx[[0, 5]])
    h = MarketHistory.from_frames(ohlcv, oi)
    np.testing.assert_allclose(h.open_interest[:6], [100, 102, 104, 106, 108, 110])
    est = estimate_levels(h, FLAT)
    assert est.reason == "open interest missing at 2024-01-01T00:06:00 (5 bars)"


def test_estimate_levels_when_bars_are_hourly_then_entries_spread_over_the_range():
    """An hour's openings happened anywhere in its range: 3 triangular quantiles on [low, high], mode at VWAP."""
    hour = 3_600_000
    h = MarketHistory(times=np.arange(3) * hour, high=[101.0, 110.0, 101.0], low=[99.0, 90.0, 99.0],
                      close=[100.0, 100.0, 100.0], volume=[10.0, 10.0, 10.0], open_interest=[100.0, 130.0, 130.0],
                      vwap=[100.0, 100.0, 100.0])
    config = EstimatorConfig(leverages=(10.0,), weights=(1.0,), attribution=AttributionConfig(price_weight=0.0),
                             mean_holding_hours=None)
    est = estimate_levels(h, FLAT, config)
    # quantiles 1/6, 1/2, 5/6 of the triangle 90-100-110: 90 + √(200/6), 100, 110 − √(200/6)
    entries = np.array([90 + np.sqrt(200 / 6), 100.0, 110 - np.sqrt(200 / 6)])
    long_levels = entries * (1 - 0.1) / (1 - 0.005)
    edges = est.profile.price_edges
    bins = np.searchsorted(edges, long_levels) - 1
    np.testing.assert_allclose(est.profile.long_notional[bins], 3_000 * 0.5 / 3)  # 30 units at 100, half long
    assert est.profile.long_notional.sum() == pytest.approx(1_500.0)
    minute = MarketHistory(times=np.arange(3) * MINUTE_MS, high=h.high, low=h.low, close=h.close, volume=h.volume,
                           open_interest=h.open_interest, vwap=h.vwap)
    one = estimate_levels(minute, FLAT, config).profile
    assert np.count_nonzero(one.long_notional) == 1  # a 1-minute bar enters at its VWAP


def test_liquidation_ratios_when_margin_equals_maintenance_then_refused_on_both_sides():
    """100x on a flat 1 % tier posts exactly the maintenance margin: liquidated at entry whichever the side, so
    neither side places a level there; 50x leaves a 1 % move each way."""
    config = EstimatorConfig(leverages=(100.0, 50.0), weights=(0.5, 0.5), representative_notional=100.0)
    venue = VenueTerms(TierTable.flat(0.01), inverse=False, contract_size=1.0, source="flat")
    ratios = liquidation_ratios(venue, config, reference_price=30_000.0)
    assert np.isnan(ratios[:, 0]).all()
    # linear, flat mmr: long (1 - 1/lev) / (1 - mmr), short (1 + 1/lev) / (1 + mmr)
    assert ratios[0, 1] == pytest.approx(0.98 / 0.99, rel=1e-12)
    assert ratios[1, 1] == pytest.approx(1.02 / 1.01, rel=1e-12)
