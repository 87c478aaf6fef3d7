"""Venue rules applied to arrays of positions: the one path ``check`` and the batch API share.

``evaluate_account`` (one account, model objects) and ``liquidation_frame`` (a
DataFrame of any number of positions over any venues) both reduce their input
to ``PositionArrays`` and ``RuleColumns`` and call the three steps here:
``requirement`` (maintenance margin with the venue's tier, fee and basis),
``solve`` (liquidation and bankruptcy roots against the collateral) and
``display`` (the number the venue shows, with its rounding rule named).  Every
venue rule is a per-row column, so mixing venues costs no Python loop, and no
formula exists twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from riskguard.risk.solver import (
    as_rows,
    at,
    per_kind,
    pick,
    requirement_in_tier,
    rows_of,
    size_to_price,
    solve_affine,
)
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_rules import (
    CONVENTIONS,
    ROUNDING_RULE,
    UNKNOWN_DISPLAY,
    MaintenanceBasis,
    PriceConvention,
    TierSelection,
    VenueRules,
)

_EXACT, _TOWARD_ENTRY, _ONE_TICK, _NEAREST_8 = (CONVENTIONS.index(c) for c in PriceConvention)
_NEEDS_TICK = [code for code, c in enumerate(CONVENTIONS) if c.needs_tick]
_UNKNOWN = len(CONVENTIONS)
RULE_NAMES: tuple[str, ...] = (*(ROUNDING_RULE[c] for c in CONVENTIONS), UNKNOWN_DISPLAY)
"""Rounding rule names, indexed by the codes ``display`` returns."""


@dataclass(frozen=True, slots=True)
class PositionArrays:
    """One entry per position; sizes in the settle asset's terms."""

    inverse: np.ndarray
    side: np.ndarray
    """+1 long, −1 short."""
    qty: np.ndarray
    """Base units (linear) or quote units (inverse): contracts × contract size."""
    contracts: np.ndarray
    entry: np.ndarray
    mark: np.ndarray
    table: np.ndarray
    """Row of ``tiers`` holding the position's market."""
    tiers: TierTable
    by_contracts: np.ndarray
    """The market's tiers count contracts (OKX) rather than notional or coin quantity."""
    reported_tier: np.ndarray
    """The venue's own current tier index, −1 where it reports none."""
    taker: np.ndarray
    """Taker fee rate; NaN where unknown."""
    leverage: np.ndarray
    """NaN where unknown."""
    isolated: np.ndarray

    @property
    def n(self) -> int:
        return int(self.inverse.shape[0])

    def block(self, rows: slice) -> PositionArrays:
        """The positions in ``rows``, as views: the same tier tables."""
        return PositionArrays(**{f: getattr(self, f) if f == "tiers" else getattr(self, f)[rows] for f in _POSITION})

    def take(self, rows: np.ndarray) -> PositionArrays:
        """The positions at the indices ``rows``: the same tier tables."""
        taken = {f: getattr(self, f) if f == "tiers" else getattr(self, f).take(rows) for f in _POSITION}
        return PositionArrays(**taken)

    def entry_value(self) -> tuple[np.ndarray, np.ndarray]:
        """Entry value V in the settle asset and the slope d of equity in tier size (see the solver)."""
        slope = self.side
        inverse = rows_of(self.inverse)
        if inverse is not None:
            slope = np.array(slope)
            slope[inverse] = -at(slope, inverse)
        return per_kind(self.inverse, self.qty, self.entry), slope


