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

from riskguard.risk.tiers import TierTable, count_floors


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


def as_rows(x: np.ndarray | float, n: int, dtype: type = float) -> np.ndarray:
    """``x`` as ``n`` rows of ``dtype``, read-only by contract: the array itself where it already is one.

    ``np.broadcast_to`` costs microseconds a call, and an account of a few positions is evaluated through dozens
    of such calls (hundreds while a plan searches its cut): that was a tenth of a small evaluation.  Only a
    scalar or a shorter array becomes a broadcast view."""
    a: np.ndarray = np.asarray(x, dtype=dtype)
    return a if a.shape == (n,) else np.broadcast_to(a, (n,))




_FEW = 4096
"""Below this many rows mispredicted branches cost less than the bit operations' Python overhead."""


def pick(
    cond: np.ndarray, if_true: np.ndarray | float, if_false: np.ndarray | float, *, reuse: bool = False
) -> np.ndarray:
    """``np.where(cond, if_true, if_false)`` bit for bit, without a branch per element.

    ``np.where`` branches on every element: on a mask that alternates at random
    (mixed venues, margin modes, linear and inverse rows) half the branches are
    mispredicted and it costs as much as ten arithmetic passes.  Selecting with
    bit masks, f ^ ((t ^ f) & m), costs three and copies NaN and −0.0 exactly.
    Fresh full-size arrays cost page faults on top, so it allocates one, or
    none with ``reuse`` (``if_true`` is the caller's temporary: it is overwritten).
    """
    t, f = np.asarray(if_true), np.asarray(if_false)
    if np.size(cond) < _FEW:
        return np.where(cond, t, f)
    dtype = np.result_type(t, f)
    cond = np.asarray(cond, dtype=bool)
    # A mask that is all one way (rows grouped by venue rules) is a copy, not a select.
    taken = t if cond.all() else f if not cond.any() else None
    if taken is not None:
        if reuse and taken is t and t.dtype == dtype and t.shape == np.shape(cond) and t.flags.writeable:
            return t
        out = np.empty(np.shape(cond), dtype=dtype)
        out[...] = taken
        return out
    bits = np.dtype(f"i{dtype.itemsize}")
    tb, fb = t.astype(dtype, copy=False).view(bits), f.astype(dtype, copy=False).view(bits)
    if reuse and t.dtype == dtype and t.shape == np.shape(cond) and t.flags.writeable:
        out = np.bitwise_xor(tb, fb, out=tb)
    else:
        out = np.bitwise_xor(tb, fb)
    if out.shape != np.shape(cond):
        out = np.broadcast_to(out, np.shape(cond)).copy()
    # The int8 mask (0 or −1) widens chunk by chunk inside the ufunc: no full-size temporary to fault in.
    np.bitwise_and(out, np.negative(cond.view(np.int8)), out=out)
    out ^= fb
    return out.view(dtype)


def rows_of(mask: np.ndarray) -> np.ndarray | slice | None:
    """Where a rule applies, to write its term on those rows only: None (no row), every row, or their indices."""
    count = int(np.count_nonzero(mask))
    if count == 0:
        return None
    return slice(None) if count == np.size(mask) else np.flatnonzero(mask)


