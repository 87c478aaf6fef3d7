"""Binance USDⓈ-M websocket streams of the emulator, read by real ccxt.pro clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import ccxt.pro as pro
import pytest

from riskguard.sim import RunningSim, serve
from riskguard.sim.streams import HUB, ccxt_pro_config

BTC = "BTC/USDT:USDT"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    running = await serve("binanceusdm")
    yield running
    await running.close()


@pytest.fixture
async def client(sim: RunningSim) -> AsyncIterator[Any]:
    account = sim.player.scenario.accounts[0]
    exchange = pro.binanceusdm({**ccxt_pro_config("binanceusdm", sim.base_url, account), "enableRateLimit": False})
    await exchange.load_markets()
    yield exchange
    await exchange.close()


async def _admin(sim: RunningSim, method: str, path: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession() as session, session.request(method, sim.base_url + path, json=body) as r:
        return await r.json()


async def _subscribed(sim: RunningSim, channel: str, count: int = 1) -> None:
    """Wait (event-driven, bounded) until ``count`` clients hold a ``channel`` stream with a subscription."""
    hub = sim.app[HUB]
    for _ in range(500):
        subs = [s for s in hub.subscribers if s.channel == channel and (channel == "private" or s.symbols)]
        if len(subs) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {channel} subscriber")


async def test_mark_price_stream_follows_admin_marks(sim: RunningSim, client: Any) -> None:
    first = asyncio.create_task(client.watch_mark_price(BTC))
    await _subscribed(sim, "public")
    await _admin(sim, "POST", "/__sim/mark", {"symbol": "BTCUSDT", "price": 63_123.4})
    ticker = await asyncio.wait_for(first, 5)
    assert ticker["markPrice"] == 63_123.4
    nxt = asyncio.create_task(client.watch_mark_price(BTC))
    await _admin(sim, "POST", "/__sim/mark", {"symbol": "BTCUSDT", "price": 63_200.0})
    assert (await asyncio.wait_for(nxt, 5))["markPrice"] == 63_200.0


async def test_user_stream_carries_position_and_order_changes(sim: RunningSim, client: Any) -> None:
    snapshot = await client.watch_positions()  # first call: ccxt's REST snapshot
    assert {p["symbol"]: p["contracts"] for p in snapshot}[BTC] == 0.5
    positions = asyncio.create_task(client.watch_positions())
    orders = asyncio.create_task(client.watch_orders())
    await _subscribed(sim, "private")
    placed = await client.create_order(BTC, "market", "sell", 0.2, None, {"reduceOnly": True,
                                                                           "clientOrderId": "rg-stream-1"})
    assert placed["filled"] == 0.2
    updated = {p["symbol"]: p for p in await asyncio.wait_for(positions, 5)}
    assert updated[BTC]["contracts"] == pytest.approx(0.3)
    seen = await asyncio.wait_for(orders, 5)
    assert [(o["clientOrderId"], o["status"], o["filled"], o["reduceOnly"]) for o in seen] == [
        ("rg-stream-1", "closed", 0.2, True)]


async def test_closed_position_is_pushed_with_zero_amount(sim: RunningSim, client: Any) -> None:
    await client.watch_positions()
    positions = asyncio.create_task(client.watch_positions())
    await _subscribed(sim, "private")
    await client.create_order(BTC, "market", "sell", 0.5, None, {"reduceOnly": True})
    updated = {p["symbol"]: p for p in await asyncio.wait_for(positions, 5)}
    assert updated[BTC]["contracts"] == 0
    account = sim.app[HUB].pushed[-1].body
    assert account["e"] == "ACCOUNT_UPDATE" and account["a"]["P"][0]["pa"] == "0"


async def test_drop_closes_the_socket_and_the_next_watch_redials(sim: RunningSim, client: Any) -> None:
    pending = asyncio.create_task(client.watch_mark_price(BTC))
    await _subscribed(sim, "public")
    await _admin(sim, "POST", "/__sim/streams/faults", {"kind": "drop", "channel": "public"})
    with pytest.raises(pro.NetworkError):
        await asyncio.wait_for(pending, 5)
    assert (await _admin(sim, "GET", "/__sim/streams"))["dropped"] == 1
    again = asyncio.create_task(client.watch_mark_price(BTC))
    await _subscribed(sim, "public")
    await _admin(sim, "POST", "/__sim/mark", {"symbol": "BTCUSDT", "price": 60_000.0})
    assert (await asyncio.wait_for(again, 5))["markPrice"] == 60_000.0


async def test_silence_swallows_events_while_the_socket_stays_open(sim: RunningSim, client: Any) -> None:
    pending = asyncio.create_task(client.watch_mark_price(BTC))
    await _subscribed(sim, "public")
    await _admin(sim, "POST", "/__sim/streams/faults", {"kind": "silence", "channel": "public", "count": 2})
    await _admin(sim, "POST", "/__sim/mark", {"symbol": "BTCUSDT", "price": 60_100.0})
    await _admin(sim, "POST", "/__sim/mark", {"symbol": "BTCUSDT", "price": 60_200.0})
    assert not pending.done()
    await _admin(sim, "POST", "/__sim/mark", {"symbol": "BTCUSDT", "price": 60_300.0})
    assert (await asyncio.wait_for(pending, 5))["markPrice"] == 60_300.0
    marks = [p.body["p"] for p in sim.app[HUB].pushed if p.topic == "mark"]
    assert marks == ["60300"]


async def test_duplicate_sends_the_same_event_twice(sim: RunningSim, client: Any) -> None:
    orders = asyncio.create_task(client.watch_orders())
    await _subscribed(sim, "private")
    await _admin(sim, "POST", "/__sim/streams/faults", {"kind": "duplicate", "channel": "private", "count": 1})
    await client.create_order(BTC, "market", "sell", 0.1, None, {"reduceOnly": True, "clientOrderId": "dup-1"})
    await asyncio.wait_for(orders, 5)
    pushed = [p.body for p in sim.app[HUB].pushed if p.topic == "order"]
    assert len(pushed) == 2 and pushed[0] == pushed[1] and pushed[0]["o"]["c"] == "dup-1"


async def test_unknown_listen_key_is_refused(sim: RunningSim) -> None:
    async with aiohttp.ClientSession() as session, session.get(sim.base_url + "/private/ws?listenKey=nope") as r:
        assert r.status == 400
        assert (await r.json())["code"] == -1125


async def test_bad_stream_fault_is_a_400(sim: RunningSim) -> None:
    async with aiohttp.ClientSession() as session, session.post(sim.base_url + "/__sim/streams/faults",
                                                                json={"kind": "explode"}) as r:
        assert r.status == 400
