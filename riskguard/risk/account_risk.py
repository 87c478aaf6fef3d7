"""Liquidation, bankruptcy and margin figures for every position of one account.

Pure: takes the account and its venue's markets, returns numbers.  All
positions are solved in one vectorized call; only Binance hedge-mode cross legs,
which share a price, go through the per-group solver.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum

import numpy as np

from riskguard.model import Account, MarginMode, Market, Position, PositionSide, TierBasis, VenueMarkets
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import (
    RULE_NAMES,
    PositionArrays,
    Requirement,
    RuleColumns,
    display,
    requirement,
    solve,
    solve_shared_legs,
)
from riskguard.risk.venue_rules import InitialMarginBasis, VenueRules, rules_for


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
    liquidation_price_raw: float | None = None
    """The exact root (computed figures only); ``liquidation_price`` is what the venue would show."""
    liquidation_price_displayed: float | None = None
    """The venue's display of the root; None when it cannot be known (no price tick), the raw root then stands."""
    bankruptcy_price_raw: float | None = None
    display_rule: str | None = None
    """The rounding rule behind ``liquidation_price_displayed``, e.g. "rounded toward entry to the tick"."""
    method: str = "venue rules"
    """"venue rules", or "generic estimate" for a venue riskguard has no rules for (``is_estimate`` then too)."""

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
    solved: SolvedInputs | None = field(default=None, compare=False, repr=False)
    """The arrays the figures came from, for ``uniform_moves`` to reuse rather than rebuild."""


@dataclass(frozen=True, slots=True)
class SolvedInputs:
    """``evaluate_account``'s position arrays and requirement, with the positions they were built from (a
    reader checks it holds the same tuple, so arrays of another account are never read as this one's)."""

    positions: tuple[Position, ...]
    arrays: PositionArrays
    requirement: Requirement


def _arrays(positions: list[Position], markets: list[Market], taker: float | None) -> PositionArrays:
    symbols = sorted({m.symbol for m in markets})
    index = {s: i for i, s in enumerate(symbols)}
    by_symbol = {m.symbol: m for m in markets}
    contracts = np.array([p.contracts for p in positions], dtype=float)
    n = len(positions)
    return PositionArrays(
        inverse=np.array([m.inverse for m in markets]),
        side=np.array([p.side.sign for p in positions], dtype=float),
        qty=contracts * np.array([m.contract_size for m in markets]),
        contracts=contracts,
        entry=np.array([p.entry_price for p in positions], dtype=float),
        mark=np.array([p.mark_price for p in positions], dtype=float),
        table=np.array([index[m.symbol] for m in markets], dtype=np.int64),
        tiers=_tier_table([by_symbol[s].tiers for s in symbols]),
        by_contracts=np.array([m.tier_basis is TierBasis.CONTRACTS for m in markets]),
        reported_tier=np.array([-1 if p.tier_index is None else p.tier_index for p in positions], dtype=np.int64),
        taker=np.full(n, np.nan if taker is None else taker),
        leverage=np.array([p.leverage or np.nan for p in positions]),
        isolated=np.array([p.margin_mode is MarginMode.ISOLATED for p in positions]),
    )


_TIER_TABLES: dict[tuple[int, ...], tuple[list, TierTable]] = {}
_TIER_ROWS: dict[int, tuple[tuple, TierTable]] = {}


def _tier_table(tables: list) -> TierTable:
    """``TierTable.from_tiers``, built once per set of tier tuples: every evaluation of an account (and each
    what-if of it) reads the same markets.  Keyed by identity, and the tuples are kept alive with the table,
    so a key can never be reused by other tiers.  A set not seen yet is stacked from one packed row per
    market, also kept: a thousand accounts each holding their own mix of a venue's markets pack each
    market's tiers once, not once per account."""
    key = tuple(id(t) for t in tables)
    hit = _TIER_TABLES.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], tables, strict=True)):
        return hit[1]
    if len(_TIER_TABLES) >= 512:
        _TIER_TABLES.clear()
    table = TierTable.from_tiers(tables) if not all(tables) else _stacked([_tier_row(t) for t in tables])
    _TIER_TABLES[key] = (list(tables), table)
    return table


