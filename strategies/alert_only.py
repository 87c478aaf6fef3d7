"""``alert_only``: the policy wants to hear about the breach, not act on it."""

from __future__ import annotations

from riskguard.rules.codes import ReasonCode
from riskguard.rules.strategy import Proposal, Strategy, StrategyContext


class AlertOnly(Strategy):
    name = "alert_only"
    description = "Plans no orders; the findings are reported and alerted, nothing else."

    def propose(self, ctx: StrategyContext) -> Proposal:
        return Proposal(reason_codes=(ReasonCode.PLAN_ALERT_ONLY,))
