import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.risk.volatility import (
    SECONDS_PER_YEAR,
    RealizedVolatility,
    liquidation_distance,
    realized_volatility,
    sigma_buffer,
    touch_probability,
)

HOUR = 3600
HOUR_MS = HOUR * 1000


def candles(closes, volume=5.0, step_ms=HOUR_MS):
    return [[i * step_ms, c, c, c, c, volume] for i, c in enumerate(closes)]


def alternating(n_returns, step=0.01):
    """Closes whose log returns alternate +step, −step: mean 0, so σ = step·√(n/(n−1))."""
    return [100.0 * math.exp(step * (i % 2)) for i in range(n_returns + 1)]


def hourly_vol(sigma):
    return RealizedVolatility("ok", None, sigma, HOUR, 100)


def test_realized_volatility_when_returns_alternate_then_sigma_is_sample_std():
    vol = realized_volatility(candles(alternating(20)), bar_seconds=HOUR)
    assert vol.status == "ok" and vol.reason is None
    assert vol.n_returns == 20
    assert vol.sigma_per_bar == pytest.approx(0.01 * math.sqrt(20 / 19), rel=1e-12)  # 0.0102597835
    assert vol.sigma_per_bar == pytest.approx(0.010259783520851540, rel=1e-12)


def test_realized_volatility_scales_with_square_root_of_time():
    vol = hourly_vol(0.01)
    assert vol.over(24 * HOUR) == pytest.approx(0.0489897948556636, rel=1e-12)  # 0.01·√24
    assert vol.annualised == pytest.approx(0.01 * math.sqrt(8760), rel=1e-12)  # 0.9359 = 93.6 %/yr
    assert SECONDS_PER_YEAR / HOUR == 8760


def test_realized_volatility_when_too_few_candles_then_unknown():
    vol = realized_volatility(candles(alternating(5)), bar_seconds=HOUR)
    assert vol.status == "unknown"
    assert vol.reason == "TOO_FEW_CANDLES: 5 returns, need 20"
    assert vol.sigma_per_bar is None and vol.over(HOUR) is None


def test_realized_volatility_when_a_candle_is_missing_then_unknown_gap():
    rows = candles(alternating(25))
    del rows[10]
    vol = realized_volatility(rows, bar_seconds=HOUR)
    assert vol.status == "unknown"
    assert vol.reason == "GAP: candle 10 is 7200s after the previous, expected 3600s"


def test_realized_volatility_when_zero_volume_then_unknown():
    rows = candles(alternating(25))
    rows[7][5] = 0.0
    vol = realized_volatility(rows, bar_seconds=HOUR)
    assert vol.status == "unknown" and vol.reason.startswith("ZERO_VOLUME")


@pytest.mark.parametrize("bad", [math.nan, 0.0, -5.0])
def test_realized_volatility_when_close_is_bad_then_unknown(bad):
    rows = candles(alternating(25))
    rows[3][4] = bad
    vol = realized_volatility(rows, bar_seconds=HOUR)
    assert vol.status == "unknown" and vol.reason.startswith("BAD_PRICE")


def test_realized_volatility_when_shape_is_wrong_then_unknown():
    assert realized_volatility([[1, 2, 3]], bar_seconds=HOUR).reason.startswith("BAD_SHAPE")
    assert realized_volatility([], bar_seconds=HOUR).reason.startswith("BAD_SHAPE")


def test_touch_probability_matches_two_phi_minus_d_by_hand():
    # 2·Φ(−d) = 2·½·(1 + erf(−d/√2)) = 1 − erf(d/√2)
    assert touch_probability(1.0) == pytest.approx(1 - math.erf(1 / math.sqrt(2)), rel=1e-12)
    assert touch_probability(1.0) == pytest.approx(0.3173105078629141, rel=1e-12)
    assert touch_probability(2.0) == pytest.approx(0.0455002638963584, rel=1e-12)
    assert touch_probability(0.0) == 1.0
    assert touch_probability(-0.5) == 1.0


