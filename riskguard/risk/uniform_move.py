"""The uniform adverse move that liquidates a cross margin pool.

A cross position's liquidation price freezes every other position at its mark
(venue-margin-math §0), so five positions can each show an 18% buffer while a
9% move of all of them together empties the pool: in a crash majors move
together.  This module answers the account-level question instead: the
smallest fraction x such that, with *every* mark of the pool moved to
mark·(1 − x) (down) or mark·(1 + x) (up), the pool's equity falls to its
maintenance margin, the trigger cross accounts are liquidated on.

The terms are those of the check's cross margin ratio (riskguard.risk.account_risk):
wallet + Σ uPnL against Σ MM, with the venue's tier rule (the tier of the
size at the moved price, or the pinned OKX/Bybit tier), the taker fee in the
rate (OKX), maintenance at entry (Bybit classic) and the closing-fee reserve
(Bybit).  So the move is 0 exactly when that ratio is already ≥ 1, and a pool
with one position moves exactly as far as that position's own buffer.

Exact, not searched: with t = P/mark the same for every position, each
position adds α + β·t + γ/t to equity − MM inside one tier (linear positions
give β, inverse ones γ, both constant until a position's size crosses a tier
floor).  The pool's margin left is therefore that same shape on every stretch
between tier crossings, whose root is a quadratic's.  Tier crossings are
sorted once and their coefficient changes summed with one cumsum, so a pool of
n positions costs O(n·tiers·log) with no per-position Python.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from riskguard.model import Account, MarginMode, VenueMarkets
from riskguard.risk.account_risk import SolvedInputs, _arrays
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import RuleColumns, requirement
from riskguard.risk.venue_rules import MaintenanceBasis, rules_for


class Direction(StrEnum):
    DOWN = "down"
    """Every mark × (1 − x): what liquidates longs."""
    UP = "up"
    """Every mark × (1 + x): what liquidates shorts."""


@dataclass(frozen=True, slots=True)
class CrossPool:
    """Cross positions backed by one settle-asset wallet, as parallel (n,) arrays in the solver's units.

    ``qty`` is base units (linear) or quote units, contracts × contract size (inverse).
    """

    inverse: np.ndarray
    side: np.ndarray
    qty: np.ndarray
    entry: np.ndarray
    mark: np.ndarray
    tiers: TierTable
    table: np.ndarray
    fixed_tier: np.ndarray
    """Pinned tier per position (OKX contracts, Bybit risk limit); −1 takes the tier at the moved price."""
    mmr_add: np.ndarray
    """Added to the tier rate (OKX taker fee)."""
    fixed_mm: np.ndarray
    """NaN where MM follows the price; the requirement itself where the venue takes it at entry (Bybit classic)."""
    constant: float
    """Wallet less every requirement that no price move changes (Bybit's closing-fee reserve)."""


def _coefficients(pool: CrossPool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, width) α, β, γ of each position's equity − MM in each tier (module doc)."""
    q, m, e, s = pool.qty[:, None], pool.mark[:, None], pool.entry[:, None], pool.side[:, None]
    rate = pool.tiers.mmr[pool.table] + pool.mmr_add[:, None]
    cum = pool.tiers.cum[pool.table]
    fixed = np.isfinite(pool.fixed_mm)
    if fixed.any():
        at_entry = fixed[:, None]
        rate = np.where(at_entry, 0.0, rate)
        cum = np.where(at_entry, -np.nan_to_num(pool.fixed_mm)[:, None], cum)
    if not pool.inverse.any():  # the usual pool: the linear branch of each select below, computed alone
        return -s * q * e + cum, q * m * (s - rate), np.zeros(cum.shape)
    inverse = pool.inverse[:, None]
    alpha = np.where(inverse, s * q / e, -s * q * e) + cum
    beta = np.where(inverse, 0.0, q * m * (s - rate))
    gamma = np.where(inverse, -(q / m) * (s + rate), 0.0)
    return alpha, beta, gamma


def _first_root(
    alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray, start: np.ndarray, end: np.ndarray, direction: Direction
) -> float:
    """The first t, stretch by stretch from ``start`` toward ``end``, where β·t² + α·t + γ ≤ 0 (t > 0); NaN if none.

    t·(α + β·t + γ/t) has the sign of the margin left for t > 0, so its roots are the pool's.  A pool has a
    handful of stretches and the first one holding a root ends the search, so each is solved with Python
    floats (IEEE double arithmetic, as numpy's): a zero divisor, where numpy would give ±inf or NaN, gives
    no root here, as there.
    """
    up = direction is Direction.UP
    for a, b, g, t0, t1 in zip(alpha.tolist(), beta.tolist(), gamma.tolist(), start.tolist(), end.tolist(),
                               strict=True):
        if t0 > 0 and math.isfinite(t0) and b * t0 * t0 + a * t0 + g <= 0:
            return t0  # the margin is already gone where the stretch begins
        disc = a * a - 4 * b * g
        roots: tuple[float, ...] = ()
        if b != 0:
            if disc >= 0:
                q = -0.5 * (a + (1.0 if a >= 0 else -1.0) * math.sqrt(disc))
                roots = (q / b, g / q if q != 0 else math.nan)
        elif a != 0:
            roots = (-g / a,)
        lo, hi = min(t0, t1), max(t0, t1)
        # A root on an end of the stretch (a pool exactly at maintenance now, or at a tier crossing) can round to
        # just outside it; dropped, the search would go on to a far root (a 99 % move for a pool at its trigger).
        found = [r for r in roots if math.isfinite(r) and r > 0 and lo - 1e-12 <= r <= hi + 1e-12]
        if found:
            return min(found) if up else max(found)
    return math.nan


@dataclass(frozen=True, slots=True)
class _AtMarks:
    """What both directions start from: each position's coefficients per tier, its tier now, the pool's sums,
    and the t at which each position's size reaches each tier floor above the first."""

    alpha: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    by_price: np.ndarray
    tier0: np.ndarray
    a0: float
    b0: float
    g0: float
    t_cross: np.ndarray
    """(n, width − 1): t at which the size reaches floor k + 1 (inf for a padded floor)."""
    floors_finite: np.ndarray


def _at_marks(pool: CrossPool) -> _AtMarks:
    n = pool.side.shape[0]
    alpha, beta, gamma = _coefficients(pool)
    rows = np.arange(n)
    linear = not pool.inverse.any()
    qm = pool.qty * pool.mark
    size_now = qm if linear else np.where(pool.inverse, pool.qty / pool.mark, qm)
    by_price = (pool.fixed_tier < 0) & ~np.isfinite(pool.fixed_mm)
    tier0 = np.where(pool.fixed_tier >= 0, np.minimum(pool.fixed_tier, pool.tiers.size[pool.table] - 1), 0)
    tier0 = np.where(by_price, pool.tiers.tier_at(pool.table, size_now), tier0)
    a0 = pool.constant + alpha[rows, tier0].sum()
    b0, g0 = beta[rows, tier0].sum(), gamma[rows, tier0].sum()
    width = pool.tiers.floor.shape[1]
    floors = pool.tiers.floor[pool.table][:, 1:] if width > 1 else np.empty((n, 0))
    with np.errstate(divide="ignore"):
        if linear:
            t_cross = floors / qm[:, None]
        else:
            t_cross = np.where(pool.inverse[:, None], (pool.qty / pool.mark)[:, None] / floors, floors / qm[:, None])
    return _AtMarks(alpha, beta, gamma, by_price, tier0, a0, b0, g0, t_cross, np.isfinite(floors))


def solve_uniform_move(pool: CrossPool, direction: Direction, at_marks: _AtMarks | None = None) -> float:
    """Smallest x ≥ 0 whose uniform move in ``direction`` brings equity to maintenance; +inf if none does.

    Down moves stop short of a zero price (x < 1); up moves are unbounded.

    :param at_marks: ``_at_marks(pool)``, when the caller solves both directions of one pool.
    """
    n = pool.side.shape[0]
    if n == 0:
        return math.inf
    s = _at_marks(pool) if at_marks is None else at_marks
    alpha, beta, gamma, by_price, tier0 = s.alpha, s.beta, s.gamma, s.by_price, s.tier0

    # Tier crossings: the t at which position i's size reaches floor k (k ≥ 1), and the coefficient change.
    width = s.t_cross.shape[1] + 1
    k = np.arange(1, width)[None, :]
    down = direction is Direction.DOWN
    above = k <= tier0[:, None]
    if pool.inverse.any():
        rising = (pool.inverse == down)[:, None]  # size grows along the move
        crossed = by_price[:, None] & s.floors_finite & np.where(rising, ~above, above)
    else:
        crossed = by_price[:, None] & s.floors_finite & (above if down else ~above)
    i_idx, k_idx = np.nonzero(crossed)
    t_ev = s.t_cross[i_idx, k_idx]
    order = np.argsort(-t_ev if down else t_ev, kind="stable")
    i_idx, k_tier, t_ev = i_idx[order], k_idx[order] + 1, t_ev[order]
    grows = pool.inverse[i_idx] == down
    old = np.where(grows, k_tier - 1, k_tier)
    new = np.where(grows, k_tier, k_tier - 1)

    def path(coef: np.ndarray, first: float) -> np.ndarray:
        steps = coef[i_idx, new] - coef[i_idx, old]
        out = np.empty(steps.shape[0] + 1)
        out[0] = 0.0
        np.cumsum(steps, out=out[1:])
        return first + out

    start = np.empty(t_ev.shape[0] + 1)
    start[0], start[1:] = 1.0, t_ev
    stop = np.empty(t_ev.shape[0] + 1)
    stop[:-1], stop[-1] = t_ev, (0.0 if down else math.inf)
    root = _first_root(path(alpha, s.a0), path(beta, s.b0), path(gamma, s.g0), start, stop, direction)
    if math.isnan(root):
        return math.inf
    return max(0.0, 1.0 - root if down else root - 1.0)


@dataclass(frozen=True, slots=True)
class UniformMove:
    """The uniform adverse move of one cross pool, in % of every mark; inf where no move that way liquidates."""

    asset: str
    down_pct: float
    up_pct: float
    positions: int
    reason: str | None = None
    """Why the move is unknown (both figures NaN); None when computed."""

    @property
    def known(self) -> bool:
        return self.reason is None

    @property
    def binding_direction(self) -> Direction:
        return Direction.DOWN if self.down_pct <= self.up_pct else Direction.UP

    @property
    def binding_pct(self) -> float:
        """The smaller of the two moves: the one that liquidates first."""
        return min(self.down_pct, self.up_pct)


def pool_move(pool: CrossPool, asset: str) -> UniformMove:
    at_marks = _at_marks(pool) if pool.side.shape[0] else None
    down = solve_uniform_move(pool, Direction.DOWN, at_marks) * 100
    up = solve_uniform_move(pool, Direction.UP, at_marks) * 100
    return UniformMove(asset, down, up, int(pool.side.shape[0]))


def _unknown(asset: str, n: int, reason: str) -> UniformMove:
    return UniformMove(asset, math.nan, math.nan, n, reason)


def uniform_moves(
    account: Account, venue: VenueMarkets, solved: SolvedInputs | None = None
) -> tuple[UniformMove, ...]:
    """One figure per cross pool (settle asset with cross positions) of the account, in asset order.

    :param solved: ``AccountRisk.solved`` of this account: its arrays and requirement, row for row the same
        as a pool's own (both are per position), sliced rather than built again for each pool.
    """
    if solved is not None and solved.positions is not account.positions:
        solved = None
    rules = rules_for(account.venue, account.account_type)
    members: dict[str, list[int]] = defaultdict(list)
    positions = list(account.positions)
    for i, p in enumerate(positions):
        if p.margin_mode is MarginMode.CROSS:
            members[venue.markets[p.symbol].settle].append(i)
    taker = account.fees.taker if account.fees else None
    out = []
    for asset in sorted(members):
        n = len(members[asset])
        if asset not in account.balances:
            out.append(_unknown(asset, n, f"no {asset} balance for the cross account"))
            continue
        if rules.needs_taker_fee and taker is None:
            out.append(_unknown(asset, n, "taker fee rate unavailable (the venue counts it in maintenance)"))
            continue
        if solved is None:
            chosen = [positions[i] for i in members[asset]]
            a = _arrays(chosen, [venue.markets[p.symbol] for p in chosen], taker or 0.0)
            req = requirement(a, RuleColumns.build([rules], np.zeros(n, dtype=np.int64), a.isolated))
            rows: slice | np.ndarray = slice(None)
        else:  # the pool's rows of the account's arrays; the tier table stays whole (``table`` still indexes it)
            a, req, rows = solved.arrays, solved.requirement, np.asarray(members[asset])
        if rules.close_fee_reserve and np.isnan(a.leverage[rows]).any():
            out.append(_unknown(asset, n, "leverage unavailable (Bybit reserves the closing fee from it)"))
            continue
        # MM fixed at entry (Bybit classic) does not move with the marks; elsewhere it is re-tiered at each price.
        at_entry = rules.maintenance_basis is MaintenanceBasis.AT_ENTRY
        fixed_mm = req.maintenance[rows] if at_entry else np.full(n, np.nan)
        pool = CrossPool(
            inverse=a.inverse[rows], side=np.asarray(a.side[rows], dtype=float), qty=a.qty[rows], entry=a.entry[rows],
            mark=a.mark[rows], tiers=a.tiers, table=a.table[rows], fixed_tier=req.fixed_tier[rows],
            mmr_add=req.mmr_add[rows], fixed_mm=fixed_mm,
            constant=float(account.balances[asset].cross_wallet - req.reserve[rows].sum()),
        )
        out.append(pool_move(pool, asset))
    return tuple(out)
