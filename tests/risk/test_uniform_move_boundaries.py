"""Uniform-move edges: an unknown pool still names its asset and size, a missing wallet is refused, the binding
direction on a tie, and a short pool worked by hand."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from test_uniform_move import bisect, pool

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
from riskguard.risk.tiers import TierTable
from riskguard.risk.uniform_move import (
    CrossPool,
    Direction,
    UniformMove,
    _first_root,
    pool_move,
    solve_uniform_move,
    uniform_moves,
)

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _venue(venue: str = "binanceusdm") -> VenueMarkets:
    tiers = (MarginTier(0, math.inf, 0.005),)
    return VenueMarkets(venue, {
        BTC: Market(venue, BTC, ContractKind.LINEAR, "USDT", 1.0, 0.1, 0.001, tiers),
        ETH: Market(venue, ETH, ContractKind.LINEAR, "USDT", 1.0, 0.01, 0.01, tiers),
    })


def _account(*positions: Position, balances: dict[str, float] | None = None, venue: str = "binanceusdm",
             fees: FeeRates | None = None) -> Account:
    wallets = {"USDT": 1_000.0} if balances is None else balances
    return Account("a", venue, {a: AssetBalance(a, w, w) for a, w in wallets.items()}, positions, fees,
                   AccountType.STANDARD)


def _pos(symbol: str = BTC, side: Side = Side.LONG, contracts: float = 1.0, price: float = 10_000.0) -> Position:
    return Position(symbol, side, contracts, price, price, MarginMode.CROSS)


@pytest.mark.parametrize("reuse", [False, True], ids=["built", "from_evaluate_account"])
def test_uniform_moves_when_the_cross_wallet_is_missing_then_unknown_naming_asset_and_positions(reuse):
    account = _account(_pos(), _pos(ETH, price=2_000.0), balances={"USDC": 5_000.0})
    solved = evaluate_account(account, _venue()).solved if reuse else None
    (move,) = uniform_moves(account, _venue(), solved)
    assert (move.asset, move.positions, move.reason) == ("USDT", 2, "no USDT balance for the cross account")
    assert not move.known and math.isnan(move.down_pct) and math.isnan(move.up_pct)


def test_uniform_moves_when_taker_fee_missing_on_okx_then_unknown_naming_the_pool():
    (move,) = uniform_moves(_account(_pos(), venue="okx"), _venue("okx"))
    assert (move.asset, move.positions) == ("USDT", 1)
    assert move.reason == "taker fee rate unavailable (the venue counts it in maintenance)"


def test_uniform_move_of_a_short_pool_by_hand():
    # short 1 BTC at 10 000, wallet 1 000, mmr 0.5 %: 1 000 − (P − 10 000) = 0.005 P  ⇒  P = 11 000/1.005
    (move,) = uniform_moves(_account(_pos(side=Side.SHORT)), _venue())
    assert move.known and move.positions == 1
    assert move.up_pct == pytest.approx((11_000 / 1.005 / 10_000 - 1) * 100, rel=1e-12)
    assert move.down_pct == math.inf
    assert move.binding_direction is Direction.UP and move.binding_pct == move.up_pct


def test_uniform_move_binding_direction_on_a_tie_is_down_and_the_pct_is_the_smaller():
    tie = UniformMove("USDT", 7.5, 7.5, 2)
    assert tie.binding_direction is Direction.DOWN and tie.binding_pct == 7.5
    up = UniformMove("USDT", 7.5, 7.4, 2)
    assert up.binding_direction is Direction.UP and up.binding_pct == 7.4
    assert up.known and not UniformMove("USDT", math.nan, math.nan, 2, "why").known


def test_uniform_moves_lists_one_figure_per_settle_asset_in_asset_order():
    usdc = Market("binanceusdm", "BTC/USDC:USDC", ContractKind.LINEAR, "USDC", 1.0, 0.1, 0.001,
                  (MarginTier(0, math.inf, 0.005),))
    venue = VenueMarkets("binanceusdm", {**_venue().markets, usdc.symbol: usdc})
    account = _account(_pos(), _pos(usdc.symbol), balances={"USDT": 1_000.0, "USDC": 2_000.0})
    moves = uniform_moves(account, venue)
    assert [(m.asset, m.positions) for m in moves] == [("USDC", 1), ("USDT", 1)]
    # USDC: 2 000 + (P − 10 000) = 0.005 P  ⇒  P = 8 000/0.995
    assert moves[0].down_pct == pytest.approx((1 - 8_000 / 0.995 / 10_000) * 100, rel=1e-12)


def _two_pool_venue(venue: str) -> VenueMarkets:
    tiers = (MarginTier(0, math.inf, 0.005),)
    usdc = Market(venue, "BTC/USDC:USDC", ContractKind.LINEAR, "USDC", 1.0, 0.1, 0.001, tiers)
    return VenueMarkets(venue, {**_venue(venue).markets, usdc.symbol: usdc})


def test_uniform_moves_when_the_first_pool_is_unknown_the_next_is_still_computed():
    # USDC sorts first and has no wallet; the USDT pool is whole: 1 000 + (P − 10 000) = 0.005 P
    account = _account(_pos("BTC/USDC:USDC"), _pos(), balances={"USDT": 1_000.0})
    unknown, known = uniform_moves(account, _two_pool_venue("binanceusdm"))
    assert (unknown.asset, unknown.known, known.asset) == ("USDC", False, "USDT")
    assert known.down_pct == pytest.approx((1 - 9_000 / 0.995 / 10_000) * 100, rel=1e-12)


def test_uniform_moves_when_the_taker_fee_is_missing_then_every_pool_is_reported_unknown():
    account = _account(_pos("BTC/USDC:USDC"), _pos(), balances={"USDT": 1_000.0, "USDC": 1_000.0}, venue="okx")
    moves = uniform_moves(account, _two_pool_venue("okx"))
    assert [(m.asset, m.positions, m.known) for m in moves] == [("USDC", 1, False), ("USDT", 1, False)]


def test_uniform_moves_when_bybit_leverage_is_missing_in_one_pool_then_only_that_pool_is_unknown():
    fees = FeeRates(0.0002, 0.00055)
    no_leverage = _pos("BTC/USDC:USDC")
    with_leverage = Position(BTC, Side.LONG, 1.0, 10_000.0, 10_000.0, MarginMode.CROSS, leverage=10.0)
    account = _account(no_leverage, with_leverage, balances={"USDT": 1_000.0, "USDC": 1_000.0}, venue="bybit",
                       fees=fees)
    account = Account(account.name, "bybit", account.balances, account.positions, fees, AccountType.UNIFIED)
    usdc, usdt = uniform_moves(account, _two_pool_venue("bybit"))
    assert (usdc.asset, usdc.positions) == ("USDC", 1)
    assert usdc.reason == "leverage unavailable (Bybit reserves the closing fee from it)"
    assert usdt.known and usdt.asset == "USDT"


def test_uniform_moves_when_the_taker_fee_is_zero_then_no_fee_counts():
    # OKX with a 0 taker rate: 1 000 + (P − 10 000) = 0.005 P, as on a venue without the fee term
    account = _account(_pos(), venue="okx", fees=FeeRates(0.0, 0.0))
    (move,) = uniform_moves(account, _venue("okx"))
    assert move.known
    assert move.down_pct == pytest.approx((1 - 9_000 / 0.995 / 10_000) * 100, rel=1e-12)


def test_pool_move_when_one_stretch_holds_two_roots_up_then_the_first_is_the_move():
    # a rise first loses on the inverse short, then gains on the linear long: the pool dips below maintenance
    # between two roots of one stretch, and the up move is the first of them (bisection on the trigger)
    p = pool(inverse=[0, 1], side=[1, -1], qty=[0.5, 1e9], entry=[30_000, 31_000], mark=[30_000, 31_000],
             wallet=3_000, table=[0, 0])
    move = pool_move(p, "BTC")
    assert move.up_pct == pytest.approx(bisect(p, Direction.UP) * 100, rel=1e-9)
    assert (move.asset, move.positions, move.reason) == ("BTC", 2, None)


def test_uniform_move_when_the_pool_is_worth_less_than_one_unit_then_the_root_is_still_found():
    # a dust account: wallet 0.2 USDT, short 0.001 BTC at 300. α = W + q·e = 0.5 and γ = 0 (no inverse position),
    # so the discriminant α² = 0.25 lies below 1 and α between 0 and 1.  0.2 − 0.001·(P − 300) = 0.005·0.001·P
    # ⇒ P = 0.5/0.001005, an up move of 0.5/0.3015 − 1 = 397/603
    (move,) = uniform_moves(_account(_pos(side=Side.SHORT, contracts=0.001, price=300.0),
                                     balances={"USDT": 0.2}), _venue())
    assert move.known
    assert move.up_pct == pytest.approx(float(Fraction(397, 603) * 100), rel=1e-12)  # 65.84 %
    assert move.down_pct == math.inf


def test_uniform_move_of_a_coin_settled_mixed_pool_when_the_discriminant_is_below_one():
    # settled in BTC: short 10 ETH/BTC (linear, tier 0.4 %) at 0.05 and long 1 000 USD of BTC/USD (inverse, tier
    # 0.5 %) at 50 000, wallet 0.1 BTC.  Margin left × t = β·t² + α·t + γ with α = 0.1 + 10·0.05 + 1 000/50 000
    # = 0.62, β = −10·0.05·1.004 = −0.502, γ = −(1 000/50 000)·1.005 = −0.0201: discriminant 0.3440392, between
    # 0 and 1.  Both roots lie in the first stretch (no size reaches a tier floor), worked out in 40 digits.
    p = pool(inverse=[0, 1], side=[-1, 1], qty=[10, 1_000], entry=[0.05, 50_000], mark=[0.05, 50_000], wallet=0.1,
             table=[0, 1])
    with localcontext() as ctx:
        ctx.prec = 40
        a, b, g = Decimal("0.62"), Decimal("-0.502"), Decimal("-0.0201")
        root = (a * a - 4 * b * g).sqrt()
        low, high = (-a + root) / (2 * b), (-a - root) / (2 * b)
    assert (float(low), float(high)) == pytest.approx((0.033318, 1.201742), abs=1e-6)
    assert solve_uniform_move(p, Direction.UP) == pytest.approx(float(high - 1), rel=1e-12)  # 20.17 %
    assert solve_uniform_move(p, Direction.DOWN) == pytest.approx(float(1 - low), rel=1e-12)  # 96.67 %


def test_uniform_move_when_the_pool_is_exactly_at_maintenance_then_both_moves_are_zero():
    # settled in BTC, both long: 1 ETH/BTC (linear, 0.4 %) from 0.04 marked 0.05 gains 0.01 and holds 0.05·0.4 %
    # = 0.0002; 2 000 USD of BTC/USD (inverse, 0.5 %) from 64 000 marked 40 000 loses 2 000/40 000 − 2 000/64 000
    # = 0.01875 and holds 0.05·0.5 % = 0.00025.  A wallet of 0.0092 leaves exactly 0 over maintenance, so the ratio
    # is 1: the move is 0 either way.  (The root at t = 1 rounds to just above 1, outside the down stretch [0.01, 1];
    # dropped, the search went on to the tier crossing at t = 0.01 and read a 99 % down move.)
    margin = Fraction("0.0092") + Fraction("0.01") - Fraction("0.01875") - Fraction("0.0002") - Fraction("0.00025")
    assert margin == 0
    p = pool(inverse=[0, 1], side=[1, 1], qty=[1, 2_000], entry=[0.04, 64_000], mark=[0.05, 40_000], wallet=0.0092,
             table=[0, 1])
    assert solve_uniform_move(p, Direction.DOWN) == pytest.approx(0.0, abs=1e-12)
    assert solve_uniform_move(p, Direction.UP) == pytest.approx(0.0, abs=1e-12)
    # a hair of margin more: the down move is that hair over the slope of the margin at t = 1, β − γ = 0.10005
    richer = pool(inverse=[0, 1], side=[1, 1], qty=[1, 2_000], entry=[0.04, 64_000], mark=[0.05, 40_000],
                  wallet=0.0092 + 1e-12, table=[0, 1])
    assert solve_uniform_move(richer, Direction.DOWN) == pytest.approx(1e-12 / 0.10005, rel=1e-3, abs=0)


def test_uniform_move_when_a_position_is_fully_collateralised_then_no_move_liquidates():
    # 1x: a linear long whose wallet is its entry value (α = W − q·e = 0, γ = 0) and an inverse short whose wallet
    # is its entry value in coin (α = W − q/e = 0, β = 0): equity − MM is q·P·(1 − 0.5 %) and (q/P)·(1 − 0.5 %),
    # positive at every price
    (long_move,) = uniform_moves(_account(_pos(), balances={"USDT": 10_000.0}), _venue())
    assert (long_move.down_pct, long_move.up_pct) == (math.inf, math.inf)
    short = pool(inverse=[1], side=[-1], qty=[50_000], entry=[50_000], mark=[50_000], wallet=1.0, table=[1])
    assert (solve_uniform_move(short, Direction.DOWN), solve_uniform_move(short, Direction.UP)) == (math.inf, math.inf)


def test_uniform_move_of_an_inverse_long_whose_margin_terms_add_to_one_coin():
    # wallet 0.5 BTC, long 25 000 USD at 50 000: α = 0.5 + 25 000/50 000 = 1, γ = −0.5·(1 + 0.5 %), β = 0.
    # 1 − 0.5025/t = 0  ⇒  t = 0.5025, a 49.75 % fall
    p = pool(inverse=[1], side=[1], qty=[25_000], entry=[50_000], mark=[50_000], wallet=0.5, table=[1])
    assert solve_uniform_move(p, Direction.DOWN) == pytest.approx(0.4975, rel=1e-12)
    assert solve_uniform_move(p, Direction.UP) == math.inf


def test_uniform_move_when_the_tier_is_pinned_at_the_first_then_a_crossing_does_not_move_it():
    # short 1 at 40 000, wallet 20 000, tier pinned at 0 (0.4 %, OKX/Bybit keep the tier they set): the notional
    # passes the 50 000 floor on the way up and the rate stays.  20 000 − (P − 40 000) = 0.004·P  ⇒  P = 60 000/1.004
    # (re-tiered by price it would be (60 000 + 50)/1.005)
    p = pool(inverse=[0], side=[-1], qty=[1], entry=[40_000], mark=[40_000], wallet=20_000, table=[0], fixed_tier=[0])
    assert solve_uniform_move(p, Direction.UP) == pytest.approx(1.5 / 1.004 - 1, rel=1e-12)


def test_uniform_move_of_a_mixed_pool_whose_linear_position_starts_above_the_first_tier():
    # long 2 BTC at 30 000 (60 000 notional: tier 1, 0.5 %, cum 50) beside a long of 1 000 USD of BTC/USD at 30 000
    # (inverse, 1/30 coin, 0.5 %), wallet 8 000.  The root lies above the crossing back to tier 0 (t = 5/6):
    # 59 700·t² + (8 000 − 60 000 + 50 + 1/30)·t − 1.005/30 = 0, worked out in 40 digits
    p = pool(inverse=[0, 1], side=[1, 1], qty=[2, 1_000], entry=[30_000, 30_000], mark=[30_000, 30_000],
             wallet=8_000, table=[0, 1])
    with localcontext() as ctx:
        ctx.prec = 40
        a, b, g = Decimal(-51_950) + Decimal(1) / 30, Decimal(59_700), -Decimal("1.005") / 30
        t = (-a + (a * a - 4 * b * g).sqrt()) / (2 * b)
    assert float(t) == pytest.approx(0.870184, abs=1e-6)
    assert solve_uniform_move(p, Direction.DOWN) == pytest.approx(float(1 - t), rel=1e-12)


@pytest.mark.parametrize(
    ("coefficients", "direction", "first"),
    [
        # t² − 1.3·t + 0.4 = (t − 0.5)(t − 0.8): going down from 1 the margin is gone first at 0.8
        ((-1.3, 1.0, 0.4), Direction.DOWN, 0.8),
        # 0.5·t² − 1.75·t + 1.5 = 0.5·(t − 1.5)(t − 2): going up the first is 1.5 (the stable form's q is exactly 1)
        ((-1.75, 0.5, 1.5), Direction.UP, 1.5),
    ],
)
def test_first_root_when_a_stretch_holds_two_roots_then_the_one_met_first(coefficients, direction, first):
    a, b, g = coefficients
    end = 0.0 if direction is Direction.DOWN else math.inf
    root = _first_root(np.array([a]), np.array([b]), np.array([g]), np.array([1.0]), np.array([end]), direction)
    assert root == pytest.approx(first, rel=1e-12)


def test_solve_uniform_move_when_the_pool_is_empty_then_no_move_liquidates_it():
    # nothing to move, whatever the wallet says (here already below zero)
    empty = pool(inverse=[], side=[], qty=[], entry=[], mark=[], wallet=-1.0, table=[])
    assert (solve_uniform_move(empty, Direction.DOWN), solve_uniform_move(empty, Direction.UP)) == (math.inf, math.inf)


def test_uniform_move_when_the_pinned_tier_is_past_the_table_then_the_last_tier():
    # short 1 at 40 000, wallet 20 000, pinned at tier 7 of a 4-tier table: the last (2.5 %, cum 16 300) holds.
    # 20 000 − (P − 40 000) = 0.025·P − 16 300  ⇒  P = 76 300/1.025
    p = pool(inverse=[0], side=[-1], qty=[1], entry=[40_000], mark=[40_000], wallet=20_000, table=[0], fixed_tier=[7])
    assert solve_uniform_move(p, Direction.UP) == pytest.approx(1.9075 / 1.025 - 1, rel=1e-12)


def _one_market_pool(tiers: list[MarginTier], **columns) -> CrossPool:
    n = len(columns["side"])
    kinds = {"inverse": bool, "fixed_tier": np.int64}
    arrays = {k: np.asarray(v, dtype=kinds.get(k, float)) for k, v in columns.items()}
    return CrossPool(tiers=TierTable.from_tiers([tiers]), table=np.zeros(n, dtype=np.int64),
                     mmr_add=np.zeros(n), **arrays)


def test_uniform_move_when_maintenance_is_fixed_at_entry_then_no_tier_is_read():
    # Bybit classic: MM 50 fixed at entry, whatever the price; one tier in the table.  1 000 + (P − 10 000) = 50
    p = _one_market_pool([MarginTier(0, math.inf, 0.005)], inverse=[0], side=[1], qty=[1], entry=[10_000],
                         mark=[10_000], fixed_tier=[-1], fixed_mm=[50.0], constant=1_000.0)
    assert solve_uniform_move(p, Direction.DOWN) == pytest.approx(0.095, rel=1e-12)


def test_uniform_move_when_the_table_has_two_tiers_then_the_crossing_counts():
    # long 2 at 30 000 (60 000: tier 1, 0.5 %, cum 50), wallet 15 000.  Below t = 5/6 it is back in tier 0 (0.4 %):
    # 15 000 + 2·(30 000·t − 30 000) = 0.004·60 000·t  ⇒  t = 45 000/59 760, under 5/6
    two = [MarginTier(0, 50_000, 0.004, 0), MarginTier(50_000, math.inf, 0.005, 50)]
    p = _one_market_pool(two, inverse=[0], side=[1], qty=[2], entry=[30_000], mark=[30_000], fixed_tier=[-1],
                         fixed_mm=[math.nan], constant=15_000.0)
    assert solve_uniform_move(p, Direction.DOWN) == pytest.approx(1 - 45_000 / 59_760, rel=1e-12)
