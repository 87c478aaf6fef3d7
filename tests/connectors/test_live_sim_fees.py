"""The live ccxt path against the emulator with real taker fees and positions that span margin tiers.

``test_live_sim.py`` compares riskguard with the emulator on zero-fee accounts whose positions never leave
their tier, where a dropped fee term or a wrong tier rule cannot show.  Here every venue the emulator serves
holds one position that sits in one tier at the mark and is liquidated in another (OKX counts contracts, so
its position sits above tier 1), and the account pays the venue's real taker fee.  The emulator's instruments
carry the venue's rule where it has one: Bybit keeps the risk-limit tier of the current value and reserves the
fee to close, OKX adds the taker fee to the maintenance rate.  Its price comes from bisection
(``riskguard/sim/margin.py``), riskguard's from the closed form, both unrounded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.normalize import build_snapshot
from riskguard.risk.account_risk import evaluate_account
from riskguard.sim.engine import PositionSpec
from riskguard.sim.margin import MarginMode
from tests.connectors.conftest import live_spec, scenario_for


@dataclass(frozen=True)
class Spanning:
    taker: float
    position: PositionSpec
    balances: dict[str, float]
    instrument_rules: dict
    """Venue rules the emulator's first instrument needs (see the module doc)."""


CASES = {
    # BTCUSDT tiers 600k–3M at 0.65%, below 600k 0.5%: 12 BTC (735k) cross, liquidated near 48k (under 600k).
    "binanceusdm": Spanning(0.0005, PositionSpec("BTCUSDT", 12.0, 61_250.0, leverage=20), {"USDT": 160_000.0}, {}),
    # BTCUSD_PERP tiers in BTC (5/10/20): 4,000 × 100 USD is 6.5 BTC at 61,250, over 10 BTC at its liquidation.
    "binancecoinm": Spanning(
        0.0005,
        PositionSpec(
            "BTCUSD_PERP", 4_000.0, 61_250.0, leverage=5, margin_mode=MarginMode.ISOLATED, isolated_margin=3.6
        ),
        {"BTC": 10.0},
        {},
    ),
    # BTCUSDT risk limits 2M/4M: 40 BTC (2.4M, tier 2) keeps tier 2 down to a price where it is worth < 2M.
    "bybit": Spanning(
        0.00055,
        PositionSpec(
            "BTCUSDT", 40.0, 60_000.0, leverage=10, margin_mode=MarginMode.ISOLATED, isolated_margin=450_000.0
        ),
        {"USDT": 1_000_000.0},
        {"tier_at_mark": True},
    ),
    # BTC-USDT-SWAP tiers by contracts (20k/40k): 30,000 contracts of 0.01 BTC sit in tier 2, cross.
    "okx": Spanning(
        0.0005,
        PositionSpec("BTC-USDT-SWAP", 30_000.0, 60_000.0, leverage=10),
        {"USDT": 2_000_000.0},
        {"maintenance_fee_rate": 0.0005},
    ),
    # BTC tiers at 150M of value: 2,600 BTC (156M) isolated, liquidated below 150M.
    "hyperliquid": Spanning(
        0.00045,
        PositionSpec(
            "BTC", 2_600.0, 60_000.0, leverage=20, margin_mode=MarginMode.ISOLATED, isolated_margin=9_000_000.0
        ),
        {"USDC": 10_000_000.0},
        {},
    ),
}


def _scenario(venue: str):
    case = CASES[venue]
    base = scenario_for(venue, positions=(case.position,), balances=case.balances, hedge_mode=False)
    account = dataclasses.replace(base.accounts[0], taker_fee=case.taker, maker_fee=0.0002)  # zero in scenario_for
    scenario = dataclasses.replace(base, accounts=(account,))
    first = dataclasses.replace(scenario.instruments[0], **case.instrument_rules)
    assert first.symbol == case.position.symbol
    return dataclasses.replace(scenario, instruments=(first, *scenario.instruments[1:]))


@pytest.mark.parametrize("venue", sorted(CASES))
async def test_live_check_when_real_fees_and_position_spans_tiers_then_equals_the_emulator(start_sim, venue) -> None:
    sim = await start_sim(venue, _scenario(venue))
    exchange = sim.player.exchange
    [expected] = next(iter(exchange.snapshot()["accounts"].values()))["positions"]
    instrument = exchange.instruments[expected["symbol"]]
    mark = exchange.marks[expected["symbol"]]
    size, liquidation = expected["size"], expected["liquidation_price"]
    if instrument.tier_basis.value == "notional":
        assert instrument.tier_for(size, mark) != instrument.tier_for(size, liquidation), "the case must span tiers"
    else:
        assert instrument.tier_for(size, mark).floor > 0

    doc = await fetch_snapshot_doc(live_spec(venue, sim), now_ms=exchange.now_ms())
    snapshot = build_snapshot(doc, "live")
    account = snapshot.accounts[0]
    assert account.fees is not None and account.fees.taker == pytest.approx(CASES[venue].taker)
    risk = evaluate_account(account, snapshot.venues[venue])
    assert risk.missing == ()
    [position] = risk.positions
    assert position.liquidation_price_raw == pytest.approx(liquidation, rel=1e-9)
