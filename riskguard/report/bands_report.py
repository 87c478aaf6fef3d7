"""`riskguard bands` output: the documented JSON (docs/bands.md) and a table a trader reads in five seconds.

Every number here is an estimate of other traders' liquidations; the table says so and names the
assumptions, and an unknown estimate is shown as unknown with its reason, never as an empty list.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from riskguard.market_view import SymbolBands, UserPosition, stop_checks, stop_prices
from riskguard.report.check_json import crowding_entry, stop_entry
from riskguard.risk.bands import Proximity, position_proximity
from riskguard.risk.stops import StopCheck

SCHEMA = "riskguard.bands/1"


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _compact(x: float) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"


def exit_code(sb: SymbolBands) -> int:
    return 0 if sb.view.bands.status == "ok" else 3


def _proximity(sb: SymbolBands, p: UserPosition) -> Proximity | None:
    report, risk = sb.view.bands, p.risk
    if report.profile is None:
        return None
    return position_proximity(report.profile, report.bands, side=risk.side,  # type: ignore[arg-type]
                              liquidation_price=risk.liquidation_price, stop_prices=stop_prices(p.stops or ()))


def _stops(sb: SymbolBands, p: UserPosition) -> tuple[StopCheck, ...] | None:
    return stop_checks(p.risk, p.stops, _proximity(sb, p))


def _position(sb: SymbolBands, p: UserPosition) -> dict[str, Any]:
    risk = p.risk
    prox = _proximity(sb, p)
    has_lp = prox is not None and risk.liquidation_price is not None
    stops = _stops(sb, p)
    return {
        "account": p.account,
        "side": risk.side,
        "margin_mode": risk.margin_mode,
        "contracts": risk.contracts,
        "liquidation_price": _num(risk.liquidation_price),
        "liquidation_price_source": risk.liquidation_source.value,
        "liquidation_in_band": prox.liquidation_in_band if has_lp and prox else None,
        "notional_to_liquidation": _num(prox.notional_to_liquidation) if has_lp and prox else None,
        "stops": None if stops is None else [stop_entry(c) for c in stops],
        "stop_in_band": None if stops is None or prox is None else any(c.in_band for c in stops),
    }


def bands_document(sb: SymbolBands, plot: Path | None) -> dict[str, Any]:
    """``BandsReport.to_json()`` plus where the data came from and the user's own prices."""
    view, report = sb.view, sb.view.bands
    estimate = report.estimate
    known = report.status == "ok"
    return {
        "schema": SCHEMA,
        "venue": view.venue,
        **report.to_json(),
        "mark_price": _num(report.mark_price),
        "exit_code": exit_code(sb),
        "quote": view.quote,
        "open_interest_notional": _num(view.open_interest_notional),
        "attributed_notional": estimate.attributed_notional if known else None,
        "unplaced_notional": estimate.unplaced_notional if known else None,
        "crowding": crowding_entry(view.crowding),
        "positions": [_position(sb, p) for p in sb.positions],
        "stop_prices": [
            {"label": label, "price": c.order.trigger_price, "in_band": c.in_band}
            for p in sb.positions
            for (label, _), c in zip(p.stop_labels(), _stops(sb, p) or (), strict=True)
        ],
        "plot": None if plot is None else str(plot),
    }


def crowding_line(sb: SymbolBands) -> Text:
    """Observed evidence beside the estimate: funding against its history, OI growth, and the flag."""
    c = sb.view.crowding
    f, window = c.funding, c.flag_window
    funding = f"funding unknown ({f.reason})"
    if f.zscore is not None and f.rate is not None and f.interval_seconds:
        funding = f"funding z {f.zscore:+.2f} (rate {f.rate:+.4%} per {f.interval_seconds / 3600:g} h)"
    hours = f"{window.window_seconds / 3600:g} h" if window else "4 h"
    oi = (f"OI {window.change_pct:+.1f}% over {hours}" if window and window.change_pct is not None
          else f"OI over {hours} unknown ({window.reason if window else 'no window'})")
    state = c.flag.state.replace("_", " ")
    style = "bold red" if c.flag.state.startswith("crowded") else "magenta" if c.flag.state == "unknown" else "green"
    return Text.assemble(f"crowding: {funding}; {oi} → ", (state.upper() if state != "not crowded" else state, style))


