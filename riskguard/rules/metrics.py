"""The values of the catalogued metrics (``metric_catalog``) for one account evaluation.

Every number comes from the risk core (``evaluate_account``) or the market signals (``market_view``): this
module only picks fields, takes minima, and for the funding drain solves the account again with the funding
paid (the core's own arrays and solver against the debited collateral; the collateral sums are the one piece
of ``evaluate_account`` repeated here, in its order, and tests/risk/test_variants.py holds them equal to the
full evaluation).  Values are computed on first use and memoized, so a metric read by many rules is computed
once per evaluation; an unknown value is ``None`` with a reason, and a rule that reads it gives an UNKNOWN
finding.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from riskguard.market_view import PositionSignals
from riskguard.model import Account, AssetBalance, MarginMode, PositionSide, VenueMarkets
from riskguard.risk.account_risk import AccountRisk, PositionRisk, PriceSource, evaluate_account, rule_columns
from riskguard.risk.crowding import funding_signal, open_interest_changes
from riskguard.risk.uniform_move import UniformMove, uniform_moves
from riskguard.risk.venue_math import display, solve
from riskguard.risk.venue_rules import rules_for

FUNDING_HORIZON_SECONDS = 86_400.0
OI_WINDOW_SECONDS = 86_400.0
DEFAULT_FUNDING_INTERVAL_SECONDS = 8 * 3_600.0
"""Used for the drain when the snapshot holds too little funding history to read the venue's interval."""

Reading = tuple[float | None, str | None]
"""(value, None) when known; (None, reason) when unknown."""


def _known(value: float | None, reason: str) -> Reading:
    return (None, reason) if value is None or (isinstance(value, float) and math.isnan(value)) else (value, None)


