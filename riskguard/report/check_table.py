"""Rich tables for people: one per account, worst news first in colour."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from riskguard.check import CheckResult
from riskguard.market_view import PositionSignals
from riskguard.report.policy_view import render_policy
from riskguard.risk.account_risk import PriceSource
from riskguard.risk.stops import StopCheck
from riskguard.rules.codes import Status
from riskguard.rules.policy_check import AccountVerdict

STYLE = {Status.OK: "green", Status.WARNING: "yellow", Status.BREACH: "bold red", Status.UNKNOWN: "bold magenta"}


def _price(x: float | None) -> str:
    return "—" if x is None else f"{x:,.8g}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}%"


def _status(s: Status) -> Text:
    return Text(s.value.upper(), style=STYLE[s])


def _liq(p) -> str:
    if p.liquidation_source is PriceSource.NONE:
        return "none"
    mark = {PriceSource.VENUE: " (venue)", PriceSource.UNAVAILABLE: ""}.get(p.liquidation_source, "")
    est = " ~" if p.is_estimate else ""
    return _price(p.liquidation_price) + mark + est


def account_table(a: AccountVerdict) -> Table:
    title = Text.assemble((f"{a.name}", "bold"), f"  {a.venue}  ", _status(a.status))
    t = Table(title=title, title_justify="left", expand=False)
    for col, just in (
        ("symbol", "left"),
        ("side", "left"),
        ("mode", "left"),
        ("size", "right"),
        ("entry", "right"),
        ("mark", "right"),
        ("liq (computed)", "right"),
        ("liq (venue)", "right"),
        ("gap bp", "right"),
        ("bankruptcy", "right"),
        ("buffer", "right"),
        ("margin ratio", "right"),
        ("eff. lev", "right"),
        ("status", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=True)
    for v in a.positions:
        p = v.risk
        t.add_row(
            p.symbol,
            p.side if p.position_side == "both" else f"{p.side} ({p.position_side} leg)",
            p.margin_mode,
            f"{p.contracts:,.8g}",
            _price(p.entry_price),
            _price(p.mark_price),
            _liq(p),
            _price(p.venue_liquidation_price),
            "—" if p.liquidation_gap_bp is None else f"{p.liquidation_gap_bp:+.2f}",
            _price(p.bankruptcy_price),
            _pct(p.buffer_pct),
            f"{p.margin_ratio:.2%}",
            f"{p.effective_leverage:.2f}x",
            _status(v.status),
        )
    return t


UNKNOWN = Text("unknown", style=STYLE[Status.UNKNOWN])


def _compact(x: float) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"


def _known(status: str, text: str) -> str | Text:
    return text if status == "ok" else UNKNOWN


def _probability(p: float | None) -> str:
    return "—" if p is None else "<0.01%" if 0 < p < 1e-4 else f"{p:.2%}"


def _stop_cell(checks: tuple[StopCheck, ...] | None) -> str | Text:
    """The stop nearest to mark, flagged when it sits in a band or beyond the liquidation price."""
    if checks is None:
        return Text("not recorded", style="dim")
    if not checks:
        return "none"
    first = checks[0]
    flags = [f for f, on in (("in band", first.in_band), ("beyond LP", first.beyond_liquidation)) if on]
    more = f" +{len(checks) - 1}" if len(checks) > 1 else ""
    return f"{first.order.trigger_price:,.8g}" + (f" ({', '.join(flags)})" if flags else "") + more


def _stop_lines(symbol: str, checks: tuple[StopCheck, ...] | None) -> list[str]:
    lines = []
    for c in checks or ():
        stop = f"  {symbol} stop {c.order.trigger_price:,.8g} ({c.order.order_type}, id {c.order.id})"
        if c.beyond_liquidation:
            lines.append(f"{stop} is at or beyond the liquidation price: the position is liquidated before it fires")
        if c.in_band and c.band is not None:
            lines.append(f"{stop} is inside the {c.band.side} liquidation band {c.band.price_low:,.8g}–"
                         f"{c.band.price_high:,.8g} (~{_compact(c.band.notional)}): it fires into forced orders")
    return lines


def signals_table(a: AccountVerdict, signals: tuple[PositionSignals, ...]) -> tuple[Table, list[str]]:
    """Market signals beside the positions, and one line per unknown signal or misplaced stop saying why."""
    t = Table(title="  market signals (estimates; touch probability over 24 h)", title_justify="left")
    for col in ("symbol", "nearest band", "est. liq. notional to LP", "LP in band", "nearest stop", "σ-buffer",
                "touch P", "exit slip bp", "net buffer"):
        t.add_column(col, justify="left" if col == "symbol" else "right", no_wrap=True)
    why: list[str] = []
    for v, s in zip(a.positions, signals, strict=True):
        bp, dist, ex = s.band_proximity, s.distance, s.exit
        prox, near = bp.proximity, bp.proximity and bp.proximity.nearest_band
        nearest = "none" if near is None else f"{near.distance_pct:+.1f}% ({_compact(near.notional)})"
        in_way = prox.notional_to_liquidation if prox else None
        t.add_row(
            v.risk.symbol,
            UNKNOWN if prox is None else nearest,
            _known(bp.status, "no LP" if in_way is None else _compact(in_way)),
            _known(bp.status, "yes" if prox and prox.liquidation_in_band else "no"),
            _stop_cell(s.stops),
            _known(dist.status, "∞" if dist.sigma_buffer in (None, float("inf")) else f"{dist.sigma_buffer:.2f}σ"),
            _known(dist.status, _probability(dist.touch_probability)),
            _known(ex.status, f"{ex.exit_slippage_bp:.1f}" if ex.exit_slippage_bp is not None else "—"),
            _known(ex.status, "∞" if ex.buffer_net_of_slippage_pct == float("inf")
                   else _pct(ex.buffer_net_of_slippage_pct)),
        )
        for name, status, reason in (("bands", bp.status, bp.reason), ("σ-buffer", dist.status, dist.reason),
                                     ("exit slippage", ex.status, ex.reason)):
            if status != "ok":
                why.append(f"  {v.risk.symbol} {name} unknown: {reason}")
        why += _stop_lines(v.risk.symbol, s.stops)
    return t, why


def render(result: CheckResult, console: Console) -> None:
    for a in result.accounts:
        if a.positions:
            console.print(account_table(a))
        else:
            console.print(
                Text.assemble(
                    (a.name, "bold"), f"  {a.venue}  ", _status(a.status), "  no open positions" if a.risk else ""
                )
            )
        if a.risk:
            for c in a.risk.cross:
                console.print(
                    f"  cross {c.asset}: equity {c.equity:,.2f}, maintenance {c.maintenance_margin:,.2f}, "
                    f"margin ratio {c.margin_ratio:.2%}, buffer {c.buffer_pct:.2f}%, "
                    f"effective leverage {c.effective_leverage:.2f}x"
                )
        findings = [*a.findings, *(f for v in a.positions for f in v.findings)]
        for f in findings:
            if f.severity.value == 0:
                continue
            where = f" {f.symbol}" if f.symbol else ""
            console.print(f"  [{STYLE[Status.of(f.severity)]}]{f.code.value}[/]{where}: {f.message}")
        if a.positions:
            table, why = signals_table(a, result.signals[a.name])
            console.print(table)
            for line in why:
                console.print(Text(line, style="magenta"))
        if a.name in result.rules:
            render_policy(result.rules[a.name], console)
        console.print()
    console.print(Text.assemble("overall: ", _status(result.status), f"  (exit {int(result.status.exit_code)})"))
