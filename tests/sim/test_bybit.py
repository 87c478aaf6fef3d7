"""Real ccxt ``bybit`` client against the emulator's Bybit v5 dialect."""

from __future__ import annotations

import ccxt.async_support as ccxt_async
import pytest
from ccxt.base import errors

from riskguard.sim.faults import Fault, FaultKind


async def _client(start_sim, connect, **config):
    sim = await start_sim("bybit")
    client = connect("bybit", sim, **config)
    await client.load_markets()
    return sim, client


async def test_load_markets_when_linear_and_inverse_then_both_categories_listed(start_sim, connect):
    _, client = await _client(start_sim, connect)
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USD:BTC"} <= set(client.markets)
    assert client.markets["BTC/USD:BTC"]["inverse"] is True
    assert client.markets["BTC/USDT:USDT"]["contractSize"] == 1


@pytest.mark.parametrize("params", [{}, {"subType": "inverse"}])
async def test_fetch_positions_when_open_then_numbers_and_liquidation_price_match_sim(start_sim, connect, params):
    sim, client = await _client(start_sim, connect)
    exchange = sim.player.exchange
    account = exchange.accounts["bybit-key"]
    positions = await client.fetch_positions(None, params)
    assert positions
    for parsed in positions:
        position = account.positions[(client.market(parsed["symbol"])["id"], "both")]
        instrument = exchange.instruments[position.symbol]
        assert parsed["contracts"] == pytest.approx(abs(position.size))
        assert parsed["side"] == position.side
        assert parsed["entryPrice"] == pytest.approx(position.entry)
        solver = exchange.liquidation_price(account, position)
        assert parsed["liquidationPrice"] == pytest.approx(instrument.round_price(solver))


async def test_fetch_balance_when_unified_then_wallet_per_coin(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    balance = await client.fetch_balance()
    summary = sim.player.exchange.margin_summary(sim.player.exchange.accounts["bybit-key"], "USDT")
    assert balance["USDT"]["total"] == pytest.approx(summary.wallet)
    assert balance["USDT"]["free"] == pytest.approx(summary.available)


async def test_fetch_tiers_when_risk_limit_then_mmr_and_caps_match_instrument(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    tiers = await client.fetch_market_leverage_tiers("BTC/USDT:USDT")
    expected = sim.player.exchange.instruments["BTCUSDT"].tiers
    assert [(t["maxNotional"], t["maintenanceMarginRate"]) for t in tiers] == [(t.cap, t.mmr) for t in expected]
    assert tiers[1]["info"]["mmDeduction"] == "1200"


async def test_public_data_when_fetched_then_book_funding_and_oi_parse(start_sim, connect):
    _, client = await _client(start_sim, connect)
    book = await client.fetch_order_book("BTC/USDT:USDT", 5)
    assert book["bids"][0][0] < 60_000 < book["asks"][0][0]
    funding = await client.fetch_funding_rate("BTC/USDT:USDT")
    assert funding["fundingRate"] == pytest.approx(0.0001) and funding["markPrice"] == 60_000
    assert len(await client.fetch_funding_rate_history("BTC/USDT:USDT", limit=3)) == 3
    assert (await client.fetch_open_interest("BTC/USDT:USDT"))["openInterestAmount"] > 0
    assert len(await client.fetch_ohlcv("BTC/USDT:USDT", "1h", limit=4)) == 4


async def test_reduce_only_when_reducing_then_fills_and_when_increasing_then_110017(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    await client.create_order("BTC/USDT:USDT", "market", "sell", 0.5, None, {"reduceOnly": True})
    account = sim.player.exchange.accounts["bybit-key"]
    assert account.positions[("BTCUSDT", "both")].size == pytest.approx(1.0)
    with pytest.raises(errors.InvalidOrder, match="110017"):
        await client.create_order("BTC/USDT:USDT", "market", "buy", 0.5, None, {"reduceOnly": True})
    with pytest.raises(errors.InvalidOrder, match="110017"):
        await client.create_order("BTC/USDT:USDT", "market", "sell", 2.0, None, {"reduceOnly": True})


async def test_stop_order_when_placed_then_listed_and_cancellable(start_sim, connect):
    _, client = await _client(start_sim, connect)
    order = await client.create_order("BTC/USDT:USDT", "market", "sell", 0.5, None,
                                      {"triggerPrice": 50_000, "triggerDirection": "descending",
                                       "reduceOnly": True, "triggerBy": "MarkPrice"})
    [listed] = await client.fetch_open_orders("BTC/USDT:USDT")
    assert (listed["id"], listed["triggerPrice"], listed["reduceOnly"]) == (order["id"], 50_000, True)
    await client.cancel_order(order["id"], "BTC/USDT:USDT")
    assert await client.fetch_open_orders("BTC/USDT:USDT") == []


async def test_hedge_mode_when_fetched_then_legs_by_position_idx(start_sim, connect):
    sim = await start_sim("bybit")
    client = connect("bybit", sim, sim.player.scenario.accounts[1])
    legs = {p["side"]: p for p in await client.fetch_positions(["BTC/USDT:USDT"])}
    assert legs["long"]["hedged"] and legs["long"]["contracts"] == 0.2 and legs["short"]["contracts"] == 0.1


async def test_private_call_when_secret_wrong_then_authentication_error(start_sim, connect):
    sim = await start_sim("bybit")
    client = connect("bybit", sim, secret="not-the-secret")
    with pytest.raises(errors.AuthenticationError, match="10004"):
        await client.fetch_positions()


@pytest.mark.parametrize(("fault", "error"), [
    (Fault(kind=FaultKind.RATE_LIMIT, count=1), errors.RateLimitExceeded),
    (Fault(kind=FaultKind.BANNED, count=1), errors.RateLimitExceeded),
    (Fault(kind=FaultKind.SERVER_ERROR, status=502, count=1), errors.ExchangeNotAvailable),
    (Fault(kind=FaultKind.TIMEOUT, hang_s=2, count=1), errors.RequestTimeout),
])
async def test_fault_when_armed_then_ccxt_raises_its_error(start_sim, connect, fault, error):
    sim, client = await _client(start_sim, connect, timeout=500)
    sim.player.faults.arm(fault)
    with pytest.raises(error):
        await client.fetch_positions()


async def test_malformed_json_when_armed_then_ccxt_reads_flat_so_connector_must_check(start_sim, connect):
    """ccxt does not raise on an unparseable 200 body: it parses the text as "no positions".

    This pins the hazard: a connector that trusts ``fetch_positions()`` here would see a flat
    account while it holds three positions, so it must validate the raw response itself.
    """
    sim, client = await _client(start_sim, connect)
    sim.player.faults.arm(Fault(kind=FaultKind.MALFORMED_JSON, path="/v5/position/list", count=1))
    assert await client.fetch_positions() == []
    assert not client.last_json_response
    assert len(await client.fetch_positions()) == 2


async def test_empty_liquidation_price_when_armed_then_ccxt_reports_none(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    sim.player.faults.arm(Fault(kind=FaultKind.EMPTY_LIQUIDATION_PRICE, count=1))
    positions = await client.fetch_positions()
    assert positions and all(p["liquidationPrice"] is None for p in positions)


def test_ccxt_urls_when_built_then_every_api_root_is_loopback():
    from riskguard.sim.wiring import ccxt_urls

    urls = ccxt_urls("bybit", "http://127.0.0.1:1")
    client = ccxt_async.bybit()
    assert set(urls["api"]) == set(client.urls["api"])
    assert all(u == "http://127.0.0.1:1" for u in urls["api"].values())
