"""fetch_snapshot_doc against the in-process emulator: the real ccxt code path, venue by venue."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.snapshot_doc import read_snapshot, write_snapshot
from riskguard.errors import DataUnavailable
from riskguard.market_view import own_stops
from riskguard.model import Order, OrderSide
from riskguard.risk.account_risk import evaluate_account
from riskguard.sim import RunningSim
from riskguard.sim.engine import OrderSpec
from riskguard.sim.faults import Fault, FaultKind
from tests.connectors.conftest import VENUES, live_spec, scenario_for


def _sim_positions(sim: RunningSim) -> dict[tuple[str, str], dict]:
    account = next(iter(sim.player.exchange.snapshot()["accounts"].values()))
    return {(p["symbol"], "long" if p["size"] > 0 else "short"): p for p in account["positions"]}


def _market_ids(doc, venue: str) -> dict[str, str]:
    """The emulator's venue-native names: Hyperliquid's ccxt ids are asset indices, its names are coins."""
    key = "baseName" if venue == "hyperliquid" else "id"
    return {symbol: m[key] for symbol, m in doc.venues[venue].markets.items()}


_BYBIT = scenario_for("bybit").accounts[0].positions
SAME_MODEL = {
    "bybit": {"balances": {"USDT": 20_000.0}, "positions": (_BYBIT[0], _BYBIT[1])},
    "okx": {"balances": {"USDT": 15_000.0}},
}
"""Where the emulator's solver and riskguard's venue model describe an account differently, the account is one
both read alike: unified accounts pool every coin as collateral, while the emulator solves each settle coin alone
(see docs/connectors.md)."""


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_sim_account_then_positions_and_liquidation_prices_match_the_sim(start_sim, venue) -> None:
    changes = SAME_MODEL.get(venue)
    sim = await start_sim(venue, scenario_for(venue, **changes) if changes else None)
    expected = _sim_positions(sim)

    doc = await fetch_snapshot_doc(live_spec(venue, sim), now_ms=sim.player.exchange.now_ms())
    snapshot = build_snapshot(doc, "live")
    account = snapshot.accounts[0]
    risk = evaluate_account(account, snapshot.venues[venue])

    ids = _market_ids(doc, venue)
    got = {(ids[r.symbol], r.side): r for r in risk.positions}
    assert set(got) == set(expected)
    for key, pos in expected.items():
        r = got[key]
        contract_size = snapshot.venues[venue].markets[r.symbol].contract_size
        size = abs(pos["size"])
        assert math.isclose(r.contracts, size, rel_tol=1e-9) or math.isclose(r.contracts * contract_size, size)
        assert r.liquidation_price is not None
        gap_bp = abs(r.liquidation_price - pos["liquidation_price"]) / pos["liquidation_price"] * 1e4
        assert gap_bp < 1.0, f"{key}: computed {r.liquidation_price} vs sim {pos['liquidation_price']}"


STOP_TYPES = {"binanceusdm": "STOP_MARKET", "binancecoinm": "STOP_MARKET", "bybit": "Stop", "okx": "conditional",
              "hyperliquid": "Stop Market"}
"""What each venue calls the stop-market order the emulator rests."""
STOP_TRIGGER_FIELDS = {"binanceusdm": "triggerPrice", "binancecoinm": "triggerPrice", "bybit": "triggerPrice",
                       "okx": "slTriggerPx", "hyperliquid": "triggerPx"}


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_stop_rests_on_the_sim_then_it_is_in_the_document_and_the_positions_stop(start_sim, venue):
    first = scenario_for(venue).accounts[0].positions[0]  # a long on every venue's default scenario
    stop = OrderSpec(symbol=first.symbol, side="sell", amount=first.size, trigger_price=55_000.0, reduce_only=True)
    sim = await start_sim(venue, scenario_for(venue, orders=(stop,)))

    doc = await fetch_snapshot_doc(live_spec(venue, sim), now_ms=sim.player.exchange.now_ms())
    (row,) = doc.accounts[0].open_orders
    assert float(row["info"][STOP_TRIGGER_FIELDS[venue]]) == 55_000.0
    account = build_snapshot(doc, "live").accounts[0]
    symbol = {v: k for k, v in _market_ids(doc, venue).items()}[first.symbol]
    expected = Order(id="100000001", symbol=symbol, side=OrderSide.SELL, order_type=STOP_TYPES[venue],
                     amount=first.size, trigger_price=55_000.0, reduce_only=True,
                     timestamp_ms=account.open_orders[0].timestamp_ms)
    assert account.open_orders == (expected,)
    risk = evaluate_account(account, build_snapshot(doc, "live").venues[venue])
    (btc,) = [p for p in risk.positions if p.symbol == symbol]
    assert own_stops(btc, account.open_orders) == (expected,)


async def test_fetch_when_the_stop_order_read_fails_then_the_whole_read_fails_not_no_stops(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    sim.player.faults.arm(Fault(FaultKind.SERVER_ERROR, status=404, path="/fapi/v1/openAlgoOrders"))
    with pytest.raises(DataUnavailable, match=r"fetch_open_orders\(trigger=True\)"):
        await fetch_snapshot_doc(live_spec("binanceusdm", sim))


async def test_fetch_when_no_open_orders_then_recorded_as_empty_not_absent(start_sim) -> None:
    doc = await fetch_snapshot_doc(live_spec("hyperliquid", await start_sim("hyperliquid")))
    assert doc.accounts[0].open_orders == []


@pytest.mark.parametrize("venue", ["bybit", "okx"])
async def test_fetch_when_hedge_mode_account_then_settings_say_hedged(start_sim, venue) -> None:
    first = scenario_for(venue).accounts[0].positions[0]
    long_leg = dataclasses.replace(first, leg="long")
    sim = await start_sim(venue, scenario_for(venue, hedge_mode=True, positions=(long_leg,)))
    doc = await fetch_snapshot_doc(live_spec(venue, sim))
    assert doc.accounts[0].settings.hedge_mode is True


async def test_fetch_when_okx_hedge_account_holds_nothing_then_hedged_from_account_config(start_sim) -> None:
    """No position row to tell from: OKX's posMode (account/config) still says long_short_mode."""
    sim = await start_sim("okx", scenario_for("okx", hedge_mode=True, positions=()))
    doc = await fetch_snapshot_doc(live_spec("okx", sim))
    assert doc.accounts[0].positions == []
    assert doc.accounts[0].settings.hedge_mode is True
    assert any(r.path == "/api/v5/account/config" for r in sim.requests)


