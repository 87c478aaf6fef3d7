import numpy as np
import pandas as pd
import pytest
from market_simulator import REGIMES, binance_like_venue, coarsen, simulate_market

from riskguard.risk.bands import (
    Band,
    BandConfig,
    detect_bands,
    estimate_bands,
    notional_between,
    position_proximity,
)
from riskguard.risk.liqlevels import EstimatorConfig, LevelProfile, MarketHistory, estimate_levels
from riskguard.risk.side_attribution import AttributionConfig

EDGES = np.arange(90.0, 111.0, 1.0)  # 20 bins of width 1 from 90 to 110


def profile(long_bins=None, short_bins=None, mark=100.0):
    long_, short = np.zeros(20), np.zeros(20)
    for i, v in (long_bins or {}).items():
        long_[i] = v
    for i, v in (short_bins or {}).items():
        short[i] = v
    return LevelProfile(EDGES, long_, short, mark)


def test_detect_bands_when_two_clusters_per_side_then_merged_ranked_and_signed():
    p = profile(
        long_bins={2: 100, 3: 300, 5: 50, 8: 10, 9: 500},  # 92–94 cluster, stray 95, 98–100 cluster
        short_bins={12: 40, 15: 200, 16: 200},
    )
    # hot: >= 0.5 × mean per occupied bin (long 960/5 → 96, short 440/3 → 73.3); 95 and 98 are not hot
    bands = detect_bands(p, BandConfig(top_n=5, hot_factor=0.5, merge_gap_pct=0.0, min_share=0.05))
    # peak: notional-weighted centre of the heaviest bin ± 2 bins inside the band: (92.5·100 + 93.5·300)/400
    assert bands == (
        Band("long", 99.0, 100.0, 500.0, -0.0, 99.5),
        Band("long", 92.0, 94.0, 400.0, -6.0, 93.25),
        Band("short", 105.0, 107.0, 400.0, 5.0, 106.0),
    )
    # a 5 % gap (5 bins) joins 92–94 and 99–100; the cold bins in between count toward the band
    merged = detect_bands(p, BandConfig(top_n=1, hot_factor=0.5, merge_gap_pct=5.0, min_share=0.05))
    assert merged == (
        Band("long", 92.0, 100.0, 960.0, -0.0, pytest.approx((98.5 * 10 + 99.5 * 500) / 510)),
        Band("short", 105.0, 107.0, 400.0, 5.0, 106.0),
    )


def test_position_proximity_when_long_then_counts_long_notional_between_mark_and_liquidation():
    p = profile(long_bins={2: 100, 3: 300, 9: 500}, short_bins={15: 200})
    bands = detect_bands(p, BandConfig(hot_factor=0.5, merge_gap_pct=0.0, min_share=0.05))
    prox = position_proximity(p, bands, side="long", liquidation_price=93.5, stop_prices=(99.5, 97.0))
    assert prox.nearest_band == Band("long", 99.0, 100.0, 500.0, -0.0, 99.5)
    assert prox.distance_pct == -0.0
    assert prox.notional_to_liquidation == pytest.approx(500 + 0.5 * 300)  # half of the 93–94 bin
    assert prox.liquidation_band.price_low == 93.0 and prox.liquidation_in_band  # 92–93 (100) is not hot
    assert [(s, b is not None) for s, b in prox.stop_bands] == [(99.5, True), (97.0, False)]
    short = position_proximity(p, bands, side="short", liquidation_price=None)
    assert short.nearest_band.side == "short" and short.distance_pct == 5.0
    assert short.notional_to_liquidation is None and not short.liquidation_in_band


def test_notional_between_when_partial_bins_then_pro_rata():
    assert notional_between(EDGES, np.ones(20), 90.25, 92.5) == pytest.approx(2.25)
    assert notional_between(EDGES, np.ones(20), 50.0, 200.0) == pytest.approx(20.0)


