"""The disk's own flush time: what an fsynced order intent (``audit_durability: power_loss``) waits for at least.

The daemon's reaction budget is 20 ms at the 99th percentile (docs/daemon.md).  With ``power_loss`` every order
waits for one ``fdatasync`` of the audit store's WAL before it leaves, so no daemon on a disk whose bare flush
misses that budget can hold it; this prints the bare figure for the disk a store would live on, with nothing of
riskguard in the way.  Two patterns, as SQLite's WAL writes: appending (the WAL growing) and overwriting blocks
already on disk (the WAL reused after a checkpoint).

Run: ``python bench/bench_disk_flush.py [SAMPLES [GAP_S [DIRECTORY]]]`` (600 flushes 0.1 s apart, in the current
directory, by default: a minute per pattern, long enough to meet the disk's periodic stalls).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time

BLOCK = 8192
"""About what one reaction's intent transaction writes to the WAL (two pages and their frame headers)."""


def _pct(ordered: list[float], q: float) -> float:
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def flushes(directory: str, samples: int, gap_s: float, overwrite: bool) -> list[float]:
    """Milliseconds of each write + ``fdatasync``, ``gap_s`` apart, in a scratch file removed afterwards."""
    payload = os.urandom(BLOCK)
    fd, path = tempfile.mkstemp(prefix="flush-", dir=directory)
    try:
        if overwrite:
            os.pwrite(fd, b"\0" * BLOCK * samples, 0)
            os.fsync(fd)
        taken = []
        for i in range(samples):
            time.sleep(gap_s)
            started = time.perf_counter()
            os.pwrite(fd, payload, BLOCK * i)
            os.fdatasync(fd)
            taken.append((time.perf_counter() - started) * 1000)
        return taken
    finally:
        os.close(fd)
        os.remove(path)


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    gap_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    directory = sys.argv[3] if len(sys.argv) > 3 else "."
    print(f"{BLOCK // 1024} KB write + fdatasync in {os.path.abspath(directory)}, {samples} samples {gap_s} s apart, "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, overwrite in (("append", False), ("overwrite", True)):
        ordered = sorted(flushes(directory, samples, gap_s, overwrite))
        print(f"  {name:9s} p50 {_pct(ordered, 0.5):.2f} ms, p90 {_pct(ordered, 0.9):.2f} ms, "
              f"p99 {_pct(ordered, 0.99):.2f} ms, max {ordered[-1]:.2f} ms; over 20 ms: "
              f"{sum(t > 20 for t in ordered)}")


if __name__ == "__main__":
    main()
