"""Metric values a rule reads, worked by hand, and the reason each one gives when it is unknown.

Accounts from tests/rules/accounts.py: flat 1% maintenance rate, marks at 100, funding 0.0001 per 8 h.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from riskguard.model import Side, VenueMarkets
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.metrics import MetricTable
from tests.rules.accounts import TAKEN_AT, account, position, venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _table(acct, markets=None, signals=None):
    markets = markets or venue(BTC, ETH)
    return MetricTable(acct, markets, evaluate_account(acct, markets), signals, TAKEN_AT)


def _signals(distance=None, proximity=None, band_status="ok", band_reason=None, slippage=None):
    return [SimpleNamespace(
        distance=distance or SimpleNamespace(sigma_buffer=None, touch_probability=None, reason=None),
        band_proximity=SimpleNamespace(status=band_status, proximity=proximity, reason=band_reason),
        exit=SimpleNamespace(exit_slippage_bp=slippage, reason=None), stops=None)]


def _one(**kw):
    return _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0)), signals=_signals(**kw))


SIGNAL_METRICS = ["liquidation_buffer_sigma", "touch_probability", "band_distance_pct", "band_notional",
                  "liquidation_in_band", "exit_slippage_bp"]


@pytest.mark.parametrize("name", SIGNAL_METRICS)
def test_signal_metrics_when_signals_were_not_computed_then_unknown_no_signals(name):
    t = _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0)))
    assert t.position(name, 0) == (None, "NO_SIGNALS: market signals were not computed")


def test_sigma_and_touch_when_known_then_the_signal_values_else_its_reason():
    t = _one(distance=SimpleNamespace(sigma_buffer=3.5, touch_probability=0.02, reason=None))
    assert (t.position("liquidation_buffer_sigma", 0), t.position("touch_probability", 0)) == ((3.5, None),
                                                                                               (0.02, None))
    t = _one(distance=SimpleNamespace(sigma_buffer=None, touch_probability=None, reason="NO_CANDLES: none"))
    assert t.position("liquidation_buffer_sigma", 0) == (None, "NO_CANDLES: none")
    assert t.position("touch_probability", 0) == (None, "NO_CANDLES: none")
    t = _one()  # unknown and no reason given: still says so
    assert t.position("liquidation_buffer_sigma", 0) == (None, "unknown")
    assert t.position("touch_probability", 0) == (None, "unknown")


def test_band_metrics_distance_is_unsigned_notional_is_the_nearest_bands():
    band = SimpleNamespace(notional=2.5e6)
    t = _one(proximity=SimpleNamespace(nearest_band=band, distance_pct=-3.25, liquidation_in_band=True))
    assert t.position("band_distance_pct", 0) == (3.25, None)
    assert t.position("band_notional", 0) == (2.5e6, None)
    assert t.position("liquidation_in_band", 0) == (1.0, None)
    t = _one(proximity=SimpleNamespace(nearest_band=band, distance_pct=None, liquidation_in_band=False))
    assert t.position("band_distance_pct", 0) == (None, "unknown")
    assert t.position("liquidation_in_band", 0) == (0.0, None)


def test_band_metrics_when_no_adverse_band_or_no_estimate_then_unknown_with_why():
    t = _one(proximity=SimpleNamespace(nearest_band=None, distance_pct=None, liquidation_in_band=False))
    why = "NO_ADVERSE_BAND: no crowded band on the position's adverse side"
    assert t.position("band_distance_pct", 0) == (None, why) and t.position("band_notional", 0) == (None, why)
    t = _one(band_status="unknown", band_reason="NO_OPEN_INTEREST: x")
    assert t.position("band_distance_pct", 0) == (None, "NO_OPEN_INTEREST: x")
    assert t.position("liquidation_in_band", 0) == (None, "NO_OPEN_INTEREST: x")
    t = _one(band_status="unknown")
    assert t.position("band_notional", 0) == (None, "BANDS_UNKNOWN")
    assert t.position("liquidation_in_band", 0) == (None, "BANDS_UNKNOWN")
    # A status that is not ok with a proximity still computed (partial data) is not read as a value.
    proximity = SimpleNamespace(nearest_band=None, distance_pct=None, liquidation_in_band=True)
    t = _one(proximity=proximity, band_status="unknown", band_reason="STALE")
    assert t.position("liquidation_in_band", 0) == (None, "STALE")


def test_liquidation_gap_is_the_absolute_bp_difference_from_the_venues_price():
    # Isolated long 1 @ 100, margin 10: 10 + (P − 100) = 0.01P → LP 90/0.99 = 90.909; the venue says 91:
    # (90.909 − 91)/91 = −9.99 bp, read as 9.99.
    p = replace(position(BTC, Side.LONG, 1.0, isolated_margin=10.0), venue_liquidation_price=91.0)
    value, reason = _table(account(p)).position("liquidation_gap_bp", 0)
    assert reason is None and value == pytest.approx((91 - 90 / 0.99) / 91 * 1e4, rel=1e-9)
    assert _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0))).position("liquidation_gap_bp", 0) == (
        None, "NO_VENUE_PRICE: no venue liquidation price to compare")


def test_data_age_is_the_older_stamp_and_unknown_without_any():
    p = position(BTC, Side.LONG, 1.0, isolated_margin=10.0)  # 2 s old; its mark 1 s
    assert _table(account(p)).position("data_age_s", 0) == (2.0, None)
    assert _table(account(replace(p, timestamp_ms=None))).position("data_age_s", 0) == (1.0, None)
    base = venue(BTC)
    no_quote = VenueMarkets(base.venue, base.markets)
    t = _table(account(replace(p, timestamp_ms=None)), no_quote)
    assert t.position("data_age_s", 0) == (
        None, "NO_TIMESTAMP: neither the position nor its mark price carries a timestamp")
    assert t.account_value("max_data_age_s") == (None, "NO_TIMESTAMP: no position carries a timestamp")


def test_account_buffer_is_the_smallest_and_unknown_if_any_is():
    # Isolated BTC margin 10: 9.09%; isolated ETH margin 20: 20 + (P − 100) = 0.01P → 80/0.99, 19.19%.
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0),
                   position(ETH, Side.LONG, 1.0, isolated_margin=20.0))
    value, reason = _table(acct).account_value("account_buffer_pct")
    assert reason is None and value == pytest.approx((100 - 90 / 0.99), rel=1e-9)
    assert _table(account()).account_value("account_buffer_pct") == (float("inf"), None)


def test_buffer_after_funding_when_cross_and_isolated_then_each_pays_from_its_own_margin():
    # Funding 0.0001 every 8 h on 100 of notional: 3 × 0.01 = 0.03 a day.
    # Cross ETH long, wallet 20: 19.97 + (P − 100) = 0.01P → LP 80.03/0.99, buffer 100 − 80.8384 = 19.1616%.
    # Isolated BTC long, margin 10: 9.97 + (P − 100) = 0.01P → LP 90.03/0.99, buffer 9.0606%.
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0), position(ETH, Side.LONG, 1.0), wallet=20.0)
    t = _table(acct)
    iso, cross = t.position("buffer_after_funding_pct", 0), t.position("buffer_after_funding_pct", 1)
    assert iso[1] is None and iso[0] == pytest.approx(100 - 90.03 / 0.99, rel=1e-9)
    assert cross[1] is None and cross[0] == pytest.approx(100 - 80.03 / 0.99, rel=1e-9)
    assert t.position("funding_drain", 0) == (pytest.approx(0.03, rel=1e-12), None)


def test_buffer_after_funding_when_short_receives_then_its_buffer_grows():
    # Short ETH, wallet 20: LP (20 + 100)/1.01 = 118.81 now; it receives 0.03: (20.03 + 100)/1.01 = 118.84.
    acct = account(position(ETH, Side.SHORT, 1.0), wallet=20.0)
    value, reason = _table(acct).position("buffer_after_funding_pct", 0)
    assert reason is None and value == pytest.approx(120.03 / 1.01 - 100, rel=1e-9)


def test_buffer_after_funding_when_a_rate_is_missing_then_unknown():
    acct = account(position(ETH, Side.LONG, 1.0), wallet=20.0)
    t = _table(acct, venue(BTC, ETH, funding=None))
    assert t.position("buffer_after_funding_pct", 0) == (
        None, "NO_FUNDING: a position of the account has no funding rate")
