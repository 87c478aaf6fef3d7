"""Positioning data (long/short ratio, taker volume) read live, recorded in the snapshot and used by the bands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from riskguard.cli import app
from riskguard.connectors.live import FINE_HISTORY, HOURLY_HISTORY, History, default_history, fetch_snapshot_doc
from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.source import load_accounts
from riskguard.market_view import data_granularity, estimate_symbol_bands, market_history
from tests.connectors.conftest import live_spec

BTC = "BTC/USDT:USDT"


async def test_live_read_when_binance_then_ratio_and_taker_volume_recorded_and_voting(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim))
    data = doc.venues["binanceusdm"]
    ratios, flows = data.long_short_ratio_history[BTC], data.taker_volume[BTC]
    assert len(ratios) == len(flows) == 168  # a week of hourly periods (the library's default), like the candles
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


@pytest.mark.parametrize(("venue", "history", "step_s", "coarse"), [
    ("binanceusdm", FINE_HISTORY, 300, False),  # Binance pages: 3 of candles (ccxt asks 1000), 5 of open interest
    ("bybit", FINE_HISTORY, 300, False),
    ("binanceusdm", HOURLY_HISTORY, 3600, True),
])
async def test_live_read_records_the_steps_it_asked_for_whole_and_says_when_they_are_coarse(
    start_sim, venue: str, history: History, step_s: int, coarse: bool
) -> None:
    sim = await start_sim(venue)
    doc = await fetch_snapshot_doc(live_spec(venue, sim), history=history)
    series = build_snapshot(doc, "live").venues[venue].series[BTC]
    for times in ([row[0] for row in series.ohlcv], [row[0] for row in series.open_interest]):
        assert len(times) == history.bars and set(np.diff(times)) == {step_s * 1000}  # no hole at a page boundary
    assert data_granularity(series) == {"candle_seconds": step_s, "open_interest_seconds": step_s, "coarse": coarse}


def test_default_history_is_5_minutes_where_a_week_of_it_fits_in_one_check() -> None:
    assert [default_history(v) for v in ("binanceusdm", "binancecoinm", "bybit", "hyperliquid")] == [FINE_HISTORY] * 4
    assert default_history("okx") == default_history("gate") == default_history(None) == HOURLY_HISTORY
    assert (FINE_HISTORY.timeframe, FINE_HISTORY.bars, HOURLY_HISTORY.timeframe, HOURLY_HISTORY.bars) == (
        "5m", 7 * 24 * 12, "1h", 7 * 24)


@pytest.mark.parametrize(("venue", "candle_s"), [("binanceusdm", 300), ("bybit", 300), ("okx", 3600)])
async def test_bands_and_snapshot_fine_read_the_venues_finest_practical_history_and_check_reads_hourly(
    start_sim, tmp_path: Path, venue: str, candle_s: int
) -> None:
    """``riskguard bands`` (``load_accounts(fine_history=True)``) and ``riskguard snapshot --fine-history``
    record 5-minute history where the venue serves a week of it within one check, hourly (and say so: coarse) on
    OKX; ``check`` and the gate read hourly, which keeps a check within its latency budget, and a plain
    ``snapshot`` records what ``check`` reads."""
    sim = await start_sim(venue)
    spec = live_spec(venue, sim)
    [fine] = await asyncio.to_thread(load_accounts, [spec], fine_history=True)
    assert fine.error is None and fine.snapshot is not None
    granularity = data_granularity(fine.snapshot.venues[venue].series[BTC])
    assert granularity["candle_seconds"] == candle_s and granularity["coarse"] is (candle_s > 300)
    [hourly] = await asyncio.to_thread(load_accounts, [spec])
    assert hourly.error is None and hourly.snapshot is not None
    assert data_granularity(hourly.snapshot.venues[venue].series[BTC])["candle_seconds"] == 3600

    config = tmp_path / "live.yaml"
    config.write_text(yaml.safe_dump({"accounts": {"live": spec.config.model_dump(mode="json", exclude_none=True)}}))
    out = tmp_path / "recorded.json"
    args = ["snapshot", "-c", str(config), "-a", "live", "-o", str(out)]
    result = await asyncio.to_thread(CliRunner().invoke, app, [*args, "--fine-history"])
    assert result.exit_code == 0, result.output
    recorded = json.loads(out.read_text())["venues"][venue]["ohlcv"][BTC]
    assert recorded["timeframe"] == {300: "5m", 3600: "1h"}[candle_s]
    result = await asyncio.to_thread(CliRunner().invoke, app, args)  # by default what `check` reads
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["venues"][venue]["ohlcv"][BTC]["timeframe"] == "1h"


async def test_bands_on_a_config_account_reads_5_minute_history(start_sim, tmp_path: Path) -> None:
    """`riskguard bands -c` is the command whose peaks the finer history sharpens: it asks for it."""
    sim = await start_sim("binanceusdm")
    spec = live_spec("binanceusdm", sim)
    config = tmp_path / "live.yaml"
    config.write_text(yaml.safe_dump({"accounts": {"live": spec.config.model_dump(mode="json", exclude_none=True)}}))
    args = ["bands", BTC, "-c", str(config), "-a", "live", "--format", "json"]
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output
    granularity = json.loads(result.stdout)["data_granularity"]
    assert granularity["candle_seconds"] == 300 and granularity["coarse"] is False