@dataclass
class MetricTable:
    """Metric values of one account, memoized by (name, position index); ``-1`` indexes the account."""

    account: Account
    venue: VenueMarkets
    risk: AccountRisk
    signals: Sequence[PositionSignals] | None
    taken_at_ms: int
    moves: tuple[UniformMove, ...] | None = None
    """The cross pools' uniform moves when the caller already has them (the verdict); else computed on use."""
    _memo: dict[tuple[str, int], Reading] = field(default_factory=dict)
    _after_funding: AccountRisk | None = None
    _funded_buffers: tuple[Reading | None, ...] | None = None

    def position(self, name: str, index: int) -> Reading:
        key = (name, index)
        if key not in self._memo:
            self._memo[key] = POSITION_METRICS[name](self, index)
        return self._memo[key]

    def account_value(self, name: str) -> Reading:
        key = (name, -1)
        if key not in self._memo:
            self._memo[key] = ACCOUNT_METRICS[name](self)
        return self._memo[key]

    # -- helpers shared by several metrics ---------------------------------------------------------------

    def _signal(self, i: int) -> PositionSignals | None:
        return None if self.signals is None else self.signals[i]

    def funding_rate(self, symbol: str) -> tuple[float | None, float]:
        """(current rate, interval seconds): the ticker's predicted rate, else the last settled one."""
        quote = self.venue.quotes.get(symbol)
        series = self.venue.series.get(symbol)
        history = series.funding if series else ()
        rate = quote.funding_rate if quote and quote.funding_rate is not None else None
        if rate is None and history:
            rate = max(history)[1]
        interval = DEFAULT_FUNDING_INTERVAL_SECONDS
        if len(history) >= 2:
            steps = np.diff(sorted(t for t, _ in history))
            interval = float(np.median(steps)) / 1000 or interval
        return rate, interval

    def drain(self, i: int) -> float | None:
        """Settle-asset amount the position pays over the horizon (receives when negative)."""
        p = self.risk.positions[i]
        rate, interval = self.funding_rate(p.symbol)
        if rate is None:
            return None
        sign = 1 if p.side == "long" else -1
        return sign * rate * p.notional * FUNDING_HORIZON_SECONDS / interval

    def paid_funding(self) -> Account | None:
        """The account once every position has paid the horizon's funding: isolated margins and cross
        wallets debited (None when a rate is missing)."""
        drains = [self.drain(i) for i in range(len(self.risk.positions))]
        if any(d is None for d in drains):
            return None
        positions = list(self.account.positions)
        balances = dict(self.account.balances)
        for j, (pos, d) in enumerate(zip(positions, drains, strict=True)):
            assert d is not None
            if pos.margin_mode is MarginMode.ISOLATED and pos.isolated_margin is not None:
                positions[j] = replace(pos, isolated_margin=pos.isolated_margin - d, venue_liquidation_price=None)
            else:
                settle = self.risk.positions[j].settle
                b = balances.get(settle, AssetBalance(settle, 0.0, 0.0))
                balances[settle] = AssetBalance(settle, b.wallet - d, b.cross_wallet - d)
                positions[j] = replace(pos, venue_liquidation_price=None)
        return replace(self.account, positions=tuple(positions), balances=balances)

    def _funded_rows(self, drains: list[float]) -> tuple[Reading | None, ...]:
        """Each position's buffer once ``drains`` are paid, None where :meth:`after_funding` must say it.

        Funding moves collateral only: sizes, marks, tiers and requirements stay, so the risk evaluation's
        own arrays and requirement (``AccountRisk.solved``) are solved again against the debited collateral,
        which is built as ``evaluate_account`` builds it on :meth:`paid_funding` (the same sums in the same
        order, so the roots are equal, not close).  A position whose price was not computed (missing
        inputs) and Binance hedge legs sharing a price take the full evaluation."""
        solved, positions = self.risk.solved, self.account.positions
        n = len(positions)
        rules = rules_for(self.account.venue, self.account.account_type)
        if solved is None or solved.positions is not positions or n == 0:
            return ()
        a, req = solved.arrays, solved.requirement
        isolated = a.isolated.tolist()
        if rules.shared_hedge_cross_price and any(
                not isolated[j] and p.position_side is not PositionSide.BOTH for j, p in enumerate(positions)):
            return ()
        settle = [r.settle for r in self.risk.positions]
        wallets = {asset: b.cross_wallet for asset, b in self.account.balances.items()}
        collateral = [math.nan] * n
        for j, (pos, d) in enumerate(zip(positions, drains, strict=True)):  # paid_funding's debits, in its order
            if pos.margin_mode is MarginMode.ISOLATED and pos.isolated_margin is not None:
                collateral[j] = pos.isolated_margin - d
            else:
                wallets[settle[j]] = wallets.get(settle[j], 0.0) - d
        upnl = [r.unrealized_pnl for r in self.risk.positions]
        mm, reserve = req.maintenance.tolist(), req.reserve.tolist()
        cross_upnl: dict[str, float] = defaultdict(float)
        cross_mm: dict[str, float] = defaultdict(float)
        for j in range(n):
            if not isolated[j]:
                cross_upnl[settle[j]] += upnl[j]
                cross_mm[settle[j]] += mm[j] + reserve[j]
        for j in range(n):
            if not isolated[j]:
                others_mm = cross_mm[settle[j]] - mm[j] - reserve[j]
                collateral[j] = wallets[settle[j]] + (cross_upnl[settle[j]] - upnl[j]) - others_mm
        cols = rule_columns(rules, a.isolated)
        liq, _ = solve(a, cols, req, np.array(collateral))
        ticks = np.array([self.venue.markets[p.symbol].price_tick or np.nan for p in positions])
        shown, _ = display(liq, a.side, ticks, cols.liquidation_convention)
        out: list[Reading | None] = []
        for p, r, c, root, price in zip(positions, self.risk.positions, collateral, liq.tolist(), shown.tolist(),
                                        strict=True):
            if r.liquidation_source not in (PriceSource.COMPUTED, PriceSource.NONE) or math.isnan(c):
                out.append(None)
            elif math.isnan(root if math.isnan(price) else price):
                out.append((math.inf, None))  # no price liquidates it
            else:
                price = root if math.isnan(price) else price
                out.append((p.side.sign * (p.mark_price - price) / p.mark_price * 100, None))
        return tuple(out)

    def after_funding(self) -> AccountRisk | None:
        """``evaluate_account`` on :meth:`paid_funding`: the venue math run again."""
        if self._after_funding is None:
            paid = self.paid_funding()
            if paid is None:
                return None
            self._after_funding = evaluate_account(paid, self.venue)
        return self._after_funding

    def buffer_after_funding(self, i: int) -> Reading:
        """Position ``i``'s buffer once the funding is paid.  Funding moves collateral only (sizes and marks
        stay), so every buffer comes from one solve of the account's arrays (:meth:`_funded_rows`), the same
        math as :meth:`after_funding` at a fraction of its cost; the full evaluation runs only where that
        does not apply or for the reason text of a price it cannot compute."""
        if self._funded_buffers is None:
            drains = [self.drain(i) for i in range(len(self.risk.positions))]
            if any(d is None for d in drains):
                return None, "NO_FUNDING: a position of the account has no funding rate"
            self._funded_buffers = self._funded_rows([d for d in drains if d is not None])
        fast = self._funded_buffers[i] if i < len(self._funded_buffers) else None
        if fast is not None:
            return fast
        after = self.after_funding()
        assert after is not None  # every drain was known above, so the paid account exists
        return _buffer(after.positions[i])


