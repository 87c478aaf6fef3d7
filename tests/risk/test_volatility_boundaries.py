"""Refusal edges of the volatility figures: a zero mark, a single candle, a non-finite volume."""

from __future__ import annotations

import math

from riskguard.risk.volatility import RealizedVolatility, liquidation_distance, realized_volatility

HOUR = 3600


def _candles(closes, volume=5.0):
    return [[i * HOUR * 1000, c, c, c, c, volume] for i, c in enumerate(closes)]


def test_liquidation_distance_when_mark_is_zero_then_unknown_not_a_math_error():
    vol = RealizedVolatility("ok", None, 0.01, HOUR, 100)
    result = liquidation_distance(+1, 0.0, 90.0, vol, horizon_seconds=HOUR)
    assert result.status == "unknown"
    assert result.reason == "BAD_PRICE: mark or liquidation price is missing"
    assert result.sigma_buffer is None and result.touch_probability is None


def test_realized_volatility_when_one_candle_then_zero_returns_reported():
    vol = realized_volatility(_candles([100.0]), bar_seconds=HOUR, min_returns=1)
    assert vol.status == "unknown"
    assert vol.reason == "TOO_FEW_CANDLES: 0 returns, need 1"
    assert vol.n_returns == 0


def test_realized_volatility_when_exactly_min_returns_then_known():
    closes = [100.0 * math.exp(0.01 * (i % 2)) for i in range(4)]  # 3 returns: +1 %, −1 %, +1 %
    vol = realized_volatility(_candles(closes), bar_seconds=HOUR, min_returns=3)
    assert vol.status == "ok" and vol.n_returns == 3
    # sample std (ddof=1) of (+0.01, −0.01, +0.01): mean 1/300, deviations 2/300, −4/300, 2/300
    assert math.isclose(vol.sigma_per_bar, math.sqrt((4 + 16 + 4) / 90_000 / 2), rel_tol=1e-12)


def test_realized_volatility_when_a_volume_is_not_finite_then_unknown():
    rows = _candles([100.0 * math.exp(0.01 * (i % 2)) for i in range(25)])
    rows[4][5] = math.nan
    vol = realized_volatility(rows, bar_seconds=HOUR)
    assert vol.status == "unknown"
    assert vol.reason == "ZERO_VOLUME: a candle with no trades has a stale close"
    assert vol.n_returns == 24


def test_realized_volatility_when_candles_have_five_columns_then_bad_shape():
    rows = [r[:5] for r in _candles([100.0] * 30)]
    vol = realized_volatility(rows, bar_seconds=HOUR)
    assert vol.reason == "BAD_SHAPE: expected rows of [ts, o, h, l, c, v]"
    assert vol.n_returns == 0 and vol.bar_seconds == HOUR


def test_liquidation_distance_of_a_sub_dollar_coin_is_computed():
    # long at 0.8, liquidation 0.6, σ 10 % over the horizon: ln(0.8/0.6)/0.1 = 2.8768 σ
    vol = RealizedVolatility("ok", None, 0.1, HOUR, 100)
    result = liquidation_distance(+1, 0.8, 0.6, vol, horizon_seconds=HOUR)
    assert result.status == "ok"
    assert math.isclose(result.sigma_buffer, math.log(0.8 / 0.6) / 0.1, rel_tol=1e-12)
    assert math.isclose(result.touch_probability, math.erfc(math.log(0.8 / 0.6) / 0.1 / math.sqrt(2)), rel_tol=1e-12)


def test_liquidation_distance_when_unknown_then_the_horizon_is_still_reported():
    unknown_vol = realized_volatility(_candles([100.0] * 3), bar_seconds=HOUR)
    flat = realized_volatility(_candles([100.0] * 30), bar_seconds=HOUR)
    ok_vol = RealizedVolatility("ok", None, 0.01, HOUR, 100)
    results = [
        liquidation_distance(+1, 100.0, 90.0, unknown_vol, horizon_seconds=4 * HOUR),
        liquidation_distance(+1, math.nan, 90.0, ok_vol, horizon_seconds=4 * HOUR),
        liquidation_distance(+1, 100.0, 90.0, flat, horizon_seconds=4 * HOUR),
    ]
    assert [r.horizon_seconds for r in results] == [4 * HOUR] * 3
    assert [r.status for r in results] == ["unknown"] * 3
    assert results[2].reason == "ZERO_VOLATILITY: every close was equal"


def test_realized_volatility_of_a_sub_dollar_coin_with_fractional_volumes_is_known():
    # closes 0.5 · e^(0.01·(i mod 2)), volume 0.25 per bar: a cheap coin traded in fractions is still a market
    closes = [0.5 * math.exp(0.01 * (i % 2)) for i in range(21)]
    vol = realized_volatility(_candles(closes, volume=0.25), bar_seconds=HOUR)
    assert vol.status == "ok"
    assert math.isclose(vol.sigma_per_bar, 0.01 * math.sqrt(20 / 19), rel_tol=1e-9)


def _alternating(n):
    return _candles([100.0 * math.exp(0.01 * (i % 2)) for i in range(n + 1)])


def test_an_unknown_volatility_keeps_its_bar_and_the_returns_it_counted():
    few = realized_volatility(_alternating(5), bar_seconds=HOUR)
    bad_close = _alternating(25)
    bad_close[3][4] = -1.0
    gap = _alternating(25)
    del gap[10]
    no_volume = _alternating(25)
    no_volume[7][5] = 0.0
    results = [few] + [realized_volatility(rows, bar_seconds=HOUR) for rows in (bad_close, gap, no_volume)]
    assert [(v.status, v.bar_seconds, v.n_returns) for v in results] == [
        ("unknown", HOUR, 5), ("unknown", HOUR, 25), ("unknown", HOUR, 24), ("unknown", HOUR, 25)]
    assert results[1].reason == "BAD_PRICE: non-finite or non-positive close"
    assert all(v.sigma_per_bar is None for v in results)
