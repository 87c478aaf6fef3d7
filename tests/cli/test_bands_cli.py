"""`riskguard bands`: bands from the snapshot's market history, the heatmap, and every way it must refuse."""

from __future__ import annotations

import pytest
from docs_factory import binance_cross_doc, binance_stop
from market_factory import BAR_MS, with_market

from riskguard.rules.codes import ExitCode

BTC = "BTC/USDT:USDT"


def _snapshot(write, doc=None):
    return str(write("snap.json", doc or with_market(binance_cross_doc())))


def test_bands_when_history_complete_then_json_bands_bounded_by_attributed_open_interest(run, write):
    r = run("bands", BTC, "--snapshot", _snapshot(write), "--format", "json")
    assert r.code == ExitCode.OK
    doc = r.json()
    assert doc["schema"] == "riskguard.bands/1" and doc["status"] == "ok" and doc["reason"] is None
    assert doc["venue"] == "binanceusdm" and doc["mark_price"] == 31967.27 and doc["exit_code"] == 0
    bands = doc["bands"]
    assert 2 <= len(bands) <= 10  # top 5 per side
    assert {b["side"] for b in bands} == {"long", "short"}
    total = sum(b["notional"] for b in bands)
    assert 0 < total <= doc["attributed_notional"] and total <= doc["open_interest_notional"]
    for b in bands:
        assert set(b) == {"side", "price_low", "price_high", "notional", "distance_pct", "peak_price"}
        assert 0 < b["notional"] <= doc["attributed_notional"]
        assert b["price_low"] <= b["peak_price"] <= b["price_high"] or b["distance_pct"] == 0
        if b["side"] == "long":
            assert b["price_high"] <= doc["mark_price"] and b["distance_pct"] <= 0
            assert b["distance_pct"] == (b["price_high"] - doc["mark_price"]) / doc["mark_price"] * 100
        else:
            assert b["price_low"] >= doc["mark_price"] and b["distance_pct"] >= 0
    assert doc["assumptions"]["leverages"] == [5, 10, 20, 25, 50, 100]
    split = doc["side_split"]  # funding history covers every bar; the paper snapshot has no ratio or flow
    assert [e["source"] for e in split["sources"] if e["bars"]] == ["OI vs price", "funding"]
    assert doc["assumptions"]["tilt_bars"]["funding"] == doc["assumptions"]["tilt_bars"]["OI vs price"] > 0
    assert 0 < split["long_share"] < 1 and 0 < split["long_share_of_new_notional"] < 1
    assert doc["data_granularity"] == {"candle_seconds": 300, "open_interest_seconds": 300.0, "coarse": False}
    (mine,) = doc["positions"]
    assert mine["account"] == "faq-cross" and mine["side"] == "long"
    assert abs(mine["liquidation_price"] - 26316.89) < 0.01
    assert isinstance(mine["liquidation_in_band"], bool) and mine["notional_to_liquidation"] > 0
    assert doc["stop_prices"] == [] and doc["plot"] is None


def test_bands_when_table_then_ladder_with_mark_and_own_liquidation_shown(run, write):
    r = run("bands", BTC, "--snapshot", _snapshot(write))
    assert r.code == ExitCode.OK
    lines = r.out.splitlines()
    ladder = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    mark_row = ladder.index("mark")
    assert set(ladder[:mark_row]) == {"shorts"} and set(ladder[mark_row + 1 :]) == {"longs"}
    assert "your faq-cross long: liquidation 26,316.893 (-17.68%)" in r.out
    assert "stops: unknown (this snapshot did not record open orders)" in r.out
    assert "estimates, not observations" in r.out


def _with_stops(*stops):
    doc = with_market(binance_cross_doc())
    doc["accounts"][0]["open_orders"] = list(stops)
    return doc


def test_bands_when_stops_recorded_then_json_lists_them_with_band_membership(run, write):
    # long band 30,976.28-31,327.92 holds the first stop; 30,000 sits between bands (mark 31,967.27)
    doc = _with_stops(binance_stop(BTC, "sell", 50.0, 31_200.0, 11), binance_stop(BTC, "sell", 20.0, 30_000.0, 13))
    out = run("bands", BTC, "--snapshot", _snapshot(write, doc), "--format", "json").json()
    (mine,) = out["positions"]
    assert [(s["id"], s["trigger_price"], s["in_band"]) for s in mine["stops"]] == [("11", 31_200.0, True),
                                                                                  ("13", 30_000.0, False)]
    assert mine["stops"][0]["band"]["price_low"] == pytest.approx(30_784.48101) and mine["stop_in_band"] is True
    assert out["stop_prices"] == [{"label": "faq-cross long 1/2", "price": 31_200.0, "in_band": True},
                                  {"label": "faq-cross long 2/2", "price": 30_000.0, "in_band": False}]