# -- POSITION METRICS --------------------------------------------------------------------------------------


def _buffer(r: PositionRisk) -> Reading:
    if r.liquidation_source is PriceSource.NONE:
        return math.inf, None
    return _known(r.buffer_pct, f"LIQUIDATION_PRICE_UNAVAILABLE: {r.unavailable_reason or 'no inputs'}")


def _sigma(t: MetricTable, i: int) -> Reading:
    s = t._signal(i)
    if s is None:
        return None, "NO_SIGNALS: market signals were not computed"
    return _known(s.distance.sigma_buffer, s.distance.reason or "unknown")


def _touch(t: MetricTable, i: int) -> Reading:
    s = t._signal(i)
    if s is None:
        return None, "NO_SIGNALS: market signals were not computed"
    return _known(s.distance.touch_probability, s.distance.reason or "unknown")


def _equity_ratio(value: float, what: str) -> Reading:
    return (value, None) if math.isfinite(value) else (None, f"{what}: equity is zero or negative")


def _band(t: MetricTable, i: int, pick: Callable[..., float | None]) -> Reading:
    s = t._signal(i)
    if s is None:
        return None, "NO_SIGNALS: market signals were not computed"
    prox = s.band_proximity.proximity
    if prox is None:
        return None, s.band_proximity.reason or "BANDS_UNKNOWN"
    if prox.nearest_band is None:
        return None, "NO_ADVERSE_BAND: no crowded band on the position's adverse side"
    return _known(pick(prox), "unknown")


def _liq_in_band(t: MetricTable, i: int) -> Reading:
    s = t._signal(i)
    if s is None:
        return None, "NO_SIGNALS: market signals were not computed"
    bp = s.band_proximity
    if bp.status != "ok" or bp.proximity is None:
        return None, bp.reason or "BANDS_UNKNOWN"
    return float(bp.proximity.liquidation_in_band), None


def _stops(t: MetricTable, i: int, attr: str) -> Reading:
    s = t._signal(i)
    if s is None or s.stops is None:
        return None, "NO_OPEN_ORDERS: the snapshot did not record open orders"
    flags = [getattr(c, attr) for c in s.stops]
    if any(f is True for f in flags):
        return 1.0, None
    if any(f is None for f in flags):
        return None, f"{attr.upper()}_UNKNOWN: the liquidation price or the bands are unknown"
    return 0.0, None


