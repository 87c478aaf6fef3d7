"""The executor against the Binance USDⓈ-M emulator under each fault: nothing lost, nothing doubled.

Every test checks three records that must agree: the executor's report, the audit store, and the emulator's
own order book and request log.
"""

from __future__ import annotations

import pytest
from exec_support import create_requests, order, plan_of, scenario_for, sim_orders, sim_size, spec_for

from riskguard.execution.audit_store import AuditStore, OrderState
from riskguard.execution.executor import Executor
from riskguard.execution.venue_client import open_venue
from riskguard.execution.venue_orders import client_order_id
from riskguard.rules.plan import OrderKind
from riskguard.sim.engine import OrderRequest, OrderSpec, OrderStatus, OrderType, PositionSpec
from riskguard.sim.faults import Fault, FaultKind

VENUE = "binanceusdm"
SOL = "SOL/USDT:USDT"


def close_sol(amount: float = 100.0, left: float = 300.0):
    return plan_of(VENUE, [order(SOL, "sell", amount, contracts=400)], {(SOL, "long"): left})


async def execute(sim, store: AuditStore, plan, sleeps, timeout_s: float = 3.0):
    async with open_venue(spec_for(VENUE, sim, timeout_s)) as venue:
        return await Executor(venue, store, sleep=sleeps).execute(plan)


async def test_market_close_is_sent_once_and_verified(start_sim, store, sleeps) -> None:
    sim = await start_sim(VENUE)
    plan = close_sol()
    report = await execute(sim, store, plan, sleeps)
    cid = client_order_id(VENUE, plan.content_hash, 0)
    assert [(o.state, o.filled, o.sent) for o in report.orders] == [(OrderState.FILLED, 100.0, 1)]
    assert report.verified is True
    assert sim_size(sim, "SOLUSDT") == 300.0
    [placed] = sim_orders(sim, cid)
    assert (placed.reduce_only, placed.side, placed.amount, placed.status) == (True, "sell", 100.0, OrderStatus.FILLED)
    kinds = [e.kind for e in store.events(kinds=("intent", "request"))]
    assert kinds == ["intent", "request"]  # the intent is on disk before the request
    assert store.order(cid).state is OrderState.FILLED


@pytest.mark.parametrize("kind", [FaultKind.RATE_LIMIT, FaultKind.BANNED])
async def test_429_and_418_wait_retry_after_then_look_up_before_resending(start_sim, store, sleeps, kind) -> None:
    sim = await start_sim(VENUE)
    sim.player.faults.arm(Fault(kind=kind, path="/fapi/v1/order", count=1, retry_after_s=7))
    plan = close_sol()
    report = await execute(sim, store, plan, sleeps)
    cid = client_order_id(VENUE, plan.content_hash, 0)
    assert sleeps.waits == [7.0]  # the venue's Retry-After, honoured before anything else
    assert [(r.method, r.path) for r in sim.requests if r.path == "/fapi/v1/order"] == [
        ("POST", "/fapi/v1/order"), ("GET", "/fapi/v1/order"), ("POST", "/fapi/v1/order")]
    assert len(sim_orders(sim, cid)) == 1 and sim_size(sim, "SOLUSDT") == 300.0
    assert report.orders[0].state is OrderState.FILLED and report.verified is True
    states = [e.message for e in store.events(kinds=("state",)) if e.client_order_id == cid]
    assert states[0].startswith("intent → unknown: DDoSProtection")


async def test_5xx_is_an_unknown_outcome_resolved_by_lookup(start_sim, store, sleeps) -> None:
    sim = await start_sim(VENUE)
    sim.player.faults.arm(Fault(kind=FaultKind.SERVER_ERROR, path="/fapi/v1/order", count=2, status=503,
                                retry_after_s=3))
    plan = close_sol()
    report = await execute(sim, store, plan, sleeps)
    cid = client_order_id(VENUE, plan.content_hash, 0)
    # create → 503; lookup → 503 (still unknown); lookup → not found; create → filled
    assert len(sim_orders(sim, cid)) == 1 and sim_size(sim, "SOLUSDT") == 300.0
    assert create_requests(sim) == 2
    assert report.orders[0].state is OrderState.FILLED
    assert sleeps.waits == [3.0, 3.0]


async def test_timeout_with_the_order_placed_is_found_not_resent(start_sim, store, sleeps) -> None:
    sim = await start_sim(VENUE)
    sim.player.faults.arm(Fault(kind=FaultKind.LOST_RESPONSE, path="/fapi/v1/order", count=1, hang_s=1.5))
    plan = close_sol()
    report = await execute(sim, store, plan, sleeps, timeout_s=1.0)
    cid = client_order_id(VENUE, plan.content_hash, 0)
    assert create_requests(sim) == 1  # never resent
    [placed] = sim_orders(sim, cid)
    assert placed.status is OrderStatus.FILLED and sim_size(sim, "SOLUSDT") == 300.0
    assert (report.orders[0].state, report.orders[0].filled) == (OrderState.FILLED, 100.0)
    messages = [e.message for e in store.events() if e.client_order_id == cid]
    assert any(m.startswith("intent → unknown: RequestTimeout") for m in messages)
    assert "lookup by client id: found, closed" in messages
    assert report.verified is True


