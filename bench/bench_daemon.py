"""Daemon benchmarks against the emulator (figures in docs/daemon.md).

1. reaction latency: from a mark update pushed on the emulator's websocket to the reduce-only order arriving at
   the emulator (the daemon's stream read, evaluation, plan, position re-read, intent and send), in-process,
   p50/p90/p99/max over enough reactions for a p99 (the 199th of 200);
2. accounts held at one mark update per second each: CPU share and memory of the process, evaluations kept up;
(the gate API's answer latency over loopback HTTP is bench/bench_gate.py's.)

Run: ``python bench/bench_daemon.py [latency [SAMPLES [QUIET_S [DURABILITY]]]|accounts N]`` (both, with 200
reactions 0.1 s apart and N=100, by default; DURABILITY is the daemon's ``audit_durability``, ``process_crash`` by
default as the daemon's, ``power_loss`` to put the disk flush into the reaction).  200 reactions take about a
minute on the 2-core machine; it prints the load average, each stage's share, what else happened inside the
reactions (collections, checkpoints, preemption) and how fast the host ran.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import math
import os
import resource
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
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it (p99 of 200 is the
    second largest)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def _config(base_url: str, names: list[str], mode: str, tmp: str, extra: str = "") -> Path:
    accounts = "".join(
        f"  {n}:\n    venue: binanceusdm\n    endpoint: {base_url}\n    mode: {mode}\n"
        f"    credentials: {{api_key: \"${{RGB_{i}_KEY}}\", secret: \"${{RGB_{i}_SECRET}}\"}}\n"
        for i, n in enumerate(names))
    for i, n in enumerate(names):
        os.environ[f"RGB_{i}_KEY"], os.environ[f"RGB_{i}_SECRET"] = f"{n}-key", f"{n}-secret"
    path = Path(tmp) / "config.yaml"
    path.write_text(f"version: 2\ndefaults: {{policy: guard}}\n{REHEARSAL_POLICY}accounts:\n{accounts}"
                    f"daemon:\n  audit_db: {tmp}/audit.sqlite3\n"
                    f"  kill_switch: {{max_orders_per_minute: 1000}}\n{extra}")
    return path


def _scenario(names: list[str]) -> Scenario:
    return Scenario(marks={"BTCUSDT": 118_000.0}, accounts=tuple(
        AccountSpec(f"{n}-key", f"{n}-secret", {"USDT": 5000.0},
                    positions=(PositionSpec("BTCUSDT", -1.0, 118_000.0, 50.0),)) for n in names))


STAGES = ("received", "woke", "evaluated", "planned", "position", "intent", "create", "arrived")
"""A reaction's time stamps in order: the breach mark handed to the worker by the stream (ccxt parsed it), the
worker's step begins, the evaluation before the plan done (rules, signals), the plan made, the position re-read
(the book, else REST), the intent committed, the create call made, the request at the emulator."""


class _Probe:
    """Time stamps of one reaction's stages and the collector's pauses, taken by wrapping the daemon's own objects
    (nothing in the daemon knows about it; the wrappers cost a clock read each)."""

    def __init__(self, daemon: Any, worker: Any) -> None:
        import riskguard.check as check_module
        import riskguard.daemon.worker as worker_module

        self.marks: dict[str, float] = {}
        self.armed = False
        self.gc_ms: list[tuple[int, float, float]] = []
        """(generation, start, ms) of every collection while armed."""
        self._gc_at = 0.0
        self._db_path = worker.store.path
        self.before: tuple[int, int] | None = None
        self.after: tuple[int, int] | None = None
        """``_machine()`` when armed and when the create call is made."""
        self.gc_all: list[tuple[int, float]] = []
        """(generation, ms) of every collection since the probe was set up."""
        stamp = self._stamp
        on_mark, step, evaluate = worker.on_mark, worker.step, worker_module.evaluate_loaded
        plan_account, book_venue = check_module.plan_account, worker_module.BookFirstVenue
        store, venue = worker.store, worker.venue
        record_intent, create = store.record_intent, venue.create

        def timed_mark(symbol: str, mark: float) -> None:
            stamp("received")
            on_mark(symbol, mark)

        async def timed_step(trigger: Any) -> Any:
            stamp("woke")
            return await step(trigger)

        def timed_evaluate(*args: Any, **kwargs: Any) -> Any:
            try:
                return evaluate(*args, **kwargs)
            finally:
                stamp("planned")

        def timed_plan(*args: Any, **kwargs: Any) -> Any:
            stamp("evaluated")
            return plan_account(*args, **kwargs)

        class TimedBookVenue(book_venue):  # type: ignore[misc, valid-type]
            async def positions(self, symbol: str) -> Any:
                try:
                    return await super().positions(symbol)
                finally:
                    stamp("position")

        def timed_intent(*args: Any, **kwargs: Any) -> None:
            record_intent(*args, **kwargs)
            stamp("intent")

        async def timed_create(call: Any) -> Any:
            stamp("create")
            if self.armed and self.before is not None:
                self.after = _machine(store.path)
            return await create(call)

        worker.on_mark, worker.step, store.record_intent, venue.create = (
            timed_mark, timed_step, timed_intent, timed_create)
        worker_module.evaluate_loaded, check_module.plan_account = timed_evaluate, timed_plan
        worker_module.BookFirstVenue = TimedBookVenue  # type: ignore[misc]
        gc.callbacks.append(self._on_gc)

    def _stamp(self, stage: str) -> None:
        if self.armed and stage not in self.marks:  # the first of each: the reaction's own
            self.marks[stage] = time.monotonic()

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_at = time.perf_counter()
            return
        ms = 1000 * (time.perf_counter() - self._gc_at)
        self.gc_all.append((info["generation"], ms))
        if self.armed:
            self.gc_ms.append((info["generation"], time.monotonic(), ms))

    def arm(self) -> None:
        self.marks, self.gc_ms, self.armed = {}, [], True
        self.before, self.after = _machine(self._db_path), None

    def close(self) -> None:
        gc.callbacks.remove(self._on_gc)


@dataclasses.dataclass
class Reaction:
    total_ms: float
    stages_ms: dict[str, float]
    """Per stage, the time since the previous stage (``received``: since the mark was pushed)."""
    gc: list[tuple[int, float]]
    """(generation, ms) of each collection inside the reaction."""
    checkpointed: bool
    """The audit database file grew before the order left: a WAL checkpoint ran meanwhile."""
    preempted: int
    """Times the event loop's thread was descheduled involuntarily before the order left (other processes)."""


