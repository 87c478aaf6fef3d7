"""Liquidation, bankruptcy and margin figures for every position of one account.

Pure: takes the account and its venue's markets, returns numbers.  All
positions are solved in one vectorized call; only Binance hedge-mode cross legs,
which share a price, go through the per-group solver.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from riskguard.model import Account, MarginMode, Market, Position, PositionSide, TierBasis, VenueMarkets
from riskguard.risk.shared_price import Leg, shared_bankruptcy_price, shared_liquidation_price
from riskguard.risk.solver import bankruptcy_price, maintenance_margin, solve_liquidation
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_rules import (
    InitialMarginBasis,
    MaintenanceBasis,
    PriceConvention,
    TierSelection,
    VenueRules,
    rules_for,
)


class PriceSource(StrEnum):
    COMPUTED = "computed"
    VENUE = "venue"
    NONE = "none"
    """No price liquidates the position (fully collateralized)."""
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class PositionRisk:
    symbol: str
    side: str
    position_side: str
    margin_mode: str
    settle: str
    contracts: float
    entry_price: float
    mark_price: float
    notional: float
    """Position value at mark, in the settle asset."""
    unrealized_pnl: float
    maintenance_margin: float
    """Requirement at mark, in the settle asset, including a venue's fee term."""
    initial_margin: float | None
    equity: float
    """Collateral that backs the position: isolated margin + uPnL, or the cross account's equity."""
    margin_ratio: float
    """Requirement ÷ equity, as Binance and Bybit define it: liquidation at 1."""
    effective_leverage: float
    liquidation_price: float | None
    liquidation_source: PriceSource
    venue_liquidation_price: float | None
    liquidation_gap_bp: float | None
    bankruptcy_price: float | None
    buffer_pct: float | None
    """Adverse move from mark to the liquidation price, in % of mark."""
    tier: int
    mmr: float
    is_estimate: bool
    """True where the venue itself calls its per-position cross price an estimate."""
    unavailable_reason: str | None = None
    timestamp_ms: int | None = None

    @property
    def distance_bp(self) -> float | None:
        return None if self.buffer_pct is None else self.buffer_pct * 100


@dataclass(frozen=True, slots=True)
class CrossSummary:
    asset: str
    wallet: float
    equity: float
    maintenance_margin: float
    margin_ratio: float
    effective_leverage: float

    @property
    def headroom_pct(self) -> float:
        """Margin headroom: share of cross equity above maintenance (1 − margin ratio), in %.

        Not a price distance (that is the pool's uniform move, riskguard.risk.uniform_move), so never
        called a buffer.
        """
        return (1 - self.margin_ratio) * 100


@dataclass(frozen=True, slots=True)
class AccountRisk:
    name: str
    venue: str
    positions: tuple[PositionRisk, ...]
    cross: tuple[CrossSummary, ...]
    missing: tuple[str, ...]
    """Inputs that were needed and absent, each naming where."""


@dataclass(frozen=True, slots=True)
class _Arrays:
    inverse: np.ndarray
    side: np.ndarray
    qty: np.ndarray
    entry: np.ndarray
    mark: np.ndarray
    table: np.ndarray
    fixed_tier: np.ndarray
    mmr_add: np.ndarray
    tiers: TierTable


def _arrays(positions: list[Position], markets: list[Market], rules: VenueRules, taker: float | None) -> _Arrays:
    symbols = sorted({m.symbol for m in markets})
    index = {s: i for i, s in enumerate(symbols)}
    by_symbol = {m.symbol: m for m in markets}
    tiers = TierTable.from_tiers([by_symbol[s].tiers for s in symbols])
    inverse = np.array([m.inverse for m in markets])
    contracts = np.array([p.contracts for p in positions])
    qty = contracts * np.array([m.contract_size for m in markets])
    mark = np.array([p.mark_price for p in positions])
    table = np.array([index[m.symbol] for m in markets], dtype=np.int64)
    fixed = np.full(len(positions), -1, dtype=np.int64)
    if rules.tier_selection is TierSelection.CURRENT:
        size_now = np.where(inverse, qty / mark, qty * mark)
        by_contracts = np.array([m.tier_basis is TierBasis.CONTRACTS for m in markets])
        fixed = tiers.tier_at(table, np.where(by_contracts, contracts, size_now))
        reported = np.array([-1 if p.tier_index is None else p.tier_index for p in positions])
        fixed = np.where(reported >= 0, reported, fixed)
    mmr_add = np.full(len(positions), taker if (rules.fee_in_maintenance and taker is not None) else 0.0)
    return _Arrays(
        inverse=inverse,
        side=np.array([p.side.sign for p in positions]),
        qty=qty,
        entry=np.array([p.entry_price for p in positions]),
        mark=mark,
        table=table,
        fixed_tier=fixed,
        mmr_add=mmr_add,
        tiers=tiers,
    )


