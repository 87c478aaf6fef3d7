"""Output of the pre-trade gate (`check --order`) and of `riskguard size`, for people and for machines."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console

from riskguard.gate import GateResult, SizeResult
from riskguard.rules.policy_check import Finding

GATE_SCHEMA = "riskguard.gate/1"
SIZE_SCHEMA = "riskguard.size/1"


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _finding(f: Finding) -> dict[str, Any]:
    return {"code": f.code.value, "severity": f.severity.name.lower(), "symbol": f.symbol, "message": f.message,
            "value": _num(f.value), "limit": _num(f.limit)}


def gate_document(r: GateResult) -> dict[str, Any]:
    o, p = r.order, r.position_after
    band = None
    if r.after is not None and p is not None:
        i = r.after.verdict.risk.positions.index(p) if r.after.verdict.risk else -1
        prox = r.after.signals[i].band_proximity.proximity if i >= 0 else None
        band = None if prox is None else _num(prox.distance_pct)
    return {
        "schema": GATE_SCHEMA,
        "order": {"account": o.account, "symbol": o.symbol, "side": o.side, "amount": o.amount,
                  "price": o.price, "leverage": o.leverage},
        "status": r.status.value,
        "exit_code": r.exit_code,
        "increases_exposure": r.increases_exposure,
        "trading_state_before": r.state_before.value,
        "trading_state_after": None if r.after is None else r.after.rules.state.value,
        "position_after": None if p is None else {
            "contracts": p.contracts, "entry_price": p.entry_price, "liquidation_price": _num(p.liquidation_price),
            "buffer_pct": _num(p.buffer_pct), "effective_leverage": _num(p.effective_leverage),
            "band_distance_pct": band,
        },
        "findings": [_finding(f) for f in r.findings],
    }


def render_gate(r: GateResult, out: Console) -> None:
    verdict = {0: "[green]PASS[/]", 1: "[yellow]PASS with warnings[/]", 2: "[bold red]REFUSED[/]",
               3: "[bold magenta]UNKNOWN[/]"}[r.exit_code]
    out.print(f"gate: {r.order} → {verdict} (exit {r.exit_code}); state before: {r.state_before.value}",
              highlight=False)
    p = r.position_after
    if p is not None:
        liq = "none" if p.liquidation_price is None else f"{p.liquidation_price:,.8g}"
        buf = "—" if p.buffer_pct is None else f"{p.buffer_pct:.2f}%"
        out.print(f"  after the fill: {p.side} {p.contracts:g} @ {p.entry_price:,.8g}, liquidation {liq}, "
                  f"buffer {buf}, effective leverage {p.effective_leverage:.2f}x", highlight=False)
    for f in r.findings:
        where = f" {f.symbol}" if f.symbol else ""
        out.print(f"  {f.code.value}{where}: {f.message}", highlight=False)


def size_document(s: SizeResult) -> dict[str, Any]:
    return {"schema": SIZE_SCHEMA, "account": s.account, "symbol": s.symbol, "side": s.side, "amount": s.amount,
            "amount_step": s.step, "binding_rule": s.binding_rule, "binding": [_finding(f) for f in s.binding]}


def render_size(s: SizeResult, out: Console) -> None:
    out.print(f"largest {s.side} of {s.symbol} on {s.account}: {s.amount:g} contracts (step {s.step:g})",
              highlight=False)
    out.print(f"  binding one step more: {s.binding_rule}", highlight=False)
    for f in s.binding:
        out.print(f"    {f.code.value}: {f.message}", highlight=False)