@dataclass(frozen=True, slots=True)
class RuleColumns:
    """``VenueRules`` spread into one column per rule."""

    current_tier: np.ndarray
    fee_in_maintenance: np.ndarray
    close_fee_reserve: np.ndarray
    at_entry: np.ndarray
    liquidation_convention: np.ndarray
    """Index into ``CONVENTIONS``: the isolated or the cross convention, per the row's margin mode."""
    bankruptcy_convention: np.ndarray
    estimate: np.ndarray
    """The venue calls this figure an estimate (its cross price), or riskguard has no rules for the venue."""
    generic: np.ndarray

    @classmethod
    def build(cls, rules: Sequence[VenueRules], which: np.ndarray, isolated: np.ndarray) -> RuleColumns:
        """Columns for rows whose rules are ``rules[which[i]]``: one gather of each rule set's packed flags."""
        packed = np.array([_packed(r) for r in rules], dtype=np.int32).take(which)

        def flag(bit: int) -> np.ndarray:
            return np.bitwise_and(packed, bit).astype(bool)

        def code(shift: int) -> np.ndarray:
            return np.bitwise_and(np.right_shift(packed, shift), _CODE).astype(np.int8)

        generic = flag(_GENERIC)
        return cls(
            current_tier=flag(_CURRENT_TIER),
            fee_in_maintenance=flag(_FEE_IN_MAINTENANCE),
            close_fee_reserve=flag(_CLOSE_FEE_RESERVE),
            at_entry=flag(_AT_ENTRY),
            liquidation_convention=pick(isolated, code(_ISOLATED_SHIFT), code(_CROSS_SHIFT)),
            bankruptcy_convention=code(_BANKRUPTCY_SHIFT),
            estimate=generic | (~isolated & flag(_CROSS_ESTIMATE)),
            generic=generic,
        )

    def block(self, rows: slice) -> RuleColumns:
        return RuleColumns(**{f: getattr(self, f)[rows] for f in _RULE})

    def take(self, rows: np.ndarray) -> RuleColumns:
        return RuleColumns(**{f: getattr(self, f).take(rows) for f in _RULE})

    @property
    def needs_taker(self) -> np.ndarray:
        return self.fee_in_maintenance | self.close_fee_reserve


_CURRENT_TIER, _FEE_IN_MAINTENANCE, _CLOSE_FEE_RESERVE, _AT_ENTRY = 1, 2, 4, 8
_GENERIC, _CROSS_ESTIMATE = 16, 32
_ISOLATED_SHIFT, _CROSS_SHIFT, _BANKRUPTCY_SHIFT = 8, 12, 16
_CODE = 0xF
"""Bits of a rule set's packed flags, and the 4-bit fields holding its display conventions' codes (< 16)."""


def _packed(rules: VenueRules) -> int:
    """One venue's rules as bit flags: ``RuleColumns.build`` gathers one integer per row instead of one per rule."""
    flags = (
        (rules.tier_selection is TierSelection.CURRENT) * _CURRENT_TIER
        | rules.fee_in_maintenance * _FEE_IN_MAINTENANCE
        | rules.close_fee_reserve * _CLOSE_FEE_RESERVE
        | (rules.maintenance_basis is MaintenanceBasis.AT_ENTRY) * _AT_ENTRY
        | (rules.method == "generic estimate") * _GENERIC
        | rules.cross_is_estimate * _CROSS_ESTIMATE
    )
    return (
        flags
        | CONVENTIONS.index(rules.price_convention) << _ISOLATED_SHIFT
        | CONVENTIONS.index(rules.cross_price_convention) << _CROSS_SHIFT
        | CONVENTIONS.index(rules.bankruptcy_convention) << _BANKRUPTCY_SHIFT
    )


_POSITION = tuple(f.name for f in fields(PositionArrays))
_RULE = tuple(f.name for f in fields(RuleColumns))


@dataclass(frozen=True, slots=True)
class Requirement:
    maintenance: np.ndarray
    """The tiered requirement (with a fee rate where the venue adds one), at mark or at entry."""
    reserve: np.ndarray
    """Bybit's closing-fee reserve, zero elsewhere."""
    tier: np.ndarray
    fixed_tier: np.ndarray
    """Tier the solver must use, −1 where it picks the tier at the liquidation price."""
    mmr_add: np.ndarray
    entry_value: tuple[np.ndarray, np.ndarray] | None = None
    """``PositionArrays.entry_value()``, kept for ``solve`` so it is computed once."""

    @property
    def total(self) -> np.ndarray:
        return self.maintenance + self.reserve


