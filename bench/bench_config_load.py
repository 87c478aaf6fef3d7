"""Time to load a large config (many accounts with policy overrides): prints size, accounts and seconds.

    python bench/bench_config_load.py [ACCOUNTS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from riskguard.config import load_config


def make_config(accounts: int) -> str:
    lines = ["version: 1", "policy:", "  max_effective_leverage: 20", "accounts:"]
    for i in range(accounts):
        lines += [
            f"  acct-{i:06d}:",
            "    snapshot: bundled:paper",
            "    snapshot_account: paper-binance",
            "    symbols: [BTC/USDT:USDT, ETH/USDT:USDT, SOL/USDT:USDT]",
            "    timeout_s: 10",
            "    policy:",
            "      max_effective_leverage: 15",
            "      min_liquidation_buffer_pct: 4.5",
            "      max_data_age_s: 60",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(make_config(accounts))
        start = time.perf_counter()
        config = load_config(path)
        elapsed = time.perf_counter() - start
    size_mb = path.stat().st_size if path.exists() else len(make_config(accounts).encode())
    print(f"config {size_mb / 1e6:.1f} MB, {len(config.accounts)} accounts: loaded in {elapsed:.2f} s")


if __name__ == "__main__":
    main()
