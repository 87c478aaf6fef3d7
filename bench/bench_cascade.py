"""Wall time of a cascade through 50 bands over a 1 000-level book, and of a stress of a 10 000-position
cross account under the 8 default shocks: the two market-side computations ``riskguard check`` runs per
symbol and per account.

Run: ``python bench/bench_cascade.py``.
"""

import time
from dataclasses import dataclass

import numpy as np

from riskguard.risk.cascade import simulate_cascade
from riskguard.risk.stress import StressAccount, stress
from riskguard.risk.tiers import TierTable

LEVELS = 1_000
BANDS = 50
POSITIONS = 10_000
REPEATS = 7


@dataclass(frozen=True)
class Band:
    side: str
    price_low: float
    price_high: float
    notional: float


def best_ms(fn) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def main() -> None:
    rng = np.random.default_rng(7)
    mark = 60_000.0
    steps = np.arange(1, LEVELS + 1)
    bids = np.column_stack([mark * (1 - 1e-4 * steps), rng.uniform(0.1, 5.0, LEVELS)])
    asks = np.column_stack([mark * (1 + 1e-4 * steps), rng.uniform(0.1, 5.0, LEVELS)])
    tops = mark * (1 - 0.001 * np.arange(1, BANDS + 1))
    notionals = rng.uniform(2e6, 8e6, BANDS)
    bands = [Band("long", top * 0.9995, top, float(n)) for top, n in zip(tops, notionals, strict=True)]

    def run_cascade():
        return simulate_cascade(
            side="long", mark=mark, bands=bands, bids=bids, asks=asks, contract_size=1.0, inverse=False
        )

    cascade_ms = best_ms(run_cascade)
    fired = len(run_cascade().steps)

    account = StressAccount.build(
        inverse=np.zeros(POSITIONS, dtype=bool),
        side=rng.choice([-1, 1], POSITIONS),
        qty=rng.uniform(0.01, 2.0, POSITIONS),
        entry=mark * rng.uniform(0.9, 1.1, POSITIONS),
        mark=np.full(POSITIONS, mark),
        cross=np.ones(POSITIONS, dtype=bool),
        isolated_margin=np.zeros(POSITIONS),
        cross_wallet=5e6,
        tiers=TierTable.flat(0.004),
        table=np.zeros(POSITIONS, dtype=np.int64),
    )
    stress_ms = best_ms(lambda: stress(account))
    print(f"cascade: {fired} of {BANDS} bands fired, {LEVELS} levels: {cascade_ms:.2f} ms (best of {REPEATS})")
    print(f"stress: {POSITIONS} positions x 8 shocks: {stress_ms:.2f} ms (best of {REPEATS})")


if __name__ == "__main__":
    main()
