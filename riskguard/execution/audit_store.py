"""The audit store: an append-only SQLite record of what riskguard saw, decided and sent.

It is also the executor's memory for exactly-once: an order's intent (with its client order id) is committed
here *before* the order goes to the venue, so a crash, a timeout or a re-run finds the id and looks the order up
at the venue instead of sending it again.  That is why every order write (the intent, each state change) is its
own transaction committed with ``synchronous=FULL``: an intent that is not on disk when the request leaves is no
intent at all.  Plain events are committed with ``synchronous=NORMAL``: written to the OS at once (a ``kill -9``
loses none of them), and on disk with the next order write, since WAL appends in order and that fsync covers
every commit before it.  A reaction writes three or four events before its intent; an fsync each (~4 ms here)
was most of the daemon's reaction time.  What a power cut can lose is the tail of events after the last order
write, never an intent or an order's state.

That fsync is a flush of the disk's write cache, and it waits for whatever else the machine has written to that
disk: 0.4-2 ms on a quiet disk, 50-350 ms measured while other processes wrote (the daemon's reaction benchmark,
docs/daemon.md).  A store opened with ``fsync_orders=False`` (the daemon's ``audit_durability: process_crash``)
commits order writes as plain events: in the OS before the order leaves, so a ``kill -9`` or a crash of
riskguard loses nothing, while a power cut or a kernel crash can lose the last intents.  The daemon then
decides again from a fresh read of the account (positions and open orders); every order is reduce-only and
capped at the position it re-reads, so what such a loss costs is the exactly-once record of those orders and
their count in the kill switch, never added exposure.

The daemon opens the store ``buffered``: a plain event is kept in memory (its time stamp taken at once) and
written, serialized and redacted, with the next order write in that write's own transaction (so ids stay in the
order things happened and the intent's one fsync carries them), or at ``flush()``, which the daemon calls at the
end of every step; ``events()`` and ``close()`` flush first.  A reaction then commits once before its order
leaves instead of once per event, and what it writes to the WAL shrinks about tenfold.  A ``kill -9`` can lose
the events of the step in flight that precede no order: the same as the kill arriving before that step, which
the restart handles anyway.  The buffered store also never checkpoints inside a write (SQLite's auto-checkpoint
copied the WAL into the database and fsynced both inside whichever commit crossed 1000 pages, a reaction's
intent included, 8-25 ms here): the daemon calls ``checkpoint()`` from a thread, off the event loop.

Every text and JSON payload passes through a ``Redactor`` on its way in, so a venue error that echoes a request
(keys, signatures) is stored masked.  The schema is versioned (``schema_migrations``); opening an older file
applies the missing migrations in order.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from riskguard.connectors.redact import Redactor, redact_known
from riskguard.errors import ConfigError

DB_ENV = "RISKGUARD_AUDIT_DB"
SCHEMA_VERSION = 1

_MIGRATIONS: tuple[str, ...] = (
    # 1: events (everything, in order) and orders (one row per client order id, its latest state).
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ms INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        account TEXT NOT NULL,
        kind TEXT NOT NULL,
        client_order_id TEXT,
        symbol TEXT,
        message TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX events_account_ts ON events(account, ts_ms);
    CREATE INDEX events_client_order_id ON events(client_order_id);
    CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        venue TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        order_index INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        kind TEXT NOT NULL,
        amount REAL NOT NULL,
        state TEXT NOT NULL,
        venue_order_id TEXT,
        filled REAL NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX orders_plan ON orders(plan_hash);
    """,
)


class EventKind(StrEnum):
    EVALUATION = "evaluation"
    FINDING = "finding"
    PLAN = "plan"
    INTENT = "intent"
    REQUEST = "request"
    RESPONSE = "response"
    FILL = "fill"
    STATE = "state"
    ERROR = "error"
    REFUSED = "refused"
    VERIFY = "verify"


class OrderState(StrEnum):
    INTENT = "intent"
    """Persisted, not yet known to have reached the venue."""
    SENT = "sent"
    """The venue acknowledged it and it may still rest (a stop, a limit)."""
    UNKNOWN = "unknown"
    """The request left and no answer came back: resolved by a lookup by client id before anything is resent."""
    FILLED = "filled"
    PARTIAL = "partial"
    """Done at the venue (expired/cancelled) with part of the amount filled."""
    REJECTED = "rejected"
    CANCELED = "canceled"
    REFUSED = "refused"
    """Refused by riskguard's final guard; never sent."""
    SKIPPED = "skipped"
    """Nothing to do when its turn came (the position was already gone or below the minimum order)."""

    @property
    def final(self) -> bool:
        return self not in (OrderState.INTENT, OrderState.UNKNOWN)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    client_order_id: str
    account: str
    venue: str
    plan_hash: str
    order_index: int
    symbol: str
    side: str
    kind: str
    amount: float
    state: OrderState
    venue_order_id: str | None
    filled: float


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    ts_ms: int
    run_id: str
    account: str
    kind: str
    client_order_id: str | None
    symbol: str | None
    message: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "ts_ms": self.ts_ms, "run_id": self.run_id, "account": self.account, "kind": self.kind,
            "client_order_id": self.client_order_id, "symbol": self.symbol, "message": self.message,
            "data": self.data,
        }


