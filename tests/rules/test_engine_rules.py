"""Rule comparisons, hysteresis, scopes and trading states, each asserted at its boundary."""

from __future__ import annotations

import math

import pytest

from riskguard.model import AssetBalance, Side
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


def test_account_buffer_is_the_smallest_and_cross_ratio_the_largest_pool():
    # isolated BTC: buffer 9.09%; isolated ETH with margin 20: 20 + (P − 100) = 0.01·P → P = 80/0.99, 19.19%
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0),
                   position(ETH, Side.LONG, 1.0, isolated_margin=20.0))
    t = table(acct, venue(BTC, ETH))
    assert t.account_value("account_buffer_pct")[0] == pytest.approx(100 - 90 / 0.99, rel=1e-12)
    # two cross pools: USDT (wallet 1000, 1 BTC: MM 1 → ratio 0.001) and USDC (wallet 10, 1 ETH: ratio 0.1)
    usdc = "ETH/USDC:USDC"
    two = account(position(BTC, Side.LONG, 1.0), position(usdc, Side.LONG, 1.0))
    two = type(two)(two.name, two.venue, {**two.balances, "USDC": AssetBalance("USDC", 10.0, 10.0)}, two.positions,
                    two.fees)
    t = table(two, venue(BTC, usdc))
    assert t.account_value("cross_margin_ratio")[0] == pytest.approx(0.1, rel=1e-12)
    assert t.account_value("cross_headroom_pct")[0] == pytest.approx(90.0, rel=1e-12)
    assert t.account_value("long_exposure")[1].startswith("MIXED_SETTLE")


def test_a_rule_with_an_unknown_metric_plans_nothing():
    from riskguard.config import AccountConfig, AccountSpec, Policy
    from riskguard.rules.planner import plan_account
    from riskguard.rules.strategy import create_strategy

    acct, mk = _isolated_btc()
    known = rule(name="thin", threshold=10.0, actions=[{"strategy": "alert_only"}])
    blind = rule(name="adl", metric="adl_rank", op="above", threshold=3.0, actions=[{"strategy": "alert_only"}])
    actions = {"thin": (create_strategy("alert_only"),), "adl": (create_strategy("alert_only"),)}
    spec = AccountSpec("acct", AccountConfig(snapshot="m"), Policy(), None, "t", rules=(known, blind), actions=actions)
    t = table(acct, mk)
    assert plan_account(spec, acct, mk, t.risk, {}, evaluate_rules([blind], "acct", t)) is None
    plan = plan_account(spec, acct, mk, t.risk, {}, evaluate_rules([known, blind], "acct", t))
    assert plan is not None and plan.strategies == ("alert_only",) and plan.reason_codes == ("PLAN_ALERT_ONLY",)


def test_the_plan_keeps_the_notes_and_codes_of_every_firing_rule_in_policy_order():
    from riskguard.config import AccountConfig, AccountSpec, Policy
    from riskguard.rules.codes import ReasonCode
    from riskguard.rules.planner import plan_account
    from riskguard.rules.strategy import Proposal, Strategy

    class Says(Strategy):
        description = "notes only"

        def __init__(self, name: str, note: str) -> None:
            self.name, self.note = name, note

        def propose(self, ctx):
            return Proposal(reason_codes=(ReasonCode.PLAN_ALERT_ONLY,), notes=(self.note, "shared"))

    acct, mk = _isolated_btc()
    first = rule(name="first", threshold=10.0, actions=[{"strategy": "alert_only"}])
    second = rule(name="second", threshold=11.0, actions=[{"strategy": "alert_only"}])
    actions = {"first": (Says("a", "from the first rule"),), "second": (Says("b", "from the second rule"),)}
    spec = AccountSpec("acct", AccountConfig(snapshot="m"), Policy(), None, "t", rules=(first, second),
                       actions=actions)
    t = table(acct, mk)
    plan = plan_account(spec, acct, mk, t.risk, {}, evaluate_rules([first, second], "acct", t))
    assert plan is not None and plan.strategies == ("a", "b")
    assert plan.notes == ("from the first rule", "shared", "from the second rule")  # each once, in order
    assert plan.reason_codes == ("PLAN_ALERT_ONLY",)


def test_a_later_rule_plans_on_the_account_the_earlier_rules_cut_left():
    """The first rule's reduce_size sells part of the long at once; the second rule's strategy must see that
    account (its smaller position), not the one the check read."""
    from riskguard.config import AccountConfig, AccountSpec, Policy
    from riskguard.rules.codes import ReasonCode
    from riskguard.rules.planner import plan_account
    from riskguard.rules.strategy import Proposal, Strategy, create_strategy

    seen = []

    class Looks(Strategy):
        name, description = "looks", "records what it is handed"

        def propose(self, ctx):
            seen.append((ctx.account.positions[0].contracts, ctx.risk.positions[0].contracts))
            return Proposal(reason_codes=(ReasonCode.PLAN_ALERT_ONLY,))

    # 1 BTC long at 100 on a cross wallet of 10: LP = 90/0.99 as above, buffer 9.09 %; a cut raises it
    acct, mk = account(position(BTC, Side.LONG, 1.0), wallet=10.0), venue(BTC)
    cut = rule(name="cut", threshold=10.0, actions=[{"strategy": "alert_only"}])
    look = rule(name="look", threshold=10.0, actions=[{"strategy": "alert_only"}])
    actions = {"cut": (create_strategy("reduce_size", {"target": "buffer_pct", "value": 20}),), "look": (Looks(),)}
    spec = AccountSpec("acct", AccountConfig(snapshot="m"), Policy(), None, "t", rules=(cut, look), actions=actions)
    t = table(acct, mk)
    plan = plan_account(spec, acct, mk, t.risk, {}, evaluate_rules([cut, look], "acct", t))
    assert plan is not None and len(plan.orders) == 1
    left = 1.0 - plan.orders[0].amount
    assert 0 < left < 1.0 and seen == [(pytest.approx(left, abs=1e-12), pytest.approx(left, abs=1e-12))]
