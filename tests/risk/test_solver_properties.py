"""Properties of the closed-form solver over random positions and random continuous tier tables.

Tier tables are generated in the tier's own size basis (quote notional for
linear, coin quantity for inverse) with rising floors and rates; cum is derived
so maintenance margin is continuous, as every venue's table is.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.model import MarginTier
from riskguard.risk.solver import equity, maintenance_margin, solve_liquidation
from riskguard.risk.tiers import TierTable

PROPERTY = settings(max_examples=300, deadline=None)


@st.composite
def tier_tables(draw) -> tuple[MarginTier, ...]:
    count = draw(st.integers(1, 6))
    floors = [0.0]
    for _ in range(count - 1):
        floors.append(floors[-1] + 10 ** draw(st.floats(0, 7)))
    mmrs = [draw(st.floats(0.001, 0.05))]
    for _ in range(count - 1):
        mmrs.append(min(mmrs[-1] + draw(st.floats(0, 0.08)), 0.6))
    tiers, cum = [], 0.0
    for k in range(count):
        if k:
            cum += floors[k] * (mmrs[k] - mmrs[k - 1])
        cap = floors[k + 1] if k + 1 < count else math.inf
        tiers.append(MarginTier(floors[k], cap, mmrs[k], cum))
    return tuple(tiers)


@st.composite
def positions(draw) -> dict:
    """One position: value V (tier basis) at entry, leverage, and whether it is inverse."""
    inverse = draw(st.booleans())
    entry = 10 ** draw(st.floats(-2, 5))
    value = 10 ** draw(st.floats(0, 8))
    leverage = draw(st.floats(1, 125))
    return {
        "inverse": np.array([inverse]),
        "side": np.array([draw(st.sampled_from([-1, 1]))]),
        "qty": np.array([value * entry if inverse else value / entry]),
        "entry": np.array([entry]),
        "margin": np.array([value / leverage]),
    }


def _solve(tiers: tuple[MarginTier, ...], pos: dict, **kw):
    return solve_liquidation(tiers=TierTable.from_tiers([tiers]), table=np.zeros(1, dtype=np.int64), **pos, **kw)


def _size(pos: dict, price: float) -> float:
    q = pos["qty"][0]
    return q / price if pos["inverse"][0] else q * price


def _residual(tiers, pos: dict, price: float, **kw) -> tuple[float, float]:
    """Equity − MM at ``price`` with the tier re-selected there, and the scale of the terms that cancel."""
    table = TierTable.from_tiers([tiers])
    mm, _ = maintenance_margin(inverse=pos["inverse"], qty=pos["qty"], price=[price], tiers=table, table=[0], **kw)
    eq = equity(price=np.array([price]), **pos)
    value = pos["qty"][0] / pos["entry"][0] if pos["inverse"][0] else pos["qty"][0] * pos["entry"][0]
    return float(eq[0] - mm[0]), _size(pos, price) + value + abs(pos["margin"][0])


@PROPERTY
@given(tier_tables(), positions())
def test_liquidation_price_when_solved_then_equity_equals_mm_at_that_price(tiers, pos):
    sol = _solve(tiers, pos)
    price = sol.liquidation_price[0]
    if math.isnan(price):  # over-collateralized: equity stays above MM at every positive price
        far = 1e-9 * pos["entry"][0] if pos["side"][0] > 0 else 1e9 * pos["entry"][0]
        assert _residual(tiers, pos, far)[0] > 0
        return
    residual, scale = _residual(tiers, pos, price)
    assert abs(residual) <= 1e-9 * scale


@PROPERTY
@given(tier_tables(), positions(), st.floats(1e-6, 10))
def test_liquidation_price_when_margin_grows_then_moves_away_from_entry(tiers, pos, growth):
    before = _solve(tiers, pos).liquidation_price[0]
    after = _solve(tiers, {**pos, "margin": pos["margin"] * (1 + growth)}).liquidation_price[0]
    long = pos["side"][0] > 0
    # No price at all is the farthest a price can be: 0 below a long, +inf above a short.
    farthest = 0.0 if long else math.inf
    before = farthest if math.isnan(before) else before
    after = farthest if math.isnan(after) else after
    if long:
        assert after <= before * (1 + 1e-12)
    else:
        assert after >= before * (1 - 1e-12)


@PROPERTY
@given(tier_tables(), positions())
def test_tier_when_solved_then_contains_the_size_at_the_liquidation_price(tiers, pos):
    sol = _solve(tiers, pos)
    price = sol.liquidation_price[0]
    if math.isnan(price):
        return
    size, k = _size(pos, price), int(sol.tier[0])
    assert tiers[k].floor <= size * (1 + 1e-9)
    assert k + 1 == len(tiers) or size <= tiers[k + 1].floor * (1 + 1e-9)


@PROPERTY
@given(tier_tables().filter(lambda t: len(t) > 1), positions(), st.data())
def test_root_on_a_floor_when_either_adjacent_tier_is_used_then_same_price(tiers, pos, data):
    k = data.draw(st.integers(1, len(tiers) - 1))
    inverse, side = pos["inverse"][0], pos["side"][0]
    d = -side if inverse else side
    value = pos["qty"][0] / pos["entry"][0] if inverse else pos["qty"][0] * pos["entry"][0]
    floor = tiers[k].floor
    margin = floor * (tiers[k].mmr - d) - tiers[k].cum + d * value  # puts the root exactly on floor_k
    if margin <= 0:
        return
    pos = {**pos, "margin": np.array([margin])}
    below = _solve(tiers, pos, fixed_tier=np.array([k - 1])).liquidation_price[0]
    above = _solve(tiers, pos, fixed_tier=np.array([k])).liquidation_price[0]
    free = _solve(tiers, pos)
    expected = pos["qty"][0] / floor if inverse else floor / pos["qty"][0]
    # The margin built above carries a rounding error of ~eps·(V + margin); A = margin − d·V may cancel it
    # down to a small number, which limits how exactly any solver can place the root.
    conditioning = 1e-15 * (value + margin) / abs(margin - d * value + tiers[k].cum)
    assert math.isclose(below, above, rel_tol=1e-9 + conditioning)
    assert math.isclose(free.liquidation_price[0], expected, rel_tol=1e-9 + conditioning)
    assert int(free.tier[0]) in (k - 1, k)


@PROPERTY
@given(tier_tables(), positions())
def test_bankruptcy_price_when_solved_then_equity_is_zero(tiers, pos):
    price = _solve(tiers, pos).bankruptcy_price[0]
    if math.isnan(price):
        return
    eq = equity(price=np.array([price]), **pos)[0]
    value = pos["qty"][0] / pos["entry"][0] if pos["inverse"][0] else pos["qty"][0] * pos["entry"][0]
    assert abs(eq) <= 1e-9 * (_size(pos, price) + value + pos["margin"][0])


@PROPERTY
@given(tier_tables(), positions(), st.integers(-1, 8))
def test_fixed_tier_when_pinned_then_same_as_a_single_tier_table(tiers, pos, pinned):
    sol = _solve(tiers, pos, fixed_tier=np.array([pinned]))
    if pinned < 0:
        expected = _solve(tiers, pos)
        assert int(sol.tier[0]) == int(expected.tier[0])
    else:
        k = min(pinned, len(tiers) - 1)
        assert int(sol.tier[0]) == k
        expected = _solve((MarginTier(0.0, math.inf, tiers[k].mmr, tiers[k].cum),), pos)
    np.testing.assert_array_equal(sol.liquidation_price, expected.liquidation_price)


@PROPERTY
@given(tier_tables(), positions(), st.floats(0, 0.002))
def test_mmr_add_when_given_then_every_rate_shifts_and_cum_stays(tiers, pos, fee):
    sol = _solve(tiers, pos, mmr_add=np.array([fee]))
    shifted = tuple(MarginTier(t.floor, t.cap, t.mmr + fee, t.cum) for t in tiers)
    k = int(sol.tier[0])
    assert sol.mmr[0] == tiers[k].mmr + fee
    assert sol.cum[0] == tiers[k].cum
    price = sol.liquidation_price[0]
    if not math.isnan(price):
        residual, scale = _residual(tiers, pos, price, mmr_add=np.array([fee]))
        assert abs(residual) <= 1e-9 * scale
        assert math.isclose(price, _solve(shifted, pos).liquidation_price[0], rel_tol=1e-9)


def _bisect_price(tiers, inverse: bool, side: int, qty: float, entry: float, margin: float) -> float:
    """Liquidation price from the definitions alone: bisection on equity − MM in log price.

    Equity − MM rises with price for a long and falls for a short, on both kinds,
    so side·(equity − MM) is increasing and has at most one sign change.
    """

    def g(log_price: float) -> float:
        price = math.exp(log_price)
        size = qty / price if inverse else qty * price
        # margin − side·cost first: at a 1x long's zero price the two cancel exactly, as they should
        at_zero_move = margin + side * qty / entry if inverse else margin - side * qty * entry
        move = -side * qty / price if inverse else side * qty * price
        tier = next(t for t in reversed(tiers) if t.floor <= size)
        return side * (at_zero_move + move - (size * tier.mmr - tier.cum))

    lo, hi = math.log(entry) - 40, math.log(entry) + 40
    if not g(lo) < 0 < g(hi):
        return math.nan  # never reaches MM within 17 decades of the entry
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if g(mid) > 0 else (mid, hi)
    return math.exp((lo + hi) / 2)


@settings(max_examples=40, deadline=None)
@given(st.lists(tier_tables(), min_size=1, max_size=4), st.lists(positions(), min_size=1, max_size=40), st.data())
def test_vectorized_when_many_tables_and_positions_then_equals_scalar_bisection(tables, rows, data):
    table = np.array([data.draw(st.integers(0, len(tables) - 1)) for _ in rows])
    batch = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    got = solve_liquidation(tiers=TierTable.from_tiers(tables), table=table, **batch).liquidation_price
    for i, r in enumerate(rows):
        expected = _bisect_price(
            tables[table[i]], bool(r["inverse"][0]), int(r["side"][0]), r["qty"][0], r["entry"][0], r["margin"][0]
        )
        if math.isnan(expected):
            assert math.isnan(got[i])
        else:
            assert math.isclose(got[i], expected, rel_tol=1e-9)
