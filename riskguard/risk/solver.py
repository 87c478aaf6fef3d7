"""Closed-form liquidation and bankruptcy prices for any mix of linear/inverse positions.

Every venue covered here liquidates when equity falls to maintenance margin,
with MM = size·mmr − cum from a tier table.  Written in the tier's *size*
variable N (quote notional qty·P for linear, base quantity qty/P for inverse),
both equity and MM are affine inside one tier:

    f(N) = A + d·N − (N·mmr_k − cum_k)
    linear:  A = margin − side·qty·entry,  d = +side
    inverse: A = margin + side·qty/entry,  d = −side

so the root inside tier k is N* = (A + cum_k) / (mmr_k − d).  Because mmr < 1,
f is strictly monotone in N and the tier that holds the root is found by the
sign of f at each tier floor; no iteration and no per-position Python.  This is
the "tier at the liquidation price" rule that Binance states explicitly; venues
that pin the tier (OKX by contract count, Bybit by risk limit) pass it in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskguard.risk.tiers import TierTable


@dataclass(frozen=True, slots=True)
class LiquidationSolution:
    liquidation_price: np.ndarray
    """NaN where no finite price liquidates the position (over-collateralized)."""
    bankruptcy_price: np.ndarray
    """Price where equity reaches zero; NaN where it never does."""
    tier: np.ndarray
    mmr: np.ndarray
    """Maintenance rate applied at the liquidation price, including any ``mmr_add``."""
    cum: np.ndarray


def _as_float(x: np.ndarray | float, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=float), (n,))


def affine_terms(
    inverse: np.ndarray, side: np.ndarray, qty: np.ndarray, entry: np.ndarray, margin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Intercept A and slope d of equity as a function of tier size N (see module doc).

    A = margin − d·V with V the entry value (qty·entry, or qty/entry for inverse).
    """
    inverse = np.asarray(inverse, dtype=bool)
    d = np.asarray(side, dtype=float) * np.where(inverse, -1.0, 1.0)
    value = np.multiply(qty, entry)
    np.divide(qty, entry, out=value, where=inverse)
    return margin - d * value, d