async def test_partial_fill_is_followed_to_completion(start_sim, store, sleeps) -> None:
    sim = await start_sim(VENUE)
    sim.player.faults.arm(Fault(kind=FaultKind.PARTIAL_FILL, path="/fapi/v1/order", count=1, fill_ratio=0.3))
    plan = close_sol()
    report = await execute(sim, store, plan, sleeps)
    first, rest = client_order_id(VENUE, plan.content_hash, 0), client_order_id(VENUE, plan.content_hash, 0, 1)
    [a], [b] = sim_orders(sim, first), sim_orders(sim, rest)
    assert (a.status, a.filled, b.status, b.filled) == (OrderStatus.EXPIRED, 30.0, OrderStatus.FILLED, 70.0)
    assert sim_size(sim, "SOLUSDT") == 300.0
    assert (report.orders[0].state, report.orders[0].filled, report.orders[0].sent) == (OrderState.FILLED, 100.0, 2)
    assert (store.order(first).state, store.order(rest).state) == (OrderState.PARTIAL, OrderState.FILLED)
    assert report.verified is True


async def test_reduce_only_rejection_is_final_and_never_flips(start_sim, store, sleeps) -> None:
    """The user closes most of the position by hand between riskguard's read and its send: the venue refuses
    the reduce-only close (-2022) instead of flipping the position short, and riskguard does not retry it."""
    sim = await start_sim(VENUE)
    exchange = sim.player.exchange
    account = exchange.accounts[sim.player.scenario.accounts[0].api_key]
    plan = plan_of(VENUE, [order(SOL, "sell", 400, contracts=400)], {})
    async with open_venue(spec_for(VENUE, sim)) as venue:
        real_create = venue.create

        async def hand_close_first(call):
            exchange.place_order(account, OrderRequest("SOLUSDT", "sell", OrderType.MARKET, 350, reduce_only=True))
            return await real_create(call)

        venue.create = hand_close_first  # type: ignore[method-assign]
        report = await Executor(venue, store, sleep=sleeps).execute(plan)
    cid = client_order_id(VENUE, plan.content_hash, 0)
    assert report.orders[0].state is OrderState.REJECTED and "-2022" in report.orders[0].message
    assert sim_orders(sim, cid) == [] and sim_size(sim, "SOLUSDT") == 50.0
    assert create_requests(sim) == 1
    assert store.order(cid).state is OrderState.REJECTED
    assert report.verified is False and report.mismatches == ["SOL/USDT:USDT long: plan expected 0 contracts, "
                                                              "venue has 50"]


async def test_open_reduce_only_orders_blocking_a_close_are_cancelled_first(start_sim, store, sleeps) -> None:
    """A full-size reduce-only take-profit makes Binance refuse the emergency close (-4118)."""
    scenario = scenario_for(VENUE, orders=(OrderSpec(symbol="SOLUSDT", side="sell", amount=400, price=170.0,
                                                     reduce_only=True),))
    sim = await start_sim(VENUE, scenario)
    [take_profit] = sim_orders(sim)
    plan = close_sol()
    report = await execute(sim, store, plan, sleeps)
    cid = client_order_id(VENUE, plan.content_hash, 0)
    assert sim_orders(sim)[0].status is OrderStatus.CANCELED and sim_orders(sim)[0].id == take_profit.id
    [placed] = sim_orders(sim, cid)
    assert placed.status is OrderStatus.FILLED and sim_size(sim, "SOLUSDT") == 300.0
    assert create_requests(sim) == 2  # refused once with -4118, sent once more after the cancel
    assert any("blocked by 1 open reduce-only order" in e.message for e in store.events(kinds=("state",)))
    assert report.orders[0].state is OrderState.FILLED


