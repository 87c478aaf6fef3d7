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