def _tier_row(tiers: tuple) -> TierTable:
    hit = _TIER_ROWS.get(id(tiers))
    if hit is not None and hit[0] is tiers:
        return hit[1]
    if len(_TIER_ROWS) >= 4096:
        _TIER_ROWS.clear()
    row = TierTable.from_tiers([tiers])
    _TIER_ROWS[id(tiers)] = (tiers, row)
    return row


def _stacked(rows: list[TierTable]) -> TierTable:
    """One-market tables as rows of one, each padded as ``TierTable.from_tiers`` pads it: +inf floors, and the
    last tier's rate and deduction repeated."""
    width = max(r.floor.shape[1] for r in rows)

    def column(name: str, pad: Callable[[TierTable], float]) -> np.ndarray:
        parts = [getattr(r, name) if r.floor.shape[1] == width
                 else np.concatenate([getattr(r, name), np.full((1, width - r.floor.shape[1]), pad(r))], axis=1)
                 for r in rows]
        return np.concatenate(parts)

    return TierTable(floor=column("floor", lambda r: math.inf), mmr=column("mmr", lambda r: r.mmr[0, -1]),
                     cum=column("cum", lambda r: r.cum[0, -1]), size=np.concatenate([r.size for r in rows]))


_COLUMNS: dict[tuple[VenueRules, bytes], RuleColumns] = {}
_RULE_FIELDS = tuple(f.name for f in fields(RuleColumns))


def rule_columns(rules: VenueRules, isolated: np.ndarray) -> RuleColumns:
    """``RuleColumns`` of one venue's account, built once per margin-mode pattern: accounts, and every what-if
    of one, repeat them.  The columns are a function of the key alone, and read-only, so a shared one cannot
    be changed under another reader."""
    key = (rules, isolated.tobytes())
    cols = _COLUMNS.get(key)
    if cols is None:
        if len(_COLUMNS) >= 1024:
            _COLUMNS.clear()
        cols = RuleColumns.build([rules], np.zeros(len(isolated), dtype=np.int64), isolated)
        for name in _RULE_FIELDS:
            getattr(cols, name).flags.writeable = False
        _COLUMNS[key] = cols
    return cols


def _pnl(a: PositionArrays, price: np.ndarray) -> np.ndarray:
    return np.where(a.inverse, a.side * a.qty * (1 / a.entry - 1 / price), a.side * a.qty * (price - a.entry))


