"""Rich tables for people: one per account, worst news first in colour.

The tables fit the console: when a full row would not, the least important columns go first (the
order is ``priority`` below) and ``--wide`` brings them all back.  Prices are printed at the market's
tick; a liquidation or bankruptcy price between ticks is rounded toward mark, so the table never shows
a position further from liquidation than it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, JustifyMethod, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from riskguard.check import CheckResult
from riskguard.market_view import PositionSignals, SymbolCrowding
from riskguard.report.policy_view import render_policy
from riskguard.risk.account_risk import PositionRisk, PriceSource
from riskguard.risk.stops import StopCheck
from riskguard.risk.uniform_move import UniformMove
from riskguard.rules.codes import Status
from riskguard.rules.policy_check import AccountVerdict, PositionVerdict

STYLE = {Status.OK: "green", Status.WARNING: "yellow", Status.BREACH: "bold red", Status.UNKNOWN: "bold magenta"}
LEGEND = "liq: liquidation price (~ estimate) · buffer: adverse move from mark to liq · lev: notional÷equity"
UNKNOWN = Text("unknown", style=STYLE[Status.UNKNOWN])
Cell = str | Text


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    cell: Callable[[int], Cell]
    priority: int
    """Lower is kept longer when the console is narrow."""
    justify: JustifyMethod = "right"


def fitted_table(title: Text | str, columns: Sequence[Column], rows: int, width: int | None) -> Table:
    """The table with the most important columns whose rows fit ``width`` (all of them when None)."""
    cells = {id(c): [_plain(c.cell(r)) for r in range(rows)] for c in columns}
    natural = {id(c): _natural_width(c.header, cells[id(c)]) for c in columns}
    keep = list(columns)

    def table_of(kept: list[Column]) -> Table:
        table = Table(title=title, title_justify="left", expand=False)
        for c in kept:
            table.add_column(c.header, justify=c.justify, no_wrap=True)
        for r in range(rows):
            table.add_row(*(cells[id(c)][r] for c in kept))
        return table

    while width is not None and len(keep) > 2:
        known = [w for c in keep if (w := natural[id(c)]) is not None]
        # What rich measures: each column's widest cell with its padding, and a rule between columns and at the
        # edges; measured by rich itself when a cell defeats that.
        total = sum(known) + len(keep) + 1 if len(known) == len(keep) else _width(table_of(keep))
        if total <= width:
            break
        keep.remove(max(keep, key=lambda c: c.priority))
    return table_of(keep)


def _plain(cell: Cell) -> Cell:
    """A string that holds no markup or emoji code as the ``Text`` rich would make of it, so rich does not parse
    it again in every table it is printed in."""
    return cell if isinstance(cell, Text) or _rich_parses(cell) else Text(cell)


def _rich_parses(text: str) -> bool:
    return "[" in text or text.count(":") > 1


def _natural_width(header: str, cells: list[Cell]) -> int | None:
    """A column's unwrapped width with its one-space padding each side, as rich measures it; None where a cell's
    text could hold markup or an emoji code (rich would render it, so only rich can measure it)."""
    widest = 0
    for cell in (header, *cells):
        if isinstance(cell, Text):
            text = cell.plain
        elif _rich_parses(cell):
            return None
        else:
            text = cell
        widest = max(widest, *(cell_len(line) for line in text.split("\n")))
    return widest + 2


def _width(renderable: RenderableType) -> int:
    console = Console(width=10_000)
    return Measurement.get(console, console.options, renderable).maximum


def _decimals(tick: float | None) -> int | None:
    if tick is None or not (math.isfinite(tick) and tick > 0):
        return None
    return max(0, -math.floor(math.log10(tick) + 1e-9))


def price_text(x: float | None, tick: float | None, toward: float | None = None) -> str:
    """``x`` at the tick's decimals; with ``toward`` (mark) the rounding goes that way, never away from it."""
    if x is None or not math.isfinite(x):
        return "—"
    d = _decimals(tick)
    if d is None:
        return f"{x:,.8g}"
    scale = 10.0**d
    if toward is not None:
        steps = round(x * scale, 6)
        x = (math.ceil(steps) if toward > x else math.floor(steps)) / scale
    return f"{x:,.{d}f}"


def signed(x: float, decimals: int = 2) -> str:
    """+1.25 / −0.40; a value that rounds to zero is 0.00, never −0.00."""
    text = f"{x:+.{decimals}f}"
    return f"{0:.{decimals}f}" if float(text) == 0 else text


def _pct(x: float | None) -> str:
    return "—" if x is None else "∞" if x == math.inf else f"{x:.2f}%"


def _status(s: Status) -> Text:
    return Text(s.value.upper(), style=STYLE[s])


def _liq(p: PositionRisk, tick: float | None) -> str:
    if p.liquidation_source is PriceSource.NONE:
        return "none"
    mark = {PriceSource.VENUE: " (venue)", PriceSource.UNAVAILABLE: ""}.get(p.liquidation_source, "")
    est = " ~" if p.is_estimate else ""
    return price_text(p.liquidation_price, tick, p.mark_price) + mark + est