def recovery(seed: int, k: int = 5) -> tuple[float, list[float]]:
    """Share of the true top-k bands whose peak lies in (0.25 % of mark around) an estimated top-k band
    of the same side, and the peak error of each recovered band in % of mark."""
    market = simulate_market(seed)
    est = estimate_levels(market.history, market.venue)
    truth = detect_bands(market.true_profile(est.profile.price_edges))[:k]
    found = detect_bands(est.profile)[:k]
    tol = 0.0025 * est.profile.mark_price
    hits, errors = 0, []
    for true in truth:
        match = [b for b in found if b.side == true.side and b.price_low - tol <= true.peak_price <= b.price_high + tol]
        if match:
            hits += 1
            errors.append(min(abs(b.peak_price - true.peak_price) for b in match) / est.profile.mark_price * 100)
    return hits / len(truth), errors


def test_estimator_when_market_is_simulated_then_recovers_true_top_bands():
    results = [recovery(seed) for seed in range(6)]
    recall = float(np.mean([r for r, _ in results]))
    errors = [e for _, errs in results for e in errs]
    print(f"\ntop-5 band recall {recall:.2f} over 6 markets; peak error median {np.median(errors):.3f} %, "
          f"p90 {np.percentile(errors, 90):.3f} % of mark")
    assert recall >= 0.6
    assert np.median(errors) <= 0.25


TUNING_SEEDS = range(24)
"""Seeds of each regime the estimator was tuned on (docs/bands.md): the attribution weights on 0-5, the
48-hour holding prior (``EstimatorConfig.mean_holding_hours``, chosen among 24/36/48/72 h) on 0-23.  The
regime test reports on the held-out sets below, never tuned on."""
HELD_OUT_SEEDS = range(100, 108)
FRESH_SEEDS = range(200, 208)
"""A second held-out set, first run only after the close split was chosen on the tuning seeds."""
NEW_SEEDS = range(300, 316)
"""A third held-out set, first run once the holding prior was fixed on seeds 0-23: the issue's targets."""
LATEST_SEEDS = range(500, 516)
"""A fourth held-out set, named before the ratio vote counted the prior's closes and first run once that was
final (diagnosed on seeds 200-207, checked on 0-23)."""


def _ranks(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.size)
    out[np.argsort(x, kind="stable")] = np.arange(x.size)
    return out


def regime_scores(seed: int, regime: str, bar_minutes: int = 1) -> tuple[float, float, np.ndarray, float]:
    """True and estimated long share of the open levels, each true top-5 cluster's distance to the nearest
    estimated band peak of its side (% of mark), and the rank correlation of the two profiles within ±15 %."""
    market = coarsen(simulate_market(seed, regime=regime), bar_minutes)
    est = estimate_levels(market.history, market.venue)
    mark = est.profile.mark_price
    true_profile = market.true_profile(est.profile.price_edges)
    found = detect_bands(est.profile)
    errors = np.array([
        min((abs(b.peak_price - t.peak_price) for b in found if b.side == t.side), default=np.inf) / mark * 100
        for t in detect_bands(true_profile)[:5]
    ])
    near = np.abs(est.profile.centers / mark - 1) <= 0.15
    estimated = np.r_[est.profile.long_notional[near], est.profile.short_notional[near]]
    truth = np.r_[true_profile.long_notional[near], true_profile.short_notional[near]]
    rho = float(np.corrcoef(_ranks(estimated), _ranks(truth))[0, 1])
    long_share = est.profile.long_notional.sum() / (est.profile.long_notional.sum() + est.profile.short_notional.sum())
    return market.true_long_share, float(long_share), errors, rho


@pytest.mark.parametrize("seeds", [HELD_OUT_SEEDS, FRESH_SEEDS, NEW_SEEDS, LATEST_SEEDS],
                         ids=["held-out", "fresh", "new", "latest"])
