"""Positioning data (long/short ratio, taker volume) read live, recorded in the snapshot and used by the bands."""

from __future__ import annotations

import numpy as np

from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.normalize import build_snapshot
from riskguard.market_view import estimate_symbol_bands, market_history
from tests.connectors.conftest import live_spec

BTC = "BTC/USDT:USDT"


async def test_live_read_when_binance_then_ratio_and_taker_volume_recorded_and_voting(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim))
    data = doc.venues["binanceusdm"]
    ratios, flows = data.long_short_ratio_history[BTC], data.taker_volume[BTC]
    assert len(ratios) == len(flows) == 168  # a week of hourly periods, like the candles
    assert 0.8 < ratios[-1]["longShortRatio"] < 1.25 and float(flows[-1]["buyVolume"]) > 0
    snapshot = build_snapshot(doc, "live")
    venue = snapshot.venues["binanceusdm"]
    history, reason = market_history(venue.series[BTC])
    assert reason is None and history is not None
    assert np.isfinite(history.long_short_ratio).all() and np.isfinite(history.taker_buy_volume).all()
    split = estimate_symbol_bands(venue, BTC, doc.taken_at).side_split()
    bars = {e["source"]: e["bars"] for e in split["sources"]}
    assert bars["taker flow"] > 0 and bars["long/short ratio"] > 0


async def test_live_read_when_bybit_then_ratio_recorded_and_no_taker_volume(start_sim) -> None:
    sim = await start_sim("bybit")
    doc = await fetch_snapshot_doc(live_spec("bybit", sim))
    data = doc.venues["bybit"]
    assert data.taker_volume == {}  # Bybit publishes no taker volume history
    assert set(data.long_short_ratio_history) >= {BTC}
    assert all(0.8 < row["longShortRatio"] < 1.25 for row in data.long_short_ratio_history[BTC])
