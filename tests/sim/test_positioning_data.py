"""The emulator's positioning data (long/short account ratio, taker volume) in each venue's REST dialect,
read through ccxt exactly as the live connector reads it."""

from __future__ import annotations

import math

import pytest

from riskguard.sim.market import long_short_ratio_history, taker_volume_history

HOUR_MS = 3_600_000
RATIO = {
    "binanceusdm": "BTC/USDT:USDT", "binancecoinm": "BTC/USD:BTC", "bybit": "BTC/USDT:USDT", "okx": "BTC/USDT:USDT",
}


@pytest.mark.parametrize("venue", list(RATIO))
async def test_long_short_ratio_when_fetched_through_ccxt_then_matches_the_emulated_series(
    start_sim, connect, venue
) -> None:
    sim = await start_sim(venue)
    client = connect(venue, sim)
    rows = await client.fetch_long_short_ratio_history(RATIO[venue], "1h", None, 24)
    now = sim.player.exchange.now_ms()
    expected = dict(long_short_ratio_history(HOUR_MS, now, None, 24))
    assert len(rows) == 24
    for row in rows:
        # Bybit publishes buy/sell shares rounded to 4 places, which ccxt divides back into a ratio
        assert row["longShortRatio"] == pytest.approx(expected[row["timestamp"]], abs=5e-4)
        assert 0.8 < row["longShortRatio"] < 1.25
    assert max(r["timestamp"] for r in rows) == now - now % HOUR_MS


async def test_taker_volume_when_fetched_through_ccxt_implicit_methods_then_buy_and_sell_per_period(
    start_sim, connect
) -> None:
    usdm = await start_sim("binanceusdm")
    rows = await connect("binanceusdm", usdm).fapiDataGetTakerlongshortRatio(
        {"symbol": "BTCUSDT", "period": "5m", "limit": 3})
    instrument = usdm.player.exchange.instruments["BTCUSDT"]
    expected = taker_volume_history(instrument, 300_000, usdm.player.exchange.now_ms(), None, 3)
    assert [(int(r["timestamp"]), float(r["buyVol"]), float(r["sellVol"])) for r in rows] == expected
    assert math.isclose(float(rows[0]["buySellRatio"]), expected[0][1] / expected[0][2], rel_tol=1e-3)
    coinm = await start_sim("binancecoinm")
    rows = await connect("binancecoinm", coinm).dapiDataGetTakerBuySellVol(
        {"pair": "BTCUSD", "contractType": "ALL", "period": "1h", "limit": 2})
    assert len(rows) == 2 and {"takerBuyVol", "takerSellVol", "takerBuyVolValue"} <= set(rows[0])
    assert rows[0]["pair"] == "BTCUSD" and rows[0]["contractType"] == "ALL" and float(rows[0]["takerBuyVol"]) > 0


def test_emulated_series_when_anchored_times_then_known_values() -> None:
    # ratio = exp(0.22·sin(t / 7 periods)): 1 at t = 0, e^(0.22·sin 1) = 1.2034 seven periods later
    assert long_short_ratio_history(HOUR_MS, 7 * HOUR_MS, 0, 8)[::7] == [(0, 1.0), (7 * HOUR_MS, 1.2034)]
    assert long_short_ratio_history(HOUR_MS, 14 * HOUR_MS, None, 1) == [(14 * HOUR_MS, 1.2215)]
