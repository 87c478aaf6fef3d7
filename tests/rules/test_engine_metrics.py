"""Metrics read from market data: numbers by hand from the recorded history, and unknown (with why) without it."""

from __future__ import annotations

import json

import pytest
from docs_factory import TAKEN_AT as DOC_TAKEN_AT
from market_factory import isolated_btc_doc

from riskguard.check import load_snapshot_accounts
from riskguard.market_view import SymbolViews, account_signals
from riskguard.model import Side
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.metrics import MetricTable
from tests.rules.accounts import TAKEN_AT, account, position, venue

BTC = "BTC/USDT:USDT"


def _table(acct, markets, taken_at, orders=None):
    risk = evaluate_account(acct, markets)
    signals = account_signals(SymbolViews(), "t", markets, taken_at, risk, orders)
    return MetricTable(acct, markets, risk, signals, taken_at)


def test_open_interest_change_and_funding_from_the_recorded_history(tmp_path):
    doc = isolated_btc_doc()
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    (loaded,) = load_snapshot_accounts(path, "iso")
    markets = loaded.snapshot.venues["binanceusdm"]
    t = _table(loaded.account, markets, loaded.snapshot.taken_at_ms, loaded.account.open_orders)
    rows = {r["timestamp"]: r["openInterestAmount"] for r in doc["venues"]["binanceusdm"]["open_interest_history"][BTC]}
    end = max(ts for ts in rows if ts <= DOC_TAKEN_AT)
    expected = (rows[end] / rows[end - 86_400_000] - 1) * 100
    assert t.position("oi_change_pct", 0)[0] == pytest.approx(expected, rel=1e-12)
    # nine 8-hourly rates over three days: too few for a z-score, which stays unknown rather than 0
    value, reason = t.position("funding_zscore", 0)
    assert value is None and reason.startswith("TOO_SHORT: 9 funding points")
    assert t.position("exit_slippage_bp", 0)[0] > 0


def test_market_metrics_without_market_data_are_unknown_with_the_reason():
    t = _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0)), venue(BTC), TAKEN_AT)
    for name, why in [("band_distance_pct", "BANDS_UNKNOWN"), ("band_notional", "BANDS_UNKNOWN"),
                      ("liquidation_in_band", "BANDS_UNKNOWN"), ("stop_in_band", "NO_OPEN_ORDERS"),
                      ("stop_beyond_liquidation", "NO_OPEN_ORDERS"), ("exit_slippage_bp", "EMPTY_BOOK"),
                      ("liquidation_buffer_sigma", "NO_CANDLES"), ("touch_probability", "NO_CANDLES"),
                      ("oi_change_pct", "NO_OPEN_INTEREST"), ("funding_zscore", "NO_FUNDING"),
                      ("liquidation_gap_bp", "NO_VENUE_PRICE"), ("adl_rank", "NO_ADL_RANK")]:
        value, reason = t.position(name, 0)
        assert value is None and reason is not None and why in reason, (name, reason)
    assert t.position("data_age_s", 0) == (2.0, None)  # the position is 2 s old, its mark 1 s
    assert t.account_value("cross_margin_ratio")[1].startswith("NO_CROSS")


def test_stops_recorded_but_none_is_zero_not_unknown():
    t = _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0)), venue(BTC), TAKEN_AT, orders=())
    assert t.position("stop_beyond_liquidation", 0) == (0.0, None)


def test_funding_zscore_is_signed_by_who_pays():
    import statistics

    from riskguard.model import MarketSeries, Quote, VenueMarkets

    history = tuple((TAKEN_AT - (40 - i) * 8 * 3_600_000, 0.0001 * (1 + (i % 3))) for i in range(40))
    base = venue(BTC)
    markets = VenueMarkets(base.venue, base.markets, {BTC: Quote(100.0, TAKEN_AT - 1_000, funding_rate=0.0005)},
                           {BTC: MarketSeries(funding=history)})
    rates = [r for ts, r in history if ts >= TAKEN_AT - 30 * 86_400_000]
    z = (0.0005 - statistics.mean(rates)) / statistics.stdev(rates)
    long = _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0)), markets, TAKEN_AT)
    short = _table(account(position(BTC, Side.SHORT, 1.0, isolated_margin=10.0)), markets, TAKEN_AT)
    assert long.position("funding_zscore", 0)[0] == pytest.approx(z, rel=1e-9)  # the long pays more than usual
    assert short.position("funding_zscore", 0)[0] == pytest.approx(-z, rel=1e-9)


def test_signals_are_computed_only_for_the_positions_a_rule_reads(tmp_path, monkeypatch):
    """The daemon evaluates every account on every tick: a position's signals (its symbol's bands, book fill,
    volatility) are computed when a metric reads them, once, and equal what the whole set would hold."""
    import riskguard.market_view as mv

    path = tmp_path / "s.json"
    path.write_text(json.dumps(isolated_btc_doc()))
    (loaded,) = load_snapshot_accounts(path, "iso")
    markets, taken_at = loaded.snapshot.venues["binanceusdm"], loaded.snapshot.taken_at_ms
    risk = evaluate_account(loaded.account, markets)
    calls = []
    real = mv.position_signals
    monkeypatch.setattr(mv, "position_signals", lambda *a: calls.append(a[1].symbol) or real(*a))
    signals = account_signals(SymbolViews(), "t", markets, taken_at, risk, loaded.account.open_orders)
    t = MetricTable(loaded.account, markets, risk, signals, taken_at)
    assert t.position("liquidation_buffer_pct", 0)[0] is not None and calls == []  # the risk core's figure only
    slippage = t.position("exit_slippage_bp", 0)
    t.position("band_distance_pct", 0)
    assert calls == [BTC]  # computed at the first read, kept for the next
    eager = real(SymbolViews().get("t", markets, BTC, taken_at), risk.positions[0], loaded.account.open_orders)
    assert signals[0] == eager and slippage[0] == eager.exit.exit_slippage_bp
