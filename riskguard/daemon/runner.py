"""Start, run and stop the daemon: one worker per account, its feeds, the gate API and the metrics endpoint.

Shutdown on SIGTERM/SIGINT is graceful: the workers finish the step they are in (an order being sent is
resolved and recorded), the feeds close, the audit store closes.  Nothing depends on it being graceful: after a
``kill -9`` the next start looks up every order the audit store holds as unresolved before deciding anything
(``AccountWorker.resume_pending``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from riskguard.alerts import Alerter
from riskguard.config import AccountSpec, Config
from riskguard.connectors.redact import Redactor
from riskguard.daemon.feeds import Feeds, MarkStreams, has_streams, pro_venue
from riskguard.daemon.gate_api import build_gate_app
from riskguard.daemon.settings import ListenSettings, resolve_url
from riskguard.daemon.worker import AccountWorker, ReadDoc
from riskguard.errors import ConfigError
from riskguard.execution.audit_store import AuditStore, default_path
from riskguard.metrics import Metrics

log = logging.getLogger("riskguard.daemon")


def _live_reads() -> ReadDoc:
    """Full reads of live accounts sharing one ``SharedHistory``: the accounts on a venue hold the same symbols."""
    from riskguard.connectors.live import SharedHistory, fetch_snapshot

    shared = SharedHistory()
    return lambda spec: fetch_snapshot(spec, shared=shared)


@dataclass
class Daemon:
    config: Config
    execute: bool
    clock: Callable[[], float] = time.time
    read_doc: ReadDoc | None = None
    """How a full read is made (tests stand in here); live reads sharing their market history if None."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    workers: dict[str, AccountWorker] = field(default_factory=dict)
    gate_url: str | None = None
    metrics_url: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        settings = self.config.daemon
        credentials = [v.get_secret_value() for spec in self.config.accounts.values()
                       for key in ("api_key", "secret", "password", "wallet_address", "private_key")
                       if (v := _maybe_secret(spec, key)) is not None]
        store = AuditStore(default_path(settings.audit_db), Redactor(credentials), buffered=True,
                           fsync_orders=settings.audit_durability == "power_loss")
        alerter = Alerter([resolve_url(u, str(self.config.path)) for u in settings.alerts.urls],
                          settings.alerts.min_interval_s, settings.alerts.burst, self.clock)
        metrics = Metrics()
        async with AsyncExitStack() as stack:
            stack.callback(store.close)
            feeds: list[Feeds] = []
            reads = asyncio.Semaphore(settings.concurrent_reads)
            markets: dict[tuple[str, str], Any] = {}
            marks: dict[tuple[str, str], MarkStreams] = {}
            read_doc = self.read_doc or _live_reads()
            for spec in self.config.accounts.values():
                venue = None
                if spec.config.is_live:
                    venue = await stack.enter_async_context(pro_venue(spec, markets))
                worker = AccountWorker(spec, settings, store, alerter, metrics, read_doc, venue, self.execute,
                                       self.clock, reads=reads)
                self.workers[spec.name] = worker
                if venue is not None and settings.streams and has_streams(venue.exchange):
                    backoff_s = min(settings.poll_s, 1.0)
                    key = (spec.config.venue or "", spec.config.endpoint or "")
                    if key not in marks:
                        marks[key] = MarkStreams(venue.exchange, self.stop, backoff_s)
                        stack.push_async_callback(marks[key].close)
                    feed = Feeds(worker, venue.exchange, self.stop, marks[key], backoff_s=backoff_s)
                    worker.on_read = feed.sync
                    feeds.append(feed)
            if settings.gate.port is not None or settings.gate.unix_socket:
                self.gate_url = await _listen(stack, build_gate_app(self.workers), settings.gate)
            if settings.metrics.port is not None:
                self.metrics_url = await _listen(stack, _metrics_app(metrics), settings.metrics)
            for feed in feeds:
                feed.start()
                stack.push_async_callback(feed.close)
            log.info("riskguard daemon: %d account(s), execute=%s", len(self.workers), self.execute)
            self.ready.set()
            threshold = gc.get_threshold()
            settled = asyncio.create_task(_freeze_after_first_reads(list(self.workers.values()), self.stop))
            try:
                await asyncio.gather(*(w.run(self.stop) for w in self.workers.values()))
            finally:
                settled.cancel()
                gc.set_threshold(*threshold)  # a daemon run inside a longer process (tests) leaves it as it was


FULL_COLLECTION_EVERY = 100
"""Middle-generation collections between two full ones (Python's default: 10).  Every tick rebuilds each
account's evaluation, which lives until the next tick: long enough to reach the oldest generation, so at 500
accounts it held about 500,000 objects and a full collection (each 0.6 s, 54 a minute at the default) stalled
every account's evaluation behind it.  None of it is cyclic garbage: reference counting frees it."""

FIRST_READS_S = 300.0
"""How long the daemon waits for every account's first read before freezing what it holds anyway."""


async def _freeze_after_first_reads(workers: list[AccountWorker], stop: asyncio.Event) -> None:
    """Once every account has been read, what the daemon holds is moved out of the garbage collector's sight.

    Hundreds of accounts' reads (documents, snapshots, markets) are a heap of millions of objects that live as
    long as the daemon; every full collection walked all of them: up to 0.64 s at 500 accounts, 46 times in a
    minute, stalling every account's evaluation behind it.  Frozen, they are still freed by reference counting
    when a later read replaces them (none of them holds a cycle); collections walk only what came after.
    """
    deadline = time.monotonic() + FIRST_READS_S
    while not stop.is_set() and time.monotonic() < deadline and any(w.live.evaluated is None for w in workers):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    if not stop.is_set():
        gc.collect()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def _maybe_secret(spec: AccountSpec, key: str) -> Any:
    try:
        return spec.secret(key) if hasattr(spec.config.credentials, key) else None
    except ConfigError:
        return None


def _metrics_app(metrics: Metrics) -> web.Application:
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain")

    app = web.Application()
    app.add_routes([web.get("/metrics", serve)])
    return app


async def _listen(stack: AsyncExitStack, app: web.Application, where: ListenSettings) -> str:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    if where.unix_socket:
        await web.UnixSite(runner, where.unix_socket).start()
        return f"unix:{where.unix_socket}"
    if not ipaddress.ip_address(where.host).is_loopback:
        raise ConfigError(f"the daemon listens on loopback only, not {where.host}", "daemon")
    await web.TCPSite(runner, where.host, where.port or 0).start()
    port = runner.addresses[0][1]
    return f"http://{where.host}:{port}"


def run_daemon(config: Config, execute: bool) -> int:
    """Blocking entry point of ``riskguard daemon``; returns the exit code."""

    async def main() -> None:
        daemon = Daemon(config, execute)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, daemon.stop.set)
        task = asyncio.create_task(daemon.run())
        ready = asyncio.create_task(daemon.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if daemon.ready.is_set():
            print(f"riskguard daemon: {len(daemon.workers)} account(s), execute={execute}"
                  + (f", gate {daemon.gate_url}" if daemon.gate_url else "")
                  + (f", metrics {daemon.metrics_url}/metrics" if daemon.metrics_url else ""), flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    return 0
