"""The notional-per-hour and rejection-count kill switches tripping in a running daemon during the squeeze.

Each trip is checked where it shows: the emulator's own order log (what reached the venue), the audit store
(the trip, once, and the plans refused after it) and the worker (halted, still watching).
"""

from __future__ import annotations

from riskguard.execution.audit_store import EventKind
from tests.daemon.conftest import Rig, StartRig, until


def _trips(rig: Rig) -> list[str]:
    with rig.store() as store:
        return [e.message for e in store.events(kinds=(EventKind.STATE.value,)) if e.data.get("kill_switch")]


def _order_posts(rig: Rig) -> int:
    return sum(1 for r in rig.sim.requests if r.method == "POST" and r.path == "/fapi/v1/order")


async def test_notional_per_hour_trips_before_any_order_leaves(start_rig: StartRig) -> None:
    # The guarded short is 1 BTC at ~118k: any cut of it is worth more than 1,000 USDT.
    rig = await start_rig(daemon_yaml="  kill_switch: {max_notional_per_hour: 1000}\n")
    steps_at_trip = None
    while rig.sim.player.remaining:
        await rig.settle(await rig.step())
        if steps_at_trip is None and rig.worker().kill.tripped:
            steps_at_trip = rig.worker().steps
    await rig.stop()
    [trip] = _trips(rig)
    assert "max_notional_per_hour=1,000.00" in trip and "0.00 reduced in the last hour" in trip
    assert rig.emulator_orders() == [] and _order_posts(rig) == 0
    assert rig.worker().kill.tripped == trip
    assert steps_at_trip is not None and rig.worker().steps > steps_at_trip  # watching goes on, acting stops
    with rig.store() as store:
        assert store.orders() == []
        refused = [e for e in store.events(kinds=(EventKind.PLAN.value,)) if e.message.startswith("not executed")]
    assert refused and all("kill switch" in e.message for e in refused)


async def test_consecutive_rejections_halt_the_account(start_rig: StartRig) -> None:
    rig = await start_rig(daemon_yaml="  kill_switch: {max_rejections: 2, max_orders_per_minute: 100}\n")
    # Every order is refused by the venue (a 400 with a body, not a network failure: no lookup, no resend).
    await rig.admin("POST", "/__sim/faults", {"kind": "echo_request", "path": "/fapi/v1/order", "status": 400})
    posts_at_trip = None
    while rig.sim.player.remaining:
        await rig.settle(await rig.step())
        if posts_at_trip is None and rig.worker().kill.tripped:
            posts_at_trip = _order_posts(rig)
    await rig.stop()
    [trip] = _trips(rig)
    assert "2 consecutive rejection(s) reach max_rejections=2" in trip
    assert posts_at_trip == 2, posts_at_trip  # two real rejections: an order rejected once is never counted twice
    assert _order_posts(rig) == posts_at_trip  # the rest of the squeeze sent nothing more
    assert rig.emulator_orders() == []
    with rig.store() as store:
        states = {o.state.value for o in store.orders()}
    assert states == {"rejected"}


async def test_a_rejection_planned_again_counts_once(start_rig: StartRig) -> None:
    """After a rejection the account is read again.  Once the reads settle the same plan comes back: its order
    was decided ("already rejected"), so nothing is sent, counted, alerted or read again for it.  Counted again,
    re-plans added up to a trip on two real rejections; run again, each repeat asked for one more read, a loop
    of REST reads that never let the worker go idle."""
    rig = await start_rig(daemon_yaml="  kill_switch: {max_rejections: 3, max_orders_per_minute: 100}\n")
    await rig.admin("POST", "/__sim/faults", {"kind": "echo_request", "path": "/fapi/v1/order", "status": 400})
    worker = rig.worker()
    while _order_posts(rig) == 0:
        assert rig.sim.player.remaining, "the squeeze never made the daemon act"
        await rig.settle(await rig.step())
    for _ in range(4):  # read again and re-plan at the same mark
        steps = worker.steps
        worker.request_read("test: read again")
        await until(lambda s=steps: worker.steps > s and worker.idle.is_set(), what="a re-evaluation, then idle")
    await rig.stop()
    assert worker.kill.tripped is None and _trips(rig) == []
    # the streamed mark's plan, then the REST read's (its cut differs); every later read plans that one again
    assert _order_posts(rig) == 2
    with rig.store() as store:
        last = store.orders()[-1]
        executed = [e for e in store.events(kinds=(EventKind.PLAN.value,)) if e.message.startswith("executing")]
    assert last.state.value == "rejected"
    assert worker.live.evaluated is not None and worker.live.evaluated.plan is not None
    assert worker.live.evaluated.plan.content_hash == last.plan_hash  # the plan did come back
    assert len(executed) == 2  # and was not run again
