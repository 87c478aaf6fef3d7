"""Uniform-move edges: an unknown pool still names its asset and size, a missing wallet is refused, the binding
direction on a tie, and a short pool worked by hand."""

from __future__ import annotations

import math

import pytest

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
from riskguard.risk.uniform_move import Direction, UniformMove, uniform_moves

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
