"""Open stop orders through a real ccxt client, with the calls riskguard's recorder makes (docs/snapshot.md).

Each venue keeps conditional orders behind its own query; the emulator must answer those queries in the
venue's wire format, and only those, for the recorder to be trusted against the real venue.
"""

from __future__ import annotations

import dataclasses

import pytest
from ccxt.base import errors

from riskguard.sim.engine import OrderSpec
from riskguard.sim.venues import get_dialect

STOPS = {  # venue -> (native symbol, unified symbol, contracts, trigger below the default scenario's mark)
    "binanceusdm": ("BTCUSDT", "BTC/USDT:USDT", 0.5, 58_000.0),
    "binancecoinm": ("BTCUSD_PERP", "BTC/USD:BTC", 300.0, 58_000.0),
    "bybit": ("BTCUSDT", "BTC/USDT:USDT", 1.5, 55_000.0),
    "hyperliquid": ("BTC", "BTC/USDC:USDC", 2.0, 55_000.0),
}


async def _client_with_stop(start_sim, connect, venue: str):
    native, _, amount, trigger = STOPS[venue]
    default = get_dialect(venue).default_scenario()
    stop = OrderSpec(symbol=native, side="sell", amount=amount, trigger_price=trigger, reduce_only=True)
    account = dataclasses.replace(default.accounts[0], orders=(stop,))
    sim = await start_sim(venue, dataclasses.replace(default, accounts=(account, *default.accounts[1:])))
    client = connect(venue, sim, account)
    await client.load_markets()
    return sim, client


@pytest.mark.parametrize("venue", ["binanceusdm", "binancecoinm"])
async def test_binance_when_stop_rests_then_only_the_algo_order_query_lists_it(start_sim, connect, venue):
    _, symbol, amount, trigger = STOPS[venue]
    _, client = await _client_with_stop(start_sim, connect, venue)
    client.options["fetchOpenOrders"]["warnWithoutSymbol"] = False
    assert await client.fetch_open_orders() == []  # /openOrders: conditional orders moved to the Algo service
    (row,) = await client.fetch_open_orders(params={"trigger": True})
    assert (row["symbol"], row["side"], row["amount"], row["triggerPrice"], row["reduceOnly"]) == (
        symbol, "sell", amount, trigger, True)
    info = row["info"]
    assert (info["algoType"], info["orderType"], info["algoStatus"], info["positionSide"]) == (
        "CONDITIONAL", "STOP_MARKET", "NEW", "BOTH")
    assert info["closePosition"] is False and float(info["triggerPrice"]) == trigger


async def test_bybit_when_stop_rests_then_unfiltered_linear_query_lists_it_as_conditional(start_sim, connect):
    _, client = await _client_with_stop(start_sim, connect, "bybit")
    (row,) = await client.fetch_open_orders(params={"subType": "linear", "settleCoin": "USDT", "paginate": True})
    info = row["info"]
    assert (info["orderStatus"], info["stopOrderType"], info["triggerPrice"], info["qty"]) == (
        "Untriggered", "Stop", "55000", "1.5")
    assert info["reduceOnly"] is True and info["closeOnTrigger"] is False and info["positionIdx"] == 0
    assert await client.fetch_open_orders(params={"subType": "inverse", "baseCoin": "BTC"}) == []
    assert len(await client.fetch_open_orders(params={"settleCoin": "USDT", "orderFilter": "StopOrder"})) == 1
    assert await client.fetch_open_orders(params={"settleCoin": "USDT", "orderFilter": "Order"}) == []


async def test_bybit_when_linear_query_names_no_coin_then_refused_as_on_bybit(start_sim, connect):
    _, client = await _client_with_stop(start_sim, connect, "bybit")
    with pytest.raises(errors.BadRequest, match="10001"):
        await client.privateGetV5OrderRealtime({"category": "linear"})


async def test_hyperliquid_when_stop_rests_then_frontend_open_orders_say_trigger_and_condition(start_sim, connect):
    _, client = await _client_with_stop(start_sim, connect, "hyperliquid")
    (row,) = await client.fetch_open_orders()
    info = row["info"]
    assert (info["isTrigger"], info["triggerPx"], info["triggerCondition"], info["orderType"]) == (
        True, "55000", "Price below 55000", "Stop Market")
    assert (info["sz"], info["side"], info["isPositionTpsl"], info["tif"]) == ("2", "A", False, None)
    assert row["triggerPrice"] == 55_000.0 and row["reduceOnly"] is True


async def test_okx_when_conditional_stop_rests_then_only_the_conditional_algo_query_lists_it(start_sim, connect):
    sim = await start_sim("okx")
    client = connect("okx", sim)
    await client.load_markets()
    position = (await client.fetch_positions())[0]
    side = "sell" if position["side"] == "long" else "buy"
    trigger = round(position["markPrice"] * (0.95 if side == "sell" else 1.05), 1)
    await client.create_order(position["symbol"], "market", side, position["contracts"], None,
                              {"stopLossPrice": trigger, "reduceOnly": True, "marginMode": position["marginMode"]})
    conditional = await client.fetch_open_orders(params={"trigger": True, "ordType": "conditional,oco"})
    assert [o["info"]["slTriggerPx"] for o in conditional] == [f"{trigger:g}"]
    assert await client.fetch_open_orders(params={"trigger": True, "ordType": "trigger"}) == []