def render(sb: SymbolBands, console: Console, plot: Path | None) -> None:
    view, report = sb.view, sb.view.bands
    mark = report.mark_price
    shown = f"{mark:,.8g} {view.quote}" if math.isfinite(mark) else "unknown"
    head = Text.assemble((view.symbol, "bold"), f"  {view.venue}  mark {shown}")
    if report.status != "ok":
        console.print(head)
        console.print(Text(f"bands UNKNOWN: {report.reason}", style="bold magenta"))
        console.print(crowding_line(sb))
        console.print("no bands are shown: an estimate that cannot be made is not 'no crowding'.")
        return
    console.print(crowding_line(sb))
    t = Table(title=Text.assemble(head, "  estimated crowded liquidation bands"), title_justify="left")
    for col, just in (("whose liquidations", "left"), ("price range", "right"), ("peak", "right"),
                      (f"notional ({view.quote})", "right"), ("distance", "right")):
        t.add_column(col, justify=just, no_wrap=True)
    above = sorted((b for b in report.bands if b.side == "short"), key=lambda b: -b.price_low)
    below = sorted((b for b in report.bands if b.side == "long"), key=lambda b: -b.price_high)
    for b in [*above, None, *below]:  # laid out like a price ladder, mark in the middle
        if b is None:
            t.add_row(Text("mark", style="cyan"), Text(f"{mark:,.6g}", style="cyan"), "", "", "")
            continue
        t.add_row(
            Text(f"{b.side}s", style="red" if b.side == "long" else "green"),
            f"{b.price_low:,.6g} – {b.price_high:,.6g}",
            f"{b.peak_price:,.6g}",
            _compact(b.notional),
            f"{b.distance_pct:+.2f}%",
        )
    console.print(t if report.bands else Text("no band stands out from the estimated levels", style="yellow"))
    for p in sb.positions:
        row = _position(sb, p)
        lp = row["liquidation_price"]
        if lp is None:
            console.print(f"  your {p.label}: no liquidation price ({row['liquidation_price_source']})")
        else:
            inside = "INSIDE a band" if row["liquidation_in_band"] else "outside the bands"
            console.print(
                f"  your {p.label}: liquidation {lp:,.8g} ({(lp / mark - 1) * 100:+.2f}%), {inside}; "
                f"~{_compact(row['notional_to_liquidation'])} {view.quote} of estimated liquidations on the way"
            )
        for c in _stops(sb, p) or ():
            price = c.order.trigger_price
            assert price is not None
            size = "whole position" if c.order.amount is None else f"{c.order.amount:,.8g} contracts"
            beyond = "; at or beyond the liquidation price, it cannot fire first" if c.beyond_liquidation else ""
            console.print(
                f"  your {p.label} stop {price:,.8g} ({(price / mark - 1) * 100:+.2f}%, {c.order.order_type}, "
                f"{size}): {'INSIDE a band' if c.in_band else 'outside the bands'}{beyond}"
            )
    if not sb.stops_recorded:
        console.print("  stops: unknown (this snapshot did not record open orders)")
    elif sb.positions and not sb.stop_prices:
        console.print("  stops: none (no open stop order closes these positions)")
    a = report.assumptions
    if a is not None:
        levs = ", ".join(f"{lev:g}x {w:.0%}" for lev, w in zip(a.leverages, a.weights, strict=True))
        tilt = ", ".join(f"{k} {n}" for k, n in a.tilt_bars.items() if n)
        console.print(
            f"  estimates, not observations: leverage mix {levs}; long/short split by {tilt} bars; "
            f"trigger {a.trigger}; open interest at window start not attributed (docs/bands.md)",
            style="dim",
        )
    if plot is not None:
        console.print(f"  heatmap written to {plot}")
