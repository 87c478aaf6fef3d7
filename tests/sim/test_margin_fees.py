"""Bybit's closing-fee reserve in the emulator's own (bisection) liquidation solver.

Bybit (Unified Trading Account, isolated) holds an "estimated fee to close" in both IM and MM,
charged at the taker rate on the position's value at its bankruptcy price. The expected values here
come from Bybit's published formulas and worked examples, never from riskguard's risk layer.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from riskguard.sim.engine import AccountSpec, PositionSpec
from riskguard.sim.margin import (
    Exposure,
    Instrument,
    MarginMode,
    margin_surplus,
    solve_bankruptcy_price,
    solve_liquidation_price,
    tier_schedule,
)
from riskguard.sim.scenario import Scenario

TAKER = 0.00055


def _linear(symbol: str, tiers, fee: float | None = TAKER, tick: float = 0.01) -> Instrument:
    return Instrument(symbol, symbol.removesuffix("USDT"), "USDT", "USDT", inverse=False, contract_size=1.0,
                      price_tick=tick, amount_step=0.001, tiers=tiers, close_fee_rate=fee)


def _inverse(fee: float, tick: float = 0.5) -> Instrument:
    return Instrument("BTCUSD", "BTC", "USD", "BTC", inverse=True, contract_size=1.0, price_tick=tick,
                      amount_step=1.0, tiers=tier_schedule((1e12, 0.005, 100)), close_fee_rate=fee)


BTC = _linear("BTCUSDT", tier_schedule((2_000_000, 0.005, 100), (4_000_000, 0.0056, 90)))
ETH = _linear("ETHUSDT", tier_schedule((1_000_000, 0.01, 50), (2_000_000, 0.012, 40), (1e12, 0.02, 25)))


# -- Bybit's official worked examples ----------------------------------------------------------------

def test_uta_isolated_linear_long_official_example_with_fee() -> None:
    """Bybit, "Trading Rules: Liquidation Process (Unified Trading Account)", Isolated Margin tab:
    https://www.bybit.com/en/help-center/article/UTA-Trading-Rules-Liquidation-Process
    (numbers as quoted by two independent transcriptions of the page, see tests/risk/vectors/bybit.json,
    case bybit-uta-isolated-linear-long-extra-margin-fee).

    Long 1 BTC @ 40,000 USDT, 50x, 3,000 USDT extra margin added, MMR 0.5%, MM deduction 0, taker
    fee 0.055%. Estimated fee to close = 40,000 × (1 − 1/50) × 0.055% = 21.56; IM = 800 + 21.56 =
    821.56; MM = 40,000 × 0.5% − 0 + 21.56 = 221.56; liquidation price = 36,380.25 USDT.
    """
    fee_to_close = 40_000 * (1 - 1 / 50) * TAKER
    assert round(fee_to_close, 2) == 21.56
    initial_margin = 40_000 / 50 + fee_to_close
    assert round(initial_margin, 2) == 821.56
    assert round(40_000 * 0.005 - 0 + fee_to_close, 2) == 221.56
    position_margin = initial_margin + 3_000  # what the position holds: IM plus the extra margin

    solved = solve_liquidation_price(position_margin, [Exposure(BTC, 1.0, 40_000.0, 40_000.0)])

    assert solved is not None
    assert BTC.round_price(solved) == 36_380.25
    # Without the reserve the same margin would liquidate 20 USDT lower.
    fee_free = solve_liquidation_price(position_margin, [Exposure(replace(BTC, close_fee_rate=None), 1.0,
                                                                     40_000.0, 40_000.0)])
    assert fee_free is not None and BTC.round_price(fee_free) == 36_360.24


def test_uta_isolated_inverse_short_official_example_with_fee() -> None:
    """Same page, inverse example: short 30,000 USD of BTCUSD @ 60,000, 10x, no extra margin, MMR 0.5%,
    taker fee 0.055%: fee to close = 0.5 × (1 − 1/10) × 0.055% = 0.0002475 BTC, IM = 0.0502475 BTC,
    liquidation price = 30,000 × (1 − 0.5%) / (0.5 − 0.05) = 66,333.33.
    https://www.bybit.com/en/help-center/article/UTA-Trading-Rules-Liquidation-Process
    """
    fee_to_close = 30_000 / 60_000 * (1 - 1 / 10) * TAKER
    assert fee_to_close == pytest.approx(0.0002475, abs=1e-15)
    initial_margin = 30_000 / 60_000 / 10 + fee_to_close
    btcusd = _inverse(TAKER, tick=0.01)

    solved = solve_liquidation_price(initial_margin, [Exposure(btcusd, -30_000.0, 60_000.0, 60_000.0)])

    assert solved is not None and btcusd.round_price(solved) == 66_333.33


def test_bankruptcy_price_official_example_pays_the_closing_fee_from_the_balance() -> None:
    """Bybit, "How to calculate Liquidation Price (Inverse Contract)", cross example:
    https://help.bybit.com/hc/en-us/articles/360039261334
    Balance 0.5 BTC, long 10,000 contracts @ 8,000, taker 0.075%:
    Bankruptcy Price = 1.00075 × 10,000 / (10,000/8,000 + 0.5) = 5,718.57.
    (The page's liquidation price takes MM at the entry value, a legacy rule the emulator does not model.)
    """
    legacy = _inverse(0.00075)

    bankruptcy = solve_bankruptcy_price(0.5, [Exposure(legacy, 10_000.0, 8_000.0, 8_000.0)])

    assert bankruptcy is not None and round(bankruptcy, 2) == 5_718.57


# -- how far the reserve moves the liquidation price --------------------------------------------------

def _bybit_uta_isolated_lp(side: int, qty: float, entry: float, leverage: float, extra: float, mmr: float,
                           deduction: float, fee: float) -> float:
    """Bybit's published UTA isolated linear formula (same page as above)."""
    value = entry * qty
    if side > 0:
        return (value - value / leverage - extra / (1 - fee) - deduction) / (qty - qty * mmr)
    return (value + value / leverage + extra / (1 + fee) + deduction) / (qty + qty * mmr)


@pytest.mark.parametrize(("instrument", "side", "qty", "entry", "leverage", "extra", "mmr", "deduction"), [
    (BTC, +1, 1.5, 62_000.0, 25.0, 1_000.0, 0.005, 0.0),
    (ETH, -1, 400.0, 3_000.0, 20.0, 500.0, 0.012, 2_000.0),  # tier 2 at the liquidation price
])
def test_fee_term_moves_liquidation_price_toward_mark_by_expected_amount(
    instrument, side, qty, entry, leverage, extra, mmr, deduction
) -> None:
    value = qty * entry
    fee_to_close = value * (1 - side / leverage) * TAKER  # at the leverage's bankruptcy price
    position_margin = value / leverage + fee_to_close + extra
    exposure = Exposure(instrument, side * qty, entry, entry)
    expected = _bybit_uta_isolated_lp(side, qty, entry, leverage, extra, mmr, deduction, TAKER)
    # Fee-free: margin + side·Q·(P − EP) = Q·P·mmr − deduction, solved for P.
    expected_fee_free = (qty * entry - side * (position_margin + deduction)) / (qty * (1 - side * mmr))

    with_fee = solve_liquidation_price(position_margin, [exposure])
    without_fee = solve_liquidation_price(position_margin, [replace(exposure,
                                                                    instrument=replace(instrument,
                                                                                       close_fee_rate=None))])

    assert with_fee == pytest.approx(expected, rel=1e-11)
    assert without_fee == pytest.approx(expected_fee_free, rel=1e-11)
    shift = with_fee - without_fee
    assert shift == pytest.approx(expected - expected_fee_free, rel=1e-6)
    assert side * shift > 0  # toward the mark (= entry here): up for a long, down for a short
    # The shift is the closing fee at the bankruptcy price spread over the slope of equity − MM.
    bankruptcy = solve_bankruptcy_price(position_margin, [exposure])
    assert bankruptcy is not None
    assert shift == pytest.approx(side * TAKER * qty * bankruptcy / (qty * (1 - side * mmr)), rel=1e-6)


def test_margin_surplus_when_mark_at_solved_price_then_zero_so_liquidation_fires_there() -> None:
    exposure = Exposure(ETH, -400.0, 3_000.0, 3_000.0)
    margin = 60_000.0 + 1_400.0
    lp = solve_liquidation_price(margin, [exposure])
    assert lp is not None
    assert margin_surplus(margin, [replace(exposure, mark=lp * (1 - 1e-9))]) > 0
    assert margin_surplus(margin, [replace(exposure, mark=lp * (1 + 1e-9))]) < 0


def test_cross_pool_of_two_symbols_when_solved_then_surplus_vanishes_at_that_price() -> None:
    """Two symbols share the wallet: no single bankruptcy price, each fee is counted at its own price."""
    btc = Exposure(BTC, 1.5, 62_000.0, 60_000.0)
    eth = Exposure(ETH, -20.0, 3_100.0, 3_000.0)
    lp = solve_liquidation_price(8_000.0, [btc], [eth])
    assert lp is not None
    assert margin_surplus(8_000.0, [replace(btc, mark=lp), eth]) == pytest.approx(0.0, abs=1e-6)
    fee_free = solve_liquidation_price(8_000.0, [replace(btc, instrument=replace(BTC, close_fee_rate=None))],
                                       [replace(eth, instrument=replace(ETH, close_fee_rate=None))])
    assert fee_free is not None and lp > fee_free


def test_flat_hedge_when_fee_reserved_then_surplus_stays_finite() -> None:
    legs = [Exposure(BTC, 0.2, 60_000.0, 60_000.0), Exposure(BTC, -0.2, 61_000.0, 60_000.0)]
    assert solve_liquidation_price(5_000.0, legs) is None
    assert margin_surplus(5_000.0, legs) == pytest.approx(5_000.0 + 200.0 - 2 * 0.2 * 60_000 * (0.005 + TAKER))


# -- the Bybit dialect -----------------------------------------------------------------------------

SOL = Instrument("SOLUSDT", "SOL", "USDT", "USDT", inverse=False, contract_size=1.0, price_tick=0.01,
                 amount_step=0.1, min_amount=0.1,
                 tiers=tier_schedule((200_000, 0.01, 50), (800_000, 0.015, 33.33), (1e12, 0.025, 20)))


def _sol_short_scenario(**account: object) -> Scenario:
    """An isolated SOL short close to liquidation, like the paper Bybit account."""
    spec = AccountSpec(api_key="fee-key", secret="fee-secret", balances={"USDT": 18_000.0},
                       **{"taker_fee": TAKER, "maker_fee": 0.0002, **account},
                       positions=(PositionSpec("SOLUSDT", -800.0, 182.4, leverage=15,
                                               margin_mode=MarginMode.ISOLATED, isolated_margin=9_728.0),))
    return Scenario(instruments=(SOL,), marks={"SOLUSDT": 189.95}, accounts=(spec,))


async def test_bybit_dialect_when_isolated_short_then_reports_and_liquidates_at_fee_aware_price(
    start_sim, connect
) -> None:
    sim = await start_sim("bybit", _sol_short_scenario())
    client = connect("bybit", sim)
    [position] = await client.fetch_positions(["SOL/USDT:USDT"])
    # Bybit's own formula: the 9,728 USDT margin is IM at 15x (with its fee reserve) plus "extra".
    value = 800 * 182.4
    extra = 9_728.0 - (value / 15 + value * (1 + 1 / 15) * TAKER)
    expected = _bybit_uta_isolated_lp(-1, 800.0, 182.4, 15.0, extra, 0.01, 0.0, TAKER)

    assert position["liquidationPrice"] == SOL.round_price(expected) == 192.53
    exchange = sim.player.exchange
    assert exchange.instruments["SOLUSDT"].close_fee_rate == TAKER
    assert exchange.set_mark("SOLUSDT", 192.52) == []
    [liquidated] = exchange.set_mark("SOLUSDT", 192.53)
    assert liquidated.symbol == "SOLUSDT"


async def test_bybit_dialect_when_account_pays_no_fee_then_no_reserve(start_sim, connect) -> None:
    sim = await start_sim("bybit", _sol_short_scenario(taker_fee=0.0))
    [position] = await connect("bybit", sim).fetch_positions(["SOL/USDT:USDT"])
    assert position["liquidationPrice"] == SOL.round_price((9_728.0 + 800 * 182.4) / (800 * 1.01)) == 192.63


async def test_bybit_dialect_when_accounts_pay_different_fees_then_refuses_to_guess(start_sim) -> None:
    scenario = _sol_short_scenario()
    other = replace(scenario.accounts[0], api_key="other-key", taker_fee=0.0004)
    with pytest.raises(ValueError, match="different taker fees"):
        await start_sim("bybit", replace(scenario, accounts=(*scenario.accounts, other)))
    explicit = replace(scenario, instruments=(replace(SOL, close_fee_rate=TAKER),),
                       accounts=(*scenario.accounts, other))
    sim = await start_sim("bybit", explicit)
    assert sim.player.exchange.instruments["SOLUSDT"].close_fee_rate == TAKER


@pytest.mark.parametrize("venue", ["binanceusdm", "binancecoinm", "okx", "hyperliquid"])
async def test_other_venues_when_started_then_no_closing_fee_reserve(start_sim, venue) -> None:
    sim = await start_sim(venue)
    exchange = sim.player.exchange
    assert all(i.close_fee_rate is None for i in exchange.instruments.values())
