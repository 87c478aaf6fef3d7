"""The cross pool's uniform-move limits at their boundaries (a move equal to a limit meets it), the exposure
metrics at zero equity and mixed settle assets, and the rules' findings joining the verdict."""

from __future__ import annotations

import math
from types import SimpleNamespace

from riskguard.risk.uniform_move import UniformMove
from riskguard.rules import metrics
from riskguard.rules.codes import ReasonCode
from riskguard.rules.engine import RulesOutcome, with_rule_findings
from riskguard.rules.policy_check import Finding, _uniform_move_findings, failed_verdict
from riskguard.rules.state import TradingState

POLICY = SimpleNamespace(uniform_move_minimum=5.0, uniform_move_warning=10.0)


def test_uniform_move_when_below_at_or_above_each_limit_then_min_warn_or_nothing():
    found = _uniform_move_findings(UniformMove("USDT", 4.99, math.inf, 2), POLICY)
    assert found == [Finding(ReasonCode.UNIFORM_MOVE_BELOW_MIN,
                             "USDT cross pool liquidated by a 4.99% move of every mark down", None, 4.99, 5.0)]
    # exactly at the minimum: meets it, still under the warning level
    found = _uniform_move_findings(UniformMove("USDT", math.inf, 5.0, 1), POLICY)
    assert found == [Finding(ReasonCode.UNIFORM_MOVE_BELOW_WARN,
                             "USDT cross pool liquidated by a 5.00% move of every mark up", None, 5.0, 10.0)]
    assert _uniform_move_findings(UniformMove("USDT", 10.0, 12.0, 1), POLICY) == []
    unknown = UniformMove("USDC", math.nan, math.nan, 1, "NO_TIERS: x")
    assert _uniform_move_findings(unknown, POLICY) == [
        Finding(ReasonCode.DATA_MISSING, "USDC cross pool: uniform move unknown: NO_TIERS: x")]


def _exposure_table(*positions, cross_equity=0.0):
    rows = [SimpleNamespace(settle=settle, side=side, notional=notional, margin_mode="isolated", equity=equity)
            for settle, side, notional, equity in positions]
    return SimpleNamespace(risk=SimpleNamespace(positions=rows, cross=[SimpleNamespace(equity=cross_equity)]))


def test_exposure_leverages_when_equity_is_zero_then_unknown_and_just_above_then_a_value():
    t = _exposure_table(("USDT", "long", 300.0, 0.0))
    assert metrics._exposure(t, lambda e: e.long / e.equity, True) == (
        None, "NO_EQUITY: total equity is zero or negative")
    assert metrics._exposure(t, lambda e: e.long, False) == (300.0, None)  # the amounts need no equity
    t = _exposure_table(("USDT", "long", 300.0, 0.5))
    assert metrics._exposure(t, lambda e: e.long / e.equity, True) == (600.0, None)


def test_exposure_when_one_side_is_empty_then_a_float_zero_and_mixed_settle_then_why():
    e = metrics.exposure(_exposure_table(("USDT", "long", 300.0, 40.0), cross_equity=60.0).risk)
    assert (e.long, e.short, e.equity) == (300.0, 0.0, 100.0)
    assert type(e.short) is float  # written as 0.0 in JSON, like every other amount
    e = metrics.exposure(_exposure_table(("USDT", "short", 300.0, 40.0)).risk)
    assert type(e.long) is float and e.long == 0.0
    assert metrics.exposure(_exposure_table(("USDT", "long", 1.0, 1.0), ("BTC", "short", 1.0, 1.0)).risk) == (
        "MIXED_SETTLE: positions settle in BTC, USDT; amounts are not summed")


def test_rule_findings_join_the_verdicts_own_at_account_and_position_level():
    verdict = failed_verdict("main", "okx", ReasonCode.FETCH_FAILED, "timeout")
    extra = Finding(ReasonCode.DATA_MISSING, "a rule's metric is unknown")
    outcome = RulesOutcome(TradingState.ACTIVE, (), (extra,), (), frozenset())
    joined = with_rule_findings(verdict, outcome)
    assert [f.code for f in joined.findings] == [ReasonCode.FETCH_FAILED, ReasonCode.DATA_MISSING]
    assert joined.positions == ()


def test_account_and_position_metric_names_never_collide_in_the_memo():
    # the memo keys account values by index −1; a name in both tables would read the other's value
    assert set(metrics.ACCOUNT_METRICS).isdisjoint(metrics.POSITION_METRICS)