@pytest.mark.parametrize("regime", REGIMES)
def test_estimator_when_regime_held_out_then_side_split_and_peaks_recovered(regime, seeds):
    scores = [regime_scores(seed, regime) for seed in seeds]
    true_share = np.array([s[0] for s in scores])
    est_share = np.array([s[1] for s in scores])
    errors = np.concatenate([s[2] for s in scores])
    recall = float(np.mean(errors <= 0.5))
    rho = float(np.mean([s[3] for s in scores]))
    gap = np.abs(est_share - true_share)
    print(f"\n{regime} seeds {seeds.start}-{seeds.stop - 1}: true long share {np.round(true_share, 2)}, "
          f"estimated {np.round(est_share, 2)} "
          f"(|gap| mean {gap.mean():.3f}, max {gap.max():.3f}); top-5 recall within 0.5 % {recall:.2f}; "
          f"median peak error {np.median(errors):.3f} %; rank correlation ±15 % {rho:.2f}")
    # the targets: long share within 0.10 on every market (worst: short squeeze seeds 300-315, 0.095),
    # recall >= 0.70 (lowest: the fresh mixed markets, 0.78; 0.65 before the ratio vote counted the prior's closes,
    # docs/bands.md "Validation"), median peak error <= 0.40 % of mark (worst 0.09 %)
    assert gap.mean() <= 0.05 and gap.max() <= 0.10
    assert recall >= (0.75 if seeds is FRESH_SEEDS and regime == "mixed" else 0.80)
    assert np.median(errors) <= 0.10
    assert rho >= 0.85


def test_estimator_when_bars_are_hourly_then_degrades_as_documented():
    """docs/bands.md "Data granularity": hourly bars (what live reads record) lose recall and rank correlation."""
    scores = [regime_scores(seed, regime, 60) for regime in REGIMES for seed in HELD_OUT_SEEDS]
    errors = np.concatenate([s[2] for s in scores])
    recall, rho = float(np.mean(errors <= 0.5)), float(np.mean([s[3] for s in scores]))
    print(f"\nhourly bars: top-5 recall {recall:.2f}, median peak error {np.median(errors):.3f} %, rank corr {rho:.2f}")
    # with the holding prior hourly recall rose from 0.60 to 0.83 and rank correlation from 0.63 to 0.75 (recall
    # 0.85 once the ratio vote counted the prior's closes); still below the 1-minute figures on the same markets
    # (recall 0.92, rank correlation 0.92)
    assert 0.75 <= recall < 0.9 and 0.65 <= rho < 0.85


def test_estimator_when_only_funding_at_floor_then_split_is_not_invented():
    """Funding at its floor is no evidence: alone it leaves every bar 50/50 (the old rule said 60 % long)."""
    market = simulate_market(3, bars=1_440, regime="short_squeeze")
    h = market.history
    bare = MarketHistory(times=h.times, high=h.high, low=h.low, close=h.close, volume=h.volume,
                         open_interest=h.open_interest, funding_rate=h.funding_rate)
    funding_only = EstimatorConfig(attribution=AttributionConfig(price_weight=0.0))
    est = estimate_levels(bare, market.venue, funding_only)
    assert est.sides.long_share == 0.5 and est.sides.evidence[3].bars > 0
    full = estimate_levels(h, market.venue)
    assert full.sides.long_share < 0.45  # the shorts piling in are seen by price, flow and the ratio
    assert [e.source for e in full.sides.evidence if e.bars] == ["OI vs price", "taker flow", "long/short ratio",
                                                                 "funding"]


def test_estimate_bands_when_frames_given_then_json_has_cli_shape():
    market = simulate_market(seed=2, bars=1_440)
    h = market.history
    idx = pd.DatetimeIndex(h.times)
    ohlcv = pd.DataFrame(
        {"high": h.high, "low": h.low, "close": h.close, "volume": h.volume, "taker_buy_volume": h.taker_buy_volume},
        index=idx,
    )
    coarse = np.r_[np.arange(0, h.size, 5), h.size - 1]  # 5-minute OI plus the latest reading
    oi = pd.Series(h.open_interest[coarse], index=idx[coarse])
    venue = binance_like_venue()
    report = estimate_bands(
        ohlcv, oi, symbol="BTC/USDT:USDT", mark_price=float(h.close[-1]), tiers=venue.tiers, inverse=False,
        contract_size=1.0, tier_source="simulator brackets",
    )
    out = report.to_json()
    assert out["status"] == "ok" and out["reason"] is None and out["symbol"] == "BTC/USDT:USDT"
    assert set(out["bands"][0]) == {"side", "price_low", "price_high", "notional", "distance_pct", "peak_price"}
    assert all((b["side"] == "long") == (b["distance_pct"] <= 0) for b in out["bands"])
    assert out["assumptions"]["tier_table_source"] == "simulator brackets"
    tilt = out["assumptions"]["tilt_bars"]
    assert tilt["taker flow"] == tilt["OI vs price"] > 1_000 and tilt["long/short ratio"] == 0
    assert out["side_split"]["sources"][1]["source"] == "taker flow"
    assert 0 < out["side_split"]["long_share"] < 1
    missing = estimate_bands(
        ohlcv, None, symbol="BTC/USDT:USDT", mark_price=1.0, tiers=venue.tiers, inverse=False,
        contract_size=1.0, tier_source="x",
    ).to_json()
    assert missing["status"] == "unknown" and missing["bands"] == [] and missing["assumptions"] is None
    assert missing["reason"] == "open-interest history missing: new positions cannot be attributed"


