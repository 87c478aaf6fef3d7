"""The holding-time prior of the liquidation-level estimator (``side_attribution.turnover``): exact numbers and a
bar-by-bar oracle.  The ΔOI-only mechanics (``mean_holding_hours=None``) are in tests/risk/test_liqlevels.py."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from test_liqlevels import FLAT, TAKER_ONLY, bar_histories, history, random_history

from riskguard.risk.liqlevels import EstimatorConfig, MarketHistory, VenueTerms, estimate_levels, liquidation_ratios
from riskguard.risk.side_attribution import AttributionConfig, attribute_sides, turnover

HOUR_10X = EstimatorConfig(leverages=(10.0,), weights=(1.0,), max_time_columns=10_000, attribution=TAKER_ONLY,
                           mean_holding_hours=1.0)


def test_estimate_levels_when_positions_turn_over_then_netted_opens_are_placed_and_levels_age():
    """docs/bands.md "Turnover", number by number: held an hour on average, 1/60 of OI closes each minute."""
    h = history(high=[100] * 4, low=[100] * 4, oi=[120, 120, 126, 116], buy=[5, 7.5, 7.5, 5], sell=[5, 2.5, 2.5, 5])
    np.testing.assert_allclose(turnover(h.open_interest, 60.0, 1.0), [0.0, 2.0, 2.0, 10.0])
    est = estimate_levels(h, FLAT, HOUR_10X)
    # bar 1: ΔOI 0, yet 2 units closed, so 2 opened (150 long / 50 short at buy share 0.75); bar 2: 6 + 2 = 8 opened
    # (600 / 200) while bar 1's levels lose 2/120; bar 3: OI falls 10 (more than the prior's 2.1): all lose 10/126
    assert est.attributed_notional == pytest.approx(1_000.0)
    assert est.profile.long_notional.sum() == pytest.approx((150 * (1 - 2 / 120) + 600) * 116 / 126)
    assert est.profile.short_notional.sum() == pytest.approx((50 * (1 - 2 / 120) + 200) * 116 / 126)
    assert "held 1 h on average" in est.assumptions.decay_rule
    none = estimate_levels(h, FLAT, EstimatorConfig(leverages=(10.0,), weights=(1.0,), attribution=TAKER_ONLY,
                                                    mean_holding_hours=None))
    assert none.attributed_notional == pytest.approx(600.0)  # ΔOI alone: only bar 2's net 6 units
    assert "held" not in none.assumptions.decay_rule


def test_turnover_when_bars_are_longer_then_the_rate_scales_with_the_bar():
    oi = np.array([1_000.0, 1_000.0, 900.0])
    np.testing.assert_allclose(turnover(oi, 3_600.0, 48.0), [0.0, 1_000 / 48, 100.0])
    np.testing.assert_allclose(turnover(oi, 300.0, 48.0), [0.0, 1_000 / 576, 100.0])
    np.testing.assert_allclose(turnover(oi, 3_600.0, 0.5), [0.0, 1_000.0, 1_000.0])  # held under a bar: all of it


def test_ratio_vote_when_positions_turn_over_then_closes_leave_in_the_stock_proportion():
    """docs/bands.md "Side attribution": the account ratio describes the stock, which changes by opens - closes."""
    # a stock of 10,000 at 35 % long; in one bar 200 close pro rata (70 long) and 230 open at 45 % long (103.5)
    q0, longs = 0.35, 3_500.0 - 70.0 + 103.5
    q1 = longs / 10_030.0
    ratio = np.array([q0 / (1 - q0), q1 / (1 - q1)])
    ratio_only = AttributionConfig(price_weight=0.0, ratio_window_s=60.0)
    kw = dict(close=np.array([100.0, 100.0]), new_notional=np.array([0.0, 1.0]), long_short_ratio=ratio,
              config=ratio_only)
    gross = attribute_sides(oi_units=np.array([10_000.0, 10_030.0]), closed=np.array([0.0, 200.0]), **kw)
    # (Δ(q·OI) + q̄·C) / (ΔOI + C): (33.5 + 0.351146 × 200) / 230; q̄ is the mean of the two readings
    assert gross.share[1] == pytest.approx((33.5 + 0.5 * (q0 + q1) * 200) / 230, rel=1e-12)
    assert gross.share[1] == pytest.approx(0.451, abs=5e-4)  # the opens were 45 % long
    # the net reading (no closes known) takes 33.5 new long units of a 30-unit rise as all long: capped at +3
    net = attribute_sides(oi_units=np.array([10_000.0, 10_030.0]), **kw)
    assert net.share[1] == pytest.approx(1 / (1 + np.exp(-3.0)))
    # OI fell over the window: more closed than the prior says, not pro rata, so the ratio does not vote
    falling = attribute_sides(oi_units=np.array([10_000.0, 9_990.0]), closed=np.array([0.0, 200.0]), **kw)
    assert falling.share[1] == 0.5 and falling.evidence[2].bars == 0


@pytest.mark.parametrize("hours", [0.0, -1.0, float("nan"), float("inf")])
def test_estimator_config_when_holding_time_not_positive_then_rejected(hours):
    with pytest.raises(ValueError, match="mean_holding_hours"):
        EstimatorConfig(mean_holding_hours=hours)


def turnover_oracle(h: MarketHistory, venue: VenueTerms, config: EstimatorConfig, edges: np.ndarray) -> np.ndarray:
    """Bar-by-bar loop: every bar closes ``turnover`` units pro rata from every level and opens ΔOI + closed."""
    assert config.mean_holding_hours is not None
    ratios = liquidation_ratios(venue, config, float(h.close[-1]))
    entry = (h.high + h.low + h.close) / 3
    oi = h.open_interest
    closed = turnover(oi, 60.0, config.mean_holding_hours)
    opened = np.maximum(np.diff(oi, prepend=oi[0]) + closed, 0.0)
    share = attribute_sides(close=h.close, oi_units=oi, new_notional=opened * entry,
                            taker_buy=h.taker_buy_volume, taker_sell=h.taker_sell_volume,
                            long_short_ratio=h.long_short_ratio, closed=closed, config=config.attribution).share
    levels: list[list[float]] = []  # side, price, notional
    out = np.zeros((h.size, 2, edges.size - 1))
    for s in range(h.size):
        levels = [lv for lv in levels if not (h.low[s] <= lv[1] if lv[0] == 0 else h.high[s] >= lv[1])]
        if s > 0:
            for lv in levels:
                lv[2] *= 1.0 - min(closed[s] / oi[s - 1], 0.999)
        for side, part in ((0, share[s]), (1, 1 - share[s])):
            for i, wt in enumerate(config.weights):
                if opened[s] > 0 and np.isfinite(ratios[side, i]):
                    levels.append([side, entry[s] * ratios[side, i], opened[s] * entry[s] * part * wt])
        for side in (0, 1):
            pts = [(p, v) for sd, p, v in levels if sd == side]
            if pts:
                p, v = zip(*pts, strict=True)
                out[s, side] = np.histogram(np.clip(p, edges[0], edges[-1] - 1e-9), edges, weights=v)[0]
    return out


@settings(max_examples=60, deadline=None)
@given(bar_histories)
def test_estimate_levels_when_positions_turn_over_then_every_bar_matches_the_loop(data):
    h = random_history(data)
    # an account ratio read over 3 bars, so its vote (which counts what the prior closed) is in the comparison
    h = replace(h, long_short_ratio=h.taker_buy_volume / h.taker_sell_volume * np.linspace(0.8, 1.2, h.size))
    config = EstimatorConfig(max_time_columns=10_000, mean_holding_hours=0.5,  # 1/30 of OI closes per bar
                             attribution=AttributionConfig(ratio_window_s=180.0))
    est = estimate_levels(h, FLAT, config)
    if est.status == "unknown":  # the prior alone never makes an estimate: open interest must have risen
        assert est.reason == "open interest never rose in the window: no new positions to place"
        return
    oracle = turnover_oracle(h, FLAT, config, est.heatmap.price_edges)
    dust = max(1e-6, 1e-8 * float(np.abs(oracle).max()))
    np.testing.assert_allclose(est.heatmap.long_density, oracle[:, 0], rtol=1e-9, atol=dust)
    np.testing.assert_allclose(est.heatmap.short_density, oracle[:, 1], rtol=1e-9, atol=dust)
