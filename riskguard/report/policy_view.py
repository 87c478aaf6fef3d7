"""The policy part of `riskguard check`: trading state and fired rules, as a table line and as JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from riskguard.rules.engine import RulesOutcome
from riskguard.rules.state import TradingState

STATE_STYLE = {TradingState.ACTIVE: "green", TradingState.REDUCING: "yellow", TradingState.HALTED: "bold red"}


def policy_json(outcome: RulesOutcome) -> dict[str, Any]:
    """docs/check-json.md, "Policy and plan"."""
    return {
        "trading_state": outcome.state.value,
        "rules_fired": [
            {
                "rule": h.rule.name,
                "metric": h.rule.metric,
                "symbol": h.symbol,
                "side": h.side,
                "value": h.value,
                "threshold": h.rule.threshold,
                "severity": "unknown" if h.unknown else h.rule.severity,
                "state": h.rule.state.value,
                "reason": h.reason,
            }
            for h in outcome.hits
        ],
    }


def render_policy(outcome: RulesOutcome, console: Console) -> None:
    fired = sorted({h.rule.name for h in outcome.hits})
    names = f" (rules fired: {', '.join(fired)})" if fired else ""
    console.print(f"  trading state: [{STATE_STYLE[outcome.state]}]{outcome.state.value.upper()}[/]{names}")
