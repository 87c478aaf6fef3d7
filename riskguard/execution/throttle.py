"""The daemon's request spacing for one ccxt client: the venue's rate, with orders served first.

ccxt's own throttle (``Throttler``, a leaky bucket) refills only while a request waits in it: after a quiet
spell the bucket is as empty as the last burst left it, so the first reaction of a cascade (position re-read,
close, lookup) waits ``rateLimit`` per unit of request weight, 50 ms per unit on Binance, behind whatever came
before it.  This bucket refills with time, up to ``capacity``, and holds the same long-run rate as ccxt's
(``1000 / rateLimit`` weight per second, never more): in any window of ``t`` seconds at most
``capacity + t * rate`` weight leaves, plus the one request that may overdraw the bucket, as in ccxt.

When requests do have to wait, the ones marked ``urgent()`` (creating and cancelling orders, the position read
that caps a close) leave before the others (a verification read, a listenKey keep-alive), in arrival order
within each class.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

_URGENT: ContextVar[bool] = ContextVar("riskguard_urgent_request", default=False)


@contextlib.contextmanager
def urgent() -> Iterator[None]:
    """Requests made inside this block (in this task) jump the queue of a depleted bucket."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


class Throttle:
    """An awaitable ``throttle(cost)`` for ``exchange.throttle``; ``rate`` in weight units per second."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not (rate > 0 and capacity >= 0):
            raise ValueError(f"rate {rate!r} and capacity {capacity!r}: rate must be > 0, capacity >= 0")
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self._clock = clock
        self._at = clock()
        self._queue: list[tuple[int, int, float, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._drainer: asyncio.Task[None] | None = None

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
        self._at = now

    async def __call__(self, cost: float | None = None) -> None:
        weight = 1.0 if cost is None else float(cost)
        self._refill()
        if not self._queue and self.tokens >= 0:
            self.tokens -= weight
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (0 if _URGENT.get() else 1, next(self._order), weight, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._queue:
            self._refill()
            if self.tokens < 0:
                await asyncio.sleep(-self.tokens / self.rate)
                continue
            _, _, weight, future = heapq.heappop(self._queue)
            if future.done():  # its caller was cancelled while it waited
                continue
            self.tokens -= weight
            future.set_result(None)
