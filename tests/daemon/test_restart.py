"""kill -9 at random moments, restart: no order is ever duplicated and pending work resumes from the audit store.

The daemon runs as a subprocess (``riskguard daemon --execute``) against an emulator in this process.  The
squeeze path advances between kills, so most runs find work to do; each kill lands a random 0-400 ms after
the run starts executing a plan (the position re-read, the intent write, the send, the answer, the
verification).  At the end one run is left to finish and is stopped with SIGTERM (graceful: exit 0).  The
emulator's own order log is the judge: one order per client id, each recorded in the audit store as filled
with the same amount, nothing left unresolved in the store, and the guarded account never liquidated.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from riskguard.daemon.rehearsal import SCENARIOS, rehearsal_config
from riskguard.execution.audit_store import AuditStore, OrderRecord, OrderState
from riskguard.sim import serve
from riskguard.sim.scenario import load_scenario
from riskguard.sim.streams import HUB
from tests.daemon.conftest import StartRig, until

SEED = int(os.environ.get("RISKGUARD_KILL_SEED", "20250714"))


async def _start(config: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from riskguard.cli import main; main()", "daemon", "--config", str(config),
        "--execute", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


def _query(audit_db: Path, sql: str) -> list[tuple]:
    """Read-only, without the store's migration: the daemon may be creating the schema at this very moment."""
    if not audit_db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{audit_db}?mode=ro", uri=True)) as db:
            return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # no tables yet
        return []


def _plans(audit_db: Path) -> int:
    return len(_query(audit_db, "SELECT id FROM events WHERE kind = 'plan' AND message LIKE 'executing plan%'"))


def _buffer(exchange: object) -> float:
    account = exchange.accounts["guarded-key"]  # type: ignore[attr-defined]
    [position] = account.positions.values()
    mark = exchange.marks["BTCUSDT"]  # type: ignore[attr-defined]
    return (exchange.liquidation_price(account, position) - mark) / mark  # type: ignore[attr-defined]


@pytest.mark.parametrize("durability", ["power_loss", "process_crash"])
async def test_kill_9_at_random_points_then_restart(tmp_path: Path, durability: str) -> None:
    """Either durability survives kill -9: process_crash leaves out only the disk flush, and a killed process's
    writes are in the OS already."""
    rng = random.Random(SEED)
    sim = await serve("binanceusdm", scenario=load_scenario(SCENARIOS["short-squeeze"]))
    exchange = sim.player.exchange
    audit_db = tmp_path / "audit.sqlite3"
    config = tmp_path / "config.yaml"
    config.write_text(rehearsal_config(sim.base_url, str(audit_db), "RGK_KEY", "RGK_SECRET").replace(
        "poll_s: 5", f"poll_s: 0.5\n  audit_durability: {durability}"))
    env = {**os.environ, "RGK_KEY": "guarded-key", "RGK_SECRET": "guarded-secret"}
    env.pop("RISKGUARD_AUDIT_DB", None)
    kills: list[float] = []
    try:
        for _ in range(4):  # the squeeze up to 119,000: the rule fires from here on
            sim.player.step()
        await sim.app[HUB].publish()
        for _round in range(6):
            plans = _plans(audit_db)
            process = await _start(config, env)
            # Aim the kill at the order path: a few milliseconds after the run starts executing a plan (or,
            # when there is nothing to do, anywhere in its first seconds).
            with contextlib.suppress(AssertionError):
                await until(lambda p=plans, proc=process: _plans(audit_db) > p or proc.returncode is not None,
                            timeout_s=4)
            delay = rng.uniform(0.0, 0.4)
            kills.append(round(delay, 3))
            try:
                await asyncio.wait_for(process.wait(), delay)
            except TimeoutError:
                process.send_signal(signal.SIGKILL)
            await process.wait()
            sim.player.step()
            await sim.app[HUB].publish()
        # The last run finishes the work and is stopped gracefully.
        process = await _start(config, env)
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert banner.startswith("riskguard daemon: 1 account(s), execute=True"), banner

        def done() -> bool:
            unresolved = _query(audit_db, "SELECT client_order_id FROM orders WHERE state IN ('intent', 'unknown')")
            states = _query(audit_db, "SELECT data FROM events WHERE kind = 'state' AND data LIKE '%trading_state%' "
                                      "ORDER BY id DESC LIMIT 1")
            return not unresolved and bool(states) and '"trading_state": "active"' in states[0][0]

        try:
            await until(done, timeout_s=60, what="the restarted daemon to finish")
        except AssertionError:
            process.send_signal(signal.SIGKILL)
            events = _query(audit_db, "SELECT run_id, kind, message FROM events ORDER BY id")
            raise AssertionError(f"kills at {kills}; buffer {_buffer(exchange):.4f}; events {events}") from None
        process.send_signal(signal.SIGTERM)
        output = (await asyncio.wait_for(process.communicate(), 30))[0].decode()
        assert process.returncode == 0, output
    finally:
        await sim.close()
    orders = list(exchange.accounts["guarded-key"].orders.values())
    assert orders, f"no order was ever sent (kills at {kills} s)"
    assert max(Counter(o.client_id for o in orders).values()) == 1
    with AuditStore(audit_db) as store:
        recorded = {r.client_order_id: r for r in store.orders()}
        assert all(r.state.final for r in recorded.values())
    for o in orders:
        assert recorded[o.client_id].state is OrderState.FILLED, (o.client_id, kills)
        assert recorded[o.client_id].filled == pytest.approx(o.filled)
    assert "guarded-key" not in {e.api_key for e in exchange.liquidations}
    assert _buffer(exchange) > 0.03  # the rule no longer fires: the work was finished, not dropped
    resumed = [m for (m,) in _query(audit_db, "SELECT message FROM events WHERE message LIKE '%restart%'")]
    print(f"kills at {kills}; orders {[(o.client_id[:10], o.filled) for o in orders]}; resumed {resumed}")


async def test_unresolved_intents_are_looked_up_before_anything_else(start_rig: StartRig, tmp_path: Path) -> None:
    """What a kill -9 between the intent write and the answer leaves behind, made on purpose: one order the
    venue got (adopted with the venue's fill, never re-sent) and one it never got (closed as skipped)."""
    from riskguard.sim.engine import OrderRequest, OrderType

    scenario = load_scenario(SCENARIOS["short-squeeze"])
    with AuditStore(tmp_path / "audit.sqlite3") as store:
        for cid, amount in (("rg" + "a" * 30, 0.1), ("rg" + "b" * 30, 0.2)):
            store.record_intent("dead-run", OrderRecord(cid, "guarded", "binanceusdm", "p" * 64, 0,
                                                        "BTC/USDT:USDT", "buy", "market", amount,
                                                        OrderState.INTENT, None, 0.0), {})
    rig = await start_rig(scenario, wait_streams=False, before_start=lambda ex: ex.place_order(
        ex.accounts["guarded-key"], OrderRequest("BTCUSDT", "buy", OrderType.MARKET, 0.1, reduce_only=True,
                                                 client_id="rg" + "a" * 30)))
    await rig.stop()
    with rig.store() as store:
        got, lost = store.order("rg" + "a" * 30), store.order("rg" + "b" * 30)
    assert got is not None and got.state is OrderState.FILLED and got.filled == pytest.approx(0.1)
    assert lost is not None and lost.state is OrderState.SKIPPED
    assert [o.client_id for o in rig.emulator_orders()].count("rg" + "a" * 30) == 1
    assert "rg" + "b" * 30 not in {o.client_id for o in rig.emulator_orders()}