def evaluate_account(account: Account, venue: VenueMarkets) -> AccountRisk:
    """Every figure riskguard reports for one account, computed as its venue computes it."""
    rules = rules_for(account.venue, account.account_type)
    positions = list(account.positions)
    missing: list[str] = []
    if not positions:
        return AccountRisk(account.name, account.venue, (), _cross_summaries(account, [], [], None), ())
    markets = [venue.markets[p.symbol] for p in positions]
    taker = account.fees.taker if account.fees else None
    unavailable: dict[int, str] = {}
    if rules.needs_taker_fee and taker is None:
        missing.append(f"{account.name}: taker fee rate (the venue counts it in the maintenance requirement)")
        unavailable = dict.fromkeys(range(len(positions)), "taker fee rate unavailable")
    a = _arrays(positions, markets, 0.0 if taker is None else taker)  # without it every position is unavailable
    n = len(positions)
    isolated = a.isolated
    cols = rule_columns(rules, isolated)
    req = requirement(a, cols)
    mm_req, tier_mark = req.maintenance, req.tier
    reserve = req.reserve
    if rules.close_fee_reserve:
        for row in np.flatnonzero(np.isnan(a.leverage)):
            unavailable.setdefault(int(row), "leverage unavailable (Bybit reserves the closing fee from it)")
    upnl_a = _pnl(a, a.mark)
    notional_a = np.where(a.inverse, a.qty / a.mark, a.qty * a.mark)
    settle = [m.settle for m in markets]
    # Python floats from here on (the same values: numpy's float64 arithmetic is IEEE's, as Python's), since
    # reading numpy scalars one position at a time costs more than the arithmetic.
    iso_l = [math.nan if p.isolated_margin is None else p.isolated_margin for p in positions]
    isolated_l, upnl, mm_req_l, reserve_l = isolated.tolist(), upnl_a.tolist(), mm_req.tolist(), reserve.tolist()

    # Collateral: isolated margin, or the cross wallet with every other position frozen at its mark.
    cross_wallet = {asset: b.cross_wallet for asset, b in account.balances.items()}
    cross_upnl: dict[str, float] = defaultdict(float)
    cross_mm: dict[str, float] = defaultdict(float)
    for i in range(n):
        if not isolated_l[i]:
            cross_upnl[settle[i]] += upnl[i]
            cross_mm[settle[i]] += mm_req_l[i] + reserve_l[i]
    collateral_l = [iso_l[i] if isolated_l[i] else math.nan for i in range(n)]
    for i in range(n):
        if isolated_l[i]:
            continue
        if settle[i] not in cross_wallet:
            unavailable[i] = f"no {settle[i]} balance for the cross account"
            continue
        others_mm = cross_mm[settle[i]] - mm_req_l[i] - reserve_l[i]
        collateral_l[i] = cross_wallet[settle[i]] + (cross_upnl[settle[i]] - upnl[i]) - others_mm
    for i, c in enumerate(collateral_l):
        if math.isnan(c):
            unavailable.setdefault(i, "collateral unavailable: a cross position's requirement could not be computed")

    liq, bankrupt = solve(a, cols, req, np.array(collateral_l))
    liq, bankrupt = liq.copy(), bankrupt.copy()

    if rules.shared_hedge_cross_price:
        groups = _hedge_groups(positions, isolated, settle, cross_wallet)
        margins = [
            cross_wallet[settle[idx[0]]]
            + (cross_upnl[settle[idx[0]]] - _added(upnl[i] for i in idx))
            - (cross_mm[settle[idx[0]]] - _added(mm_req_l[i] + reserve_l[i] for i in idx))
            for idx in groups
        ]
        if groups:
            solve_shared_legs(a, req.mmr_add, groups, margins, liq, bankrupt)

    ticks = np.array([m.price_tick or np.nan for m in markets])
    # both prices shown by one call, as rows n..2n−1 (display is row by row: the same figures as two calls)
    shown_both, rule_both = display(np.concatenate((liq, bankrupt)), np.concatenate((a.side, a.side)),
                                    np.concatenate((ticks, ticks)),
                                    np.concatenate((cols.liquidation_convention, cols.bankruptcy_convention)))
    liq_shown, bankrupt_shown, liq_rule = shown_both[:n], shown_both[n:], rule_both[:n]

    mm_report = mm_req + reserve
    entry_value, _ = a.entry_value() if req.entry_value is None else req.entry_value
    basis = rules.initial_margin_basis
    if basis is InitialMarginBasis.MARK:
        im_value = notional_a.tolist()
    elif basis is InitialMarginBasis.ENTRY:
        im_value = entry_value.tolist()
    else:
        im_value = np.where(isolated, entry_value, notional_a).tolist()
    notional, mm_l = notional_a.tolist(), mm_report.tolist()
    cross = _cross_summaries(account, positions, notional, (settle, isolated_l, upnl, mm_l))
    cross_by_asset = {c.asset: c for c in cross}
    tier_l = tier_mark.tolist()
    liq_l, shown_l, bankrupt_l, bshown_l = liq.tolist(), liq_shown.tolist(), bankrupt.tolist(), bankrupt_shown.tolist()
    mmr_l = (a.tiers.mmr[a.table, tier_mark] + req.mmr_add).tolist()
    estimate_l, rule_l = cols.estimate.tolist(), liq_rule.tolist()
    out = []
    for i, p in enumerate(positions):
        pool = None if isolated_l[i] else cross_by_asset.get(settle[i])
        if isolated_l[i]:
            equity_i = iso_l[i] + upnl[i]
            ratio = _divide(mm_l[i], equity_i)
        else:
            equity_i = math.nan if pool is None else pool.equity
            ratio = math.nan if pool is None else pool.margin_ratio
        reason = unavailable.get(i)
        shown = liq_l[i] if math.isnan(shown_l[i]) else shown_l[i]  # display unknown: the raw root stands
        price, source = _choose_price(shown, p.venue_liquidation_price, reason, collateral_l[i])
        computed = source is PriceSource.COMPUTED
        gap = None
        if computed and price is not None and p.venue_liquidation_price:
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
                notional=notional[i],
                unrealized_pnl=upnl[i],
                maintenance_margin=mm_l[i],
                initial_margin=im_value[i] / p.leverage + reserve_l[i] if p.leverage else p.venue_initial_margin,
                equity=equity_i,
                margin_ratio=ratio,
                effective_leverage=notional[i] / equity_i if equity_i > 0 else math.inf,
                liquidation_price=price,
                liquidation_source=source,
                venue_liquidation_price=p.venue_liquidation_price,
                liquidation_gap_bp=gap,
                bankruptcy_price=None if math.isnan(bankrupt_l[i]) or reason else _or(bshown_l[i], bankrupt_l[i]),
                buffer_pct=buffer,
                tier=tier_l[i],
                mmr=mmr_l[i],
                is_estimate=estimate_l[i],
                unavailable_reason=reason if source is PriceSource.UNAVAILABLE else None,
                timestamp_ms=p.timestamp_ms,
                liquidation_price_raw=liq_l[i] if computed else None,
                liquidation_price_displayed=shown_l[i] if computed and not math.isnan(shown_l[i]) else None,
                bankruptcy_price_raw=None if math.isnan(bankrupt_l[i]) or reason else bankrupt_l[i],
                display_rule=RULE_NAMES[rule_l[i]] if computed else None,
                method=rules.method,
            )
        )
    return AccountRisk(account.name, account.venue, tuple(out), cross, tuple(missing),
                       SolvedInputs(account.positions, a, req))


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