def requirement(pos: PositionArrays, rules: RuleColumns) -> Requirement:
    """Maintenance margin now, each row by its venue's rules: tier choice, fee term, basis, fee reserve.

    A rule that replaces a term writes it on its own rows only (``rows_of``):
    with venues mixed, a rule covers a fraction of the rows, and a select over
    every row would cost more than the arithmetic.
    """
    size_now = per_kind(pos.inverse, pos.qty, pos.mark)
    basis = pick(pos.by_contracts, pos.contracts, size_now) if pos.by_contracts.any() else size_now
    tier = pos.tiers.tier_at(pos.table, basis)
    # A finite size counts finite floors only, so it never passes its table's last tier; a venue's own tier may.
    beyond_table = not np.isfinite(basis).all()
    fixed = np.full(pos.n, -1, dtype=np.int64)
    current = rows_of(rules.current_tier)
    if current is not None:
        reported = pos.reported_tier >= 0
        if reported.any():  # otherwise the current tier is the one at the mark already
            now = pick(reported, pos.reported_tier, tier)
            tier = pick(rules.current_tier, now, tier)
            beyond_table = True
        fixed[current] = at(tier, current)
    if beyond_table:
        tier = np.minimum(tier, pos.tiers.size.take(pos.table) - 1)  # the tier at the mark (or the venue's)
    mmr_add = np.zeros(pos.n)
    fee = rows_of(rules.fee_in_maintenance)
    if fee is not None:
        mmr_add[fee] = at(pos.taker, fee)
    value, d = pos.entry_value()
    size = size_now
    entry = rows_of(rules.at_entry)
    if entry is not None:  # the entry value: the size at entry (size_now is this call's own array)
        size[entry] = at(value, entry)
    mm = requirement_in_tier(size, pos.tiers, pos.table, tier, mmr_add)
    reserve = np.zeros(pos.n)
    closing = rows_of(rules.close_fee_reserve)
    if closing is not None:
        taker, v, slope, leverage = (at(x, closing) for x in (pos.taker, value, d, pos.leverage))
        with np.errstate(divide="ignore", invalid="ignore"):
            reserve[closing] = taker * v * (1 - slope / leverage)
    return Requirement(
        maintenance=mm, reserve=reserve, tier=tier, fixed_tier=fixed, mmr_add=mmr_add, entry_value=(value, d)
    )