def _side(p: PositionRisk) -> str:
    return p.side if p.position_side == "both" else f"{p.side}/{p.position_side[0]} leg"


def position_columns(a: AccountVerdict) -> list[Column]:
    rows: list[PositionVerdict] = list(a.positions)
    ticks = [a.price_ticks.get(v.risk.symbol) for v in rows]

    def col(header: str, priority: int, f: Callable[[PositionRisk, float | None], Cell],
            justify: JustifyMethod = "right") -> Column:
        return Column(header, lambda r: f(rows[r].risk, ticks[r]), priority, justify)

    return [
        col("symbol", 0, lambda p, t: p.symbol, "left"),
        col("side", 1, lambda p, t: _side(p), "left"),
        col("mode", 6, lambda p, t: "iso" if p.margin_mode == "isolated" else p.margin_mode, "left"),
        col("size", 7, lambda p, t: f"{p.contracts:,.8g}"),
        col("entry", 9, lambda p, t: price_text(p.entry_price, t)),
        col("mark", 4, lambda p, t: price_text(p.mark_price, t)),
        col("liq", 2, _liq),
        col("venue liq", 10, lambda p, t: price_text(p.venue_liquidation_price, t)),
        col("gap bp", 12, lambda p, t: "—" if p.liquidation_gap_bp is None else signed(p.liquidation_gap_bp)),
        col("bankr.", 13, lambda p, t: price_text(p.bankruptcy_price, t, p.mark_price)),
        col("buffer", 3, lambda p, t: _pct(p.buffer_pct)),
        col("m. ratio", 11, lambda p, t: f"{p.margin_ratio:.2%}"),
        col("lev", 8, lambda p, t: f"{p.effective_leverage:.2f}x"),
        Column("status", lambda r: _status(rows[r].status), 5, "left"),
    ]


def account_table(a: AccountVerdict, width: int | None = None) -> Table:
    title = Text.assemble((f"{a.name}", "bold"), f"  {a.venue}  ", _status(a.status))
    return fitted_table(title, position_columns(a), len(a.positions), width)


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


def funding_z_cell(c: SymbolCrowding | None) -> Cell:
    if c is None or c.funding.zscore is None:
        return UNKNOWN
    return signed(c.funding.zscore)


def oi_change_cell(c: SymbolCrowding | None) -> Cell:
    window = None if c is None else c.flag_window
    if window is None or window.change_pct is None:
        return UNKNOWN
    return signed(window.change_pct, 1) + "%"


CROWDED_STYLE = {"crowded_long": "bold red", "crowded_short": "bold red", "not_crowded": "green"}


def crowded_cell(c: SymbolCrowding | None) -> Cell:
    if c is None or c.flag.state == "unknown":
        return UNKNOWN
    return Text(c.flag.state.replace("_", " "), style=CROWDED_STYLE[c.flag.state])


def _crowding_reasons(symbol: str, c: SymbolCrowding | None) -> list[str]:
    if c is None:
        return [f"  {symbol} crowding unknown: not computed"]
    return [] if c.flag.state != "unknown" else [f"  {symbol} crowding unknown: {c.flag.reason}"]


def signals_table(
    a: AccountVerdict, signals: tuple[PositionSignals, ...], width: int | None = None
) -> tuple[Table, list[str]]:
    """Market signals beside the positions, and one line per unknown signal or misplaced stop saying why."""
    rows = list(zip(a.positions, signals, strict=True))

    def col(header: str, priority: int, f: Callable[[PositionVerdict, PositionSignals], Cell],
            justify: JustifyMethod = "right") -> Column:
        return Column(header, lambda r: f(*rows[r]), priority, justify)

    def nearest(v: PositionVerdict, s: PositionSignals) -> Cell:
        prox = s.band_proximity.proximity
        near = prox.nearest_band if prox else None
        return UNKNOWN if prox is None else "none" if near is None else (
            f"{signed(near.distance_pct, 1)}% ({_compact(near.notional)})")

    def to_lp(v: PositionVerdict, s: PositionSignals) -> Cell:
        prox = s.band_proximity.proximity
        in_way = prox.notional_to_liquidation if prox else None
        return _known(s.band_proximity.status, "no LP" if in_way is None else _compact(in_way))

    def lp_in_band(v: PositionVerdict, s: PositionSignals) -> Cell:
        prox = s.band_proximity.proximity
        return _known(s.band_proximity.status, "yes" if prox and prox.liquidation_in_band else "no")

    def sigma(v: PositionVerdict, s: PositionSignals) -> Cell:
        d = s.distance
        return _known(d.status, "∞" if d.sigma_buffer in (None, math.inf) else f"{d.sigma_buffer:.2f}σ")

    def net(v: PositionVerdict, s: PositionSignals) -> Cell:
        ex = s.exit
        return _known(ex.status, "∞" if ex.buffer_net_of_slippage_pct == math.inf
                      else _pct(ex.buffer_net_of_slippage_pct))

    columns = [
        col("symbol", 0, lambda v, s: v.risk.symbol, "left"),
        col("nearest band", 1, nearest),
        col("liq. notional to LP", 9, to_lp),
        col("LP in band", 6, lp_in_band),
        col("nearest stop", 2, lambda v, s: _stop_cell(s.stops)),
        col("σ-buffer", 7, sigma),
        col("touch P", 8, lambda v, s: _known(s.distance.status, _probability(s.distance.touch_probability))),
        col("slip bp", 10, lambda v, s: _known(s.exit.status, "—" if s.exit.exit_slippage_bp is None
                                                 else f"{s.exit.exit_slippage_bp:.1f}")),
        col("net buffer", 11, net),
        col("funding z", 4, lambda v, s: funding_z_cell(s.crowding)),
        col("OI 4h", 5, lambda v, s: oi_change_cell(s.crowding)),
        col("crowded", 3, lambda v, s: crowded_cell(s.crowding)),
    ]
    t = fitted_table("  market signals (estimates; touch probability over 24 h)", columns, len(rows), width)
    why: list[str] = []
    for v, s in rows:
        bp, dist, ex = s.band_proximity, s.distance, s.exit
        for name, status, reason in (("bands", bp.status, bp.reason), ("σ-buffer", dist.status, dist.reason),
                                     ("exit slippage", ex.status, ex.reason)):
            if status != "ok":
                why.append(f"  {v.risk.symbol} {name} unknown: {reason}")
        why += _crowding_reasons(v.risk.symbol, s.crowding)
        why += _stop_lines(v.risk.symbol, s.stops)
        if bp.side_split is not None:
            why.append(f"  {v.risk.symbol} bands: {side_split_line(bp.side_split)}")
    return t, why


