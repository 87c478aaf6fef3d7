"""The `check --format json` document.  Stable: fields are added, never renamed or removed.

Documented field by field in docs/check-json.md; `schema` names the version.
"""

from __future__ import annotations

import math
from typing import Any

from riskguard.check import CheckResult
from riskguard.market_view import NO_LIQUIDATION_PRICE, PositionSignals, SymbolCrowding
from riskguard.report.policy_view import policy_json
from riskguard.risk.account_risk import PositionRisk
from riskguard.risk.bands import Band
from riskguard.risk.stops import StopCheck
from riskguard.risk.uniform_move import UniformMove
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


def _band(b: Band | None) -> dict[str, Any] | None:
    return None if b is None else {k: _num(x) if isinstance(x, float) else x for k, x in b.to_json().items()}


def stop_entry(c: StopCheck) -> dict[str, Any]:
    """One stop as docs/check-json.md and docs/bands.md document it."""
    o = c.order
    return {
        "id": o.id,
        "order_type": o.order_type,
        "side": o.side.value,
        "trigger_price": o.trigger_price,
        "amount": o.amount,
        "reduce_only": o.reduce_only,
        "in_band": c.in_band,
        "band": _band(c.band),
        "beyond_liquidation": c.beyond_liquidation,
    }


def crowding_entry(c: SymbolCrowding | None) -> dict[str, Any]:
    """Funding z-score, open-interest change and the crowded flag, as docs/check-json.md and docs/bands.md
    document them; each part carries its own status and reason, and an unknown number is null."""
    if c is None:
        unknown = {"status": "unknown", "reason": "not computed"}
        return {"funding": unknown, "open_interest_change": [], "flag": {"state": "unknown", "reason": "not computed"}}
    f = c.funding
    return {
        "funding": {
            "status": f.status,
            "reason": f.reason,
            "rate": _num(f.rate),
            "zscore": _num(f.zscore),
            "interval_seconds": _num(f.interval_seconds),
            "annualised_pct": _num(f.annualised_pct),
            "points": f.n_points,
        },
        "open_interest_change": [
            {"window_seconds": w.window_seconds, "status": w.status, "reason": w.reason,
             "change_pct": _num(w.change_pct)}
            for w in c.open_interest
        ],
        "flag": {"state": c.flag.state, "reason": c.flag.reason},
    }


def uniform_move_entry(m: UniformMove | None) -> dict[str, Any]:
    """+inf (no move that way liquidates) is null with status "ok"; unknown is null with status "unknown".

    A pool with no move that liquidates it either way says ``NO_LIQUIDATION_PRICE``, a balance without cross
    positions ``NO_POSITIONS``."""
    if m is None:  # a cross balance without cross positions: nothing to liquidate
        return {"status": "ok", "reason": "NO_POSITIONS", "down_pct": None, "up_pct": None,
                "binding_pct": None, "binding_direction": None}
    if not m.known:
        return {"status": "unknown", "reason": m.reason, "down_pct": None, "up_pct": None,
                "binding_pct": None, "binding_direction": None}
    finite = math.isfinite(m.binding_pct)
    return {
        "status": "ok",
        "reason": None if finite else NO_LIQUIDATION_PRICE,
        "down_pct": _num(m.down_pct),
        "up_pct": _num(m.up_pct),
        "binding_pct": _num(m.binding_pct),
        "binding_direction": m.binding_direction.value if finite else None,
    }


class _Shared:
    """Entries that are the same for every position in a symbol (its crowding, its bands), built once per
    document: a thousand accounts hold the same few dozen symbols.  Keyed by identity; the result holds the
    objects alive for as long as the document is built."""

    def __init__(self) -> None:
        self._crowding: dict[int, dict[str, Any]] = {}
        self._bands: dict[int, dict[str, Any] | None] = {}

    def crowding(self, c: SymbolCrowding | None) -> dict[str, Any]:
        key = id(c)
        if key not in self._crowding:
            self._crowding[key] = crowding_entry(c)
        return self._crowding[key]

    def band(self, b: Band | None) -> dict[str, Any] | None:
        key = id(b)
        if key not in self._bands:
            self._bands[key] = _band(b)
        return self._bands[key]


def _signals(s: PositionSignals, shared: _Shared) -> dict[str, Any]:
    """docs/signals.md fields; +inf (no liquidation price) is null with status "ok", unknown is null with
    status "unknown" and a reason, so neither can be mistaken for the other or for zero."""
    bp, dist, fill, ex = s.band_proximity, s.distance, s.fill, s.exit
    prox = bp.proximity
    known = prox is not None and bp.status == "ok"
    return {
        "band_proximity": {
            "status": bp.status,
            "reason": bp.reason,
            "distance_pct": _num(prox.distance_pct) if prox else None,
            "nearest_band": shared.band(prox.nearest_band) if prox else None,
            "notional_to_liquidation": _num(prox.notional_to_liquidation) if known and prox else None,
            "liquidation_in_band": prox.liquidation_in_band if known and prox else None,
            "liquidation_band": shared.band(prox.liquidation_band) if known and prox else None,
            "stop_in_band": None if s.stops is None or prox is None else any(c.in_band for c in s.stops),
            "side_split": bp.side_split,
        },
        "stops": None if s.stops is None else [stop_entry(c) for c in s.stops],
        "sigma_buffer": _num(dist.sigma_buffer),
        "touch_probability": _num(dist.touch_probability),
        "liquidation_distance": {
            "status": dist.status,
            "reason": dist.reason or (NO_LIQUIDATION_PRICE if dist.sigma_buffer == math.inf else None),
            "horizon_seconds": dist.horizon_seconds,
        },
        "crowding": shared.crowding(s.crowding),
        "exit_slippage_bp": _num(ex.exit_slippage_bp),
        "buffer_net_of_slippage_pct": _num(ex.buffer_net_of_slippage_pct),
        "exit_liquidity": {
            "status": ex.status,
            "reason": ex.reason or (NO_LIQUIDATION_PRICE if ex.buffer_net_of_slippage_pct == math.inf else None),
            "fill_status": fill.status,
            "vwap": _num(fill.vwap),
            "worst_price": _num(fill.worst_price),
            "unfilled_contracts": _num(fill.unfilled_contracts),
        },
    }


def _position(v: PositionVerdict, s: PositionSignals, shared: _Shared) -> dict[str, Any]:
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
        **_signals(s, shared),
    }


def _account(a: AccountVerdict, signals: tuple[PositionSignals, ...], shared: _Shared) -> dict[str, Any]:
    cross = a.risk.cross if a.risk else ()
    moves = {m.asset: m for m in a.uniform_moves}
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
                "margin_headroom_pct": _num(c.headroom_pct),
                "buffer_pct": _num(c.headroom_pct),  # deprecated alias of margin_headroom_pct (docs/check-json.md)
                "effective_leverage": _num(c.effective_leverage),
                "uniform_move": uniform_move_entry(moves.get(c.asset)),
            }
            for c in cross
        ],
        "findings": [_finding(f) for f in a.findings],
        "positions": [_position(p, s, shared) for p, s in zip(a.positions, signals, strict=True)],
    }


def check_document(result: CheckResult) -> dict[str, Any]:
    status = result.status
    shared = _Shared()
    return {
        "schema": SCHEMA,
        "status": status.value,
        "exit_code": int(status.exit_code),
        "accounts": [
            {
                **_account(a, result.signals.get(a.name, ()), shared),
                **policy_json(result.rules[a.name], result.plans.get(a.name)),
            }
            if a.name in result.rules
            else _account(a, result.signals.get(a.name, ()), shared)
            for a in result.accounts
        ],
    }
