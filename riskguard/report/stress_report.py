"""`riskguard stress`: the shock list it accepts, and its JSON (docs/signals.md, "riskguard stress") and table.

Shocks are written as signed percentages ("-10%", "+5%"): a bare "0.05" could mean 5 % or 0.05 %, and a
risk tool must not guess which, so it is refused with a hint.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from riskguard.errors import InputError
from riskguard.market_view import AccountStress, CascadeRun

SCHEMA = "riskguard.stress/1"
EXIT = {"ok": 0, "breach": 2, "unknown": 3}
STYLE = {"ok": "green", "breach": "bold red", "unknown": "bold magenta"}
_SHOCK = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)%$")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def parse_shocks(text: str) -> tuple[float, ...]:
    """"-10%,+10%" → (-0.10, 0.10), in the order given; anything else is an error that says why."""
    out: list[float] = []
    for raw in text.split(","):
        item = raw.strip()
        match = _SHOCK.match(item)
        if match is None:
            hint = f" (did you mean {float(item) * 100:+g}%?)" if _is_number(item) else ""
            raise InputError(f"shock {item!r} is not a percentage like -10% or +5%{hint}", "--shock")
        value = float(match.group(2)) / 100 * (-1 if match.group(1) == "-" else 1)
        if value <= -1 or not math.isfinite(value):
            raise InputError(f"shock {item} would take the price to zero or below", "--shock")
        if value in out:
            raise InputError(f"shock {item} is listed twice", "--shock")
        out.append(value)
    return tuple(out)


def overall(accounts: tuple[AccountStress, ...]) -> str:
    statuses = {a.status for a in accounts}
    return next((s for s in ("unknown", "breach") if s in statuses), "ok" if accounts else "unknown")


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _shock(a: AccountStress, k: int, shock: float) -> dict[str, Any]:
    """One shock: every position in the account's order, and each cross pool's account-level numbers."""
    where = {i: (pool, j) for pool in a.pools for j, i in enumerate(pool.positions)}
    positions: list[dict[str, Any]] = []
    for i, p in enumerate(a.positions):
        pool, j = where[i]
        r = pool.result
        positions.append({
            "symbol": p.symbol,
            "side": p.side,
            "margin_mode": p.margin_mode,
            "settle": p.settle,
            "price": _num(r.price[k, j]),
            "liquidated": bool(r.liquidated[k, j]),
            "equity": _num(r.equity[k, j]),
            "maintenance": _num(r.maintenance[k, j]),
            "margin_left": _num(r.margin_left[k, j]),
        })
    pool_keys = ("equity", "maintenance", "margin_left", "liquidated")
    cross = [
        {"asset": pool.asset} | {key: positions[i][key] for key in pool_keys}
        for pool in a.pools
        if pool.has_cross
        for i in [next(i for i in pool.positions if a.positions[i].margin_mode == "cross")]
    ]
    return {
        "shock_pct": round(shock * 100, 10),
        "survives": all(bool(p.result.survives[k]) for p in a.pools),
        "positions": positions,
        "cross_pools": cross,
    }


def _pool_reasons(a: AccountStress) -> list[dict[str, Any]]:
    return [{"asset": p.asset, "status": p.result.status, "reason": p.result.reason} for p in a.pools]


def _cascade(run: CascadeRun) -> dict[str, Any]:
    c, s = run.cascade, run.survival
    ok = c.status == "ok"
    return {
        "symbol": run.symbol,
        "side": run.side,
        "asset": run.asset,
        "status": "ok" if ok and s.status == "ok" else "unknown",
        "reason": c.reason or s.reason,
        "bands_fired": len(c.steps) if ok else None,
        "total_forced_notional": c.total_forced_notional if ok else None,
        "final_price": _num(c.final_price) if ok else None,
        "move_pct": _num(c.move_pct) if ok else None,
        "path": list(c.path) if ok else None,
        "unabsorbed_notional": c.unabsorbed_notional if ok else None,
        "survives": bool(s.survives[0]),
        "margin_left": None if s.status != "ok" else _num(float(np.min(s.margin_left[0]))),
    }


def stress_document(accounts: tuple[AccountStress, ...], shocks: tuple[float, ...]) -> dict[str, Any]:
    status = overall(accounts)
    return {
        "schema": SCHEMA,
        "status": status,
        "exit_code": EXIT[status],
        "shocks_pct": [round(s * 100, 10) for s in shocks],
        "accounts": [
            {
                "name": a.name,
                "venue": a.venue,
                "status": a.status,
                "error": a.error,
                "pools": _pool_reasons(a),
                "shocks": [_shock(a, k, s) for k, s in enumerate(shocks)] if a.error is None else [],
                "cascades": [_cascade(r) for r in a.cascades],
            }
            for a in accounts
        ],
    }


def _money(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}"


def _shock_table(a: AccountStress, doc: dict[str, Any]) -> Table:
    t = Table(title="  price shocks (every mark moves by the same %)", title_justify="left")
    t.add_column("shock", justify="right")
    for p in a.positions:
        t.add_column(f"{p.symbol} {p.side} ({p.margin_mode})\nmargin left", justify="right", no_wrap=True)
    t.add_column("account", justify="left")
    for shock in doc["shocks"]:
        cells = []
        for p, row in zip(a.positions, shock["positions"], strict=True):
            text = _money(row["margin_left"]) + f" {p.settle}"
            cells.append(Text(text + " LIQUIDATED", style="bold red") if row["liquidated"] else Text(text))
        verdict = Text("survives", style="green") if shock["survives"] else Text("LIQUIDATION", style="bold red")
        t.add_row(f"{shock['shock_pct']:+g}%", *cells, verdict)
    return t


def render(accounts: tuple[AccountStress, ...], shocks: tuple[float, ...], console: Console) -> None:
    doc = stress_document(accounts, shocks)
    for a, ad in zip(accounts, doc["accounts"], strict=True):
        console.print(Text.assemble((a.name, "bold"), f"  {a.venue}  ", Text(a.status.upper(), style=STYLE[a.status])))
        if a.error is not None:
            console.print(Text(f"  could not read the account: {a.error}", style="magenta"))
            console.print()
            continue
        if not a.positions:
            console.print("  no open positions")
            console.print()
            continue
        for pool in ad["pools"]:
            if pool["status"] != "ok":
                console.print(Text(f"  {pool['asset']} stress unknown: {pool['reason']}", style="magenta"))
        console.print(_shock_table(a, ad))
        for shock in ad["shocks"]:
            for c in shock["cross_pools"]:
                if c["liquidated"]:
                    console.print(f"  {shock['shock_pct']:+g}%: cross {c['asset']} pool equity {_money(c['equity'])} "
                                  f"≤ maintenance {_money(c['maintenance'])}: every cross position liquidates")
        for c in ad["cascades"]:
            if c["status"] != "ok":
                console.print(Text(f"  cascade {c['symbol']} {c['side']}s: unknown: {c['reason']}", style="magenta"))
                continue
            fate = Text("survives", style="green") if c["survives"] else Text("LIQUIDATED", style="bold red")
            console.print(Text.assemble(
                f"  cascade through {c['symbol']} {c['side']} bands: {c['bands_fired']} band(s) fire, "
                f"~{c['total_forced_notional'] / 1e6:,.1f}M forced, price {c['final_price']:,.6g} "
                f"({c['move_pct']:+.2f}%): account ", fate,
            ))
        console.print()
    status = doc["status"]
    console.print(Text.assemble("overall: ", Text(status.upper(), style=STYLE[status]), f"  (exit {doc['exit_code']})"))