@pytest.mark.parametrize("crash_after_send", [False, True])
async def test_crash_between_intent_and_answer_never_doubles(start_sim, store, sleeps, crash_after_send) -> None:
    """The process dies after the intent is committed: before the send, or after the venue took the order but
    before the answer was recorded.  Re-running the same plan sends it (first case) or finds it (second)."""
    sim = await start_sim(VENUE)
    plan = close_sol()
    cid = client_order_id(VENUE, plan.content_hash, 0)
    async with open_venue(spec_for(VENUE, sim)) as venue:
        real_create = venue.create

        async def crash(call):
            if crash_after_send:
                await real_create(call)
            raise KeyboardInterrupt("killed")

        venue.create = crash  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            await Executor(venue, store, sleep=sleeps).execute(plan)
    assert store.order(cid).state is OrderState.INTENT
    assert len(sim_orders(sim, cid)) == (1 if crash_after_send else 0)
    for _ in range(2):  # the restart, and a third run for good measure
        report = await execute(sim, store, plan, sleeps)
        assert report.orders[0].state is OrderState.FILLED
    assert len(sim_orders(sim, cid)) == 1 and sim_size(sim, "SOLUSDT") == 300.0
    assert create_requests(sim) == 1
    assert store.order(cid).state is OrderState.FILLED


async def test_stop_ladder_goes_to_the_algo_service_and_stale_stops_are_cancelled(start_sim, store, sleeps) -> None:
    scenario = scenario_for(VENUE, orders=(OrderSpec(symbol="SOLUSDT", side="sell", amount=400, trigger_price=143.5,
                                                     reduce_only=True),))
    sim = await start_sim(VENUE, scenario)
    [stale] = sim_orders(sim)
    ladder = [order(SOL, "sell", 200, OrderKind.STOP_MARKET, contracts=400, trigger=145.123),
              order(SOL, "sell", 250, OrderKind.STOP_MARKET, contracts=400, trigger=144.5)]
    plan = plan_of(VENUE, [order(SOL, "sell", 400, OrderKind.CANCEL, order_id=str(stale.id)), *ladder],
                   {(SOL, "long"): 400})
    report = await execute(sim, store, plan, sleeps)
    assert [o.state for o in report.orders] == [OrderState.CANCELED, OrderState.SENT, OrderState.SENT]
    # the second stop would make the ladder hold 450 of a 400 position: capped at the 200 left
    assert [o.amount for o in report.orders[1:]] == [200.0, 200.0]
    assert sim_orders(sim)[0].status is OrderStatus.CANCELED
    open_stops = [o for o in sim_orders(sim) if o.status is OrderStatus.OPEN]
    assert [(o.type, o.amount, o.trigger_price, o.reduce_only) for o in open_stops] == [
        (OrderType.STOP_MARKET, 200.0, 145.12, True), (OrderType.STOP_MARKET, 200.0, 144.5, True)]
    assert create_requests(sim, "/algoOrder") == 2 and create_requests(sim, "/v1/order") == 0
    sim.player.exchange.set_mark("SOLUSDT", 145.0)  # the first stop fires on the mark
    assert sim_size(sim, "SOLUSDT") == 200.0


async def test_hedge_mode_names_the_leg_and_a_plan_naming_no_leg_is_refused(start_sim, store, sleeps) -> None:
    """Binance refuses reduceOnly in hedge mode; the leg is named (positionSide) and closing it is reduce-only."""
    legs = (PositionSpec(symbol="BTCUSDT", size=0.5, entry=62_000.0, leverage=20, leg="long"),
            PositionSpec(symbol="BTCUSDT", size=-0.3, entry=62_000.0, leverage=20, leg="short"))
    sim = await start_sim(VENUE, scenario_for(VENUE, hedge_mode=True, positions=legs))
    btc = "BTC/USDT:USDT"
    plan = plan_of(VENUE, [order(btc, "sell", 0.2, contracts=0.5, position_side="long"),
                           order(btc, "buy", 0.1, contracts=0.3, position_side="short"),
                           order(btc, "sell", 0.1, contracts=0.5)],  # names no leg: one-way reduceOnly
                   {(btc, "long"): 0.3, (btc, "short"): 0.2})
    report = await execute(sim, store, plan, sleeps)
    assert [o.state for o in report.orders] == [OrderState.FILLED, OrderState.FILLED, OrderState.REFUSED]
    assert report.orders[2].message == f"{btc}: the order names leg both, the position is on long"
    assert (sim_size(sim, "BTCUSDT", "long"), sim_size(sim, "BTCUSDT", "short")) == (pytest.approx(0.3),
                                                                                  pytest.approx(-0.2))
    assert create_requests(sim) == 2 and report.verified is True


async def test_stop_whose_answer_is_lost_is_found_on_the_algo_service(start_sim, store, sleeps) -> None:
    sim = await start_sim(VENUE)
    sim.player.faults.arm(Fault(kind=FaultKind.LOST_RESPONSE, path="/fapi/v1/algoOrder", count=1, hang_s=1.5))
    plan = plan_of(VENUE, [order(SOL, "sell", 150, OrderKind.STOP_MARKET, contracts=400, trigger=144.0)],
                   {(SOL, "long"): 400})
    report = await execute(sim, store, plan, sleeps, timeout_s=1.0)
    cid = client_order_id(VENUE, plan.content_hash, 0)
    assert create_requests(sim, "/algoOrder") == 1
    assert [r.path for r in sim.requests if r.method == "GET" and "algoOrder" in r.path] == ["/fapi/v1/algoOrder"]
    [stop] = sim_orders(sim, cid)
    assert (stop.status, stop.amount, stop.trigger_price) == (OrderStatus.OPEN, 150.0, 144.0)
    assert report.orders[0].state is OrderState.SENT and store.order(cid).state is OrderState.SENT


