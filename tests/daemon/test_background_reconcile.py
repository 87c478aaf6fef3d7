"""The periodic reconcile read of a healthy account runs beside its evaluations, not in front of them.

Every ``reconcile_s`` each account reads the venue again, and the reads of all accounts queue for
``concurrent_reads`` slots.  At 500 accounts and the default 60 s, nearly every account had marks waiting seconds
behind its place in that queue (p99 5.4 s from mark to evaluation).  Now the read waits in the background, marks go
on being evaluated on the last read, and a read that an event makes out of date is dropped, never applied.
"""

from __future__ import annotations

from typing import Any

from riskguard.daemon.worker import AccountWorker
from riskguard.sim.streams import HUB
from tests.daemon.conftest import BTC, StartRig, until

RECONCILE = "  reconcile_s: 0.3\n  concurrent_reads: 1\n"


def _recorded_reads(worker: AccountWorker) -> list[tuple[int, Any]]:
    """Each read that reached the venue: how many events the worker had been told of when it began, and the
    snapshot it returned."""
    reads: list[tuple[int, Any]] = []
    read_doc = worker.read_doc

    async def recording(spec: Any) -> Any:
        began = events[0]
        doc, snapshot = await read_doc(spec)
        reads.append((began, snapshot))
        return doc, snapshot

    events = [0]
    worker.read_doc = recording
    private_event = worker.private_event

    def counting(what: str) -> None:
        events[0] += 1
        private_event(what)

    worker.private_event = counting  # type: ignore[method-assign]
    return reads


async def _tick(rig: Any, worker: AccountWorker, mark: float) -> None:
    """One streamed mark, evaluated."""
    rig.exchange.set_mark("BTCUSDT", mark)
    await rig.sim.app[HUB].publish()
    await until(lambda: _evaluated_mark(worker) == mark, what=f"the mark {mark} evaluated")


async def _until_reconcile_starts(rig: Any, worker: AccountWorker) -> None:
    """Marks every few milliseconds, as a live stream sends them, until ``reconcile_s`` has passed: the worker
    checks what is due when it wakes."""
    base = rig.exchange.marks["BTCUSDT"]
    for i in range(1, 10_000):
        if worker._reconciling is not None:
            return
        await _tick(rig, worker, base + i * 0.1)
    raise AssertionError("no reconcile read started")


def _evaluated_mark(worker: AccountWorker) -> float | None:
    loaded = worker.live.loaded
    if loaded is None or loaded.account is None:
        return None
    return next(p.mark_price for p in loaded.account.positions if p.symbol == BTC)


async def test_marks_are_evaluated_while_the_reconcile_read_waits_for_its_turn(start_rig: StartRig) -> None:
    rig = await start_rig(accounts={"guarded": "recommend"}, execute=False, daemon_yaml=RECONCILE)
    worker = rig.worker()
    reads = _recorded_reads(worker)
    await worker._reads.acquire()  # every read slot taken, as by 500 other accounts' reads
    try:
        await _until_reconcile_starts(rig, worker)
        for mark in (118_500.0, 118_600.0, 118_700.0):
            await _tick(rig, worker, mark)
        assert reads == [] and not worker._reconciling.done()  # type: ignore[union-attr]
    finally:
        worker._reads.release()
    await until(lambda: len(reads) == 1 and worker.idle.is_set(), what="the reconcile read applied")
    [(_, snapshot)] = reads
    assert worker.live.loaded is not None and worker.live.loaded.snapshot is snapshot
    assert worker.live.state != "unknown"


async def test_a_reconcile_read_begun_before_an_event_is_dropped_for_a_read_after_it(start_rig: StartRig) -> None:
    rig = await start_rig(accounts={"guarded": "recommend"}, execute=False, daemon_yaml=RECONCILE)
    worker = rig.worker()
    reads = _recorded_reads(worker)
    await worker._reads.acquire()
    try:
        await _until_reconcile_starts(rig, worker)
        pending = worker._reconciling
        worker.private_event("ACCOUNT_UPDATE")  # the position changed after the reconcile read began
        await until(lambda: pending.done(), what="the out-of-date read to be dropped")  # type: ignore[union-attr]
        assert pending.cancelled()  # type: ignore[union-attr]
    finally:
        worker._reads.release()
    await until(lambda: len(reads) >= 1 and worker.idle.is_set(), what="the read the event asked for")
    # Every read that reached the venue began after the event: the dropped one never did.
    assert [began for began, _ in reads] == [1] * len(reads)
    assert worker.live.state != "unknown"


async def test_a_reconcile_read_that_fails_makes_the_account_unknown(start_rig: StartRig) -> None:
    """In the background or not, a failed read is never taken for the positions of the last good one."""
    rig = await start_rig(accounts={"guarded": "recommend"}, execute=False, daemon_yaml=RECONCILE)
    worker = rig.worker()
    await rig.settle(await rig.step())
    assert worker.live.state != "unknown"
    await rig.admin("POST", "/__sim/faults", {"kind": "wrong_shape", "path": "*positionRisk*", "value": None})
    await until(lambda: worker.live.state == "unknown", what="the failed reconcile to make the account unknown")
    assert worker.live.loaded is not None and worker.live.loaded.error is not None