def size_to_price(inverse: np.ndarray, qty: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Map tier size back to price: N = qty·P (linear) or N = qty/P (inverse); NaN where no price fits."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        price = size / qty
        np.divide(qty, size, out=price, where=np.asarray(inverse, dtype=bool))
        price[~((size > 0) & np.isfinite(price))] = np.nan
    return price


def solve_liquidation(
    *,
    inverse: np.ndarray,
    side: np.ndarray,
    qty: np.ndarray,
    entry: np.ndarray,
    margin: np.ndarray,
    tiers: TierTable,
    table: np.ndarray,
    fixed_tier: np.ndarray | None = None,
    mmr_add: np.ndarray | None = None,
) -> LiquidationSolution:
    """Solve equity = maintenance margin for each position, vectorized.

    ``qty`` is base units (linear) or quote units (inverse); ``margin`` is the
    collateral backing the position excluding its own unrealized PnL, in the
    settle asset.  For a cross position pass wallet + others' uPnL − others' MM,
    which freezes the rest of the account at its current marks as every venue's
    own estimate does.  ``fixed_tier`` ≥ 0 pins a tier; −1 picks it at the
    liquidation price.  ``mmr_add`` is added to every tier's rate (OKX taker fee).
    """
    inverse = np.asarray(inverse, dtype=bool)
    n = inverse.shape[0]
    qty = _as_float(qty, n)
    table = np.broadcast_to(np.asarray(table, dtype=np.int64), (n,))
    add = None if mmr_add is None else _as_float(mmr_add, n)
    a, d = affine_terms(inverse, side, qty, _as_float(entry, n), _as_float(margin, n))

    tier = _tier_at_liquidation(a, d, tiers, table, add)
    if fixed_tier is not None:
        fixed = np.broadcast_to(np.asarray(fixed_tier, dtype=np.int64), (n,))
        tier = np.where(fixed >= 0, np.minimum(fixed, tiers.size[table] - 1), tier)

    flat = table * tiers.floor.shape[1] + tier  # one gather from the raveled table beats 2-D fancy indexing
    mmr = tiers.mmr.ravel().take(flat)
    if add is not None:
        mmr += add
    cum = tiers.cum.ravel().take(flat)
    with np.errstate(divide="ignore", invalid="ignore"):
        liq_size = (a + cum) / (mmr - d)
    return LiquidationSolution(
        liquidation_price=size_to_price(inverse, qty, liq_size),
        bankruptcy_price=size_to_price(inverse, qty, -d * a),
        tier=tier,
        mmr=mmr,
        cum=cum,
    )


def bankruptcy_price(
    *, inverse: np.ndarray, side: np.ndarray, qty: np.ndarray, entry: np.ndarray, margin: np.ndarray
) -> np.ndarray:
    """Price where equity reaches zero (N = −d·A); NaN where it never does.

    Needs no tier table, which is why venues that take MM at entry can ask for
    it apart from the liquidation solve.
    """
    inverse = np.asarray(inverse, dtype=bool)
    n = inverse.shape[0]
    qty = _as_float(qty, n)
    a, d = affine_terms(inverse, side, qty, _as_float(entry, n), _as_float(margin, n))
    return size_to_price(inverse, qty, -d * a)


def _tier_at_liquidation(
    a: np.ndarray, d: np.ndarray, tiers: TierTable, table: np.ndarray, add: np.ndarray | None
) -> np.ndarray:
    """Count tier floors the root lies at or beyond.

    f is increasing in N when d = +1 and decreasing when d = −1, so the root is
    at or above floor F_k exactly when d·f(F_k) ≤ 0, i.e. when
    −d·A + d·add·F_k ≥ F_k·(1 − d·mmr_k) + d·cum_k.  The right side depends
    only on the table, the tier and the sign of d, so it is tabulated once and
    each position does one gather and one compare per floor: no (n, tiers)
    temporaries.  Padding floors are +inf and never count.
    """
    width = tiers.floor.shape[1]
    tier = np.zeros(a.shape[0], dtype=np.int64)
    if width == 1:
        return tier
    floor, mmr, cum = tiers.floor[:, 1:], tiers.mmr[:, 1:], tiers.cum[:, 1:]
    finite = np.isfinite(floor)
    with np.errstate(invalid="ignore"):
        long_side = np.where(finite, floor * (1 - mmr) + cum, np.inf)  # d = +1
        short_side = np.where(finite, floor * (1 + mmr) - cum, np.inf)  # d = −1
    thresholds = np.stack([short_side, long_side], axis=1).reshape(-1, width - 1)  # row 2·table + (d > 0)
    row = 2 * table + (d > 0)
    x = -d * a
    fee_slope = None if add is None else d * add
    safe_floor = np.where(finite, floor, 0.0)
    for k in range(width - 1):
        lhs = x if fee_slope is None else x + fee_slope * safe_floor[:, k].take(table)
        beyond = thresholds[:, k].take(row) <= lhs
        if not beyond.any():  # thresholds rise with the floor (f is monotone): no root lies further out
            break
        tier += beyond
    return tier


def maintenance_margin(
    *,
    inverse: np.ndarray,
    qty: np.ndarray,
    price: np.ndarray,
    tiers: TierTable,
    table: np.ndarray,
    fixed_tier: np.ndarray | None = None,
    mmr_add: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Maintenance margin (settle asset) and tier index at ``price``; ``fixed_tier`` ≥ 0 pins the tier."""
    inverse = np.asarray(inverse, dtype=bool)
    n = inverse.shape[0]
    qty = _as_float(qty, n)
    price = _as_float(price, n)
    table = np.broadcast_to(np.asarray(table, dtype=np.int64), (n,))
    size = qty * price
    np.divide(qty, price, out=size, where=inverse)
    fixed = None if fixed_tier is None else np.broadcast_to(np.asarray(fixed_tier, dtype=np.int64), (n,))
    if fixed is not None and bool((fixed >= 0).all()):
        tier = fixed  # every row pinned: no lookup
    else:
        tier = tiers.tier_at(table, size)
        if fixed is not None:
            tier = np.where(fixed >= 0, fixed, tier)
    tier = np.minimum(tier, tiers.size.take(table) - 1)
    flat = table * tiers.floor.shape[1] + tier
    rate = tiers.mmr.ravel().take(flat)
    if mmr_add is not None:
        rate += _as_float(mmr_add, n)
    return size * rate - tiers.cum.ravel().take(flat), tier


def equity(
    *,
    inverse: np.ndarray,
    side: np.ndarray,
    qty: np.ndarray,
    entry: np.ndarray,
    margin: np.ndarray,
    price: np.ndarray,
) -> np.ndarray:
    """Margin plus unrealized PnL at ``price``, in the settle asset."""
    a, d = affine_terms(inverse, side, qty, entry, margin)
    size = np.where(inverse, qty / np.asarray(price, dtype=float), qty * np.asarray(price, dtype=float))
    return a + d * size
