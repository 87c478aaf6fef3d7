"""The uniform adverse move of a cross pool, proven three independent ways.

* by hand: a single-tier pool has t* = (Σ side·q·e − W − Σ cum)/(Σ q·m·(side − mmr)), written out below;
* by bisection on the venue trigger (equity ≤ MM) evaluated with every mark moved, through
  riskguard.risk.stress, which shares none of the module's coefficient/tier-crossing code;
* against the per-position solver: a pool of one position moves exactly as far as its own buffer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.check import load_snapshot_accounts
from riskguard.config import bundled_snapshot
from riskguard.model import (
    Account,
    AccountType,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Position,
    Side,
    VenueMarkets,
)
from riskguard.risk.account_risk import evaluate_account
from riskguard.risk.solver import equity, maintenance_margin, solve_liquidation
from riskguard.risk.stress import StressAccount, stress
from riskguard.risk.tiers import TierTable
from riskguard.risk.uniform_move import CrossPool, Direction, solve_uniform_move, uniform_moves

BRACKETS = TierTable.from_tiers(
    [
        [  # Binance BTCUSDT-style: cum_n = cum_{n-1} + floor_n·(mmr_n − mmr_{n-1})
            MarginTier(0, 50_000, 0.004, 0),
            MarginTier(50_000, 250_000, 0.005, 50),
            MarginTier(250_000, 1_000_000, 0.01, 1_300),
            MarginTier(1_000_000, math.inf, 0.025, 16_300),
        ],
        [  # COIN-M style, tiers by coin quantity: 0.5 % to 5 BTC, 1 % to 20, 2.5 % beyond
            MarginTier(0, 5, 0.005, 0),
            MarginTier(5, 20, 0.01, 0.025),
            MarginTier(20, math.inf, 0.025, 0.325),
        ],
    ]
)


def pool(*, inverse, side, qty, entry, mark, wallet, table, fixed_tier=None, mmr_add=None, fixed_mm=None):
    n = len(side)
    return CrossPool(
        inverse=np.asarray(inverse, dtype=bool), side=np.asarray(side, dtype=float), qty=np.asarray(qty, float),
        entry=np.asarray(entry, float), mark=np.asarray(mark, float), tiers=BRACKETS,
        table=np.asarray(table, dtype=np.int64),
        fixed_tier=np.full(n, -1, dtype=np.int64) if fixed_tier is None else np.asarray(fixed_tier, np.int64),
        mmr_add=np.zeros(n) if mmr_add is None else np.asarray(mmr_add, float),
        fixed_mm=np.full(n, np.nan) if fixed_mm is None else np.asarray(fixed_mm, float),
        constant=float(wallet),
    )


def margin_left(p: CrossPool, move: float) -> float:
    """Equity − MM of the pool with every mark × (1 + move), through the stress module (no shared code)."""
    account = StressAccount.build(
        inverse=p.inverse, side=p.side, qty=p.qty, entry=p.entry, mark=p.mark, cross=np.ones(len(p.side), bool),
        isolated_margin=np.zeros(len(p.side)), cross_wallet=p.constant, tiers=p.tiers, table=p.table,
        fixed_tier=p.fixed_tier, mmr_add=p.mmr_add,
    )
    r = stress(account, [move])
    assert r.status == "ok", r.reason
    return float(r.margin_left[0, 0])


def bisect(p: CrossPool, direction: Direction, scan: int = 4000, cap: float = 20.0) -> float:
    """First x on a fine scan where margin_left ≤ 0, refined by 200 bisection steps; inf if none."""
    sign = -1.0 if direction is Direction.DOWN else 1.0
    top = 1.0 - 1e-12 if direction is Direction.DOWN else cap
    grid = np.linspace(0.0, top, scan)
    prev = 0.0
    for x in grid:
        if margin_left(p, sign * x) <= 0:
            lo, hi = prev, x
            break
        prev = x
    else:
        return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if margin_left(p, sign * mid) <= 0 else (mid, hi)
    return hi


def test_uniform_move_when_two_longs_single_tier_then_equals_hand_formula():
    # W = 10 000; long 0.5 @ 60 000 and long 10 @ 3 000, both at mark = entry, both 30 000 notional: tier 0
    # (0.4 %, cum 0) all the way down.  W + Σ q·(m·t − e) = Σ q·m·t·0.4 %  ⇒  t* = (60 000 − 10 000)/(60 000·0.996)
    p = pool(inverse=[0, 0], side=[1, 1], qty=[0.5, 10], entry=[60_000, 3_000], mark=[60_000, 3_000],
             wallet=10_000, table=[0, 0])
    assert solve_uniform_move(p, Direction.DOWN) == pytest.approx(1 - 50_000 / 59_760, rel=1e-13)  # 16.332 %
    assert solve_uniform_move(p, Direction.UP) == math.inf


def test_uniform_move_when_single_cross_position_then_equals_its_own_buffer():
    # One position: the pool's move is the position's distance from mark to its liquidation price.
    cases = [  # (inverse, side, qty, entry, mark, wallet, table)
        (False, 1, 20.0, 60_000.0, 58_000.0, 150_000.0, 0),  # linear long crossing 1 000 000 → 250 000 tiers
        (False, -1, 5.0, 60_000.0, 61_000.0, 40_000.0, 0),
        (True, 1, 1_000_000.0, 50_000.0, 52_000.0, 4.0, 1),  # inverse: size in coin, tiers by coin quantity
        (True, -1, 600_000.0, 50_000.0, 49_000.0, 3.0, 1),
    ]
    for inverse, side, qty, entry, mark, wallet, table in cases:
        p = pool(inverse=[inverse], side=[side], qty=[qty], entry=[entry], mark=[mark], wallet=wallet, table=[table])
        sol = solve_liquidation(inverse=np.array([inverse]), side=np.array([side]), qty=np.array([qty]),
                                entry=np.array([entry]), margin=np.array([wallet]), tiers=BRACKETS,
                                table=np.array([table]))
        liq = float(sol.liquidation_price[0])
        buffer = side * (mark - liq) / mark
        direction = Direction.DOWN if side > 0 else Direction.UP
        assert solve_uniform_move(p, direction) == pytest.approx(buffer, rel=1e-12), (inverse, side)
        other = Direction.UP if side > 0 else Direction.DOWN
        assert solve_uniform_move(p, other) == math.inf


@pytest.mark.parametrize(
    "case",
    [
        # linear longs across several tiers
        dict(inverse=[0, 0, 0], side=[1, 1, 1], qty=[15, 300, 4_000], entry=[60_000, 3_000, 150],
             mark=[62_000, 2_900, 140], wallet=300_000, table=[0, 0, 0]),
        # mixed long/short linear: both directions liquidate
        dict(inverse=[0, 0], side=[1, -1], qty=[20, 300], entry=[60_000, 3_000], mark=[60_500, 3_050],
             wallet=60_000, table=[0, 0]),
        # inverse pool, tiers by coin quantity
        dict(inverse=[1, 1], side=[1, -1], qty=[2_000_000, 300_000], entry=[50_000, 52_000],
             mark=[51_000, 51_000], wallet=8.0, table=[1, 1]),
        # pinned tiers and a fee in the rate (OKX)
        dict(inverse=[0, 0], side=[1, 1], qty=[20, 300], entry=[60_000, 3_000], mark=[60_000, 3_000],
             wallet=250_000, table=[0, 0], fixed_tier=[2, 1], mmr_add=[0.0005, 0.0005]),
        # linear and inverse in one pool (quadratic stretches)
        dict(inverse=[0, 1], side=[1, -1], qty=[0.5, 20_000], entry=[30_000, 31_000], mark=[30_000, 31_000],
             wallet=3_000, table=[0, 1]),
        dict(inverse=[0, 1], side=[-1, 1], qty=[0.5, 20_000], entry=[30_000, 31_000], mark=[30_000, 31_000],
             wallet=3_000, table=[0, 1]),
        # a rise first loses on the inverse short, then gains on the linear long: the pool dips below
        # maintenance between two roots of one stretch, and the first one is the move
        dict(inverse=[0, 1], side=[1, -1], qty=[0.5, 1e9], entry=[30_000, 31_000], mark=[30_000, 31_000],
             wallet=3_000, table=[0, 0]),
    ],
)
def test_uniform_move_when_pool_spans_tiers_then_matches_bisection_on_the_trigger(case):
    p = pool(**case)
    for direction in Direction:
        got = solve_uniform_move(p, direction)
        want = bisect(p, direction)
        if math.isinf(want):
            assert math.isinf(got), direction
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), direction


def test_uniform_move_when_mixed_account_then_up_move_binds():
    # Long 1 @ 60 000 and short 40 @ 3 000, both in tier 1 (0.5 %, cum 50) and staying there up to t = 2.08.
    # Up: 20 000 + 60 000·(t − 1) − 120 000·(t − 1) = 180 000·t·0.5 % − 100  ⇒  t = 80 100/60 900.
    # Down: the short's gain outruns the long's loss, so no fall liquidates the pool.
    p = pool(inverse=[0, 0], side=[1, -1], qty=[1, 40], entry=[60_000, 3_000], mark=[60_000, 3_000],
             wallet=20_000, table=[0, 0])
    assert solve_uniform_move(p, Direction.UP) == pytest.approx(80_100 / 60_900 - 1, rel=1e-12)
    assert solve_uniform_move(p, Direction.DOWN) == math.inf


def test_uniform_move_when_maintenance_taken_at_entry_then_only_pnl_moves():
    # Bybit classic: MM is fixed at entry; the pool is liquidated when W + Σ pnl = Σ fixed MM.
    p = pool(inverse=[0, 0], side=[1, 1], qty=[2, 10], entry=[60_000, 3_000], mark=[60_000, 3_000],
             wallet=20_000, table=[0, 0], fixed_mm=[600.0, 150.0])
    # 20 000 + 120 000·(t − 1) + 30 000·(t − 1) = 750 → t = 1 − 19 250/150 000
    assert solve_uniform_move(p, Direction.DOWN) == pytest.approx(19_250 / 150_000, rel=1e-13)


def test_uniform_move_when_already_at_maintenance_then_zero():
    # Long 1 @ 60 000, mark 50 000: MM = 50 000·0.5 % − 50 = 200 (tier 1); equity = W − 10 000.
    p = pool(inverse=[0], side=[1], qty=[1], entry=[60_000], mark=[50_000], wallet=10_201.0, table=[0])
    assert solve_uniform_move(p, Direction.DOWN) > 0
    for wallet in (10_200.0, 10_150.0):  # equity at, then below, maintenance: no move is needed either way
        p = pool(inverse=[0], side=[1], qty=[1], entry=[60_000], mark=[50_000], wallet=wallet, table=[0])
        assert solve_uniform_move(p, Direction.DOWN) == 0.0
        assert solve_uniform_move(p, Direction.UP) == 0.0


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 4),
    seed=st.integers(0, 10_000),
)
def test_uniform_move_property_margin_left_changes_sign_at_the_move(n, seed):
    """At the returned move the trigger fires and just before it it does not (independent evaluation)."""
    rng = np.random.default_rng(seed)
    inverse = np.zeros(n, bool)
    side = rng.choice([-1.0, 1.0], n)
    mark = rng.uniform(10, 70_000, n)
    qty = rng.uniform(1_000, 2_000_000, n) / mark
    entry = mark * rng.uniform(0.9, 1.1, n)
    notional = float((qty * mark).sum())
    p = pool(inverse=inverse, side=side, qty=qty, entry=entry, mark=mark, table=np.zeros(n, np.int64),
             wallet=notional * rng.uniform(0.03, 0.5) + float((side * qty * (entry - mark)).sum()))
    for direction in Direction:
        x = solve_uniform_move(p, direction)
        sign = -1.0 if direction is Direction.DOWN else 1.0
        if math.isinf(x):
            assert margin_left(p, sign * (0.999999 if sign < 0 else 50.0)) > 0
            continue
        if x > 0:
            assert margin_left(p, sign * x * (1 - 1e-9)) > 0
        assert margin_left(p, sign * x * (1 + 1e-9) + sign * 1e-15) <= 0


def test_uniform_move_on_paper_binance_cross_account_matches_bisection():
    """The paper account's cross pool: each position alone shows 17–19 %, together they fall 9.23 %."""
    (loaded,) = load_snapshot_accounts(bundled_snapshot("paper"), "binance-cross")
    account, venue = loaded.account, loaded.snapshot.venues[loaded.account.venue]
    (move,) = uniform_moves(account, venue)
    assert move.asset == "USDT" and move.known and move.positions == 2
    assert move.up_pct == math.inf and move.binding_direction is Direction.DOWN

    # Independent: every mark × (1 − x), the check's own cross terms at that price, bisected.
    positions = account.positions
    markets = [venue.markets[p.symbol] for p in positions]
    tiers = TierTable.from_tiers([m.tiers for m in markets])
    qty = np.array([p.contracts * m.contract_size for p, m in zip(positions, markets, strict=True)])
    side = np.array([p.side.sign for p in positions], dtype=float)
    entry = np.array([p.entry_price for p in positions])
    mark = np.array([p.mark_price for p in positions])
    wallet = account.balances["USDT"].cross_wallet
    inverse = np.zeros(len(positions), bool)

    def left(x: float) -> float:
        price = mark * (1 - x)
        mm, _ = maintenance_margin(inverse=inverse, qty=qty, price=price, tiers=tiers, table=np.arange(len(qty)))
        eq = equity(inverse=inverse, side=side, qty=qty, entry=entry, margin=np.zeros(len(qty)), price=price)
        return wallet + eq.sum() - mm.sum()

    lo, hi = 0.0, 0.5
    assert left(lo) > 0 > left(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if left(mid) <= 0 else (mid, hi)
    assert move.down_pct == pytest.approx(hi * 100, rel=1e-12)
    assert move.down_pct == pytest.approx(9.2313561146, abs=1e-9)


# -- from an account: the venue's own terms -------------------------------------------------------------------


BTC = "BTC/USDT:USDT"


def _account(venue: str, *positions: Position, wallet: float = 1_000.0, fees: FeeRates | None = None,
             account_type: AccountType = AccountType.STANDARD, mmr: float = 0.005):
    market = Market(venue, BTC, ContractKind.LINEAR, "USDT", 1.0, 0.1, 0.001, (MarginTier(0, math.inf, mmr),))
    eth = Market(venue, "ETH/USDT:USDT", ContractKind.LINEAR, "USDT", 1.0, 0.01, 0.01, (MarginTier(0, math.inf, mmr),))
    account = Account("a", venue, {"USDT": AssetBalance("USDT", wallet, wallet)}, positions, fees, account_type)
    return account, VenueMarkets(venue, {BTC: market, "ETH/USDT:USDT": eth})


def _moves(account, venue, reuse: bool):
    """The pool figures built from the account, or sliced from ``evaluate_account``'s arrays as `check` does."""
    return uniform_moves(account, venue, evaluate_account(account, venue).solved if reuse else None)


def _long(mode: MarginMode = MarginMode.CROSS, symbol: str = BTC, **kw) -> Position:
    return Position(symbol, Side.LONG, 1.0, 10_000.0, 10_000.0, mode,
                    isolated_margin=500.0 if mode is MarginMode.ISOLATED else None, **kw)


@pytest.mark.parametrize("reuse", [False, True], ids=["built", "from_evaluate_account"])
def test_uniform_moves_when_okx_then_taker_fee_counts_in_the_rate(reuse):
    # W + q·(P − e) = q·P·(mmr + fee)  ⇒  P = (e − W/q)/(1 − mmr − fee) = 9 000/0.9945
    account, venue = _account("okx", _long(), fees=FeeRates(0.0002, 0.0005))
    (move,) = _moves(account, venue, reuse)
    assert move.down_pct == pytest.approx((1 - 9_000 / 0.9945 / 10_000) * 100, rel=1e-12)


@pytest.mark.parametrize("reuse", [False, True], ids=["built", "from_evaluate_account"])
def test_uniform_moves_when_taker_fee_needed_but_missing_then_unknown_with_reason(reuse):
    account, venue = _account("okx", _long())
    (move,) = _moves(account, venue, reuse)
    assert not move.known and "taker fee" in (move.reason or "")
    assert math.isnan(move.down_pct) and math.isnan(move.up_pct)


@pytest.mark.parametrize("reuse", [False, True], ids=["built", "from_evaluate_account"])
def test_uniform_moves_when_bybit_classic_then_mm_at_entry_and_closing_fee_reserve(reuse):
    # MM fixed at entry: 10 000·0.5 % = 50; reserve = fee·V·(1 − 1/lev) = 0.00055·10 000·0.9 = 4.95.
    # 1 000 + (P − 10 000) = 50 + 4.95  ⇒  P = 9 054.95
    account, venue = _account("bybit", _long(leverage=10.0), fees=FeeRates(0.0002, 0.00055),
                              account_type=AccountType.CLASSIC)
    (move,) = _moves(account, venue, reuse)
    assert move.down_pct == pytest.approx((10_000 - 9_054.95) / 10_000 * 100, rel=1e-12)


@pytest.mark.parametrize("reuse", [False, True], ids=["built", "from_evaluate_account"])
def test_uniform_moves_when_bybit_leverage_missing_then_unknown(reuse):
    account, venue = _account("bybit", _long(), fees=FeeRates(0.0002, 0.00055), account_type=AccountType.UNIFIED)
    (move,) = _moves(account, venue, reuse)
    assert not move.known and "leverage" in (move.reason or "")


@pytest.mark.parametrize("reuse", [False, True], ids=["built", "from_evaluate_account"])
def test_uniform_moves_when_isolated_position_beside_the_pool_then_left_out(reuse):
    # The isolated ETH long has its own margin: only the cross BTC long moves the pool (P = 9 000/0.995).
    account, venue = _account("binanceusdm", _long(), _long(MarginMode.ISOLATED, symbol="ETH/USDT:USDT"))
    (move,) = _moves(account, venue, reuse)
    assert move.positions == 1
    assert move.down_pct == pytest.approx((1 - 9_000 / 0.995 / 10_000) * 100, rel=1e-12)


@pytest.mark.parametrize("reuse", [False, True], ids=["built", "from_evaluate_account"])
def test_uniform_moves_when_only_isolated_positions_then_no_pool(reuse):
    account, venue = _account("binanceusdm", _long(MarginMode.ISOLATED))
    assert _moves(account, venue, reuse) == ()


def test_uniform_moves_when_arrays_belong_to_another_account_then_ignored():
    # Row 0 of the other account is an ETH long: read as this account's BTC long it would move the pool.
    eth = Position("ETH/USDT:USDT", Side.LONG, 2.0, 3_000.0, 3_100.0, MarginMode.CROSS)
    other, venue = _account("binanceusdm", eth, _long())
    account, _ = _account("binanceusdm", _long())
    (move,) = uniform_moves(account, venue, evaluate_account(other, venue).solved)
    assert move.down_pct == pytest.approx((1 - 9_000 / 0.995 / 10_000) * 100, rel=1e-12)
