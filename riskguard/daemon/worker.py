"""One account under the daemon: read, evaluate, act, confirm; one step at a time.

Triggers coalesce: many mark ticks that arrive while an evaluation runs become one evaluation at the newest
marks, and any number of "read again" requests become one full read.  Per step:

1. A full REST read when one is due (start, a position or order event, a stream error, a vanished position,
   after acting, ``poll_s`` without stream data, ``reconcile_s``); else the newest streamed marks applied to the
   last read (``remark``).  The periodic ``reconcile_s`` read of an account whose streams are healthy runs in the
   background: it waits its turn among the daemon's reads (``concurrent_reads``) while the account's marks go on
   being evaluated, and it is applied at the next step, unless something asked for a read after it began (an
   event, an order of ours): a read that began before that is out of date and is dropped.
2. A position in the last read that is missing from this one is confirmed by a second read before anything else
   happens on the account: still gone → liquidated or closed outside riskguard (audited, alerted), back → a bad
   read (audited, alerted, the second read is used).
3. The same evaluation as ``riskguard check`` (normalizers' input checks, limits, rules with their memory,
   plan).  Unknown or stale data → state UNKNOWN, nothing executed, an alert.
4. A plan with orders is executed through the executor when the account's mode is ``execute`` and the daemon
   runs with ``--execute``, inside the kill switch; otherwise it is recorded as a recommendation once per plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from riskguard.alerts import Alerter, AlertKind
from riskguard.check import Evaluated, evaluate_loaded
from riskguard.config import AccountSpec
from riskguard.connectors.snapshot_doc import SnapshotDoc
from riskguard.connectors.source import Loaded
from riskguard.daemon.book import BookFirstVenue, PositionBook, ReadStart
from riskguard.daemon.killswitch import KillSwitch
from riskguard.daemon.remark import remark_snapshot
from riskguard.daemon.settings import DaemonSettings
from riskguard.errors import DataUnavailable, RiskguardError, StaleData
from riskguard.execution.audit_store import AuditStore, EventKind, OrderState
from riskguard.execution.executor import ExecutionReport, Executor, order_state
from riskguard.execution.venue_client import OutcomeUnknown, Venue, live_legs
from riskguard.market_view import SymbolViews
from riskguard.metrics import Metrics
from riskguard.model.snapshot import Snapshot
from riskguard.rules.codes import Severity, Status
from riskguard.rules.engine import HitKey
from riskguard.rules.plan import OrderKind, Plan

log = logging.getLogger("riskguard.daemon")

ReadDoc = Callable[[AccountSpec], Awaitable[tuple[SnapshotDoc, Snapshot]]]
"""A full read: the document and its model (the read builds it to check it; built once, not again)."""
_Fetched = tuple[ReadStart, SnapshotDoc, Snapshot] | RiskguardError
"""A full read not yet applied (``AccountWorker._apply``): where it began, the document and its model; or why
it failed."""
UNKNOWN = "unknown"
CHECKPOINT_COMMITS = 50
"""Audit store commits between two checkpoints (a reaction cycle commits about five times)."""
READ_RETRY_FIRST_S = 0.5
"""After a failed full read the account is UNKNOWN (and, before its first good read, has no mark stream): it is
read again after this, doubling with each failure up to ``poll_s``, and never sooner than the venue's
Retry-After."""


@dataclass
class Trigger:
    """What happened since the last step (coalesced)."""

    marks: dict[str, float] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)
    """Why a full read is wanted; empty = marks only."""


@dataclass
class LiveState:
    """What the gate API and the metrics read: the last evaluation and where it came from."""

    loaded: Loaded | None = None
    evaluated: Evaluated | None = None
    state: str = UNKNOWN
    data_ms: int = 0


class AccountWorker:
    def __init__(self, spec: AccountSpec, settings: DaemonSettings, store: AuditStore, alerter: Alerter,
                 metrics: Metrics, read_doc: ReadDoc, venue: Venue | None, execute: bool,
                 clock: Callable[[], float] = time.time, executor_factory: Callable[[Venue], Executor] | None = None,
                 reads: asyncio.Semaphore | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.settings = settings
        self.store = store
        self.alerter = alerter
        self.metrics = metrics
        self.read_doc = read_doc
        self.venue = venue
        self.execute = execute and spec.mode == "execute"
        self.clock = clock
        self._reads = reads or asyncio.Semaphore(settings.concurrent_reads)
        """Shared by the daemon's workers: bounds the full REST reads in flight across accounts."""
        self.kill = KillSwitch(settings.kill_switch, clock)
        self.book = PositionBook(clock, settings.reconcile_s)
        """Positions of the last full read while the user-data stream certifies them (the feeds keep it)."""
        self._executor_factory = executor_factory or (lambda v: Executor(v, store))
        self.live = LiveState()
        self.run_id = f"daemon-{int(clock() * 1000)}"
        self._pending = Trigger(read=["start"])
        self._wake = asyncio.Event()
        self._wake.set()
        self._doc: SnapshotDoc | None = None
        self._read_snapshot: Snapshot | None = None
        """The last full read's snapshot: its market series serve every streamed mark until the next read."""
        self._last_full = 0.0
        self._last_data = 0.0
        self._failed_reads = 0
        self._retry_at: float | None = None
        """When the next read may follow a failed one (``READ_RETRY_FIRST_S``); None after a good read."""
        self._memory: frozenset[HitKey] = frozenset()
        self._restored_state: str | None = None
        self._views = SymbolViews()
        """Each symbol's market view (bands, book ladder, volatility), built once per full read."""
        self._recommended: set[str] = set()
        self._closed_by_us: set[tuple[str, str]] = set()
        """Legs our own orders reduced since the last read: their disappearance is no mystery."""
        self.stream_healthy = False
        self.steps = 0
        self.idle = asyncio.Event()
        """Set while the worker waits with nothing pending (tests and the rehearsal wait on it)."""
        self.marks_seen: dict[str, float] = {}
        self.on_read: Callable[[], None] | None = None
        """Called after every successful full read (the feeds start mark streams for newly held symbols)."""
        self._checkpointing: asyncio.Task[None] | None = None
        self._reconciling: asyncio.Task[_Fetched] | None = None
        """The background reconcile read in flight (or done and not yet applied)."""
        self.on_order_sent: Callable[[], None] | None = None
        """Benchmarks hook here: called right after the executor returns from a run that sent orders."""

    # -- triggers ----------------------------------------------------------------------------------

    def on_mark(self, symbol: str, mark: float) -> None:
        self.idle.clear()
        self.marks_seen[symbol] = mark
        self._pending.marks[symbol] = mark
        self._last_data = self.clock()
        self.stream_healthy = True
        self._wake.set()

    @property
    def urgency(self) -> float:
        """The smallest liquidation buffer (%) at the last evaluation; −inf when there is none or its state is
        UNKNOWN.  A mark reaches every account holding the symbol at once, and the accounts nearest liquidation
        (or least known) are evaluated first (``MarkStreams``)."""
        evaluated = self.live.evaluated
        if evaluated is None or self.live.state == UNKNOWN:
            return -math.inf
        buffers = [p.risk.buffer_pct for p in evaluated.verdict.positions]
        return min((b if b is not None else -math.inf for b in buffers), default=math.inf)

    @property
    def symbols(self) -> list[str]:
        """What to stream marks for: the symbols held at the last read (and configured ones)."""
        held = [p.symbol for p in self.live.loaded.account.positions] if (
            self.live.loaded is not None and self.live.loaded.account is not None) else []
        return sorted(set(held) | set(getattr(self.spec.config, "symbols", None) or []))

    def redact(self, text: str) -> str:
        from riskguard.connectors.redact import redact_known

        return redact_known(text)

    def request_read(self, why: str) -> None:
        self.idle.clear()
        self._pending.read.append(why)
        self._wake.set()

    def private_event(self, what: str) -> None:
        """A position or order event on the user-data stream: the book no longer holds, a full read is due."""
        self.book.event()
        self.request_read(what)

    def stream_down(self, why: str) -> None:
        """A stream failed: reconcile by REST before acting again, and poll until it is back."""
        self.book.lost()
        self.stream_healthy = False
        self.metrics.errors.labels(self.name, "stream").inc()
        self.store.event(self.run_id, self.name, EventKind.ERROR, f"stream error: {why}; reconciling by REST")
        self.store.flush()  # not held for the end of a step: a stream failure is for the log to show at once
        self.request_read(f"stream error: {why}")

    # -- loop --------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        async def wake_on_stop() -> None:
            # A stop wakes the worker: else SIGTERM waited up to poll_s for the next wake-up or timeout.
            await stop.wait()
            self._wake.set()

        waker = asyncio.create_task(wake_on_stop())
        try:
            await self._loop(stop)
        finally:
            waker.cancel()
            await self._drop_reconcile()
            if self._checkpointing is not None:
                await self._checkpointing

    async def _loop(self, stop: asyncio.Event) -> None:
        self.restore()
        await self.resume_pending()
        while not stop.is_set():
            if not self._wake.is_set() and self._reconciling is None and not self._pending.read:
                self.idle.set()
            wait_s = self.settings.poll_s
            if self._retry_at is not None:
                wait_s = min(wait_s, max(self._retry_at - self.clock(), 0.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            if stop.is_set():
                break
            self.idle.clear()
            self._wake.clear()
            now = self.clock()
            trigger, self._pending = self._pending, Trigger()
            quiet = now - max(self._last_data, self._last_full) >= self.settings.poll_s
            if quiet and self.stream_healthy:
                self.stream_healthy = False
                self.metrics.errors.labels(self.name, "stream_silent").inc()
                self.store.event(self.run_id, self.name, EventKind.ERROR,
                                 f"no stream data for {self.settings.poll_s:g} s: polling by REST")
            if (not self.stream_healthy or quiet) and now - self._last_full >= self.settings.poll_s:
                trigger.read.append("poll")
            if now - self._last_full >= self.settings.reconcile_s:
                if trigger.read or self._doc is None or not self.stream_healthy or self._retry_at is not None:
                    trigger.read.append("reconcile")
                elif self._reconciling is None:
                    self._reconcile_in_background()
            if self._retry_at is not None and now < self._retry_at:
                # Too soon after a failed read: what asks for one waits for the pass of the loop that wakes at
                # _retry_at; meanwhile marks are evaluated on the last read that succeeded, if there is one.
                self._pending.read, trigger.read = trigger.read, []
                if self._doc is None or not trigger.marks:
                    continue
            elif self._retry_at is not None:
                trigger.read.append("retry after a failed read")
            try:
                await self.step(trigger)
            except Exception as exc:  # one account's failure never stops the others
                self.metrics.errors.labels(self.name, "step").inc()
                self.store.event(self.run_id, self.name, EventKind.ERROR, f"step failed: {type(exc).__name__}: {exc}")
                await self._set_unknown(f"step failed: {type(exc).__name__}: {exc}")
                self.request_read("after a failed step")
                await asyncio.sleep(min(self.settings.poll_s, 1.0))
            self._after_step()

    def _after_step(self) -> None:
        """The step's audit events written (the store buffers them, unless an order write took them along), and
        the WAL copied into the database file in a thread once enough has accumulated: both off the reaction's
        path, which commits only its intents."""
        self.store.flush()
        if self.store.unchecked_commits >= CHECKPOINT_COMMITS and (
                self._checkpointing is None or self._checkpointing.done()):
            self._checkpointing = asyncio.create_task(asyncio.to_thread(self.store.checkpoint))

    async def step(self, trigger: Trigger) -> Evaluated | None:
        self.steps += 1
        reconciled = self._reconciled(bool(trigger.read))
        loaded: Loaded | None
        if trigger.read or self._doc is None:
            loaded = await self._full_read(", ".join(trigger.read) or "first read")
        elif reconciled is not None:
            loaded = await self._full_read("reconcile", reconciled)
        else:
            loaded = self._remarked(trigger.marks)
        return None if loaded is None else await self._evaluate_and_act(loaded)

    # -- reading -----------------------------------------------------------------------------------

    def _reconcile_in_background(self) -> None:
        def wake(_: asyncio.Task[_Fetched]) -> None:
            self.idle.clear()
            self._wake.set()

        self._reconciling = asyncio.create_task(self._fetch())
        self._reconciling.add_done_callback(wake)

    def _reconciled(self, superseded: bool) -> _Fetched | None:
        """The background reconcile read once it is done; None while it runs.  ``superseded``: this step reads
        anew (an event, an order of ours, a stream error asked for a read after it began), so it is dropped."""
        task = self._reconciling
        if task is None or (not task.done() and not superseded):
            return None
        self._reconciling = None
        if superseded:
            task.cancel()
            return None
        return task.result()

    async def _drop_reconcile(self) -> None:
        task, self._reconciling = self._reconciling, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task  # its client closed before the daemon's own go

    async def _fetch(self) -> _Fetched:
        """One full read, its turn among the daemon's reads included; nothing of the worker changes."""
        try:
            async with self._reads:
                start = self.book.read_start()
                doc, snapshot = await self.read_doc(self.spec)
        except RiskguardError as exc:
            return exc
        return start, doc, snapshot

    def _apply(self, fetched: _Fetched) -> Loaded:
        """A full read becomes what the worker knows: the book's seed, the snapshot streamed marks rewrite."""
        loaded = self._loaded(fetched)
        if loaded.error is None:
            self._failed_reads, self._retry_at = 0, None
        else:
            self._failed_reads += 1
            backoff = min(READ_RETRY_FIRST_S * 2.0 ** min(self._failed_reads - 1, 16), self.settings.poll_s)
            asked = loaded.error.retry_after_s if isinstance(loaded.error, DataUnavailable) else None
            wait_s = max(backoff, asked or 0.0)
            self._retry_at = self.clock() + wait_s
            self.metrics.errors.labels(self.name, "read").inc()
            self.store.event(self.run_id, self.name, EventKind.ERROR,
                             f"full read failed ({self._failed_reads} in a row, next in {wait_s:g} s): {loaded.error}")
        return loaded

    def _loaded(self, fetched: _Fetched) -> Loaded:
        if isinstance(fetched, RiskguardError):
            return Loaded(self.spec, None, None, fetched)
        start, doc, snapshot = fetched
        name = self.spec.config.snapshot_account or self.name
        try:
            account = snapshot.account(name)
        except RiskguardError as exc:
            return Loaded(self.spec, None, None, exc)
        except KeyError as exc:
            return Loaded(self.spec, None, None, DataUnavailable(f"account missing from the read: {exc}"))
        rows = [row for a in doc.accounts if a.name == name for row in a.positions]
        self.book.seed(start, live_legs(self.spec.config.venue or "", rows))
        self._doc, self._read_snapshot = doc, snapshot
        self._views = SymbolViews()  # bands, book and volatility of this read: streamed marks reuse them
        return Loaded(self.spec, snapshot, account, None)

    async def _read(self) -> Loaded:
        return self._apply(await self._fetch())

    async def _full_read(self, why: str, fetched: _Fetched | None = None) -> Loaded | None:
        """``fetched``: a read made already (the background reconcile), else one is made now."""
        before = self.live.loaded
        loaded = self._apply(fetched) if fetched is not None else await self._read()
        self._last_full = self.clock()
        if loaded.error is None:
            self._last_data = self._last_full
            if self.on_read is not None:
                self.on_read()
        if loaded.error is not None or before is None or before.account is None or loaded.account is None:
            return loaded
        ours, self._closed_by_us = self._closed_by_us, set()
        gone = _legs(before) - _legs(loaded) - ours
        if not gone:
            return loaded
        # A vanished position: nothing else happens on this account until a second read confirms it.
        confirm = await self._read()
        if confirm.error is not None or confirm.account is None:
            return confirm
        still = gone & (_legs(before) - _legs(confirm))
        back = gone - still
        if back:
            text = f"bad read: {_fmt(back)} missing from one read and present in the next; using the second"
            self.store.event(self.run_id, self.name, EventKind.STATE, text, {"legs": sorted(map(list, back))})
            await self.alerter.alert(self.name, AlertKind.FAILURE, text)
        for leg in sorted(still):
            cause = _cause(before, confirm, leg, self.marks_seen.get(leg[0]))
            text = f"position {leg[0]} {leg[1]} gone, confirmed by a second read: {cause}"
            self.store.event(self.run_id, self.name, EventKind.STATE, text, {"symbol": leg[0], "side": leg[1],
                                                                              "cause": cause}, symbol=leg[0])
            await self.alerter.alert(self.name, AlertKind.VANISHED, text)
        return confirm

    def _remarked(self, marks: dict[str, float]) -> Loaded:
        assert self._doc is not None and self._read_snapshot is not None
        try:
            doc, snapshot = remark_snapshot(self._doc, self._read_snapshot, marks, int(self.clock() * 1000),
                                            f"{self.name} (daemon, streamed marks)")
            account = snapshot.account(self.spec.config.snapshot_account or self.name)
        except RiskguardError as exc:
            return Loaded(self.spec, None, None, exc)
        self._doc = doc
        return Loaded(self.spec, snapshot, account, None)

    # -- evaluating and acting ---------------------------------------------------------------------

    async def _set_unknown(self, why: str) -> None:
        if self.live.state != UNKNOWN:
            self.store.event(self.run_id, self.name, EventKind.STATE, f"state {self.live.state} → unknown: {why}",
                             {"trading_state": UNKNOWN})
        self.live.state = UNKNOWN
        self.metrics.set_state(self.name, UNKNOWN)
        await self.alerter.alert(self.name, AlertKind.UNKNOWN, f"state UNKNOWN, nothing is executed: {why}")

    async def _evaluate_and_act(self, loaded: Loaded) -> Evaluated | None:
        self.metrics.evaluations.labels(self.name).inc()
        age_s = self.clock() - self._last_data if self._last_data else float("inf")
        self.metrics.data_age.labels(self.name).set(age_s)
        if loaded.error is None and age_s > self.settings.stale_s:
            loaded = Loaded(self.spec, None, None, StaleData(f"newest data is {age_s:.1f} s old "
                                                             f"(daemon.stale_s={self.settings.stale_s:g})"))
        evaluated = evaluate_loaded(loaded, self._views, memory=self._memory)
        self.live.loaded, self.live.evaluated = loaded, evaluated
        self.live.data_ms = int(self._last_data * 1000)
        verdict = evaluated.verdict
        if verdict.status is Status.UNKNOWN or loaded.error is not None:
            reasons = "; ".join(f.message for f in verdict.findings[:3]) or str(loaded.error)
            self.metrics.errors.labels(self.name, "unknown").inc()
            await self._set_unknown(reasons)
            return evaluated
        memory_changed = evaluated.rules.memory != self._memory
        self._memory = evaluated.rules.memory
        self.metrics.set_buffers(self.name, {(p.risk.symbol, p.risk.side): p.risk.buffer_pct
                                             for p in verdict.positions})
        state = evaluated.rules.state.value
        breach = None
        if state != self.live.state or memory_changed:
            self.store.event(self.run_id, self.name, EventKind.STATE, f"state {self.live.state} → {state}",
                             {"trading_state": state, "status": verdict.status.value,
                              "rule_memory": sorted(list(k) for k in self._memory)})
            if verdict.status is Status.BREACH:
                findings = [*verdict.findings, *(f for p in verdict.positions for f in p.findings)]
                breach = f"state {state}: " + "; ".join(
                    f.message for f in findings if f.severity is Severity.BREACH)[:500]
        self.live.state = state
        self.metrics.set_state(self.name, state)
        plan = evaluated.plan
        if plan is not None and any(o.kind is not OrderKind.ADD_MARGIN for o in plan.orders):
            await self._act(plan)
        if breach is not None:  # after the orders: an alert channel's round trip must not delay them
            await self.alerter.alert(self.name, AlertKind.BREACH, breach)
        return evaluated

    async def _act(self, plan: Plan) -> None:
        if not self.execute or self.venue is None:
            if plan.content_hash not in self._recommended:
                self._recommended.add(plan.content_hash)
                self.store.event(self.run_id, self.name, EventKind.PLAN,
                                 f"recommended (not executed: mode {self.spec.mode}, "
                                 f"--execute {'on' if self.execute else 'off'}): {_plan_text(plan)}", plan.to_dict())
                await self.alerter.alert(self.name, AlertKind.ACTION, f"recommends: {_plan_text(plan)}")
            return
        sendable = [o for o in plan.orders if o.kind is not OrderKind.ADD_MARGIN]
        notional = sum(o.amount * _mark(self.live.loaded, o.symbol) for o in sendable
                       if o.kind is not OrderKind.CANCEL)
        was_tripped = self.kill.tripped is not None
        if (why := self.kill.refusal(len(sendable), notional)) is not None:
            if not was_tripped:
                await self._tripped(why)
            elif plan.content_hash not in self._recommended:
                self._recommended.add(plan.content_hash)
                self.store.event(self.run_id, self.name, EventKind.PLAN, f"not executed ({why}): {_plan_text(plan)}",
                                 plan.to_dict())
            return
        # The close is capped at the position the user-data stream certifies, else at a REST re-read.
        venue = cast(Venue, BookFirstVenue(self.venue, self.book, lambda: self.stream_healthy))
        report = await self._executor_factory(venue).execute(plan)
        # Only what this run did answers for the venue now.  An order an earlier run had rejected (or filled)
        # comes back as "already rejected" when the plan is made again: counted once more, one real rejection
        # tripped the switch (or a past fill reset the count); and a plan made again with nothing to do is no
        # action to alert on or to read the account after.
        fresh = [o for o in report.orders if not o.repeated]
        if not fresh:
            return
        if self.on_order_sent is not None:
            self.on_order_sent()
        sent = sum(o.sent for o in fresh)
        rejected = sum(1 for o in fresh if o.state is OrderState.REJECTED)
        accepted = sum(1 for o in fresh if o.state in (OrderState.FILLED, OrderState.SENT, OrderState.PARTIAL))
        for o, planned in zip(report.orders, plan.orders, strict=False):
            self.metrics.actions.labels(self.name, o.state.value).inc()
            if o.filled > 0 and planned.closes_side is not None:
                self._closed_by_us.add((o.symbol, planned.closes_side))
        filled_notional = sum(o.filled * _mark(self.live.loaded, o.symbol) for o in report.orders)
        if (why := self.kill.record(sent, filled_notional, rejected, accepted)) is not None:
            await self._tripped(why)
        await self.alerter.alert(self.name, AlertKind.ACTION, _report_text(report))
        self.request_read("after acting")

    async def _tripped(self, why: str) -> None:
        self.metrics.kill_switch.labels(self.name).set(1)
        self.store.event(self.run_id, self.name, EventKind.STATE, why, {"kill_switch": True})
        await self.alerter.alert(self.name, AlertKind.KILL_SWITCH, why + "; the daemon stops acting on this account")

    # -- restart -----------------------------------------------------------------------------------

    def restore(self) -> None:
        """The trading state and the firing rules (their release thresholds hold across a restart) as the last run
        recorded them; the first evaluation of this run starts from there."""
        for event in reversed(self.store.events(account=self.name, kinds=(EventKind.STATE.value,))):
            if "rule_memory" in event.data:
                self._memory = frozenset(tuple(k) for k in event.data["rule_memory"])
                self._restored_state = str(event.data.get("trading_state", UNKNOWN))
                return

    async def resume_pending(self) -> None:
        """Orders a previous run left open in the audit store (intent written, answer lost) are looked up at the
        venue by their client id before this run decides anything: a found order is adopted, one the venue never
        got is closed as skipped (the plan is made again from the position as it is now)."""
        if self.venue is None:
            return
        for record in self.store.orders():
            if record.account != self.name or record.state.final:
                continue
            try:
                found = await self.venue.find(record.symbol, record.client_order_id, record.kind == "stop_market")
            except (OutcomeUnknown, DataUnavailable) as exc:
                self.store.event(self.run_id, self.name, EventKind.ERROR, f"resume lookup failed: {exc}",
                                 client_order_id=record.client_order_id, symbol=record.symbol)
                continue
            if found is None:
                self.store.update_order(self.run_id, record.client_order_id, OrderState.SKIPPED,
                                        message="not at the venue after a restart; planned again from the position")
                continue
            state, filled = order_state(found, record.amount)
            self.store.update_order(self.run_id, record.client_order_id, state, venue_order_id=str(found.get("id")),
                                    filled=filled, message="adopted after a restart")



def _legs(loaded: Loaded) -> set[tuple[str, str]]:
    assert loaded.account is not None
    return {(p.symbol, p.side.value) for p in loaded.account.positions}


def _fmt(legs: set[tuple[str, str]]) -> str:
    return ", ".join(f"{s} {d}" for s, d in sorted(legs))


def _mark(loaded: Loaded | None, symbol: str) -> float:
    if loaded is None or loaded.account is None:
        return 0.0
    for p in loaded.account.positions:
        if p.symbol == symbol:
            return float(p.mark_price)
    return 0.0


def _cause(before: Loaded, after: Loaded, leg: tuple[str, str], streamed: float | None) -> str:
    """Liquidated when the mark now stands past the liquidation price riskguard last computed, else closed.

    The read that finds the position gone no longer holds the symbol's mark when nothing else keeps it in the
    read (no other leg, not configured): the newest streamed mark stands in, else every liquidation would be
    reported as a close by hand.
    """
    assert before.account is not None and after.snapshot is not None and after.account is not None
    old = next((p for p in before.account.positions if (p.symbol, p.side.value) == leg), None)
    liq = old.venue_liquidation_price if old is not None else None
    quote = after.snapshot.venues[after.account.venue].quotes.get(leg[0])
    mark = getattr(quote, "mark_price", None) or streamed
    if liq and mark:
        past = mark >= liq if leg[1] == "short" else mark <= liq
        if past:
            return f"liquidated (mark {mark:g} is past the liquidation price {liq:g})"
    return "closed outside riskguard (by hand, a stop, or the venue)"


def _plan_text(plan: Plan) -> str:
    parts = [f"{o.kind.value} {o.side} {o.amount:g} {o.symbol}" for o in plan.orders]
    return f"{', '.join(parts)} ({', '.join(plan.strategies)})"


def _report_text(report: ExecutionReport) -> str:
    parts = [f"{o.kind} {o.symbol} {o.state.value} {o.filled:g}/{o.amount:g}" for o in report.orders]
    return "executed: " + ", ".join(parts)