def _pnl(a: _Arrays, price: np.ndarray) -> np.ndarray:
    return np.where(a.inverse, a.side * a.qty * (1 / a.entry - 1 / price), a.side * a.qty * (price - a.entry))


def _apply_convention(price: np.ndarray, side: np.ndarray, ticks: np.ndarray, convention: PriceConvention):
    """Reproduce the number the venue displays from the exact root."""
    if convention is PriceConvention.EXACT:
        return price
    with np.errstate(invalid="ignore", divide="ignore"):
        if convention is PriceConvention.ONE_TICK_TOWARD_ENTRY:
            return price + side * ticks
        steps = np.round(price / ticks, 9)
        steps = np.where(side > 0, np.ceil(steps), np.floor(steps))
        # k ÷ (1/tick) is the double nearest the decimal the venue prints (913.15, not 913.1500000000001).
        per_unit = np.round(1 / ticks)
        return np.where(np.abs(per_unit * ticks - 1) < 1e-12, steps / per_unit, steps * ticks)


def evaluate_account(account: Account, venue: VenueMarkets) -> AccountRisk:
    """Every figure riskguard reports for one account, computed as its venue computes it."""
    rules = rules_for(account.venue, account.account_type)
    positions = list(account.positions)
    missing: list[str] = []
    if not positions:
        return AccountRisk(account.name, account.venue, (), _cross_summaries(account, [], None, None), ())
    markets = [venue.markets[p.symbol] for p in positions]
    taker = account.fees.taker if account.fees else None
    unavailable: dict[int, str] = {}
    if rules.needs_taker_fee and taker is None:
        missing.append(f"{account.name}: taker fee rate (the venue counts it in the maintenance requirement)")
        unavailable = dict.fromkeys(range(len(positions)), "taker fee rate unavailable")
    a = _arrays(positions, markets, rules, taker)
    n = len(positions)

    at_entry = rules.maintenance_basis is MaintenanceBasis.AT_ENTRY
    mm_req, tier_mark = maintenance_margin(
        inverse=a.inverse,
        qty=a.qty,
        price=a.entry if at_entry else a.mark,
        tiers=a.tiers,
        table=a.table,
        fixed_tier=a.fixed_tier,
        mmr_add=a.mmr_add,
    )
    reserve = np.zeros(n)
    if rules.close_fee_reserve:
        reserve = _close_fee_reserve(positions, a, taker or 0.0, unavailable)
    upnl = _pnl(a, a.mark)
    notional = np.where(a.inverse, a.qty / a.mark, a.qty * a.mark)
    isolated = np.array([p.margin_mode is MarginMode.ISOLATED for p in positions])
    iso_margin = np.array([p.isolated_margin if p.isolated_margin is not None else np.nan for p in positions])
    settle = [m.settle for m in markets]

    # Collateral: isolated margin, or the cross wallet with every other position frozen at its mark.
    cross_wallet = {asset: b.cross_wallet for asset, b in account.balances.items()}
    cross_upnl: dict[str, float] = defaultdict(float)
    cross_mm: dict[str, float] = defaultdict(float)
    for i in range(n):
        if not isolated[i]:
            cross_upnl[settle[i]] += upnl[i]
            cross_mm[settle[i]] += mm_req[i] + reserve[i]
    collateral = np.where(isolated, iso_margin, np.nan)
    for i in range(n):
        if isolated[i]:
            continue
        if settle[i] not in cross_wallet:
            unavailable[i] = f"no {settle[i]} balance for the cross account"
            continue
        others_mm = cross_mm[settle[i]] - mm_req[i] - reserve[i]
        collateral[i] = cross_wallet[settle[i]] + (cross_upnl[settle[i]] - upnl[i]) - others_mm
    if rules.close_fee_reserve and taker is not None:
        collateral = _net_of_close_fee(a, collateral, taker)
    for i in np.flatnonzero(np.isnan(collateral)):
        unavailable.setdefault(int(i), "collateral unavailable: a cross position's requirement could not be computed")

    # MM taken at entry is a constant: move it into the collateral and solve against a zero requirement.
    sol = solve_liquidation(
        inverse=a.inverse,
        side=a.side,
        qty=a.qty,
        entry=a.entry,
        margin=collateral - mm_req if at_entry else collateral,
        tiers=TierTable.flat(0.0) if at_entry else a.tiers,
        table=np.zeros(n, dtype=np.int64) if at_entry else a.table,
        fixed_tier=None if at_entry else a.fixed_tier,
        mmr_add=None if at_entry else a.mmr_add,
    )
    liq = sol.liquidation_price.copy()
    bankrupt = bankruptcy_price(inverse=a.inverse, side=a.side, qty=a.qty, entry=a.entry, margin=collateral)

    if rules.shared_hedge_cross_price:
        _solve_shared_legs(
            positions, markets, a, isolated, settle, cross_wallet, cross_upnl, cross_mm, upnl, mm_req, liq, bankrupt
        )

    ticks = np.array([m.price_tick or np.nan for m in markets])
    liq = _apply_convention(liq, a.side, ticks, rules.price_convention)
    bankrupt = _apply_convention(bankrupt, a.side, ticks, rules.price_convention)

    mm_report = mm_req + reserve
    entry_value, _ = _entry_value(a)
    im_at_entry = {
        InitialMarginBasis.MARK: np.zeros(n, dtype=bool),
        InitialMarginBasis.ENTRY: np.ones(n, dtype=bool),
        InitialMarginBasis.ENTRY_WHEN_ISOLATED: isolated,
    }[rules.initial_margin_basis]
    im_value = np.where(im_at_entry, entry_value, notional)
    cross = _cross_summaries(account, positions, notional, (settle, isolated, upnl, mm_report))
    cross_by_asset = {c.asset: c for c in cross}
    out = []
    for i, p in enumerate(positions):
        equity_i = (
            (iso_margin[i] + upnl[i])
            if isolated[i]
            else cross_by_asset[settle[i]].equity
            if settle[i] in cross_by_asset
            else math.nan
        )
        ratio = (
            mm_report[i] / equity_i
            if isolated[i]
            else (cross_by_asset[settle[i]].margin_ratio if settle[i] in cross_by_asset else math.nan)
        )
        reason = unavailable.get(i)
        price, source = _choose_price(liq[i], p.venue_liquidation_price, reason, collateral[i])
        gap = None
        if source is PriceSource.COMPUTED and p.venue_liquidation_price:
            gap = (price - p.venue_liquidation_price) / p.venue_liquidation_price * 1e4
        buffer = None if price is None else p.side.sign * (p.mark_price - price) / p.mark_price * 100
        out.append(
            PositionRisk(
                symbol=p.symbol,
                side=p.side.value,
                position_side=p.position_side.value,
                margin_mode=p.margin_mode.value,
                settle=settle[i],
                contracts=p.contracts,
                entry_price=p.entry_price,
                mark_price=p.mark_price,
                notional=float(notional[i]),
                unrealized_pnl=float(upnl[i]),
                maintenance_margin=float(mm_report[i]),
                initial_margin=float(im_value[i] / p.leverage + reserve[i]) if p.leverage else p.venue_initial_margin,
                equity=float(equity_i),
                margin_ratio=float(ratio),
                effective_leverage=float(notional[i] / equity_i) if equity_i > 0 else math.inf,
                liquidation_price=price,
                liquidation_source=source,
                venue_liquidation_price=p.venue_liquidation_price,
                liquidation_gap_bp=gap,
                bankruptcy_price=None if math.isnan(bankrupt[i]) or reason else float(bankrupt[i]),
                buffer_pct=buffer,
                tier=int(tier_mark[i]),
                mmr=float(a.tiers.mmr[a.table[i], tier_mark[i]] + a.mmr_add[i]),
                is_estimate=(not isolated[i]) and rules.cross_is_estimate,
                unavailable_reason=reason if source is PriceSource.UNAVAILABLE else None,
                timestamp_ms=p.timestamp_ms,
            )
        )
    return AccountRisk(account.name, account.venue, tuple(out), cross, tuple(missing))


