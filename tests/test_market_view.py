"""Market signals in `riskguard check`: numbers recomputed by hand, unknowns that stay local, bands once."""

from __future__ import annotations

import copy
import gc
import json
import math
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
from docs_factory import binance_cross_doc, binance_stop
from market_factory import isolated_btc_doc, with_market

from riskguard import market_view
from riskguard.check import check_snapshot
from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.snapshot_doc import parse_snapshot
from riskguard.report.check_json import check_document
from riskguard.risk.liqlevels import estimate_levels

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _check(tmp_path: Path, doc: dict) -> dict:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc))
    return check_document(check_snapshot(path, None))


def _positions(out: dict) -> dict[str, dict]:
    return {p["symbol"]: p for p in out["accounts"][0]["positions"]}


def test_check_when_market_history_present_then_signals_match_hand_computation(tmp_path):
    doc = with_market(binance_cross_doc())
    btc = _positions(_check(tmp_path, doc))[BTC]
    closes = np.array([row[4] for row in doc["venues"]["binanceusdm"]["ohlcv"][BTC]["rows"]])
    sigma_day = np.std(np.diff(np.log(closes)), ddof=1) * math.sqrt(86_400 / 300)
    d = math.log(btc["mark_price"] / btc["liquidation_price"]) / sigma_day
    assert btc["sigma_buffer"] == pytest.approx(d) and btc["touch_probability"] == pytest.approx(math.erfc(d / 2**0.5))
    assert btc["liquidation_distance"] == {"status": "ok", "reason": None, "horizon_seconds": 86_400}
    # 109.488 contracts into bids of 20 every 0.05 %: five full levels and 9.488 on the sixth
    slip_bp = 5 * (20 * (1 + 2 + 3 + 4 + 5) + 9.488 * 6) / 109.488
    assert btc["exit_slippage_bp"] == pytest.approx(slip_bp)
    assert btc["buffer_net_of_slippage_pct"] == pytest.approx(btc["buffer_pct"] - slip_bp / 100)
    prox = btc["band_proximity"]
    assert prox["status"] == "ok" and prox["nearest_band"]["side"] == "long"
    assert prox["distance_pct"] == prox["nearest_band"]["distance_pct"] < 0
    assert prox["notional_to_liquidation"] > prox["nearest_band"]["notional"]  # the band is on the way to LP
    assert isinstance(prox["liquidation_in_band"], bool)


def test_check_when_book_too_thin_then_exit_slippage_unknown_with_reason_not_zero(tmp_path):
    eth = _positions(_check(tmp_path, with_market(binance_cross_doc())))[ETH]
    assert eth["exit_slippage_bp"] is None and eth["buffer_net_of_slippage_pct"] is None
    assert eth["exit_liquidity"]["status"] == "unknown"
    assert eth["exit_liquidity"]["reason"] == "INSUFFICIENT_DEPTH: book holds 1000 of 3683.98 contracts"
    assert eth["exit_liquidity"]["unfilled_contracts"] == pytest.approx(2683.979)


def test_check_when_market_history_missing_then_signals_unknown_but_risk_status_unchanged(tmp_path):
    out = _check(tmp_path, binance_cross_doc())  # no candles, OI, funding or book at all
    with_history = _check(tmp_path, with_market(binance_cross_doc()))
    # warning, from the cross pool's 7.69 % uniform move (UNIFORM_MOVE_BELOW_WARN), with or without history
    assert out["status"] == with_history["status"] == "warning" and out["exit_code"] == 1
    for p in out["accounts"][0]["positions"]:
        assert p["liquidation_price"] is not None
        assert p["band_proximity"]["status"] == "unknown"
        assert p["band_proximity"]["reason"].startswith("BANDS_UNKNOWN: NO_CANDLES")
        assert p["band_proximity"]["distance_pct"] is None and p["band_proximity"]["notional_to_liquidation"] is None
        assert p["sigma_buffer"] is None and p["touch_probability"] is None
        assert p["liquidation_distance"]["status"] == "unknown"
        assert p["liquidation_distance"]["reason"].startswith("NO_CANDLES")
        assert p["exit_slippage_bp"] is None and p["exit_liquidity"]["reason"].startswith("EMPTY_BOOK")


def test_check_when_no_price_liquidates_then_infinite_buffers_are_null_with_ok_status(tmp_path):
    # 10,500 margin on a 10,000 long: bankrupt only below zero, so no liquidation price
    p = _positions(_check(tmp_path, isolated_btc_doc(margin=10_500)))[BTC]
    assert p["liquidation_price"] is None and p["liquidation_price_source"] == "none"
    assert p["sigma_buffer"] is None and p["touch_probability"] == 0.0
    assert p["liquidation_distance"] == {"status": "ok", "reason": "NO_LIQUIDATION_PRICE", "horizon_seconds": 86_400}
    assert p["exit_slippage_bp"] == pytest.approx(5.0)  # 1 contract at the best bid, 0.05 % below mark
    assert p["buffer_net_of_slippage_pct"] is None and p["exit_liquidity"]["reason"] == "NO_LIQUIDATION_PRICE"
    assert p["band_proximity"]["status"] == "ok" and p["band_proximity"]["notional_to_liquidation"] is None