def side_split_line(split: dict) -> str:
    """The split of the levels and what each source said alone; funding by its note (floor bars do not vote)."""
    sources = [e for e in split["sources"] if e["bars"] and e["long_share"] is not None]
    voted = [f"{e['source']} {e['long_share']:.0%}" for e in sources if e["source"] != "funding"]
    floor = next((e["note"] for e in sources if e["source"] == "funding"), None)
    share = "unknown" if split["long_share"] is None else f"{split['long_share']:.0%}"
    evidence = ", ".join(voted) or "no evidence: split 50/50"
    return f"est. {share} of liquidation levels long (by source: {evidence})" + (f"; funding {floor}" if floor else "")


def move_text(m: UniformMove) -> str:
    """How far every mark of the pool can move together before it is liquidated, both ways."""
    if not m.known:
        return f"  {m.asset} cross buffer (all marks together): unknown: {m.reason}"

    def one(x: float, sign: str) -> str:
        return "none liquidates" if x == math.inf else f"{sign}{x:.2f}%"

    both = math.isfinite(m.down_pct) and math.isfinite(m.up_pct)
    binding = f"  ← binding: {m.binding_direction.value}" if both else ""
    return (f"  {m.asset} cross buffer (all marks together): down {one(m.down_pct, '−')}, "
            f"up {one(m.up_pct, '+')}{binding}")


def _account_lines(a: AccountVerdict) -> list[str]:
    lines = []
    moves = {m.asset: m for m in a.uniform_moves}
    for c in a.risk.cross if a.risk else ():
        lines.append(
            f"  cross {c.asset}: equity {c.equity:,.2f}, maintenance {c.maintenance_margin:,.2f}, "
            f"margin ratio {c.margin_ratio:.2%}, leverage {c.effective_leverage:.2f}x"
        )
        if c.asset in moves:
            lines.append(move_text(moves[c.asset]))
    return lines


def _print_table(console: Console, table: Table, wide: bool) -> None:
    """--wide: the table at its natural width, wider than the console if need be (the terminal wraps lines,
    never cells)."""
    if not wide:
        console.print(table)
        return
    width = console.width
    console.width = max(width, _width(table))
    try:
        console.print(table)
    finally:
        console.width = width


def render(result: CheckResult, console: Console, wide: bool = False) -> None:
    width = None if wide else console.width
    for a in result.accounts:
        if a.positions:
            _print_table(console, account_table(a, width), wide)
        else:
            console.print(
                Text.assemble(
                    (a.name, "bold"), f"  {a.venue}  ", _status(a.status), "  no open positions" if a.risk else ""
                )
            )
        for line in _account_lines(a):
            console.print(line, highlight=False)
        findings = [*a.findings, *(f for v in a.positions for f in v.findings)]
        for f in findings:
            if f.severity.value == 0:
                continue
            where = f" {f.symbol}" if f.symbol else ""
            console.print(f"  [{STYLE[Status.of(f.severity)]}]{f.code.value}[/]{where}: {f.message}", highlight=False)
        if a.positions:
            table, why = signals_table(a, result.signals[a.name], width)
            _print_table(console, table, wide)
            for line in why:
                console.print(Text(line, style="magenta"))
        if a.name in result.rules:
            render_policy(result.rules[a.name], result.plans.get(a.name), console)
        console.print()
    if any(a.positions for a in result.accounts):
        console.print(Text(LEGEND, style="dim"))
    console.print(Text.assemble("overall: ", _status(result.status), f"  (exit {int(result.status.exit_code)})"))
