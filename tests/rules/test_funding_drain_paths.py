"""The buffer once funding is paid, on the accounts the quick re-solve hands to the full evaluation: Binance
hedge legs that share a price, a cross position without a balance, a Bybit position without its leverage, an
account without its fee rates; and mixed pools.  Each equals
``evaluate_account`` on the account with the funding paid (``MetricTable.paid_funding``), reading for reading."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from plan_factory import account, market, position

from riskguard.model import Account, AssetBalance, PositionSide, Quote, Side, VenueMarkets
from riskguard.risk.account_risk import PriceSource, evaluate_account
from riskguard.rules.metrics import MetricTable

BTC = market("BTC/USDT:USDT", 0.004)
ETH = market("ETH/USDT:USDT", 0.005, step=0.01, tick=0.01)
COIN = market("BTC/USD:BTC", 0.005, settle="BTC")


def _venue(*markets, rate: float = 0.0004) -> VenueMarkets:
    return VenueMarkets(markets[0].venue, {m.symbol: m for m in markets},
                        {m.symbol: Quote(1.0, None, funding_rate=rate) for m in markets})


def _expected(table: MetricTable, i: int) -> tuple[float | None, str | None]:
    paid = table.paid_funding()
    assert paid is not None
    r = evaluate_account(paid, table.venue).positions[i]
    if r.liquidation_source is PriceSource.NONE:
        return math.inf, None
    if r.buffer_pct is None:
        return None, f"LIQUIDATION_PRICE_UNAVAILABLE: {r.unavailable_reason or 'no inputs'}"
    return r.buffer_pct, None


def _hedged() -> Account:
    legs = (position(BTC.symbol, 0.3, 50_000, 49_000, leg=PositionSide.LONG),
            position(BTC.symbol, 0.1, 48_000, 49_000, side=Side.SHORT, leg=PositionSide.SHORT),
            position(ETH.symbol, 4.0, 3_000, 2_950))
    return account(*legs, wallet=4_000, hedge=True)


def _no_balance() -> Account:
    # the ETH position settles in USDT; the only balance is BTC: its price is the venue's, or unavailable
    return account(position(ETH.symbol, 4.0, 3_000, 2_950), wallet=1.0, asset="BTC")


def _without_leverage() -> Account:
    # Bybit reserves the closing fee from the leverage: without it the ETH price is unavailable
    return account(position(BTC.symbol, 0.2, 50_000, 49_500), position(ETH.symbol, 2.0, 3_100, 2_950, leverage=None),
                   wallet=3_000)


def _without_fees() -> Account:
    # Bybit and OKX count the taker fee in the requirement: without it no price is computed
    return account(position(BTC.symbol, 0.2, 50_000, 49_500), position(ETH.symbol, 2.0, 3_100, 2_950), taker=None,
                   wallet=3_000)


def _mixed_pools() -> Account:
    acct = account(position(BTC.symbol, 0.2, 50_000, 49_500), position(COIN.symbol, 300, 50_000, 49_500),
                   position(ETH.symbol, 3.0, 3_000, 2_950, side=Side.SHORT, isolated_margin=400.0), wallet=2_500)
    return Account(acct.name, acct.venue, {**acct.balances, "BTC": AssetBalance("BTC", 0.05, 0.05)}, acct.positions,
                   acct.fees)


@pytest.mark.parametrize("build", [_hedged, _no_balance, _without_leverage, _without_fees, _mixed_pools])
@pytest.mark.parametrize("rate", [0.0004, -0.0007, 0.01])
@pytest.mark.parametrize("venue_id", ["binanceusdm", "bybit", "okx"])
def test_buffer_after_funding_when_the_quick_path_hands_over_then_equals_the_full_evaluation(build, rate, venue_id):
    acct = replace(build(), venue=venue_id)
    venue = _venue(*(replace(m, venue=venue_id) for m in (BTC, ETH, COIN)), rate=rate)
    table = MetricTable(acct, venue, evaluate_account(acct, venue), None, 0)
    for i in range(len(acct.positions)):
        assert table.position("buffer_after_funding_pct", i) == _expected(table, i)


def test_buffer_after_funding_when_hedge_legs_share_a_price_then_the_legs_move_together():
    # Binance prices both legs of a cross hedge at one price; paying funding moves that price for both
    venue = _venue(BTC, ETH)
    acct = _hedged()
    table = MetricTable(acct, venue, evaluate_account(acct, venue), None, 0)
    now = evaluate_account(acct, venue).positions
    after = [table.position("buffer_after_funding_pct", i)[0] for i in range(2)]
    assert now[0].liquidation_price == now[1].liquidation_price
    assert after[0] is not None and after[1] is not None
    assert after[0] < now[0].buffer_pct and after[0] == _expected(table, 0)[0]