def _funding_z(t: MetricTable, i: int) -> Reading:
    p = t.risk.positions[i]
    rate, _ = t.funding_rate(p.symbol)
    series = t.venue.series.get(p.symbol)
    if rate is None or series is None or not series.funding:
        return None, "NO_FUNDING: the snapshot has no funding rate for this symbol"
    rows = sorted(series.funding)
    sig = funding_signal([r[0] for r in rows], [r[1] for r in rows], rate, t.taken_at_ms)
    if sig.zscore is None:
        return None, sig.reason
    return (sig.zscore if p.side == "long" else -sig.zscore), None


def _drain(t: MetricTable, i: int) -> Reading:
    return _known(t.drain(i), "NO_FUNDING: the snapshot has no funding rate for this symbol")


def _after_funding(t: MetricTable, i: int) -> Reading:
    return t.buffer_after_funding(i)


def _oi_change(t: MetricTable, i: int) -> Reading:
    series = t.venue.series.get(t.risk.positions[i].symbol)
    if series is None or not series.open_interest:
        return None, "NO_OPEN_INTEREST: the snapshot has no open interest for this symbol"
    rows = sorted(series.open_interest)
    (change,) = open_interest_changes([r[0] for r in rows], [r[1] for r in rows], t.taken_at_ms, (OI_WINDOW_SECONDS,))
    return _known(None if change.change_pct is None else float(change.change_pct), change.reason or "unknown")


def _slippage(t: MetricTable, i: int) -> Reading:
    s = t._signal(i)
    if s is None:
        return None, "NO_SIGNALS: market signals were not computed"
    return _known(s.exit.exit_slippage_bp, s.exit.reason or "unknown")


def _gap(t: MetricTable, i: int) -> Reading:
    gap = t.risk.positions[i].liquidation_gap_bp
    return (None, "NO_VENUE_PRICE: no venue liquidation price to compare") if gap is None else (abs(gap), None)


def _adl(t: MetricTable, i: int) -> Reading:
    rank = t.account.positions[i].adl_rank
    return (None, "NO_ADL_RANK: the venue does not report one") if rank is None else (float(rank), None)


def _age(t: MetricTable, i: int) -> Reading:
    p = t.risk.positions[i]
    quote = t.venue.quotes.get(p.symbol)
    stamps = [ts for ts in (p.timestamp_ms, quote.timestamp_ms if quote else None) if ts is not None]
    if not stamps:
        return None, "NO_TIMESTAMP: neither the position nor its mark price carries a timestamp"
    return (t.taken_at_ms - min(stamps)) / 1000, None


POSITION_METRICS: dict[str, Callable[[MetricTable, int], Reading]] = {
    "liquidation_buffer_pct": lambda t, i: _buffer(t.risk.positions[i]),
    "liquidation_buffer_sigma": _sigma,
    "touch_probability": _touch,
    "effective_leverage": lambda t, i: _equity_ratio(t.risk.positions[i].effective_leverage, "effective_leverage"),
    "margin_ratio": lambda t, i: _equity_ratio(t.risk.positions[i].margin_ratio, "margin_ratio"),
    "band_distance_pct": lambda t, i: _band(t, i, lambda p: None if p.distance_pct is None else abs(p.distance_pct)),
    "band_notional": lambda t, i: _band(t, i, lambda p: p.nearest_band.notional),
    "liquidation_in_band": _liq_in_band,
    "stop_beyond_liquidation": lambda t, i: _stops(t, i, "beyond_liquidation"),
    "stop_in_band": lambda t, i: _stops(t, i, "in_band"),
    "funding_zscore": _funding_z,
    "funding_drain": _drain,
    "buffer_after_funding_pct": _after_funding,
    "oi_change_pct": _oi_change,
    "exit_slippage_bp": _slippage,
    "liquidation_gap_bp": _gap,
    "adl_rank": _adl,
    "data_age_s": _age,
}