async def test_fetch_when_binance_dual_side_then_hedge_mode_from_position_mode_call(start_sim) -> None:
    sim = await start_sim("binanceusdm", scenario_for("binanceusdm", hedge_mode=True))
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim))
    assert doc.accounts[0].settings.hedge_mode is True
    one_way = await fetch_snapshot_doc(live_spec("binanceusdm", await start_sim("binanceusdm")))
    assert one_way.accounts[0].settings.hedge_mode is False


async def test_fetch_when_bybit_then_account_type_is_what_the_venue_says(start_sim) -> None:
    doc = await fetch_snapshot_doc(live_spec("bybit", await start_sim("bybit"), account_type="classic"))
    assert doc.accounts[0].settings.account_type == "unified"


async def test_recorded_snapshot_when_read_back_then_same_numbers_as_the_live_check(start_sim, tmp_path: Path) -> None:
    sim = await start_sim("binanceusdm")
    live = await fetch_snapshot_doc(live_spec("binanceusdm", sim))
    path = tmp_path / "out.json"
    write_snapshot(live, path)
    recorded = read_snapshot(path)

    def risk(doc):
        snapshot = build_snapshot(doc, "x")
        return evaluate_account(snapshot.accounts[0], snapshot.venues["binanceusdm"])

    assert recorded == live
    assert risk(recorded) == risk(live)


async def test_fetch_when_symbols_configured_then_their_market_data_is_read_too(start_sim) -> None:
    sim = await start_sim("binanceusdm", scenario_for("binanceusdm", positions=()))
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim, symbols=["BTC/USDT:USDT"]))
    venue = doc.venues["binanceusdm"]
    assert doc.accounts[0].positions == []
    assert set(venue.markets) == set(venue.tickers) == set(venue.order_books) == {"BTC/USDT:USDT"}
    assert venue.leverage_tiers["BTC/USDT:USDT"][0]["info"]["notionalCap"]
    assert venue.ohlcv["BTC/USDT:USDT"].timeframe == "1h" and venue.ohlcv["BTC/USDT:USDT"].rows
    assert venue.funding_history["BTC/USDT:USDT"] and venue.open_interest_history["BTC/USDT:USDT"]
    assert doc.accounts[0].trading_fees["BTC/USDT:USDT"]["taker"] == 0.0


async def test_fetch_when_venue_lacks_a_history_endpoint_then_document_says_it_is_unavailable(start_sim) -> None:
    """The emulated OKX serves no open-interest history (404): the series is absent and named, nothing else."""
    sim = await start_sim("okx")
    doc = await fetch_snapshot_doc(live_spec("okx", sim))
    venue = doc.venues["okx"]
    assert venue.open_interest_history == {}
    missing = venue.raw["unavailable"]
    assert len(missing) == len(venue.markets)
    assert all("fetch_open_interest_history" in m and "ExchangeNotAvailable" in m for m in missing)
    assert len(doc.accounts[0].positions) == 3
