"""The pre-trade gate's answer time (issue 10): in-process ``Gate.check`` and ``Gate.size``, and the daemon's
gate API over loopback HTTP.

Targets: in-process under 2 ms on a 50-position cross account; the HTTP answer's p99 under 5 ms.

* in-process: the synthetic Binance USDⓈ-M accounts of ``bench_rules`` (10 and 50 cross positions, flat 1 %
  tier), one ``Gate`` per account and orders of varying size on a held symbol; p50 and p99 of 200 checks, and
  the median of 5 ``size`` searches;
* HTTP: the daemon against the emulator (one BTC short), ``POST /v1/gate`` from an aiohttp client in the same
  process over one keep-alive connection, orders of varying size; p50 and p99 of 500 requests after 20 warm-ups,
  in wall time and in the process's CPU time per request (client and server: on a shared machine the wall
  time's tail is mostly the scheduler);
* the first answer after a new read (a streamed mark), when the gate API builds the account's gate again.

Run: ``python bench/bench_gate.py [inprocess|http]`` (both by default).  The machine is shared: quote medians of
several runs.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_daemon import _config, _pct, _scenario
from bench_rules import MARKETS, SPEC, TAKEN_AT, VENUE, make_account

from riskguard.gate import Gate
from riskguard.model import Account, AssetBalance, Snapshot


def _times(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _figures(ms: list[float]) -> str:
    return f"p50 {statistics.median(ms):.2f} ms, p99 {_pct(ms, 0.99):.2f} ms"


def inprocess() -> None:
    calm = make_account(np.random.default_rng(3), 10, "calm")
    calm = Account(calm.name, VENUE, {"USDT": AssetBalance("USDT", 1e6, 1e6)}, calm.positions, calm.fees)
    big = make_account(np.random.default_rng(9), 50, "cross-50", 4.0)
    for label, account, side in (("10-position", calm, "buy"), ("50-position", big, "sell")):
        gate = Gate(SPEC, Snapshot(TAKEN_AT, {VENUE: MARKETS}, (account,)), account)
        held = account.positions[0].symbol
        orders = [f"bench {held} {side} {k}" for k in range(1, 11)]
        _times(lambda i, gate=gate, orders=orders: gate.check(orders[i % 10]), 20)  # warm the caches
        ms = _times(lambda i, gate=gate, orders=orders: gate.check(orders[i % 10]), 200)
        print(f"gate in-process, {label} cross account: best {min(ms):.2f} ms, {_figures(ms)} (target < 2 ms)")
    gate = Gate(SPEC, Snapshot(TAKEN_AT, {VENUE: MARKETS}, (calm,)), calm)
    sized = _times(lambda _: gate.size(calm.positions[0].symbol, "buy"), 5)
    print(f"size on the 10-position account: best {min(sized):.1f} ms, median {statistics.median(sized):.1f} ms")


async def http(samples: int = 500) -> None:
    import aiohttp

    from riskguard.config import load_config
    from riskguard.daemon.runner import Daemon
    from riskguard.sim import serve
    from riskguard.sim.streams import HUB

    sim = await serve("binanceusdm", scenario=_scenario(["guarded"]))
    tmp = tempfile.mkdtemp()
    daemon = Daemon(load_config(_config(sim.base_url, ["guarded"], "recommend", tmp, "  gate: {port: 0}\n")),
                    execute=False)
    task = asyncio.create_task(daemon.run())
    await daemon.ready.wait()
    while daemon.workers["guarded"].steps == 0 or not daemon.workers["guarded"].idle.is_set():
        await asyncio.sleep(0.01)
    worker = daemon.workers["guarded"]
    got: list[float] = []
    cpu: list[float] = []
    fresh: list[float] = []
    answer: Any = None
    connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection, as a bot holds it
    async with aiohttp.ClientSession(connector=connector) as session:

        async def ask(i: int) -> tuple[float, float]:
            nonlocal answer
            body = {"order": f"guarded BTC/USDT:USDT buy {0.001 * (1 + i % 20):.3f} 20x"}
            t0, c0 = time.perf_counter(), time.process_time()
            async with session.post(f"{daemon.gate_url}/v1/gate", json=body) as r:
                answer = await r.json()
            return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000

        for i in range(20 + samples):
            wall, used = await ask(i)
            if i >= 20:
                got.append(wall)
                cpu.append(used)
        assert answer["exit_code"] in (0, 1, 2), answer  # a real evaluation, not a refusal for missing data
        exchange, hub = sim.player.exchange, sim.app[HUB]
        for k in range(10):
            read = worker.live.loaded
            exchange.set_mark("BTCUSDT", 118_000.0 - 10 * (k + 1))
            await hub.publish()
            while worker.live.loaded is read or not worker.idle.is_set():
                await asyncio.sleep(0.001)
            fresh.append((await ask(k))[0])
    daemon.stop.set()
    await task
    await sim.close()
    print(f"gate API over loopback HTTP ({len(got)} requests, client in the same process): {_figures(got)} "
          f"(target p99 < 5 ms); CPU per request {_figures(cpu)}")
    print(f"  first answer after a new read (the gate is built again): median {statistics.median(fresh):.2f} ms, "
          f"max {max(fresh):.2f} ms")


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("inprocess", "all"):
        inprocess()
    if what in ("http", "all"):
        asyncio.run(http())


if __name__ == "__main__":
    main()
