"""Rule comparisons, hysteresis, scopes and trading states, each asserted at its boundary."""

from __future__ import annotations

import math

import pytest

from riskguard.model import Side
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.codes import ReasonCode, Severity
from riskguard.rules.engine import evaluate_rules, fires
from riskguard.rules.metric_catalog import CATALOG
from riskguard.rules.metrics import ACCOUNT_METRICS, POSITION_METRICS, MetricTable
from riskguard.rules.schema import Op, Rule
from riskguard.rules.state import TradingState, next_state
from tests.rules.accounts import TAKEN_AT, account, position, venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def rule(**kw) -> Rule:
    base = {"name": "r", "metric": "liquidation_buffer_pct", "op": "below", "threshold": 8.0}
    return Rule.model_validate({**base, **kw})


def table(acct, markets):
    return MetricTable(acct, markets, evaluate_account(acct, markets), None, TAKEN_AT)


@pytest.mark.parametrize(
    ("op", "below", "at", "above"),
    [("below", True, False, False), ("at_or_below", True, True, False),
     ("above", False, False, True), ("at_or_above", False, True, True)],
)
def test_each_comparison_at_its_threshold(op, below, at, above):
    r = rule(op=op, threshold=8.0)
    assert [fires(r, v, False) for v in (math.nextafter(8.0, 0), 8.0, math.nextafter(8.0, 99))] == [below, at, above]


@pytest.mark.parametrize(
    ("op", "threshold", "release", "fresh", "held", "released"),
    [("below", 8.0, 10.0, 8.0, 9.999, 10.0), ("at_or_below", 8.0, 10.0, 8.001, 10.0, 10.001),
     ("above", 20.0, 15.0, 20.0, 15.001, 15.0), ("at_or_above", 20.0, 15.0, 19.999, 15.0, 14.999)],
)
def test_release_threshold_holds_a_firing_rule_until_passed(op, threshold, release, fresh, held, released):
    r = rule(op=op, threshold=threshold, release=release)
    assert not fires(r, fresh, was_firing=False)  # not yet past the threshold
    assert not fires(r, held, was_firing=False)  # inside the band, never fired: quiet
    assert fires(r, held, was_firing=True)  # inside the band, fired before: holds
    assert not fires(r, released, was_firing=True)  # at/past the release: lets go


def test_release_on_the_wrong_side_is_refused():
    with pytest.raises(ValueError, match="release 7 must be at or above the threshold 8"):
        rule(release=7.0)
    with pytest.raises(ValueError, match="release 21 must be at or below the threshold 20"):
        rule(op="above", threshold=20.0, release=21.0)
    assert rule(release=8.0).release == 8.0  # equal is allowed: plain threshold


def _isolated_btc(margin: float = 10.0):
    # 1 BTC long at 100, isolated margin 10, MMR 1%: 10 + (P − 100) = 0.01·P → P = 90/0.99, buffer 9.0909…%
    return account(position(BTC, Side.LONG, 1.0, isolated_margin=margin)), venue(BTC)


def test_rule_on_a_real_position_fires_strictly_below_its_buffer():
    acct, mk = _isolated_btc()
    buffer = (100 - 90 / 0.99) / 100 * 100
    t = table(acct, mk)
    assert t.position("liquidation_buffer_pct", 0)[0] == pytest.approx(buffer, rel=1e-12)
    exact = t.position("liquidation_buffer_pct", 0)[0]
    quiet = evaluate_rules([rule(threshold=exact)], "acct", t)
    assert quiet.hits == () and quiet.state is TradingState.ACTIVE
    loud = evaluate_rules([rule(threshold=math.nextafter(exact, 99), severity="breach", state="reducing")], "acct", t)
    (finding,) = loud.position_findings[0]
    assert finding.code is ReasonCode.RULE_BREACH and finding.severity is Severity.BREACH
    assert finding.value == exact and "liquidation_buffer_pct 9.09091 < 9.09091" in finding.message
    assert loud.state is TradingState.REDUCING
    assert loud.memory == {("r", BTC, "long:both")}


def test_memory_carries_hysteresis_between_evaluations():
    acct, mk = _isolated_btc()
    r = rule(threshold=9.0, release=9.5)  # buffer 9.09: inside the band
    assert evaluate_rules([r], "acct", table(acct, mk)).hits == ()
    held = evaluate_rules([r], "acct", table(acct, mk), memory=frozenset({("r", BTC, "long:both")}))
    (finding,) = held.position_findings[0]
    assert finding.limit == 9.5 and "held until past 9.5" in finding.message
    assert held.memory == {("r", BTC, "long:both")}


