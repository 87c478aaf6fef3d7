"""The audit store: where it lives, WAL, versioned schema, atomic intents, redaction."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from riskguard.connectors.redact import Redactor
from riskguard.errors import ConfigError
from riskguard.execution.audit_log import parse_since
from riskguard.execution.audit_store import SCHEMA_VERSION, AuditStore, EventKind, OrderRecord, OrderState, default_path

KEY = "AuditKey-9Wq2Lm5Rt8Zx"


def record(cid: str = "rgabc") -> OrderRecord:
    return OrderRecord(cid, "acct", "binanceusdm", "f" * 64, 0, "BTC/USDT:USDT", "sell", "market", 0.5,
                       OrderState.INTENT, None, 0.0)


def test_default_path_env_then_config_then_xdg_then_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RISKGUARD_AUDIT_DB", str(tmp_path / "env.db"))
    assert default_path(tmp_path / "cfg.db") == tmp_path / "env.db"
    monkeypatch.delenv("RISKGUARD_AUDIT_DB")
    assert default_path(tmp_path / "cfg.db") == tmp_path / "cfg.db"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "riskguard" / "audit.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local" / "share" / "riskguard" / "audit.sqlite3"


def test_wal_mode_and_versioned_schema(tmp_path: Path) -> None:
    path = tmp_path / "a" / "audit.sqlite3"
    with AuditStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT version FROM schema_migrations").fetchall() == [(1,)]
    with AuditStore(path) as store:  # reopening applies nothing twice
        assert store.schema_version == 1
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_migrations VALUES (7, 0)")
    with pytest.raises(ConfigError, match="schema version 7; this riskguard knows up to 1"):
        AuditStore(path)


def test_intent_is_committed_with_its_event_and_cannot_be_written_twice(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    store = AuditStore(path, clock=lambda: 1_700_000_000.0)
    store.record_intent("run1", record(), {"call": {"amount": 0.5}})
    # Another connection (a process started after a crash) sees it at once: it was committed, not buffered.
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT state, amount FROM orders").fetchall() == [("intent", 0.5)]
    with pytest.raises(sqlite3.IntegrityError):
        store.record_intent("run2", record(), {})
    assert [e.kind for e in store.events()] == ["intent"]  # the failed second intent left no event behind
    store.update_order("run1", "rgabc", OrderState.FILLED, venue_order_id="42", filled=0.5)
    assert store.order("rgabc") == OrderRecord("rgabc", "acct", "binanceusdm", "f" * 64, 0, "BTC/USDT:USDT",
                                               "sell", "market", 0.5, OrderState.FILLED, "42", 0.5)
    [_, change] = store.events()
    assert (change.kind, change.message, change.ts_ms) == ("state", "intent → filled", 1_700_000_000_000)


def test_secrets_are_masked_in_every_field(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit.sqlite3", Redactor([KEY]))
    echoed = f'{{"url": "/fapi/v1/order?signature=abcdef0123", "headers": {{"X-MBX-APIKEY": "{KEY}"}}}}'
    store.event("r", "acct", EventKind.ERROR, f"venue said: {echoed}", {"body": echoed, KEY: KEY.lower()})
    text = "\n".join(store.dump_text())
    assert KEY.lower() not in text.lower() and "abcdef0123" not in text
    assert "***" in text


def test_events_filtered_by_account_and_time(tmp_path: Path) -> None:
    now = [1_000.0]
    store = AuditStore(tmp_path / "audit.sqlite3", clock=lambda: now[0])
    store.event("r", "a", EventKind.PLAN, "first")
    now[0] = 2_000.0
    store.event("r", "b", EventKind.PLAN, "second")
    store.event("r", "a", EventKind.ERROR, "third")
    assert [e.message for e in store.events("a")] == ["first", "third"]
    assert [e.message for e in store.events(since_ms=1_500_000)] == ["second", "third"]
    assert [e.message for e in store.events(kinds=("error",))] == ["third"]


def test_parse_since() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert parse_since("1h", now) == int(datetime(2026, 12, 1, 5, 0, tzinfo=UTC).timestamp() * 1000)
    assert parse_since("90m", now) == int(datetime(2026, 12, 1, 4, 30, tzinfo=UTC).timestamp() * 1000)
    assert parse_since("2026-11-30T06:00:00Z") == int(datetime(2026, 11, 30, 6, tzinfo=UTC).timestamp() * 1000)
    assert parse_since("2026-11-30T06:00:00") == parse_since("2026-11-30T06:00:00+00:00")


def _open_at_barrier(path: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        with AuditStore(Path(path)) as store:
            results.put(("ok", store.schema_version))
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_processes_creating_the_store_at_once_all_open_it(tmp_path: Path) -> None:
    """The daemon and a ``check --execute`` (or two daemons) starting together on a new file: each process opens
    the store with the schema applied once, none fails on a table another just created or on the WAL switch."""
    ctx = multiprocessing.get_context("fork")
    for round_ in range(10):  # the race lost in about half the rounds before the fix
        path = tmp_path / f"r{round_}" / "audit.sqlite3"
        barrier, results = ctx.Barrier(4), ctx.Queue()
        workers = [ctx.Process(target=_open_at_barrier, args=(str(path), barrier, results)) for _ in range(4)]
        for w in workers:
            w.start()
        outcomes = [results.get(timeout=60) for _ in workers]
        for w in workers:
            w.join(timeout=60)
        assert outcomes == [("ok", SCHEMA_VERSION)] * 4
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT version FROM schema_migrations").fetchall() == [(1,)]


def _committed(path: Path, sql: str = "SELECT kind, message, ts_ms FROM events ORDER BY id") -> list[tuple]:
    """What another connection (another process, a restart) sees."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        return other.execute(sql).fetchall()