def at(values: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
    """``values`` on ``rows`` (from ``rows_of``); a gather where rows are indices, a view where they are all."""
    values = np.asarray(values)
    return values[rows] if isinstance(rows, slice) else values.take(rows)


def per_kind(inverse: np.ndarray, qty: np.ndarray, price: np.ndarray) -> np.ndarray:
    """qty·price on linear rows, qty/price on inverse rows: entry value, or tier size at ``price``."""
    return _linear_or_inverse(inverse, np.multiply, qty, price)


def _linear_or_inverse(inverse: np.ndarray, linear: np.ufunc, qty: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``linear(other or qty …)`` on every row, then qty/other recomputed on the inverse rows only.

    Inverse rows are usually few, so dividing just them beats dividing every
    row and selecting; the values are the same operations on the same numbers.
    """
    inverse = np.asarray(inverse, dtype=bool)
    qty, other = as_rows(qty, inverse.shape[0]), as_rows(other, inverse.shape[0])
    out = linear(other, qty) if linear is np.divide else linear(qty, other)
    rows = np.flatnonzero(inverse)
    if rows.size:
        out[rows] = np.divide(qty.take(rows), other.take(rows))
    return out


def affine_terms(
    inverse: np.ndarray, side: np.ndarray, qty: np.ndarray, entry: np.ndarray, margin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Intercept A and slope d of equity as a function of tier size N (see module doc).

    A = margin − d·V with V the entry value (qty·entry, or qty/entry for inverse).
    """
    inverse = np.asarray(inverse, dtype=bool)
    side = np.asarray(side, dtype=float)
    d = pick(inverse, -side, side, reuse=True) if inverse.any() else side
    return margin - d * per_kind(inverse, qty, entry), d


def size_to_price(inverse: np.ndarray, qty: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Map tier size back to price: N = qty·P (linear) or N = qty/P (inverse); NaN where no price fits."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        price = _linear_or_inverse(inverse, np.divide, qty, size)  # size/qty, or qty/size
        bad = ~((size > 0) & np.isfinite(price))
    if bad.any():  # few rows: a sparse mask predicts well, so plain masked assignment is cheapest
        price[bad] = np.nan
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
    qty = as_rows(qty, n)
    a, d = affine_terms(inverse, side, qty, as_rows(entry, n), as_rows(margin, n))
    return solve_affine(
        a=a, d=d, inverse=inverse, qty=qty, tiers=tiers, table=table, fixed_tier=fixed_tier, mmr_add=mmr_add
    )


def solve_affine(
    *,
    a: np.ndarray,
    d: np.ndarray,
    inverse: np.ndarray,
    qty: np.ndarray,
    tiers: TierTable,
    table: np.ndarray,
    fixed_tier: np.ndarray | None = None,
    mmr_add: np.ndarray | None = None,
    equity_a: np.ndarray | None = None,
) -> LiquidationSolution:
    """``solve_liquidation`` from A and d (``affine_terms``), for callers that already hold the entry value.

    Only rows without a pinned tier search for theirs.  ``equity_a`` is A of
    equity alone where it differs from the requirement's (MM at entry moved
    into the collateral), for the bankruptcy price.
    """
    n = inverse.shape[0]
    table = as_rows(table, n, np.int64)
    add = None if mmr_add is None else as_rows(mmr_add, n)
    searching = np.ones(n, dtype=bool)
    if fixed_tier is None:
        tier = np.zeros(n, dtype=np.int64)
    else:
        fixed = as_rows(fixed_tier, n, np.int64)
        tier = np.maximum(fixed, 0)  # unpinned rows: 0 until searched
        above = np.flatnonzero(fixed > 0)  # pinned beyond the first tier: at most the table's last
        tier[above] = np.minimum(tier.take(above), tiers.size.take(table.take(above)) - 1)
        searching &= fixed < 0
    # Rows with no fee term skip it: x + 0·F_k is x, so their count is the same without the extra gathers.
    groups: list[tuple[np.ndarray, np.ndarray | None]] = [(searching, None)]
    if add is not None:
        has_fee = add != 0
        groups = [(searching & ~has_fee, None), (searching & has_fee, add)]
    for rows_mask, fee in groups:
        if rows_mask.all():
            tier = _tier_at_liquidation(a, d, tiers, table, fee)
        elif rows_mask.any():
            rows = np.flatnonzero(rows_mask)
            tier[rows] = _tier_at_liquidation(a, d, tiers, table, fee, rows)

    flat = table * tiers.floor.shape[1] + tier  # one gather from the raveled table beats 2-D fancy indexing
    mmr = tiers.mmr.ravel().take(flat)
    if add is not None:
        mmr += add
    cum = tiers.cum.ravel().take(flat)
    with np.errstate(divide="ignore", invalid="ignore"):
        liq_size = (a + cum) / (mmr - d)
    return LiquidationSolution(
        liquidation_price=size_to_price(inverse, qty, liq_size),
        bankruptcy_price=size_to_price(inverse, qty, -d * (a if equity_a is None else equity_a)),
        tier=tier,
        mmr=mmr,
        cum=cum,
    )


def _tier_at_liquidation(
    a: np.ndarray,
    d: np.ndarray,
    tiers: TierTable,
    table: np.ndarray,
    add: np.ndarray | None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Count tier floors the root lies at or beyond (for ``rows`` only, when given).

    f is increasing in N when d = +1 and decreasing when d = −1, so the root is
    at or above floor F_k exactly when d·f(F_k) ≤ 0, i.e. when
    −d·A + d·add·F_k ≥ F_k·(1 − d·mmr_k) + d·cum_k.  The right side depends
    only on the table, the tier and the sign of d, so it is tabulated once and
    each position does one gather and one compare per floor: no (n, tiers)
    temporaries.  Padding floors are +inf and never count.
    """
    width = tiers.floor.shape[1]
    if rows is not None:
        a, d, table = a.take(rows), d.take(rows), table.take(rows)
        add = None if add is None else add.take(rows)
    if width == 1:
        return np.zeros(a.shape[0], dtype=np.int64)
    floor, mmr, cum = tiers.floor[:, 1:], tiers.mmr[:, 1:], tiers.cum[:, 1:]
    finite = np.isfinite(floor)
    with np.errstate(invalid="ignore"):
        long_side = np.where(finite, floor * (1 - mmr) + cum, np.inf)  # d = +1
        short_side = np.where(finite, floor * (1 + mmr) - cum, np.inf)  # d = −1
    thresholds = np.stack([short_side, long_side], axis=1).reshape(-1, width - 1)  # row 2·table + (d > 0)
    row = 2 * table + (d > 0)
    x = -d * a
    if add is None:
        return count_floors(thresholds, row, x)
    return count_floors(thresholds, row, x, (d * add, np.where(finite, floor, 0.0), table))


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
    table = as_rows(table, n, np.int64)
    size = per_kind(inverse, as_rows(qty, n), as_rows(price, n))
    fixed = None if fixed_tier is None else as_rows(fixed_tier, n, np.int64)
    if fixed is not None and bool((fixed >= 0).all()):
        tier = fixed  # every row pinned: no lookup
    else:
        tier = tiers.tier_at(table, size)
        if fixed is not None:
            tier = np.where(fixed >= 0, fixed, tier)
    tier = np.minimum(tier, tiers.size.take(table) - 1)
    return requirement_in_tier(size, tiers, table, tier, mmr_add), tier


def requirement_in_tier(
    size: np.ndarray, tiers: TierTable, table: np.ndarray, tier: np.ndarray, mmr_add: np.ndarray | None = None
) -> np.ndarray:
    """size·(mmr_k + add) − cum_k in a known tier, at most the table's last."""
    flat = table * tiers.floor.shape[1] + tier
    rate = tiers.mmr.ravel().take(flat)
    if mmr_add is not None:
        rate += as_rows(mmr_add, size.shape[0])
    return size * rate - tiers.cum.ravel().take(flat)


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