def test_states_take_the_worst_firing_rule_and_fall_back_when_it_stops():
    assert next_state([]) is TradingState.ACTIVE
    assert next_state([TradingState.REDUCING, TradingState.ACTIVE]) is TradingState.REDUCING
    assert next_state([TradingState.REDUCING, TradingState.HALTED]) is TradingState.HALTED
    acct, mk = _isolated_btc()
    rules = [rule(name="reduce", threshold=10.0, state="reducing"),
             rule(name="halt", threshold=9.0, state="halted")]
    assert evaluate_rules(rules, "acct", table(acct, mk)).state is TradingState.REDUCING  # 9.09: only 'reduce'
    thin, mk = _isolated_btc(margin=9.0)  # LP = 91/0.99, buffer 8.08%: both fire
    assert evaluate_rules(rules, "acct", table(thin, mk)).state is TradingState.HALTED
    fat, mk = _isolated_btc(margin=20.0)  # buffer ≈ 19.2%: neither
    assert evaluate_rules(rules, "acct", table(fat, mk)).state is TradingState.ACTIVE


def test_unknown_metric_value_is_an_unknown_finding_and_fails_closed():
    acct, mk = _isolated_btc()
    r = rule(metric="adl_rank", op="above", threshold=3.0, state="halted")
    out = evaluate_rules([r], "acct", table(acct, mk))
    (finding,) = out.position_findings[0]
    assert finding.code is ReasonCode.RULE_METRIC_UNKNOWN and finding.severity is Severity.UNKNOWN
    assert "NO_ADL_RANK" in finding.message
    assert out.state is TradingState.HALTED and out.memory == frozenset()


def test_scope_by_symbol_glob_side_venue_and_account():
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0),
                   position(ETH, Side.SHORT, 1.0, isolated_margin=10.0))
    t = table(acct, venue(BTC, ETH))
    def hits(**scope):
        return [(h.symbol, h.side) for h in evaluate_rules([rule(threshold=50.0, scope=scope)], "acct", t).hits]
    assert hits() == [(BTC, "long"), (ETH, "short")]
    assert hits(symbols=["BTC/*"]) == [(BTC, "long")]
    assert hits(side="short") == [(ETH, "short")]
    assert hits(symbols=["BTC/*"], side="short") == []
    assert hits(venues=["bybit"]) == []
    assert hits(venues=["binanceusdm"], accounts=["ac*"]) == [(BTC, "long"), (ETH, "short")]
    assert hits(accounts=["other"]) == []


def test_account_metric_rejects_a_position_scope():
    with pytest.raises(ValueError, match="account metric"):
        rule(metric="leverage_asymmetry", op="above", threshold=3.0, scope={"side": "long"})


def test_exposure_and_leverage_asymmetry_by_hand():
    # cross: 3 BTC long at 100 and 1 ETH short at 100, wallet 100, no uPnL: long 300, short 100, equity 100
    acct = account(position(BTC, Side.LONG, 3.0), position(ETH, Side.SHORT, 1.0), wallet=100.0)
    t = table(acct, venue(BTC, ETH))
    values = {n: t.account_value(n)[0] for n in ("long_exposure", "short_exposure", "net_exposure",
                                                 "gross_exposure", "long_leverage", "short_leverage",
                                                 "leverage_asymmetry", "account_effective_leverage")}
    assert values == {"long_exposure": 300.0, "short_exposure": 100.0, "net_exposure": 200.0,
                      "gross_exposure": 400.0, "long_leverage": 3.0, "short_leverage": 1.0,
                      "leverage_asymmetry": 2.0, "account_effective_leverage": 4.0}
    out = evaluate_rules([rule(metric="leverage_asymmetry", op="above", threshold=2.0)], "acct", t)
    assert out.hits == ()
    out = evaluate_rules([rule(metric="leverage_asymmetry", op="at_or_above", threshold=2.0)], "acct", t)
    (finding,) = out.account_findings
    assert finding.code is ReasonCode.RULE_WARNING and finding.symbol is None


def test_funding_drain_and_buffer_once_paid_by_hand():
    acct, mk = _isolated_btc()
    t = table(acct, mk)
    # rate 0.0001 per 8 h (default interval without history) on notional 100, over 24 h: 3 × 0.01
    assert t.position("funding_drain", 0)[0] == pytest.approx(0.03, rel=1e-12)
    # margin 9.97 after paying: P = (100 − 9.97)/0.99
    assert t.position("buffer_after_funding_pct", 0)[0] == pytest.approx((100 - 90.03 / 0.99), rel=1e-12)
    short = account(position(BTC, Side.SHORT, 1.0, isolated_margin=10.0))
    assert table(short, mk).position("funding_drain", 0)[0] == pytest.approx(-0.03, rel=1e-12)
    unknown = table(acct, venue(BTC, funding=None)).position("buffer_after_funding_pct", 0)
    assert unknown[0] is None and unknown[1].startswith("NO_FUNDING")


def test_every_catalogued_metric_has_one_computation():
    assert set(CATALOG) == set(POSITION_METRICS) | set(ACCOUNT_METRICS)
    assert not set(POSITION_METRICS) & set(ACCOUNT_METRICS)
    assert all(CATALOG[n].scope == "position" for n in POSITION_METRICS)
    assert all(CATALOG[n].scope == "account" for n in ACCOUNT_METRICS)


def test_op_words_only():
    with pytest.raises(ValueError, match="'<' is not one of below"):
        rule(op="<")
    assert [o.value for o in Op] == ["below", "at_or_below", "above", "at_or_above"]