async def test_a_ban_longer_than_the_run_may_wait_leaves_the_order_unknown_then_resolves(start_sim, store,
                                                                                         sleeps) -> None:
    """418 with Retry-After 120: the run stops with the order unknown (never resent blindly); the next run looks
    it up first, finds it was not placed, and sends it once."""
    sim = await start_sim(VENUE)
    sim.player.faults.arm(Fault(kind=FaultKind.BANNED, path="/fapi/v1/order", count=1, retry_after_s=120))
    plan = close_sol()
    cid = client_order_id(VENUE, plan.content_hash, 0)
    first = await execute(sim, store, plan, sleeps)
    assert first.orders[0].state is OrderState.UNKNOWN and sleeps.waits == []
    assert first.errors == [f"{SOL}: the venue asks to wait 120 s; order {cid} is left unknown for a later run to "
                            "look up"]
    assert sim_orders(sim, cid) == [] and create_requests(sim) == 1
    second = await execute(sim, store, plan, sleeps)
    assert second.orders[0].state is OrderState.FILLED and second.errors == []
    assert len(sim_orders(sim, cid)) == 1 and create_requests(sim) == 2 and sim_size(sim, "SOLUSDT") == 300.0
    lookups = [r for r in sim.requests if r.method == "GET" and r.path == "/fapi/v1/order"]
    assert len(lookups) == 1  # the second run asked before it sent


async def test_amount_capped_at_the_fresh_position_and_rounded_down_to_the_step(start_sim, store, sleeps) -> None:
    """The plan asks for more than the position holds now (it shrank by hand since): capped at what is there;
    a fractional amount on a 1-contract step is rounded down, never up."""
    sim = await start_sim(VENUE)
    exchange = sim.player.exchange
    account = exchange.accounts[sim.player.scenario.accounts[0].api_key]
    exchange.place_order(account, OrderRequest("SOLUSDT", "sell", OrderType.MARKET, 150, reduce_only=True))
    plan = plan_of(VENUE, [order(SOL, "sell", 99.9, contracts=400), order(SOL, "sell", 400, contracts=400)], {})
    report = await execute(sim, store, plan, sleeps)
    assert [(o.state, o.amount) for o in report.orders] == [(OrderState.FILLED, 99.0), (OrderState.FILLED, 151.0)]
    assert sim_size(sim, "SOLUSDT") == 0.0 and report.verified is True


async def test_a_failed_listing_ends_that_order_only(start_sim, store, sleeps) -> None:
    sim = await start_sim(VENUE)
    sim.player.faults.arm(Fault(kind=FaultKind.SERVER_ERROR, path="/fapi/v1/openOrders", count=1))
    plan = plan_of(VENUE, [order(SOL, "sell", 400, OrderKind.CANCEL, order_id="123"),
                           order(SOL, "sell", 100, contracts=400)], {(SOL, "long"): 300})
    report = await execute(sim, store, plan, sleeps)
    assert [o.state for o in report.orders] == [OrderState.SKIPPED, OrderState.FILLED]
    assert len(report.errors) == 1 and report.errors[0].startswith("ExchangeNotAvailable")
    assert [e.kind for e in store.events(kinds=("error",))] == ["error"]
    assert sim_size(sim, "SOLUSDT") == 300.0


async def test_a_settled_plan_made_again_sends_reads_and_records_nothing(start_sim, store, sleeps) -> None:
    """The daemon makes the same plan on every tick until the position changes; once each of its orders is
    final in the audit store, running it again touches neither the venue nor the store."""
    sim = await start_sim(VENUE)
    plan = close_sol()
    first = await execute(sim, store, plan, sleeps)
    assert [(o.state, o.sent, o.repeated) for o in first.orders] == [(OrderState.FILLED, 1, False)]
    requests, events = len(sim.requests), len(store.events())
    again = await execute(sim, store, plan, sleeps)
    assert [(o.state, o.filled, o.sent, o.repeated) for o in again.orders] == [(OrderState.FILLED, 100.0, 0, True)]
    assert again.verified is None
    # the client opens its session (markets) but reads no position and writes nothing; the store is unchanged
    assert [r.path for r in list(sim.requests)[requests:] if "position" in r.path or r.path.endswith("/order")] == []
    assert len(store.events()) == events
    assert sim_size(sim, "SOLUSDT") == 300.0
