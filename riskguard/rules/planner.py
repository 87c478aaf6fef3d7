"""From fired rules to a Plan: the actions of the rules that fire, run through the strategy interface.

Each firing rule's strategies act on the positions that rule fired for (the whole account for an account
metric), in the order of the policy's rules and of each rule's actions; each rule's part of the plan sees the
account as the earlier parts' immediate actions (market orders, added margin) leave it, so an
``add_margin`` listed first is sized before a ``reduce_size`` after it.  The parts are ``run_strategies``
runs (what ``make_plan`` plans hold), joined into one Plan whose before/after figures span them all; each
part hands on the account and figures its run ended with.  A rule whose metric is unknown triggers no
action: nothing is planned on data that is not there (its UNKNOWN finding already fails the check).  Every
order a plan holds is reduce-only (``IntendedOrder`` refuses anything else), which is what a HALTED account
is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from riskguard.config import AccountSpec
from riskguard.market_view import SymbolView
from riskguard.model import Account, VenueMarkets
from riskguard.risk.account_risk import AccountRisk
from riskguard.rules.codes import ReasonCode
from riskguard.rules.engine import RuleHit, RulesOutcome
from riskguard.rules.plan import IntendedOrder, Outcome, Plan
from riskguard.rules.strategy import MarketSignals, PositionRef, StrategyContext, run_strategies


def _scope(hits: list[RuleHit], risk: AccountRisk) -> tuple[PositionRef, ...] | None:
    if any(h.index < 0 for h in hits):
        return None
    return tuple(dict.fromkeys(PositionRef.of(risk.positions[h.index]) for h in hits))


def plan_account(
    spec: AccountSpec,
    account: Account,
    venue: VenueMarkets,
    risk: AccountRisk,
    views: Mapping[str, SymbolView],
    outcome: RulesOutcome,
) -> Plan | None:
    """None when no rule with actions fires."""
    by_rule: dict[str, list[RuleHit]] = {}
    for h in outcome.hits:
        if not h.unknown and spec.actions.get(h.rule.name):
            by_rule.setdefault(h.rule.name, []).append(h)
    if not by_rule:
        return None
    signals = {symbol: MarketSignals.of_view(view) for symbol, view in views.items()}
    ctx = StrategyContext(account, risk, venue, signals)
    orders: list[IntendedOrder] = []
    codes: list[str] = []
    notes: list[str] = []
    names: list[str] = []
    for rule, hits in by_rule.items():
        part = run_strategies(replace(ctx, scope=_scope(hits, risk)), spec.actions[rule])
        orders += part.orders
        codes += part.reason_codes
        notes += part.notes
        names += [s.name for s in spec.actions[rule]]
        ctx = replace(ctx, account=part.after.account, risk=part.after.risk)
    kept = [c for c in dict.fromkeys(codes) if c != ReasonCode.PLAN_NO_ACTION.value]
    return Plan(
        account=account.name,
        venue=account.venue,
        strategies=tuple(names),
        orders=tuple(orders),
        before=Outcome.of(risk),
        after=Outcome.of(ctx.risk),
        reason_codes=tuple(kept or [ReasonCode.PLAN_NO_ACTION.value]),
        notes=tuple(dict.fromkeys(notes)),
    )