def _choose_price(
    computed: float, venue: float | None, reason: str | None, collateral: float
) -> tuple[float | None, PriceSource]:
    """Computed when the inputs allowed it; else the venue's own figure, labelled; else unavailable."""
    if reason is None and not math.isnan(collateral):
        if not math.isnan(computed):
            return float(computed), PriceSource.COMPUTED
        return None, PriceSource.NONE
    if venue is not None:
        return venue, PriceSource.VENUE
    return None, PriceSource.UNAVAILABLE


def _entry_value(a: _Arrays) -> tuple[np.ndarray, np.ndarray]:
    """Entry value V in the settle asset and the slope d of equity in tier size (see the solver)."""
    value = np.where(a.inverse, a.qty / a.entry, a.qty * a.entry)
    return value, np.where(a.inverse, -a.side, a.side)


def _net_of_close_fee(a: _Arrays, collateral: np.ndarray, taker: float) -> np.ndarray:
    """Collateral left once the fee to close at the bankruptcy price is paid.

    Bybit keeps B = M + fee·N_b with N_b = V − d·M the size at bankruptcy, so
    M = (B − fee·V)/(1 − d·fee).
    """
    value, d = _entry_value(a)
    return (collateral - taker * value) / (1 - d * taker)


def _close_fee_reserve(positions: list[Position], a: _Arrays, taker: float, unavailable: dict[int, str]) -> np.ndarray:
    """Bybit's EstFeeToClose in IM and MM: the taker fee on the value at the leverage's bankruptcy price."""
    value, d = _entry_value(a)
    leverage = np.array([p.leverage or np.nan for p in positions])
    for i in np.flatnonzero(np.isnan(leverage)):
        unavailable.setdefault(int(i), "leverage unavailable (Bybit reserves the closing fee from it)")
    return taker * value * (1 - d / leverage)


