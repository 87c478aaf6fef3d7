"""Real ccxt ``hyperliquid`` client against the emulator's Hyperliquid dialect."""

from __future__ import annotations

import pytest
from ccxt.base import errors

from riskguard.sim.faults import Fault, FaultKind


async def _client(start_sim, connect, private_key: str | None = None, **config):
    sim = await start_sim("hyperliquid")
    credentials = {"privateKey": private_key} if private_key else {}
    client = connect("hyperliquid", sim, **credentials, **config)
    await client.load_markets()
    return sim, client


async def test_fetch_positions_when_open_then_numbers_and_liquidation_price_match_sim(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    exchange = sim.player.exchange
    account = next(iter(exchange.accounts.values()))
    positions = await client.fetch_positions()
    assert len(positions) == 2
    for parsed in positions:
        position = account.positions[(parsed["info"]["position"]["coin"], "both")]
        assert parsed["contracts"] == pytest.approx(abs(position.size))
        assert parsed["marginMode"] == str(position.margin_mode)
        solver = exchange.liquidation_price(account, position)
        assert parsed["liquidationPrice"] == pytest.approx(exchange.instruments[position.symbol].round_price(solver))


async def test_isolated_position_when_fetched_then_raw_usd_is_margin_minus_szi_entry(start_sim, connect):
    _, client = await _client(start_sim, connect)
    eth = next(p for p in await client.fetch_positions() if p["symbol"] == "ETH/USDC:USDC")
    assert float(eth["info"]["position"]["leverage"]["rawUsd"]) == pytest.approx(4_425.0 + 15 * 2_950.0)


async def test_balance_meta_and_public_data_when_fetched_then_parse(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    account = next(iter(sim.player.exchange.accounts.values()))
    summary = sim.player.exchange.margin_summary(account, "USDC")
    assert (await client.fetch_balance())["USDC"]["total"] == pytest.approx(summary.margin_balance)
    meta = await client.publicPostInfo({"type": "meta"})
    assert meta["universe"][0]["maxLeverage"] == 40
    assert meta["marginTables"][0][1]["marginTiers"][1]["maxLeverage"] == 20
    book = await client.fetch_order_book("BTC/USDC:USDC")
    assert book["bids"][0][0] < 60_000 < book["asks"][0][0]
    assert (await client.fetch_funding_rate("BTC/USDC:USDC"))["fundingRate"] == pytest.approx(0.0001)
    assert (await client.fetch_funding_rate_history("BTC/USDC:USDC"))[-1]["fundingRate"] == pytest.approx(0.0001)
    assert (await client.fetch_open_interest("BTC/USDC:USDC"))["openInterestAmount"] == 31_000
    assert len(await client.fetch_ohlcv("BTC/USDC:USDC", "1h", limit=3)) == 3
    assert (await client.fetch_trading_fee("BTC/USDC:USDC"))["taker"] == pytest.approx(0.00045)


async def test_reduce_only_when_reducing_then_fills_and_when_increasing_then_invalid_order(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    await client.create_order("BTC/USDC:USDC", "market", "sell", 0.5, 60_000, {"reduceOnly": True})
    account = next(iter(sim.player.exchange.accounts.values()))
    assert account.positions[("BTC", "both")].size == pytest.approx(1.5)
    for side, amount in (("buy", 0.5), ("sell", 3.0)):
        with pytest.raises(errors.InvalidOrder, match="Reduce only order would increase position"):
            await client.create_order("BTC/USDC:USDC", "market", side, amount, 60_000, {"reduceOnly": True})


async def test_limit_order_when_resting_then_listed_and_cancellable(start_sim, connect):
    _, client = await _client(start_sim, connect)
    order = await client.create_order("BTC/USDC:USDC", "limit", "buy", 0.01, 50_000)
    assert [o["id"] for o in await client.fetch_open_orders()] == [order["id"]]
    await client.cancel_order(order["id"], "BTC/USDC:USDC")
    assert await client.fetch_open_orders() == []


async def test_action_when_signed_by_other_wallet_then_rejected(start_sim, connect):
    sim, client = await _client(start_sim, connect, private_key="0x" + "22" * 32)
    with pytest.raises(errors.InvalidOrder, match="does not exist"):
        await client.create_order("BTC/USDC:USDC", "limit", "buy", 0.01, 50_000)
    assert not next(iter(sim.player.exchange.accounts.values())).orders


@pytest.mark.parametrize(("fault", "error"), [
    (Fault(kind=FaultKind.RATE_LIMIT, count=1), errors.RateLimitExceeded),
    (Fault(kind=FaultKind.SERVER_ERROR, status=502, count=1), errors.ExchangeNotAvailable),
    (Fault(kind=FaultKind.TIMEOUT, hang_s=2, count=1), errors.RequestTimeout),
])
async def test_fault_when_armed_then_ccxt_raises_its_error(start_sim, connect, fault, error):
    sim, client = await _client(start_sim, connect, timeout=500)
    sim.player.faults.arm(fault)
    with pytest.raises(error):
        await client.fetch_positions()


async def test_malformed_json_when_armed_then_ccxt_reads_flat(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    sim.player.faults.arm(Fault(kind=FaultKind.MALFORMED_JSON, path="/info", count=1))
    assert await client.fetch_positions() == []


async def test_empty_liquidation_price_when_armed_then_ccxt_reports_none(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    sim.player.faults.arm(Fault(kind=FaultKind.EMPTY_LIQUIDATION_PRICE, count=1))
    assert all(p["liquidationPrice"] is None for p in await client.fetch_positions())
