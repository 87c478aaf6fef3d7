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
