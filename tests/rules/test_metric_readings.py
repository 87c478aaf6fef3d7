"""Each metric's reading at its edges: the exact reason an unknown value gives (a rule's UNKNOWN finding
shows it to the user, and the reason code before the colon is stable), and the value where it is known.

Accounts from tests/rules/accounts.py: flat 1% maintenance rate, marks at 100, funding 0.0001 per 8 h.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest

from riskguard.model import MarketSeries, Side, VenueMarkets
from riskguard.risk.account_risk import PriceSource, evaluate_account
from riskguard.risk.uniform_move import UniformMove
from riskguard.rules import metrics
from riskguard.rules.metrics import MetricTable
from tests.rules.accounts import TAKEN_AT, account, position, venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
HOUR = 3_600_000


def _table(acct, markets=None, signals=None, moves=None):
    markets = markets or venue(BTC, ETH)
    return MetricTable(acct, markets, evaluate_account(acct, markets), signals, TAKEN_AT, moves)


def _isolated():
    return account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0))


def _with_series(markets: VenueMarkets, **series) -> VenueMarkets:
    return VenueMarkets(markets.venue, markets.markets, markets.quotes, {BTC: MarketSeries(**series)})


def test_buffer_when_unavailable_without_a_reason_then_says_no_inputs():
    r = SimpleNamespace(liquidation_source=PriceSource.UNAVAILABLE, buffer_pct=None, unavailable_reason=None)
    assert metrics._buffer(r) == (None, "LIQUIDATION_PRICE_UNAVAILABLE: no inputs")
    r.unavailable_reason = "NO_TIERS: x"
    assert metrics._buffer(r) == (None, "LIQUIDATION_PRICE_UNAVAILABLE: NO_TIERS: x")


def test_equity_ratios_when_equity_is_gone_then_unknown_not_infinite():
    assert metrics._equity_ratio(math.inf, "effective_leverage") == (
        None, "effective_leverage: equity is zero or negative")
    assert metrics._equity_ratio(2.5, "effective_leverage") == (2.5, None)


def _stops_table(*flags):
    stops = None if flags == (None,) else tuple(SimpleNamespace(beyond_liquidation=f, in_band=f) for f in flags)
    return _table(_isolated(), signals=[SimpleNamespace(stops=stops)])


def test_stop_flags_when_any_stop_is_bad_then_one_when_unknown_then_why():
    assert _stops_table(None).position("stop_beyond_liquidation", 0) == (
        None, "NO_OPEN_ORDERS: the snapshot did not record open orders")
    assert _stops_table(False, True).position("stop_beyond_liquidation", 0) == (1.0, None)
    assert _stops_table(True, None).position("stop_in_band", 0) == (1.0, None)  # one bad stop is known bad
    assert _stops_table(False, None).position("stop_in_band", 0) == (
        None, "IN_BAND_UNKNOWN: the liquidation price or the bands are unknown")
    assert _stops_table(False, False).position("stop_beyond_liquidation", 0) == (0.0, None)
    assert _stops_table().position("stop_beyond_liquidation", 0) == (0.0, None)  # no stops: none is bad


def test_funding_metrics_when_no_rate_then_no_funding_reason():
    t = _table(_isolated(), venue(BTC, funding=None))
    assert t.position("funding_drain", 0) == (None, "NO_FUNDING: the snapshot has no funding rate for this symbol")
    assert t.position("funding_zscore", 0) == (None, "NO_FUNDING: the snapshot has no funding rate for this symbol")


def test_oi_change_when_missing_or_too_short_then_why_else_the_change():
    assert _table(_isolated(), venue(BTC)).position("oi_change_pct", 0) == (
        None, "NO_OPEN_INTEREST: the snapshot has no open interest for this symbol")
    # one sample: no start for the 24 h window, so the change is unknown with the crowding module's reason
    value, reason = _table(_isolated(), _with_series(venue(BTC), open_interest=((TAKEN_AT - HOUR, 500.0),))
                           ).position("oi_change_pct", 0)
    assert value is None and reason and reason != "unknown"
    # 500 a day ago, 600 now: +20%
    oi = ((TAKEN_AT - 24 * HOUR, 500.0), (TAKEN_AT, 600.0))
    assert _table(_isolated(), _with_series(venue(BTC), open_interest=oi)).position("oi_change_pct", 0) == (
        pytest.approx(20.0, rel=1e-12), None)


def test_oi_change_when_the_change_is_unknown_without_a_reason_then_says_unknown(monkeypatch):
    change = SimpleNamespace(change_pct=None, reason=None)
    monkeypatch.setattr(metrics, "open_interest_changes", lambda *a: (change,))
    t = _table(_isolated(), _with_series(venue(BTC), open_interest=((TAKEN_AT - HOUR, 500.0),)))
    assert t.position("oi_change_pct", 0) == (None, "unknown")


def test_exit_slippage_when_unknown_without_a_reason_then_says_unknown():
    t = _table(_isolated(), signals=[SimpleNamespace(exit=SimpleNamespace(exit_slippage_bp=None, reason=None))])
    assert t.position("exit_slippage_bp", 0) == (None, "unknown")
    t = _table(_isolated(), signals=[SimpleNamespace(exit=SimpleNamespace(exit_slippage_bp=12.5, reason=None))])
    assert t.position("exit_slippage_bp", 0) == (12.5, None)


def test_adl_rank_when_reported_then_the_rank_else_why():
    p = position(BTC, Side.LONG, 1.0, isolated_margin=10.0)
    assert _table(account(replace(p, adl_rank=4))).position("adl_rank", 0) == (4.0, None)
    assert _table(account(p)).position("adl_rank", 0) == (None, "NO_ADL_RANK: the venue does not report one")


def test_account_buffer_when_one_position_is_unknown_then_unknown_with_its_reason():
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0),
                   position(ETH, Side.LONG, 1.0, isolated_margin=20.0))
    t = _table(acct)
    unknown = replace(t.risk.positions[1], buffer_pct=None, liquidation_source=PriceSource.UNAVAILABLE,
                      unavailable_reason="NO_TIERS: ETH")
    t = MetricTable(acct, t.venue, replace(t.risk, positions=(t.risk.positions[0], unknown)), None, TAKEN_AT)
    assert t.account_value("account_buffer_pct") == (None, "LIQUIDATION_PRICE_UNAVAILABLE: NO_TIERS: ETH")


def test_cross_metrics_when_no_cross_position_then_no_cross():
    t = _table(_isolated(), moves=(UniformMove("USDT", 5.0, 7.0, 1),))
    why = "NO_CROSS: the account has no cross positions"
    assert t.account_value("cross_margin_ratio") == (None, why)
    assert t.account_value("uniform_adverse_move_pct") == (None, why)


def test_uniform_move_reads_the_callers_moves_else_computes_them_and_unknown_when_any_is():
    acct = account(position(BTC, Side.LONG, 1.0), wallet=20.0)
    computed = _table(acct).account_value("uniform_adverse_move_pct")
    # cross long 1 @ 100, wallet 20: 20 + (P − 100) = 0.01P → P = 80/0.99, a move of 19.19%
    assert computed == (pytest.approx(100 - 80 / 0.99, rel=1e-9), None)
    given = (UniformMove("USDT", 7.5, math.inf, 1), UniformMove("USDC", 12.0, 3.0, 1))
    assert _table(acct, moves=given).account_value("uniform_adverse_move_pct") == (3.0, None)
    unknown = (UniformMove("USDT", 7.5, math.inf, 1), UniformMove("USDC", math.nan, math.nan, 1, "NO_TIERS: x"))
    assert _table(acct, moves=unknown).account_value("uniform_adverse_move_pct") == (
        None, "UNIFORM_MOVE_UNKNOWN: USDC: NO_TIERS: x")


def test_max_data_age_is_the_oldest_position():
    old = replace(position(ETH, Side.LONG, 1.0, isolated_margin=20.0), timestamp_ms=TAKEN_AT - 30_000)
    t = _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0), old))
    assert t.account_value("max_data_age_s") == (30.0, None)
