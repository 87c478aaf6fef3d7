"""The daemon's audit writes: the intent and everything before it committed before the order leaves, the rest
written after it, and nothing missing once the daemon has stopped."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import StartRig


def _read(audit_db: Path, sql: str, *args: Any) -> list[tuple]:
    """What another process would see right now (committed rows only)."""
    with contextlib.closing(sqlite3.connect(f"file:{audit_db}?mode=ro", uri=True)) as db:
        return db.execute(sql, args).fetchall()


async def _walk(rig: Any) -> None:
    while rig.sim.player.remaining:
        await rig.settle(await rig.step())


@pytest.mark.parametrize("durability", ["power_loss", "process_crash", None])
async def test_the_intent_and_the_events_before_it_are_committed_before_the_order_leaves(
        start_rig: StartRig, durability: str | None) -> None:
    """Either durability commits before the send; only power_loss also waits for the disk (the store's own
    tests show what each asks of SQLite).  Unset, the reaction does not wait on the disk."""
    rig = await start_rig(daemon_yaml=f"  audit_durability: {durability}\n" if durability else "")
    assert rig.worker().store.fsync_orders is (durability == "power_loss")
    venue = rig.worker().venue
    create = venue.create
    seen: list[dict[str, Any]] = []

    async def create_and_look(call: Any) -> Any:
        # The moment the request would leave: what does the audit store hold for this order?
        cid = call.params["clientOrderId"]
        seen.append({
            "cid": cid,
            "order": _read(rig.audit_db, "SELECT state, plan_hash FROM orders WHERE client_order_id = ?", cid),
            "events": _read(rig.audit_db, "SELECT id, kind, client_order_id, message FROM events ORDER BY id"),
        })
        return await create(call)

    venue.create = create_and_look
    await _walk(rig)
    await rig.stop()
    assert seen, "the squeeze made the daemon send no order"
    for at_send in seen:
        [(state, plan_hash)] = at_send["order"]
        assert state == "intent"
        kinds = [(kind, cid) for _, kind, cid, _ in at_send["events"]]
        intent = kinds.index(("intent", at_send["cid"]))
        # This plan's "executing" event, told to the store before the intent, was committed with it.
        [executing] = [i for i, (_, kind, _, message) in enumerate(at_send["events"])
                       if kind == "plan" and message.startswith(f"executing plan {plan_hash[:12]}")]
        assert executing < intent


async def test_every_audit_record_of_a_reaction_is_present_after_a_graceful_stop(start_rig: StartRig) -> None:
    rig = await start_rig()
    store = rig.worker().store
    event = store.event
    told: list[tuple[str, str | None, str]] = []

    def tell(run_id: str, account: str, kind: Any, message: str, data: Any = None, **where: Any) -> None:
        told.append((kind.value, where.get("client_order_id"), message))
        event(run_id, account, kind, message, data, **where)

    store.event = tell  # type: ignore[method-assign]
    await _walk(rig)
    await rig.stop()
    orders = rig.emulator_orders()
    assert orders and told
    events = _read(rig.audit_db, "SELECT id, kind, client_order_id, message FROM events ORDER BY id")
    # Everything the daemon told the store since the wrap is on disk, once, in the order it was told.
    rows = iter((kind, cid, message) for _, kind, cid, message in events)
    missing = [t for t in told if t not in rows]
    assert not missing, missing[:5]
    for o in orders:
        mine = [(kind, message) for _, kind, cid, message in events if cid == o.client_id]
        assert [k for k, _ in mine][:3] == ["intent", "request", "response"], mine
        assert ("state", "intent → filled") in mine, mine
    executed = sum(1 for _, kind, _, message in events if kind == "plan" and message.startswith("executing plan"))
    assert executed == sum(1 for _, kind, _, _ in events if kind == "verify") > 0
    assert _read(rig.audit_db, "SELECT COUNT(*) FROM orders WHERE state IN ('intent', 'unknown')") == [(0,)]
