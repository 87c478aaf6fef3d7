"""The notional-per-hour and rejection-count kill switches tripping in a running daemon during the squeeze.

Each trip is checked where it shows: the emulator's own order log (what reached the venue), the audit store
(the trip, once, and the plans refused after it) and the worker (halted, still watching).
"""

from __future__ import annotations

from riskguard.execution.audit_store import EventKind
from tests.daemon.conftest import Rig, StartRig


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
    assert posts_at_trip is not None and 1 <= posts_at_trip <= 2
    assert _order_posts(rig) == posts_at_trip  # the rest of the squeeze sent nothing more
    assert rig.emulator_orders() == []
    with rig.store() as store:
        states = {o.state.value for o in store.orders()}
    assert states == {"rejected"}