def _solve_shared_legs(
    positions, markets, a, isolated, settle, cross_wallet, cross_upnl, cross_mm, upnl, mm_mark, liq, bankrupt
) -> None:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(positions):
        if not isolated[i] and p.position_side is not PositionSide.BOTH:
            groups[p.symbol].append(i)
    for idx in groups.values():
        if len(idx) < 2:
            continue
        asset = settle[idx[0]]
        if asset not in cross_wallet:
            continue
        margin = (
            cross_wallet[asset]
            + (cross_upnl[asset] - sum(upnl[i] for i in idx))
            - (cross_mm[asset] - sum(mm_mark[i] for i in idx))
        )
        legs = [
            Leg(int(a.side[i]), float(a.qty[i]), float(a.entry[i]), markets[i].tiers, float(a.mmr_add[i])) for i in idx
        ]
        inverse = bool(a.inverse[idx[0]])
        mark = float(a.mark[idx[0]])
        price = shared_liquidation_price(legs, margin, inverse, mark)
        bp = shared_bankruptcy_price(legs, margin, inverse, mark)
        for i in idx:
            liq[i] = np.nan if price is None else price
            bankrupt[i] = np.nan if bp is None else bp


def _cross_summaries(account: Account, positions, notional, parts) -> tuple[CrossSummary, ...]:
    out = []
    if parts is None:
        return tuple(
            CrossSummary(b.asset, b.cross_wallet, b.cross_wallet, 0.0, 0.0, 0.0)
            for b in account.balances.values()
            if b.cross_wallet > 0
        )
    settle, isolated, upnl, mm = parts
    for asset in sorted({settle[i] for i in range(len(positions)) if not isolated[i]}):
        members = [i for i in range(len(positions)) if not isolated[i] and settle[i] == asset]
        wallet = account.balances[asset].cross_wallet if asset in account.balances else math.nan
        equity = wallet + sum(upnl[i] for i in members)
        mm_total = sum(mm[i] for i in members)
        exposure = sum(notional[i] for i in members)
        out.append(
            CrossSummary(
                asset=asset,
                wallet=wallet,
                equity=float(equity),
                maintenance_margin=float(mm_total),
                margin_ratio=float(mm_total / equity) if equity > 0 else math.inf,
                effective_leverage=float(exposure / equity) if equity > 0 else math.inf,
            )
        )
    return tuple(out)
