"""Live check latency against the emulator with 50 ms injected per request, and the import cost of each path.

The emulator runs as its own process (``riskguard sim``), as a venue would, so
its work does not share the checking process's CPU.  Three figures:

* the connector alone (``fetch_snapshot_doc`` in one process), cold and warm venue cache, with the request
  rounds the emulator saw;
* ``riskguard check`` end to end as a new process, minus process start: the bare interpreter plus every
  import that same check makes (read off ``-X importtime``; ccxt alone is about half a second).  The issue's
  target is under 3 × 50 ms;
* the import cost of the paper path against the live path.

    python bench/bench_live_latency.py
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from riskguard.config import load_config
from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.venue_cache import VenueCache
from riskguard.sim.venues import get_dialect

LATENCY_MS = 50
VENUE = "binanceusdm"
RUNS = 7
CLI = [sys.executable, "-c", "from riskguard.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin(base: str, path: str, method: str = "GET", body: object = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _start_sim(port: int) -> subprocess.Popen:
    sim = subprocess.Popen([*CLI, "sim", "--venue", VENUE, "--port", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            _admin(base, "/__sim/state")
            return sim
        except OSError:
            time.sleep(0.05)
    sim.kill()
    raise SystemExit("the emulator did not start")


def _config(directory: Path, base: str) -> Path:
    account = get_dialect(VENUE).default_scenario().accounts[0]
    os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = account.api_key, account.secret
    path = directory / "bench.yaml"
    path.write_text(f"accounts:\n  bench:\n    venue: {VENUE}\n    endpoint: {base}\n    credentials:\n"
                    "      api_key: ${BENCH_KEY}\n      secret: ${BENCH_SECRET}\n")
    return path


def _rounds(base: str) -> tuple[int, int]:
    """Requests the emulator received since the last call, and in how many rounds they came."""
    received = sorted(r["at_s"] for r in _admin(base, "/__sim/requests", "DELETE")["requests"])
    starts: list[float] = []
    for at in received:
        if not starts or at - starts[-1] >= LATENCY_MS / 1000 * 0.8:
            starts.append(at)
    return len(received), len(starts)


async def _connector(config: Path, cache: VenueCache, base: str) -> list[tuple[float, int, int]]:
    spec = load_config(config).accounts["bench"]
    runs = []
    _rounds(base)
    for _ in range(RUNS):
        started = time.perf_counter()
        await fetch_snapshot_doc(spec, cache=cache)
        runs.append((time.perf_counter() - started, *_rounds(base)))
    return runs


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def _start_s(check: list[str], env: dict[str, str]) -> float:
    """Interpreter start plus the check's own imports: what every run pays before its first request."""
    bare = statistics.median(_wall([sys.executable, "-c", "pass"], env) for _ in range(RUNS))
    samples = []
    for _ in range(RUNS):
        trace = subprocess.run([check[0], "-X", "importtime", *check[1:]], env=env, capture_output=True, text=True)
        top = [line.split("|") for line in trace.stderr.splitlines() if line.startswith("import time:")]
        samples.append(sum(int(cumulative) for _, cumulative, name in top[1:] if not name.startswith("  ")) / 1e6)
    return bare + statistics.median(samples)


def _import_s(module: str) -> float:
    samples = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", f"import time; t = time.perf_counter(); import {module}; "
                              "print(time.perf_counter() - t)"], check=True, capture_output=True, text=True)
        samples.append(float(out.stdout))
    return statistics.median(samples)


def main() -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    sim = _start_sim(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = _config(Path(tmp), base)
            env = {**os.environ, "RISKGUARD_CACHE_DIR": str(Path(tmp) / "cli-cache")}
            _admin(base, "/__sim/faults", "POST", {"kind": "latency", "latency_ms": LATENCY_MS})
            print(f"{VENUE} emulator in its own process, {LATENCY_MS} ms on every request, {RUNS} runs")

            runs = asyncio.run(_connector(config, VenueCache(Path(tmp) / "venues"), base))
            (cold, cold_n, cold_r), warm = runs[0], runs[1:]
            warm_ms = statistics.median(r[0] for r in warm) * 1000
            print(f"  connector  cold {cold * 1000:5.0f} ms ({cold_n} requests in {cold_r} rounds)   "
                  f"warm median {warm_ms:5.0f} ms ({warm[0][1]} requests in {warm[0][2]} round(s))")

            check = [*CLI, "check", "--config", str(config), "--format", "json"]
            _wall(check, env)  # fills the CLI's venue cache
            start = _start_s(check, env)
            slow, fast = [], []
            for _ in range(RUNS):  # interleaved, so drift in the machine's load hits both alike
                _admin(base, "/__sim/faults", "POST", {"kind": "latency", "latency_ms": LATENCY_MS})
                slow.append(_wall(check, env))
                _admin(base, "/__sim/faults", "DELETE")
                fast.append(_wall(check, env))
            for label, pick in (("best", min), ("median", statistics.median)):
                wall, no_latency = pick(slow), pick(fast)
                print(f"  riskguard check, new process, warm cache ({label} of {RUNS}): {wall * 1000:5.0f} ms; "
                      f"process start {start * 1000:4.0f} ms; on top of start {(wall - start) * 1000:4.0f} ms "
                      f"(target < {3 * LATENCY_MS}); with no latency {no_latency * 1000:5.0f} ms, so the latency "
                      f"costs {(wall - no_latency) * 1000:4.0f} ms")
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    paper = _import_s("riskguard.connectors.source")
    live = _import_s("ccxt.async_support")
    print(f"import riskguard.connectors.source (paper path): {paper * 1000:.0f} ms")
    print(f"import ccxt.async_support (live path only):      {live * 1000:.0f} ms")


if __name__ == "__main__":
    main()
