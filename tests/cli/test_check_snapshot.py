"""`riskguard check --snapshot`: numbers, exit codes and the JSON contract on the Binance FAQ account."""

from __future__ import annotations

import pytest
from docs_factory import binance_cross_doc

from riskguard.rules.codes import ExitCode

POSITION_KEYS = {
    "symbol",
    "side",
    "contracts",
    "entry_price",
    "mark_price",
    "liquidation_price",
    "venue_liquidation_price",
    "bankruptcy_price",
    "margin_ratio",
    "buffer_pct",
    "status",
}


def test_check_when_faq_cross_account_then_reproduces_binance_liquidation_prices(run, write):
    r = run("check", "--snapshot", str(write("s.json", binance_cross_doc())), "--format", "json")
    doc = r.json()
    (account,) = doc["accounts"]
    # Each position alone is 13.6 % / 17.7 % from liquidation; all marks falling together, 7.69 % liquidates the
    # pool, below the default warning (2 × the 5 % minimum): the account warns, exit 1.
    (cross,) = account["cross"]
    assert cross["uniform_move"]["down_pct"] == pytest.approx(7.694211146, abs=1e-8)
    (finding,) = account["findings"]
    assert (finding["code"], finding["severity"], finding["limit"]) == ("UNIFORM_MOVE_BELOW_WARN", "warning", 10.0)
    assert r.code == ExitCode.WARNING and doc["status"] == "warning" and doc["exit_code"] == 1
    assert account["name"] == "faq-cross" and account["status"] == "warning"
    assert {p["status"] for p in account["positions"]} == {"ok"}
    prices = {p["symbol"]: p for p in account["positions"]}
    assert set(prices["BTC/USDT:USDT"]) >= POSITION_KEYS
    assert round(prices["BTC/USDT:USDT"]["liquidation_price"], 2) == 26316.89
    assert round(prices["ETH/USDT:USDT"]["liquidation_price"], 2) == 1153.26
    assert abs(prices["ETH/USDT:USDT"]["liquidation_gap_bp"]) < 1
    assert prices["BTC/USDT:USDT"]["liquidation_price_source"] == "computed"


def test_check_when_mark_near_liquidation_then_breach_exit_2(run, write):
    doc = binance_cross_doc()
    for pos in doc["accounts"][0]["positions"]:
        if pos["symbol"].startswith("ETH"):
            pos["markPrice"] = 1180.0
            pos["info"]["markPrice"] = "1180.0"
    doc["venues"]["binanceusdm"]["tickers"]["ETH/USDT:USDT"]["markPrice"] = 1180.0
    r = run("check", "--snapshot", str(write("s.json", doc)), "--format", "json")
    assert r.code == ExitCode.BREACH
    codes = {f["code"] for p in r.json()["accounts"][0]["positions"] for f in p["findings"]}
    assert "LIQUIDATION_BUFFER_BELOW_MIN" in codes


def test_check_when_venue_price_differs_by_more_than_1bp_then_gap_finding(run, write):
    doc = binance_cross_doc()
    doc["accounts"][0]["positions"][0]["info"]["liquidationPrice"] = "26400"
    r = run("check", "--snapshot", str(write("s.json", doc)), "--format", "json")
    btc = r.json()["accounts"][0]["positions"][0]
    gap = [f for f in btc["findings"] if f["code"] == "LIQUIDATION_PRICE_GAP"]
    assert gap and gap[0]["value"] == pytest.approx((26316.893264 - 26400) / 26400 * 1e4, abs=1e-3)
    assert r.code == ExitCode.WARNING


def test_check_when_mark_price_is_stale_then_unknown_exit_3(run, write):
    doc = binance_cross_doc()
    doc["venues"]["binanceusdm"]["tickers"]["BTC/USDT:USDT"]["timestamp"] = doc["taken_at"] - 3_600_000
    r = run("check", "--snapshot", str(write("s.json", doc)), "--format", "json")
    assert r.code == ExitCode.UNKNOWN
    assert any(f["code"] == "DATA_STALE" for f in r.json()["accounts"][0]["findings"])


def test_check_when_table_format_then_prints_both_prices_at_tick_and_status(run, write):
    r = run("check", "--snapshot", str(write("s.json", binance_cross_doc())))
    assert r.code == ExitCode.WARNING
    # BTC tick 0.1: computed 26,316.893 and venue 26,316.89 both print as 26,316.9 (long: rounded toward mark)
    btc = next(line for line in r.out.splitlines() if line.startswith("│ BTC/USDT:USDT"))  # the positions table
    assert btc.count(" 26,316.9 ") == 2 and "26,316.89" not in btc
    assert "down −7.69%, up none liquidates" in r.out and "overall: WARNING" in r.out
