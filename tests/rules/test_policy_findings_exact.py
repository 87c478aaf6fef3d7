"""The built-in limits' findings, each one exactly (code, message, symbol, measured value, limit) and each
comparison at its boundary: a figure equal to a limit meets it.  The findings are what ``riskguard check``
prints and what its exit code counts, so every field is pinned."""

from __future__ import annotations

from types import SimpleNamespace

from riskguard.risk.account_risk import PriceSource
from riskguard.rules.codes import ReasonCode as C
from riskguard.rules.policy_check import CLOCK_SKEW_MS, Finding, _data_findings, _position_findings, _timestamp_findings

POLICY = SimpleNamespace(max_liquidation_gap_bp=50.0, min_liquidation_buffer_pct=5.0, buffer_warning=10.0,
                         max_effective_leverage=20.0, leverage_warning=10.0, max_data_age_s=60.0)
S = "BTC/USDT:USDT"


def _p(**kw):
    fields = dict(symbol=S, liquidation_source=PriceSource.COMPUTED, unavailable_reason=None, is_estimate=False,
                  liquidation_gap_bp=None, liquidation_price=90.0, venue_liquidation_price=None, margin_mode="cross",
                  margin_ratio=0.1, buffer_pct=None, effective_leverage=1.0)
    return SimpleNamespace(**{**fields, **kw})


def test_price_source_findings_name_why():
    assert _position_findings(_p(liquidation_source=PriceSource.UNAVAILABLE), POLICY) == [
        Finding(C.LIQUIDATION_PRICE_UNAVAILABLE, "no inputs", S)]
    assert _position_findings(_p(liquidation_source=PriceSource.UNAVAILABLE, unavailable_reason="NO_TIERS"),
                              POLICY) == [Finding(C.LIQUIDATION_PRICE_UNAVAILABLE, "NO_TIERS", S)]
    assert _position_findings(_p(liquidation_source=PriceSource.VENUE), POLICY) == [
        Finding(C.LIQUIDATION_PRICE_FROM_VENUE, "computed price unavailable; venue value", S)]
    assert _position_findings(_p(liquidation_source=PriceSource.NONE), POLICY) == [
        Finding(C.NO_LIQUIDATION_PRICE, "no price liquidates this position", S)]
    assert _position_findings(_p(is_estimate=True), POLICY) == [
        Finding(C.LIQUIDATION_PRICE_ESTIMATE, "venue liquidates on an account ratio", S)]
    assert _position_findings(_p(), POLICY) == []


def test_gap_at_the_limit_meets_it_and_beyond_either_way_is_reported():
    assert _position_findings(_p(liquidation_gap_bp=50.0, venue_liquidation_price=90.45), POLICY) == []
    assert _position_findings(_p(liquidation_gap_bp=-50.5, venue_liquidation_price=90.456), POLICY) == [
        Finding(C.LIQUIDATION_PRICE_GAP, "computed 90 vs venue 90.456", S, -50.5, 50.0)]


def test_isolated_at_maintenance_is_liquidatable_just_under_it_is_not():
    assert _position_findings(_p(margin_mode="isolated", margin_ratio=1.0), POLICY) == [
        Finding(C.ALREADY_LIQUIDATABLE, "equity at or below maintenance margin", S, 1.0, 1.0)]
    assert _position_findings(_p(margin_mode="isolated", margin_ratio=0.999), POLICY) == []
    assert _position_findings(_p(margin_ratio=1.0), POLICY) == []  # a cross position: its pool is judged


def test_buffer_at_each_limit_meets_it():
    assert _position_findings(_p(buffer_pct=4.999), POLICY) == [
        Finding(C.LIQUIDATION_BUFFER_BELOW_MIN, "5.00% from liquidation", S, 4.999, 5.0)]
    assert _position_findings(_p(buffer_pct=5.0), POLICY) == [
        Finding(C.LIQUIDATION_BUFFER_BELOW_WARN, "5.00% from liquidation", S, 5.0, 10.0)]
    assert _position_findings(_p(buffer_pct=10.0), POLICY) == []


