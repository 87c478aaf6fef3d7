"""`riskguard check --snapshot` as a whole process over 10 × 10, 100 × 10 and 1,000 × 10 accounts × positions.

Each size is a synthetic snapshot from scripts/make_synthetic_snapshot.py (two venues, cross and isolated
positions, three days of history per market); the command runs in a fresh process, as a gate script or
cron job would run it, and its wall time, CPU time and peak resident memory (``os.wait4`` on that one
child) are printed: the best of ``--repeat`` runs, the one least disturbed on a shared machine (CPU time is
disturbed less than wall time), and the median wall time beside it.  Targets: time and memory linear in
accounts; 10,000 positions under 3 s and 500 MB.

    python bench/bench_check_scale.py                  # --format json, what scripts and the daemon read
    python bench/bench_check_scale.py --format table   # the rich table people read (much slower)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from make_synthetic_snapshot import synthetic_doc  # noqa: E402

SIZES = ((10, 10), (100, 10), (1_000, 10))


def run_once(snapshot: Path, fmt: str) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MB, exit code) of one `riskguard check` process."""
    cmd = [sys.executable, "-m", "riskguard.cli", "check", "--snapshot", str(snapshot), "--format", fmt]
    start = time.perf_counter()
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"check exited {proc.returncode} on {snapshot}:\n{err}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, proc.returncode  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--format", choices=("json", "table"), default="json")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"riskguard check --snapshot … --format {args.format}: best of {args.repeat} runs")
    print(f"{'accounts':>9} {'positions':>10} {'file MB':>8} {'wall s':>8} {'median s':>9} {'CPU s':>8} "
          f"{'peak MB':>8} {'ms/position':>12}  exit")
    # An installed riskguard has its bytecode compiled; a checkout run with PYTHONDONTWRITEBYTECODE (as in CI
    # containers) would otherwise compile every module on every run, which is not what a user's check costs.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "riskguard"), str(ROOT / "strategies")],
                   check=True)
    with tempfile.TemporaryDirectory() as tmp:
        for accounts, per_account in SIZES:
            path = Path(tmp) / f"synthetic-{accounts}x{per_account}.json"
            path.write_text(json.dumps(synthetic_doc(accounts, per_account)), encoding="utf-8")
            runs = [run_once(path, args.format) for _ in range(args.repeat)]
            wall, cpu, peak = (min(r[k] for r in runs) for k in range(3))
            median = statistics.median(r[0] for r in runs)
            positions = accounts * per_account
            print(f"{accounts:>9,} {positions:>10,} {path.stat().st_size / 1e6:>8.1f} {wall:>8.2f} {median:>9.2f} "
                  f"{cpu:>8.2f} {peak:>8.0f} {wall / positions * 1e3:>12.3f}  {runs[0][3]}")


if __name__ == "__main__":
    main()
