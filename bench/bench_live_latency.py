"""Live connector latency against the emulator with 50 ms injected per request, and the import cost of each path.

Reads run in rounds (markets; account + configured symbols; symbols only the positions
revealed), so wall time should stay near rounds × 50 ms however many requests there are.

    python bench/bench_live_latency.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from riskguard.config import AccountConfig, AccountSpec, Credentials, Policy
from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.tier_cache import TierCache
from riskguard.sim import serve
from riskguard.sim.faults import Fault, FaultKind

LATENCY_MS = 50
VENUE = "binanceusdm"
RUNS = 5


def _spec(base_url: str, symbols: list[str] | None) -> AccountSpec:
    config = AccountConfig(venue=VENUE, endpoint=base_url, symbols=symbols, timeout_s=10,
                           credentials=Credentials(api_key="${BENCH_KEY}", secret="${BENCH_SECRET}"))
    return AccountSpec("bench", config, Policy(), None, "bench")


async def _measure(cache: TierCache, symbols: list[str] | None, requests: list[int]) -> list[float]:
    sim = await serve(VENUE)
    account = sim.player.scenario.accounts[0]
    os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = account.api_key, account.secret
    sim.player.faults.arm(Fault(FaultKind.LATENCY, latency_ms=LATENCY_MS))
    original = sim.player.faults.take

    def counting(path: str):
        requests[-1] += 1
        return original(path)

    sim.player.faults.take = counting  # type: ignore[method-assign]
    times = []
    try:
        for _ in range(RUNS):
            requests.append(0)
            started = time.perf_counter()
            await fetch_snapshot_doc(_spec(sim.base_url, symbols), tier_cache=cache)
            times.append(time.perf_counter() - started)
    finally:
        await sim.close()
    return times


def _import_s(module: str) -> float:
    samples = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", f"import time; t = time.perf_counter(); import {module}; "
                              "print(time.perf_counter() - t)"], check=True, capture_output=True, text=True)
        samples.append(float(out.stdout))
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{VENUE} emulator, {LATENCY_MS} ms latency on every request, median of {RUNS} (first = cold tier cache)")
        for label, symbols in (("positions only", None),
                               ("symbols configured", ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"])):
            cache = TierCache(Path(tmp) / label.replace(" ", "-"))
            requests: list[int] = []
            times = asyncio.run(_measure(cache, symbols, requests))
            warm = statistics.median(times[1:])
            print(f"  {label:20s} cold {times[0] * 1000:6.0f} ms ({requests[0]} requests)   "
                  f"warm {warm * 1000:6.0f} ms ({requests[1]} requests; {warm * 1000 / LATENCY_MS:.1f} × latency)")
    paper = _import_s("riskguard.connectors.source")
    live = _import_s("ccxt.async_support")
    print(f"import riskguard.connectors.source (paper path): {paper * 1000:.0f} ms")
    print(f"import ccxt.async_support (live path only):      {live * 1000:.0f} ms")


if __name__ == "__main__":
    main()
