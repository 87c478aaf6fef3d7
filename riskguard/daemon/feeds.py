"""ccxt.pro streams feeding an ``AccountWorker``: marks per held symbol, positions and orders of the account.

A stream event never acts by itself: a mark tick re-evaluates on the last read, a position or order event asks
for a full REST read.  Every stream exception (a drop, a listenKey that died, a parse failure) is reported to
the worker, which reconciles by REST before acting and polls until the stream delivers again; ccxt redials on
the next ``watch_*`` call (execution-notes Q1: events missed in the gap are lost, hence the reconcile).
Duplicate events are harmless by construction: they only ask for a read or a re-evaluation, and orders are
sent exactly once by client id.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from riskguard.config import AccountSpec
from riskguard.connectors.redact import Redactor
from riskguard.daemon.worker import AccountWorker
from riskguard.execution.throttle import Throttle
from riskguard.execution.venue_client import CcxtVenue

BURST = 100
"""Request weight let through at once before requests are spaced at the venue's ``rateLimit``: a reaction
(position re-read, close, lookup, verification) is a burst after a quiet spell."""


@asynccontextmanager
async def pro_venue(spec: AccountSpec, markets: dict[tuple[str, str], Any] | None = None
                    ) -> AsyncIterator[CcxtVenue]:
    """The account's ccxt.pro client (REST for the executor, websockets for the feeds), markets loaded.

    Built by the live connector's ``_client`` (credentials from the environment, redacting logger, emulator
    wiring), with request spacing on: the daemon runs for days and must stay inside the venue's limits.  The
    spacing is ccxt's rate in a bucket that refills while idle and lets orders go first (``Throttle``).
    """
    import ccxt.pro as ccxt_pro

    from riskguard.connectors import live

    gc.freeze()
    credentials = {name: value.get_secret_value() for key, name in live._CREDENTIALS.items()
                   if (value := spec.secret(key)) is not None}
    redactor = Redactor(credentials.values())
    exchange = live._client(ccxt_pro, spec, credentials, redactor, live.DEFAULT_RETRY)
    exchange.enableRateLimit = True
    exchange.throttle = Throttle(1000.0 / exchange.rateLimit, BURST)
    if spec.config.endpoint:
        from riskguard.sim.streams import ccxt_pro_config

        ws = ccxt_pro_config(spec.config.venue or "", spec.config.endpoint)["urls"]["api"].get("ws")
        if ws:
            exchange.urls["api"]["ws"] = {**exchange.urls["api"].get("ws", {}), **ws}
    try:
        venue = CcxtVenue(exchange, ccxt_pro, spec.config.venue or "", redactor)
        # ``markets``: the daemon's accounts on one venue and endpoint share one market list (a venue's
        # exchangeInfo is the same for every key); loading it once per account made a start of hundreds of
        # accounts fetch and parse it hundreds of times, one account after the other.
        key = (spec.config.venue or "", spec.config.endpoint or "")
        if markets is not None and key in markets:
            exchange.set_markets(*markets[key])
        else:
            await venue.load()
            if markets is not None:
                markets[key] = (exchange.markets, exchange.currencies)
        yield venue
    finally:
        await exchange.close()


def has_streams(exchange: Any) -> bool:
    return bool(exchange.has.get("watchPositions") and exchange.has.get("watchOrders")
                and (exchange.has.get("watchMarkPrice") or exchange.has.get("watchTicker")))


class MarkStreams:
    """The mark streams of one venue and endpoint, shared by every account the daemon holds there.

    A mark is public.  Watched per account, 500 accounts on one venue opened 500 websocket connections carrying
    the same message (Binance allows 300 new connections per 5 minutes per IP) and parsed every tick 500 times.
    One watch per symbol now hands each mark to the accounts holding it, nearest liquidation first, and a
    failure of that watch to each of them: they reconcile by REST before acting, as after a failure of their own
    streams.
    """

    def __init__(self, exchange: Any, stop: asyncio.Event, backoff_s: float = 1.0) -> None:
        self.x = exchange
        self.stop = stop
        self.backoff_s = backoff_s
        self.holders: dict[str, list[AccountWorker]] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def subscribe(self, symbol: str, worker: AccountWorker) -> None:
        holders = self.holders.setdefault(symbol, [])
        if worker not in holders:
            holders.append(worker)
        if symbol not in self.tasks:
            self.tasks[symbol] = asyncio.create_task(self._loop(symbol))

    async def close(self) -> None:
        await _cancel(self.tasks.values())

    async def _loop(self, symbol: str) -> None:
        while not self.stop.is_set():
            try:
                if self.x.has.get("watchMarkPrice"):
                    ticker = await self.x.watch_mark_price(symbol)
                else:
                    ticker = await self.x.watch_ticker(symbol)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                for worker in self.holders[symbol]:
                    worker.stream_down(f"{symbol}: {type(exc).__name__}: {worker.redact(str(exc))}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), self.backoff_s)
                continue
            mark = ticker.get("markPrice")
            if mark:
                # Woken in this order: in a burst of hundreds of accounts, the one nearest liquidation goes first.
                for worker in sorted(self.holders[symbol], key=lambda w: w.urgency):
                    worker.on_mark(symbol, float(mark))


class Feeds:
    """The private watch tasks of one account; ``sync()`` subscribes it to the marks of newly held symbols."""

    def __init__(self, worker: AccountWorker, exchange: Any, stop: asyncio.Event, marks: MarkStreams,
                 backoff_s: float = 1.0) -> None:
        self.worker = worker
        self.x = exchange
        self.stop = stop
        self.marks = marks
        self.backoff_s = backoff_s
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        self._watch_private_connection()
        self.tasks["positions"] = asyncio.create_task(self._loop("positions", self._positions))
        self.tasks["orders"] = asyncio.create_task(self._loop("orders", self._orders))
        self.sync()

    def sync(self) -> None:
        for symbol in self.worker.symbols:
            self.marks.subscribe(symbol, self.worker)

    async def close(self) -> None:
        await _cancel(self.tasks.values())

    async def _loop(self, what: str, once: Any) -> None:
        while not self.stop.is_set():
            try:
                await once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.worker.stream_down(f"{what}: {type(exc).__name__}: {self.worker.redact(str(exc))}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), self.backoff_s)

    async def _positions(self) -> None:
        await self.x.watch_positions()
        self.worker.private_event("position event")

    async def _orders(self) -> None:
        await self.x.watch_orders()
        self.worker.private_event("order event")

    def _watch_private_connection(self) -> None:
        """Tell the worker's position book when the user-data connection opens, fails or closes.

        ccxt.pro hands ``on_connected``/``on_error``/``on_close`` of the exchange (its hooks for users) to every
        websocket client it creates; the private one is the url carrying the account's listenKey (Binance).
        Where none is recognised the book never counts as live and every re-read goes by REST.
        """
        x, book = self.x, self.worker.book
        opened, failed, closed = x.on_connected, x.on_error, x.on_close

        def private(client: Any) -> bool:
            keys = [v.get("listenKey") for v in x.options.values() if isinstance(v, dict)]
            return any(isinstance(k, str) and k and k in str(client.url) for k in keys)

        def on_connected(client: Any, message: Any = None) -> None:
            opened(client, message)
            if private(client) and book.connected():
                self.worker.request_read("user-data stream connected")

        def on_error(client: Any, error: Any) -> None:
            failed(client, error)
            if private(client):
                book.lost()

        def on_close(client: Any, error: Any) -> None:
            closed(client, error)
            if private(client):
                book.lost()

        x.on_connected, x.on_error, x.on_close = on_connected, on_error, on_close


async def _cancel(tasks: Iterable[asyncio.Task[None]]) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