def test_side_attribution_worked_example():
    """docs/bands.md "Side attribution": the worked example, number by number, with and without the prior."""
    from riskguard.risk.side_attribution import attribute_sides, turnover

    n = 61  # an hour of history before the bar, so the ratio window (60 bars) reaches back to OI 10,000
    ret = np.where(np.arange(n) % 2 == 0, 0.001, -0.001)  # median |return| 0.10 %
    ret[0], ret[-1] = 0.0, -0.001
    close = 60_000 * np.exp(np.cumsum(ret))
    oi = np.r_[np.linspace(10_000, 10_090, n - 1), 10_100]  # the bar adds 10 BTC
    q = np.full(n, 0.52)
    q[-1] = 0.519
    buy, sell = np.ones(n), np.ones(n)
    buy[-1], sell[-1] = 45.0, 55.0
    closed = turnover(oi, 60.0, 48.0)  # the default prior: 1/2,880 of OI closes each minute
    assert closed[-1] == pytest.approx(10_090 / 2_880) and closed.sum() == pytest.approx(209.271, abs=5e-4)
    new = np.zeros(n)
    new[-1] = (10 + closed[-1]) * close[-1]  # only the example bar is placed: ΔOI plus what closed
    assert round(close[-1]) == 59_880 and round(new[-1] / 1e3) == 809
    kw = dict(close=close, oi_units=oi, taker_buy=buy, taker_sell=sell, long_short_ratio=q / (1 - q),
              funding_rate=np.full(n, 0.0001))
    split = attribute_sides(new_notional=new, closed=closed, **kw)
    long_opened = 0.519 * 10_100 - 0.52 * 10_000 + 0.5195 * closed[1:].sum()
    assert long_opened == pytest.approx(150.616, abs=5e-4)
    ratio_share = long_opened / (100 + closed[1:].sum())
    votes = -0.6 + 0.5 * np.log(0.45 / 0.55) + np.log(ratio_share / (1 - ratio_share))
    assert votes == pytest.approx(-0.752, abs=5e-4)
    assert split.share[-1] == pytest.approx(1 / (1 + np.exp(0.752)), abs=5e-4)
    assert round(split.share[-1] * 100, 1) == 32.0
    assert (round(new[-1] * split.share[-1] / 1e3), round(new[-1] * (1 - split.share[-1]) / 1e3)) == (259, 550)
    alone = {e.source: e.long_share for e in split.evidence}
    assert alone == {"OI vs price": round(1 / (1 + np.exp(0.6)), 4), "taker flow": round(1 / (1 + np.exp(0.10034)), 4),
                     "long/short ratio": 0.487, "funding": 0.5}
    # without the prior (mean_holding_hours=None) nothing is known to have closed: the net reading, 41.9 of 100
    net = np.zeros(n)
    net[-1] = 10 * close[-1]
    bare = attribute_sides(new_notional=net, **kw)
    assert -0.6 + 0.5 * np.log(0.45 / 0.55) + np.log(0.419 / 0.581) == pytest.approx(-1.027, abs=5e-4)
    assert round(bare.share[-1] * 100, 1) == 26.4
    assert {e.source: e.long_share for e in bare.evidence}["long/short ratio"] == 0.419
