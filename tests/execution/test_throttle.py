"""The daemon's request spacing: refills while idle, never faster than the venue's rate, orders first."""

from __future__ import annotations

import asyncio

import pytest

from riskguard.execution.throttle import Throttle, urgent


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_quiet_spell_refills_the_bucket_up_to_its_capacity() -> None:
    clock = Clock()
    throttle = Throttle(rate=20.0, capacity=10.0, clock=clock)
    for _ in range(2):
        await throttle(5)  # the full bucket lets a burst through at once
    assert throttle.tokens == 0
    clock.now = 0.25  # ccxt's bucket stays empty here; this one earns 5 units back
    await throttle(5)
    assert throttle.tokens == pytest.approx(0.0)
    clock.now = 100.0
    await throttle(1)
    assert throttle.tokens == pytest.approx(9.0)  # capped at the capacity, not 2000 units of credit


async def test_long_run_rate_is_the_venues() -> None:
    throttle = Throttle(rate=200.0, capacity=5.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(25):
        await throttle(5)
    # 125 units: 5 from the bucket and 5 overdrawn by the first request, the remaining 115 at 200 per second.
    assert loop.time() - start >= 115 / 200 * 0.95


async def test_orders_leave_before_queued_reads() -> None:
    throttle = Throttle(rate=100.0, capacity=0.0)
    await throttle(1)  # overdrawn: whatever comes next waits
    served: list[str] = []

    async def request(name: str, is_order: bool) -> None:
        if is_order:
            with urgent():
                await throttle(1)
        else:
            await throttle(1)
        served.append(name)

    reads = [asyncio.create_task(request(f"read{i}", False)) for i in range(3)]
    await asyncio.sleep(0)  # the reads queue first
    order = asyncio.create_task(request("order", True))
    await asyncio.gather(*reads, order)
    assert served[0] == "order" and served[1:] == ["read0", "read1", "read2"]


async def test_a_cancelled_waiter_does_not_use_the_bucket() -> None:
    throttle = Throttle(rate=100.0, capacity=0.0)
    await throttle(1)
    gone = asyncio.create_task(throttle(50))
    await asyncio.sleep(0)
    gone.cancel()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await throttle(1)
    assert loop.time() - start < 0.3  # not the 0.5 s the cancelled 50 units would have cost
