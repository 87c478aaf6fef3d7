"""Websocket drop, silence and duplicated events during the squeeze: nothing lost, nothing doubled.

Each run checks the emulator's own order log (one order per client id), the audit store (each of those orders
once, filled as the emulator says), and that the guarded account was never liquidated.
"""

from __future__ import annotations

from collections import Counter

import pytest

from riskguard.daemon.rehearsal import streaming
from riskguard.execution.audit_store import EventKind, OrderState
from riskguard.sim.streams import HUB
from tests.daemon.conftest import Rig, StartRig, until


def _exactly_once(rig: Rig) -> None:
    orders = rig.emulator_orders()
    assert orders, "the daemon never acted"
    assert max(Counter(o.client_id for o in orders).values()) == 1
    with rig.store() as store:
        recorded = {r.client_order_id: r for r in store.orders()}
    assert {o.client_id for o in orders} <= set(recorded)
    for o in orders:
        assert recorded[o.client_id].state is OrderState.FILLED
        assert recorded[o.client_id].filled == pytest.approx(o.filled)
    assert "guarded-key" not in {e.api_key for e in rig.exchange.liquidations}
    assert rig.exchange.accounts["guarded-key"].positions


async def test_dropped_streams_are_reconciled_by_rest_before_acting(start_rig: StartRig) -> None:
    rig = await start_rig()
    worker = rig.worker()
    errors_before = len([e for e in rig.store().events(kinds=("error",)) if "stream error" in e.message])
    await rig.admin("POST", "/__sim/streams/faults", {"kind": "drop"})
    await until(lambda: not worker.stream_healthy or worker.steps > 1, what="the drop noticed")
    with rig.store() as store:
        stream_errors = [e for e in store.events(kinds=(EventKind.ERROR.value,)) if "stream error" in e.message]
    assert len(stream_errors) > errors_before
    # The reconcile is a full read requested because of the error; then the streams come back.
    await streaming(rig.sim.app[HUB], "BTCUSDT")
    while rig.sim.player.remaining:
        await rig.settle(await rig.step())
    await rig.stop()
    _exactly_once(rig)


async def test_silent_stream_falls_back_to_rest_polling(start_rig: StartRig) -> None:
    rig = await start_rig(daemon_yaml="  poll_s: 0.3\n  stale_s: 5\n")
    worker = rig.worker()
    await rig.settle(await rig.step())  # the mark stream delivers: healthy
    assert worker.stream_healthy
    await rig.admin("POST", "/__sim/streams/faults", {"kind": "silence", "channel": "public"})
    last_streamed = worker.marks_seen["BTC/USDT:USDT"]
    while rig.sim.player.remaining:
        await rig.step()
        reads = worker.steps
        # No mark reaches the stream: the next REST poll must see it.
        await until(lambda r=reads: worker.steps >= r + 1 and worker.idle.is_set(), what="a REST poll")
        await until(lambda: worker.idle.is_set() and worker.live.loaded is not None, what="settled")
    await rig.stop()
    assert worker.marks_seen["BTC/USDT:USDT"] == last_streamed == 118_250
    assert not worker.stream_healthy
    with rig.store() as store:
        assert any("polling by REST" in e.message for e in store.events(kinds=("error",)))
    _exactly_once(rig)


async def test_duplicated_events_do_not_double_orders(start_rig: StartRig) -> None:
    rig = await start_rig()
    await rig.admin("POST", "/__sim/streams/faults", {"kind": "duplicate"})
    while rig.sim.player.remaining:
        await rig.settle(await rig.step())
    await rig.stop()
    pushed = [p.body for p in rig.sim.app[HUB].pushed if p.topic == "order"]
    assert len(pushed) >= 2 and len(pushed) % 2 == 0 and pushed[0] == pushed[1]
    _exactly_once(rig)


async def test_accounts_on_one_venue_share_one_mark_stream(start_rig: StartRig) -> None:
    """Two accounts on one venue: one public mark connection serves both, and its failure reaches both."""
    rig = await start_rig(accounts={"guarded": "recommend", "naked": "recommend"}, execute=False)
    hub, workers = rig.sim.app[HUB], [rig.worker("guarded"), rig.worker("naked")]
    await until(lambda: sum(s.channel == "private" for s in hub.subscribers) == 2, what="both user-data streams")
    public = [s for s in hub.subscribers if s.channel == "public"]
    assert len(public) == 1 and "BTCUSDT" in public[0].symbols
    marks_pushed = sum(1 for p in hub.pushed if p.topic == "mark")
    mark = await rig.step()
    await until(lambda: all(w.marks_seen.get("BTC/USDT:USDT") == mark for w in workers), what="the mark at both")
    # one message on the wire, handed to both accounts
    assert sum(1 for p in hub.pushed if p.topic == "mark") == marks_pushed + 1
    with rig.store() as store:
        before = {n: len(store.events(n, kinds=("error",))) for n in ("guarded", "naked")}
    await rig.admin("POST", "/__sim/streams/faults", {"kind": "drop", "channel": "public"})

    def reported(store_events: dict[str, int]) -> bool:
        with rig.store() as store:
            return all(len([e for e in store.events(n, kinds=("error",)) if "stream error: BTC" in e.message])
                       > store_events[n] for n in store_events)

    await until(lambda: reported(before), what="the shared stream's failure reported to both accounts")
    await rig.stop()