def solve(
    pos: PositionArrays, rules: RuleColumns, req: Requirement, collateral: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact liquidation and bankruptcy roots (NaN where none) against ``collateral``.

    ``collateral`` backs the position without its own uPnL: isolated margin, or
    the cross wallet with the rest of the account frozen.  Where Bybit reserves
    the fee to close, only the collateral net of that fee at the bankruptcy
    price absorbs losses: M = (B − fee·V)/(1 − d·fee).  Where MM is fixed at
    entry it is a constant: moved into the collateral, the root needs no tier;
    equity alone (the bankruptcy price) still uses the collateral.
    """
    value, d = pos.entry_value() if req.entry_value is None else req.entry_value
    collateral = np.asarray(collateral, dtype=float)
    closing = rows_of(rules.close_fee_reserve)
    if closing is not None:
        c, taker, v, slope = (at(x, closing) for x in (collateral, pos.taker, value, d))
        collateral = np.array(collateral)  # the caller's stays as given
        with np.errstate(invalid="ignore", divide="ignore"):
            collateral[closing] = (c - taker * v) / (1 - slope * taker)
    equity_at_zero = collateral - d * value  # A of equity alone
    sol = solve_affine(
        a=equity_at_zero,
        d=d,
        inverse=pos.inverse,
        qty=pos.qty,
        tiers=pos.tiers,
        table=pos.table,
        fixed_tier=req.fixed_tier,
        mmr_add=req.mmr_add if rules.fee_in_maintenance.any() else None,
    )
    entry = rows_of(rules.at_entry)
    if entry is not None:  # a constant requirement: the root is where equity net of it reaches zero, in any tier
        a = (at(collateral, entry) - at(req.maintenance, entry)) - at(d, entry) * at(value, entry)
        size = a / -at(d, entry)  # d is ±1: nothing to warn about
        sol.liquidation_price[entry] = size_to_price(at(pos.inverse, entry), at(pos.qty, entry), size)
    return sol.liquidation_price, sol.bankruptcy_price


def solve_shared_legs(
    pos: PositionArrays,
    mmr_add: np.ndarray,
    legs: Sequence[Sequence[int] | np.ndarray],
    margins: Sequence[float] | np.ndarray,
    liq: np.ndarray,
    bankrupt: np.ndarray,
) -> None:
    """One price for each group of hedge legs that share collateral and a symbol (Binance cross), in place.

    ``legs[g]`` are the rows of group g, ``mmr_add`` the requirement's fee
    rate per row (``Requirement.mmr_add``) and ``margins[g]`` the collateral
    behind it without its legs' uPnL and requirement.  Groups with the same
    number of legs are solved together (``shared_leg_prices``).
    """
    by_count: dict[int, list[int]] = {}
    for g, idx in enumerate(legs):
        by_count.setdefault(len(idx), []).append(g)
    margin = np.asarray(margins, dtype=float)
    for picked in by_count.values():
        rows = np.array([legs[g] for g in picked], dtype=np.intp)
        price, bp = shared_leg_prices(pos, mmr_add, rows, margin.take(picked))
        liq[rows] = price[:, None]
        bankrupt[rows] = bp[:, None]


def shared_leg_prices(
    pos: PositionArrays, mmr_add: np.ndarray, rows: np.ndarray, margin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shared liquidation and bankruptcy price of each group ``rows[g]`` (groups × legs), NaN where none.

    ``shared_price`` solves one group in Python floats; this is the same
    arithmetic, operation for operation, on every group and segment at once,
    so the prices agree bit for bit (tests/risk/test_batch_hedge_legs.py).
    Equity − MM is affine in z (price, or 1/price for inverse) between kinks
    at every leg's tier floors; each segment's root is kept when it lies in
    the segment, and the root nearest the mark wins (the first on a tie).
    """
    floors = pos.tiers.floor[:, 1:]  # the first floor is 0 and never a kink
    qty, table = pos.qty.take(rows), pos.table.take(rows)
    groups = rows.shape[0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        kinks = (floors.take(table, axis=0) / qty[..., None]).reshape(groups, -1)
        kinks.sort(axis=1)
        kinks[:, 1:][kinks[:, 1:] == kinks[:, :-1]] = np.inf  # a set: each kink once
        kinks.sort(axis=1)
        # Segments × groups: each step below is one long pass along the groups, not a short one per group.
        edges = np.concatenate([np.zeros((1, groups)), kinks.T, np.full((1, groups), np.inf)])
        liq = _nearest_root(pos, mmr_add, rows, margin, edges, with_mm=True)
        bankrupt = _nearest_root(pos, mmr_add, rows, margin, np.array([[0.0], [np.inf]]), with_mm=False)
    return liq, bankrupt


def _nearest_root(
    pos: PositionArrays, mmr_add: np.ndarray, rows: np.ndarray, margin: np.ndarray, edges: np.ndarray, *, with_mm: bool
) -> np.ndarray:
    """Root of each group's f(z) = α + β·z on each segment of ``edges``, the one nearest the mark.

    ``edges`` is (segment edges × groups).  ``with_mm`` adds each leg's
    requirement in the tier its size at the segment's probe falls in (the
    liquidation price); without it, equity alone (the bankruptcy price).  It
    is not read from the edges: one-tier tables have no kink either, and their
    legs still owe maintenance margin.
    """
    lo, hi = edges[:-1], edges[1:]
    probe = np.where(np.isinf(hi), lo + 1.0, (lo + hi) / 2)
    inverse = pos.inverse.take(rows[:, 0])
    alpha = np.broadcast_to(margin, np.broadcast_shapes(margin.shape, probe.shape))
    beta = np.zeros_like(alpha)
    width = pos.tiers.floor.shape[1]
    for leg in rows.T:
        qty, entry = pos.qty.take(leg), pos.entry.take(leg)
        side_qty = pos.side.take(leg) * qty
        alpha = alpha + np.where(inverse, side_qty / entry, -(side_qty * entry))  # a − b is a + (−b) exactly
        beta = beta + np.where(inverse, -side_qty, side_qty)
        if with_mm:
            table = pos.table.take(leg)
            size = qty * probe
            # shared_price's tier: the last whose floor ≤ size.  Counted in bytes (a bool is a 0/1 byte).
            above, beyond = np.zeros(size.shape, dtype=np.int8), np.empty(size.shape, dtype=bool)
            for floor in pos.tiers.floor[:, 1:].T:
                above += np.less_equal(floor.take(table), size, out=beyond).view(np.int8)
            flat = table * width + above  # index of the tier in the raveled table
            alpha = alpha + pos.tiers.cum.ravel().take(flat)
            beta = beta - qty * (pos.tiers.mmr.ravel().take(flat) + mmr_add.take(leg))
    z = -alpha / beta
    root = (beta != 0) & (lo <= z) & (z <= hi) & (z > 0)
    price = np.where(inverse, 1 / z, z)
    distance = np.where(root, np.abs(price - pos.mark.take(rows[:, 0])), np.inf)
    best = distance.argmin(axis=0)
    group = np.arange(best.size)
    tie = ~root[best, group]  # every root infinitely far: the first root, as min() takes it
    best = np.where(tie, root.argmax(axis=0), best)
    found = root.any(axis=0)
    return np.where(found, price[best, group], np.nan)


def display(
    price: np.ndarray, side: np.ndarray, tick: np.ndarray, convention: np.ndarray, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The number the venue shows for each exact root, and the index of its rule in ``RULE_NAMES``.

    A convention that needs the market's tick and finds none leaves the display
    NaN under the rule "unknown": the raw root is still the caller's, never
    dropped, and never read as "no price liquidates".  Each rounding runs on
    the rows that use it only.  ``out`` (the caller's output column) saves a
    copy of every row.
    """
    shown = price.copy() if out is None else out
    if out is not None:
        np.copyto(out, price)
    price, side, tick = (as_rows(x, shown.shape[0]) for x in (price, side, tick))
    rule = np.asarray(convention).astype(np.int8)
    rows_of = {}
    for code in (_TOWARD_ENTRY, _ONE_TICK, _NEAREST_8):  # each convention's rows, found once
        used = rule == code
        rows_of[code] = np.flatnonzero(used) if used.any() else np.empty(0, dtype=np.intp)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = rows_of[_TOWARD_ENTRY]
        if rows.size:
            p, s, t = price.take(rows), side.take(rows), tick.take(rows)
            steps = np.round(p / t, 9)
            steps = pick(s > 0, np.ceil(steps), np.floor(steps))
            # k ÷ (1/tick) is the double nearest the decimal the venue prints (913.15, not 913.1500000000001).
            per_unit = np.round(1 / t)
            shown[rows] = pick(np.abs(per_unit * t - 1) < 1e-12, steps / per_unit, steps * t)
        rows = rows_of[_ONE_TICK]
        if rows.size:
            shown[rows] = price.take(rows) + side.take(rows) * tick.take(rows)
        rows = rows_of[_NEAREST_8]
        if rows.size:
            shown[rows] = np.round(price.take(rows), 8)
    for code in _NEEDS_TICK:  # a tick-less row of these conventions: few rows, so no full-size mask
        rows = rows_of[code]
        unknown = rows[~(tick.take(rows) > 0)]
        shown[unknown] = np.nan
        rule[unknown] = _UNKNOWN
    return shown, rule


__all__ = [
    "RULE_NAMES",
    "PositionArrays",
    "Requirement",
    "RuleColumns",
    "display",
    "requirement",
    "shared_leg_prices",
    "solve",
    "solve_shared_legs",
]
