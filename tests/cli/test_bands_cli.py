"""`riskguard bands`: bands from the snapshot's market history, the heatmap, and every way it must refuse."""

from __future__ import annotations

from docs_factory import binance_cross_doc
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
    assert doc["assumptions"]["tilt_bars"]["funding sign"] == 864  # funding history covers every bar
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
    assert "open stop orders are not part of the snapshot" in r.out
    assert "estimates, not observations" in r.out


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


def test_bands_when_exchange_then_exit_3_live_public_data_not_available(run):
    r = run("bands", BTC, "--exchange", "binanceusdm")
    assert r.code == ExitCode.UNKNOWN and "live public market data is not available yet" in r.err


def test_bands_when_no_source_or_two_sources_then_exit_3(run, write):
    assert run("bands", BTC).code == ExitCode.UNKNOWN
    path = _snapshot(write)
    r = run("bands", BTC, "--snapshot", path, "--config", path, "--format", "json")
    assert r.code == ExitCode.UNKNOWN
    assert r.json()["schema"] == "riskguard.bands/1" and "exactly one of --config" in r.json()["error"]["message"]
