"""Real ccxt ``okx`` client against the emulator's OKX v5 dialect."""

from __future__ import annotations

import pytest
from ccxt.base import errors

from riskguard.sim import Scenario
from riskguard.sim.engine import AccountSpec
from riskguard.sim.faults import Fault, FaultKind


async def _client(start_sim, connect, **config):
    sim = await start_sim("okx")
    client = connect("okx", sim, **config)
    await client.load_markets()
    return sim, client


async def test_fetch_positions_when_open_then_numbers_and_liquidation_price_match_sim(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    exchange = sim.player.exchange
    account = exchange.accounts["okx-key"]
    positions = await client.fetch_positions()
    assert len(positions) == 3
    for parsed in positions:
        position = account.positions[(client.market(parsed["symbol"])["id"], "both")]
        assert parsed["contracts"] == pytest.approx(abs(position.size))
        assert parsed["marginMode"] == str(position.margin_mode)
        assert parsed["maintenanceMargin"] == pytest.approx(exchange.maintenance_of(position))
        solver = exchange.liquidation_price(account, position)
        assert parsed["liquidationPrice"] == pytest.approx(exchange.instruments[position.symbol].round_price(solver))


async def test_markets_and_tiers_when_loaded_then_ctval_and_contract_tiers(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    assert client.markets["BTC/USDT:USDT"]["contractSize"] == 0.01
    assert client.markets["BTC/USD:BTC"]["inverse"] is True
    tiers = await client.fetch_market_leverage_tiers("BTC/USDT:USDT")
    expected = sim.player.exchange.instruments["BTC-USDT-SWAP"].tiers
    assert [(t["maxNotional"], t["maintenanceMarginRate"]) for t in tiers] == [(t.cap, t.mmr) for t in expected]


async def test_balance_fees_and_public_data_when_fetched_then_parse(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    summary = sim.player.exchange.margin_summary(sim.player.exchange.accounts["okx-key"], "USDT")
    assert (await client.fetch_balance())["USDT"]["total"] == pytest.approx(summary.margin_balance)
    assert (await client.fetch_trading_fee("BTC/USDT:USDT"))["taker"] == pytest.approx(0.0005)
    assert (await client.fetch_mark_price("BTC/USD:BTC"))["markPrice"] == 60_000
    book = await client.fetch_order_book("BTC/USDT:USDT", 5)
    assert book["bids"][0][0] < 60_000 < book["asks"][0][0]
    assert (await client.fetch_funding_rate("BTC/USDT:USDT"))["fundingRate"] == pytest.approx(0.0001)
    assert len(await client.fetch_funding_rate_history("BTC/USDT:USDT", limit=3)) == 3
    assert (await client.fetch_open_interest("BTC/USDT:USDT"))["openInterestAmount"] == 2_800_000
    assert len(await client.fetch_ohlcv("BTC/USDT:USDT", "1h", limit=4)) == 4


async def test_reduce_only_when_reducing_then_fills_and_when_increasing_then_51169(start_sim, connect):
    sim, client = await _client(start_sim, connect)
    await client.create_order("BTC/USDT:USDT", "market", "sell", 50, None, {"reduceOnly": True})
    assert sim.player.exchange.accounts["okx-key"].positions[("BTC-USDT-SWAP", "both")].size == 100
    for side, amount in (("buy", 10), ("sell", 500)):
        with pytest.raises(errors.ExchangeError, match="51169"):
            await client.create_order("BTC/USDT:USDT", "market", side, amount, None, {"reduceOnly": True})


async def test_orders_when_limit_and_stop_then_listed_and_cancellable(start_sim, connect):
    _, client = await _client(start_sim, connect)
    stop = await client.create_order("BTC/USDT:USDT", "market", "sell", 50, None,
                                     {"stopLossPrice": 50_000, "reduceOnly": True})
    [algo] = await client.fetch_open_orders("BTC/USDT:USDT", None, None, {"trigger": True, "ordType": "conditional"})
    assert algo["id"] == stop["id"]
    limit = await client.create_order("BTC/USDT:USDT", "limit", "buy", 1, 55_000)
    assert [o["id"] for o in await client.fetch_open_orders("BTC/USDT:USDT")] == [limit["id"]]
    await client.cancel_order(limit["id"], "BTC/USDT:USDT")
    assert await client.fetch_open_orders("BTC/USDT:USDT") == []


@pytest.mark.parametrize("override", [{"secret": "wrong"}, {"password": "wrong"}])
async def test_private_call_when_credentials_wrong_then_authentication_error(start_sim, connect, override):
    sim = await start_sim("okx")
    client = connect("okx", sim, **override)
    with pytest.raises(errors.AuthenticationError):
        await client.fetch_positions()


@pytest.mark.parametrize(("fault", "error"), [
    (Fault(kind=FaultKind.RATE_LIMIT, count=1), errors.RateLimitExceeded),
    (Fault(kind=FaultKind.SERVER_ERROR, status=503, count=1), errors.ExchangeNotAvailable),
    (Fault(kind=FaultKind.TIMEOUT, hang_s=2, count=1), errors.RequestTimeout),
])
async def test_fault_when_armed_then_ccxt_raises_its_error(start_sim, connect, fault, error):
    sim, client = await _client(start_sim, connect, timeout=500)
    sim.player.faults.arm(fault)
    with pytest.raises(error):
        await client.fetch_positions()


async def test_malformed_json_when_armed_then_ccxt_reads_flat(start_sim, connect):
    """As on Bybit: ccxt turns an unparseable body into "no positions" (the connector must catch it)."""
    sim, client = await _client(start_sim, connect)
    sim.player.faults.arm(Fault(kind=FaultKind.MALFORMED_JSON, path="/api/v5/account/positions", count=1))
    assert await client.fetch_positions() == []


async def test_empty_liquidation_price_when_armed_then_ccxt_substitutes_its_own_for_isolated(start_sim, connect):
    """With ``liqPx`` empty, ccxt derives an isolated position's liquidation price itself (from margin
    and mmr, fee-less), so the unified field is not the venue's number: read ``info.liqPx``."""
    sim, client = await _client(start_sim, connect)
    sim.player.faults.arm(Fault(kind=FaultKind.EMPTY_LIQUIDATION_PRICE, count=1))
    positions = {p["symbol"]: p for p in await client.fetch_positions()}
    assert all(p["info"]["liqPx"] == "" for p in positions.values())
    assert positions["BTC/USDT:USDT"]["liquidationPrice"] is None
    assert positions["ETH/USDT:USDT"]["liquidationPrice"] is not None


@pytest.mark.parametrize(("api_key", "hedged", "pos_mode"), [
    ("okx-key", False, "net_mode"),
    ("okx-hedge", True, "long_short_mode"),
])
async def test_fetch_position_mode_when_account_config_read_then_hedged_follows_the_account(
        start_sim, connect, api_key, hedged, pos_mode):
    """ccxt reads ``GET /api/v5/account/config`` (via ``fetch_accounts``) and says hedged for ``long_short_mode``."""
    sim = await start_sim("okx")
    account = next(a for a in sim.player.scenario.accounts if a.api_key == api_key)
    client = connect("okx", sim, account)
    mode = await client.fetch_position_mode()
    assert mode["hedged"] is hedged
    assert mode["info"]["posMode"] == pos_mode
    [config] = (await client.privateGetAccountConfig())["data"]
    assert config["acctLv"] == "2" and config["uid"] == config["mainUid"] and config["uid"].isdigit()
    assert config["autoLoan"] is False and config["settleCcyList"] == ["USD", "USDC", "USDG"]
    assert {"greeksType", "level", "levelTmp", "ctIsoMode", "mgnIsoMode", "perm", "type"} <= set(config)


async def test_fetch_position_mode_when_mode_switched_then_account_config_follows(start_sim, connect):
    flat = AccountSpec(api_key="okx-flat", secret="okx-flat-secret", passphrase="okx-flat-pass",
                       balances={"USDT": 1_000.0})
    sim = await start_sim("okx", Scenario(accounts=(flat,)))
    client = connect("okx", sim)
    assert (await client.fetch_position_mode())["hedged"] is False
    sim.player.exchange.set_position_mode(sim.player.exchange.accounts["okx-flat"], True)
    assert (await client.fetch_position_mode())["hedged"] is True


async def test_account_config_when_secret_wrong_then_authentication_error(start_sim, connect):
    sim = await start_sim("okx")
    with pytest.raises(errors.AuthenticationError):
        await connect("okx", sim, secret="wrong").fetch_position_mode()
