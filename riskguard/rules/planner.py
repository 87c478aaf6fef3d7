"""From fired rules to a Plan: the actions of the rules that fire, run through the strategy interface.

The strategies run in the order of the policy's rules (and of each rule's actions), once each, so an
``add_margin`` listed first is sized before a ``reduce_size`` after it sees the topped-up account.  Their
scope is every position a firing rule with actions named, or the whole account when an account-metric rule
fired.  A rule whose metric is unknown triggers no action: nothing is planned on data that is not there
(its UNKNOWN finding already fails the check).  Every order a plan holds is reduce-only
(``IntendedOrder`` refuses anything else), which is what a HALTED account is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping

from riskguard.config import AccountSpec
from riskguard.market_view import SymbolView
from riskguard.model import Account, VenueMarkets
from riskguard.risk.account_risk import AccountRisk
from riskguard.rules.engine import RulesOutcome
from riskguard.rules.plan import Plan
from riskguard.rules.strategy import MarketSignals, PositionRef, StrategyContext, make_plan


def plan_account(
    spec: AccountSpec,
    account: Account,
    venue: VenueMarkets,
    risk: AccountRisk,
    views: Mapping[str, SymbolView],
    outcome: RulesOutcome,
) -> Plan | None:
    """None when no rule with actions fires."""
    firing = [h for h in outcome.hits if not h.unknown and spec.actions.get(h.rule.name)]
    if not firing:
        return None
    strategies = list({id(s): s for h in firing for s in spec.actions[h.rule.name]}.values())
    scope = None
    if all(h.index >= 0 for h in firing):
        scope = tuple(dict.fromkeys(PositionRef.of(risk.positions[h.index]) for h in firing))
    signals = {symbol: MarketSignals.of_view(view) for symbol, view in views.items()}
    return make_plan(StrategyContext(account, risk, venue, signals, scope), strategies)