def default_path(configured: str | Path | None = None) -> Path:
    """``RISKGUARD_AUDIT_DB``, else the configured path, else ``$XDG_DATA_HOME/riskguard/audit.sqlite3``."""
    if env := os.environ.get(DB_ENV):
        return Path(env).expanduser()
    if configured is not None:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "riskguard" / "audit.sqlite3"


_Pending = tuple[int, str, str, "EventKind", str, Mapping[str, Any] | None, str | None, str | None]
"""An event not written yet: ts_ms, run_id, account, kind, message, data, client_order_id, symbol."""


class AuditStore:
    """One SQLite file; ``redactor`` masks the credentials of the accounts being recorded."""

    def __init__(self, path: Path, redactor: Redactor | None = None, clock: Callable[[], float] = time.time,
                 buffered: bool = False, fsync_orders: bool = True) -> None:
        """``buffered``: plain events wait for the next order write or ``flush()``, and checkpoints are left to
        ``checkpoint()``; without ``fsync_orders`` an order write is committed as a plain event is (the module
        docstring says why and what a crash can lose)."""
        self.path = path
        self._fsync_orders = fsync_orders
        self._redactor = redactor
        self._clock = clock
        self._buffered = buffered
        self._pending: list[_Pending] = []
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()
        self.unchecked_commits = 0
        """Commits since the last ``checkpoint()``."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the audit store: {exc}", str(path)) from None
        self._wal()
        self._db.execute("PRAGMA synchronous=NORMAL")
        if buffered:
            self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._migrate()

    @property
    def fsync_orders(self) -> bool:
        """Order writes reach the disk before the call returns (they reach the OS either way)."""
        return self._fsync_orders

    def close(self) -> None:
        self.flush()
        with self._checkpoint_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        self._db.close()

    def checkpoint(self) -> None:
        """Copy the WAL into the database file, on a connection of its own: safe to run in a thread while the
        store writes (PASSIVE: it waits for no writer, and a writer never waits for it).  A call while another
        runs returns at once."""
        if not self._checkpoint_lock.acquire(blocking=False):
            return
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self.path, isolation_level=None, timeout=10.0,
                                                     check_same_thread=False)
            self.unchecked_commits = 0
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            self._checkpoint_lock.release()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _wal(self, deadline_s: float = 10.0) -> None:
        """WAL mode.  Switching a new file to it takes an exclusive lock that SQLite does not wait for (no busy
        handler), so a second process opening the same new store retries for as long as it would wait on a lock."""
        give_up = time.monotonic() + deadline_s
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > give_up:
                    raise ConfigError(f"cannot open the audit store: {exc}", str(self.path)) from None
                time.sleep(0.01)

    @contextmanager
    def _transaction(self, durable: bool) -> Iterator[None]:
        """One write transaction, fsynced at commit when ``durable`` (and the store fsyncs order writes)."""
        durable = durable and self._fsync_orders
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            carried = self._pending
            try:
                self._write_pending()
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                # Events told before this write are kept for the next one; those told inside it go with it.
                self._pending = carried
                raise
            self.unchecked_commits += 1
        finally:
            if durable:
                self._db.execute("PRAGMA synchronous=NORMAL")

    # -- schema ----------------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Every missing migration in one write transaction that also reads what is applied: two processes
        creating the store at once (the daemon and a ``check --execute``) queue on the lock instead of both
        seeing an empty schema and the second failing on ``CREATE TABLE``."""
        with self._transaction(durable=True):
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                             "(version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)")
            done = {row[0] for row in self._db.execute("SELECT version FROM schema_migrations")}
            if done and max(done) > SCHEMA_VERSION:
                raise ConfigError(f"the audit store has schema version {max(done)}; this riskguard knows up to "
                                  f"{SCHEMA_VERSION}: upgrade riskguard", str(self.path))
            for version, script in enumerate(_MIGRATIONS, start=1):
                if version in done:
                    continue
                for statement in filter(str.strip, script.split(";")):
                    self._db.execute(statement)
                self._db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, self._now_ms()))

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # -- writing ---------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _text(self, value: str) -> str:
        masked = redact_known(value)
        return self._redactor.text(masked) if self._redactor else masked

    def _json(self, data: Mapping[str, Any]) -> str:
        text = json.dumps(data, sort_keys=True, default=str, allow_nan=True)
        return self._text(text)

    def event(self, run_id: str, account: str, kind: EventKind, message: str, data: Mapping[str, Any] | None = None,
              *, client_order_id: str | None = None, symbol: str | None = None) -> None:
        """Recorded now, or, in a buffered store outside a transaction, at the next flush (``data`` must not be
        changed after the call)."""
        self._pending.append((self._now_ms(), run_id, account, kind, message, data, client_order_id, symbol))
        if not self._buffered or self._db.in_transaction:
            self.flush()

    def flush(self) -> None:
        """Write the buffered events (one transaction)."""
        if not self._pending:
            return
        if self._db.in_transaction:  # inside an order write: its transaction carries them
            self._write_pending()
            return
        with self._transaction(durable=False):
            pass

    def _write_pending(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._db.executemany(
            "INSERT INTO events (ts_ms, run_id, account, kind, client_order_id, symbol, message, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(ts_ms, run_id, account, kind.value, client_order_id, symbol, self._text(message),
              self._json(data or {}))
             for ts_ms, run_id, account, kind, message, data, client_order_id, symbol in pending],
        )

    def record_intent(self, run_id: str, record: OrderRecord, data: Mapping[str, Any]) -> None:
        """The intent row and its event in one transaction, committed before the caller sends anything."""
        with self._transaction(durable=True):
            self._insert_order(record)
            self.event(run_id, record.account, EventKind.INTENT, f"{record.kind} {record.side} {record.amount:g} "
                       f"{record.symbol}", data, client_order_id=record.client_order_id, symbol=record.symbol)

    def record_unsent(self, record: OrderRecord) -> None:
        """An order its plan decided not to send (refused, or nothing left to send), in its final state.

        A rerun of the plan after a crash then finds the decision instead of making it again on a position the
        plan's own later orders have changed since: an uninterrupted run refused a limit that did not fit beside
        the one resting, and a rerun, after the plan's market close had shrunk the position, placed it."""
        with self._transaction(durable=True):
            self._insert_order(record)

    def _insert_order(self, record: OrderRecord) -> None:
        now = self._now_ms()
        self._db.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.client_order_id, record.account, record.venue, record.plan_hash, record.order_index,
             record.symbol, record.side, record.kind, record.amount, record.state.value, record.venue_order_id,
             record.filled, now, now),
        )

    def update_order(self, run_id: str, client_order_id: str, state: OrderState, *, venue_order_id: str | None = None,
                     filled: float | None = None, amount: float | None = None, message: str = "",
                     data: Mapping[str, Any] | None = None) -> None:
        """A new state for an order, and the state change as an event, in one transaction."""
        current = self.order(client_order_id)
        if current is None:
            raise KeyError(client_order_id)
        with self._transaction(durable=True):
            self._db.execute(
                "UPDATE orders SET state = ?, venue_order_id = COALESCE(?, venue_order_id), "
                "filled = COALESCE(?, filled), amount = COALESCE(?, amount), updated_ms = ? "
                "WHERE client_order_id = ?",
                (state.value, venue_order_id, filled, amount, self._now_ms(), client_order_id),
            )
            text = f"{current.state} → {state}" + (f": {message}" if message else "")
            self.event(run_id, current.account, EventKind.STATE, text, data, client_order_id=client_order_id,
                       symbol=current.symbol)

    # -- reading ---------------------------------------------------------------------------------

    def order(self, client_order_id: str) -> OrderRecord | None:
        row = self._db.execute(
            "SELECT client_order_id, account, venue, plan_hash, order_index, symbol, side, kind, amount, state, "
            "venue_order_id, filled FROM orders WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()
        if row is None:
            return None
        return OrderRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], OrderState(row[9]),
                           row[10], row[11])

    def orders(self, plan_hash: str | None = None) -> list[OrderRecord]:
        query = "SELECT client_order_id FROM orders" + (" WHERE plan_hash = ?" if plan_hash else "")
        ids = [r[0] for r in self._db.execute(query + " ORDER BY created_ms, order_index",
                                               (plan_hash,) if plan_hash else ())]
        return [o for i in ids if (o := self.order(i)) is not None]

    def events(self, account: str | None = None, since_ms: int | None = None,
               kinds: tuple[str, ...] = ()) -> list[Event]:
        self.flush()
        where: list[str] = []
        args: list[Any] = []
        if account is not None:
            where.append("account = ?")
            args.append(account)
        if since_ms is not None:
            where.append("ts_ms >= ?")
            args.append(since_ms)
        if kinds:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            args.extend(kinds)
        query = "SELECT id, ts_ms, run_id, account, kind, client_order_id, symbol, message, data FROM events"
        if where:
            query += " WHERE " + " AND ".join(where)
        with closing(self._db.execute(query + " ORDER BY id", args)) as cursor:
            return [Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8])) for r in cursor]

    def dump_text(self) -> Iterator[str]:
        """Every stored text value (for tests that grep the store for secrets)."""
        self.flush()
        for table in ("events", "orders", "schema_migrations"):
            for row in self._db.execute(f"SELECT * FROM {table}"):
                yield from (str(v) for v in row)
