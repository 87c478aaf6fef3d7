"""Stopping the daemon: prompt, and nothing the audit store was told is lost."""

from __future__ import annotations

import asyncio

from tests.daemon.conftest import StartRig


async def test_stop_wakes_an_idle_worker_at_once(start_rig: StartRig) -> None:
    """An idle worker waits up to ``poll_s`` for its next trigger; a stop (SIGTERM) must not wait that long."""
    rig = await start_rig(daemon_yaml="  poll_s: 600\n  stale_s: 900\n  reconcile_s: 900\n")
    assert rig.worker().idle.is_set()
    rig.daemon.stop.set()
    await asyncio.wait_for(rig.task, 20)  # far below poll_s: the stop woke the worker


async def test_full_collections_are_spaced_once_every_account_is_read_and_restored_after(start_rig) -> None:
    """Each tick's evaluations live until the next tick, long enough to reach the oldest generation: at 500
    accounts a full collection walked half a million objects (0.6 s) dozens of times a minute (docs/daemon.md)."""
    import gc

    from riskguard.daemon.runner import FULL_COLLECTION_EVERY
    from tests.daemon.conftest import until

    before = gc.get_threshold()
    rig = await start_rig(accounts={"guarded": "recommend", "naked": "recommend"}, execute=False)
    await until(lambda: gc.get_threshold()[2] == FULL_COLLECTION_EVERY, what="the threshold after the first reads")
    assert all(w.live.evaluated is not None for w in rig.daemon.workers.values())
    await rig.stop()
    assert gc.get_threshold() == before