def _machine(db: Path) -> tuple[int, int]:
    """The audit database file's size and the thread's involuntary context switches so far."""
    return os.stat(db).st_size, resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw


async def latency(samples: int = 200, gap_s: float = 0.1, durability: str = "process_crash",
                  warmup: int = 5) -> list[Reaction]:
    """``samples`` reactions, each from the same start, ``gap_s`` of quiet before each breach.

    Before every breach the request bucket of the daemon's client is filled, as a quiet spell between real
    reactions fills it (without that, the bucket's spacing of Binance request weight would set the pace of a
    benchmark that reacts several times a second instead of the daemon)."""
    sim = await serve("binanceusdm", scenario=_scenario(["guarded"]))
    tmp = tempfile.mkdtemp()
    # One reaction at a time is measured: no periodic read in the middle of the run (the accounts figure runs at
    # the defaults, reconciles included).
    extra = f"  poll_s: 30\n  reconcile_s: 600\n  stale_s: 60\n  audit_durability: {durability}\n"
    daemon = Daemon(load_config(_config(sim.base_url, ["guarded"], "execute", tmp, extra)), execute=True)
    task = asyncio.create_task(daemon.run())
    await daemon.ready.wait()
    worker = daemon.workers["guarded"]
    probe = _Probe(daemon, worker)
    venue: Any = worker.venue
    bucket = venue.exchange.throttle
    exchange, hub = sim.player.exchange, sim.app[HUB]
    account = exchange.accounts["guarded-key"]
    await streaming(hub, "BTCUSDT")
    [(key, original)] = account.positions.items()
    got: list[Reaction] = []
    load = os.getloadavg()[0]
    for i in range(samples + warmup):
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
        await asyncio.sleep(gap_s)
        bucket.tokens = bucket.capacity
        sim.requests.clear()
        breach = 119_500.0 + i  # a new mark each time: a new plan, new client order ids
        probe.arm()
        t0 = time.monotonic()
        exchange.set_mark("BTCUSDT", breach)
        await hub.publish()
        deadline = t0 + 10
        while not (sent := [r.at_s for r in sim.requests if r.method == "POST" and r.path == "/fapi/v1/order"]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no order after the breach at sample {i}: state {worker.live.state}")
            await asyncio.sleep(0.0005)
        probe.armed = False
        stamps = {"pushed": t0, **probe.marks, "arrived": sent[0]}
        missing = [s for s in STAGES if s not in stamps]
        if missing:
            raise RuntimeError(f"sample {i}: no time stamp for {missing}")
        if i >= warmup:  # the first ones warm the caches
            got.append(Reaction(1000 * (sent[0] - t0), {
                s: 1000 * (stamps[s] - stamps[prev]) for prev, s in zip(("pushed", *STAGES), STAGES, strict=False)},
                [(g, ms) for g, at, ms in probe.gc_ms if at <= sent[0]],
                probe.after is not None and probe.before is not None and probe.after[0] != probe.before[0],
                probe.after[1] - probe.before[1] if probe.after is not None and probe.before is not None else 0))
        await settle(worker, BTC, breach)
    daemon.stop.set()
    await task
    await sim.close()
    probe.close()
    _report(got, gap_s, durability, load, os.getloadavg()[0], probe.gc_all)
    print(f"  host speed: a 10,000,000-step Python loop takes {_loop_s():.2f} s now (0.30-0.33 s on the development "
          "machine at its usual speed; the same host has run ~1.6x slower for an hour, every stage slowed alike)")
    return got


def _loop_s() -> float:
    """A fixed piece of interpreter work, timed: virtual hosts change speed by half within an hour, and a latency
    figure means little without knowing which speed it was taken at."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


def _report(got: list[Reaction], gap_s: float, durability: str, load_before: float, load_after: float,
            collections: list[tuple[int, float]]) -> None:
    ms = [r.total_ms for r in got]
    print(f"reaction latency, mark pushed -> order at the emulator: {len(ms)} samples, {gap_s:g} s quiet before "
          f"each, audit_durability {durability}, "
          f"load average {load_before:.2f} -> {load_after:.2f}\n"
          f"  p50 {_pct(ms, 0.5):.2f} ms, p90 {_pct(ms, 0.9):.2f} ms, p99 {_pct(ms, 0.99):.2f} ms, "
          f"max {max(ms):.2f} ms; over 20 ms: {sum(1 for x in ms if x >= 20)}")
    print("  per stage (ms since the previous stage):   p50     p90     p99     max")
    for stage in STAGES:
        xs = [r.stages_ms[stage] for r in got]
        print(f"    {stage:<38} {_pct(xs, 0.5):7.2f} {_pct(xs, 0.9):7.2f} {_pct(xs, 0.99):7.2f} {max(xs):7.2f}")
    with_gc = [r for r in got if r.gc]
    print(f"  reactions with a garbage collection inside: {len(with_gc)} "
          f"(generations {sorted({g for r in with_gc for g, _ in r.gc})}, "
          f"longest {max((ms for r in with_gc for _, ms in r.gc), default=0):.2f} ms); over the whole run: "
          + ", ".join(f"generation {g} {len(ms)} x, longest {max(ms):.2f} ms" for g in range(3)
                      if (ms := [m for gen, m in collections if gen == g])))
    print(f"  reactions with a WAL checkpoint before the order left: {sum(r.checkpointed for r in got)}; "
          f"preempted by other processes: {sum(1 for r in got if r.preempted)}")
    print("  slowest 5: " + "; ".join(
        f"{r.total_ms:.1f} ms = " + " ".join(f"{s[:4]} {r.stages_ms[s]:.1f}" for s in STAGES)
        + (f" gc {' '.join(f'g{g}:{m:.1f}' for g, m in r.gc)}" if r.gc else "")
        + (" checkpoint" if r.checkpointed else "") + (f" preempted {r.preempted}x" if r.preempted else "")
        for r in sorted(got, key=lambda r: -r.total_ms)[:5]))


def _held(worker: Any) -> float:
    loaded = worker.live.loaded
    if loaded is None or loaded.account is None:
        return 0.0
    return sum(p.contracts for p in loaded.account.positions)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def accounts(n: int, seconds: int = 75) -> None:
    """``n`` accounts, each with its own streams; the mark moves once a second; the emulator runs in a separate
    process so that only the daemon's CPU is counted.  The daemon runs at its defaults, and the measured window
    is longer than ``reconcile_s`` (60 s): every account's periodic REST read falls inside it."""
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
        args = sys.argv[2:5] if what == "latency" else []
        samples, gap_s, durability = int(args[0]) if args else 200, float(args[1]) if args[1:] else 0.1, args[2:]
        asyncio.run(latency(samples, gap_s, *durability))
    if what in ("accounts", "all"):
        asyncio.run(accounts(int(sys.argv[2]) if len(sys.argv) > 2 else 100))


if __name__ == "__main__":
    main()
