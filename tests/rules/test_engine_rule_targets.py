"""Which targets a rule is read on and what each hit records: an account rule is one hit at index -1 with no
position in its memory key (also on an account without positions); a position rule reads every position in
scope, whatever the ones before it did."""

from __future__ import annotations

import pytest

from riskguard.model import Side
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.codes import ReasonCode
from riskguard.rules.engine import evaluate_rules
from riskguard.rules.metrics import MetricTable
from riskguard.rules.policy_check import Finding
from riskguard.rules.schema import Rule
from tests.rules.accounts import TAKEN_AT, account, position, venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _table(acct, markets):
    return MetricTable(acct, markets, evaluate_account(acct, markets), None, TAKEN_AT)


def _rule(**kw) -> Rule:
    return Rule.model_validate({"name": "r", "op": "below", "threshold": 10.0, **kw})


def test_an_account_rule_is_one_hit_at_index_minus_one_keyed_without_a_position():
    # Isolated 1 BTC long at 100 with margin 10, MMR 1%: 10 + (P − 100) = 0.01·P → P = 90/0.99, buffer
    # 100 − 90/0.99 = 9.0909 %, the account's smallest.
    t = _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0)), venue(BTC))
    out = evaluate_rules([_rule(metric="account_buffer_pct")], "acct", t)
    (hit,) = out.hits
    assert (hit.index, hit.symbol, hit.side) == (-1, None, None)
    assert hit.value == pytest.approx(100 - 90 / 0.99, rel=1e-12)
    assert out.memory == {("r", None, None)}
    assert [f.code for f in out.account_findings] == [ReasonCode.RULE_WARNING] and out.position_findings == ((),)


def test_an_account_rule_on_an_account_without_positions():
    # No positions: long exposure 0, which is below 10.
    t = _table(account(), venue(BTC))
    out = evaluate_rules([_rule(metric="long_exposure")], "acct", t)
    (hit,) = out.hits
    assert (hit.index, hit.value) == (-1, 0.0)
    assert out.memory == {("r", None, None)} and out.position_findings == ()


def test_a_position_rule_reads_every_position_after_a_quiet_one():
    # ETH isolated with margin 50: P = 50/0.99, buffer 100 − 50.505 = 49.49 % (quiet, above 10); BTC after it
    # with margin 10: 9.0909 % (fires).
    acct = account(position(ETH, Side.LONG, 1.0, isolated_margin=50.0),
                   position(BTC, Side.LONG, 1.0, isolated_margin=10.0))
    out = evaluate_rules([_rule(metric="liquidation_buffer_pct")], "acct", _table(acct, venue(BTC, ETH)))
    assert [(h.index, h.symbol) for h in out.hits] == [(1, BTC)]
    assert [len(f) for f in out.position_findings] == [0, 1]
    assert out.memory == {("r", BTC, "long:both")}


def test_a_fresh_hit_of_a_rule_with_a_release_then_the_finding_names_its_threshold_not_the_release():
    # Never fired before: the threshold decides, and the finding says so (the release only once it holds).
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0))
    out = evaluate_rules([_rule(metric="liquidation_buffer_pct", release=12.0)], "acct", _table(acct, venue(BTC)))
    buffer = 100 - 90 / 0.99
    (finding,) = out.position_findings[0]
    assert finding == Finding(ReasonCode.RULE_WARNING, f"rule 'r': liquidation_buffer_pct {buffer:.6g} < 10", BTC,
                              pytest.approx(buffer, rel=1e-12), 10.0)


def test_an_unreadable_metric_then_the_finding_field_by_field():
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0))
    out = evaluate_rules([_rule(metric="adl_rank", op="above", threshold=3.0)], "acct", _table(acct, venue(BTC)))
    (finding,) = out.position_findings[0]
    assert (finding.code, finding.symbol, finding.value, finding.limit) == (ReasonCode.RULE_METRIC_UNKNOWN, BTC, None,
                                                                            3.0)
    assert finding.message.startswith("rule 'r': adl_rank unknown (NO_ADL_RANK")
