"""The policy part of `riskguard check`: trading state and fired rules, as a table line and as JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from riskguard.rules.engine import RulesOutcome
from riskguard.rules.plan import IntendedOrder, OrderKind, Plan
from riskguard.rules.state import TradingState

STATE_STYLE = {TradingState.ACTIVE: "green", TradingState.REDUCING: "yellow", TradingState.HALTED: "bold red"}


def policy_json(outcome: RulesOutcome, plan: Plan | None) -> dict[str, Any]:
    """docs/check-json.md, "Policy and plan"."""
    return {
        "plan": None if plan is None else plan.to_dict(),
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


def render_policy(outcome: RulesOutcome, plan: Plan | None, console: Console) -> None:
    fired = sorted({h.rule.name for h in outcome.hits})
    names = f" (rules fired: {', '.join(fired)})" if fired else ""
    console.print(f"  trading state: [{STATE_STYLE[outcome.state]}]{outcome.state.value.upper()}[/]{names}")
    if plan is None:
        return
    if plan.orders:
        console.print(plan_table(plan))
    after, before = plan.after.min_buffer_pct, plan.before.min_buffer_pct
    console.print(
        f"  plan {plan.content_hash[:12]}: {len(plan.orders)} order(s) by {', '.join(plan.strategies)}; "
        f"smallest buffer {_pct(before)} → {_pct(after)} after the plan"
        f" [{', '.join(plan.reason_codes)}]",
        highlight=False,
    )
    for note in plan.notes:
        console.print(f"    note: {note}", highlight=False)


def _pct(x: float | None) -> str:
    return "none" if x is None else f"{x:.2f}%"


def _price(o: IntendedOrder) -> str:
    if o.kind is OrderKind.STOP_MARKET:
        return f"trigger {o.trigger_price:,.8g}"
    if o.kind is OrderKind.CANCEL:
        return f"order {o.order_id}"
    if o.kind is OrderKind.LIMIT and o.price is not None:
        return f"{o.price:,.8g}"
    return "market" if o.kind is OrderKind.MARKET else "-"


def plan_table(plan: Plan) -> Table:
    table = Table(title="  plan (reduce-only, in execution order)", title_justify="left")
    for col in ("#", "action", "symbol", "side", "amount", "price", "strategy", "why"):
        table.add_column(col, justify="right" if col in ("#", "amount") else "left")
    for i, o in enumerate(plan.orders, start=1):
        table.add_row(str(i), o.kind.value, o.symbol, o.side, f"{o.amount:,.8g}", _price(o), o.strategy, o.rationale)
    return table