# BTC bands of with_market(binance_cross_doc()), mark 31,967.27: the nearest long band is 31,423.83-31,583.66
# (25.2 M), a small one 26,181.19-26,341.03; the faq-cross BTC long liquidates at 26,316.89.
BTC_STOPS = [
    binance_stop(BTC, "sell", 50.0, 31_450.0, 11),  # inside the long band just below mark
    binance_stop(BTC, "sell", 109.488, 26_000.0, 12),  # below the liquidation price: never fires first
    binance_stop(BTC, "sell", 20.0, 30_000.0, 13),  # between bands
    binance_stop(BTC, "sell", 20.0, 34_000.0, 14),  # above mark: a take-profit, not a stop
    binance_stop(BTC, "buy", 20.0, 30_500.0, 15),  # buys: adds to the long
]


def test_check_when_stops_recorded_then_each_checked_against_bands_and_liquidation_price(tmp_path):
    doc = with_market(binance_cross_doc())
    doc["accounts"][0]["open_orders"] = BTC_STOPS
    positions = _positions(_check(tmp_path, doc))
    btc, eth = positions[BTC], positions[ETH]
    got = [(s["id"], s["trigger_price"], s["amount"], s["in_band"], s["beyond_liquidation"]) for s in btc["stops"]]
    assert got == [
        ("11", 31_450.0, 50.0, True, False),
        ("13", 30_000.0, 20.0, False, False),
        ("12", 26_000.0, 109.488, False, True),
    ]
    first = btc["stops"][0]
    assert first["order_type"] == "STOP_MARKET" and first["side"] == "sell" and first["reduce_only"] is True
    assert first["band"] == {"side": "long", "price_low": pytest.approx(30_784.48101),
                             "price_high": pytest.approx(31_583.66276), "notional": pytest.approx(137_866_399.48),
                             "distance_pct": pytest.approx(-1.2), "peak_price": pytest.approx(31_454.171580)}
    # the liquidation price 26,316.89 sits in the long band 26,181.19-26,341.03; the stop under it does not
    assert btc["band_proximity"]["stop_in_band"] is True and btc["band_proximity"]["liquidation_in_band"] is True
    assert eth["stops"] == [] and eth["band_proximity"]["stop_in_band"] is False


def test_check_when_open_orders_not_recorded_then_stops_null_not_empty(tmp_path):
    p = _positions(_check(tmp_path, with_market(binance_cross_doc())))[BTC]
    assert p["stops"] is None and p["band_proximity"]["stop_in_band"] is None


def test_check_when_bands_unknown_then_stops_listed_with_band_membership_unknown(tmp_path):
    doc = binance_cross_doc()  # no market history: bands unknown
    doc["accounts"][0]["open_orders"] = BTC_STOPS[:1]
    (stop,) = _positions(_check(tmp_path, doc))[BTC]["stops"]
    assert (stop["trigger_price"], stop["in_band"], stop["band"], stop["beyond_liquidation"]) == (31_450.0, None,
                                                                                                  None, False)


def test_check_table_when_stop_in_band_and_beyond_liquidation_then_both_said(tmp_path):
    doc = with_market(binance_cross_doc())
    doc["accounts"][0]["open_orders"] = BTC_STOPS
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc))
    from rich.console import Console

    from riskguard.report.check_table import render

    console = Console(width=250, record=True)
    render(check_snapshot(path, None), console)
    text = console.export_text()
    assert "31,450 (in band) +2" in text
    assert ("BTC/USDT:USDT stop 31,450 (STOP_MARKET, id 11) is inside the long liquidation band 30,784.481–"
            "31,583.663 (~137.9M): it fires into forced orders") in text
    assert ("BTC/USDT:USDT stop 26,000 (STOP_MARKET, id 12) is at or beyond the liquidation price: the position is "
            "liquidated before it fires") in text


def test_check_when_accounts_share_a_snapshot_then_bands_estimated_once_per_symbol(tmp_path, monkeypatch):
    doc = with_market(binance_cross_doc())
    doc["accounts"].append({**doc["accounts"][0], "name": "twin"})
    calls = _recorded_estimates(monkeypatch)
    out = _check(tmp_path, doc)
    assert len(out["accounts"]) == 2 and len(calls) == 2  # BTC and ETH, not four
    assert _positions(out)[BTC]["band_proximity"] == out["accounts"][1]["positions"][0]["band_proximity"]


