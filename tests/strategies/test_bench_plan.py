"""`python bench/bench_plan.py` (docs/strategies.md) runs and plans what the docs table says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_plan_when_run_then_every_case_reports_and_plans_the_documented_orders():
    out = subprocess.run([sys.executable, "bench/bench_plan.py", "1"], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    orders = dict(re.findall(r"^(\S.*?)\s+median .* orders (\d+)$", out, re.M))
    assert orders == {
        "evaluate_account only": "0",
        "plan, nothing to do (reduce_size 1%)": "0",
        "reduce_size (up to the 5th worst buffer)": "4",
        "close_worst_first (pool +1 pt)": "1",
        "staggered_stops (50 ladders)": "72",
    }