def test_bands_when_stops_recorded_then_table_says_where_each_sits(run, write):
    doc = _with_stops(binance_stop(BTC, "sell", 50.0, 31_200.0, 11))
    r = run("bands", BTC, "--snapshot", _snapshot(write, doc))
    assert "your faq-cross long stop 31,200 (-2.40%, STOP_MARKET, 50 contracts): INSIDE a band" in r.out
    none = run("bands", BTC, "--snapshot", _snapshot(write, _with_stops()))
    assert "stops: none (no open stop order closes these positions)" in none.out


def test_bands_when_plot_with_a_stop_then_stop_drawn_green_and_labelled(run, write, tmp_path):
    import matplotlib.image as mpimg
    import numpy as np

    png = tmp_path / "bands.png"
    doc = _with_stops(binance_stop(BTC, "sell", 50.0, 31_200.0, 11))
    assert run("bands", BTC, "--snapshot", _snapshot(write, doc), "--plot", str(png)).code == ExitCode.OK
    image = mpimg.imread(png)[..., :3]
    green = np.all(np.abs(image - np.array([46, 204, 64]) / 255) < 0.02, axis=-1)  # #2ecc40, stops only
    assert green.sum() > 1_000


def test_bands_when_plot_then_png_written_with_real_content(run, write, tmp_path):
    png = tmp_path / "bands.png"
    r = run("bands", BTC, "--snapshot", _snapshot(write), "--plot", str(png), "--format", "json")
    assert r.code == ExitCode.OK and r.json()["plot"] == str(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000


def test_bands_when_open_interest_history_missing_then_unknown_exit_3_and_no_plot(run, write, tmp_path):
    doc = with_market(binance_cross_doc())
    del doc["venues"]["binanceusdm"]["open_interest_history"][BTC]
    png = tmp_path / "bands.png"
    r = run("bands", BTC, "--snapshot", _snapshot(write, doc), "--format", "json", "--plot", str(png))
    assert r.code == ExitCode.UNKNOWN
    out = r.json()
    assert out["status"] == "unknown" and out["exit_code"] == 3
    assert out["reason"].startswith("open-interest history missing")
    assert out["bands"] == [] and out["assumptions"] is None and out["attributed_notional"] is None
    assert not png.exists() and "no heatmap written" in r.err


def test_bands_when_candle_gap_then_unknown_reason_printed(run, write):
    doc = with_market(binance_cross_doc())
    del doc["venues"]["binanceusdm"]["ohlcv"][BTC]["rows"][400]
    r = run("bands", BTC, "--snapshot", _snapshot(write, doc))
    assert r.code == ExitCode.UNKNOWN
    assert "bands UNKNOWN: gap in bars after" in r.out and "1 bar(s) missing" in r.out


def test_bands_when_open_interest_has_a_hole_then_unknown_not_interpolated(run, write):
    doc = with_market(binance_cross_doc())
    oi = doc["venues"]["binanceusdm"]["open_interest_history"][BTC]
    del oi[300:320]
    r = run("bands", BTC, "--snapshot", _snapshot(write, doc), "--format", "json")
    assert r.code == ExitCode.UNKNOWN
    assert r.json()["reason"].startswith(f"OI_GAP: no open interest for {21 * BAR_MS / 60_000:g} min after")


def test_bands_when_no_candles_then_unknown(run, write):
    doc = with_market(binance_cross_doc())
    del doc["venues"]["binanceusdm"]["ohlcv"][BTC]
    r = run("bands", BTC, "--snapshot", _snapshot(write, doc), "--format", "json")
    assert r.code == ExitCode.UNKNOWN and r.json()["reason"].startswith("NO_CANDLES")


def test_bands_when_symbol_unknown_then_exit_3_listing_available_symbols(run, write):
    r = run("bands", "DOGE/USDT:USDT", "--snapshot", _snapshot(write))
    assert r.code == ExitCode.UNKNOWN
    assert "no market data for 'DOGE/USDT:USDT'" in r.err
    assert "BTC/USDT:USDT (binanceusdm)" in r.err and "ETH/USDT:USDT (binanceusdm)" in r.err


def test_bands_when_no_source_or_two_sources_then_exit_3(run, write):
    assert run("bands", BTC).code == ExitCode.UNKNOWN
    path = _snapshot(write)
    r = run("bands", BTC, "--snapshot", path, "--config", path, "--format", "json")
    assert r.code == ExitCode.UNKNOWN
    assert r.json()["schema"] == "riskguard.bands/1" and "exactly one of --config" in r.json()["error"]["message"]
