"""Real ccxt clients (binanceusdm, binancecoinm) against the in-process emulator over loopback."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import ccxt
import pytest

from riskguard.sim import RunningSim, Scenario, ccxt_urls
from riskguard.sim.engine import AccountSpec, PositionSpec
from riskguard.sim.faults import Fault, FaultKind
from riskguard.sim.margin import MarginMode
from riskguard.sim.scenario import PathStep
from riskguard.sim.server import Received, request_rounds
from riskguard.sim.venues.binance import DEFAULT_API_KEY, DEFAULT_SECRET

VENUES = ["binanceusdm", "binancecoinm"]
BTC = {"binanceusdm": "BTC/USDT:USDT", "binancecoinm": "BTC/USD:BTC"}
BTC_ID = {"binanceusdm": "BTCUSDT", "binancecoinm": "BTCUSD_PERP"}
SETTLE = {"binanceusdm": "USDT", "binancecoinm": "BTC"}


async def admin(sim: RunningSim, method: str, path: str, body: object = None) -> dict:
    async with aiohttp.ClientSession() as session, session.request(method, sim.base_url + path, json=body) as r:
        return await r.json()


def btc_position(sim: RunningSim, venue: str):
    account = sim.player.exchange.accounts[DEFAULT_API_KEY]
    return account, account.positions[(BTC_ID[venue], "both")]


def test_ccxt_urls_when_built_then_every_api_root_is_loopback() -> None:
    urls = ccxt_urls("binanceusdm", "http://127.0.0.1:9")["api"]
    assert set(urls) >= {"fapiPublic", "fapiPrivateV3", "dapiPrivateV2", "fapiData", "sapi", "papi"}
    assert all(url.startswith("http://127.0.0.1:9/") for url in urls.values())
    assert urls["fapiPrivateV3"] == "http://127.0.0.1:9/fapi/v3"


@pytest.mark.parametrize("venue", VENUES)
async def test_load_markets_when_default_scenario_then_contracts_match_instruments(start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    markets = await connect(venue, sim).load_markets()
    market = markets[BTC[venue]]
    instrument = sim.player.exchange.instruments[BTC_ID[venue]]
    assert market["swap"] and market["inverse"] == instrument.inverse
    assert market["contractSize"] == instrument.contract_size
    assert market["precision"]["price"] == instrument.price_tick
    assert market["settle"] == instrument.settle


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_positions_when_default_scenario_then_numbers_equal_sim_and_solver(
        start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    positions = await connect(venue, sim).fetch_positions()
    exchange = sim.player.exchange
    account = exchange.accounts[DEFAULT_API_KEY]
    assert len(positions) == len(account.positions)
    for reported in positions:
        symbol_id = reported["info"]["symbol"]
        position = account.positions[(symbol_id, "both")]
        assert reported["contracts"] == abs(position.size)
        assert reported["side"] == position.side
        assert reported["entryPrice"] == pytest.approx(position.entry)
        assert reported["markPrice"] == exchange.marks[symbol_id]
        assert reported["marginMode"] == str(position.margin_mode)
        assert reported["unrealizedPnl"] == pytest.approx(exchange.unrealized_pnl_of(position), abs=1e-8)
        assert reported["liquidationPrice"] == pytest.approx(exchange.liquidation_price(account, position),
                                                             rel=1e-9)


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_balance_when_default_scenario_then_totals_are_margin_balances(start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    balance = await connect(venue, sim).fetch_balance()
    account = sim.player.exchange.accounts[DEFAULT_API_KEY]
    summary = sim.player.exchange.margin_summary(account, SETTLE[venue])
    assert balance[SETTLE[venue]]["total"] == pytest.approx(summary.margin_balance, abs=1e-8)
    assert balance[SETTLE[venue]]["free"] == pytest.approx(summary.available, abs=1e-8)
    assert balance[SETTLE[venue]]["used"] == pytest.approx(summary.initial, abs=1e-8)


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_leverage_tiers_when_asked_then_match_instrument_tiers(start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    tiers = (await connect(venue, sim).fetch_leverage_tiers())[BTC[venue]]
    expected = sim.player.exchange.instruments[BTC_ID[venue]].tiers
    assert [(t["minNotional"], t["maxNotional"], t["maintenanceMarginRate"], t["maxLeverage"]) for t in tiers] == [
        (t.floor, t.cap, t.mmr, t.max_leverage) for t in expected]
    assert [t["info"]["cum"] for t in tiers] == [t.cum for t in expected]


@pytest.mark.parametrize("venue", VENUES)
async def test_public_market_data_when_fetched_then_centred_on_mark(start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    client = connect(venue, sim)
    mark = sim.player.exchange.marks[BTC_ID[venue]]
    book = await client.fetch_order_book(BTC[venue], 10)
    assert len(book["bids"]) == 10 and book["bids"][0][0] < mark < book["asks"][0][0]
    funding = await client.fetch_funding_rate(BTC[venue])
    assert funding["markPrice"] == mark and funding["fundingRate"] == 0.0001
    history = await client.fetch_funding_rate_history(BTC[venue], limit=5)
    assert len(history) == 5 and history[-1]["timestamp"] <= time.time() * 1000
    interest = await client.fetch_open_interest(BTC[venue])
    assert interest["openInterestAmount"] == sim.player.exchange.instruments[BTC_ID[venue]].open_interest
    oi_history = await client.fetch_open_interest_history(BTC[venue], "1h", limit=4)
    assert len(oi_history) == 4
    candles = await client.fetch_ohlcv(BTC[venue], "1m", limit=3)
    assert candles[-1][4] == mark
    assert (await client.fetch_trading_fee(BTC[venue]))["taker"] == 0.0005


@pytest.mark.parametrize("venue", VENUES)
async def test_reduce_only_market_when_it_reduces_then_fills_and_position_shrinks(start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    _, before = btc_position(sim, venue)
    order = await connect(venue, sim).create_order(BTC[venue], "market", "sell", 100 if venue == "binancecoinm"
                                                   else 0.2, params={"reduceOnly": True})
    assert order["status"] == "closed"
    _, after = btc_position(sim, venue)
    assert after.size == pytest.approx(before.size - order["filled"])


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("side,amount", [("buy", 1.0), ("sell", 1000.0)], ids=["increase", "flip"])
async def test_reduce_only_market_when_it_would_increase_or_flip_then_rejected_with_2022(
        start_sim, connect, venue, side, amount) -> None:
    sim = await start_sim(venue)
    _, before = btc_position(sim, venue)
    with pytest.raises(ccxt.InvalidOrder, match="-2022"):
        await connect(venue, sim).create_order(BTC[venue], "market", side, amount, params={"reduceOnly": True})
    assert btc_position(sim, venue)[1] == before


@pytest.mark.parametrize("venue", VENUES)
async def test_stop_market_when_mark_crosses_trigger_then_triggers_and_closes(start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    client = connect(venue, sim)
    _, position = btc_position(sim, venue)
    stop = await client.create_order(BTC[venue], "market", "sell", abs(position.size),
                                     params={"triggerPrice": 58_000, "reduceOnly": True})
    assert stop["status"] == "open" and stop["triggerPrice"] == 58_000
    assert [o["id"] for o in await client.fetch_open_orders(BTC[venue], params={"trigger": True})] == [stop["id"]]
    await admin(sim, "POST", "/__sim/mark", {"symbol": BTC_ID[venue], "price": 57_990})
    assert await client.fetch_open_orders(BTC[venue], params={"trigger": True}) == []
    remaining = [p for p in await client.fetch_positions() if p["symbol"] == BTC[venue]]
    assert remaining == []


async def test_limit_order_when_resting_then_listed_and_cancellable(start_sim, connect) -> None:
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim)
    order = await client.create_order("ETH/USDT:USDT", "limit", "buy", 0.5, 2_500)
    assert order["status"] == "open"
    assert [o["id"] for o in await client.fetch_open_orders("ETH/USDT:USDT")] == [order["id"]]
    canceled = await client.cancel_order(order["id"], "ETH/USDT:USDT")
    assert canceled["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_order(order["id"], "ETH/USDT:USDT")


async def test_hedge_mode_when_switched_then_orders_go_to_legs(start_sim, connect) -> None:
    flat = Scenario(accounts=(AccountSpec(api_key="h", secret="hs", balances={"USDT": 50_000.0}),))
    sim = await start_sim("binanceusdm", flat)
    client = connect("binanceusdm", sim)
    await client.set_position_mode(True)
    assert (await client.fetch_position_mode())["hedged"] is True
    await client.set_leverage(5, "BTC/USDT:USDT")
    await client.create_order("BTC/USDT:USDT", "market", "buy", 0.1, params={"hedged": True})
    await client.create_order("BTC/USDT:USDT", "market", "sell", 0.05, params={"hedged": True})
    legs = {p["side"]: p for p in await client.fetch_positions()}
    assert (legs["long"]["contracts"], legs["short"]["contracts"]) == (0.1, 0.05)
    assert legs["long"]["hedged"]
    assert legs["long"]["initialMargin"] == pytest.approx(legs["long"]["notional"] / 5, rel=1e-6)  # v3: no leverage
    assert legs["long"]["liquidationPrice"] == legs["short"]["liquidationPrice"]


@pytest.mark.parametrize("venue", VENUES)
async def test_private_call_when_signature_is_bad_then_rejected_with_1022(start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    forged = AccountSpec(api_key=DEFAULT_API_KEY, secret="not-the-secret", balances={})
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        await connect(venue, sim, forged).fetch_balance()
    stranger = AccountSpec(api_key="who", secret=DEFAULT_SECRET, balances={})
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        await connect(venue, sim, stranger).fetch_positions()


async def test_mark_path_when_it_crosses_liquidation_price_then_position_is_liquidated(start_sim, connect) -> None:
    crash = Scenario(
        accounts=(AccountSpec(api_key="k", secret="s", balances={"USDT": 1_000.0}, positions=(
            PositionSpec(symbol="SOLUSDT", size=400.0, entry=150.0, leverage=20,
                         margin_mode=MarginMode.ISOLATED, isolated_margin=3_000.0),)),),
        path=(PathStep(marks={"SOLUSDT": 145.0}), PathStep(marks={"SOLUSDT": 144.0})),
    )
    sim = await start_sim("binanceusdm", crash)
    client = connect("binanceusdm", sim)
    liquidation_price = (await client.fetch_positions())[0]["liquidationPrice"]
    assert 144.0 < liquidation_price < 145.0
    assert (await admin(sim, "POST", "/__sim/step"))["liquidations"] == []
    assert len(await client.fetch_positions()) == 1
    step = await admin(sim, "POST", "/__sim/step")
    assert [(e["symbol"], e["price"]) for e in step["liquidations"]] == [("SOLUSDT", 144.0)]
    assert await client.fetch_positions() == []
    state = await admin(sim, "GET", "/__sim/state")
    assert state["accounts"]["k"]["positions"] == [] and len(state["liquidations"]) == 1


@pytest.mark.parametrize("kind,status,error", [
    (FaultKind.RATE_LIMIT, 429, ccxt.DDoSProtection),
    (FaultKind.BANNED, 418, ccxt.DDoSProtection),
    (FaultKind.SERVER_ERROR, 503, ccxt.ExchangeNotAvailable),
])
async def test_fault_when_armed_via_admin_then_ccxt_raises_mapped_error(start_sim, connect, kind, status,
                                                                         error) -> None:
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim)
    await client.load_markets()
    await admin(sim, "POST", "/__sim/faults", {"kind": kind, "path": "/fapi/v3/positionRisk", "count": 1,
                                               "status": status, "retry_after_s": 7})
    with pytest.raises(error, match=str(status)):
        await client.fetch_positions()
    assert len(await client.fetch_positions()) == 3  # count exhausted: back to normal


async def test_rate_limit_fault_when_hit_then_response_carries_retry_after(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    sim.player.faults.arm(Fault(kind=FaultKind.RATE_LIMIT, retry_after_s=9))
    async with aiohttp.ClientSession() as session, session.get(sim.base_url + "/fapi/v1/time") as response:
        assert (response.status, response.headers["Retry-After"]) == (429, "9")
        assert (await response.json())["code"] == -1003


async def test_malformed_json_fault_when_hit_then_ccxt_silently_returns_empty_data(start_sim, connect) -> None:
    """ccxt does not raise on a broken 200 body: it hands back the text and parses nothing from it.

    A connector must therefore check the raw response itself, or it reads "no positions" (fail-open).
    """
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim)
    await client.load_markets()
    sim.player.faults.arm(Fault(kind=FaultKind.MALFORMED_JSON, path="/fapi/v1/premiumIndex", count=1))
    mark = await client.fetch_mark_price("BTC/USDT:USDT")
    assert mark["markPrice"] is None and isinstance(mark["info"], str)
    sim.player.faults.arm(Fault(kind=FaultKind.MALFORMED_JSON, path="/fapi/v3/positionRisk", count=1))
    assert await client.fetch_positions() == []
    assert len(await client.fetch_positions()) == 3


async def test_timeout_fault_when_hang_exceeds_client_timeout_then_request_timeout(start_sim, connect) -> None:
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim, timeout=200)
    await client.load_markets()
    sim.player.faults.arm(Fault(kind=FaultKind.TIMEOUT, path="/fapi/v1/depth", hang_s=1.0, count=1))
    with pytest.raises(ccxt.RequestTimeout):
        await client.fetch_order_book("BTC/USDT:USDT")


async def test_latency_fault_when_armed_then_response_is_delayed(start_sim, connect) -> None:
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim)
    await client.load_markets()
    sim.player.faults.arm(Fault(kind=FaultKind.LATENCY, latency_ms=150, count=1))
    started = time.monotonic()
    await client.fetch_order_book("BTC/USDT:USDT")
    assert time.monotonic() - started >= 0.15


async def _held(start_sim, connect, count: int, hang_s: float):
    """A client with its markets loaded, the request log cleared and a hold fault armed."""
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim)
    await client.load_markets()
    sim.requests.clear()
    sim.player.faults.arm(Fault(kind=FaultKind.HOLD, count=count, hang_s=hang_s))
    return sim, client


async def test_hold_fault_when_requests_are_sent_side_by_side_then_answered_together_as_one_round(
        start_sim, connect) -> None:
    sim, client = await _held(start_sim, connect, count=2, hang_s=30)  # past the client's 3 s timeout

    books = await asyncio.gather(*(client.fetch_order_book(s) for s in ("BTC/USDT:USDT", "ETH/USDT:USDT")))

    assert [b["symbol"] for b in books] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert max(r.at_s for r in sim.requests) <= min(r.answered_s for r in sim.requests)
    assert request_rounds(sim.requests) == 1
    await client.fetch_order_book("BTC/USDT:USDT")  # the fault is used up: answered at once, a round later
    assert request_rounds(sim.requests) == 2


async def test_hold_fault_when_a_request_waits_for_an_answer_then_it_is_held_hang_s_and_counted_a_round_later(
        start_sim, connect) -> None:
    sim, client = await _held(start_sim, connect, count=3, hang_s=0.2)

    for symbol in ("BTC/USDT:USDT", "ETH/USDT:USDT"):
        await client.fetch_order_book(symbol)

    first, second = sim.requests
    assert first.answered_s - first.at_s >= 0.2 and second.at_s >= first.answered_s
    assert request_rounds(sim.requests) == 2


def test_request_rounds_when_requests_overlap_then_the_longest_chain_of_waits() -> None:
    def r(at_s: float, answered_s: float | None) -> Received:
        return Received(at_s, "GET", "/x", answered_s)

    assert request_rounds([]) == 0
    assert request_rounds([r(0, 5), r(1, 6), r(4.9, 7)]) == 1  # all in before the first answer
    assert request_rounds([r(0, 5), r(5, 6)]) == 2  # sent the moment the first was answered
    assert request_rounds([r(0, 1), r(2, 9), r(3, 4), r(5, 6), r(10, 11)]) == 4  # 0 → 3 → 5 → 10, not 0 → 2 → 10
    assert request_rounds([r(2, 3), r(0, 1)]) == 2  # by arrival, not by the log's order
    assert request_rounds([r(0, None), r(100, None)]) == 1  # still being answered: nobody waited on it


@pytest.mark.parametrize("venue", VENUES)
async def test_empty_liquidation_price_fault_when_hit_then_cross_reads_none_and_isolated_is_ccxt_guess(
        start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    client = connect(venue, sim)
    sim.player.faults.arm(Fault(kind=FaultKind.EMPTY_LIQUIDATION_PRICE))
    positions = await client.fetch_positions()
    assert positions and all(p["info"]["liquidationPrice"] == "" for p in positions)
    # Cross: ccxt has nothing to go on and reports None. Isolated: ccxt substitutes its own estimate,
    # which is not the venue's number (no maintenance amount), so it must not be trusted either.
    account = sim.player.exchange.accounts[DEFAULT_API_KEY]
    for reported in positions:
        position = account.positions[(reported["info"]["symbol"], "both")]
        if position.margin_mode is MarginMode.CROSS:
            assert reported["liquidationPrice"] is None
        else:
            assert reported["liquidationPrice"] != pytest.approx(
                sim.player.exchange.liquidation_price(account, position), rel=1e-6)


async def test_stale_timestamps_fault_when_hit_then_times_are_in_the_past(start_sim, connect) -> None:
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim)
    fresh = await client.fetch_positions()
    sim.player.faults.arm(Fault(kind=FaultKind.STALE_TIMESTAMPS, stale_ms=3_600_000))
    stale = await client.fetch_positions()
    assert [p["timestamp"] for p in stale] == [p["timestamp"] - 3_600_000 for p in fresh]
    mark = await client.fetch_mark_price("BTC/USDT:USDT")
    assert mark["timestamp"] < time.time() * 1000 - 3_000_000


async def test_stop_order_when_cancelled_then_gone_from_algo_orders(start_sim, connect) -> None:
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim)
    stop = await client.create_order("BTC/USDT:USDT", "market", "sell", 0.5,
                                     params={"triggerPrice": 55_000, "reduceOnly": True})
    canceled = await client.cancel_order(stop["id"], "BTC/USDT:USDT", params={"trigger": True})
    assert canceled["id"] == stop["id"]
    assert await client.fetch_open_orders("BTC/USDT:USDT", params={"trigger": True}) == []


async def test_margin_mode_when_position_open_then_refused_and_when_flat_then_switched(start_sim, connect) -> None:
    sim = await start_sim("binanceusdm")
    client = connect("binanceusdm", sim)
    with pytest.raises(ccxt.OperationRejected, match="-4048"):
        await client.set_margin_mode("isolated", "BTC/USDT:USDT")
    await client.create_order("BTC/USDT:USDT", "market", "sell", 0.5, params={"reduceOnly": True})
    await client.set_margin_mode("isolated", "BTC/USDT:USDT")
    account = sim.player.exchange.accounts[DEFAULT_API_KEY]
    assert sim.player.exchange.margin_mode_of(account, "BTCUSDT") is MarginMode.ISOLATED


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_ticker_when_mark_moved_then_last_and_change_follow(start_sim, connect, venue) -> None:
    sim = await start_sim(venue)
    client = connect(venue, sim)
    await admin(sim, "POST", "/__sim/mark", {"symbol": BTC_ID[venue], "price": 62_000})
    ticker = await client.fetch_ticker(BTC[venue])
    assert ticker["last"] == 62_000 and ticker["high"] == 62_000
    assert ticker["change"] == pytest.approx(750.0)