def test_check_when_paper_path_then_matplotlib_and_ccxt_never_imported(tmp_path):
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(with_market(binance_cross_doc())))
    code = (
        "import sys\nfrom riskguard.cli import main\n"
        f"sys.argv = ['riskguard', 'check', '--snapshot', {str(path)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('matplotlib', 'ccxt') if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stderr.strip().endswith("[]"), proc.stderr[-2000:]
    assert "market signals" in proc.stdout and "σ-buffer" in proc.stdout


def test_market_history_when_oi_stamped_at_bar_close_then_each_bar_gets_its_closing_open_interest():
    doc = with_market(binance_cross_doc())
    from riskguard.connectors.normalize import build_snapshot
    from riskguard.connectors.snapshot_doc import parse_snapshot

    series = build_snapshot(parse_snapshot(doc, "t"), "t").venues["binanceusdm"].series[BTC]
    history, reason = market_view.market_history(series)
    assert reason is None and history is not None
    oi = [row["openInterestAmount"] for row in doc["venues"]["binanceusdm"]["open_interest_history"][BTC]]
    assert np.allclose(history.open_interest, oi) and history.size == 864
    assert np.all(history.funding_rate == 0.0001)


@pytest.mark.parametrize(("timeframe", "seconds"), [("1m", 60), ("5m", 300), ("4h", 14_400), ("1d", 86_400),
                                                    ("1M", 2_592_000), ("5 m", None), (None, None), ("m", None)])
def test_timeframe_seconds_when_ccxt_timeframe_then_seconds_or_none(timeframe, seconds):
    assert market_view.timeframe_seconds(timeframe) == seconds


def test_with_funding_floor_when_interval_known_then_floor_pro_rata_to_8_hours():
    from riskguard.market_view import with_funding_floor
    from riskguard.risk.liqlevels import EstimatorConfig

    hourly = [(i * 3_600_000, 0.0000125) for i in range(5)]
    assert with_funding_floor(EstimatorConfig(), hourly).attribution.funding_floor == pytest.approx(0.0000125)
    four_hourly = [(i * 14_400_000, 0.00005) for i in range(5)]
    assert with_funding_floor(EstimatorConfig(), four_hourly).attribution.funding_floor == pytest.approx(0.00005)
    assert with_funding_floor(EstimatorConfig(), hourly[:1]).attribution.funding_floor == 0.0001  # cannot tell


def _recorded_estimates(monkeypatch) -> list[tuple]:
    """Every call the market view makes of estimate_levels: (history, terms, config)."""
    calls: list[tuple] = []

    def recording(history, terms, config=None):
        calls.append((history, terms, config))
        return estimate_levels(history, terms, config)

    monkeypatch.setattr(market_view, "estimate_levels", recording)
    return calls


def _btc_view(doc: dict) -> market_view.SymbolView:
    """BTC's view from a snapshot built on its own: equal documents give equal, separate market series."""
    snapshot = build_snapshot(parse_snapshot(copy.deepcopy(doc), "doc"), "doc")
    return market_view.symbol_view(snapshot.venues["binanceusdm"], BTC, snapshot.taken_at_ms)


def test_shared_estimate_when_reads_hold_equal_history_then_estimated_once_and_read_only(monkeypatch):
    """The daemon's accounts each read the same shared history: one estimate for all, none can change it."""
    doc = with_market(binance_cross_doc())
    calls = _recorded_estimates(monkeypatch)
    first, second = _btc_view(doc), _btc_view(doc)
    assert first.bands.estimate is second.bands.estimate and len(calls) == 1
    assert first.bands.status == "ok" and first.bands.bands == second.bands.bands
    profile = first.bands.estimate.profile
    assert profile is not None
    with pytest.raises(ValueError, match="read-only"):
        profile.long_notional[0] = 0.0
    # A history that differs in one open-interest value is estimated apart, as estimate_levels alone does it.
    oi = doc["venues"]["binanceusdm"]["open_interest_history"][BTC]
    oi[len(oi) // 2]["openInterestAmount"] *= 1.05
    third = _btc_view(doc)
    assert len(calls) == 2 and third.bands.estimate is not first.bands.estimate
    assert third.bands.estimate.profile is not None
    fresh = estimate_levels(*calls[-1])
    assert fresh.profile is not None
    np.testing.assert_array_equal(third.bands.estimate.profile.long_notional, fresh.profile.long_notional)
    assert not np.array_equal(third.bands.estimate.profile.long_notional, profile.long_notional)


def test_shared_estimate_when_no_read_holds_it_then_the_memo_lets_it_go():
    view = _btc_view(with_market(binance_cross_doc()))
    held = weakref.ref(view.bands.estimate)
    del view
    gc.collect()
    assert held() is None