def test_a_buffered_store_writes_events_at_a_flush_in_order_with_their_own_time(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    now = [1_700_000_000.0]
    store = AuditStore(path, clock=lambda: now[0], buffered=True)
    store.event("run1", "acct", EventKind.STATE, "first")
    now[0] += 1
    store.event("run1", "acct", EventKind.ERROR, "second")
    assert _committed(path) == []  # held, not written yet
    store.flush()
    assert _committed(path) == [("state", "first", 1_700_000_000_000), ("error", "second", 1_700_000_001_000)]
    store.flush()  # nothing twice
    assert len(_committed(path)) == 2
    store.close()


def test_an_order_write_carries_the_buffered_events_before_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    store = AuditStore(path, buffered=True)
    store.event("run1", "acct", EventKind.PLAN, "executing plan")
    store.record_intent("run1", record(), {"call": {"amount": 0.5}})
    # Committed together, before the caller sends anything, in the order they were told.
    assert [(k, m) for k, m, _ in _committed(path)] == [("plan", "executing plan"),
                                                        ("intent", "market sell 0.5 BTC/USDT:USDT")]
    assert _committed(path, "SELECT state FROM orders") == [("intent",)]
    store.event("run1", "acct", EventKind.REQUEST, "create")
    store.update_order("run1", "rgabc", OrderState.FILLED, filled=0.5)
    assert [k for k, _, _ in _committed(path)] == ["plan", "intent", "request", "state"]
    store.close()


def test_a_failed_order_write_keeps_the_buffered_events_for_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    store = AuditStore(path, buffered=True)
    store.record_intent("run1", record(), {})
    store.event("run1", "acct", EventKind.PLAN, "again")
    with pytest.raises(sqlite3.IntegrityError):
        store.record_intent("run2", record(), {})  # rolled back, "again" with it
    assert [k for k, _, _ in _committed(path)] == ["intent"]
    store.flush()
    assert [(k, m) for k, m, _ in _committed(path)][1:] == [("plan", "again")]  # once, not lost, not doubled
    store.close()


def test_close_writes_what_a_buffered_store_holds(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    store = AuditStore(path, buffered=True)
    store.event("run1", "acct", EventKind.VERIFY, "as planned")
    store.close()
    assert [(k, m) for k, m, _ in _committed(path)] == [("verify", "as planned")]


def test_a_buffered_store_checkpoints_only_when_asked_and_from_any_thread(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    store = AuditStore(path, buffered=True)
    for i in range(400):  # about 2,000 WAL pages: twice SQLite's auto-checkpoint threshold
        store.event("run1", "acct", EventKind.STATE, f"event {i}", {"pad": "x" * 3000})
        store.flush()
    assert store.unchecked_commits > 400  # the schema, then one per flush
    size = path.stat().st_size
    assert size < 64 * 1024  # every page still in the WAL: no commit copied it over
    worker = threading.Thread(target=store.checkpoint)
    worker.start()
    worker.join()
    assert store.unchecked_commits == 0
    assert path.stat().st_size > 400 * 3000  # now in the database file
    store.close()
    assert len(_committed(path)) == 400
    unbuffered = AuditStore(tmp_path / "plain.sqlite3")  # check --execute keeps SQLite's own checkpoints
    assert unbuffered._db.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    unbuffered.close()


def test_an_event_told_inside_a_failed_order_write_goes_with_it(tmp_path: Path) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("cannot be recorded")

    path = tmp_path / "audit.sqlite3"
    store = AuditStore(path, buffered=True)
    store.event("run1", "acct", EventKind.PLAN, "before")
    with pytest.raises(RuntimeError):
        store.record_intent("run1", record(), {"call": Unprintable()})  # its own event fails: all rolled back
    store.event("run1", "acct", EventKind.ERROR, "after")
    store.flush()  # the failed intent's event is not retried (it would fail every later write)
    assert [(k, m) for k, m, _ in _committed(path)] == [("plan", "before"), ("error", "after")]
    assert _committed(path, "SELECT COUNT(*) FROM orders") == [(0,)]
    store.close()


@pytest.mark.parametrize("fsync_orders", [True, False])
def test_an_order_write_is_flushed_to_disk_only_when_the_store_fsyncs_orders(tmp_path: Path,
                                                                             fsync_orders: bool) -> None:
    """``synchronous=FULL`` is what makes SQLite fsync the WAL at a commit; a plain event never asks for it."""
    store = AuditStore(tmp_path / "audit.sqlite3", buffered=True, fsync_orders=fsync_orders)
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.event("run1", "acct", EventKind.PLAN, "plan")
    store.flush()
    assert "PRAGMA synchronous=FULL" not in statements
    statements.clear()
    store.record_intent("run1", record(), {})
    assert ("PRAGMA synchronous=FULL" in statements[:statements.index("COMMIT")]) is fsync_orders
    assert store.fsync_orders is fsync_orders


def _intent_then_kill(path: str) -> None:
    store = AuditStore(Path(path), buffered=True, fsync_orders=False)
    store.event("run1", "acct", EventKind.PLAN, "executing plan")
    store.record_intent("run1", record(), {"call": {"amount": 0.5}})
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no flush: the process dies as the request would leave


def test_an_intent_not_fsynced_survives_kill_9_of_its_process(tmp_path: Path) -> None:
    """``audit_durability: process_crash``: the intent is in the OS when the call returns, so a killed process
    loses neither it nor the events the order write carried."""
    path = tmp_path / "audit.sqlite3"
    child = multiprocessing.get_context("fork").Process(target=_intent_then_kill, args=(str(path),))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL
    assert _committed(path, "SELECT state, amount FROM orders") == [("intent", 0.5)]
    assert [kind for kind, _, _ in _committed(path)] == ["plan", "intent"]
