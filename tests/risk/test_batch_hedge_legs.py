"""Hedge legs sharing one price, solved for many groups at once, against the one-group reference (shared_price).

``shared_leg_prices`` does ``shared_price``'s arithmetic on every group and
segment at once; these tests demand the same bits on random groups (linear and
inverse, two and three legs, legs with equal sizes so kinks coincide, tiers
crossed and not, over- and under-collateralised) and through
``liquidation_frame``'s ``hedge_group`` column with interleaved labels.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskguard.model.market import MarginTier
from riskguard.risk.batch import liquidation_frame
from riskguard.risk.shared_price import Leg, shared_bankruptcy_price, shared_liquidation_price
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import PositionArrays, shared_leg_prices


def _table(floors: tuple[float, ...], mmrs: tuple[float, ...]) -> list[MarginTier]:
    cums = [0.0]
    for i in range(1, len(floors)):
        cums.append(cums[-1] + floors[i] * (mmrs[i] - mmrs[i - 1]))
    return [MarginTier(f, c, m, k) for f, c, m, k in zip(floors, (*floors[1:], math.inf), mmrs, cums, strict=True)]


TABLES = [
    _table((0, 50e3, 250e3, 1e6, 10e6), (0.004, 0.005, 0.01, 0.025, 0.05)),
    _table((0, 5, 10, 20, 50), (0.004, 0.005, 0.01, 0.025, 0.05)),  # coin quantity (inverse)
    _table((0,), (0.01,)),
]


def _same(got: float, want: float | None) -> bool:
    return math.isnan(got) if want is None else got == want


def _groups(rng: np.random.Generator, count: int, legs: int) -> tuple[PositionArrays, np.ndarray, np.ndarray]:
    """``count`` groups of ``legs`` legs, alternately long and short, and the collateral behind each group.

    Half are nearly balanced hedges (the second leg 1–4 % smaller, large,
    on thin collateral): equity − MM is concave there, with a root on each side
    of the mark, so the nearer one must be chosen.  A third of the rest have
    legs of equal size, whose tier kinks coincide.
    """
    n = count * legs
    table = np.repeat(rng.choice([0, 1, 2], count, p=[0.45, 0.45, 0.1]), legs)
    inverse = table == 1
    mark = np.repeat(rng.uniform(100, 60_000, count), legs)
    entry = mark * rng.uniform(0.98, 1.02, n)
    notional = np.exp(rng.uniform(np.log(100), np.log(2e7), n))
    balanced = np.repeat(rng.random(count) < 1 / 2, legs)
    notional[balanced] = np.repeat(np.exp(rng.uniform(np.log(1e5), np.log(2e7), balanced.sum() // legs)), legs)
    second = balanced & (np.arange(n) % legs == 1)
    notional[second] *= 1 - rng.uniform(0.01, 0.04, second.sum())
    equal = ~balanced & np.repeat(rng.random(count) < 1 / 3, legs)
    notional[equal] = np.repeat(notional[equal][::legs], legs)
    qty = np.where(inverse, notional, notional / entry)
    side = np.tile(np.resize([1.0, -1.0], legs), count)
    pos = PositionArrays(
        inverse=inverse, side=side, qty=qty, contracts=qty, entry=entry, mark=mark, table=table,
        tiers=TierTable.from_tiers(TABLES), by_contracts=np.zeros(n, dtype=bool),
        reported_tier=np.full(n, -1), taker=np.full(n, np.nan), leverage=np.full(n, np.nan),
        isolated=np.zeros(n, dtype=bool),
    )
    net = np.where(inverse, notional / entry, notional).reshape(count, legs).sum(axis=1)
    margin = net * np.where(balanced[::legs], 0.02, rng.uniform(-0.05, 0.6, count))  # some never liquidate
    return pos, np.arange(n).reshape(count, legs), margin


@pytest.mark.parametrize("legs", [2, 3])
def test_shared_leg_prices_when_many_groups_then_each_equals_the_one_group_solve_bit_for_bit(legs):
    pos, rows, margin = _groups(np.random.default_rng(20261201 + legs), 1500, legs)
    mmr_add = np.where(np.arange(pos.n) % 5 == 0, 0.0005, 0.0)
    liq, bankrupt = shared_leg_prices(pos, mmr_add, rows, margin)
    found = 0
    for g, idx in enumerate(rows):
        group = [
            Leg(int(pos.side[i]), float(pos.qty[i]), float(pos.entry[i]), TABLES[pos.table[i]], float(mmr_add[i]))
            for i in idx
        ]
        inverse, mark = bool(pos.inverse[idx[0]]), float(pos.mark[idx[0]])
        want = shared_liquidation_price(group, float(margin[g]), inverse, mark)
        assert _same(liq[g], want), (g, liq[g], want)
        assert _same(bankrupt[g], shared_bankruptcy_price(group, float(margin[g]), inverse, mark))
        found += want is not None
    assert 0 < found < len(rows)  # both outcomes were compared


@pytest.mark.parametrize("dtype", [object, "category"])
def test_liquidation_frame_when_hedge_groups_interleave_then_each_group_shares_its_own_price(dtype):
    """As object labels, or as a category column, whose integer codes are read instead of its labels."""
    pos, rows, margin = _groups(np.random.default_rng(7), 6, 2)
    order = np.array([0, 2, 4, 1, 6, 3, 8, 5, 10, 7, 9, 11])  # legs of a group sit apart
    labels = np.array(["g0", "g0", "g1", "g1", "g2", "g2", "g3", "g3", None, None, "solo", "g5"], dtype=object)
    symbols = [f"T{t}" for t in range(len(TABLES))]
    frame = pd.DataFrame(
        {
            "venue": np.where(pos.inverse, "binancecoinm", "binanceusdm"),
            "margin_mode": "cross",
            "symbol": np.array(symbols)[pos.table],
            "side": pos.side,
            "contracts": pos.qty,
            "contract_size": 1.0,
            "entry_price": pos.entry,
            "mark_price": pos.mark,
            "margin": np.repeat(margin, 2),
            "inverse": pos.inverse,
            "hedge_group": labels,
        }
    ).iloc[order]
    frame["hedge_group"] = frame["hedge_group"].astype(dtype)
    tiers = dict(zip(symbols, TABLES, strict=True))
    out = liquidation_frame(frame, tiers)
    alone = liquidation_frame(frame.drop(columns=["hedge_group"]), tiers)
    for g in range(4):
        idx = rows[g]
        group = [Leg(int(pos.side[i]), float(pos.qty[i]), float(pos.entry[i]), TABLES[pos.table[i]]) for i in idx]
        inverse, mark = bool(pos.inverse[idx[0]]), float(pos.mark[idx[0]])
        want = shared_liquidation_price(group, float(margin[g]), inverse, mark)
        for i in idx:
            assert _same(out["liquidation_price"].iloc[int(np.flatnonzero(order == i)[0])], want)
    for i in (8, 9, 10, 11):  # no label, or a label no other row shares: solved alone
        at = int(np.flatnonzero(order == i)[0])
        assert _same(out["liquidation_price"].iloc[at], alone["liquidation_price"].iloc[at])
    assert not out["liquidation_price"].equals(alone["liquidation_price"])