def _added(values: Iterable[float]) -> float:
    """Left to right, one rounding per addition, as numpy scalars add (Python 3.12's ``sum`` compensates floats,
    which would move the last digit)."""
    total = 0.0
    for v in values:
        total += v
    return total


def _divide(x: float, y: float) -> float:
    """x / y as float64 arithmetic has it: ±inf or NaN for a zero divisor, where Python's would raise."""
    if y == 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.float64(x) / y)
    return x / y


def _or(x: float, fallback: float) -> float:
    """The displayed figure, or the raw root where the display is unknown."""
    return float(fallback if math.isnan(x) else x)


def _hedge_groups(
    positions: list[Position], isolated: np.ndarray, settle: list[str], cross_wallet: Mapping[str, object]
) -> list[list[int]]:
    """Cross hedge legs of one symbol, two or more, whose settle asset has a balance."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(positions):
        if not isolated[i] and p.position_side is not PositionSide.BOTH and settle[i] in cross_wallet:
            groups[p.symbol].append(i)
    return [idx for idx in groups.values() if len(idx) > 1]


def _cross_summaries(
    account: Account,
    positions: Sequence[Position],
    notional: Sequence[float],
    parts: tuple[list[str], list[bool], list[float], list[float]] | None,
) -> tuple[CrossSummary, ...]:
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
        equity = wallet + _added(upnl[i] for i in members)
        mm_total = _added(mm[i] for i in members)
        exposure = _added(notional[i] for i in members)
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


@dataclass(frozen=True, slots=True)
class PoolFigures:
    """One cross pool's summary under each variant (K rows); ``present`` False where the pool holds nothing."""

    present: np.ndarray
    headroom_pct: np.ndarray
    effective_leverage: np.ndarray


@dataclass(frozen=True, slots=True)
class Variants:
    """The figures ``evaluate_account`` would report for K variants of one account, one row per variant.

    Why: a strategy's search tries many sizes of one reduction; evaluating them as rows of one array costs
    one vectorized call instead of K evaluations.  Every entry is computed by the same venue math in the same
    floating-point order as ``evaluate_account``, so it is equal to it, not close (property-tested).
    """

    present: np.ndarray
    """(K, n): the position still exists in the variant."""
    known: np.ndarray
    """(K, n): its collateral is known (else the price is unavailable)."""
    price: np.ndarray
    """(K, n): ``PositionRisk.liquidation_price``; NaN where no price liquidates or it is unknown."""
    buffer_pct: np.ndarray
    effective_leverage: np.ndarray
    pools: dict[str, PoolFigures]


