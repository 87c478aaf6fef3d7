"""Apply an account's policy rules to its metrics: findings, the trading state, the rules that fired.

Pure and clock-free like ``policy_check``.  A rule compares one metric with its threshold (``schema.Op``);
with a ``release`` threshold it is sticky: once it fires it keeps firing until the metric is past the
release value, which the caller carries between evaluations as the returned ``memory``.  ``riskguard check``
is one evaluation, so its memory starts empty and hysteresis only matters to long-running callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from riskguard.rules.codes import ReasonCode
from riskguard.rules.metrics import MetricTable
from riskguard.rules.policy_check import AccountVerdict, Finding
from riskguard.rules.schema import Rule
from riskguard.rules.state import TradingState, next_state

HitKey = tuple[str, str | None, str | None]
"""(rule name, symbol, position leg key) of one rule on one target; symbol None for the account."""

_CODE = {"breach": ReasonCode.RULE_BREACH, "warning": ReasonCode.RULE_WARNING, "info": ReasonCode.RULE_INFO}


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule firing (or unreadable) on one target: the account (``index`` -1) or a position."""

    rule: Rule
    index: int
    symbol: str | None
    side: str | None
    value: float | None
    reason: str | None
    """Why the metric is unknown; None when it was read."""

    @property
    def unknown(self) -> bool:
        return self.value is None


@dataclass(frozen=True, slots=True)
class RulesOutcome:
    state: TradingState
    hits: tuple[RuleHit, ...]
    account_findings: tuple[Finding, ...]
    position_findings: tuple[tuple[Finding, ...], ...]
    """Aligned with the account's positions."""
    memory: frozenset[HitKey]
    """The targets firing now: pass it to the next evaluation for the release thresholds."""


def fires(rule: Rule, value: float, was_firing: bool) -> bool:
    """The threshold decides, except that a firing rule with a release threshold holds until it is passed."""
    if was_firing and rule.release is not None:
        return rule.op.holds(value, rule.release)
    return rule.op.holds(value, rule.threshold)


def _finding(hit: RuleHit, held: bool) -> Finding:
    r = hit.rule
    if hit.value is None:
        return Finding(ReasonCode.RULE_METRIC_UNKNOWN, f"rule {r.name!r}: {r.metric} unknown ({hit.reason})",
                       hit.symbol, None, r.threshold)
    limit = r.release if held and r.release is not None else r.threshold
    note = f" (held until past {r.release:g})" if held else ""
    return Finding(_CODE[r.severity], f"rule {r.name!r}: {r.metric} {hit.value:.6g} {r.op.symbol} {limit:g}{note}",
                   hit.symbol, hit.value, limit)


def evaluate_rules(
    rules: Sequence[Rule], account_name: str, table: MetricTable, memory: frozenset[HitKey] = frozenset()
) -> RulesOutcome:
    venue = table.account.venue
    positions = table.risk.positions
    per_position: list[list[Finding]] = [[] for _ in positions]
    account_findings: list[Finding] = []
    hits: list[RuleHit] = []
    firing: set[HitKey] = set()
    for rule in rules:
        if not rule.scope.matches_account(account_name, venue):
            continue
        targets: list[tuple[int, str | None, str | None, tuple[float | None, str | None]]]
        if rule.metric_scope == "account":
            targets = [(-1, None, None, table.account_value(rule.metric))]
        else:
            targets = [
                (i, p.symbol, p.side, table.position(rule.metric, i))
                for i, p in enumerate(positions)
                if rule.scope.matches_position(p.symbol, p.side)
            ]
        for index, symbol, side, (value, reason) in targets:
            key: HitKey = (rule.name, symbol, None if index < 0 else f"{side}:{positions[index].position_side}")
            was = key in memory
            if value is not None and not fires(rule, value, was):
                continue
            hit = RuleHit(rule, index, symbol, side, value, reason)
            hits.append(hit)
            if value is not None:
                firing.add(key)
            held = value is not None and was and not rule.op.holds(value, rule.threshold)
            finding = _finding(hit, held)
            (account_findings if index < 0 else per_position[index]).append(finding)
    return RulesOutcome(
        state=next_state(h.rule.state for h in hits),
        hits=tuple(hits),
        account_findings=tuple(account_findings),
        position_findings=tuple(tuple(f) for f in per_position),
        memory=frozenset(firing),
    )


UNREAD = RulesOutcome(TradingState.HALTED, (), (), (), frozenset())
"""The outcome of an account that could not be read: nothing known allows more exposure (fail closed)."""


def with_rule_findings(verdict: AccountVerdict, outcome: RulesOutcome) -> AccountVerdict:
    """The verdict with the rules' findings beside the built-in limits', so status and exit code count them."""
    positions = tuple(
        replace(p, findings=p.findings + extra) if extra else p  # most positions fire no rule: no copy
        for p, extra in zip(verdict.positions, outcome.position_findings, strict=True)
    )
    return replace(verdict, positions=positions, findings=verdict.findings + outcome.account_findings)