def test_isolated_leverage_at_each_limit_meets_it_and_cross_is_left_to_the_pool():
    iso = dict(margin_mode="isolated")
    assert _position_findings(_p(effective_leverage=20.001, **iso), POLICY) == [
        Finding(C.EFFECTIVE_LEVERAGE_ABOVE_MAX, "effective leverage 20.00x", S, 20.001, 20.0)]
    assert _position_findings(_p(effective_leverage=20.0, **iso), POLICY) == [
        Finding(C.EFFECTIVE_LEVERAGE_ABOVE_WARN, "effective leverage 20.00x", S, 20.0, 10.0)]
    assert _position_findings(_p(effective_leverage=10.0, **iso), POLICY) == []
    assert _position_findings(_p(effective_leverage=25.0), POLICY) == []


def test_timestamp_ahead_beyond_the_skew_is_inconsistent_and_older_than_the_limit_is_stale():
    now = 1_000_000_000
    assert _timestamp_findings("position", None, now, POLICY, S) == []
    assert _timestamp_findings("position", now + CLOCK_SKEW_MS, now, POLICY, S) == []
    assert _timestamp_findings("position", now + CLOCK_SKEW_MS + 1_000, now, POLICY, S) == [
        Finding(C.DATA_INCONSISTENT, "position timestamp is 6s after the snapshot was taken", S, -6.0)]
    assert _timestamp_findings("mark price", now - 60_000, now, POLICY, S) == []
    assert _timestamp_findings("mark price", now - 61_000, now, POLICY, S) == [
        Finding(C.DATA_STALE, "mark price is 61s old", S, 61.0, 60.0)]


def _data(position, quote, issues=()):
    now = 1_000_000_000
    account = SimpleNamespace(data_issues=issues, venue="okx", positions=(position,))
    snapshot = SimpleNamespace(taken_at_ms=now, venues={"okx": SimpleNamespace(quotes={S: quote} if quote else {})})
    return _data_findings(account, snapshot, POLICY)


def test_data_findings_name_each_missing_or_contradicting_input():
    now = 1_000_000_000
    fresh = SimpleNamespace(symbol=S, timestamp_ms=now, changed_ms=None, mark_price=100.0)
    quote = SimpleNamespace(timestamp_ms=now, mark_price=100.0)
    assert _data(fresh, quote) == []
    issue = SimpleNamespace(code="DATA_MISSING", where="positions[0].markPrice", message="absent", symbol=S)
    assert _data(fresh, quote, (issue,)) == [Finding(C.DATA_MISSING, "positions[0].markPrice: absent", S)]
    assert _data(SimpleNamespace(**{**vars(fresh), "timestamp_ms": None}), quote) == [
        Finding(C.DATA_MISSING, "position has no timestamp: its age is unknown", S)]
    ahead = SimpleNamespace(**{**vars(fresh), "changed_ms": now + CLOCK_SKEW_MS + 2_000})
    assert _data(ahead, quote) == [
        Finding(C.DATA_INCONSISTENT, "position last changed 7s after the snapshot was taken", S, -7.0)]
    assert _data(SimpleNamespace(**{**vars(fresh), "changed_ms": now + CLOCK_SKEW_MS}), quote) == []
    assert _data(fresh, None) == [Finding(C.DATA_MISSING, "no mark-price ticker for this market", S)]
    # marks 0.5% apart agree; further apart they contradict each other
    assert _data(SimpleNamespace(**{**vars(fresh), "mark_price": 100.5}), quote) == []
    assert _data(SimpleNamespace(**{**vars(fresh), "mark_price": 100.6}), quote) == [
        Finding(C.DATA_INCONSISTENT, "position mark 100.6 vs ticker mark 100", S)]