class VariantEvaluator:
    """``evaluate_account`` on K variants of one account that differ only in position sizes, isolated margins
    and cross wallets; the per-account arrays are built once, so each batch is a few array operations.

    :meth:`of` is None where the account needs a path this does not take (Binance hedge legs sharing a
    price, a missing taker fee or leverage, a cross position without a balance): the caller then evaluates
    the variants one by one.
    """

    def __init__(self, account: Account, venue: VenueMarkets, rules: VenueRules, base: PositionArrays,
                 markets: list[Market], req: Requirement | None = None) -> None:
        self.account, self.rules, self.base = account, rules, base
        settle = np.array([m.settle for m in markets])
        self.contract_size = np.array([m.contract_size for m in markets])
        self.ticks = np.array([m.price_tick or np.nan for m in markets])
        # each cross pool's positions, closed or not: the same for every variant
        self.pool_members = {asset: ~base.isolated & (settle == asset) for asset in sorted(set(settle[~base.isolated]))}
        self.cols = rule_columns(rules, base.isolated)
        self.req = requirement(base, self.cols) if req is None else req
        self.mm, self.reserve = self.req.maintenance, self.req.reserve
        self.upnl = _pnl(base, base.mark)
        self.notional = np.where(base.inverse, base.qty / base.mark, base.qty * base.mark)

    @classmethod
    def of(cls, account: Account, venue: VenueMarkets, solved: SolvedInputs | None = None) -> VariantEvaluator | None:
        """``solved``: the account's ``AccountRisk.solved``, whose arrays and requirement are then not rebuilt."""
        rules = rules_for(account.venue, account.account_type)
        positions = list(account.positions)
        if not positions:
            return None
        markets = [venue.markets[p.symbol] for p in positions]
        taker = account.fees.taker if account.fees else None
        if rules.needs_taker_fee and taker is None:
            return None
        fee = 0.0 if taker is None else taker
        if not (solved is not None and solved.positions is account.positions and (solved.arrays.taker == fee).all()):
            solved = None
        base = _arrays(positions, markets, fee) if solved is None else solved.arrays
        if rules.close_fee_reserve and np.isnan(base.leverage).any():
            return None
        settle = [m.settle for m in markets]
        if any(not base.isolated[i] and settle[i] not in account.balances for i in range(len(positions))):
            return None
        if rules.shared_hedge_cross_price and _hedge_groups(positions, base.isolated, settle, account.balances):
            return None
        return cls(account, venue, rules, base, markets, None if solved is None else solved.requirement)

    def _rows(self, gather: np.ndarray | None, contracts: np.ndarray, changed: np.ndarray) -> PositionArrays:
        """Arrays of every variant, variant-major: row ``gather[j]`` of the account's (its arrays as they are
        when None); ``contracts`` (K, columns)."""
        base = self.base

        def tile(x: np.ndarray) -> np.ndarray:
            return x if gather is None else x.take(gather)

        return PositionArrays(
            inverse=tile(base.inverse), side=tile(base.side), qty=contracts.ravel() * tile(self.contract_size),
            contracts=contracts.ravel(), entry=tile(base.entry), mark=tile(base.mark), table=tile(base.table),
            tiers=base.tiers, by_contracts=tile(base.by_contracts),
            reported_tier=tile(np.where(changed, -1, base.reported_tier)), taker=tile(base.taker),
            leverage=tile(base.leverage), isolated=tile(base.isolated),
        )

    def evaluate(self, contracts: np.ndarray, isolated_margin: np.ndarray, wallets: dict[str, np.ndarray],
                 changed: np.ndarray, solve_for: np.ndarray | None = None) -> Variants:
        """``contracts`` (K, n), 0 where closed, differing from the account only where ``changed`` (n,), whose
        venue-reported tier no longer holds either; ``isolated_margin`` (K, n); ``wallets`` asset → (K,) cross
        wallet.  Liquidation prices and buffers are solved for the ``solve_for`` mask of positions (all when
        None) and NaN elsewhere; the rest is computed for all.  Only the changed and solved positions are
        priced as rows, so a variant costs a row per such position, not per position of the account."""
        base, isolated = self.base, self.base.isolated
        k, n = contracts.shape
        present = contracts > 0
        sizes = np.where(present, contracts, base.contracts)  # a closed row is solved but never read
        wanted = np.ones(n, dtype=bool) if solve_for is None else solve_for
        columns = np.flatnonzero(changed | wanted)
        m = len(columns)
        whole = k == 1 and m == n  # one variant of every position: the account's arrays as they are
        # variant-major rows: row j is column gather[j] of the account; one index serves every per-row array
        gather = None if whole else np.repeat(columns[None, :], k, axis=0).ravel()
        a = self._rows(gather, sizes[:, columns], changed)
        # every column is per row: the account's own, gathered, are the variants' wherever nothing changed
        cols = self.cols if gather is None else RuleColumns(
            *(getattr(self.cols, name).take(gather) for name in _RULE_FIELDS))
        if changed.any():
            req = requirement(a, cols)
        elif gather is None:
            req = self.req
        else:
            # entry_value is a cache that solve() recomputes when absent
            r = self.req
            req = Requirement(maintenance=r.maintenance.take(gather), reserve=r.reserve.take(gather),
                              tier=r.tier.take(gather), fixed_tier=r.fixed_tier.take(gather),
                              mmr_add=r.mmr_add.take(gather))
        mm, reserve = np.repeat(self.mm[None, :], k, axis=0), np.repeat(self.reserve[None, :], k, axis=0)
        upnl, notional = np.repeat(self.upnl[None, :], k, axis=0), np.repeat(self.notional[None, :], k, axis=0)
        mm[:, columns], reserve[:, columns] = req.maintenance.reshape(k, m), req.reserve.reshape(k, m)
        upnl[:, columns] = _pnl(a, a.mark).reshape(k, m)
        notional[:, columns] = np.where(a.inverse, a.qty / a.mark, a.qty * a.mark).reshape(k, m)
        collateral = np.where(isolated, isolated_margin, np.nan)
        equity = np.where(isolated, isolated_margin + upnl, np.nan)
        pools: dict[str, PoolFigures] = {}
        for asset, mine in self.pool_members.items():
            member = mine & present
            # running sums in position order, the order evaluate_account adds in, so the totals are equal
            cross_upnl = np.cumsum(np.where(member, upnl, 0.0), axis=1)[:, -1:]
            cross_mm = np.cumsum(np.where(member, mm + reserve, 0.0), axis=1)[:, -1:]
            exposure = np.cumsum(np.where(member, notional, 0.0), axis=1)[:, -1]
            wallet = wallets[asset][:, None]
            collateral = np.where(mine, wallet + (cross_upnl - upnl) - (cross_mm - mm - reserve), collateral)
            pool_equity = wallet[:, 0] + cross_upnl[:, 0]
            equity = np.where(mine, pool_equity[:, None], equity)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(pool_equity > 0, cross_mm[:, 0] / pool_equity, math.inf)
                leverage = np.where(pool_equity > 0, exposure / pool_equity, math.inf)
            pools[asset] = PoolFigures(member.any(axis=1), (1 - ratio) * 100, leverage)
        empty = ~present.any(axis=1)
        if empty.any():  # no position left: evaluate_account then reports each funded wallet as an idle pool
            for asset, wallet in wallets.items():
                idle = empty & (wallet > 0)
                was = pools.get(asset, PoolFigures(np.zeros(k, dtype=bool), np.full(k, np.nan), np.full(k, np.nan)))
                pools[asset] = PoolFigures(was.present | idle, np.where(idle, 100.0, was.headroom_pct),
                                           np.where(idle, 0.0, was.effective_leverage))
        liq, _ = solve(a, cols, req, collateral[:, columns].ravel())
        shown, _ = display(liq, a.side, self.ticks if gather is None else self.ticks.take(gather),
                           cols.liquidation_convention)
        known = ~np.isnan(collateral)
        price = np.full((k, n), np.nan)
        price[:, columns] = np.where(np.isnan(shown), liq, shown).reshape(k, m)
        price = np.where(known & wanted, price, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            buffer = base.side * (base.mark - price) / base.mark * 100
            effective = np.where(equity > 0, notional / equity, math.inf)
        return Variants(present, known, price, buffer, effective, pools)
