"""The `check --format json` document.  Stable: fields are added, never renamed or removed.

Documented field by field in docs/check-json.md; `schema` names the version.
"""

from __future__ import annotations

import math
from typing import Any

from riskguard.check import CheckResult
from riskguard.risk.account_risk import PositionRisk
from riskguard.rules.policy_check import AccountVerdict, Finding, PositionVerdict

SCHEMA = "riskguard.check/1"


def _num(x: float | None) -> float | None:
    """JSON has no NaN/inf: an undefined number is null, never a fake zero."""
    return None if x is None or not math.isfinite(x) else float(x)


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code.value,
        "severity": f.severity.name.lower(),
        "symbol": f.symbol,
        "message": f.message,
        "value": _num(f.value),
        "limit": _num(f.limit),
    }


def _position(v: PositionVerdict) -> dict[str, Any]:
    p: PositionRisk = v.risk
    return {
        "symbol": p.symbol,
        "side": p.side,
        "position_side": p.position_side,
        "margin_mode": p.margin_mode,
        "settle": p.settle,
        "contracts": p.contracts,
        "entry_price": p.entry_price,
        "mark_price": p.mark_price,
        "notional": _num(p.notional),
        "unrealized_pnl": _num(p.unrealized_pnl),
        "liquidation_price": _num(p.liquidation_price),
        "liquidation_price_source": p.liquidation_source.value,
        "venue_liquidation_price": _num(p.venue_liquidation_price),
        "liquidation_gap_bp": _num(p.liquidation_gap_bp),
        "bankruptcy_price": _num(p.bankruptcy_price),
        "maintenance_margin": _num(p.maintenance_margin),
        "initial_margin": _num(p.initial_margin),
        "equity": _num(p.equity),
        "margin_ratio": _num(p.margin_ratio),
        "effective_leverage": _num(p.effective_leverage),
        "buffer_pct": _num(p.buffer_pct),
        "distance_bp": _num(p.distance_bp),
        "tier": p.tier,
        "mmr": p.mmr,
        "is_estimate": p.is_estimate,
        "status": v.status.value,
        "findings": [_finding(f) for f in v.findings],
    }


def _account(a: AccountVerdict) -> dict[str, Any]:
    cross = a.risk.cross if a.risk else ()
    return {
        "name": a.name,
        "venue": a.venue,
        "status": a.status.value,
        "taken_at": a.taken_at_ms,
        "cross": [
            {
                "asset": c.asset,
                "wallet": _num(c.wallet),
                "equity": _num(c.equity),
                "maintenance_margin": _num(c.maintenance_margin),
                "margin_ratio": _num(c.margin_ratio),
                "buffer_pct": _num(c.buffer_pct),
                "effective_leverage": _num(c.effective_leverage),
            }
            for c in cross
        ],
        "findings": [_finding(f) for f in a.findings],
        "positions": [_position(p) for p in a.positions],
    }


def check_document(result: CheckResult) -> dict[str, Any]:
    status = result.status
    return {
        "schema": SCHEMA,
        "status": status.value,
        "exit_code": int(status.exit_code),
        "accounts": [_account(a) for a in result.accounts],
    }
