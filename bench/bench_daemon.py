"""Daemon benchmarks against the emulator (figures in docs/daemon.md).

1. reaction latency: from a mark update pushed on the emulator's websocket to the reduce-only order arriving at
   the emulator (the daemon's stream read, evaluation, plan, position re-read and send), in-process;
2. accounts held at one mark update per second each: CPU share and memory of the process, evaluations kept up;
(the gate API's answer latency over loopback HTTP is bench/bench_gate.py's.)

Run: ``python bench/bench_daemon.py [latency|accounts N]`` (both, with N=100, by default).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from riskguard.config import load_config
from riskguard.daemon.rehearsal import REHEARSAL_POLICY, settle, streaming
from riskguard.daemon.runner import Daemon
from riskguard.sim import serve
from riskguard.sim.engine import AccountSpec, PositionSpec
from riskguard.sim.scenario import Scenario
from riskguard.sim.streams import HUB

BTC = "BTC/USDT:USDT"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _config(base_url: str, names: list[str], mode: str, tmp: str, extra: str = "") -> Path:
    accounts = "".join(
        f"  {n}:\n    venue: binanceusdm\n    endpoint: {base_url}\n    mode: {mode}\n"
        f"    credentials: {{api_key: \"${{RGB_{i}_KEY}}\", secret: \"${{RGB_{i}_SECRET}}\"}}\n"
        for i, n in enumerate(names))
    for i, n in enumerate(names):
        os.environ[f"RGB_{i}_KEY"], os.environ[f"RGB_{i}_SECRET"] = f"{n}-key", f"{n}-secret"
    path = Path(tmp) / "config.yaml"
    path.write_text(f"version: 2\ndefaults: {{policy: guard}}\n{REHEARSAL_POLICY}accounts:\n{accounts}"
                    f"daemon:\n  audit_db: {tmp}/audit.sqlite3\n  poll_s: 30\n  reconcile_s: 600\n  stale_s: 60\n"
                    f"  kill_switch: {{max_orders_per_minute: 1000}}\n{extra}")
    return path


def _scenario(names: list[str]) -> Scenario:
    return Scenario(marks={"BTCUSDT": 118_000.0}, accounts=tuple(
        AccountSpec(f"{n}-key", f"{n}-secret", {"USDT": 5000.0},
                    positions=(PositionSpec("BTCUSDT", -1.0, 118_000.0, 50.0),)) for n in names))


async def latency(samples: int = 20, gap_s: float = 2.0) -> None:
    """``gap_s`` between reactions: with none, ccxt's spacing of Binance request weight (50 ms per unit, a
    position read weighs 5) sets the pace instead of the daemon."""
    sim = await serve("binanceusdm", scenario=_scenario(["guarded"]))
    tmp = tempfile.mkdtemp()
    daemon = Daemon(load_config(_config(sim.base_url, ["guarded"], "execute", tmp)), execute=True)
    task = asyncio.create_task(daemon.run())
    await daemon.ready.wait()
    worker = daemon.workers["guarded"]
    exchange, hub = sim.player.exchange, sim.app[HUB]
    account = exchange.accounts["guarded-key"]
    await streaming(hub, "BTCUSDT")
    [(key, original)] = account.positions.items()
    got: list[float] = []
    for i in range(samples):
        # The same start every time: the original position and wallet, put back in the emulator's book.
        account.balances["USDT"] = 5000.0
        account.positions.clear()
        account.positions[key] = dataclasses.replace(original, updated_ms=exchange.now_ms())
        safe = 117_990.0 - i  # a change, so the stream carries it
        exchange.set_mark("BTCUSDT", safe)
        await hub.publish()
        await settle(worker, BTC, safe)
        deadline = time.monotonic() + 10
        while abs(_held(worker) - 1.0) > 1e-9 or not worker.idle.is_set():  # the restored position read back
            if time.monotonic() > deadline:
                raise RuntimeError(f"sample {i}: the daemon holds {_held(worker)} after the restore")
            await asyncio.sleep(0.001)
        await asyncio.sleep(gap_s)  # let ccxt's rate-limit bucket refill, as between real reactions
        sim.requests.clear()
        breach = 119_500.0 + i  # a new mark each time: a new plan, new client order ids
        t0 = time.monotonic()
        exchange.set_mark("BTCUSDT", breach)
        await hub.publish()
        waited = 0
        while not any(r.method == "POST" and r.path == "/fapi/v1/order" for r in sim.requests):
            await asyncio.sleep(0.0005)
            waited += 1
            if waited > 20_000:
                raise RuntimeError(f"no order after the breach at sample {i}: state {worker.live.state}")
        sent = next(r.at_s for r in sim.requests if r.method == "POST" and r.path == "/fapi/v1/order")
        got.append((sent - t0) * 1000)
        await settle(worker, BTC, breach)
    daemon.stop.set()
    await task
    await sim.close()
    ms = got[3:]  # the first ones warm the caches
    print(f"reaction latency, mark pushed -> order at the emulator ({len(ms)} samples, {gap_s:g} s apart): "
          f"p50 {statistics.median(ms):.2f} ms, p99 {_pct(ms, 0.99):.2f} ms, max {max(ms):.2f} ms")


def _held(worker: Any) -> float:
    loaded = worker.live.loaded
    if loaded is None or loaded.account is None:
        return 0.0
    return sum(p.contracts for p in loaded.account.positions)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def accounts(n: int, seconds: int = 20) -> None:
    """``n`` accounts, each with its own streams; the mark moves once a second; the emulator runs in a separate
    process so that only the daemon's CPU is counted."""
    import subprocess

    import yaml

    names = [f"acct{i:04d}" for i in range(n)]
    tmp = tempfile.mkdtemp()
    scenario_path = Path(tmp) / "scenario.yaml"
    scenario_path.write_text(yaml.safe_dump({
        "marks": {"BTCUSDT": 118000.0},
        "accounts": [{"api_key": f"{a}-key", "secret": f"{a}-secret", "balances": {"USDT": 50000.0},
                      "positions": [{"symbol": "BTCUSDT", "size": -0.1, "entry": 118000.0, "leverage": 20}]}
                     for a in names],
        "path": [{"at_s": 1.0 * k, "marks": {"BTCUSDT": 118000.0 + 10 * (k % 7)}} for k in range(1, 100_000)],
    }))
    port = 18000 + os.getpid() % 1000
    sim = subprocess.Popen([sys.executable, "-c", "from riskguard.cli import main; main()", "sim",
                            "--venue", "binanceusdm", "--port", str(port), "--scenario", str(scenario_path)],
                           stdout=subprocess.PIPE)
    assert sim.stdout is not None
    if "emulator at" not in sim.stdout.readline().decode():
        raise RuntimeError(f"the emulator did not start (exit {sim.wait()})")
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(load_config(_config(base, names, "recommend", tmp)), execute=False)
    started = time.monotonic()
    task = asyncio.create_task(daemon.run())
    await daemon.ready.wait()
    print(f"daemon ready (clients built, markets loaded) after {time.monotonic() - started:.1f} s", flush=True)
    workers = list(daemon.workers.values())
    while not all(w.marks_seen for w in workers):
        if time.monotonic() - started > 60 + n:
            silent = [w for w in workers if not w.marks_seen]
            print(f"{len(silent)} of {n} accounts have no streamed mark after {60 + n} s; states: "
                  f"{sorted({(w.live.state, w.steps) for w in silent})[:10]}", flush=True)
            break
        await asyncio.sleep(0.1)
    ready_s = time.monotonic() - started
    if len(silent := [w for w in workers if not w.marks_seen]) == n:
        raise RuntimeError("no account streams: nothing to measure")
    lags: dict[str, list[float]] = {w.name: [] for w in workers}
    ticks = {w.name: 0 for w in workers}
    for w in workers:
        _time_evaluations(w, lags[w.name], ticks)
    steps0, cpu0, t0 = sum(w.steps for w in workers), _cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    steps, cpu, elapsed = sum(w.steps for w in workers) - steps0, _cpu() - cpu0, time.monotonic() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    daemon.stop.set()
    await task
    sim.terminate()
    sim.wait()
    every = sorted(x for v in lags.values() for x in v)
    late = sum(1 for v in lags.values() if not v or max(v) >= 1.0)
    fewest = min(ticks.values()) / elapsed
    print(f"{n} accounts at 1 mark update/s each: {steps / elapsed:.0f} evaluations/s "
          f"({steps / elapsed / n:.2f} per account per s), CPU {100 * cpu / elapsed:.0f}% of one core, "
          f"peak RSS {rss_mb:.0f} MB, all streaming after {ready_s:.1f} s; mark received -> evaluated: "
          f"p50 {1000 * _pct(every, 0.5):.0f} ms, p99 {1000 * _pct(every, 0.99):.0f} ms, "
          f"max {1000 * every[-1]:.0f} ms; accounts with an update not evaluated within 1 s: {late}; "
          f"fewest updates received by one account: {fewest:.2f}/s")


def _time_evaluations(worker: Any, lags: list[float], ticks: dict[str, int]) -> None:
    """Per account, the time from the first mark of a step's batch arriving to that step's end."""
    on_mark, step = worker.on_mark, worker.step
    first: list[float] = []

    def timed_mark(symbol: str, mark: float) -> None:
        ticks[worker.name] += 1
        if not first:
            first.append(time.monotonic())
        on_mark(symbol, mark)

    async def timed_step(trigger: Any) -> Any:
        arrived = first.pop() if first else None
        try:
            return await step(trigger)
        finally:
            if arrived is not None:
                lags.append(time.monotonic() - arrived)

    worker.on_mark, worker.step = timed_mark, timed_step


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("latency", "all"):
        asyncio.run(latency())
        asyncio.run(latency(gap_s=0.0))
    if what in ("accounts", "all"):
        asyncio.run(accounts(int(sys.argv[2]) if len(sys.argv) > 2 else 100))


if __name__ == "__main__":
    main()
