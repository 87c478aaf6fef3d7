"""A failed full read is tried again soon, backing off, and never sooner than the venue's Retry-After.

Before its first good read an account has no mark stream: waiting the full ``poll_s`` left it blind that long.
"""

from __future__ import annotations

import itertools

from riskguard.daemon.worker import READ_RETRY_FIRST_S, AccountWorker
from riskguard.sim.faults import Fault, FaultKind
from tests.daemon.conftest import Rig, StartRig, until

ACCOUNT = "/fapi/v3/account"
"""Read by the full read alone (the user-data stream's own snapshot reads positions)."""


def _read_ok(worker: AccountWorker) -> bool:
    return worker.live.loaded is not None and worker.live.loaded.account is not None


def _account_reads(rig: Rig, failed: int) -> list:
    """The failed reads' balance requests and the good read's (more reads follow: the worker acts on it)."""
    return [r for r in rig.sim.requests if r.path == ACCOUNT][:failed + 1]


async def test_first_read_fails_then_read_again_after_the_backoff_not_after_poll_s(start_rig: StartRig) -> None:
    rig = await start_rig(daemon_yaml="  poll_s: 60\n", wait_streams=False,
                          faults=[Fault(FaultKind.SERVER_ERROR, status=404, path=ACCOUNT, count=1, retry_after_s=0)])
    worker = rig.worker()

    await until(lambda: _read_ok(worker), timeout_s=10, what="a good read after the failed one")

    failed, retried = _account_reads(rig, 1)
    assert retried.at_s - failed.answered_s >= READ_RETRY_FIRST_S
    with rig.store() as store:
        errors = [e.message for e in store.events(kinds=("error",))]
    assert len(errors) == 1
    assert errors[0].startswith("full read failed (1 in a row, next in 0.5 s): binanceusdm fetch_balance() failed: "
                                f"ExchangeNotAvailable: binanceusdm GET {rig.sim.base_url}{ACCOUNT}?")
    assert worker.live.state != "unknown"


async def test_failures_back_off_doubling_up_to_poll_s(start_rig: StartRig) -> None:
    rig = await start_rig(daemon_yaml="  poll_s: 1.5\n", wait_streams=False,
                          faults=[Fault(FaultKind.SERVER_ERROR, status=404, path=ACCOUNT, count=4, retry_after_s=0)])
    worker = rig.worker()

    await until(lambda: _read_ok(worker), timeout_s=15, what="a good read after four failed ones")

    reads = _account_reads(rig, 4)
    with rig.store() as store:
        waits = [e.message.split("next in ")[1].split(" s)")[0] for e in store.events(kinds=("error",))]
    assert waits == ["0.5", "1", "1.5", "1.5"]
    gaps = [later.at_s - earlier.answered_s for earlier, later in itertools.pairwise(reads)]
    for gap, least in zip(gaps, (0.5, 1.0, 1.5, 1.5), strict=True):  # 0.5, 1, 2 capped at poll_s, poll_s
        assert least <= gap < least + 1.0, gaps


async def test_read_refused_with_retry_after_then_not_read_again_before_it(start_rig: StartRig) -> None:
    # The account's deadline (1 s) is shorter than the venue's wait (2 s): the read gives up at once, and the
    # daemon must not come back before the venue said.
    rig = await start_rig(daemon_yaml="  poll_s: 60\n", wait_streams=False, account_extra="    timeout_s: 1\n",
                          faults=[Fault(FaultKind.RATE_LIMIT, path=ACCOUNT, count=1, retry_after_s=2)])
    worker = rig.worker()
    worker.request_read("a stream error")  # asked meanwhile: it waits too

    await until(lambda: _read_ok(worker), timeout_s=10, what="a good read after the throttled one")

    throttled, retried = _account_reads(rig, 1)
    assert retried.at_s - throttled.answered_s >= 2.0
    with rig.store() as store:
        errors = [e.message for e in store.events(kinds=("error",))]
    assert len(errors) == 1
    assert errors[0].startswith("full read failed (1 in a row, next in 2 s): binanceusdm fetch_balance() failed: "
                                "DDoSProtection, deadline of 1 s reached (venue asks to wait 2 s): ")