def test_data_findings_say_which_timestamp_is_stale():
    now = 1_000_000_000
    old = SimpleNamespace(symbol=S, timestamp_ms=now - 61_000, changed_ms=None, mark_price=100.0)
    assert _data(old, SimpleNamespace(timestamp_ms=now - 62_000, mark_price=100.0)) == [
        Finding(C.DATA_STALE, "position is 61s old", S, 61.0, 60.0),
        Finding(C.DATA_STALE, "mark price is 62s old", S, 62.0, 60.0)]


def test_data_findings_when_one_market_has_no_ticker_then_the_next_positions_are_still_checked():
    now = 1_000_000_000
    eth = "ETH/USDT:USDT"
    positions = (SimpleNamespace(symbol=S, timestamp_ms=now, changed_ms=None, mark_price=100.0),
                 SimpleNamespace(symbol=eth, timestamp_ms=now - 61_000, changed_ms=None, mark_price=10.0))
    account = SimpleNamespace(data_issues=(), venue="okx", positions=positions)
    quotes = {eth: SimpleNamespace(timestamp_ms=now, mark_price=10.0)}
    snapshot = SimpleNamespace(taken_at_ms=now, venues={"okx": SimpleNamespace(quotes=quotes)})
    assert _data_findings(account, snapshot, POLICY) == [
        Finding(C.DATA_MISSING, "no mark-price ticker for this market", S),
        Finding(C.DATA_STALE, "position is 61s old", eth, 61.0, 60.0)]


def test_tier_table_short_of_the_size_at_the_liquidation_price_then_incomplete_with_both_figures():
    from dataclasses import replace

    from riskguard.model import MarginTier
    from riskguard.rules.policy_check import _tier_findings
    from tests.rules.accounts import market

    # a short of 2 at mark 100 (200 of notional) liquidated at 120 (240): a table capped at 220 covers it at
    # mark, not at its liquidation price; capped at 240 it covers both
    def findings(cap, liq=120.0):
        m = replace(market(S), tiers=(MarginTier(0, cap, 0.01, 0.0, 50),))
        snapshot = SimpleNamespace(venues={"okx": SimpleNamespace(markets={S: m})})
        risk = SimpleNamespace(positions=[SimpleNamespace(symbol=S, contracts=2.0, mark_price=100.0,
                                                          liquidation_price=liq)])
        return _tier_findings(SimpleNamespace(venue="okx"), snapshot, risk)

    assert findings(220.0) == [Finding(C.TIER_TABLE_INCOMPLETE, "tier table ends at 220 (quote_notional), below the "
                                       "position's 240 at its liquidation price 120", S, 240.0, 220.0)]
    assert findings(240.0) == []
    assert findings(190.0) == []  # short of the size at mark already: the normalizer reports that one
    assert findings(220.0, liq=None) == []


def test_tier_table_findings_go_on_past_a_position_the_table_covers():
    from dataclasses import replace

    from riskguard.model import MarginTier
    from riskguard.rules.policy_check import _tier_findings
    from tests.rules.accounts import market

    eth = "ETH/USDT:USDT"
    covered = replace(market(S), tiers=(MarginTier(0, 1e9, 0.01, 0.0, 50),))
    short = replace(market(eth), tiers=(MarginTier(0, 220.0, 0.01, 0.0, 50),))
    snapshot = SimpleNamespace(venues={"okx": SimpleNamespace(markets={S: covered, eth: short})})
    risk = SimpleNamespace(positions=[
        SimpleNamespace(symbol=S, contracts=2.0, mark_price=100.0, liquidation_price=120.0),
        SimpleNamespace(symbol=eth, contracts=2.0, mark_price=100.0, liquidation_price=120.0)])
    assert _tier_findings(SimpleNamespace(venue="okx"), snapshot, risk) == [
        Finding(C.TIER_TABLE_INCOMPLETE, "tier table ends at 220 (quote_notional), below the position's 240 at its "
                "liquidation price 120", eth, 240.0, 220.0)]