# -- ACCOUNT METRICS ---------------------------------------------------------------------------------------


def _account_buffer(t: MetricTable) -> Reading:
    if not t.risk.positions:
        return math.inf, None
    readings = [_buffer(p) for p in t.risk.positions]
    unknown = next((r for _, r in readings if r is not None), None)
    if unknown is not None:
        return None, unknown
    return min(v for v, _ in readings if v is not None), None


def _cross(t: MetricTable, pick: Callable[[Sequence[float]], float], attr: str) -> Reading:
    if not any(p.margin_mode == "cross" for p in t.risk.positions):
        return None, "NO_CROSS: the account has no cross positions"
    return pick([getattr(c, attr) for c in t.risk.cross]), None


@dataclass(frozen=True, slots=True)
class Exposure:
    long: float
    short: float
    equity: float


def exposure(risk: AccountRisk) -> Exposure | str:
    """Long and short notional and total equity, in the one settle asset; or why they cannot be summed."""
    assets = {p.settle for p in risk.positions}
    if len(assets) > 1:
        return f"MIXED_SETTLE: positions settle in {', '.join(sorted(assets))}; amounts are not summed"
    long = sum((p.notional for p in risk.positions if p.side == "long"), 0.0)
    short = sum((p.notional for p in risk.positions if p.side == "short"), 0.0)
    equity = sum(c.equity for c in risk.cross) + sum(p.equity for p in risk.positions if p.margin_mode == "isolated")
    return Exposure(long, short, equity)


def _exposure(t: MetricTable, pick: Callable[[Exposure], float], needs_equity: bool) -> Reading:
    e = exposure(t.risk)
    if isinstance(e, str):
        return None, e
    if needs_equity and not e.equity > 0:
        return None, "NO_EQUITY: total equity is zero or negative"
    return pick(e), None


def _uniform_move(t: MetricTable) -> Reading:
    moves = t.moves if t.moves is not None else uniform_moves(t.account, t.venue)
    if not moves or not any(p.margin_mode == "cross" for p in t.risk.positions):
        return None, "NO_CROSS: the account has no cross positions"
    unknown = next((m for m in moves if not m.known), None)
    if unknown is not None:
        return None, f"UNIFORM_MOVE_UNKNOWN: {unknown.asset}: {unknown.reason}"
    return min(m.binding_pct for m in moves), None


def _max_age(t: MetricTable) -> Reading:
    ages = [v for i in range(len(t.risk.positions)) if (v := t.position("data_age_s", i)[0]) is not None]
    return (max(ages), None) if ages else (None, "NO_TIMESTAMP: no position carries a timestamp")


ACCOUNT_METRICS: dict[str, Callable[[MetricTable], Reading]] = {
    "account_buffer_pct": _account_buffer,
    "cross_margin_ratio": lambda t: _cross(t, max, "margin_ratio"),
    "cross_headroom_pct": lambda t: _cross(t, min, "headroom_pct"),
    "uniform_adverse_move_pct": _uniform_move,
    "account_effective_leverage": lambda t: _exposure(t, lambda e: (e.long + e.short) / e.equity, True),
    "long_exposure": lambda t: _exposure(t, lambda e: e.long, False),
    "short_exposure": lambda t: _exposure(t, lambda e: e.short, False),
    "net_exposure": lambda t: _exposure(t, lambda e: e.long - e.short, False),
    "gross_exposure": lambda t: _exposure(t, lambda e: e.long + e.short, False),
    "long_leverage": lambda t: _exposure(t, lambda e: e.long / e.equity, True),
    "short_leverage": lambda t: _exposure(t, lambda e: e.short / e.equity, True),
    "leverage_asymmetry": lambda t: _exposure(t, lambda e: abs(e.long - e.short) / e.equity, True),
    "max_data_age_s": _max_age,
}