def test_liquidation_distance_for_textbook_long():
    # long at 10 000, LP 9 036.1446 (1 000 margin, mmr 0.4 %), σ 1 %/h, horizon 24 h
    lp = (1000 - 10000) / (0.004 - 1)
    result = liquidation_distance(+1, 10000.0, lp, hourly_vol(0.01))  # default horizon: 24 h
    d = math.log(10000 / lp) / (0.01 * math.sqrt(24))
    assert result.status == "ok"
    assert result.sigma_buffer == pytest.approx(d, rel=1e-12)
    assert result.sigma_buffer == pytest.approx(2.0688491258005435, rel=1e-12)
    assert result.touch_probability == pytest.approx(1 - math.erf(d / math.sqrt(2)), rel=1e-12)
    assert result.touch_probability == pytest.approx(0.03856024683441672, rel=1e-9)


def test_sigma_buffer_is_symmetric_for_a_short():
    assert sigma_buffer(-1, 100.0, 110.0, 0.05) == pytest.approx(math.log(110 / 100) / 0.05, rel=1e-12)
    assert sigma_buffer(+1, 100.0, 110.0, 0.05) < 0  # long already below its LP


def test_liquidation_distance_when_no_price_liquidates_then_infinite_buffer_and_zero_probability():
    result = liquidation_distance(-1, 100.0, None, hourly_vol(0.01), horizon_seconds=HOUR)
    assert result.status == "ok"
    assert result.sigma_buffer == math.inf
    assert result.touch_probability == 0.0


def test_liquidation_distance_when_volatility_unknown_then_passes_reason_through():
    vol = realized_volatility(candles(alternating(3)), bar_seconds=HOUR)
    result = liquidation_distance(+1, 100.0, 90.0, vol, horizon_seconds=HOUR)
    assert result.status == "unknown"
    assert result.reason == "TOO_FEW_CANDLES: 3 returns, need 20"
    assert result.sigma_buffer is None and result.touch_probability is None


@pytest.mark.parametrize(
    ("side", "mark", "lp"),
    [(1, math.nan, 90.0), (1, 100.0, math.nan), (-1, 100.0, -1.0), (1, 100.0, 0.0), (-1, 100.0, math.inf)],
)
def test_liquidation_distance_when_prices_are_bad_then_unknown(side, mark, lp):
    result = liquidation_distance(side, mark, lp, hourly_vol(0.01), horizon_seconds=HOUR)
    assert result.status == "unknown" and result.reason.startswith("BAD_PRICE")


def test_liquidation_distance_when_prices_never_moved_then_unknown():
    vol = realized_volatility(candles([100.0] * 30), bar_seconds=HOUR)
    result = liquidation_distance(+1, 100.0, 90.0, vol, horizon_seconds=HOUR)
    assert result.reason.startswith("ZERO_VOLATILITY")


@given(st.floats(0, 50), st.floats(0, 50))
def test_touch_probability_is_a_probability_and_falls_with_distance(d1, d2):
    near, far = sorted((d1, d2))
    p_near, p_far = touch_probability(near), touch_probability(far)
    assert 0.0 <= p_far <= p_near <= 1.0


@given(
    st.floats(1e-3, 1e6),
    st.floats(0.5, 0.999),
    st.floats(0.5, 0.999),
    st.floats(1e-4, 1.0),
)
def test_touch_probability_of_a_long_falls_as_the_liquidation_price_moves_away(mark, f1, f2, sigma):
    closer, further = mark * max(f1, f2), mark * min(f1, f2)
    p_closer = touch_probability(sigma_buffer(+1, mark, closer, sigma))
    p_further = touch_probability(sigma_buffer(+1, mark, further, sigma))
    assert 0.0 <= p_further <= p_closer <= 1.0
    assert not np.isnan(p_closer)
